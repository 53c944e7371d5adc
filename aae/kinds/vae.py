"""The variational autoencoder (VAE, Kingma & Welling 2014): one phase, reconstruction plus the
KL term, so its regulariser is a formula, not a game:

    L = L_rec + KL(q(z|x) ‖ p(z))

The KL needs q(z|x) as a density (the Gaussian encoder) and log p(z) finite everywhere, which is
why a VAE cannot use the swiss roll or the uniform square while an AAE can (paper §2.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import losses
from ..config import ModelConfig
from ..models import Autoencoder
from .ae import RECON_OPTIMIZER, encode_for_reconstruction
from .base import Batch, ModelKind, register_kind

if TYPE_CHECKING:
    from ..priors import Prior
    from ..train import Trainer


class VAE(Autoencoder):
    """Encoder (always Gaussian: ``ModelConfig`` sees to it) + decoder."""


def reconstruction_with_kl(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 1 of a VAE: update encoder + decoder on L_rec + KL. The prior gives the KL in closed
    form where it has one (the Gaussian), else the single-sample Monte-Carlo estimate is used."""
    out = encode_for_reconstruction(tr, batch)
    rec = losses.reconstruction_loss(tr.model.decoder(out.z), batch.x)
    kl = tr.prior.kl_from_gaussian(out.mu, out.logvar)
    if kl is None:
        kl = losses.monte_carlo_kl(out.z, out.mu, out.logvar, tr.prior)
    metrics = {"recon": rec.item(), "kl": kl.item()}
    tr.optimize("recon", rec + kl)
    return metrics


@register_kind
class VAEKind(ModelKind):
    name = "vae"
    display_name = "VAE"
    description = "Variational autoencoder: reconstruction plus a KL term towards p(z)."
    phases = (("reconstruction", reconstruction_with_kl),)
    optimizers = (RECON_OPTIMIZER,)
    encoder = "gaussian"

    def build(self, config: ModelConfig) -> VAE:
        return VAE(config)

    def prior_incompatibility(self, prior: "Prior") -> str | None:
        if not prior.has_density:
            return (f"A VAE cannot be trained with the {prior.display_name} prior: its KL term needs the "
                    f"density p(z) as a formula, and this prior has none — it can only be sampled. "
                    f"An AAE only needs samples of p(z), so it can (paper §2.1).")
        if not prior.full_support:
            return (f"A VAE cannot be trained with the {prior.display_name} prior: p(z) is zero outside its "
                    f"support, so log p(z) = −∞ for any code the Gaussian q(z|x) puts there and the KL term "
                    f"is infinite. An AAE only needs samples of p(z), so it can (paper §2.1).")
        return None
