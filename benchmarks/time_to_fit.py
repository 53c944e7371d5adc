"""Time to fit: wall seconds until q(z) matches p(z), per prior (small preset, mnist-5k, CPU).

The prior-fit ratio SW(q, p) / SW(p, p') is measured on the held-out codes (mnist-5k holds out
500 digits) against the same number of prior samples, every ``--eval-every`` seconds of training;
evaluation time is excluded from the clock. Reports the first time the ratio is ≤ 2.0, the best
ratio within the budget, and the k-NN (k=5) accuracy of held-out codes at the end (the classifier
is fitted on the codes of all training digits). With several ``--seeds``, every prior runs once per
seed and the medians are printed last (the adversarial game makes single runs noisy).

    python -m benchmarks.time_to_fit                 # all priors, 120 s each
    python -m benchmarks.time_to_fit --seeds 0 1 2   # three runs per prior, medians
    python -m benchmarks.time_to_fit --priors gaussian --budget 30 --set lr_gen=1e-3
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch

from aae import metrics as M
from aae.config import ModelConfig, TrainConfig
from aae.data import load_dataset
from aae.priors import PRIORS, make_prior
from aae.train import Trainer, seeded_model

TARGET = 2.0


def run(prior_name: str, budget: float, eval_every: float, overrides: dict, seed: int = 0,
        dataset: str = "mnist-5k") -> dict:
    data = load_dataset(dataset)
    cfg = TrainConfig(device="cpu", seed=seed, **overrides)
    prior = make_prior(prior_name, dim=2)
    model = seeded_model(ModelConfig(kind="aae", preset="small", latent_dim=2), seed)
    tr = Trainer(model, prior, data.train_images, data.train_labels, config=cfg)
    x_test = data.test_images.reshape(len(data.test_images), -1).float() / 255
    n = len(x_test)
    g = torch.Generator().manual_seed(1234)
    p, p_fresh = prior.sample(n, generator=g).numpy(), prior.sample(n, generator=g).numpy()
    x_ref = data.train_images.reshape(len(data.train_images), -1).float() / 255
    clock, next_eval, first_fit, best, curve = 0.0, eval_every, None, float("inf"), []
    while clock < budget:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < eval_every:
            tr.step()
        clock += time.perf_counter() - t0
        with torch.no_grad():
            model.eval()
            codes = model.encode(x_test).numpy()
            model.train()
        ratio = M.prior_fit_ratio(codes, p, p_fresh) if torch.isfinite(torch.from_numpy(codes)).all() else float("inf")
        curve.append((round(clock, 1), tr.step_count, round(ratio, 3)))
        best = min(best, ratio)
        if first_fit is None and ratio <= TARGET:
            first_fit = (clock, tr.step_count)
    with torch.no_grad():
        model.eval()
        ref = model.encode(x_ref).numpy()
    knn = M.knn_accuracy(ref, data.train_labels.numpy(), codes, data.test_labels.numpy(), k=5)
    return {"prior": prior_name, "seed": seed, "seconds_to_fit": None if first_fit is None else round(first_fit[0], 1),
            "steps_to_fit": None if first_fit is None else first_fit[1], "best_ratio": round(best, 3),
            "final_ratio": curve[-1][2], "steps": tr.step_count, "steps_per_sec": round(tr.step_count / clock, 1),
            "knn_acc": round(knn, 3), "curve": curve}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--priors", nargs="+", default=list(PRIORS), choices=list(PRIORS))
    ap.add_argument("--budget", type=float, default=120.0, help="training seconds per prior")
    ap.add_argument("--eval-every", type=float, default=2.0, help="training seconds between evaluations")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a TrainConfig field, e.g. --set lr_gen=1e-3")
    ap.add_argument("--json", action="store_true", help="print one JSON line per prior")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {k: float(v) if "." in v or "e" in v else int(v) for k, v in (s.split("=", 1) for s in args.set)}
    print(f"time to fit (ratio ≤ {TARGET}), small preset, mnist-5k, {torch.get_num_threads()} threads, "
          f"budget {args.budget:.0f} s, overrides {overrides or 'none'}")
    print(f"{'prior':<12}{'seed':>5}{'s to fit':>10}{'steps':>8}{'best':>8}{'final':>8}{'steps/s':>9}{'kNN':>7}")
    results = []
    for name in args.priors:
        for seed in args.seeds:
            r = run(name, args.budget, args.eval_every, overrides, seed=seed)
            results.append(r)
            if args.json:
                print(json.dumps(r))
            fit = "-" if r["seconds_to_fit"] is None else f"{r['seconds_to_fit']:.1f}"
            steps = "-" if r["steps_to_fit"] is None else str(r["steps_to_fit"])
            print(f"{name:<12}{seed:>5}{fit:>10}{steps:>8}{r['best_ratio']:>8.2f}{r['final_ratio']:>8.2f}"
                  f"{r['steps_per_sec']:>9.1f}{r['knn_acc']:>7.2f}", flush=True)
    if len(args.seeds) > 1:
        print(f"\nmedians over {len(args.seeds)} seeds (a run that never fits counts as > budget)")
        print(f"{'prior':<12}{'s to fit':>10}{'fitted':>8}{'best':>8}{'final':>8}{'kNN':>7}")
        for name in args.priors:
            rs = [r for r in results if r["prior"] == name]
            fits = [r["seconds_to_fit"] if r["seconds_to_fit"] is not None else math.inf for r in rs]
            med = statistics.median(fits)
            print(f"{name:<12}{'-' if math.isinf(med) else f'{med:.1f}':>10}"
                  f"{sum(math.isfinite(f) for f in fits):>5}/{len(rs):<2}"
                  f"{statistics.median(r['best_ratio'] for r in rs):>8.2f}"
                  f"{statistics.median(r['final_ratio'] for r in rs):>8.2f}"
                  f"{statistics.median(r['knn_acc'] for r in rs):>7.2f}")


if __name__ == "__main__":
    main()
