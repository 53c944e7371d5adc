"""Losses of the AE, the VAE and the two players of the AAE, each with its formula.

The AAE objective (Makhzani et al. 2015, eq. 1) is the GAN game played on codes:

    min_E max_D  E_{z ~ p(z)} [log D(z)] + E_{x ~ p_data} [log(1 - D(E(x)))]

trained in three phases per batch, as the phase strip shows them: *reconstruction* (encoder +
decoder minimise the reconstruction error), then the paper's *regularisation* phase (§2) as two:
*discriminator* (D learns to tell prior samples from codes) and *generator* (the encoder learns to
fool D). D returns logits; every loss
below is computed from logits with ``binary_cross_entropy_with_logits``, which is stable where
sigmoid + log is not.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood, summed over pixels, averaged over the batch.

        L_rec = (1/B) Σ_b Σ_i −[x_bi log σ(l_bi) + (1 − x_bi) log(1 − σ(l_bi))]

    Summed over pixels (nats per image) so that it is the ELBO's likelihood term for the VAE.
    """
    return F.binary_cross_entropy_with_logits(logits, x.reshape(logits.shape), reduction="sum") / x.shape[0]


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor, prior_std: float = 1.0) -> torch.Tensor:
    """Closed-form KL(N(mu, σ²) ‖ N(0, s² I)), summed over latent dims, averaged over the batch.

        KL = ½ Σ_j [ (σ_j² + mu_j²) / s² − 1 − log σ_j² + log s² ]
    """
    s2 = prior_std ** 2
    kl = 0.5 * ((logvar.exp() + mu ** 2) / s2 - 1.0 - logvar + math.log(s2))
    return kl.sum(dim=1).mean()


def monte_carlo_kl(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, prior) -> torch.Tensor:
    """Single-sample Monte-Carlo KL(q(z|x) ‖ p(z)) for any prior with a closed-form density.

        KL ≈ (1/B) Σ_b [ log q(z_b | x_b) − log p(z_b) ],   z_b ~ q(z | x_b)

    ``prior.log_prob`` must exist (mog10 has one; the swiss roll does not, so a VAE cannot use it).
    """
    log_q = (-0.5 * ((z - mu) ** 2 / logvar.exp() + logvar + math.log(2 * math.pi))).sum(dim=1)
    log_p = prior.log_prob(z)
    return (log_q - log_p).mean()


def discriminator_loss(d_logits_prior: torch.Tensor, d_logits_posterior: torch.Tensor) -> torch.Tensor:
    """D's loss: prior samples are "real" (target 1), encoder codes are "fake" (target 0).

        L_D = −E_{z~p}[log D(z)] − E_{x}[log(1 − D(E(x)))]
    """
    real = F.binary_cross_entropy_with_logits(d_logits_prior, torch.ones_like(d_logits_prior))
    fake = F.binary_cross_entropy_with_logits(d_logits_posterior, torch.zeros_like(d_logits_posterior))
    return real + fake


def r1_penalty(d_logits_prior: torch.Tensor, z_prior: torch.Tensor, gamma: float) -> torch.Tensor:
    """R1 gradient penalty (Mescheder et al. 2018) on D at prior samples:

        R1 = (γ/2) E_{z~p}[ ‖∇_z D(z)‖² ]

    Keeps D's logit surface smooth where the prior lives, which damps the oscillation of the
    adversarial game. ``z_prior`` must have ``requires_grad`` set before D was applied to it.
    """
    (grad,) = torch.autograd.grad(d_logits_prior.sum(), z_prior, create_graph=True)
    return 0.5 * gamma * grad.pow(2).sum(dim=1).mean()


def generator_loss(d_logits_posterior: torch.Tensor) -> torch.Tensor:
    """The encoder's loss as generator, in the non-saturating form of Goodfellow et al.:

        L_G = −E_{x}[log D(E(x))]

    (rather than minimising log(1 − D(E(x))), whose gradient vanishes while D wins easily).
    """
    return F.binary_cross_entropy_with_logits(d_logits_posterior, torch.ones_like(d_logits_posterior))
