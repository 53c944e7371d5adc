"""Latency of the Latent explorer, measured in the running app (Playwright + Debian's Chromium).

1. Browser-side decode time per frame, per preset: inside the Explorer page of a running
   ``streamlit run dashboard.py`` (so the Streamlit frontend shares the renderer, as for a student),
   the pad's own decoder (``window.__aaeDecode``, ui/components/latent_pad/pad.js) decodes one
   point per "frame" along a drag, with float16 weights of a ``small`` and a ``paper`` decoder as
   the app ships them. Target: median ≤ 16 ms (display rate) for ``paper``.
2. Round trip while a run trains: the Train page's AAE (or, ``--run compare``, the Compare page's
   AE + VAE + AAE) trains at full speed and the Explorer follows that run's AAE. Each arrow key moves the probe; the time from the keydown
   to Python's decoded image of the new z being on screen (the caption showing the new z, and the
   new image loaded) is recorded in the page. Target: median ≤ 150 ms.

    .venv/bin/python benchmarks/ui_drag.py                 # prints both tables
    .venv/bin/python benchmarks/ui_drag.py --presses 40 --frames 500
"""

from __future__ import annotations

import argparse
import re
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aae.config import ModelConfig  # noqa: E402
from aae.train import seeded_model  # noqa: E402
from benchmarks.ui_drag_decode import TIMING_JS  # noqa: E402  (the same per-frame timing loop)
from ui.components.latent_pad import encode_decoder_weights  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCRIPT_DONE = "[data-testid='stApp'][data-test-script-state='notRunning']"
FRAME_BUDGET_MS = 16.0
ROUND_TRIP_TARGET_MS = 150.0

# Timestamps of keydowns, of the server caption changing and of the server image loading.
RECORDER_JS = """() => {
  const rt = window.__rt = { key: [], caption: [], img: [] };
  window.addEventListener('keydown', () => rt.key.push(performance.now()), true);
  const sel = ".st-key-explorer_server [data-testid='stCaptionContainer']";
  let last = null;
  new MutationObserver(() => {
    const c = document.querySelector(sel);
    const text = c ? c.textContent : null;
    if (text !== last) { last = text; rt.caption.push([performance.now(), text]); }
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
  document.addEventListener('load', (e) => {
    if (e.target.tagName === 'IMG' && e.target.closest('.st-key-explorer_server')) {
      rt.img.push([performance.now(), e.target.currentSrc || e.target.src]);
    }
  }, true);
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AAE_RUNS_DIR": str(home / "runs"),
           "AAE_SAVE_DIR": str(home / "saved")}
    log = open(home / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
         "--server.fileWatcherType=none"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                return server, url
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"the app did not start; see {home / 'server.log'}")


def settle(page) -> None:
    page.wait_for_selector(SCRIPT_DONE, state="attached", timeout=120_000)


def go(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_text(title, exact=True).click()
    settle(page)


def choose(page, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label)
    box.click()
    box.fill(option)
    page.get_by_role("option").filter(has_text=option).first.click()
    settle(page)


def decode_times(page, frames: int, warmup: int) -> list[tuple[str, int, float, np.ndarray]]:
    page.wait_for_function("typeof window.__aaeDecode === 'function'", timeout=60_000)
    out = []
    for preset in ("small", "paper"):
        model = seeded_model(ModelConfig(kind="aae", preset=preset), 0)
        weights = [(l.weight.detach().numpy(), l.bias.detach().numpy()) for l in model.decoder.linear_layers()]
        payload = encode_decoder_weights(weights, dtype="float16")
        result = page.evaluate(TIMING_JS, [payload, frames, warmup])
        n_params = sum(w.size + b.size for w, b in weights)
        out.append((preset, n_params, result["parseMs"], np.asarray(result["times"])))
    return out


def round_trips(page, presses: int, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """(caption ms, image ms) per arrow key press, from keydown to the new z's image on screen."""
    page.evaluate(RECORDER_JS)
    canvas = page.locator("[data-testid='aae-pad-canvas']")
    canvas.scroll_into_view_if_needed()
    canvas.focus()
    caption_ms, image_ms = [], []
    for i in range(presses):
        key = "ArrowRight" if (i // 8) % 2 == 0 else "ArrowLeft"
        n_key = page.evaluate("window.__rt.key.length")
        canvas.press(key)
        coords = page.locator("[data-testid='aae-pad-coords']").text_content().strip()   # "z = (x, y)"
        x, y = (float(v) for v in coords.removeprefix("z = (").removesuffix(")").split(", "))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rt = page.evaluate("window.__rt")
            if len(rt["key"]) > n_key:
                t_key = rt["key"][n_key]
                hits = [t for t, text in rt["caption"] if t > t_key and text and
                        _caption_z_near(text, (x, y))]
                if hits:
                    t_cap = hits[0]
                    loads = [t for t, _ in rt["img"] if t >= t_cap - 50]
                    if loads:
                        caption_ms.append(t_cap - t_key)
                        image_ms.append(max(loads[0], t_cap) - t_key)
                        break
            time.sleep(0.01)
        time.sleep(gap)
    return np.asarray(caption_ms), np.asarray(image_ms)


def _caption_z_near(text: str, z: tuple[float, float]) -> bool:
    try:
        inner = text.split("z = (", 1)[1].split(")", 1)[0]
        x, y = (float(v) for v in inner.split(", "))
    except (IndexError, ValueError):
        return False
    return abs(x - z[0]) < 0.006 and abs(y - z[1]) < 0.006


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300, help="timed decodes per preset")
    ap.add_argument("--warmup", type=int, default=30, help="untimed decodes first")
    ap.add_argument("--presses", type=int, default=30, help="arrow-key presses for the round trip")
    ap.add_argument("--gap", type=float, default=0.4, help="seconds between presses")
    ap.add_argument("--run", choices=["train", "compare"], default="train",
                    help="the run that trains meanwhile: the Train page's AAE, or the Compare page's three models")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = os.environ.get("UI_DRAG_KEEP") or tmp_dir     # set to a folder to keep the server log
        server, url = start_server(Path(tmp))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1300})
                page.goto(url)
                settle(page)
                # a run that trains while we measure, at full speed
                if args.run == "compare":
                    go(page, "Compare AE · VAE · AAE")
                    page.get_by_role("button", name=re.compile("Train all three")).click()
                    settle(page)
                    page.locator(".st-key-cmp_table").wait_for(timeout=120_000)
                    what, source = "a Compare run (AE + VAE + AAE in lockstep)", "Compare run"
                else:
                    page.locator(".st-key-ctl_play").get_by_role("button").click()        # Train page: Start
                    settle(page)
                    page.locator(".st-key-aae_step").wait_for(timeout=120_000)
                    what, source = "the Train page's AAE run", "Train run"
                go(page, "Latent explorer")
                choose(page, "Model", source)
                if args.run == "compare":
                    choose(page, "Model", "— AAE")
                try:
                    page.locator(".st-key-explorer_server img").wait_for(timeout=60_000)
                except Exception:
                    page.screenshot(path=str(Path(tmp) / "failed.png"), full_page=True)
                    print(f"the Explorer did not show the run; screenshot and server log in {tmp}")
                    raise
                print(f"chromium {browser.version}; {what} trains at full speed on the server meanwhile; "
                      f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}")

                print(f"\nbrowser decode per frame (pad.js, float16 weights, {args.frames} frames)")
                print(f"{'preset':8} {'params':>10} {'parse ms':>9} {'median ms':>10} {'p90 ms':>8} "
                      f"{'max ms':>8}  target median ≤ {FRAME_BUDGET_MS:.0f} ms")
                for preset, n_params, parse_ms, t in decode_times(page, args.frames, args.warmup):
                    ok = "ok" if np.median(t) <= FRAME_BUDGET_MS else "SLOW"
                    print(f"{preset:8} {n_params:>10,} {parse_ms:>9.1f} {np.median(t):>10.2f} "
                          f"{np.percentile(t, 90):>8.2f} {t.max():>8.2f}  {ok}")

                cap, img = round_trips(page, args.presses, args.gap)
                print(f"\nround trip: arrow key → Python's decode of the new z on screen ({len(img)}/{args.presses} "
                      f"presses measured)")
                for name, t in (("caption shows z", cap), ("image loaded", img)):
                    if len(t):
                        ok = "ok" if np.median(t) <= ROUND_TRIP_TARGET_MS else "SLOW"
                        print(f"  {name:16} median {np.median(t):7.1f} ms   p90 {np.percentile(t, 90):7.1f} ms   "
                              f"min {t.min():6.1f} ms   target median ≤ {ROUND_TRIP_TARGET_MS:.0f} ms  {ok}")
                browser.close()
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
