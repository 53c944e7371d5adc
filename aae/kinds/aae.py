"""The adversarial autoencoder (AAE, Makhzani et al. 2015, §2): three phases per batch.

1. ``reconstruction`` — encoder and decoder minimise the reconstruction loss;
2. ``discriminator``  — D learns to tell z ~ p(z) (target 1) from codes E(x) (target 0); the codes
   are ``detach()``-ed so this phase cannot move the encoder;
3. ``generator``      — the encoder learns to make D call its codes "prior".

The game, eq. (1):  min_E max_D  E_{z~p(z)}[log D(z)] + E_{x~p_data}[log(1 − D(E(x)))]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .. import losses
from ..config import ModelConfig
from ..models import PRESET_DISC_HIDDEN, Autoencoder, Discriminator
from .ae import RECON_OPTIMIZER, encode_for_reconstruction
from .ae import reconstruction as plain_reconstruction
from .base import DISCRIMINATOR, GENERATOR, Batch, ModelKind, OptimizerSpec, register_kind

if TYPE_CHECKING:
    from ..train import Trainer


def code_discriminator(config: ModelConfig, extra_inputs: int = 0) -> Discriminator:
    """The discriminator of the preset on a code (Z inputs) and ``extra_inputs`` more (a label)."""
    return Discriminator(latent_dim=config.latent_dim + extra_inputs, hidden=PRESET_DISC_HIDDEN[config.preset],
                         fourier=config.disc_fourier)


class AAE(Autoencoder):
    """Encoder + decoder + a discriminator on codes."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.discriminator = code_discriminator(config)


def encoder_view(tr: "Trainer", batch: Batch) -> Batch:
    """The batch as the encoder sees it in this step's phases: moved by the recipe's augmentation
    (translations ``augment_shift``, rotations ``augment_rotate``, scalings ``augment_scale``; the
    categorical AAE's ``augmented``: one draw per batch), else itself."""
    from .categorical import augmented, augments  # deferred: the categorical kinds import this module
    if not augments(tr.recipe):
        return batch
    return augmented(tr, batch)


def reconstruction(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 1: the plain AE's reconstruction; with the recipe's augmentation, the encoder reads the
    moved batch and the decoder must rebuild the unmoved digits."""
    view = encoder_view(tr, batch)
    if view is batch:
        return plain_reconstruction(tr, batch)
    out = encode_for_reconstruction(tr, view)
    rec = losses.reconstruction_loss(tr.model.decoder(out.z), batch.x)      # logits (B, 784)
    tr.optimize("recon", rec)
    return {"recon": rec.item()}


def fresh_codes(tr: "Trainer", batch: Batch) -> torch.Tensor:
    """Codes z ~ q(z|x) (B, Z) of the batch, kept for the generator phase of the same batch.

    The generator phase reuses the discriminator phase's codes (and their graph): only D changes in
    between, so they are the codes it would compute again. That saves a third of the encoder passes
    of a batch. The reconstruction phase drops them (the encoder moves there).
    """
    codes = tr.model.encoder(batch.x, sample=True, generator=tr.generator).z
    tr.scratch["codes"] = (batch, codes)
    return codes


def kept_codes(tr: "Trainer", batch: Batch) -> torch.Tensor:
    """The discriminator phase's codes of this batch if still valid, else fresh ones (used once)."""
    cached = tr.scratch.pop("codes", None)
    if cached is not None and cached[0] is batch:
        return cached[1]
    return tr.model.encoder(batch.x, sample=True, generator=tr.generator).z


def discriminator_phase(tr: "Trainer", batch: Batch, disc: torch.nn.Module, z_posterior: torch.Tensor,
                        prior_codes, optimizer: str) -> dict[str, float]:
    """D's update(s) on prior samples (real) against ``z_posterior`` (fake, already detached):
    L_D (+ the R1 penalty when the recipe asks for it), ``TrainConfig.disc_steps`` times, each
    against fresh samples ``prior_codes(B)``. Kinds with a conditioned D pass their own inputs."""
    penalise = tr.recipe.d_penalty > 0
    for _ in range(tr.config.disc_steps):
        z_prior = tr.d_input(prior_codes(batch.x.shape[0]))
        d_prior = disc(z_prior.requires_grad_(penalise))                      # (B,)
        d_posterior = disc(tr.d_input(z_posterior))                           # (B,)
        loss = losses.discriminator_loss(d_prior, d_posterior)
        if penalise:
            loss = loss + losses.r1_penalty(d_prior, z_prior, tr.recipe.d_penalty)
        tr.optimize(optimizer, loss)
    with torch.no_grad():
        d_acc = 0.5 * ((d_prior > 0).float().mean() + (d_posterior <= 0).float().mean())
    return {"disc": loss.item(), "d_acc": d_acc.item()}


def generator_phase(tr: "Trainer", disc: torch.nn.Module, z_posterior: torch.Tensor,
                    optimizer: str) -> dict[str, float]:
    """The encoder's update as generator: L_G on D's verdict of its codes; D is only the judge."""
    disc.requires_grad_(False)  # no gradients for D's weights in this phase
    try:
        loss = losses.generator_loss(disc(tr.d_input(z_posterior)))
    finally:
        disc.requires_grad_(True)
    tr.optimize(optimizer, loss)
    return {"gen": loss.item()}


def discriminator(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 2a: update D to output 1 on z ~ p(z) and 0 on the encoder's codes."""
    z_posterior = fresh_codes(tr, encoder_view(tr, batch)).detach()  # a constant: D's update cannot reach the encoder
    return discriminator_phase(tr, batch, tr.model.discriminator, z_posterior,
                               lambda n: tr.prior.sample(n, generator=tr.generator), "disc")


def generator(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 2b: update the encoder so that D takes its codes for prior samples."""
    z_posterior = kept_codes(tr, encoder_view(tr, batch))
    return generator_phase(tr, tr.model.discriminator, z_posterior, "gen")


class AdversarialKind(ModelKind):
    """What every kind with one discriminator ``model.discriminator`` against the encoder shares (the
    AAE, the label-conditioned and the supervised AAE): the reconstruction optimiser, D's and the
    encoder-as-generator's, and the D(z) map with its arrows in the snapshot. Subclasses give the
    phases and the model (not registered itself)."""

    optimizers = (RECON_OPTIMIZER,
                  OptimizerSpec("disc", lambda m: m.discriminator.parameters(), DISCRIMINATOR),
                  OptimizerSpec("gen", lambda m: m.encoder.parameters(), GENERATOR))
    snapshot_extras = ("d_grid", "arrows")

    def d_of_z(self, model: Autoencoder):
        return model.discriminator


@register_kind
class AAEKind(AdversarialKind):
    name = "aae"
    display_name = "AAE"
    description = "Adversarial autoencoder: a discriminator makes the codes match p(z)."
    phases = (("reconstruction", reconstruction), ("discriminator", discriminator), ("generator", generator))

    def build(self, config: ModelConfig) -> AAE:
        return AAE(config)
