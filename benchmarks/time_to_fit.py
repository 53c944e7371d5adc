"""Time to fit: wall seconds until q(z) matches p(z), per prior (small preset, mnist-5k, CPU).

The fit is the referee (``aae.metrics.referee_accuracy``): the 5-fold cross-validated accuracy of a
15-NN classifier at telling the 500 held-out codes from 500 prior samples (0.5 = it cannot tell).
It is measured every ``--eval-every`` seconds of training (evaluation time is off the clock). One
evaluation of 1,000 points varies by about ±0.02, so the times are those of the first evaluation
whose mean with the two before it is ≤ 0.60 (floor) and ≤ 0.55 (goal). Also reported: the best and
the final referee, the sliced-Wasserstein ratio SW(q, p) / SW(p, p') at the end (second number: it
cannot see shape), and the 5-NN accuracy of the held-out codes against the codes of all 4,500
training digits. With several ``--seeds`` every prior runs once per seed and the medians come last.

``--shipped`` measures the checkpoints in ``checkpoints/`` instead, as issue 9 did: all 5,000
digits encoded against 5,000 prior samples (referee k = 15, 5 folds), the SW ratio of the same
sets, the held-out 5-NN accuracy as above (the plain AE is scored against the Gaussian), and the
referee of the 500 held-out codes alone (``held_out_referee``).

    python -m benchmarks.time_to_fit --threads 1 --seeds 0 1 2        # all priors, 120 s each
    python -m benchmarks.time_to_fit --priors gaussian --budget 60 --set lr_gen=1e-3
    python -m benchmarks.time_to_fit --shipped
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import statistics
import time

import numpy as np
import torch

from aae import metrics as M
from aae.config import ModelConfig, TrainConfig
from aae.data import Dataset, load_dataset, to_float
from aae.priors import PRIORS, Prior, make_prior
from aae.train import Trainer, seeded_model

FLOOR, GOAL = 0.60, 0.55           # issue 9's targets for the referee
SMOOTH = 3                         # evaluations averaged before comparing with a target
REFEREE_K, REFEREE_FOLDS = 15, 5
HELD_OUT_DRAWS = 10                # prior samples averaged in ``held_out_referee`` (one draw varies ±0.02)
SHIPPED = pathlib.Path(__file__).resolve().parents[1] / "checkpoints"


class FitProbe:
    """The fixed evaluation of one (dataset, prior): held-out digits, training digits and two
    prior samples drawn once, so every measurement of a run compares like with like."""

    def __init__(self, data: Dataset, prior: Prior, device: torch.device | str = "cpu",
                 sample_seed: int = 1234):
        self.data, self.prior = data, prior
        self.x_test = to_float(data.test_images).to(device)                  # (500, 784)
        self.x_train = to_float(data.train_images).to(device)                # (4500, 784)
        g = torch.Generator().manual_seed(sample_seed)
        n = len(self.x_test)
        self.p = prior.sample(n, generator=g).numpy()                        # (500, 2)
        self.p_fresh = prior.sample(n, generator=g).numpy()
        # the shipped protocol's sets: all 5,000 digits against 5,000 prior samples (``fit_all``)
        n_all = len(self.x_train) + n
        self.p_all = prior.sample(n_all, generator=g).numpy()                # (5000, 2)
        self.p_all_fresh = prior.sample(n_all, generator=g).numpy()

    @staticmethod
    def encode(model, x: torch.Tensor) -> np.ndarray:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            codes = model.encode(x).cpu().numpy()
        model.train(was_training)
        return codes

    def fit(self, model) -> tuple[np.ndarray, dict[str, float]]:
        """Held-out codes and their fit: referee (headline) and SW ratio (inf when not finite)."""
        codes = self.encode(model, self.x_test)
        if not np.isfinite(codes).all():
            return codes, {"referee": 1.0, "prior_fit": math.inf}
        return codes, {"referee": M.referee_accuracy(codes, self.p, k=REFEREE_K, folds=REFEREE_FOLDS),
                       "prior_fit": M.prior_fit_ratio(codes, self.p, self.p_fresh)}

    def fit_all(self, model) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        """Training and held-out codes, and the fit of all of them as ``--shipped`` measures it:
        5,000 codes against 5,000 prior samples (referee, SW ratio)."""
        train_codes, test_codes = self.encode(model, self.x_train), self.encode(model, self.x_test)
        codes = np.concatenate([train_codes, test_codes])
        if not np.isfinite(codes).all():
            return train_codes, test_codes, {"referee": 1.0, "prior_fit": math.inf}
        return train_codes, test_codes, {
            "referee": M.referee_accuracy(codes, self.p_all, k=REFEREE_K, folds=REFEREE_FOLDS),
            "prior_fit": M.prior_fit_ratio(codes, self.p_all, self.p_all_fresh)}

    def knn(self, model, test_codes: np.ndarray | None = None,
            train_codes: np.ndarray | None = None) -> float:
        """5-NN accuracy of the held-out codes, fitted on the codes of every training digit."""
        test_codes = self.encode(model, self.x_test) if test_codes is None else test_codes
        train_codes = self.encode(model, self.x_train) if train_codes is None else train_codes
        if not (np.isfinite(test_codes).all() and np.isfinite(train_codes).all()):
            return 0.0
        return M.knn_accuracy(train_codes, self.data.train_labels.numpy(), test_codes,
                              self.data.test_labels.numpy(), k=5)


def first_reached(curve: list[float], target: float, smooth: int = SMOOTH) -> int | None:
    """Index of the first evaluation whose mean with the ``smooth - 1`` before it is ≤ target."""
    for i in range(len(curve)):
        window = curve[max(0, i - smooth + 1):i + 1]
        if len(window) == min(smooth, len(curve)) and sum(window) / len(window) <= target:
            return i
    return None


def run(prior_name: str, budget: float, eval_every: float, overrides: dict, seed: int = 0,
        dataset: str = "mnist-5k") -> dict:
    data = load_dataset(dataset)
    cfg = TrainConfig(device="cpu", seed=seed, **overrides)
    prior = make_prior(prior_name, dim=2)
    model = seeded_model(ModelConfig(kind="aae", preset="small", latent_dim=2), seed)
    tr = Trainer(model, prior, data.train_images, data.train_labels, config=cfg)
    probe = FitProbe(data, prior)
    clock, curve = 0.0, []          # curve: (seconds, steps, referee, SW ratio)
    while clock < budget:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < eval_every:
            tr.step()
        clock += time.perf_counter() - t0
        codes, fit = probe.fit(model)
        curve.append((round(clock, 1), tr.step_count, round(fit["referee"], 3), round(fit["prior_fit"], 3)))
    refs = [c[2] for c in curve]
    out = {"prior": prior_name, "seed": seed, "steps": tr.step_count,
           "steps_per_sec": round(tr.step_count / clock, 1), "best_referee": min(refs),
           "final_referee": refs[-1], "final_ratio": curve[-1][3], "knn_acc": round(probe.knn(model, codes), 3),
           "curve": curve}
    for label, target in (("floor", FLOOR), ("goal", GOAL)):
        i = first_reached(refs, target)
        out[f"seconds_to_{label}"] = None if i is None else curve[i][0]
        out[f"steps_to_{label}"] = None if i is None else curve[i][1]
    return out


def held_out_referee(test_codes: np.ndarray, prior: Prior, draws: int = HELD_OUT_DRAWS, seed: int = 0) -> float:
    """The referee of the held-out codes alone (the digits the pages draw, never trained on) against
    as many prior samples, averaged over ``draws`` prior samples and fold splits: the weights are
    chosen on training digits, which are 4,500 of ``shipped``'s 5,000, so this is the check that the
    fit is not only theirs."""
    g = torch.Generator().manual_seed(seed + 99)
    return float(np.mean([M.referee_accuracy(test_codes, prior.sample(len(test_codes), generator=g).numpy(),
                                             k=REFEREE_K, folds=REFEREE_FOLDS, seed=seed + i)
                          for i in range(draws)]))


def measure(model, config, seed: int = 0) -> dict:
    """One model of ``config`` (a ``RunConfig``) measured on all 5,000 mnist-5k digits, as ``shipped``
    measures every checkpoint: referee and SW ratio of all codes against as many prior samples, the
    held-out 5-NN accuracy against the training codes, and the held-out codes' own referee."""
    from aae.priors import prior_from_config

    data = load_dataset(config.data.name, seed=config.data.seed)
    prior = prior_from_config(config.prior, config.model.latent_dim)
    probe = FitProbe(data, prior)
    train_codes = probe.encode(model, probe.x_train)
    test_codes = probe.encode(model, probe.x_test)
    codes = np.concatenate([train_codes, test_codes])                    # (5000, 2)
    g = torch.Generator().manual_seed(seed + 2)
    p, p2 = prior.sample(len(codes), generator=g).numpy(), prior.sample(len(codes), generator=g).numpy()
    return {
        "kind": config.model.kind, "prior": config.prior.name,
        "referee": round(M.referee_accuracy(codes, p, k=REFEREE_K, folds=REFEREE_FOLDS, seed=seed), 3),
        "prior_fit": round(M.prior_fit_ratio(codes, p, p2), 3),
        "knn_acc": round(M.knn_accuracy(train_codes, data.train_labels.numpy(), test_codes,
                                        data.test_labels.numpy(), k=5), 3),
        "fresh_sample_referee": round(M.referee_accuracy(p2, p, k=REFEREE_K, folds=REFEREE_FOLDS, seed=seed), 3),
        "held_out_referee": round(held_out_referee(test_codes, prior, seed=seed), 3),
    }


def shipped(folder: pathlib.Path = SHIPPED, seed: int = 0) -> list[dict]:
    """Every model checkpoint in ``folder``, measured on all 5,000 mnist-5k digits (``measure``)."""
    from aae.checkpoints import list_checkpoints, load_checkpoint

    rows = []
    for info in list_checkpoints(folder):
        if not info.readable or info.kind not in ("ae", "vae", "aae"):
            continue
        ck = load_checkpoint(info.path.with_suffix(""))
        rows.append({"name": info.name, "step": ck.step, **measure(ck.model, ck.config, seed=seed)})
    return rows


def _fmt(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isinf(x)) else f"{x:g}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--priors", nargs="+", default=list(PRIORS), choices=list(PRIORS))
    ap.add_argument("--budget", type=float, default=120.0, help="training seconds per prior")
    ap.add_argument("--eval-every", type=float, default=2.0, help="training seconds between evaluations")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a TrainConfig field, e.g. --set lr_gen=1e-3")
    ap.add_argument("--shipped", nargs="?", const=str(SHIPPED), default=None, metavar="DIR",
                    help="measure the checkpoints in DIR (default: checkpoints/) on all 5,000 digits")
    ap.add_argument("--json", action="store_true", help="print one JSON line per run")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.shipped:
        rows = shipped(pathlib.Path(args.shipped))
        print("shipped checkpoints, all 5,000 mnist-5k digits against 5,000 prior samples "
              f"(referee: {REFEREE_K}-NN, {REFEREE_FOLDS} folds; 5-NN: 500 held-out codes vs 4,500 training codes)")
        print(f"held-out referee: the 500 held-out codes alone against 500 prior samples, mean of {HELD_OUT_DRAWS} "
              "draws")
        print(f"{'checkpoint':<16}{'steps':>7}{'referee':>9}{'SW ratio':>10}{'5-NN':>7}{'held-out referee':>18}")
        for r in rows:
            if args.json:
                print(json.dumps(r))
            print(f"{r['name']:<16}{r['step']:>7}{r['referee']:>9.3f}{r['prior_fit']:>10.2f}{r['knn_acc']:>7.3f}"
                  f"{r['held_out_referee']:>18.3f}")
        if rows:
            print(f"(a fresh prior sample against another scores {rows[0]['fresh_sample_referee']:.3f})")
        return
    overrides = {k: float(v) if "." in v or "e" in v else int(v) for k, v in (s.split("=", 1) for s in args.set)}
    print(f"time to fit (referee ≤ {FLOOR} floor, ≤ {GOAL} goal; mean of {SMOOTH} evaluations), small preset, "
          f"mnist-5k, {torch.get_num_threads()} threads, budget {args.budget:.0f} s, overrides {overrides or 'none'}")
    head = (f"{'prior':<12}{'seed':>5}{'s≤.60':>8}{'s≤.55':>8}{'steps≤.60':>10}{'best':>7}{'final':>7}"
            f"{'SW':>6}{'5-NN':>6}{'steps/s':>8}")
    print(head)
    results = []
    for name in args.priors:
        for seed in args.seeds:
            r = run(name, args.budget, args.eval_every, overrides, seed=seed)
            results.append(r)
            if args.json:
                print(json.dumps(r))
            print(f"{name:<12}{seed:>5}{_fmt(r['seconds_to_floor']):>8}{_fmt(r['seconds_to_goal']):>8}"
                  f"{_fmt(r['steps_to_floor']):>10}{r['best_referee']:>7.3f}{r['final_referee']:>7.3f}"
                  f"{r['final_ratio']:>6.2f}{r['knn_acc']:>6.2f}{r['steps_per_sec']:>8.1f}", flush=True)
    if len(args.seeds) > 1:
        print(f"\nmedians over {len(args.seeds)} seeds (a run that never reaches a target counts as > budget)")
        print(f"{'prior':<12}{'s≤.60':>8}{'reached':>8}{'s≤.55':>8}{'reached':>8}{'best':>7}{'final':>7}"
              f"{'SW':>6}{'5-NN':>6}")
        for name in args.priors:
            rs = [r for r in results if r["prior"] == name]
            cells = []
            for label in ("floor", "goal"):
                t = [r[f"seconds_to_{label}"] if r[f"seconds_to_{label}"] is not None else math.inf for r in rs]
                cells.append(f"{_fmt(statistics.median(t)):>8}{sum(math.isfinite(x) for x in t):>5}/{len(rs):<2}")
            print(f"{name:<12}{''.join(cells)}{statistics.median(r['best_referee'] for r in rs):>7.3f}"
                  f"{statistics.median(r['final_referee'] for r in rs):>7.3f}"
                  f"{statistics.median(r['final_ratio'] for r in rs):>6.2f}"
                  f"{statistics.median(r['knn_acc'] for r in rs):>6.2f}")


if __name__ == "__main__":
    main()
