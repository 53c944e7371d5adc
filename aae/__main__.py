"""Command line: ``python -m aae {train,eval,likelihood,pretrain,download,bench} ...``.

    python -m aae train --model aae --prior mog10 --steps 3000 --out runs/aae-mog10
    python -m aae train --resume runs/aae-mog10 --steps 6000   # continue a run (after a crash too)
    python -m aae eval checkpoints/aae-mog10
    python -m aae likelihood runs/aae-8d         # Parzen log-likelihood of the test set (paper Table 1)
    python -m aae pretrain --shipped            # regenerates the shipped checkpoints/
    python -m aae convert runs/aae-mog10 --dtype int8   # store a checkpoint's weights more compactly
    python -m aae download mnist                # full MNIST (needs the network)
    python -m aae bench --steps 200             # steps/s of each model on this machine

Every path and number is checked before any work: bad input exits with status 2 and a one-line
reason. ``train`` autosaves its checkpoint every 30 s (``--autosave-every``), so a crash loses at most
that much; a run that blows up (the job's rule, ``aae.jobs.guard``) stops with status 3, its last good
weights saved.
Checkpoints go where ``--out`` says (default: the save folder, ``$AAE_SAVE_DIR`` or
``~/.cache/aae-lab/checkpoints``); an existing one is only replaced with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

from .config import ConfigError, DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from .kinds import get_kind, kind_names
from .priors import PRIORS

EXIT_USAGE = 2
EXIT_DIVERGED = 3
MAX_STEPS = 10**9                 # more than a year of training at 40 steps/s
AUTOSAVE_EVERY_S = 30.0           # a crash loses at most this much training (+ one save)
GOOD_WEIGHTS_EVERY = 25           # steps between in-memory copies of healthy weights (restored on a blow-up)

# The shipped checkpoints: 2-D small models on mnist-5k (see checkpoints/README.md).
# name -> (kind, prior[, {"model": {...}, "train": {...}, "steps": N, "lr_decay": share,
#                         "recipe": {...}} overrides]); "recipe" replaces settings of the kind's recipe
#                         that have no TrainConfig field (augment_shift, augment_rotate, augment_scale)
PRETRAINED: dict[str, tuple] = {
    **{f"aae-{name}": ("aae", name) for name in PRIORS},
    # issue 9's sweep (README, "The referee on the shipped models"): learning rates decaying to 10 %
    # settle the thin and multi-modal priors' oscillating game; denoising inputs keep the Gaussian's
    # digits apart (5-NN) at the same referee
    **{f"aae-{name}": ("aae", name, {"lr_decay": 0.1}) for name in ("mog10", "swiss_roll", "uniform")},
    # the pinwheel's thin arms: a discriminator with 64 random Fourier features of z (a plain MLP D
    # cannot see the arms), R1 0.1 instead of 1, and 12,000 steps of decay; seed 1 (README: seed 0 0.583)
    "aae-pinwheel": ("aae", "pinwheel", {"model": {"disc_fourier": 64}, "train": {"d_penalty": 0.1, "seed": 1},
                                         "steps": 12000, "lr_decay": 0.1}),
    # decoupled decay on the encoder alone (0.05 × lr 1e-3 a step), the encoder reading each digit turned by
    # up to 15° (the decoder rebuilds it upright) and learning rates decaying to 30 % keep held-out digits
    # beside their class: 5-NN median 0.699 over seeds 0-5 at referee 0.57-0.59, against 0.668 without
    # the turns and the decay (README, the Gaussian's 5-NN, benchmarks/pretrain_seeds.py); three restarts,
    # the one whose kept weights have the best training-digit 5-NN saved
    "aae-gaussian": ("aae", "gaussian", {"train": {"input_dropout": 0.2, "encoder_weight_decay": 0.05},
                                         "lr_decay": 0.3, "recipe": {"augment_rotate": 15.0}, "restarts": 3}),
    "ae": ("ae", "gaussian"),
    "vae-gaussian": ("vae", "gaussian"),
    # label-conditioned (paper §2.3: each digit to its own component) and supervised (§4: style and content)
    # the kind's live recipe (its slower reconstruction phase fits both priors within 3,000 steps),
    # with learning rates decaying to 10 % over the run to settle the game (README, "Labels in the game")
    **{f"labelled-aae-{name}": ("labelled_aae", name, {"lr_decay": 0.1}) for name in ("mog10", "swiss_roll")},
    # 10,000 steps: its style grid (benchmarks/label_fit.py --style-grid) climbs to 98-99 % by then
    "supervised-aae": ("supervised_aae", "gaussian", {"steps": 10000}),
    # the categorical AAE (§5-§6): 100 labelled digits (10 per class) with its NN baseline; 30 clusters.
    # "steps": their own budget, the benchmark's (benchmarks/categorical.py; README)
    "semi-supervised-100": ("semi_supervised", "gaussian",
                            {"model": {"n_classes": 10}, "train": {"label_fraction": 100 / 4500}, "steps": 2000}),
    "clustering-30": ("clustering", "gaussian", {"model": {"n_classes": 30}, "steps": 3000}),
}
CLASSIFIER_NAME = "digit-classifier"  # scores decoded samples on the Compare page (aae.classifier)
PRETRAIN_STEPS = 6000  # ≈ 130 epochs of mnist-5k: every prior's fit ratio has settled by then
# How pretrain stores the weights (aae.checkpoints.STORAGE_DTYPES): int8 matrices keep every shipped
# model's referee, reconstruction and 5-NN within noise at about half of float16's size
# (benchmarks/checkpoint_storage.py), so checkpoints/ stays under 20 MB with the label models.
PRETRAIN_DTYPE = "int8"
# The plain AAE's keep rule (``_Keeper``, rule "knn"): among the weights from this share of the run on
# whose referee on every training digit is at most the ceiling, the best 5-NN of the last
# KEEP_KNN_QUERY training digits' codes against the others'.
KEEP_FROM = 0.25
KEEP_REFEREE_CEILING = 0.59       # issue 9's floor (0.60) less the 4,500- vs 5,000-point referee's noise
KEEP_KNN_QUERY = 900


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


class Diverged(Exception):
    """Training blew up (``aae.jobs.guard``): printed as one line, exit status 3."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m aae", description="AAE Lab command line")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train one model and save a checkpoint")
    t.add_argument("--model", default="aae", choices=list(kind_names()), type=lambda s: s.replace("-", "_"),
                   help="model kind (semi-supervised = semi_supervised)")
    t.add_argument("--n-classes", type=int, default=ModelConfig.n_classes,
                   help="categorical kinds: classes or clusters of q(y|x)")
    t.add_argument("--disc-fourier", type=int, default=ModelConfig.disc_fourier, metavar="F",
                   help="adversarial kinds: F random Fourier features of z beside z at the code "
                        "discriminator's input, so that it can draw thin shapes (the pinwheel's arms; 0: none)")
    t.add_argument("--labels", type=int, default=None, metavar="N",
                   help="semi-supervised kinds: N labelled training digits, the same number per class "
                        "(default: every label)")
    t.add_argument("--eta", type=float, default=TrainConfig.eta,
                   help="reduction kinds: cluster heads closer than this are pushed apart")
    t.add_argument("--prior", default="gaussian", choices=list(PRIORS))
    t.add_argument("--prior-scale", type=float, default=1.0)
    t.add_argument("--dataset", default="mnist-5k")
    t.add_argument("--preset", default="small", choices=["small", "paper"])
    t.add_argument("--encoder", default="deterministic", choices=["deterministic", "gaussian", "universal"])
    t.add_argument("--latent-dim", "--style-dim", dest="latent_dim", type=int, default=2,
                   help="size of the code z (the supervised AAE's style: 2 to drag it on the pad, 15 in the paper)")
    t.add_argument("--label-fraction", type=float, default=None, metavar="F",
                   help="share of each class's training digits whose label the label-using kinds read, in [0, 1] "
                        "(default: every label; the paper's label-conditioned run: 0.2)")
    t.add_argument("--steps", type=int, default=3000, help="total steps of the run (with --resume: including "
                                                           "those already done)")
    t.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    t.add_argument("--lr-recon", type=float, default=None,
                   help="reconstruction phase (default: the kind's recipe; 1e-3 but for labelled_aae)")
    t.add_argument("--lr-disc", type=float, default=None, help="default: per prior (aae.train.PRIOR_RECIPES)")
    t.add_argument("--lr-gen", type=float, default=None, help="default: per prior (aae.train.PRIOR_RECIPES)")
    t.add_argument("--d-noise", type=float, default=None,
                   help="std of Gaussian noise on everything D sees (default: per prior or kind, "
                        "aae.train.PRIOR_RECIPES / the kind's recipe)")
    t.add_argument("--disc-steps", type=int, default=TrainConfig.disc_steps, help="D updates per batch")
    t.add_argument("--d-penalty", type=float, default=None,
                   help="R1 gradient penalty weight on D (0: none; default: per prior, aae.train.PRIOR_RECIPES)")
    t.add_argument("--beta1", type=float, default=None,
                   help="Adam beta1 of the adversarial phases, in (0, 1) (default: per prior, aae.train.PRIOR_RECIPES)")
    t.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay,
                   help="decoupled weight decay of the reconstruction phase")
    t.add_argument("--encoder-weight-decay", type=float, default=TrainConfig.encoder_weight_decay,
                   help="more decoupled weight decay on the encoder alone in the reconstruction phase")
    t.add_argument("--input-dropout", type=float, default=None,
                   help="share of input pixels zeroed in the reconstruction phase (denoising; default: the "
                        "kind's recipe, 0.2 for the categorical kinds, else 0)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto")
    t.add_argument("--data-dir", default=None, help="data folder (default: $AAE_DATA_DIR or ~/.cache/aae-lab)")
    t.add_argument("--out", default=None, help="checkpoint path without extension (default: the save folder "
                                               "$AAE_SAVE_DIR or ~/.cache/aae-lab/checkpoints, MODEL-PRIOR; "
                                               "with --resume: the resumed checkpoint)")
    t.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint at --out")
    t.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="continue this checkpoint's run (its weights, step and settings; Adam restarts) "
                        "up to --steps")
    t.add_argument("--autosave-every", type=float, default=AUTOSAVE_EVERY_S, metavar="SECONDS",
                   help=f"save the checkpoint every SECONDS while training (default {AUTOSAVE_EVERY_S:g}; 0: only "
                        f"at the end)")
    t.add_argument("--half", action="store_true", help="store float16 weights")
    t.add_argument("--no-progress", action="store_true")

    e = sub.add_parser("eval", help="print the metrics of a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--dataset", default=None, help="evaluate on another dataset than the one trained on")
    e.add_argument("--data-dir", default=None, help="data folder (default: $AAE_DATA_DIR or ~/.cache/aae-lab; "
                                                    "never a folder named in the checkpoint)")

    from . import likelihood
    likelihood.add_arguments(sub.add_parser(
        "likelihood", help="Parzen-window log-likelihood of the test set under decoder samples (paper Table 1)"))

    pt = sub.add_parser("pretrain", help="regenerate the shipped checkpoints (with --shipped) or train the same "
                                         "models into a folder of your own")
    where = pt.add_mutually_exclusive_group()
    where.add_argument("--out", default=None, help="folder to write them to (default: the save folder's "
                                                   "pretrained/)")
    where.add_argument("--shipped", action="store_true",
                       help="replace the shipped checkpoints in the repository's checkpoints/ folder")
    pt.add_argument("--overwrite", action="store_true", help="replace existing checkpoints in --out")
    pt.add_argument("--steps", type=int, default=None,
                    help=f"training steps of each model (default: its own budget, else {PRETRAIN_STEPS:,})")
    pt.add_argument("--only", nargs="+", choices=[*PRETRAINED, CLASSIFIER_NAME], default=None)
    pt.add_argument("--device", default="auto")
    pt.add_argument("--no-progress", action="store_true")

    from .checkpoints import STORAGE_DTYPES
    cv = sub.add_parser("convert", help="store checkpoints' weights in another dtype, in place (their metrics "
                                        "measured again on the converted weights)")
    cv.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT")
    cv.add_argument("--dtype", default=PRETRAIN_DTYPE, choices=STORAGE_DTYPES,
                    help=f"float32, float16 (half the size) or int8 (per-row int8 matrices, about a quarter; "
                         f"default {PRETRAIN_DTYPE})")
    cv.add_argument("--shipped", action="store_true",
                    help="allow converting the shipped checkpoints in the repository's checkpoints/ folder")
    cv.add_argument("--data-dir", default=None, help="data folder for the metrics (default: $AAE_DATA_DIR or "
                                                     "~/.cache/aae-lab)")

    d = sub.add_parser("download", help="download a dataset (needs the network)")
    d.add_argument("dataset", choices=["mnist", "fashion-mnist"])
    d.add_argument("--data-dir", default=None)

    b = sub.add_parser("bench", help="training steps/s of each model kind and preset on this machine")
    b.add_argument("--steps", type=int, default=200)
    b.add_argument("--device", default="auto")
    return p


def _check_steps(steps: int, flag: str = "--steps") -> None:
    if not 1 <= steps <= MAX_STEPS:
        raise UsageError(f"{flag} must be an integer in [1, {MAX_STEPS:,}], got {steps}")


def _check_dir_arg(value: str | None, flag: str) -> None:
    if value is not None and (value.strip() == "" or "\x00" in value):
        raise UsageError(f"{flag} must be a folder path (not empty, no NUL)")


def _progress(total: int, desc: str, disable: bool):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True, disable=disable, file=sys.stderr)


def _train_fit(model, prior, data, n: int | None = 1000, knn: bool = False) -> tuple[float, float | None]:
    """The referee on training images (for choosing weights, so held-out digits stay unseen): the
    k-NN two-sample accuracy of ``n`` codes (None: every training digit) against ``n`` fixed prior
    samples (0.5 = cannot tell); with ``knn``, also the 5-NN accuracy of the last ``KEEP_KNN_QUERY``
    (at most a fifth) training digits' codes against the others' (labels only choose weights here)."""
    import numpy as np
    import torch

    from . import metrics as M
    from .data import to_float
    n = len(data.train_images) if n is None else min(n, len(data.train_images))
    x = to_float(data.train_images[:n]).to(next(model.parameters()).device)
    model.eval()
    with torch.no_grad():
        codes = model.encode(x).cpu().numpy()
    model.train()
    g = torch.Generator().manual_seed(7)
    if not np.isfinite(codes).all():
        return 1.0, 0.0 if knn else None
    fit = M.referee_accuracy(codes, prior.sample(n, generator=g).numpy(), k=15, folds=5)
    if not knn:
        return fit, None
    q, labels = n - min(KEEP_KNN_QUERY, n // 5), data.train_labels[:n].numpy()
    return fit, M.knn_accuracy(codes[:q], labels[:q], codes[q:], labels[q:], k=5)


class _Keeper:
    """Which weights ``train_run(keep_best=...)`` keeps, fed one evaluation at a time.

    "referee": the lowest referee. "knn" (the plain AAE's shipped maps): the best 5-NN among the
    weights whose referee is ≤ ``ceiling``, else the lowest referee. The weights the referee likes
    best are often the most mixed (README, "The referee on the shipped models"), so a map that is
    both fitted and readable needs both numbers.
    """

    def __init__(self, rule: str, ceiling: float | None = None) -> None:
        self.rule, self.ceiling = rule, KEEP_REFEREE_CEILING if ceiling is None else ceiling
        self.best_fit, self.best_fit_state, self.best_fit_step = math.inf, None, None
        self.best_knn, self.best_knn_state, self.best_knn_step = -math.inf, None, None

    def offer(self, model, fit: float, knn: float | None, step: int | None = None) -> None:
        if fit < self.best_fit:
            self.best_fit, self.best_fit_state, self.best_fit_step = fit, _copy_state(model), step
        if self.rule == "knn" and knn is not None and fit <= self.ceiling and knn > self.best_knn:
            self.best_knn, self.best_knn_state, self.best_knn_step = knn, _copy_state(model), step

    @property
    def state(self) -> dict | None:
        return self.best_knn_state if self.best_knn_state is not None else self.best_fit_state

    def report(self) -> dict:
        """What was kept, in training-digit numbers only: ``met`` (a 5-NN pick under the ceiling),
        ``knn`` (its training 5-NN, else None), ``referee`` (the lowest referee seen) and ``step``."""
        met = self.best_knn_state is not None
        return {"met": met, "knn": self.best_knn if met else None, "referee": self.best_fit,
                "step": self.best_knn_step if met else self.best_fit_step}


def better_restart(a: dict, b: dict) -> bool:
    """Whether keep report ``a`` beats ``b`` (``_Keeper.report``; restarts of one pretrain entry): a
    5-NN pick under the referee ceiling beats none; between two, the higher training 5-NN; between
    two without, the lower referee. Held-out digits never enter."""
    if a["met"] != b["met"]:
        return a["met"]
    return a["knn"] > b["knn"] if a["met"] else a["referee"] < b["referee"]


def _copy_state(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class _Autosave:
    """Saves the run's checkpoint every ``every`` seconds of training (0: never) at ``out``."""

    clock = staticmethod(time.monotonic)

    def __init__(self, out: Path | None, config: RunConfig, every: float, *, half: bool, target: int) -> None:
        self.out, self.config, self.every, self.half, self.target = out, config, every, half, target
        self.last = self.clock()
        self.saved_step: int | None = None

    def maybe(self, model, step: int, losses: dict[str, float]) -> None:
        if self.out is None or self.every <= 0 or self.clock() - self.last < self.every:
            return
        self.save(model, step, losses)

    def save(self, model, step: int, metrics: dict[str, float], **extra) -> Path | None:
        if self.out is None:
            return None
        from .checkpoints import save_checkpoint
        path = save_checkpoint(self.out, model, self.config, step=step, metrics=metrics, half=self.half,
                               extra={"target_steps": self.target, **extra}, overwrite=True)  # the run's own file
        self.last = self.clock()
        self.saved_step = step
        return path


def train_run(config: RunConfig, steps: int, *, desc: str = "train", quiet: bool = False,
              keep_best: bool | str = False, lr_decay: float | None = None, start=None,
              autosave: _Autosave | None = None, recipe: dict | None = None, keep_report: dict | None = None):
    """Train up to step ``steps`` with a progress bar; returns (model, prior, dataset, metrics).

    ``start``: a ``LoadedCheckpoint`` to continue (its weights and step; Adam's moments are not
    saved, so they restart). ``autosave`` saves on a timer. A blow-up (``aae.jobs.guard``) restores the
    last healthy weights, saves them through ``autosave`` and raises ``Diverged``.
    ``keep_best`` (kinds with a discriminator): adversarial training oscillates, so keep the weights whose codes of
    training digits the referee tells least from p(z) over the second half of the run, checked
    every ``every`` steps; ``keep_best="knn"``: ``_Keeper``'s rule on every training digit, from
    step ``KEEP_FROM`` × steps on. ``lr_decay``: every learning rate falls linearly from its value to
    this share of it over the run (``benchmarks/sweep_defaults.py``'s ``decay``). ``recipe``: settings
    of the kind's recipe with no TrainConfig field (``aae.kinds.base.AdversarialRecipe``: the random
    translations, rotations and scalings of the encoder's inputs) that replace the kind's.
    ``keep_report``: a dict that receives ``_Keeper.report()`` of the kept weights.
    """
    from collections import deque

    from . import metrics as M
    from .data import load_dataset
    from .jobs.guard import Guard
    from .priors import prior_from_config
    from .train import Trainer, seeded_model

    data = load_dataset(config.data.name, root=config.data.root, seed=config.data.seed)
    prior = prior_from_config(config.prior, config.model.latent_dim)
    model = start.model if start is not None else seeded_model(config.model, config.train.seed)
    first = start.step if start is not None else 0
    trainer = Trainer(model, prior, data.train_images, data.train_labels, config=config.train)
    if recipe:
        import dataclasses

        trainer.recipe = dataclasses.replace(trainer.recipe, **recipe)
    if first:
        trainer.step_count = first
        # a fresh stream of batches for the continued run (the same seed would replay the first ones)
        trainer.generator.manual_seed((config.train.seed * 1_000_003 + first) % 2**63)
    import torch

    # lr(t) = lr0 · (1 − (1 − lr_decay) · t / steps) for every optimiser
    schedules = [] if lr_decay is None else [
        torch.optim.lr_scheduler.LinearLR(opt, 1.0, lr_decay, total_iters=max(1, steps - first))
        for opt in trainer.optimizers.values()]
    every = max(1, min(250, steps // 20))
    keeper = _Keeper("knn" if keep_best == "knn" else "referee")
    keep_from = int(steps * KEEP_FROM) if keep_best == "knn" else steps // 2
    guard = Guard(watch_codes=False)  # the job's rule (aae.jobs.guard); codes are not computed per step here
    good: deque[tuple[int, dict]] = deque(maxlen=2)   # the older one predates any trouble by ≥ 25 steps
    with _progress(steps, desc, quiet) as bar:
        bar.update(first)
        for i in range(first, steps):
            try:
                m = trainer.step()
            except KeyboardInterrupt:
                path = autosave.save(model, trainer.step_count, {}, stopped="interrupted") if autosave else None
                raise KeyboardInterrupt(f"interrupted at step {trainer.step_count:,}"
                                        + (f"; saved in {path}" if path else "")) from None
            for schedule in schedules:
                schedule.step()
            reason = _non_finite(m) or guard.observe_losses(i + 1, m)
            if reason is not None:
                raise Diverged(f"training blew up at step {i + 1}: {reason}"
                               + _keep_good_weights(model, good, autosave, start))
            if (i + 1) % GOOD_WEIGHTS_EVERY == 0 and guard.healthy:
                good.append((i + 1, {k: v.detach().clone() for k, v in model.state_dict().items()}))
            if autosave is not None:
                autosave.maybe(model, i + 1, m)
            # the referee is a k-NN fit of 2,000 points: only run it for a bar someone sees, or to keep the best
            if ((i + 1) % every == 0 or i + 1 == steps) and (not quiet or keep_best):
                fit, knn = (_train_fit(model, prior, data, n=None, knn=True) if keep_best == "knn"
                            else _train_fit(model, prior, data))
                shown = {k: f"{v:.3g}" for k, v in m.items() if k in ("recon", "kl", "disc", "gen")}
                bar.set_postfix(**shown, referee=f"{fit:.2f}", **({} if knn is None else {"knn": f"{knn:.2f}"}))
                if keep_best and i + 1 >= keep_from:
                    keeper.offer(model, fit, knn, step=i + 1)
            bar.update(1)
    if keeper.state is not None:
        model.load_state_dict(keeper.state)
    if keep_report is not None:
        keep_report.update(keeper.report())
    model.eval()
    return model, prior, data, _evaluate(model, prior, data)


def _evaluate(model, prior, data) -> dict[str, float]:
    """The shared metrics, then the kind's own held-out figures (e.g. a classifier's error)."""
    import torch

    from . import metrics as M
    from .kinds import get_kind
    from .probes import held_out_settings
    device = next(model.parameters()).device
    with torch.no_grad():
        own = get_kind(model.kind).evaluate(model, settings=held_out_settings(data, device=device))
    return {**M.evaluate_model(model, prior, data, seed=0), **own}


def _non_finite(metrics: dict[str, float]) -> str | None:
    bad = [k for k, v in metrics.items() if not math.isfinite(v)]
    return f"the {bad[0]} loss became {metrics[bad[0]]}" if bad else None


def _keep_good_weights(model, good, autosave: _Autosave | None, start) -> str:
    """Restore the older of the last two healthy copies and save it; says where, for the message."""
    if not good:   # blew up within GOOD_WEIGHTS_EVERY steps: the checkpoint on disk (if any) is older
        kept = f" in {autosave.out}" if autosave is not None and (start is not None or autosave.saved_step) else ""
        return f"; the last good checkpoint is the one{kept} from before" if kept else "; nothing was saved"
    step, state = good[0]
    model.load_state_dict(state)
    if autosave is None:
        return f"; restored the weights of step {step}"
    path = autosave.save(model, step, {}, stopped="diverged")
    return f"; the weights of step {step:,} are saved in {path}"


def _train_config(a: argparse.Namespace) -> RunConfig:
    return RunConfig(
        data=DataConfig(name=a.dataset, root=a.data_dir),
        prior=PriorConfig(name=a.prior, scale=a.prior_scale),
        model=ModelConfig(kind=a.model, preset=a.preset, latent_dim=a.latent_dim, encoder=a.encoder,
                          n_classes=a.n_classes, disc_fourier=a.disc_fourier),
        train=TrainConfig(batch_size=a.batch_size, lr_recon=a.lr_recon, lr_disc=a.lr_disc, lr_gen=a.lr_gen,
                          beta1=a.beta1, d_input_noise=a.d_noise, disc_steps=a.disc_steps, d_penalty=a.d_penalty,
                          weight_decay=a.weight_decay, encoder_weight_decay=a.encoder_weight_decay,
                          input_dropout=a.input_dropout,
                          label_fraction=1.0 if a.label_fraction is None else a.label_fraction, eta=a.eta, seed=a.seed,
                          device=a.device))


def _cmd_train(a: argparse.Namespace) -> int:
    from .checkpoints import load_checkpoint, prepare_save_target, remove_stale_temporaries, save_root
    from .data import load_dataset
    from .priors import prior_from_config
    from .train import check_prior_compatible

    # -- every check before any work
    _check_steps(a.steps)
    if not (math.isfinite(a.autosave_every) and 0 <= a.autosave_every <= 86_400):
        raise UsageError(f"--autosave-every must be a number of seconds in [0, 86400], got {a.autosave_every}")
    _check_dir_arg(a.data_dir, "--data-dir")
    if a.out is not None and a.out.strip() == "":
        raise UsageError("--out must not be empty (leave it out for the default)")
    start = None
    if a.resume is not None:
        if a.resume.strip() == "":
            raise UsageError("--resume must name a checkpoint")
        remove_stale_temporaries(Path(a.resume).parent)   # completes a save a crash interrupted
        start = load_checkpoint(a.resume)
        config = start.config
        # the checkpoint's settings, this machine's device and data folder (never the file's)
        config = config.replace(data=config.data.replace(root=a.data_dir),
                                train=config.train.replace(device=a.device))
        resume_path = Path(a.resume)
        if resume_path.suffix in (".json", ".safetensors"):
            resume_path = resume_path.with_suffix("")
        out = Path(a.out) if a.out is not None else resume_path
        same = out.resolve() == resume_path.resolve()
        if start.step >= a.steps:
            print(f"{a.resume} is already at step {start.step:,} of {a.steps:,}: nothing to train")
            return 0
    else:
        config = _train_config(a)
        out = Path(a.out) if a.out is not None else save_root() / f"{a.model}-{a.prior}"
        same = False
    out = prepare_save_target(out, overwrite=a.overwrite or same)
    check_prior_compatible(config.model.kind, prior_from_config(config.prior, config.model.latent_dim))
    data = load_dataset(config.data.name, root=config.data.root, seed=config.data.seed)  # a missing dataset: exit 2 now
    if a.labels is not None and a.label_fraction is not None:
        raise UsageError("give --labels N or --label-fraction F, not both")
    if start is None and a.labels is not None:
        n_train = int(data.train_labels.shape[0])
        if not 1 <= a.labels <= n_train:
            raise UsageError(f"--labels must be in [1, {n_train}] for {config.data.name}, got {a.labels}")
        config = config.replace(train=config.train.replace(label_fraction=a.labels / n_train))

    t0 = time.perf_counter()
    autosave = _Autosave(out, config, a.autosave_every, half=a.half, target=a.steps)
    desc = f"{config.model.kind}/{config.prior.name}"
    if start is not None:
        print(f"resuming {a.resume} at step {start.step:,} (its settings; Adam restarts)", file=sys.stderr)
    model, _, _, metrics = train_run(config, a.steps, desc=desc, quiet=a.no_progress, start=start,
                                     autosave=autosave)
    path = autosave.save(model, a.steps, metrics, complete=True)
    done = a.steps - (start.step if start is not None else 0)
    print(f"trained {done} steps in {time.perf_counter() - t0:.1f} s; saved {path}")
    _print_metrics(metrics, config.model.kind)
    return 0


def _print_metrics(metrics: dict[str, float], kind: str) -> None:
    # semi-supervised: class i of q(y|x) is digit i (it learned the labels); clustering: each cluster
    # takes the label of the training digit it is surest of (aae.metrics.cluster_labels)
    named = "class i is digit i" if kind == "semi_supervised" else "clusters named by the paper's rule"
    labels = {
        "prior_fit": "prior-fit ratio SW(q,p)/SW(p,p')  (≈1 is a perfect fit)",
        "recon_nats": "reconstruction loss (nats per image)",
        "knn_acc": "k-NN accuracy of held-out codes (k=5)",
        "d_acc": "discriminator accuracy (0.5: fooled)",
        "test_error": f"held-out error of q(y|x) ({named})",
        "baseline_error": "held-out error of the NN baseline (same labels)",
        "purity": "cluster purity of held-out digits",
    }
    for key, value in metrics.items():
        print(f"  {labels.get(key, key):<56} {value:.4f}")


def _cmd_eval(a: argparse.Namespace) -> int:
    from . import metrics as M
    from .checkpoints import load_checkpoint
    from .data import load_dataset
    from .priors import prior_from_config
    _check_dir_arg(a.data_dir, "--data-dir")
    ck = load_checkpoint(a.checkpoint)
    cfg = ck.config
    name = a.dataset or cfg.data.name
    # the data folder is this machine's (--data-dir or the default), never one a checkpoint names
    data = load_dataset(name, root=a.data_dir, seed=cfg.data.seed)
    prior = prior_from_config(cfg.prior, cfg.model.latent_dim)
    print(f"{a.checkpoint}: {cfg.model.kind.upper()} ({cfg.model.preset}, {cfg.model.latent_dim}-D code), "
          f"prior {cfg.prior.name}, trained {ck.step} steps on {cfg.data.name}; evaluated on {name}")
    _print_metrics(_evaluate(ck.model, prior, data), cfg.model.kind)
    return 0


@dataclasses.dataclass(frozen=True)
class PretrainPlan:
    """How ``pretrain`` trains one entry of ``PRETRAINED`` (``benchmarks/pretrain_seeds.py`` reuses it)."""

    kind: str
    config: RunConfig
    steps: int
    lr_decay: float | None
    recipe: dict | None
    keep_best: bool | str
    restarts: int = 1   # runs from seeds seed, seed + 1, …: the one whose kept weights score best is saved


def pretrain_plan(name: str, *, steps: int | None = None, device: str = "auto", train: dict | None = None,
                  recipe: dict | None = None, lr_decay: float | None = None) -> PretrainPlan:
    """The entry ``name`` of ``PRETRAINED``: its config, steps (``steps`` replaces them), learning-rate
    decay and recipe settings; ``train``, ``recipe`` and ``lr_decay`` override the entry's."""
    kind, prior, *more = PRETRAINED[name]
    over = more[0] if more else {}
    config = RunConfig(prior=PriorConfig(name=prior), model=ModelConfig(kind=kind, **over.get("model", {})),
                       train=TrainConfig(device=device, **{**over.get("train", {}), **(train or {})}))
    own_recipe = {**over.get("recipe", {}), **(recipe or {})}
    from .kinds.base import AdversarialRecipe
    known = {f.name for f in dataclasses.fields(AdversarialRecipe)} - {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(own_recipe) - known)
    if unknown:
        raise ConfigError(f"{name}: unknown recipe setting(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    return PretrainPlan(kind=kind, config=config, steps=steps if steps is not None else over.get("steps", PRETRAIN_STEPS),
                        lr_decay=lr_decay if lr_decay is not None else over.get("lr_decay"),
                        recipe=own_recipe or None,
                        keep_best="knn" if kind == "aae" else get_kind(kind).adversarial,
                        restarts=int(over.get("restarts", 1)))


def _cmd_pretrain(a: argparse.Namespace) -> int:
    from .checkpoints import SHIPPED_DIR, prepare_save_target, save_checkpoint, save_root
    if a.steps is not None:
        _check_steps(a.steps)
    if a.out is not None and a.out.strip() == "":
        raise UsageError("--out must not be empty (leave it out for the default)")
    out = SHIPPED_DIR if a.shipped else Path(a.out) if a.out is not None else save_root() / "pretrained"
    names = a.only or [*PRETRAINED, CLASSIFIER_NAME]
    plans = {}
    for name in names:  # every target and every entry's settings checked before hours of training
        prepare_save_target(out / name, overwrite=a.overwrite or a.shipped, allow_shipped=a.shipped)
        if name != CLASSIFIER_NAME:
            plans[name] = pretrain_plan(name, steps=a.steps, device=a.device)
    for name in names:
        if name == CLASSIFIER_NAME:
            from .classifier import pretrain_classifier
            path, acc = pretrain_classifier(out / name)
            print(f"{name}: held-out accuracy {acc:.3f} -> {path}")
            continue
        plan = plans[name]
        kind, config, steps, decay, recipe = plan.kind, plan.config, plan.steps, plan.lr_decay, plan.recipe
        model, metrics, best, base = None, None, None, plan.config
        for r in range(plan.restarts):  # restarts: only the kept weights' training-digit numbers choose
            run_config = base if r == 0 else base.replace(train=base.train.replace(seed=base.train.seed + r))
            report: dict = {}
            m, _, _, mets = train_run(run_config, steps, desc=name if plan.restarts == 1 else f"{name} ({r + 1}/"
                                      f"{plan.restarts})", quiet=a.no_progress, lr_decay=decay,
                                      keep_best=plan.keep_best, recipe=recipe, keep_report=report)
            if best is None or better_restart(report, best):
                model, metrics, best, config = m, mets, report, run_config
        extra = {**({} if decay is None else {"lr_decay": decay}), **(recipe or {}),
                 **({"restarts": plan.restarts, "kept_seed": config.train.seed} if plan.restarts > 1 else {})}
        path = save_checkpoint(out / name, model, config, step=steps, metrics=metrics, dtype=PRETRAIN_DTYPE,
                               description=f"{get_kind(kind).display_name}, {PRIORS[config.prior.name].display_name} prior, "
                                           f"{steps} steps on mnist-5k"
                                           + (f", learning rates decayed linearly to {decay:g}×" if decay else ""),
                               extra=extra or None,
                               overwrite=a.overwrite or a.shipped, allow_shipped=a.shipped)
        print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()) + f" -> {path}")
    return 0


def _cmd_convert(a: argparse.Namespace) -> int:
    from .checkpoints import decode_weights, encode_weights, load_checkpoint, prepare_save_target, save_checkpoint
    from .data import load_dataset
    from .priors import prior_from_config
    _check_dir_arg(a.data_dir, "--data-dir")
    loaded = []
    for name in a.checkpoints:  # every one checked before any is rewritten
        ck = load_checkpoint(name)
        stem = prepare_save_target(name, overwrite=True, allow_shipped=a.shipped)
        loaded.append((stem, ck))
    for stem, ck in loaded:
        cfg = ck.config
        data = load_dataset(cfg.data.name, root=a.data_dir, seed=cfg.data.seed)
        prior = prior_from_config(cfg.prior, cfg.model.latent_dim)
        before = _evaluate(ck.model, prior, data)
        # the weights as they will be read back, so the metrics saved are those of the stored model
        ck.model.load_state_dict(decode_weights(encode_weights(ck.model.state_dict(), a.dtype), a.dtype))
        after = _evaluate(ck.model, prior, data)
        path = save_checkpoint(stem, ck.model, cfg, step=ck.step, metrics=after, dtype=a.dtype,
                               description=ck.meta.get("description", ""), extra=ck.meta.get("extra"),
                               overwrite=True, allow_shipped=a.shipped)
        print(f"{stem.name}: {ck.meta['dtype']} -> {a.dtype}, {path.with_suffix('.safetensors').stat().st_size:,} bytes; "
              + ", ".join(f"{k} {before[k]:.4f} -> {after[k]:.4f}" for k in after if k in before))
    return 0


def _cmd_download(a: argparse.Namespace) -> int:
    from .data import download_dataset
    bar = _progress(100, f"download {a.dataset}", False)

    def progress(fraction: float, message: str) -> None:
        bar.n = int(round(100 * fraction))
        bar.set_postfix_str(message[:40])
        bar.refresh()

    try:
        download_dataset(a.dataset, root=a.data_dir, progress=progress)
    finally:
        bar.close()
    print(f"{a.dataset} is ready")
    return 0


def _cmd_bench(a: argparse.Namespace) -> int:
    import torch

    from .data import load_dataset
    from .priors import make_prior
    from .train import Trainer, device_description, resolve_device, seeded_model
    _check_steps(a.steps)
    TrainConfig(device=a.device)  # a bad device name: exit 2 with the config's message
    device = resolve_device(a.device)
    data = load_dataset("synthetic")
    print(f"training steps/s on {device_description(device)}, batch {TrainConfig.batch_size}")
    for preset in ("small", "paper"):
        for kind in ("ae", "vae", "aae"):
            model = seeded_model(ModelConfig(kind=kind, preset=preset), 0)
            tr = Trainer(model, make_prior("gaussian"), data.train_images, data.train_labels,
                         config=TrainConfig(device=str(device)))
            for _ in range(10):
                tr.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(a.steps):
                tr.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            print(f"  {preset:<6} {kind:<4} {a.steps / (time.perf_counter() - t0):8.1f} steps/s")
    return 0


def _cmd_likelihood(a: argparse.Namespace) -> int:
    from . import likelihood
    try:
        return likelihood.run(a)
    except likelihood.ArgumentError as e:
        raise UsageError(str(e)) from None


COMMANDS = {"train": _cmd_train, "eval": _cmd_eval, "likelihood": _cmd_likelihood, "pretrain": _cmd_pretrain,
            "convert": _cmd_convert, "download": _cmd_download, "bench": _cmd_bench}


def main(argv: list[str] | None = None) -> int:
    from .checkpoints import CheckpointError
    from .data import DatasetUnavailable
    try:
        args = _parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError, CheckpointError, DatasetUnavailable) as e:
        return _fail(e, EXIT_USAGE)
    except Diverged as e:
        return _fail(e, EXIT_DIVERGED)
    except KeyboardInterrupt as e:
        print(str(e) or "interrupted", file=sys.stderr)
        return 130


def _fail(e: Exception, status: int) -> int:
    print(f"python -m aae: error: {' '.join(str(e).split())}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
