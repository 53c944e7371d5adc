"""The paper's likelihood table (Makhzani et al. 2015, §3, Table 1): a Gaussian Parzen window on
decoder samples, the protocol of Goodfellow et al. (2014, ``parzen_ll.py``) that the paper follows.

1. Draw N codes z ~ p(z) (the paper: N = 10,000) and decode them to mean images
   x̂_i = sigmoid(decoder(z_i)) in [0, 1].
2. Put a Gaussian of width σ on every sample; choose σ on a validation split held out from the
   training set (never the test set):

       σ* = argmax_σ (1/V) Σ_v log p_σ(x_v),
       log p_σ(x) = logsumexp_i( -||x - x̂_i||² / (2σ²) ) - log N - (d/2) log(2πσ²).

3. Report the mean test log-likelihood (1/M) Σ_m log p_σ*(x_m) ± its standard error std/√M, in nats.

The paper itself trusts the number only loosely: a Parzen estimate has high variance and works
poorly in high dimensions, and was used for want of a better one (Goodfellow et al. 2014, §5);
Theis et al. (2015, "A note on the evaluation of generative models") show that it says little
about the true log-likelihood: k-means centres of the training set outscore real digits.

The math lives in `aae.metrics` (`choose_parzen_sigma`, `parzen_log_likelihood`); this module
runs the protocol on a model, gives the ``python -m aae likelihood`` command its arguments, and
keeps the measured table (``checkpoints/likelihood_table.json``) beside the paper's rows.

Nothing happens at import: torch and the data are imported inside functions.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "PAPER_ROWS",
    "PAPER_SAMPLES",
    "TABLE_PATH",
    "ArgumentError",
    "LikelihoodResult",
    "add_arguments",
    "decoder_samples",
    "default_validation_size",
    "load_table",
    "log_likelihood",
    "measured_rows",
    "paper_rows",
    "run",
    "validation_split",
    "write_table",
]

PAPER_SAMPLES = 10_000          # decoder samples behind the paper's Table 1 numbers
MAX_SAMPLES = 200_000           # 200k samples × 784 float32 pixels ≈ 0.6 GB: a guard, not a protocol
# Goodfellow et al. hold out the last 10,000 of MNIST's 60,000 training digits for σ: a sixth.
VALIDATION_SHARE = 1 / 6
MAX_VALIDATION = 10_000
DECODE_BATCH = 1000             # codes decoded at a time (memory stays flat for any --samples)
PARZEN_BLOCK = 500              # test points × samples per block (progress is told per block)
TABLE_PATH = Path(__file__).resolve().parent.parent / "checkpoints" / "likelihood_table.json"
TABLE_FORMAT = 1
# The key in a checkpoint's metadata ``extra`` that says which training digits were held out:
# {"n": V, "seed": s, "n_train": N}, the arguments of `validation_split`.
HELD_OUT_KEY = "likelihood_validation"

PAPER_MNIST = "MNIST (full: 60,000 train / 10,000 test)"
# Makhzani et al. 2015, Table 1, MNIST with 10,000 samples, mean ± standard error in nats. The
# same numbers are quoted in Yeung et al. 2017 (Table 2); the first four are Goodfellow et al.
# 2014's Table 1. The paper has no VAE row: "VAE, same architecture" is Yeung et al.'s VAE⁻, a
# VAE with the AAE's 784-1000-1000-8 networks, measured with the same protocol.
PAPER_ROWS: tuple[dict[str, Any], ...] = (
    {"model": "DBN", "mean": 138.0, "stderr": 2.0},
    {"model": "Stacked CAE", "mean": 121.0, "stderr": 1.6},
    {"model": "Deep GSN", "mean": 214.0, "stderr": 1.1},
    {"model": "GAN", "mean": 225.0, "stderr": 2.0},
    {"model": "GMMN + AE", "mean": 282.0, "stderr": 2.0},
    {"model": "AAE", "mean": 340.0, "stderr": 2.0},
)
VAE_SAME_ARCHITECTURE_ROW: dict[str, Any] = {
    "model": "VAE (AAE's architecture)", "mean": 290.0, "stderr": 2.0,
    "source": "Yeung et al. 2017 (epitomic VAE), Table 2, row VAE⁻: not in the AAE paper"}


class ArgumentError(ValueError):
    """A ``likelihood`` command-line value is out of range (the CLI prints it as one line, status 2)."""


# ------------------------------------------------------------------------------------ protocol

@dataclass(frozen=True)
class LikelihoodResult:
    """One row of the table: the mean test log-likelihood ± its standard error, in nats."""

    mean: float            # (1/M) Σ log p_σ(x_m)
    stderr: float          # std / √M over the M test digits
    sigma: float           # the Parzen width chosen on the validation digits
    samples: int           # N decoder samples
    n_validation: int      # V digits σ was chosen on
    n_test: int            # M test digits scored
    seconds: float         # wall time of sampling + choosing σ + scoring
    device: str            # where the Parzen blocks ran

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_validation_size(n_train: int) -> int:
    """How many training digits to hold out for σ: a sixth, at most 10,000 (Goodfellow et al.'s
    10,000 of 60,000). ``default_validation_size(4500) == 750``."""
    return max(1, min(MAX_VALIDATION, round(n_train * VALIDATION_SHARE)))


def validation_split(n_train: int, n_validation: int, *, seed: int = 0):
    """(fit, validation) index tensors of a seeded permutation of ``range(n_train)``.

    Train on ``fit`` and choose σ on ``validation`` so that the σ digits are unseen (the paper's
    protocol); the same (n_train, n_validation, seed) always gives the same split.
    """
    import torch

    if not 1 <= n_validation < n_train:
        raise ArgumentError(f"the validation split needs 1 to {n_train - 1} of the {n_train} training "
                            f"digits, got {n_validation}")
    order = torch.randperm(n_train, generator=torch.Generator().manual_seed(seed))  # (n_train,)
    return order[:-n_validation], order[-n_validation:]


def decoder_samples(model, prior, n: int, *, seed: int = 0, device=None,
                    progress: Callable[[int], None] | None = None):
    """(n, 784) mean images x̂ = sigmoid(decoder(z)), z ~ p(z), in [0, 1], on ``device``.

    Codes come from a CPU ``torch.Generator`` seeded with ``seed``, so the same seed gives the same
    codes on every device; they are decoded in blocks of ``DECODE_BATCH``.
    """
    import torch

    device = next(model.parameters()).device if device is None else torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    out = torch.empty(n, 784, device=device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(0, n, DECODE_BATCH):
            b = min(DECODE_BATCH, n - i)
            z = prior.sample(b, generator=gen).to(device)                      # (b, Z)
            out[i:i + b] = model.decode(z).reshape(b, -1).to(device)            # (b, 784)
            if progress is not None:
                progress(b)
    model.train(was_training)
    return out


def log_likelihood(model, prior, validation_images, test_images, *, samples: int = PAPER_SAMPLES,
                   sigmas: Sequence[float] | None = None, seed: int = 0, device=None,
                   progress: Callable[[str, int], None] | None = None) -> LikelihoodResult:
    """Run the protocol (module docstring) on a model: sample, choose σ, score the test digits.

    ``validation_images`` and ``test_images`` are uint8 (N, 28, 28) digits (or [0, 1] floats);
    the validation digits must be held out from the model's training set. ``device``: where the
    model decodes and the Parzen blocks run (default: the model's device). ``progress(stage, k)``
    is told k more images are done in stage "sample", "sigma" or "test"; the stages have
    ``samples``, V and M images.
    """
    import torch

    from . import metrics

    device = next(model.parameters()).device if device is None else torch.device(device)
    tell = (lambda stage: (lambda k: progress(stage, k))) if progress is not None else (lambda stage: None)
    t0 = time.perf_counter()
    x_hat = decoder_samples(model, prior, samples, seed=seed, device=device, progress=tell("sample"))
    sigma = metrics.choose_parzen_sigma(x_hat, validation_images, sigmas, batch_size=PARZEN_BLOCK,
                                        device=device, progress=tell("sigma"))
    mean, stderr = metrics.parzen_log_likelihood(x_hat, test_images, sigma, batch_size=PARZEN_BLOCK,
                                                 device=device, progress=tell("test"))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return LikelihoodResult(mean=mean, stderr=stderr, sigma=sigma, samples=samples,
                            n_validation=int(validation_images.shape[0]), n_test=int(test_images.shape[0]),
                            seconds=time.perf_counter() - t0, device=str(device))


# ------------------------------------------------------------------------------------ table

def write_table(rows: list[dict[str, Any]], *, path: str | os.PathLike = TABLE_PATH,
                **context: Any) -> Path:
    """Write the measured rows (and what they were measured on: ``context``) as JSON, atomically."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": TABLE_FORMAT, **context, "rows": rows}
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return out


def measured_rows(path: str | os.PathLike = TABLE_PATH) -> list[dict[str, Any]]:
    """Our rows from the table file, each with the file's shared context merged in ([] if there
    is no file; ``ValueError`` if it is damaged)."""
    p = Path(path)
    if not p.is_file():
        return []
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{p.name}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != TABLE_FORMAT or not isinstance(doc.get("rows"), list):
        raise ValueError(f"{p.name}: not a likelihood table of format {TABLE_FORMAT}")
    shared = {k: v for k, v in doc.items() if k not in ("format", "rows")}
    rows = []
    for row in doc["rows"]:
        if not isinstance(row, dict) or not {"model", "mean", "stderr"} <= set(row):
            raise ValueError(f"{p.name}: every row needs model, mean and stderr, got {row!r}")
        rows.append({**shared, **row})
    return rows


def load_table(path: str | os.PathLike = TABLE_PATH) -> list[dict[str, Any]]:
    """The rows a page shows: ours (measured, from ``path``) first, then the paper's.

    Every row has ``model``, ``mean``, ``stderr`` (nats), ``dataset`` (which data it was measured
    on), ``samples``, ``source`` (who measured it) and ``ours`` (bool); ours also carry ``sigma``,
    ``n_train``, ``n_validation``, ``n_test``, ``preset``, ``latent_dim``, ``steps``, ``seed`` and
    ``date`` (as written by benchmarks/likelihood.py). A missing table file gives the paper's rows
    only; a damaged one raises ``ValueError``.
    """
    ours = [{"source": "this project (benchmarks/likelihood.py)", **r, "ours": True} for r in measured_rows(path)]
    return ours + paper_rows()


def paper_rows() -> list[dict[str, Any]]:
    """The published rows (full MNIST, 10,000 samples), with ``dataset``, ``source``, ``ours=False``."""
    rows = [{**r, "source": "Makhzani et al. 2015, Table 1"} for r in PAPER_ROWS]
    rows.append(dict(VAE_SAME_ARCHITECTURE_ROW))
    return [{**r, "dataset": PAPER_MNIST, "samples": PAPER_SAMPLES, "ours": False} for r in rows]


# ------------------------------------------------------------------------------------ command line

def _int_in(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be an integer in [{lo:,}, {hi:,}], got {value:,}")
        return value
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``likelihood`` subcommand's arguments (``python -m aae likelihood CKPT ...``)."""
    parser.add_argument("checkpoint", help="checkpoint path (with or without .json)")
    parser.add_argument("--samples", type=_int_in(1, MAX_SAMPLES), default=PAPER_SAMPLES,
                        help=f"decoder samples of the Parzen window (paper: {PAPER_SAMPLES:,}; fewer is faster "
                             "and scores lower)")
    parser.add_argument("--dataset", default=None, help="test digits from this dataset (default: the one trained on)")
    parser.add_argument("--data-dir", default=None, help="data folder (default: $AAE_DATA_DIR or ~/.cache/aae-lab)")
    parser.add_argument("--validation", type=_int_in(1, MAX_VALIDATION), default=None,
                        help="training digits held out to choose σ (default: the checkpoint's held-out split, "
                             "else a sixth of the training set, at most 10,000)")
    parser.add_argument("--test", type=_int_in(2, 10_000_000), default=None,
                        help="score only the first N test digits (default: all)")
    parser.add_argument("--seed", type=_int_in(0, 2**31 - 1), default=0, help="seeds the decoder samples")
    parser.add_argument("--device", default="auto", help="auto (GPU when present), cpu, cuda, cuda:N or mps")
    parser.add_argument("--json", default=None, help="also write the result as JSON to this file")
    parser.add_argument("--no-progress", action="store_true")


@dataclass
class _Plan:
    """Everything ``run`` needs, checked before any work."""

    ck: Any
    data: Any
    dataset: str
    device: Any
    validation: Any     # uint8 (V, 28, 28)
    test: Any           # uint8 (M, 28, 28)
    held_out: bool      # the validation digits were not trained on


def _plan(a: argparse.Namespace) -> _Plan:
    """Check every argument (raising ArgumentError, CheckpointError, DatasetUnavailable or
    ConfigError, which the CLI prints as one line) and load what the run needs."""
    import torch

    from .checkpoints import load_checkpoint, read_metadata
    from .config import DEVICES
    from .data import load_dataset
    from .train import resolve_device

    if a.device not in DEVICES and not re.fullmatch(r"cuda:\d+", a.device):
        raise ArgumentError(f"--device must be one of {', '.join(DEVICES)} or cuda:N, got {a.device!r}")
    if a.json is not None and (Path(a.json).is_dir() or not Path(a.json).parent.is_dir()):
        raise ArgumentError(f"--json {a.json}: give a file name in an existing folder")
    meta = read_metadata(a.checkpoint)                       # cheap: no tensors yet
    cfg = meta["config_obj"]
    device = resolve_device(a.device)                        # ConfigError when absent
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ArgumentError(f"--device {a.device}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    name = a.dataset or cfg.data.name
    # the data folder is this machine's (--data-dir or the default), never one a checkpoint names
    data = load_dataset(name, root=a.data_dir, seed=cfg.data.seed)
    n_train, n_test = int(data.train_images.shape[0]), int(data.test_images.shape[0])
    if a.test is not None and a.test > n_test:
        raise ArgumentError(f"--test {a.test:,} is more than the {n_test:,} test digits of {name}")
    recorded = (meta.get("extra") or {}).get(HELD_OUT_KEY)
    same_data = name == cfg.data.name
    if isinstance(recorded, dict) and same_data and recorded.get("n_train") == n_train \
            and a.validation in (None, recorded.get("n")):
        n_val, split_seed, held_out = int(recorded["n"]), int(recorded.get("seed", 0)), True
    else:
        n_val = a.validation if a.validation is not None else default_validation_size(n_train)
        split_seed, held_out = 0, not same_data
    if n_val >= n_train:
        raise ArgumentError(f"--validation {n_val:,} leaves no training digits: {name} has {n_train:,}")
    _, val_idx = validation_split(n_train, n_val, seed=split_seed)
    ck = load_checkpoint(a.checkpoint, device=device)
    try:  # one code through the decoder: a kind whose decoder wants more than z cannot be sampled here
        with torch.no_grad():
            ck.model.decode(torch.zeros(1, cfg.model.latent_dim, device=device))
    except (TypeError, RuntimeError) as e:
        raise ArgumentError(f"a {cfg.model.kind.upper()} cannot be sampled from p(z) alone ({e})") from None
    return _Plan(ck=ck, data=data, dataset=name, device=device, validation=data.train_images[val_idx],
                 test=data.test_images[:a.test] if a.test is not None else data.test_images,
                 held_out=held_out)


def run(a: argparse.Namespace) -> int:
    """``python -m aae likelihood``: print the test log-likelihood ± standard error and σ."""
    from tqdm import tqdm

    from .priors import prior_from_config
    from .train import device_description

    plan = _plan(a)
    cfg = plan.ck.config
    prior = prior_from_config(cfg.prior, cfg.model.latent_dim)
    n_val, n_test = int(plan.validation.shape[0]), int(plan.test.shape[0])
    print(f"{a.checkpoint}: {cfg.model.kind.upper()} ({cfg.model.preset}, {cfg.model.latent_dim}-D code), "
          f"prior {cfg.prior.name}, trained {plan.ck.step} steps on {cfg.data.name}; "
          f"{device_description(plan.device)}")
    if not plan.held_out:
        print(f"note: the {n_val:,} digits σ is chosen on were part of this model's training set (the paper holds "
              "them out; benchmarks/likelihood.py trains models that do)")
    stages = {"sample": "sampling", "sigma": "choosing σ", "test": "scoring test"}
    with tqdm(total=a.samples + n_val + n_test, desc="likelihood", unit="img", dynamic_ncols=True,
              disable=a.no_progress, file=sys.stderr) as bar:
        def progress(stage: str, k: int) -> None:
            bar.set_description(stages[stage], refresh=False)
            bar.update(k)

        result = log_likelihood(plan.ck.model, prior, plan.validation, plan.test, samples=a.samples,
                                seed=a.seed, device=plan.device, progress=progress)
    print(f"Parzen log-likelihood of {n_test:,} {plan.dataset} test digits under {a.samples:,} decoder samples:")
    print(f"  sigma = {result.sigma:.4g}  (chosen on {n_val:,} {'held-out ' if plan.held_out else ''}training digits)")
    print(f"  log-likelihood = {result.mean:.1f} ± {result.stderr:.1f} nats  (mean ± standard error)")
    if a.json is not None:
        row = {"checkpoint": str(a.checkpoint), "kind": cfg.model.kind, "dataset": plan.dataset,
               "held_out": plan.held_out, **result.to_dict()}
        Path(a.json).write_text(json.dumps(row, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not math.isfinite(result.mean):
        print("the log-likelihood is not finite: the samples are far from every test digit", file=sys.stderr)
    return 0
