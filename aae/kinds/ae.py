"""The plain autoencoder (AE): one phase, reconstruction; no regulariser, so its codes take
whatever shape is easiest for the decoder (the paper's baseline, §2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .. import losses
from ..config import ModelConfig
from ..models import Autoencoder, EncoderOutput
from .base import RECONSTRUCTION, Batch, ModelKind, OptimizerSpec, register_kind

if TYPE_CHECKING:
    from ..train import Trainer


class AE(Autoencoder):
    """Encoder + decoder, nothing else."""


def encoder_and_decoder(model: Autoencoder):
    return [*model.encoder.parameters(), *model.decoder.parameters()]


RECON_OPTIMIZER = OptimizerSpec("recon", encoder_and_decoder, RECONSTRUCTION)


def encode_for_reconstruction(tr: "Trainer", batch: Batch) -> EncoderOutput:
    """The encoder's output on the (optionally damaged) batch; the decoder must rebuild the clean one.

    Input dropout zeroes a share p of pixels: x̃ = x ⊙ m, m_i ~ Bernoulli(1 − p) (a denoising AE).
    """
    tr.scratch.pop("codes", None)  # the encoder is about to change: codes of an earlier phase are stale
    x_in = batch.x
    p = tr.recipe.input_dropout  # TrainConfig.input_dropout, or the kind's or prior's recipe where that is None
    if p > 0:
        keep = torch.rand(x_in.shape, generator=tr.generator, device=x_in.device) >= p
        x_in = x_in * keep
    return tr.model.encoder(x_in, sample=True, generator=tr.generator)


def reconstruction(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 1: update encoder + decoder on the reconstruction loss L_rec (``losses.reconstruction_loss``)."""
    out = encode_for_reconstruction(tr, batch)
    rec = losses.reconstruction_loss(tr.model.decoder(out.z), batch.x)      # logits (B, 784)
    metrics = {"recon": rec.item()}
    tr.optimize("recon", rec)
    return metrics


@register_kind
class AEKind(ModelKind):
    name = "ae"
    display_name = "AE"
    description = "Plain autoencoder: reconstruction only, so its codes take any shape."
    phases = (("reconstruction", reconstruction),)
    optimizers = (RECON_OPTIMIZER,)
    imposes_prior = False

    def build(self, config: ModelConfig) -> AE:
        return AE(config)
