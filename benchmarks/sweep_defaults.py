"""The small sweep behind TrainConfig's defaults, counted in training steps (not seconds, so a
busy machine cannot bias it): steps until the prior-fit ratio is ≤ 2.0, best ratio and k-NN
accuracy after a fixed number of steps, for a few learning-rate settings and priors.

    python -m benchmarks.sweep_defaults --steps 2000
"""

from __future__ import annotations

import argparse
import itertools

import torch

from aae import metrics as M
from aae.config import ModelConfig, TrainConfig
from aae.data import load_dataset
from aae.priors import make_prior
from aae.train import Trainer, seeded_model

CANDIDATES = {
    "A rec 1e-3 D 2e-4 G 5e-4": dict(lr_recon=1e-3, lr_disc=2e-4, lr_gen=5e-4),
    "B rec 1e-3 D 1e-3 G 1e-3": dict(lr_recon=1e-3, lr_disc=1e-3, lr_gen=1e-3),
    "M rec 1e-3 D 5e-4 G 1e-3": dict(lr_recon=1e-3, lr_disc=5e-4, lr_gen=1e-3),
    "R all 2e-4": dict(lr_recon=2e-4, lr_disc=2e-4, lr_gen=2e-4),
}


def run(prior_name: str, overrides: dict, steps: int, every: int, seed: int = 0) -> dict:
    data = load_dataset("mnist-5k")
    prior = make_prior(prior_name, dim=2)
    model = seeded_model(ModelConfig(kind="aae", preset="small"), seed)
    tr = Trainer(model, prior, data.train_images, data.train_labels,
                 config=TrainConfig(device="cpu", seed=seed, **overrides))
    x_test = data.test_images.reshape(len(data.test_images), -1).float() / 255
    g = torch.Generator().manual_seed(1234)
    p, p2 = prior.sample(len(x_test), generator=g).numpy(), prior.sample(len(x_test), generator=g).numpy()
    first, best, ratios = None, float("inf"), []
    while tr.step_count < steps:
        for _ in range(every):
            tr.step()
        with torch.no_grad():
            model.eval()
            codes = model.encode(x_test).numpy()
            model.train()
        r = M.prior_fit_ratio(codes, p, p2)
        ratios.append(r)
        best = min(best, r)
        if first is None and r <= 2.0:
            first = tr.step_count
    with torch.no_grad():
        model.eval()
        ref = model.encode(data.train_images[:2000].reshape(2000, -1).float() / 255).numpy()
    knn = M.knn_accuracy(ref, data.train_labels[:2000].numpy(), codes, data.test_labels.numpy(), k=5)
    tail = sorted(ratios[-5:])[len(ratios[-5:]) // 2]
    return {"first": first, "best": best, "tail_median": tail, "knn": knn}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--priors", nargs="+", default=["gaussian", "mog10", "swiss_roll"])
    ap.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    ap.add_argument("--threads", type=int, default=1, help="torch threads (results are counted in steps)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'setting':<28}{'prior':<12}{'steps≤2':>8}{'best':>7}{'last5':>7}{'kNN':>6}")
    for name, prior in itertools.product(args.candidates, args.priors):
        r = run(prior, CANDIDATES[name], args.steps, args.every)
        print(f"{name:<28}{prior:<12}{str(r['first'] or '-'):>8}{r['best']:>7.2f}{r['tail_median']:>7.2f}"
              f"{r['knn']:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
