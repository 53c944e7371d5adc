"""Label fit: how fast labels send each digit to its own part of p(z), and what the label buys the
supervised AAE's decoder (issue 11; paper §2.3 Fig. 3-4 and §4 Fig. 6-7). Small preset, mnist-5k.

Label-conditioned AAE (``--priors``): every ``--eval-every`` steps the 500 held-out digits are
encoded and scored twice: the referee (``aae.metrics.referee_accuracy``, 15-NN, 5 folds) of their
codes against 500 samples of the whole prior (0.5 = it cannot tell), and the own-component rate
(``aae.kinds.labelled.own_component_rate``: the share whose nearest mixture mean, on the swiss
roll the label of the nearest prior sample, is their digit's). A run has fitted at the first
evaluation whose mean with the two before it has referee ≤ 0.60 and own-component ≥ 85 %.

The machine's cores are shared while this runs, so the run is counted in steps; seconds are
steps divided by a steps/s measured in a short run (``--rate``, the same model, one torch thread)
or given with ``--steps-per-sec``. Budget: ``--budget-steps`` (4,800 ≈ 120 s at 40 steps/s).
``--set`` overrides a TrainConfig field, ``--shift`` / ``--rotate`` / ``--scale`` the recipe's random
translations, rotations and scalings of the encoder's inputs, ``--decay`` lets every learning rate
fall linearly to that share over the budget.

``--shipped CKPT …``: a saved label-conditioned model's own-component rate (held-out and training
digits) and its referee on all 5,000 digits and on the 500 held-out ones.

Supervised AAE (``--style-grid CKPT``): 100 styles drawn from p(z), each decoded as digits 0-9;
the share of the 1,000 cells the project's digit classifier (checkpoints/digit-classifier) reads as
the intended digit. With ``--ae CKPT`` the same for a plain AE's decoder, which can only be asked
for a digit through its codes: 100 codes per digit drawn from a Gaussian fitted to that digit's
training codes.

    python -m benchmarks.label_fit --rate                                  # steps/s, a few seconds
    python -m benchmarks.label_fit --seeds 0 1 2 --steps-per-sec 40        # the targets
    python -m benchmarks.label_fit --seeds 0 1 2 --label-fraction 0.1 --priors mog10 swiss_roll
    python -m benchmarks.label_fit --shipped checkpoints/labelled-aae-mog10 checkpoints/labelled-aae-swiss_roll
    python -m benchmarks.label_fit --style-grid checkpoints/supervised-aae --ae checkpoints/ae --grid-seeds 0 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import numpy as np
import torch

from aae import metrics as M
from aae.config import ModelConfig, TrainConfig
from aae.data import load_dataset, to_float
from aae.kinds.labelled import own_component_rate
from aae.priors import make_prior
from aae.train import Trainer, seeded_model

REFEREE_TARGET, OWN_TARGET = 0.60, 0.85
SMOOTH = 3                  # evaluations averaged before comparing with a target (one varies by ±0.02)
REFEREE_K, REFEREE_FOLDS = 15, 5
N_STYLES = 100


def _codes(model, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        codes = model.encode(x).numpy()
    model.train()
    return codes


def run(prior_name: str, seed: int, budget_steps: int, eval_every: int, label_fraction: float,
        overrides: dict | None = None, shift: int | None = None, decay: float | None = None,
        rotate: float | None = None, scale: float | None = None, fourier: int = 0,
        decay_steps: int | None = None) -> dict:
    data = load_dataset("mnist-5k")
    prior = make_prior(prior_name, dim=2)
    model = seeded_model(ModelConfig(kind="labelled_aae", preset="small", latent_dim=2,
                                     disc_fourier=fourier), seed)
    tr = Trainer(model, prior, data.train_images, data.train_labels,
                 config=TrainConfig(device="cpu", seed=seed, label_fraction=label_fraction, **(overrides or {})))
    if shift is not None:  # the kind's own recipe field (no TrainConfig one): the encoder's random translations
        tr.recipe = dataclasses.replace(tr.recipe, augment_shift=shift)
    if rotate is not None:  # its random rotations (largest angle, degrees) and scalings (largest resize)
        tr.recipe = dataclasses.replace(tr.recipe, augment_rotate=float(rotate))
    if scale is not None:
        tr.recipe = dataclasses.replace(tr.recipe, augment_scale=float(scale))
    # lr(t) = lr0 · (1 − (1 − decay) · t / budget) for every optimiser (``python -m aae pretrain``'s lr_decay)
    # (``--decay-steps``: over that many steps, then constant, so the rate no longer depends on the budget)
    schedules = [] if decay is None else [torch.optim.lr_scheduler.LinearLR(opt, 1.0, decay,
                                                                            total_iters=decay_steps or budget_steps)
                                          for opt in tr.optimizers.values()]
    x_test, y_test = to_float(data.test_images), data.test_labels.numpy()
    p = prior.sample(len(x_test), generator=torch.Generator().manual_seed(1234)).numpy()
    curve = []                                        # (steps, referee, own-component rate)
    while tr.step_count < budget_steps:
        for _ in range(eval_every):
            tr.step()
            for schedule in schedules:
                schedule.step()
        codes = _codes(model, x_test)
        referee = (M.referee_accuracy(codes, p, k=REFEREE_K, folds=REFEREE_FOLDS)
                   if np.isfinite(codes).all() else 1.0)
        curve.append((tr.step_count, round(referee, 3), round(own_component_rate(codes, y_test, prior), 3)))
    model.eval()
    with torch.no_grad():   # how well the held-out digits come back: what a slower reconstruction phase costs
        recon = M.reconstruction_nats(x_test, model.reconstruct(x_test))
    model.train()
    reached = None
    for i in range(SMOOTH - 1, len(curve)):
        window = curve[i - SMOOTH + 1:i + 1]
        if (statistics.mean(c[1] for c in window) <= REFEREE_TARGET
                and statistics.mean(c[2] for c in window) >= OWN_TARGET):
            reached = curve[i][0]
            break
    return {"prior": prior_name, "seed": seed, "label_fraction": label_fraction, "shift": tr.recipe.augment_shift,
            "rotate": tr.recipe.augment_rotate, "scale": tr.recipe.augment_scale,
            "input_dropout": tr.recipe.input_dropout, "decay": decay, "decay_steps": decay_steps, "fourier": fourier, "steps_to_target": reached,
            "final_referee": curve[-1][1], "final_own": curve[-1][2], "recon_nats": round(recon, 1), "curve": curve}


def rate(seconds: float = 5.0, overrides: dict | None = None, fourier: int = 0) -> float:
    """Steps/s of the label-conditioned AAE (small preset, batch 100, mnist-5k) after a warm-up, with
    the run's TrainConfig ``overrides`` (``--set``: ``disc_steps`` 2 costs a D update more a step)."""
    data = load_dataset("mnist-5k")
    model = seeded_model(ModelConfig(kind="labelled_aae", disc_fourier=fourier), 0)
    tr = Trainer(model, make_prior("mog10"), data.train_images, data.train_labels,
                 config=TrainConfig(device="cpu", **(overrides or {})))
    for _ in range(20):
        tr.step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        tr.step()
        n += 1
    return n / (time.perf_counter() - t0)


def shipped_fit(path: str, seed: int = 0) -> dict:
    """A shipped label-conditioned checkpoint on mnist-5k: the own-component rate of the 500
    held-out and of the 4,500 training codes, the referee of all 5,000 codes against 5,000 prior
    samples and the held-out referee (500 against 500, mean of 10 prior draws), as
    ``benchmarks.time_to_fit --shipped`` measures the other kinds."""
    from aae.checkpoints import load_checkpoint
    from aae.priors import prior_from_config
    from benchmarks.time_to_fit import held_out_referee
    ck = load_checkpoint(path)
    data = load_dataset(ck.config.data.name, seed=ck.config.data.seed)
    prior = prior_from_config(ck.config.prior, ck.config.model.latent_dim)
    train_codes, test_codes = _codes(ck.model, to_float(data.train_images)), _codes(ck.model, to_float(data.test_images))
    codes = np.concatenate([train_codes, test_codes])                          # (5000, Z)
    p = prior.sample(len(codes), generator=torch.Generator().manual_seed(seed + 2)).numpy()
    return {"checkpoint": path, "step": ck.step,
            "own_held_out": round(own_component_rate(test_codes, data.test_labels.numpy(), prior), 3),
            "own_train": round(own_component_rate(train_codes, data.train_labels.numpy(), prior), 3),
            "referee_all": round(M.referee_accuracy(codes, p, k=REFEREE_K, folds=REFEREE_FOLDS, seed=seed), 3),
            "referee_held_out": round(held_out_referee(test_codes, prior, seed=seed), 3)}


def style_grid_score(path: str, seed: int = 0) -> float:
    """Share of a 100-style × 10-digit grid (styles ~ p(z)) read as the intended digit."""
    from aae.checkpoints import load_checkpoint
    from aae.classifier import load_classifier
    from aae.priors import prior_from_config
    ck = load_checkpoint(path)
    clf, _ = load_classifier()
    prior = prior_from_config(ck.config.prior, ck.config.model.latent_dim)
    styles = prior.sample(N_STYLES, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        grid = ck.model.style_grid(styles)                                     # (100, 10, 28, 28)
    pred = clf.predict_proba(grid.reshape(-1, 28, 28).numpy()).argmax(1)
    return float((pred == np.tile(np.arange(10), N_STYLES)).mean())


def ae_digit_score(path: str, seed: int = 0) -> float:
    """A plain AE asked for digit k through codes ~ N(mean, cov of digit k's training codes)."""
    from aae.checkpoints import load_checkpoint
    from aae.classifier import load_classifier
    ck = load_checkpoint(path)
    clf, _ = load_classifier()
    data = load_dataset(ck.config.data.name, seed=ck.config.data.seed)
    codes = _codes(ck.model, to_float(data.train_images))
    labels = data.train_labels.numpy()
    rng = np.random.default_rng(seed)
    z = np.concatenate([rng.multivariate_normal(codes[labels == k].mean(0), np.cov(codes[labels == k].T), N_STYLES)
                        for k in range(10)]).astype(np.float32)                # (1000, Z)
    with torch.no_grad():
        images = ck.model.decode(torch.from_numpy(z)).numpy()
    pred = clf.predict_proba(images).argmax(1)
    return float((pred == np.repeat(np.arange(10), N_STYLES)).mean())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--priors", nargs="+", default=["mog10", "swiss_roll"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--budget-steps", type=int, default=4800, help="steps per run (4,800 ≈ 120 s at 40 steps/s)")
    ap.add_argument("--eval-every", type=int, default=100, help="steps between evaluations")
    ap.add_argument("--label-fraction", type=float, default=1.0)
    ap.add_argument("--steps-per-sec", type=float, default=None, help="convert steps to seconds with this rate")
    ap.add_argument("--rate", action="store_true", help="only measure steps/s (one torch thread, ~5 s)")
    ap.add_argument("--shipped", nargs="+", default=None, metavar="CKPT",
                    help="measure label-conditioned checkpoints (own component, referee on all 5,000 and held out)")
    ap.add_argument("--style-grid", default=None, metavar="CKPT", help="score a supervised AAE's style grid")
    ap.add_argument("--ae", default=None, metavar="CKPT", help="with --style-grid: score a plain AE the same way")
    ap.add_argument("--grid-seeds", type=int, nargs="+", default=[0],
                    help="with --style-grid: draw the 100 styles (codes) with each of these seeds")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a TrainConfig field, e.g. --set lr_gen=2e-4")
    ap.add_argument("--shift", type=int, default=None,
                    help="random translations of the encoder's inputs, ±pixels (default: the kind's recipe)")
    ap.add_argument("--rotate", type=float, default=None,
                    help="random rotations of the encoder's inputs, ±degrees (default: the kind's recipe)")
    ap.add_argument("--scale", type=float, default=None,
                    help="random scalings of the encoder's inputs, ±share of the size (default: the kind's recipe)")
    ap.add_argument("--decay", type=float, default=None,
                    help="every learning rate falls linearly to this share of it over the budget (default: none)")
    ap.add_argument("--fourier", type=int, default=0,
                    help="random Fourier features of (z, label) fed to the discriminator (ModelConfig.disc_fourier)")
    ap.add_argument("--decay-steps", type=int, default=None,
                    help="with --decay: reach that share after this many steps and stay there (default: the budget)")
    ap.add_argument("--json", action="store_true", help="print one JSON line per run")
    args = ap.parse_args(argv)
    overrides = {k: float(v) if "." in v or "e" in v else int(v) for k, v in (s.split("=", 1) for s in args.set)}
    torch.set_num_threads(1)
    if args.rate:
        print(f"label-conditioned AAE, small preset, batch 100, 1 torch thread: {rate(overrides=overrides, fourier=args.fourier):.1f} steps/s"
              f"{f' ({overrides})' if overrides else ''}")
        return
    if args.shipped:
        for path in args.shipped:
            r = shipped_fit(path)
            print(json.dumps(r) if args.json else
                  f"{path} (step {r['step']}): own component held-out {r['own_held_out']:.3f} (training "
                  f"{r['own_train']:.3f}); referee all 5,000 {r['referee_all']:.3f}, 500 held-out "
                  f"{r['referee_held_out']:.3f}")
        return
    if args.style_grid:
        for seed in args.grid_seeds:
            print(f"supervised AAE {args.style_grid}, styles seed {seed}: {style_grid_score(args.style_grid, seed):.1%} "
                  f"of {N_STYLES} styles × 10 digits read as the intended digit")
            if args.ae:
                print(f"plain AE {args.ae}, codes seed {seed}: {ae_digit_score(args.ae, seed):.1%} of {N_STYLES} "
                      "codes × 10 digits (codes from a Gaussian per digit) read as the intended digit")
        return
    sps = args.steps_per_sec

    def secs(steps):
        return "-" if steps is None else f"{steps}" + (f" ({steps / sps:.0f} s)" if sps else "")

    print(f"label-conditioned AAE, small preset, mnist-5k, labels {args.label_fraction:.0%}, 1 thread; fitted = "
          f"referee ≤ {REFEREE_TARGET} and own component ≥ {OWN_TARGET:.0%} (mean of {SMOOTH} evaluations); "
          f"overrides {overrides or 'none'}, shift {'recipe' if args.shift is None else args.shift}, "
          f"rotate {'recipe' if args.rotate is None else args.rotate}, "
          f"scale {'recipe' if args.scale is None else args.scale}, "
          f"decay {args.decay or 'none'}, Fourier features {args.fourier or 'none'}")
    results = []
    for name in args.priors:
        for seed in args.seeds:
            r = run(name, seed, args.budget_steps, args.eval_every, args.label_fraction, overrides, args.shift,
                    args.decay, args.rotate, args.scale, args.fourier, args.decay_steps)
            results.append(r)
            if args.json:
                print(json.dumps(r))
            print(f"{name:<11} seed {seed}: steps to fit {secs(r['steps_to_target'])}; at {args.budget_steps} "
                  f"steps referee {r['final_referee']:.3f}, own component {r['final_own']:.1%}, held-out "
                  f"reconstruction {r['recon_nats']:.1f} nats", flush=True)
    print(f"\nmedians over {len(args.seeds)} seeds (a run that never fits counts as > budget)")
    for name in args.priors:
        rs = [r for r in results if r["prior"] == name]
        steps = [r["steps_to_target"] if r["steps_to_target"] is not None else float("inf") for r in rs]
        med = statistics.median(steps)
        print(f"{name:<11} steps to fit {secs(None if med == float('inf') else int(med))} "
              f"({sum(s != float('inf') for s in steps)}/{len(rs)} fitted); final referee "
              f"{statistics.median(r['final_referee'] for r in rs):.3f}, own component "
              f"{statistics.median(r['final_own'] for r in rs):.1%}")


if __name__ == "__main__":
    main()
