"""The speed limit of a running job is an upper bound: at ``--speed`` steps/s a job trains no more
than that (plus a step of slack at each end and the publish lag). A wall-clock check, so it lives
here and not in the tests.

    python -m benchmarks.job_speed_limit --speed 5 --seconds 3
"""

from __future__ import annotations

import argparse
import time

import torch

from aae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from aae.data import load_dataset
from aae.jobs import JobOptions, TrainingJob


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--speed", type=float, default=5.0)
    p.add_argument("--seconds", type=float, default=3.0)
    a = p.parse_args()
    torch.set_num_threads(1)
    config = RunConfig(data=DataConfig(name="synthetic"), model=ModelConfig(kind="aae"),
                       train=TrainConfig(batch_size=16, device="cpu"))
    job = TrainingJob(config, dataset=load_dataset("synthetic"),
                      options=JobOptions(snapshot_interval=0.05, n_eval=50, knn_train_codes=50, n_grid=4,
                                         autosave_every=0)).start()
    try:
        job.wait_for(lambda s: s.status == "running" and s.step >= 1, timeout=120)
        job.set_speed(a.speed).result(60)
        s0, t0 = job.peek().step, time.monotonic()
        time.sleep(a.seconds)
        s1, t1 = job.peek().step, time.monotonic()
    finally:
        job.stop(wait=True)
    bound = a.speed * (t1 - t0) + 3
    ok = s1 - s0 <= bound
    print(f"limit {a.speed:g} steps/s over {t1 - t0:.2f} s: {s1 - s0} steps (bound {bound:.1f}) -> "
          f"{'ok' if ok else 'TOO FAST'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
