"""Model kinds as plug-ins: each kind is one file that declares its model, its phase table, its
prior compatibility and its snapshot extras, and registers itself with ``@register_kind``.

    from aae.kinds import get_kind, kind_names
    kind = get_kind("aae")
    kind.phase_names          # ('reconstruction', 'discriminator', 'generator')
    model = kind.build(ModelConfig(kind="aae"))

The trainer (``aae.train``) runs any kind's phases; the job, the checkpoints and the CLI find a
kind by name here. Adding a kind = a new file here, imported below.
"""

from .base import (DISCRIMINATOR, GENERATOR, RECONSTRUCTION, Batch, ModelKind, OptimizerSpec, PhaseFn,
                   build_model, get_kind, kind_names, register_kind, unregister_kind)
from .ae import AE
from .vae import VAE
from .aae import AAE
from .labelled import LabelledAAE
from .supervised import SupervisedAAE
from .categorical import CategoricalAAE
from .reduction import ReductionAAE

__all__ = ["AAE", "AE", "LabelledAAE", "SupervisedAAE", "VAE", "Batch", "DISCRIMINATOR", "GENERATOR", "ModelKind", "OptimizerSpec", "PhaseFn",
           "RECONSTRUCTION", "build_model", "get_kind", "kind_names", "register_kind", "unregister_kind"]
