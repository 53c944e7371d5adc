"""Memory and threads given back: ``--cycles`` create + stop cycles through a ``JobRegistry``
(issue 10: 200 cycles once grew the resident memory from 662 MB to 6,200 MB). Every tenth job
trains a few batches before it stops, the others stop at once (many before they built anything).

Prints the resident set size (RSS) before, after and its growth, the live threads, the worker
processes left and the jobs the registry still holds. Target: growth ≤ 200 MB, threads back to the
baseline, no worker process left, no jobs kept.

    python -m benchmarks.job_cycles --cycles 200 --preset small
    python -m benchmarks.job_cycles --cycles 20 --workers process   # a child process per job (seconds each)
"""

from __future__ import annotations

import argparse
import gc
import threading
import time

import psutil
import torch

from aae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from aae.data import load_dataset
from aae.jobs import JobRegistry

TARGET_MB = 200


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=200)
    p.add_argument("--preset", default="small", choices=["small", "paper"])
    p.add_argument("--dataset", default="mnist-5k")
    p.add_argument("--workers", default="thread", choices=["thread", "process"],
                   help="where each job trains (JobRegistry(workers=...))")
    a = p.parse_args()
    if a.cycles < 1:
        p.error("--cycles must be at least 1")
    torch.set_num_threads(1)
    data = load_dataset(a.dataset)
    config = RunConfig(data=DataConfig(name=a.dataset), model=ModelConfig(kind="aae", preset=a.preset),
                       train=TrainConfig(device="cpu"))
    # Warm up once (imports, allocator pools), so the baseline is the steady state of a running app.
    # A worker process loads its own data: handing it this process's copy would only add a pickle.
    given = {"dataset": data} if a.workers == "thread" else {}
    warm = JobRegistry(max_running=1, idle_forget=0, workers=a.workers)
    job = warm.create(config, **given)
    job.wait_for(lambda s: s.step >= 2 and not s.details_pending, timeout=300)
    job.stop(wait=True, timeout=60)
    warm.shutdown()
    time.sleep(0.5)
    threads0, rss0 = len(threading.enumerate()), rss_mb()

    registry = JobRegistry(max_running=1, idle_forget=0, reap_interval=0.5, workers=a.workers)
    t0 = time.perf_counter()
    for i in range(a.cycles):
        job = registry.create(config, **given)
        if i % 10 == 0:
            job.wait_for(lambda s: s.step >= 2, timeout=300)
        job.stop(wait=True, timeout=60)
    kept = len(registry.jobs())
    registry.shutdown()
    deadline = time.monotonic() + 10
    while len(threading.enumerate()) > threads0 and time.monotonic() < deadline:
        time.sleep(0.1)
    threads1, rss1 = len(threading.enumerate()), rss_mb()
    children = [c for c in psutil.Process().children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE]
    growth = rss1 - rss0
    print(f"{a.cycles} create+stop cycles ({a.preset} AAE, {a.dataset}, jobs in a {a.workers}) "
          f"in {time.perf_counter() - t0:.1f} s")
    print(f"RSS {rss0:.0f} MB -> {rss1:.0f} MB: growth {growth:+.0f} MB (target <= {TARGET_MB} MB)")
    print(f"threads {threads0} -> {threads1}; worker processes left: {len(children)}; "
          f"jobs kept by the registry: {kept}")
    ok = growth <= TARGET_MB and threads1 <= threads0 and kept == 0 and not children
    print("ok" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
