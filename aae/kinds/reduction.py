"""Dimensionality reduction with the categorical AAE (Makhzani et al. 2015, §7, Fig. 10-11).

The encoder's two heads are as in ``aae.kinds.categorical``: q(y|x) over n clusters and a style
code z, here in 2-D. The representation is

    r = W_C · y + z        (B, 2);  W_C (n, 2) holds the n learned cluster heads

and the decoder rebuilds x from r alone, so r is the picture: each cluster a cloud around its head.
The heads are learned with the reconstruction, plus the paper's extra cost, which pushes apart any
two heads closer than η and ignores the others:

    L_heads = Σ_{i<j} max(0, η − ‖c_i − c_j‖)

Two kinds share the model: ``reduction`` (unsupervised) and ``reduction_semi`` (a classification
phase on the labelled digits, as the semi-supervised AAE has).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .. import metrics as M
from ..config import ModelConfig
from ..models import IMAGE_SIZE, Decoder
from .base import ModelKind, register_kind
from .categorical import (CATEGORICAL_EXTRAS, CATEGORICAL_RECIPE, CLASSIFY, DISC_Y, DISC_Z, GEN, RECON,
                          CategoricalAAE, categorical_probe, classification, discriminators, generator,
                          reconstruction)

HEAD_INIT_STD = 1.0  # initial spread of the cluster heads; the η cost spreads them further


def head_distance_penalty(heads: torch.Tensor, eta: float) -> torch.Tensor:
    """L_heads = Σ_{i<j} max(0, η − ‖c_i − c_j‖) for heads (n, d): zero once every pair is η apart."""
    n = heads.shape[0]
    i, j = torch.triu_indices(n, n, offset=1, device=heads.device)
    # the norm's gradient is undefined at 0; a tiny floor keeps two equal heads from producing NaN
    dist = (heads[i] - heads[j]).pow(2).sum(dim=1).clamp_min(1e-12).sqrt()     # (n(n-1)/2,)
    return torch.relu(eta - dist).sum()


class ReductionAAE(CategoricalAAE):
    """The categorical AAE whose decoder reads r = W_C·y + z (B, Z); ``encode(x)`` is r."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        # W_C: one learned head per cluster; the name starts with "heads_" so the reconstruction
        # optimiser (categorical.RECON) moves it
        self.heads_weight = nn.Parameter(torch.randn(config.n_classes, config.latent_dim) * HEAD_INIT_STD)

    def _make_decoder(self, hidden: tuple[int, ...]) -> nn.Module:
        return Decoder(latent_dim=self.config.latent_dim, hidden=hidden)

    def decoder_input(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return y @ self.heads_weight + z                                   # (B, Z)

    def encode(self, x: torch.Tensor, *, sample: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        out = self.encoder(x)
        return self.decoder_input(out.y, out.z)                            # (B, Z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, 28, 28) of representations r (B, Z), as the latent pad moves them."""
        return torch.sigmoid(self.decoder(z)).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)

    def head_penalty(self, eta: float) -> torch.Tensor:
        return head_distance_penalty(self.heads_weight, eta)


def reduction_probe(model: ReductionAAE, settings, *, supervised: bool) -> dict[str, Any]:
    """The categorical probe, plus the heads' positions ``head_points`` (n, 2) and the held-out
    ``purity`` of the clusters argmax q(y|x) (``metrics.cluster_purity``)."""
    out = categorical_probe(model, settings, supervised=supervised)
    out["head_points"] = model.heads_weight.detach().cpu().numpy().copy()
    if settings.eval_x is not None and settings.eval_labels is not None:
        with torch.no_grad():
            assigned = model.classify(settings.eval_x).argmax(1).cpu().numpy()
        out["purity"] = M.cluster_purity(assigned, np.asarray(settings.eval_labels))
    return out


REDUCTION_EXTRAS = (*CATEGORICAL_EXTRAS, "head_points")


@register_kind
class ReductionKind(ModelKind):
    name = "reduction"
    display_name = "Dimensionality reduction (AAE)"
    description = ("Categorical AAE whose 2-D map is W_C·y + z: n learned cluster heads, at least η apart, "
                   "each with its cloud of style; no labels.")
    phases = (("reconstruction", reconstruction), ("discriminators", discriminators), ("generator", generator))
    optimizers = (RECON, DISC_Y, DISC_Z, GEN)
    snapshot_extras = REDUCTION_EXTRAS
    recipe = CATEGORICAL_RECIPE
    imposes_prior = False  # the map W_C·y + z spreads over the heads, far beyond p(z)'s window

    def build(self, config: ModelConfig) -> ReductionAAE:
        return ReductionAAE(config)

    supervised = False

    def probe(self, model, *, codes, prior, prior_sample, settings):
        return reduction_probe(model, settings, supervised=self.supervised)

    def evaluate(self, model, *, settings):
        return {k: v for k, v in reduction_probe(model, settings, supervised=self.supervised).items()
                if isinstance(v, float)}


@register_kind
class SemiSupervisedReductionKind(ReductionKind):
    name = "reduction_semi"
    display_name = "Dimensionality reduction, semi-supervised (AAE)"
    description = ("The 2-D map W_C·y + z with a classification phase on the labelled digits, so each head "
                   "stands for one class.")
    phases = (*ReductionKind.phases, ("classification", classification))
    optimizers = (*ReductionKind.optimizers, CLASSIFY)
    supervised = True
