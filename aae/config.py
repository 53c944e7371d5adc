"""Frozen, validated configuration for a training run.

Every field has a default that a teacher can run as is; every invalid value raises
``ConfigError`` with a message that names the field, the value and what is allowed.
``to_dict``/``from_dict`` round-trip through plain JSON types (checkpoints store them).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

MODEL_KINDS = ("ae", "vae", "aae")  # the built-in kinds; aae.kinds.kind_names() lists every registered one
ENCODER_KINDS = ("deterministic", "gaussian", "universal")
PRESETS = ("small", "paper")
DEVICES = ("auto", "cpu", "cuda", "mps")
MAX_NAME_CHARS = 64             # dataset and prior names
MAX_PATH_CHARS = 4096
MAX_DISC_FOURIER = 256          # random Fourier features of the code discriminator's input
MAX_CLASSES = 100               # classes or clusters of a categorical kind's q(y|x)
_CUDA_INDEX = re.compile(r"cuda:\d{1,2}")


class ConfigError(ValueError):
    """A configuration value is out of range or of the wrong kind."""


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    # math.isfinite(10**400) raises OverflowError; such an int is no setting of ours anyway
    return math.isfinite(value) if isinstance(value, float) else abs(value) < 2**63


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    """A value for an error message, at most ~40 characters (a config may come from a file)."""
    if _is_int(value) and abs(value) >= 10**20:
        return "an integer of more than 20 digits"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME_CHARS and value.isprintable()


class _Serializable:
    """`to_dict` / `from_dict` for flat and nested frozen dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, _Serializable) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        if not isinstance(data, Mapping):
            raise ConfigError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(known))
        _check(not unknown, f"{cls.__name__}: unknown field(s) {', '.join(_show(u) for u in unknown[:3])}; "
                            f"allowed: {', '.join(known)}")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            sub = _NESTED.get((cls.__name__, name))
            kwargs[name] = sub.from_dict(value) if sub is not None else value
        return cls(**kwargs)

    def replace(self, **changes: Any):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class DataConfig(_Serializable):
    name: str = "mnist-5k"      # see aae.data.DATASETS
    root: str | None = None     # data folder; None: $AAE_DATA_DIR or ~/.cache/aae-lab
    seed: int = 0               # seeds the fixed train/test split

    def __post_init__(self) -> None:
        _check(_is_name(self.name), f"data.name must be a name of 1-{MAX_NAME_CHARS} characters, got {_show(self.name)}")
        _check(self.root is None or (isinstance(self.root, str) and 0 < len(self.root) <= MAX_PATH_CHARS
                                     and "\x00" not in self.root),
               "data.root must be a path string (no NUL, at most 4096 characters) or None")
        _check(_is_int(self.seed) and 0 <= self.seed < 2**63,
               f"data.seed must be an integer in [0, 2**63), got {_show(self.seed)}")


@dataclass(frozen=True)
class PriorConfig(_Serializable):
    name: str = "gaussian"      # see aae.priors.PRIORS
    scale: float = 1.0          # gaussian: std; others: multiplies the prior's default size

    def __post_init__(self) -> None:
        _check(_is_name(self.name), f"prior.name must be a name of 1-{MAX_NAME_CHARS} characters, got {_show(self.name)}")
        _check(_is_number(self.scale) and 0.05 <= self.scale <= 20,
               f"prior.scale must be a number in [0.05, 20], got {_show(self.scale)}")


@dataclass(frozen=True)
class ModelConfig(_Serializable):
    kind: str = "aae"               # ae | vae | aae
    preset: str = "small"           # small: 784-512-256-z, paper: 784-1000-1000-z
    latent_dim: int = 2             # 2 for teaching, 8 for the paper's likelihood runs
    encoder: str = "deterministic"  # deterministic | gaussian | universal (paper §2); a VAE is always gaussian
    noise_dim: int = 8              # universal encoder: size of the noise η fed beside x
    n_classes: int = 10             # categorical kinds (aae.kinds.categorical): classes or clusters of q(y|x)
    disc_fourier: int = 0           # code discriminator: random Fourier features of z beside z (0: none; aae.models)

    def __post_init__(self) -> None:
        from .kinds import get_kind  # deferred: the kinds import the models, which import this module
        kind = get_kind(self.kind) if _is_name(self.kind) else None  # unknown names raise ConfigError
        _check(kind is not None, f"model.kind must be a kind name, got {_show(self.kind)}")
        _check(self.preset in PRESETS, f"model.preset must be one of {PRESETS}, got {_show(self.preset)}")
        _check(_is_int(self.latent_dim) and 1 <= self.latent_dim <= 64,
               f"model.latent_dim must be an integer in [1, 64], got {_show(self.latent_dim)}")
        _check(self.encoder in ENCODER_KINDS,
               f"model.encoder must be one of {ENCODER_KINDS}, got {_show(self.encoder)}")
        _check(_is_int(self.noise_dim) and 1 <= self.noise_dim <= 784,
               f"model.noise_dim must be an integer in [1, 784], got {_show(self.noise_dim)}")
        _check(_is_int(self.n_classes) and 2 <= self.n_classes <= MAX_CLASSES,
               f"model.n_classes must be an integer in [2, {MAX_CLASSES}], got {_show(self.n_classes)}")
        _check(_is_int(self.disc_fourier) and 0 <= self.disc_fourier <= MAX_DISC_FOURIER,
               f"model.disc_fourier must be an integer in [0, {MAX_DISC_FOURIER}], got {_show(self.disc_fourier)}")
        if kind.encoder is not None and self.encoder != kind.encoder:
            # e.g. the VAE's KL term needs q(z|x) as a density: only the gaussian encoder has one.
            object.__setattr__(self, "encoder", kind.encoder)


@dataclass(frozen=True)
class Limit:
    """The allowed range of a numeric setting; ``lo_open`` / ``hi_open`` exclude the end.
    The checks below and the dashboard's setup widgets (ui/setup.py) both read ``TRAIN_LIMITS``."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False

    def __contains__(self, value: Any) -> bool:
        return (_is_number(value) and (self.lo < value if self.lo_open else self.lo <= value)
                and (value < self.hi if self.hi_open else value <= self.hi))

    def __str__(self) -> str:
        return f"{'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"


# The TrainConfig fields that take None for "the recipe's value" (aae.kinds.base.AdversarialRecipe).
RECIPE_FIELDS = ("lr_recon", "lr_disc", "lr_gen", "beta1", "d_penalty", "d_input_noise", "input_dropout")

TRAIN_LIMITS: dict[str, Limit] = {
    "batch_size": Limit(1, 4096),
    "lr_recon": Limit(0, 1, lo_open=True),
    "lr_disc": Limit(0, 1, lo_open=True),
    "lr_gen": Limit(0, 1, lo_open=True),
    "weight_decay": Limit(0, 1),
    "encoder_weight_decay": Limit(0, 1),
    "input_dropout": Limit(0, 1, hi_open=True),
    "beta1": Limit(0, 1, lo_open=True, hi_open=True),   # β1 = 0 turns Adam into RMSprop: not offered
    "d_penalty": Limit(0, 100),
    "d_input_noise": Limit(0, 10),
    "disc_steps": Limit(1, 10),
    "label_fraction": Limit(0, 1),
    "eta": Limit(0, 100),
    "seed": Limit(0, 2**63, hi_open=True),
}


@dataclass(frozen=True)
class TrainConfig(_Serializable):
    # Defaults chosen by the sweep in benchmarks/sweep_defaults.py (see README, "Defaults").
    batch_size: int = 100           # the paper's batch size
    lr_recon: float | None = None   # Adam, reconstruction phase (encoder + decoder; None: the recipe's, 1e-3 but for labelled runs)
    weight_decay: float = 0.0       # decoupled weight decay (AdamW) of the reconstruction phase
    # more decoupled decay on the encoder's weights alone in that phase (AdamW: each step shrinks them by
    # lr_recon × this); it keeps held-out digits' codes beside their class's (README, the Gaussian's 5-NN)
    encoder_weight_decay: float = 0.0
    input_dropout: float | None = None  # reconstruction phase: share of input pixels zeroed (denoising; None: the recipe's)
    # The regularisation phase's settings below take None for "the prior's recipe",
    # aae.train.PRIOR_RECIPES: the sweep found no single setting that suits both the smooth priors
    # (Gaussian, uniform) and the thin or multi-modal ones (mixture, swiss roll, pinwheel).
    lr_disc: float | None = None    # Adam, regularisation phase: discriminator
    lr_gen: float | None = None     # Adam, regularisation phase: encoder as generator
    beta1: float | None = None      # Adam β1 of the two adversarial optimisers
    d_penalty: float | None = None  # R1 gradient penalty on D at prior samples: (γ/2)·E‖∇D(z)‖² (0: off)
    d_input_noise: float | None = None  # std of Gaussian noise added to D's inputs (both real and fake)
    disc_steps: int = 1             # discriminator updates per batch (fresh prior samples each time)
    # Share of each class's training digits whose label a label-using kind may read (the paper's
    # §2.3 run: 10K of 50K, 0.2); the digits are chosen with ``seed``, the same share per class.
    label_fraction: float = 1.0
    eta: float = 4.0                # reduction kind: cluster heads closer than η are pushed apart (paper §7)
    seed: int = 0                   # seeds the model init, batches and noise
    device: str = "auto"            # auto: cuda, then mps, then cpu

    def __post_init__(self) -> None:
        lim = TRAIN_LIMITS
        for name in ("batch_size", "disc_steps", "seed"):
            value = getattr(self, name)
            _check(_is_int(value) and value in lim[name],
                   f"train.{name} must be an integer in {lim[name]}, got {_show(value)}")
        for name in ("lr_recon", "lr_disc", "lr_gen", "beta1", "d_penalty", "weight_decay", "encoder_weight_decay", "input_dropout",
                     "d_input_noise", "label_fraction", "eta"):
            value = getattr(self, name)
            if value is None and name in RECIPE_FIELDS:
                continue            # None: the prior's (or the kind's) recipe
            _check(value in lim[name], f"train.{name} must be a number in {lim[name]}, got {_show(value)}")
        _check(self.device in DEVICES or (isinstance(self.device, str) and _CUDA_INDEX.fullmatch(self.device)),
               f"train.device must be one of {DEVICES} or 'cuda:N', got {_show(self.device)}")


@dataclass(frozen=True)
class RunConfig(_Serializable):
    """Everything needed to rebuild a run: what to learn from, what to match, with which network."""

    data: DataConfig = field(default_factory=DataConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        for name, cls in (("data", DataConfig), ("prior", PriorConfig), ("model", ModelConfig), ("train", TrainConfig)):
            _check(isinstance(getattr(self, name), cls), f"run.{name} must be a {cls.__name__}")


_NESTED: dict[tuple[str, str], type] = {
    ("RunConfig", "data"): DataConfig,
    ("RunConfig", "prior"): PriorConfig,
    ("RunConfig", "model"): ModelConfig,
    ("RunConfig", "train"): TrainConfig,
}
