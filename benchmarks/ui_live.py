#!/usr/bin/env python3
"""Live-UI benchmark: what the Train page costs while a run trains. Prints numbers, one run.

    .venv/bin/python benchmarks/ui_live.py                  # full run (memory part: 10 minutes)
    .venv/bin/python benchmarks/ui_live.py --minutes 2      # quicker
    .venv/bin/python benchmarks/ui_live.py --screenshot docs/train_page.png
    .venv/bin/python benchmarks/ui_live.py --screenshot-only --screenshot docs/train_page.png   # just the picture

It starts `streamlit run dashboard.py` itself (through a thin wrapper that logs timings and step
counts from inside the server, see ``--serve``) with its data, runs and checkpoints in a temporary
folder, drives it with Playwright + the system Chromium, and measures:

1. cold start: seconds from launching `streamlit run` to the first rendered q(z) scatter of a
   pretrained model (target ≤ 8 s). Uses a shipped 2-D AAE checkpoint from `checkpoints/` if there
   is one, else a stand-in saved here (same size and load path, untrained weights);
2. throughput: the same run's training steps/s in alternating windows with its Train page open and
   refreshing, and with no browser attached (target ratio ≥ 0.8), read from the server's own step
   log, so reading the counter never disturbs what it measures;
3. server time per live-fragment refresh (target median ≤ 100 ms): the script-run time of every
   fragment rerun, and the time of each fragment body;
4. memory: the server's resident memory with one run training and its page open for --minutes
   (target peak ≤ 1.5 GB, growth over the last half of the window ≤ 20 MB).

The machine is shared and noisy: compare the two sides of each ratio within one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser import APP_IDLE, free_port, launch, stop_server, wait_until  # noqa: E402  (the tests' browser helpers)

SETTLE_S = 3.0            # seconds dropped at the start of each throughput window (page load / unload)
LOG_INTERVAL_S = 0.5      # the server logs every run's step this often
MEMORY_SAMPLE_S = 5.0
PAGE_TIMEOUT_S = 120      # a page load on a machine whose cores are busy with other work
FRAGMENTS = ("latent_panel", "metrics_panel", "detail_panel", "recon_panel")   # ui.widgets, run by ui.live


# =================================================================================== server side

def serve(log_path: str, streamlit_args: list[str]) -> None:
    """Run `streamlit run …` in this process, logging every script run's duration, every fragment
    body's duration and, twice a second, each run's step, as JSON lines into ``log_path``."""
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    lock = threading.Lock()
    out = open(log_path, "a", buffering=1)

    def log(**record) -> None:
        with lock:
            out.write(json.dumps({"t": time.time(), **record}) + "\n")

    from streamlit.runtime.scriptrunner import script_runner

    original_run = script_runner.ScriptRunner._run_script

    def timed_run(self, rerun_data):
        t0 = time.perf_counter()
        try:
            return original_run(self, rerun_data)
        finally:
            log(kind="run", fragment=bool(rerun_data.fragment_id_queue), ms=(time.perf_counter() - t0) * 1000)

    script_runner.ScriptRunner._run_script = timed_run

    import functools

    from aae import jobs
    from ui import widgets   # imported once: the app's `from ui import widgets` gets this module

    for name in FRAGMENTS:
        body = getattr(widgets, name)

        @functools.wraps(body)
        def timed(*args, _body=body, _name=name, **kwargs):
            t0 = time.perf_counter()
            try:
                return _body(*args, **kwargs)
            finally:
                log(kind="fragment", name=_name, ms=(time.perf_counter() - t0) * 1000)

        setattr(widgets, name, timed)

    registries = []
    original_init = jobs.JobRegistry.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        registries.append(self)

    jobs.JobRegistry.__init__ = init

    def step_logger() -> None:
        while True:
            for reg in list(registries):
                for job in reg.jobs():
                    snap = job.peek()
                    log(kind="step", job=job.id, step=snap.step, status=snap.status)
            time.sleep(LOG_INTERVAL_S)

    threading.Thread(target=step_logger, daemon=True, name="bench-step-logger").start()
    from streamlit.web import cli
    sys.argv = ["streamlit", "run", *streamlit_args]
    cli.main()


# =================================================================================== driver side

def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def scatter_points(page) -> int:
    """Number of code dots drawn in the q(z) chart's SVG (0 until it is rendered)."""
    return page.evaluate("() => document.querySelectorAll('.st-key-aae_latent svg g.mark-symbol path').length")


def run_id(page) -> str:
    m = re.search(r"[?&]run=([\w-]+)", page.url)
    return m.group(1) if m else ""


def control(page, key: str):
    return page.locator(f".st-key-{key}").get_by_role("button").first


def choose(page, key: str, option_text: str) -> None:
    """Pick an option of a selectbox (retried: a rerun may redraw the list under the pointer)."""
    for attempt in range(3):
        try:
            page.wait_for_selector(APP_IDLE, state="attached")
            box = page.locator(f".st-key-{key} input[role='combobox']")
            if (box.input_value() or "").startswith(option_text):
                return                       # already chosen (e.g. the default)
            if not box.is_visible():
                page.get_by_text("Run setup:").click()       # the setup expander is closed
            box.click()
            box.fill(option_text)            # filters the list down to the wanted option
            page.get_by_role("option", name=option_text).first.click(timeout=5_000)
            return
        except Exception:  # noqa: BLE001
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def pretrained_checkpoint(folder: Path) -> tuple[str, bool]:
    """(checkpoint name, shipped?): a shipped 2-D AAE if there is one, else a stand-in in ``folder``."""
    sys.path.insert(0, str(ROOT))
    from aae.checkpoints import list_checkpoints, save_checkpoint
    from aae.config import ModelConfig, PriorConfig, RunConfig
    from aae.train import seeded_model

    shipped = [c for c in list_checkpoints(ROOT / "checkpoints") if c.kind == "aae" and c.latent_dim == 2]
    if shipped:
        return shipped[0].name, True
    config = RunConfig(prior=PriorConfig(name="swiss_roll"), model=ModelConfig(kind="aae", latent_dim=2))
    save_checkpoint(folder / "aae-standin", seeded_model(config.model, 0), config, step=1000, half=True)
    return "aae-standin", False


def steps_per_sec(log: list[dict], job: str, start: float, end: float) -> float | None:
    pts = [(r["t"], r["step"]) for r in log
           if r["kind"] == "step" and r["job"] == job and r["status"] == "running"
           and start + SETTLE_S <= r["t"] <= end]
    if len(pts) < 2 or pts[-1][0] - pts[0][0] <= 0:
        return None
    return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def take_screenshot(browser, url: str, path: Path, prior: str, seconds: float = 20.0) -> str:
    """The Train page of a fresh run of ``prior`` after ``seconds`` of training (then paused)."""
    shot = browser.new_page(viewport={"width": 1400, "height": 1100})
    shot.goto(url)
    shot.wait_for_selector(APP_IDLE, state="attached", timeout=120_000)
    choose(shot, "setup_prior", prior)
    shot.wait_for_selector(APP_IDLE, state="attached")
    control(shot, "ctl_play").click()
    wait_until(lambda: scatter_points(shot) > 0, 120, "the screenshot run's scatter")
    time.sleep(seconds)
    path.parent.mkdir(parents=True, exist_ok=True)
    shot.screenshot(path=str(path))
    control(shot, "ctl_play").click()                                       # pause it again
    shot.close()
    return str(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the memory part (default 10)")
    ap.add_argument("--window", type=float, default=20.0, help="seconds per throughput window")
    ap.add_argument("--rounds", type=int, default=3, help="attached/detached window pairs")
    ap.add_argument("--screenshot", type=Path, help="also save the Train page after ~20 s of training here")
    ap.add_argument("--prior", default="Gaussian", help="prior (display name) of the screenshot's run")
    ap.add_argument("--screenshot-only", action="store_true", help="only take the --screenshot, measure nothing")
    ap.add_argument("--serve", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1:])
        return

    import psutil
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="aae-ui-bench-"))
    log_path = work / "server.jsonl"
    (work / "checkpoints").mkdir()
    ckpt_name, shipped = pretrained_checkpoint(work / "checkpoints")
    env = {**os.environ, "AAE_DATA_DIR": os.environ.get("AAE_DATA_DIR", str(work / "data")),
           "AAE_RUNS_DIR": str(work / "runs"), "AAE_SAVE_DIR": str(work / "saved"),
           "AAE_CHECKPOINT_DIRS": str(work / "checkpoints")}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    results: dict[str, object] = {"checkpoint": f"{ckpt_name} ({'shipped' if shipped else 'stand-in'})"}

    with sync_playwright() as p:
        browser = launch(p)                                  # not part of the timing
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
        t_launch = time.monotonic()
        server = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", str(log_path), "dashboard.py",
             "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=(work / "streamlit.log").open("w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        proc = psutil.Process(server.pid)
        try:
            # ---------------------------------------------------------------- 1. cold start
            def healthy() -> bool:
                try:
                    return urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok"
                except OSError:
                    return False

            wait_until(healthy, 120, "the server")
            t_healthy = time.monotonic()
            if args.screenshot_only:
                print(take_screenshot(browser, url, args.screenshot or ROOT / "docs" / "train_page.png", args.prior))
                return
            page.goto(url)
            page.wait_for_selector(APP_IDLE, state="attached", timeout=120_000)
            t_page = time.monotonic()
            choose(page, "setup_start_from", ckpt_name)
            page.wait_for_selector(APP_IDLE, state="attached")
            t_click = time.monotonic()
            control(page, "ctl_play").click()
            wait_until(lambda: scatter_points(page) > 0, 120, "the first scatter")
            t_scatter = time.monotonic()
            results["cold start → first scatter of a pretrained model (s)"] = round(t_scatter - t_launch, 2)
            results["  of which: server up / first page drawn / setup clicks / Start → scatter (s)"] = (
                f"{t_healthy - t_launch:.1f} / {t_page - t_healthy:.1f} / {t_click - t_page:.1f} / "
                f"{t_scatter - t_click:.1f}")
            job = wait_until(lambda: run_id(page), 10, "the run id")

            # ---------------------------------------------------------------- 2+3. throughput, refresh time
            run_url = page.url
            time.sleep(5)   # past the first publishes
            attached, detached, windows = [], [], []
            for _ in range(args.rounds):
                for state in ("attached", "detached"):
                    if state == "attached":
                        page.goto(run_url)
                        page.wait_for_selector(APP_IDLE, state="attached")
                    else:
                        page.goto("about:blank")
                    start = time.time()
                    time.sleep(args.window)
                    windows.append((state, start, time.time()))
            log = read_log(log_path)
            for state, start, end in windows:
                sps = steps_per_sec(log, job, start, end)
                if sps is not None:
                    (attached if state == "attached" else detached).append(sps)
            att_windows = [(s, e) for st_, s, e in windows if st_ == "attached"]
            frag_runs = [r["ms"] for r in log if r["kind"] == "run" and r["fragment"]
                         and any(s <= r["t"] <= e for s, e in att_windows)]
            per_fragment = {}
            for name in FRAGMENTS:
                ms = [r["ms"] for r in log if r["kind"] == "fragment" and r["name"] == name
                      and any(s <= r["t"] <= e for s, e in att_windows)]
                if ms:
                    per_fragment[name] = (f"median {statistics.median(ms):.1f} ms, p90 {pct(ms, 0.9):.1f} ms, "
                                          f"n={len(ms)}")
            idle_runs = [r for r in log if r["kind"] == "run" and r["fragment"]
                         and any(s + SETTLE_S <= r["t"] <= e for st_, s, e in windows if st_ == "detached")]
            if attached and detached:
                a, d = statistics.median(attached), statistics.median(detached)
                results["steps/s with the page open (median of windows)"] = round(a, 2)
                results["steps/s with no browser (median of windows)"] = round(d, 2)
                results["ratio open / no browser (target ≥ 0.8)"] = round(a / d, 3)
                results["windows (steps/s) open | none"] = (f"{[round(x, 1) for x in attached]} | "
                                                             f"{[round(x, 1) for x in detached]}")
            if frag_runs:
                span = sum(e - s for s, e in att_windows)
                results["server time per fragment refresh: median (target ≤ 100 ms)"] = \
                    round(statistics.median(frag_runs), 1)
                results["server time per fragment refresh: p90 / max (ms)"] = \
                    f"{pct(frag_runs, 0.9):.1f} / {max(frag_runs):.1f}"
                results["fragment refreshes per second (page open)"] = round(len(frag_runs) / span, 2)
            results["fragment bodies"] = per_fragment
            results["fragment reruns with no browser attached"] = len(idle_runs)

            # ---------------------------------------------------------------- paused: is the view still?
            page.goto(run_url)
            page.wait_for_selector(APP_IDLE, state="attached")
            control(page, "ctl_play").click()                               # pause
            wait_until(lambda: control(page, "ctl_play").inner_text().strip().endswith("Resume"), 30, "pause")
            time.sleep(2)
            t_still = time.time()
            time.sleep(10)
            still = [r for r in read_log(log_path) if r["kind"] == "run" and r["fragment"] and r["t"] >= t_still]
            results["fragment reruns per second while paused (idle poll only)"] = round(len(still) / 10, 2)

            # ---------------------------------------------------------------- screenshot
            if args.screenshot:
                results["screenshot"] = take_screenshot(browser, url, args.screenshot, args.prior)

            # ---------------------------------------------------------------- 4. memory
            page.goto(run_url)
            page.wait_for_selector(APP_IDLE, state="attached")
            control(page, "ctl_play").click()                               # resume the benchmark run
            samples = []
            t_end = time.monotonic() + args.minutes * 60
            while time.monotonic() < t_end:
                samples.append((time.monotonic(), proc.memory_info().rss / 2**20))
                time.sleep(MEMORY_SAMPLE_S)
            half = samples[len(samples) // 2:]
            results[f"server RSS over {args.minutes:g} min: peak (MB, target ≤ 1536)"] = \
                round(max(m for _, m in samples))
            results[f"server RSS growth over the last {args.minutes / 2:g} min (MB, target ≤ 20)"] = \
                round(half[-1][1] - half[0][1], 1)
            results["server RSS start → end (MB)"] = f"{samples[0][1]:.0f} → {samples[-1][1]:.0f}"
            log = read_log(log_path)
            steps = [r["step"] for r in log if r["kind"] == "step" and r["job"] == job]
            results["benchmark run's final step"] = steps[-1] if steps else None
        finally:
            browser.close()
            stop_server(server)

    print(f"\nAAE Lab live-UI benchmark ({os.cpu_count()} cores; logs in {work})")
    for key, value in results.items():
        if isinstance(value, dict):
            print(f"  {key}:")
            for k, v in value.items():
                print(f"      {k}: {v}")
        else:
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
