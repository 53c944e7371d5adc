"""What a model kind is, and the registry that finds one by name.

A kind declares exactly where the paper's variants differ (Makhzani et al. 2015, §2-§6):

    build(config)             its model (encoder / decoder / discriminators), an ``Autoencoder``
    phases                    its training phases, in order: a table of (name, function), where a
                              function is ``phase(trainer, batch) -> {metric: float}``
    optimizers                one ``OptimizerSpec`` per optimiser: the parameters it moves and its
                              role, which says which TrainConfig / recipe settings it takes
    prior_incompatibility     None, or a plain-words reason why this kind cannot use a prior
    d_of_z / probe            what its snapshot carries beyond codes, samples and curves
                              (``snapshot_extras`` names the arrays, e.g. the D(z) grid)
    encoder                   the encoder kind it needs (a VAE: "gaussian"), None for any
    imposes_prior             whether its codes should follow p(z) (an AE's need not)

``@register_kind`` registers a kind where it is defined (as timm's ``@register_model`` does);
``get_kind(name)`` and ``kind_names()`` are what the job, the checkpoints and the CLI ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable

import torch
from torch import nn

from ..config import ConfigError, ModelConfig

if TYPE_CHECKING:  # the trainer runs the kinds' phases; the kinds only see it as an argument
    from ..models import Autoencoder
    from ..priors import Prior
    from ..probes import ProbeSettings
    from ..train import Trainer


@dataclass(frozen=True)
class Batch:
    """One batch of training data. ``labelled`` says which labels a kind may use: every one in
    an unsupervised run (where no kind reads them), a few in a semi-supervised one."""

    x: torch.Tensor          # (B, 784) float in [0, 1]
    labels: torch.Tensor     # (B,) int64
    labelled: torch.Tensor   # (B,) bool


PhaseFn = Callable[["Trainer", Batch], dict[str, float]]


@dataclass(frozen=True)
class AdversarialRecipe:
    """Settings of the regularisation phase that suit a prior or a kind (used where TrainConfig says
    None; ``aae.train.PRIOR_RECIPES`` holds the priors', ``ModelKind.recipe`` a kind's own)."""

    lr_disc: float
    lr_gen: float
    beta1: float        # Adam β1 of both adversarial optimisers
    d_penalty: float    # R1 gradient-penalty weight on D
    d_input_noise: float = 0.0   # std of the Gaussian noise added to everything D sees (prior samples and codes)
    # share of input pixels the reconstruction phase zeroes (a denoising AE): part of a kind's recipe
    # because the categorical AAE's clusters need it (benchmarks/categorical.py), the plain AAE's codes not
    input_dropout: float = 0.0
    # The two below are a kind's own (no TrainConfig field): the largest random translation (pixels,
    # each axis) of the encoder's inputs, a data augmentation the paper did not use, read by the
    # categorical kinds only (aae.kinds.categorical.shifted); and the number of steps over which
    # d_input_noise falls linearly to 0 (0: it stays constant; aae.train.Trainer.d_input).
    augment_shift: int = 0
    d_noise_decay_steps: int = 0
    # the categorical kinds' random rotations (largest angle, degrees) and scalings (largest relative
    # change) of the encoder's inputs, applied before the translations (aae.kinds.categorical.warped)
    augment_rotate: float = 0.0
    augment_scale: float = 0.0
    # the reconstruction phase's learning rate (TrainConfig.lr_recon None): how hard the encoder is
    # pulled towards informative codes against the generator phase's pull towards p(z)
    lr_recon: float = 1e-3
    # the categorical kinds' consistency weight (0: off; the paper has no such term): the generator
    # phase also pulls q(y|x) of a second random augmentation of the batch towards the first's,
    # KL(q(y|x_a) ‖ q(y|x_b)) with x_a's side held fixed (aae.kinds.categorical.generator)
    consistency: float = 0.0

# Roles of an optimiser: which settings it takes (aae.train.Trainer builds them).
RECONSTRUCTION, DISCRIMINATOR, GENERATOR = "reconstruction", "discriminator", "generator"
ROLES = (RECONSTRUCTION, DISCRIMINATOR, GENERATOR)


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimiser of a kind.

    role "reconstruction": AdamW with the recipe's lr_recon (TrainConfig.lr_recon when set) and weight_decay;
    role "discriminator":  Adam with the recipe's lr_disc and β1 (its state is reset when p(z) changes);
    role "generator":      Adam with the recipe's lr_gen and β1.
    """

    name: str                                             # how phases ask for it: trainer.optimizers[name]
    params: Callable[[nn.Module], Iterable[nn.Parameter]]  # model -> the parameters it moves
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"optimizer role must be one of {ROLES}, got {self.role!r}")


class ModelKind:
    """Base class of a model kind; subclass, fill in the class attributes and ``build``, and
    decorate with ``@register_kind``."""

    name: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    phases: ClassVar[tuple[tuple[str, PhaseFn], ...]] = ()
    optimizers: ClassVar[tuple[OptimizerSpec, ...]] = ()
    encoder: ClassVar[str | None] = None             # the encoder kind this model needs (None: any)
    imposes_prior: ClassVar[bool] = True             # its codes should follow p(z) (the job watches they stay in its window)
    snapshot_extras: ClassVar[tuple[str, ...]] = ()  # arrays ``probe`` adds to the snapshot's ModelView
    # A recipe that replaces the prior's (None: the prior's recipe), for a kind whose game needs
    # other settings than the plain AAE's (the categorical AAE's two games).
    recipe: ClassVar[AdversarialRecipe | None] = None

    @property
    def phase_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.phases)

    @property
    def adversarial(self) -> bool:
        """Whether a discriminator plays against the encoder (then the prior's recipe applies)."""
        return any(spec.role == DISCRIMINATOR for spec in self.optimizers)

    def build(self, config: ModelConfig) -> "Autoencoder":  # pragma: no cover - every kind overrides it
        raise NotImplementedError

    def prior_incompatibility(self, prior: "Prior") -> str | None:
        """None if this kind can train against ``prior``, else why not, in words for a student."""
        return None

    def d_of_z(self, model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """z (B, Z) -> D's logits (B,) on bare codes, for the D(z) map and the generator push;
        None when the kind has no discriminator on z."""
        return None

    def evaluate(self, model: nn.Module, *, settings: "ProbeSettings") -> dict[str, float]:
        """Figures of merit beyond the codes' (e.g. a classifier's held-out error) on the held-out
        data in ``settings`` (``aae.probes.held_out_settings``): the CLI's train and eval print
        them and checkpoints keep them. Most kinds have none."""
        return {}

    def probe(self, model: nn.Module, *, codes: torch.Tensor, prior: "Prior", prior_sample: torch.Tensor,
              settings: "ProbeSettings") -> dict[str, Any]:
        """What this kind adds to a snapshot: arrays (named in ``snapshot_extras``) and float metrics.

        The default draws the discriminator on z, if the kind has one (``d_of_z``).
        """
        d = self.d_of_z(model)
        if d is None:
            return {}
        from .. import probes  # deferred: probes import metrics (scikit-learn) only when a job probes
        return probes.discriminator_probe(d, codes=codes, prior_sample=prior_sample, bounds=prior.bounds,
                                          settings=settings)


_KINDS: dict[str, ModelKind] = {}


def register_kind(cls: type[ModelKind]) -> type[ModelKind]:
    """Class decorator: register a kind under ``cls.name`` (a second kind of that name is refused)."""
    if not cls.name or not cls.name.isidentifier():
        raise ValueError(f"a model kind needs an identifier as its name, got {cls.name!r}")
    if cls.name in _KINDS and type(_KINDS[cls.name]) is not cls:
        raise ValueError(f"a model kind named {cls.name!r} is already registered")
    if not cls.phases:
        raise ValueError(f"model kind {cls.name!r} declares no phases")
    names = [n for n, _ in cls.phases]
    if len(set(names)) != len(names):
        raise ValueError(f"model kind {cls.name!r}: phase names must be unique, got {names}")
    _KINDS[cls.name] = cls()
    return cls


def unregister_kind(name: str) -> None:
    """Forget a kind (tests register toy kinds and clean up after themselves)."""
    _KINDS.pop(name, None)


def get_kind(name: str) -> ModelKind:
    """The registered kind ``name``; unknown names raise ``ConfigError`` listing the known ones."""
    try:
        return _KINDS[name]
    except KeyError:
        raise ConfigError(f"model.kind must be one of {kind_names()}, got {name!r}") from None


def kind_names() -> tuple[str, ...]:
    """Names of the registered kinds, in registration order (the built-ins first: ae, vae, aae)."""
    return tuple(_KINDS)


def build_model(config: ModelConfig) -> "Autoencoder":
    """The model a ``ModelConfig`` describes, freshly initialised (seed torch before calling;
    ``aae.train.seeded_model`` does)."""
    return get_kind(config.kind).build(config)
