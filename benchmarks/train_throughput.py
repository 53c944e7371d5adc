"""Training throughput, measured side by side in one run (steps/s of one AAE batch = 3 phases):

  (a) ``Trainer.step`` in a bare loop;
  (b) the same inside a running ``TrainingJob`` that publishes snapshots (~4/s);
  (c) a minimal plain-PyTorch AAE loop of the same architecture, written here from scratch.

The three are interleaved for ``--rounds`` rounds of ``--seconds`` each, so machine noise hits all
of them alike; medians and the ratios b/c and a/c are printed. Target: b/c ≥ 0.9.

    python -m benchmarks.train_throughput --preset small --rounds 5 --seconds 4
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from aae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from aae.data import load_dataset, to_float
from aae.jobs import JobOptions, TrainingJob
from aae.models import PRESET_DISC_HIDDEN, PRESET_HIDDEN
from aae.priors import make_prior
from aae.train import Trainer, seeded_model


def bare_trainer(data, preset: str, seconds: float) -> float:
    model = seeded_model(ModelConfig(kind="aae", preset=preset), 0)
    tr = Trainer(model, make_prior("gaussian"), data.train_images, data.train_labels,
                 config=TrainConfig(device="cpu"))
    for _ in range(5):
        tr.step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        tr.step()
        n += 1
    return n / (time.perf_counter() - t0)


def in_job(data, preset: str, seconds: float) -> float:
    cfg = RunConfig(data=DataConfig(name="mnist-5k"), model=ModelConfig(kind="aae", preset=preset),
                    train=TrainConfig(device="cpu"))
    job = TrainingJob(cfg, dataset=data, options=JobOptions(start_paused=True)).start()
    try:
        job.wait_for(lambda s: s.status == "paused", timeout=60)
        job.step_batch(5).result(60)
        s0 = job.peek()
        job.play()
        t0 = time.perf_counter()
        time.sleep(seconds)
        job.pause()
        s1 = job.wait_for(lambda s: s.status == "paused" and s.version > s0.version, timeout=60)
        elapsed = time.perf_counter() - t0
        # Count only steps taken in the measured window (pause is honoured between batches).
        return (s1.step - s0.step) / elapsed
    finally:
        job.stop(wait=True)


def plain_loop(data, preset: str, seconds: float) -> float:
    """The reference: the paper's three phases, nothing else, in the fewest lines."""
    torch.manual_seed(0)
    h = PRESET_HIDDEN[preset]
    hd = PRESET_DISC_HIDDEN[preset]
    enc = nn.Sequential(nn.Linear(784, h[0]), nn.ReLU(), nn.Linear(h[0], h[1]), nn.ReLU(), nn.Linear(h[1], 2))
    dec = nn.Sequential(nn.Linear(2, h[1]), nn.ReLU(), nn.Linear(h[1], h[0]), nn.ReLU(), nn.Linear(h[0], 784))
    disc = nn.Sequential(nn.Linear(2, hd[0]), nn.LeakyReLU(0.2), nn.Linear(hd[0], hd[1]), nn.LeakyReLU(0.2),
                         nn.Linear(hd[1], 1))
    opt_ae = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-3)
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.9, 0.999))
    opt_g = torch.optim.Adam(enc.parameters(), lr=5e-4, betas=(0.9, 0.999))
    images = data.train_images
    ones, zeros = torch.ones(100, 1), torch.zeros(100, 1)

    def step():
        x = to_float(images[torch.randint(0, len(images), (100,))])
        loss = F.binary_cross_entropy_with_logits(dec(enc(x)), x, reduction="sum") / 100
        opt_ae.zero_grad(); loss.backward(); opt_ae.step()
        z_real = torch.randn(100, 2, requires_grad=True)
        z_fake = enc(x)  # one encoder pass serves both regularisation phases (only D changes between)
        d_real = disc(z_real)
        (grad,) = torch.autograd.grad(d_real.sum(), z_real, create_graph=True)   # R1 penalty, γ = 1
        d_loss = (F.binary_cross_entropy_with_logits(d_real, ones)
                  + F.binary_cross_entropy_with_logits(disc(z_fake.detach()), zeros)
                  + 0.5 * grad.pow(2).sum(dim=1).mean())
        opt_d.zero_grad(); d_loss.backward(); opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(disc(z_fake), ones)
        opt_g.zero_grad(); g_loss.backward(); opt_g.step()

    for _ in range(5):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small", choices=["small", "paper"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    data = load_dataset("mnist-5k")
    results: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    runners = {"a": bare_trainer, "b": in_job, "c": plain_loop}
    print(f"AAE training throughput, {args.preset} preset, batch 100, mnist-5k, "
          f"{torch.get_num_threads()} torch threads, {args.rounds} rounds x {args.seconds:.0f} s")
    for r in range(args.rounds):
        order = "abc" if r % 2 == 0 else "cba"
        for key in order:
            results[key].append(runners[key](data, args.preset, args.seconds))
        print(f"  round {r + 1}: " + "  ".join(f"{k}={results[k][-1]:.1f}" for k in "abc"), flush=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"median steps/s: (a) Trainer.step {med['a']:.1f}   (b) TrainingJob {med['b']:.1f}   "
          f"(c) plain PyTorch {med['c']:.1f}")
    print(f"ratio b/c = {med['b'] / med['c']:.2f}   (target >= 0.9)")
    print(f"ratio a/c = {med['a'] / med['c']:.2f}")


if __name__ == "__main__":
    main()
