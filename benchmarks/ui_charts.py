#!/usr/bin/env python3
"""Which way to draw a live chart: browser CPU, server time and flicker at three refreshes a second.

    .venv/bin/python benchmarks/ui_charts.py                 # 3 rounds × 3 ways × 2 layouts, 15 s windows
    .venv/bin/python benchmarks/ui_charts.py --window 8 --rounds 1

Serves ``benchmarks/ui_charts_app.py`` (synthetic codes that move every refresh, a new D(z) grid
every ~2 s) with `streamlit run`, and opens it in the system Chromium (headless, through
Playwright) once per way of drawing and layout, in interleaved order, one page at a time:

* ``vega``: ``ui.charts.latent_chart``, a keyed ``st.vega_lite_chart`` (what the app uses);
* ``plotly``: ``st.plotly_chart`` of the same picture (what Compare drew before);
* ``plotly_react``: a Components-v2 wrapper around the plotly package's plotly.js, ``Plotly.react``.

Layouts: Train's scatter with the p(z) and D(z) layers (``1 panel``) and Compare's three panels.
Per window it measures

* browser CPU: CPU time of all Chromium processes (psutil) and the page's main-thread task time
  (CDP ``Performance.getMetrics`` ``TaskDuration``), as % of one core;
* server ms per refresh: the fragment body's time, logged by the app;
* flicker: a ``requestAnimationFrame`` loop in the page counts how often a chart's root element
  (the Vega SVG, the plotly div) is replaced by a new one, and the frames in which fewer charts
  or p(z) pictures than expected are on screen (a blank flash);
* first draw: seconds from opening the page to every chart drawn (plotly.js must arrive first).

The machine is shared and noisy: read the ratios within one run, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser import launch, start_server, stop_server, wait_until  # noqa: E402  (the tests' browser helpers)

APP = Path(__file__).with_name("ui_charts_app.py")
MODES = ("vega", "plotly", "plotly_react")
LAYOUTS = (1, 3)
# the element that a re-mount replaces, per way of drawing
ROOTS = {"vega": ".stVegaLiteChart > svg", "plotly": ".js-plotly-plot", "plotly_react": ".js-plotly-plot"}
# drawn: the codes are on screen (Vega: SVG symbols; plotly: its WebGL canvas has been sized)
DRAWN = {"vega": ".stVegaLiteChart svg g.mark-symbol path",
         "plotly": ".js-plotly-plot .gl-canvas-context", "plotly_react": ".js-plotly-plot .gl-canvas-context"}
# background pictures (p(z)): an image that blanks while a new URL loads is a flicker too
IMAGES = {"vega": ".stVegaLiteChart g.mark-image image", "plotly": ".js-plotly-plot .imagelayer image",
          "plotly_react": ".js-plotly-plot .imagelayer image"}
WARMUP_S = 3.0

WATCH_JS = """([root, images, expected]) => {
  const w = window.__bench = {frames: 0, blank: 0, roots: 0};
  const seen = new WeakSet();
  const href = i => i.getAttribute('href') || i.getAttribute('xlink:href') || '';
  const tick = () => {
    const els = document.querySelectorAll(root);
    const pictures = Array.from(document.querySelectorAll(images)).filter(i => href(i).length > 0);
    w.frames++;
    if (els.length < expected || pictures.length < expected) w.blank++;
    els.forEach(e => { if (!seen.has(e)) { seen.add(e); w.roots++; } });
    requestAnimationFrame(tick);
  };
  tick();
}"""


def chromium_cpu_s() -> dict[int, float]:
    """CPU seconds (user + system) of every Chromium process under this one, by pid."""
    import psutil

    out = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" in proc.name().lower():
                t = proc.cpu_times()
                out[proc.pid] = t.user + t.system
        except psutil.Error:
            pass
    return out


def task_duration(cdp) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def measure(browser, url: str, mode: str, panels: int, window: float, log_path: Path) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    t_open = time.monotonic()
    page.goto(f"{url}/?mode={mode}&panels={panels}")
    wait_until(lambda: page.evaluate(
        "([sel, root, n]) => document.querySelectorAll(root).length >= n && "
        "Array.from(document.querySelectorAll(root)).every(r => r.parentElement.querySelector(sel))",
        [DRAWN[mode], ROOTS[mode], panels]), 120, f"{mode} drawn")
    first_draw = time.monotonic() - t_open
    time.sleep(WARMUP_S)
    page.evaluate(WATCH_JS, [ROOTS[mode], IMAGES[mode], panels])
    cpu0, task0, t0 = chromium_cpu_s(), task_duration(cdp), time.monotonic()
    w0 = time.time()
    time.sleep(window)
    cpu1, task1, t1 = chromium_cpu_s(), task_duration(cdp), time.monotonic()
    w1 = time.time()
    watch = page.evaluate("() => window.__bench")
    page.close()
    elapsed = t1 - t0
    runs = [r["ms"] for r in (json.loads(line) for line in log_path.read_text().splitlines() if line.strip())
            if r["mode"] == mode and r["panels"] == panels and w0 <= r["t"] <= w1]
    cpu = sum(v - cpu0.get(pid, 0.0) for pid, v in cpu1.items())
    return {"browser_cpu": 100 * cpu / elapsed, "main_thread": 100 * (task1 - task0) / elapsed,
            "server_ms": statistics.median(runs) if runs else float("nan"), "refreshes": len(runs) / elapsed,
            "remounts": (watch["roots"] - panels) / max(len(runs), 1), "blank": watch["blank"],
            "frames": watch["frames"], "first_draw": first_draw}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--window", type=float, default=15.0, help="seconds measured per page (default 15)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ", ".join(MODES))
    args = ap.parse_args()
    modes = [m for m in args.modes.split(",") if m]

    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="aae-chart-bench-"))
    log_path = work / "refresh.jsonl"
    log_path.touch()
    server, url = start_server({"AAE_CHART_BENCH_LOG": str(log_path)}, work / "streamlit.log", app=APP)
    results: dict[tuple[str, int], list[dict]] = {}
    try:
        with sync_playwright() as p:
            browser = launch(p)
            try:
                for _ in range(args.rounds):
                    for panels in LAYOUTS:
                        for mode in modes:
                            r = measure(browser, url, mode, panels, args.window, log_path)
                            results.setdefault((mode, panels), []).append(r)
                            print(f"  {mode:>13} × {panels}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()),
                                  flush=True)
            finally:
                browser.close()
    finally:
        stop_server(server)

    print(f"\nLive charts at ~3 refreshes/s ({os.cpu_count()} cores; medians of {args.rounds} windows of "
          f"{args.window:g} s; logs in {work})")
    header = ("way", "panels", "browser CPU %", "browser CPU ms / refresh", "main thread ms / refresh",
              "refreshes / s", "server ms / refresh", "re-mounts / refresh", "blank frames", "first draw s")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for panels in LAYOUTS:
        base = None
        for mode in modes:
            rs = results[(mode, panels)]
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            # a starved browser delivers fewer refreshes: the cost of each is the fairer number
            per = statistics.median(10 * r["browser_cpu"] / r["refreshes"] for r in rs)
            main_per = statistics.median(10 * r["main_thread"] / r["refreshes"] for r in rs)
            base = base or per
            print(f"| {mode} | {panels} | {med['browser_cpu']:.0f} | {per:.0f} ({per / base:.2f}×) | {main_per:.0f} | "
                  f"{med['refreshes']:.2f} | {med['server_ms']:.1f} | {med['remounts']:.2f} | "
                  f"{sum(r['blank'] for r in rs)} of {sum(r['frames'] for r in rs):.0f} | {med['first_draw']:.1f} |")


if __name__ == "__main__":
    main()
