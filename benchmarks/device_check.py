"""Checks and times the accelerator path end to end (CUDA or Apple MPS; falls back to the CPU).

1. ``Trainer.step`` steps/s for AE, VAE and AAE (small and paper presets) on the accelerator and
   on the CPU, side by side, and their ratio;
2. a ``TrainingJob`` with AE, VAE and AAE in lockstep on the accelerator: play, publish snapshots,
   pause, step one batch, step one phase, save a checkpoint, stop;
3. that checkpoint loads on the CPU and decodes the same images as on the accelerator.

    python -m benchmarks.device_check            # exits 1 if a check fails
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

from aae.checkpoints import load_checkpoint
from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import load_dataset
from aae.jobs import JobOptions, TrainingJob
from aae.priors import make_prior
from aae.train import Trainer, device_description, resolve_device, seeded_model


def steps_per_sec(kind: str, preset: str, device: str, seconds: float, data) -> float:
    prior = make_prior("gaussian")
    model = seeded_model(ModelConfig(kind=kind, preset=preset), 0)
    tr = Trainer(model, prior, data.train_images, data.train_labels, config=TrainConfig(device=device))
    for _ in range(5):
        tr.step()  # warm-up (CUDA context, kernels, allocator)
    rates = []
    for _ in range(3):
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds / 3:
            tr.step()
            n += 1
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def check_job(device: str, out_dir: str) -> list[str]:
    failures: list[str] = []
    cfg = RunConfig(data=DataConfig(name="mnist-5k"), prior=PriorConfig(name="mog10"),
                    model=ModelConfig(kind="aae"), train=TrainConfig(device=device))
    job = TrainingJob(cfg, kinds=("ae", "vae", "aae"), options=JobOptions(autosave_every=0)).start()
    try:
        job.play()
        snap = job.wait_for(lambda s: s.step >= 200, timeout=60)
        print(f"  job: {snap.step} lockstep batches in {snap.elapsed:.1f} s on {snap.device}")
        if set(snap.models) != {"ae", "vae", "aae"}:
            failures.append(f"snapshot models {sorted(snap.models)}")
        for kind, view in snap.models.items():
            if view.codes is None or not np.isfinite(view.codes).all():
                failures.append(f"{kind}: codes missing or not finite")
        job.pause()
        job.wait_for(lambda s: s.status == "paused", timeout=10)
        before = job.peek().step
        job.step_batch(1).result(timeout=10)
        if job.peek().step != before + 1:
            failures.append(f"step_batch: step {before} -> {job.peek().step}")
        json_path = job.save(f"{out_dir}/aae-device", kind="aae").result(timeout=20)
        print(f"  saved {json_path}")
    finally:
        job.stop(wait=True)
    if job.peek().error:
        failures.append(f"job error: {job.peek().error}")

    single = TrainingJob(cfg, options=JobOptions(autosave_every=0, start_paused=True)).start()
    try:
        for _ in range(3):
            single.step_phase().result(timeout=10)
        snap = single.peek()
        if snap.step != 1 or snap.last_phase != "generator":
            failures.append(f"step_phase: step {snap.step}, last phase {snap.last_phase}")
    finally:
        single.stop(wait=True)

    loaded_cpu = load_checkpoint(json_path, device="cpu")
    loaded_dev = load_checkpoint(json_path, device=device)
    z = torch.randn(16, 2)
    with torch.no_grad():
        a = loaded_cpu.model.float().decode(z)
        b = loaded_dev.model.float().decode(z.to(resolve_device(device))).cpu()
    diff = (a - b).abs().max().item()
    print(f"  checkpoint: CPU vs {device} decode max |Δ| = {diff:.2e}")
    if diff > 1e-2:
        failures.append(f"checkpoint decodes differ by {diff}")
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0, help="timing per model and device")
    ap.add_argument("--cpu-threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = ap.parse_args(argv)
    if args.cpu_threads:
        torch.set_num_threads(args.cpu_threads)
    device = resolve_device("auto")
    print(f"accelerator: {device_description(device)}; CPU: {torch.get_num_threads()} threads")
    data = load_dataset("mnist-5k")
    print(f"{'model':<12}{'preset':<8}{device.type + ' steps/s':>16}{'cpu steps/s':>14}{'ratio':>8}")
    for preset in ("small", "paper"):
        for kind in ("ae", "vae", "aae"):
            acc = steps_per_sec(kind, preset, device.type, args.seconds, data)
            cpu = steps_per_sec(kind, preset, "cpu", args.seconds, data)
            print(f"{kind:<12}{preset:<8}{acc:>16.1f}{cpu:>14.1f}{acc / cpu:>8.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        failures = check_job(device.type, tmp)
    for f in failures:
        print(f"FAIL {f}")
    print("device check:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
