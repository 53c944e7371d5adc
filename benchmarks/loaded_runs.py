"""What paused runs cost a class's server, and what ``max_loaded`` gives back: ``--runs`` runs of the
Train page's model are started one after another through a ``JobRegistry`` in process mode (the
dashboard's default: a worker process per run), each stepped one batch and left paused, as students
do who press Start, look, pause and move on; only the newest run is looked at. After each run it
measures the worker processes alive and their own memory (USS: what the machine gets back when a
worker exits), once without a cap (``max_loaded`` above ``--runs``) and once for each ``--caps``.

    python -m benchmarks.loaded_runs                       # 12 runs, no cap and a cap of 4
    python -m benchmarks.loaded_runs --runs 30 --caps 8    # a class of 30

Prints, per setting: the workers alive and their memory after the last run, the median memory of one
worker, the runs unloaded to make room (each autosaved first: its owner goes on from the autosave),
and the memory with each cap as a share of the memory without one. Linux or macOS (psutil's USS).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import psutil

from aae.config import DataConfig, RunConfig, TrainConfig
from aae.jobs import JobOptions, JobRegistry

OPTIONS = JobOptions(start_paused=True, autosave_every=0)
TIMEOUT = 120.0


def worker_uss(jobs) -> list[float]:
    """The own memory (MB) of each live worker process of ``jobs``."""
    out = []
    for job in jobs:
        try:
            out.append(psutil.Process(job.pid).memory_full_info().uss / 2**20)
        except (psutil.NoSuchProcess, psutil.AccessDenied, TypeError):
            pass
    return out


def measure(runs: int, cap: int, dataset: str) -> dict:
    with tempfile.TemporaryDirectory() as runs_dir:
        registry = JobRegistry(workers="process", max_running=1, max_loaded=cap, autosave_dir=runs_dir,
                               options=OPTIONS, idle_pause=3600, idle_unload=3600)
        made = []
        try:
            for _ in range(runs):
                job = registry.create(RunConfig(data=DataConfig(name=dataset), train=TrainConfig(device="cpu")))
                made.append(job)
                job.wait_for(lambda s: s.status == "paused", TIMEOUT)
                job.step_batch(1).result(TIMEOUT)
                job.snapshot()                       # the newest run is the one being looked at
            deadline = time.monotonic() + TIMEOUT    # unloaded workers autosave, then exit
            while len(registry.loaded()) < sum(j.pid is not None and psutil.pid_exists(j.pid) for j in made):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            uss = worker_uss([j for j in made if j.pid is not None and psutil.pid_exists(j.pid)])
            unloaded = sum(1 for j in made if (n := j.peek().notice) and getattr(n, "code", "").startswith(
                "job.unloaded_for_room"))
            return {"cap": cap, "runs": runs, "workers": len(uss), "total_mb": sum(uss),
                    "per_worker_mb": statistics.median(uss) if uss else 0.0, "unloaded": unloaded}
        finally:
            registry.shutdown(timeout=30)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=12)
    p.add_argument("--caps", type=int, nargs="+", default=[4])
    p.add_argument("--dataset", default="mnist-5k")
    a = p.parse_args(argv)
    rows = [measure(a.runs, a.runs + 1, a.dataset)] + [measure(a.runs, c, a.dataset) for c in a.caps]
    base = rows[0]["total_mb"] or 1.0
    print(f"| max_loaded | runs started | workers alive | their memory (USS) | one worker (median) "
          f"| unloaded for room | memory vs no cap |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        name = "none" if r["cap"] > r["runs"] else str(r["cap"])
        print(f"| {name} | {r['runs']} | {r['workers']} | {r['total_mb']:,.0f} MB | {r['per_worker_mb']:,.0f} MB "
              f"| {r['unloaded']} | {r['total_mb'] / base:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
