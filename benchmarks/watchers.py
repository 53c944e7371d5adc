#!/usr/bin/env python3
"""A class of watchers: what N browsers on one share link cost the teacher's training run. One run,
numbers printed (README "A class of watchers", issue 10 §8).

    .venv/bin/python benchmarks/watchers.py                        # 0, 10 and 30 watchers, twice, 40 s each
    .venv/bin/python benchmarks/watchers.py --counts 0 30 --window 30 --rounds 1

It starts `streamlit run dashboard.py` (through ``benchmarks/ui_live.py``'s wrapper, which logs every
run's step twice a second from inside the server, so measuring never disturbs what it measures),
opens the Train page in one real Chromium as the teacher and presses Start, takes the run's share
link (``?run=ID``), then connects watchers that speak Streamlit's websocket protocol themselves
(``BackMsg`` / ``ForwardMsg``, as a browser does, without drawing anything): each sends a
``rerun_script`` with the share link's query string, and re-sends the fragment reruns the server
asks for (``auto_rerun``), as the browser's timers do. In alternating windows with 0, 10, 30 …
watchers it measures:

* the teacher's training steps/s (from the server's step log) and its ratio to 0 watchers
  (target ≥ 0.7×, floor 0.5×);
* updates each watcher receives per second: new Step values seen (target ≥ 2, floor ≥ 1), and
  live-panel refreshes that carried elements;
* the server's resident memory (target ≤ 2 GB), and the same plus its worker processes' own memory
  (USS); the fragment reruns the server completed per second (its capacity, when watchers starve);
  the cores used by the server, its workers and the clients (this script's watchers and the
  teacher's Chromium share the machine with the server here, unlike a class), and the load average
  beside each window (the machine may be shared: compare the two sides
  of each ratio within one run only).

``--workers process thread`` (the default) measures the server training in a worker process per run
(``aae.jobs.JobProxy``, the dashboard's default) and then in a thread of the server
(``$AAE_JOB_WORKERS=thread``), one server after the other, each with its own interleaved windows.

Notes: moving the jobs to Ray actors, for a course that outgrows one machine. ``JobProxy`` already
has an actor's shape: the job lives in a process of its own, every control is a message that returns
a future, and the page only ever reads the newest snapshot. A Ray version would take
* an actor class (``@ray.remote(num_cpus=1)``, or ``num_gpus=1``) holding the ``TrainingJob``, whose
  methods are the proxy's commands; Ray's ``ObjectRef.future()`` is the ``concurrent.futures.Future``
  the pages already wait on, and an actor that dies fails its pending calls with ``RayActorError``,
  which maps onto the proxy's "the training process ended" failure;
* snapshots pulled rather than pushed: a ``snapshot_since(version)`` actor method that a thread of the
  web server polls a few times a second (a snapshot is about 1 MB, through Ray's object store);
* the slot queue: Ray's scheduler would place actors by their resources, but it does not tell a
  waiting actor its place in line, so the registry's FIFO (and "queued: 2 runs ahead") would stay in
  the web server, granting slots to actors as the child's ``_RemoteSlots`` asks for them now;
* files: autosaves and saves are written where the job runs, so the save and runs folders must be a
  shared file system (or a save must return the checkpoint's bytes to the web server), and each node
  needs the datasets in its own ``$AAE_DATA_DIR``;
* the fault hook and the models handed to a run travel with cloudpickle, as they do with pickle now;
  ``ray`` itself would be an optional dependency, chosen by ``JobRegistry(workers="ray")``.
"""

from __future__ import annotations

import argparse
import asyncio
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
sys.path.insert(0, str(ROOT))
from browser import APP_IDLE, free_port, launch, stop_server, wait_until  # noqa: E402  (the tests' helpers)
from benchmarks.ui_live import read_log, run_id, serve, steps_per_sec  # noqa: E402  (its step-logging server)

PAGE = ""                     # the Train page's URL path: the default page of dashboard.py's navigation
PAGE_TIMEOUT_S = 180          # a page load on a machine whose cores are busy with other work
JOIN_TIMEOUT_S = 240          # watchers joining: wait (up to this) until each has had its first page drawn …
CONNECT_SETTLE_S = 5.0        # … and a little longer: those first full page runs are not the steady state
RSS_SAMPLE_S = 1.0
TARGET_RATIO, FLOOR_RATIO = 0.7, 0.5
TARGET_UPDATES, FLOOR_UPDATES = 2.0, 1.0
TARGET_RSS_GB = 2.0


# =================================================================================== a watcher

class Watcher:
    """One protocol-level client on the share link: a websocket speaking Streamlit's protocol.

    Counts (with their times) every new value of the Step metric it is sent and every script or
    fragment run that carried elements to it."""

    def __init__(self, ws_url: str, query: str):
        self.ws_url, self.query = ws_url, query
        self.step_times: list[float] = []        # a new Step value arrived
        self.refresh_times: list[float] = []     # a run that sent elements finished
        self.errors: list[str] = []
        self.last_step: str | None = None
        self.page_hash = ""
        self.timers: dict[str, asyncio.Task] = {}
        self.task: asyncio.Task | None = None

    def client_state(self, fragment_id: str = ""):
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_name = PAGE
        cs.page_script_hash = self.page_hash
        if fragment_id:
            cs.fragment_id = fragment_id
            cs.is_auto_rerun = True
        return msg.SerializeToString()

    async def run(self) -> None:
        import websockets
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            async with websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                          open_timeout=PAGE_TIMEOUT_S, ping_interval=None) as ws:
                await ws.send(self.client_state())
                carried = False
                async for raw in ws:
                    msg = ForwardMsg()
                    msg.ParseFromString(raw)
                    kind = msg.WhichOneof("type")
                    if kind == "delta":
                        carried = True
                        el = msg.delta.new_element
                        if el.WhichOneof("type") == "metric" and el.metric.label == "Step":
                            if el.metric.body != self.last_step:
                                self.last_step = el.metric.body
                                self.step_times.append(time.time())
                    elif kind == "script_finished":
                        if carried:
                            self.refresh_times.append(time.time())
                        carried = False
                    elif kind == "new_session":
                        self.page_hash = msg.new_session.page_script_hash or self.page_hash
                    elif kind == "auto_rerun":
                        self._every(ws, msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
                    elif kind == "stop_auto_rerun":
                        for fid in msg.stop_auto_rerun.fragment_ids:
                            if (t := self.timers.pop(fid, None)) is not None:
                                t.cancel()
        except asyncio.CancelledError:
            pass
        except Exception as e:  # noqa: BLE001 — reported beside the numbers
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            for t in self.timers.values():
                t.cancel()

    def _every(self, ws, fragment_id: str, interval: float) -> None:
        """The browser's timer for a fragment with ``run_every``: one rerun request per interval."""
        if (old := self.timers.pop(fragment_id, None)) is not None:
            old.cancel()

        async def tick() -> None:
            while True:
                await asyncio.sleep(interval)
                await ws.send(self.client_state(fragment_id))

        self.timers[fragment_id] = asyncio.ensure_future(tick())


class Class:
    """Watchers on an event loop of their own (a thread), connected and disconnected on demand."""

    def __init__(self, ws_url: str, query: str):
        self.ws_url, self.query = ws_url, query
        self.loop = asyncio.new_event_loop()
        self.watchers: list[Watcher] = []
        threading.Thread(target=self.loop.run_forever, daemon=True, name="watchers").start()

    def resize(self, n: int) -> None:
        async def change() -> None:
            while len(self.watchers) < n:
                w = Watcher(self.ws_url, self.query)
                w.task = asyncio.ensure_future(w.run())
                self.watchers.append(w)
            while len(self.watchers) > n:
                w = self.watchers.pop()
                w.task.cancel()

        asyncio.run_coroutine_threadsafe(change(), self.loop).result(60)

    def wait_first_updates(self, timeout: float) -> int:
        """Wait until every watcher has had its first page drawn (or ``timeout``); how many have."""
        drawn = lambda: sum(bool(w.refresh_times) for w in self.watchers)   # noqa: E731
        try:
            wait_until(lambda: drawn() == len(self.watchers), timeout, "every watcher's first page", interval=0.5)
        except AssertionError:
            pass
        return drawn()

    def rates(self, start: float, end: float) -> tuple[list[float], list[float], list[str]]:
        """Per watcher: new Step values per second and refreshes per second within [start, end]."""
        span = end - start
        steps = [sum(start <= t <= end for t in w.step_times) / span for w in self.watchers]
        refreshes = [sum(start <= t <= end for t in w.refresh_times) / span for w in self.watchers]
        return steps, refreshes, [e for w in self.watchers for e in w.errors]


# =================================================================================== the run

def control(page, key: str):
    return page.locator(f".st-key-{key}").get_by_role("button").first


def share_link_run(page) -> str:
    """The run id of the share link the teacher's page shows (``…?run=ID``), else ''."""
    links = page.locator("[data-testid='stSidebar'] a[href*='run=']")
    if links.count() == 0:
        return run_id(page)
    match = re.search(r"[?&]run=([\w-]+)", links.first.get_attribute("href") or "")
    return match.group(1) if match else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--counts", type=int, nargs="+", default=[0, 10, 30], help="watchers per window")
    ap.add_argument("--window", type=float, default=40.0, help="seconds per window")
    ap.add_argument("--rounds", type=int, default=2, help="times the list of counts is repeated")
    ap.add_argument("--workers", nargs="+", default=["process", "thread"], choices=["process", "thread"],
                    help="where the server trains ($AAE_JOB_WORKERS), one server after the other")
    ap.add_argument("--watcher-refresh", type=float, default=None,
                    help="the server's $AAE_WATCHER_REFRESH_S (default: the app's, ui.live.WATCHER_REFRESH_S)")
    ap.add_argument("--serve", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1:])
        return
    results = {}
    for workers in args.workers:
        print(f"\n== training in a {workers} ($AAE_JOB_WORKERS={workers})", flush=True)
        results[workers] = measure(workers, args)
    for workers, rows in results.items():
        print(f"\n== training in a {workers}")
        report(rows, args.counts)


def measure(workers: str, args) -> list[dict]:
    """One server training in ``workers``: the teacher's run, then the windows of watchers."""
    import psutil
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="aae-watchers-"))
    log_path = work / "server.jsonl"
    env = {**os.environ, "AAE_RUNS_DIR": str(work / "runs"), "AAE_SAVE_DIR": str(work / "saved"),
           "AAE_IDLE_PAUSE": "3600", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "PYTHONPATH": str(ROOT), "AAE_JOB_WORKERS": workers}
    if args.watcher_refresh is not None:
        env["AAE_WATCHER_REFRESH_S"] = str(args.watcher_refresh)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", str(log_path), "dashboard.py",
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=(work / "streamlit.log").open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    proc = psutil.Process(server.pid)

    def rss_gb() -> tuple[float, float]:
        """The server's resident memory, and that plus its worker processes' own memory (USS: what
        each adds; their shared libraries are counted once, in the server's RSS)."""
        own = proc.memory_info().rss
        kids = 0
        for child in proc.children(recursive=True):
            try:
                kids += child.memory_full_info().uss
            except psutil.Error:
                pass
        return own / 2**30, (own + kids) / 2**30

    def cpu_s() -> dict[str, float]:
        """CPU seconds so far: the server itself, its worker processes, and the clients (this
        process, its watchers' event loop, Playwright and the teacher's Chromium)."""
        def total(ps) -> float:
            out = 0.0
            for q in ps:
                try:
                    t = q.cpu_times()
                    out += t.user + t.system
                except psutil.Error:
                    pass
            return out
        me = psutil.Process()
        server_kids = proc.children(recursive=True)
        own, workers = total([proc]), total(server_kids)
        return {"server": own, "workers": workers,
                "clients": total([me, *me.children(recursive=True)]) - own - workers}

    def healthy() -> bool:
        try:
            return urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok"
        except OSError:
            return False

    rows = []
    try:
        wait_until(healthy, PAGE_TIMEOUT_S, "the server")
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
            page.goto(f"{url}/{PAGE}")                            # the teacher opens the Train page
            page.wait_for_selector(APP_IDLE, state="attached")
            control(page, "ctl_play").click()                       # the teacher presses Start
            job = wait_until(lambda: share_link_run(page), PAGE_TIMEOUT_S, "the share link in the teacher's sidebar")
            wait_until(lambda: any(r["kind"] == "step" and r["job"] == job and r["status"] == "running"
                                   and r["step"] > 0 for r in read_log(log_path)),
                       PAGE_TIMEOUT_S, "the run to train")
            print(f"run {job}; share link {url}/{PAGE}?run={job}", flush=True)
            watchers = Class(f"ws://127.0.0.1:{port}/_stcore/stream", f"run={job}")
            for _ in range(args.rounds):
                for n in args.counts:
                    t_join = time.time()
                    watchers.resize(n)
                    joined = watchers.wait_first_updates(JOIN_TIMEOUT_S)
                    join_s = time.time() - t_join
                    time.sleep(CONNECT_SETTLE_S if n else 3.0)
                    start, rss, total, cpu0 = time.time(), [], [], cpu_s()
                    while time.time() < start + args.window:
                        own, with_workers = rss_gb()
                        rss.append(own)
                        total.append(with_workers)
                        time.sleep(RSS_SAMPLE_S)
                    end = time.time()
                    cpu = {k: (v - cpu0[k]) / (end - start) for k, v in cpu_s().items()}
                    load = os.getloadavg()[0]
                    steps, refreshes, errors = watchers.rates(start, end)
                    log = read_log(log_path)
                    sps = steps_per_sec(log, job, start - 3.0, end)   # (the helper drops 3 s)
                    frags = [r["ms"] for r in log if r["kind"] == "run" and r["fragment"] and start <= r["t"] <= end]
                    rows.append({"n": n, "sps": sps, "steps": steps, "refreshes": refreshes, "rss": max(rss),
                                 "total": max(total), "load": load, "errors": errors, "joined": joined,
                                 "join_s": join_s, "reruns": len(frags) / (end - start),
                                 "rerun_ms": _med(frags), "cpu": cpu})
                    r = rows[-1]
                    print(f"  {n:3d} watchers: {sps or 0:6.1f} steps/s · per watcher "
                          f"{_med(steps):.2f} new steps/s (min {min(steps, default=0):.2f}), "
                          f"{_med(refreshes):.2f} refreshes/s · RSS {r['rss']:.2f} GB "
                          f"({r['total']:.2f} with {len(proc.children())} workers) · load {load:.1f} · "
                          f"server: {r['reruns']:.1f} fragment reruns/s, median {r['rerun_ms']:.0f} ms · "
                          f"cores used: server {cpu['server']:.2f}, workers {cpu['workers']:.2f}, "
                          f"clients {cpu['clients']:.2f} · "
                          f"{joined}/{n} drawn their first page in {join_s:.0f} s"
                          + (f" · {len(errors)} errors: {errors[0]}" if errors else ""), flush=True)
            watchers.resize(0)
            browser.close()
    finally:
        stop_server(server)
    return rows


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def report(rows: list[dict], counts: list[int]) -> None:
    base = [r["sps"] for r in rows if r["n"] == 0 and r["sps"]]
    base_sps = _med(base)
    print("\nmedians over the windows (load average = the 1-minute load at the end of each window):")
    print(f"{'watchers':>8} | {'steps/s':>8} | {'× none':>6} | {'new steps/s per watcher (median, worst)':>40} | "
          f"{'refreshes/s':>11} | {'RSS GB':>6} | {'+workers':>8} | {'reruns/s':>8} | "
          f"cores: server, workers, clients | load")
    for n in counts:
        mine = [r for r in rows if r["n"] == n]
        sps = _med([r["sps"] for r in mine if r["sps"]])
        per = [v for r in mine for v in r["steps"]]
        ref = [v for r in mine for v in r["refreshes"]]
        ratio = sps / base_sps if base_sps else float("nan")
        loads = ", ".join(f"{r['load']:.1f}" for r in mine)
        worst = min(per) if per else float("nan")
        print(f"{n:>8} | {sps:8.1f} | {ratio:6.2f} | {_med(per):28.2f}, {worst:.2f}{'':>5} | {_med(ref):11.2f} | "
              f"{max(r['rss'] for r in mine):6.2f} | {max(r['total'] for r in mine):8.2f} | "
              f"{_med([r['reruns'] for r in mine]):8.1f} | "
              + ", ".join(f"{_med([r['cpu'][k] for r in mine]):.2f}" for k in ("server", "workers", "clients"))
              + f"{'':>12} | {loads}")
        if n:
            verdict = ("goal" if ratio >= TARGET_RATIO else "floor" if ratio >= FLOOR_RATIO else "MISSED")
            upd = ("goal" if per and _med(per) >= TARGET_UPDATES else
                   "floor" if per and _med(per) >= FLOOR_UPDATES else "MISSED")
            print(f"{'':>8}   steps/s ratio: {verdict} (≥ {TARGET_RATIO}×, floor {FLOOR_RATIO}×); updates per "
                  f"watcher: {upd} (≥ {TARGET_UPDATES}/s, floor {FLOOR_UPDATES}/s); "
                  f"RSS {'ok' if max(r['rss'] for r in mine) <= TARGET_RSS_GB else 'OVER'} (≤ {TARGET_RSS_GB} GB)")


if __name__ == "__main__":
    main()
