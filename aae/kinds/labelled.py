"""The label-conditioned AAE (Makhzani et al. 2015, §2.3, Fig. 3-4): labels enter the adversarial
game, so each digit's codes go to its own part of p(z).

The discriminator sees the code together with a one-hot label y with one extra "unlabelled" slot
(10 + 1 inputs beside z). For a labelled digit of class k, the prior sample it is judged against
comes from component k of p(z) (petal k of the mixture; the k-th tenth of the swiss roll); an
unlabelled digit carries the extra slot and a sample from the whole prior. The game, eq. (1) with y:

    min_E max_D  E_{z~p(z|y)}[log D(z, y)] + E_{x~p_data}[log(1 − D(E(x), y(x)))]

D can now reject a 7's code that sits in petal 3 even though petal 3 is part of p(z): the encoder
must put every labelled digit in its own component, and the unlabelled ones anywhere on p(z).

Three phases per batch, as the AAE: ``reconstruction``, ``discriminator``, ``generator``. With the
recipe's ``augment_shift`` s > 0 all three encode the batch with every digit moved by up to s pixels
(``aae.kinds.categorical.augmented``, one draw per batch); the decoder rebuilds the unmoved digit.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..config import ModelConfig
from ..models import Autoencoder
from ..priors import N_COMPONENTS, Prior, _smooth
from .aae import AdversarialKind, code_discriminator, discriminator_phase, fresh_codes, generator_phase, kept_codes
from .. import losses
from .ae import encode_for_reconstruction
from .base import AdversarialRecipe, Batch, register_kind
from .categorical import augmented

if TYPE_CHECKING:
    from ..train import Trainer

# The game of every prior this kind takes (benchmarks/label_fit.py on mnist-5k, mixture, all labels,
# seed 0; own component / referee at the end, the README's "Labels in the game"): the sharp game,
# β1 0.5 without a penalty, reached 0.88 / 0.60 at its best within 3,600 steps and ended 4,800 steps
# at 0.87 / 0.63; D input noise 0.2 ended 4,800 steps at 0.77 / 0.79, denoising inputs (0.2) 3,600 at 0.55 / 0.80, and
# the smooth game (β1 0.9 + R1 1) was steadier but slower (0.79 / 0.68 at 3,600 steps).
# Held-out digits landed off their component while the training digits sat in theirs: random ±1-pixel
# translations of the encoder's inputs (augment_shift 1, the categorical AAE's augmentation) make the
# encoder, as a classifier of digits onto components, generalise. Medians of seeds 0-2 at 4,800 steps
# (own / referee): mixture 0.894 / 0.660 (was 0.822 / 0.685; with all learning rates decayed to 10 %
# over the run 0.862 / 0.658);
# swiss roll with denoising inputs 0.2 0.824 / 0.656 and with them and the decay 0.850 / 0.613, 2 of 3
# seeds fitted (was 0.674 / 0.776, none). Input dropout 0.2 is the swiss roll's only (a TrainConfig
# field): on the mixture, with the shift, it ended seed 0 at 0.58 / 0.77.
# A slower reconstruction phase (lr 3e-4, every other kind 1e-3) fits both priors: the encoder's pull
# towards codes that tell digits' styles apart no longer outweighs the generator phase's pull into the
# component, and the codes settle into the petal's or the tenth's shape instead of a fat clump. Seeds
# 0-2, 6,000 steps, fitted at (steps): mixture 1,200 · 1,300 · 1,200 (was 0/3 fitted within 6,000),
# swiss roll 2,700 · 2,200 · 2,500 (was 0/3); lr 5e-4 fitted the mixture at 2,600-6,000 steps and the
# swiss roll in 2 of 3 seeds; two D updates a batch fitted the mixture at 2,300-6,000 steps, not the roll.
LABELLED_RECIPE = AdversarialRecipe(lr_disc=1e-3, lr_gen=1e-3, beta1=0.5, d_penalty=0.0, d_input_noise=0.0,
                                    augment_shift=1, lr_recon=3e-4)
N_LABEL_SLOTS = N_COMPONENTS + 1   # ten digits + "unlabelled"
UNLABELLED = N_COMPONENTS          # index of the "unlabelled" slot
REFERENCE_SAMPLES = 10_000         # labelled prior sample behind ``component_of`` on priors without means


def label_slots(labels: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
    """One-hot labels with the "unlabelled" slot (B, 11): row i is e_{labels[i]} when labelled[i],
    else e_10."""
    slot = torch.where(labelled, labels, torch.full_like(labels, UNLABELLED))
    return nn.functional.one_hot(slot, N_LABEL_SLOTS).float()


class LabelledDiscriminator(nn.Module):
    """D(z, y): logit that z came from p(z | y) rather than from the encoder; input [z, y] (Z + 11)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        self.net = code_discriminator(config, extra_inputs=N_LABEL_SLOTS)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat((z, y), dim=1))                             # (B,)

    def given(self, y: torch.Tensor) -> nn.Module:
        """D with its label input fixed to ``y`` (B, 11): a z -> logits module, as the shared
        discriminator and generator phases (and the D(z) map) take."""
        return _Given(self, y)


class _Given(nn.Module):
    """z -> D(z, y) for a fixed y; ``requires_grad_`` reaches D's weights (the generator phase
    freezes them)."""

    def __init__(self, disc: LabelledDiscriminator, y: torch.Tensor) -> None:
        super().__init__()
        self.disc = disc
        self.y = y

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = self.y if self.y.shape[0] == z.shape[0] else self.y[:1].expand(z.shape[0], -1)
        return self.disc(z, y.to(z.device))


class LabelledAAE(Autoencoder):
    """Encoder + decoder + a discriminator on (code, label-or-unlabelled)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.discriminator = LabelledDiscriminator(config)


def prior_components(tr: "Trainer", batch: Batch) -> torch.Tensor:
    """The component each row's prior sample comes from (B,): its label when labelled, else a
    uniformly random one — which, with equal-weight components, is a sample of the whole prior."""
    anywhere = torch.randint(0, N_COMPONENTS, batch.labels.shape, generator=tr.generator, device=batch.labels.device)
    return torch.where(batch.labelled, batch.labels, anywhere)


def reconstruction(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 1: encoder + decoder minimise L_rec(x, decoder(E(x̃))) (``losses.reconstruction_loss``),
    x̃ the translated batch (``augmented``, when the recipe asks) with the recipe's input dropout;
    the decoder must rebuild the clean, unmoved digits x."""
    out = encode_for_reconstruction(tr, augmented(tr, batch))
    rec = losses.reconstruction_loss(tr.model.decoder(out.z), batch.x)      # logits (B, 784)
    tr.optimize("recon", rec)
    return {"recon": rec.item()}


def discriminator(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 2a: D learns 1 on (z ~ p(z | y), y) and 0 on (E(x), y), y = the batch's label slots."""
    y = label_slots(batch.labels, batch.labelled)                             # (B, 11)
    z_posterior = fresh_codes(tr, augmented(tr, batch)).detach()   # a constant here: D's update cannot reach the encoder
    disc = tr.model.discriminator.given(y)
    return discriminator_phase(
        tr, batch, disc, z_posterior,
        lambda n: tr.prior.sample(n, labels=prior_components(tr, batch), generator=tr.generator), "disc")


def generator(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 2b: the encoder learns to make D take (E(x), y) for a sample of p(z | y)."""
    y = label_slots(batch.labels, batch.labelled)                             # (B, 11)
    codes = kept_codes(tr, augmented(tr, batch))
    tr.scratch.pop("augmented", None)  # the batch's last encoder phase: its translated copy is done with
    return generator_phase(tr, tr.model.discriminator.given(y), codes, "gen")


@register_kind
class LabelledAAEKind(AdversarialKind):
    name = "labelled_aae"
    display_name = "Label-conditioned AAE"
    description = ("AAE whose discriminator also sees the digit's label: each labelled digit's codes go to "
                   "its own component of p(z) (paper §2.3).")
    phases = (("reconstruction", reconstruction), ("discriminator", discriminator), ("generator", generator))
    recipe = LABELLED_RECIPE

    def build(self, config: ModelConfig) -> LabelledAAE:
        return LabelledAAE(config)

    def prior_incompatibility(self, prior: Prior) -> str | None:
        if not prior.supports_labels or prior.n_components != N_COMPONENTS or prior.dim < 2:
            return (f"the label-conditioned AAE gives each digit its own part of p(z): it needs a prior with "
                    f"{N_COMPONENTS} labelled components in at least 2 dimensions, and the "
                    f"{prior.display_name} prior in {prior.dim}-D has none")
        return None

    def d_of_z(self, model: LabelledAAE):
        # The map and push drawn for an unlabelled digit: D's verdict against the whole prior.
        return model.discriminator.given(nn.functional.one_hot(torch.tensor([UNLABELLED]), N_LABEL_SLOTS).float())


# -- where codes land -------------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _reference(prior_name: str, dim: int, scale: float) -> tuple[object, np.ndarray]:
    """A k-d tree of a fixed labelled prior sample (first two coordinates) and its labels."""
    from scipy.spatial import cKDTree

    from ..priors import make_prior
    prior = make_prior(prior_name, dim=dim, scale=scale)
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(REFERENCE_SAMPLES) % N_COMPONENTS
    z = prior.sample(REFERENCE_SAMPLES, labels=labels, generator=g)[:, :2].numpy()
    return cKDTree(z), labels.numpy()


def component_of(codes: np.ndarray, prior: Prior) -> np.ndarray:
    """The component (= digit) of p(z) each code (N, Z) lies in, (N,) int64, from the first two
    coordinates (where the shape lives): on the mixture the nearest mean, argmin_k ‖z − μ_k‖; on
    other priors the label of the nearest of 10,000 fixed labelled prior samples."""
    z = np.asarray(codes, np.float32)[:, :2]
    means = getattr(prior, "component_means", None)
    if means is not None:
        mu = means().numpy()                                                   # (10, 2)
        return ((z[:, None, :] - mu[None]) ** 2).sum(-1).argmin(1).astype(np.int64)
    tree, labels = _reference(prior.name, prior.dim, prior.scale)
    _, idx = tree.query(np.nan_to_num(z, nan=1e6, posinf=1e6, neginf=-1e6))
    return labels[idx].astype(np.int64)


def own_component_rate(codes: np.ndarray, labels: np.ndarray, prior: Prior) -> float:
    """Share of codes that lie in their own digit's component: mean_i [component_of(z_i) = y_i]."""
    labels = np.asarray(labels).reshape(-1)
    if labels.size == 0:
        return float("nan")
    return float((component_of(codes, prior) == labels).mean())


def component_density(prior: Prior, resolution: int = 160, *, n_samples: int = 200_000, seed: int = 0) -> np.ndarray:
    """(10, R, R) each component's share of a fixed labelled prior sample per cell of an R × R grid
    over ``prior.bounds`` (rows: ascending z₂), scaled so the fullest cell of all is 1: the picture
    of where each digit is asked to go."""
    lo, hi = prior.bounds
    labels = torch.arange(n_samples) % N_COMPONENTS
    z = prior.sample(n_samples, labels=labels, generator=torch.Generator().manual_seed(seed))[:, :2].numpy()
    edges = np.linspace(lo, hi, resolution + 1)
    out = np.stack([_smooth(np.histogram2d(z[labels.numpy() == k, 1], z[labels.numpy() == k, 0],
                                           bins=(edges, edges))[0].astype(np.float32))
                    for k in range(N_COMPONENTS)])                             # (10, R, R)
    return out / max(float(out.sum(0).max()), 1e-12)


# -- Fig. 3's walks -----------------------------------------------------------------------------------

def component_walk(prior: Prior, component: int, n: int = 10) -> np.ndarray:
    """Codes (n, Z) along the long axis of mixture component ``component`` at Gaussian percentiles
    (5 %, 15 %, …, 95 % for n = 10): μ_k + σ_radial · Φ⁻¹(q_i) · u_k, u_k the petal's direction;
    the other coordinates at 0 (their mean)."""
    from ..viz import percentile_axis
    mu = prior.component_means()[component].numpy()                            # (2,)
    direction = mu / np.linalg.norm(mu)
    _, values = percentile_axis(n, prior.std_radial * prior.scale)
    z = np.zeros((n, prior.dim), np.float32)
    z[:, :2] = mu[None] + values[:, None] * direction[None]
    return z


def roll_walk(prior: Prior, n: int = 20) -> np.ndarray:
    """Codes (n, Z) along the swiss roll's centre line from its start (digit 0's tenth) to its end
    (digit 9's): the roll at fractions u_i = (i + ½)/n of its length; other coordinates at 0."""
    u = (torch.arange(n, dtype=torch.float32) + 0.5) / n
    z = np.zeros((n, prior.dim), np.float32)
    z[:, :2] = (prior.centre(u) * prior.scale).numpy()
    return z
