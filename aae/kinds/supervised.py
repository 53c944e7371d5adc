"""The supervised AAE (Makhzani et al. 2015, §4, Fig. 6-7): style apart from content.

The decoder receives the digit's one-hot label y beside the code z, and z is regularised to p(z)
(a Gaussian) by a discriminator on z alone. The label already says which digit to draw, so the
reconstruction loss gives z no reason to hold the identity, and the adversary removes any that it
tries to hold: z keeps only the style (slant, width, thickness). Decoding one style with each of the
ten labels draws the same handwriting as ten digits (Fig. 7).

    decoder input  [y, z]  (B, 10 + Z),   x̂ = σ(Dec([y, z]))
    reconstruction phase:  min_{E,Dec} L_rec(Dec([y, E(x)]), x)
    regularisation phase:  the AAE's game on z alone (``aae.kinds.aae``)

Every training digit's label is used (the supervised setting; ``TrainConfig.label_fraction`` is for
the semi-supervised kinds). ``ModelConfig.latent_dim`` is the style size: 2 to drag it on the latent
pad, 15 in the paper's figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from .. import losses
from ..config import ModelConfig
from ..models import IMAGE_SIZE, PRESET_HIDDEN, Autoencoder, Decoder
from ..priors import N_COMPONENTS
from .aae import AdversarialKind, code_discriminator, discriminator, generator
from .ae import encode_for_reconstruction
from .base import Batch, register_kind

if TYPE_CHECKING:
    from ..train import Trainer

N_DIGITS = N_COMPONENTS


def one_hot(labels: torch.Tensor) -> torch.Tensor:
    """(B,) int64 digits -> (B, 10) float one-hot."""
    return nn.functional.one_hot(labels.long(), N_DIGITS).float()


def cycle_labels(n: int, device=None) -> torch.Tensor:
    """(n,) digits 0, 1, …, 9, 0, 1, …: what ``decode`` draws when it is given no labels, so a
    10-column grid of codes shows each digit in its own column (and the job's ten reconstruction
    inputs, one per class in order, get their own labels)."""
    return torch.arange(n, device=device) % N_DIGITS


class SupervisedAAE(Autoencoder):
    """Encoder x -> z (style), decoder [y, z] -> x, discriminator on z."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        # Decoder input: one-hot label (10) then the style code (Z); Linear layers as every
        # decoder, so the browser and viz.decode_with_weights run it unchanged (``digit_inputs``).
        self.decoder = Decoder(latent_dim=N_DIGITS + config.latent_dim, hidden=PRESET_HIDDEN[config.preset])
        self.discriminator = code_discriminator(config)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images (B, 28, 28) of digits ``labels`` (B,) in styles z (B, Z); without labels,
        ``cycle_labels``."""
        if labels is None:
            labels = cycle_labels(z.shape[0], z.device)
        logits = self.decoder(torch.cat((one_hot(labels).to(z.device), z), dim=1))    # (B, 784)
        return torch.sigmoid(logits).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)

    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The digits x (B, 784) rebuilt from their style codes and their labels (default
        ``cycle_labels``: pass the true labels)."""
        return self.decode(self.encode(x), labels)

    def decode_given(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.decode(z, labels)

    def reconstruct_given(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.reconstruct(x, labels)

    def sample(self, n: int, prior, *, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` digits (default ``cycle_labels``) in styles drawn from ``prior``: (n, 28, 28)."""
        device = next(self.parameters()).device
        return self.decode(prior.sample(n, generator=generator, device=device), labels)

    def style_grid(self, styles: torch.Tensor) -> torch.Tensor:
        """Fig. 7: every style (R, Z) drawn as each digit: (R, 10, 28, 28), row r = style r."""
        r = styles.shape[0]
        z = styles.repeat_interleave(N_DIGITS, dim=0)                              # (R*10, Z)
        return self.decode(z, cycle_labels(r * N_DIGITS, styles.device)).reshape(r, N_DIGITS, IMAGE_SIZE, IMAGE_SIZE)


def reconstruction(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 1: encoder + decoder minimise L_rec(Dec([y, E(x)]), x), y the batch's one-hot labels."""
    out = encode_for_reconstruction(tr, batch)
    logits = tr.model.decoder(torch.cat((one_hot(batch.labels), out.z), dim=1))  # (B, 784)
    rec = losses.reconstruction_loss(logits, batch.x)
    metrics = {"recon": rec.item()}
    tr.optimize("recon", rec)
    return metrics


@register_kind
class SupervisedAAEKind(AdversarialKind):
    name = "supervised_aae"
    display_name = "Supervised AAE (style and content)"
    description = ("AAE whose decoder is told the digit: the code z, matched to a Gaussian, keeps only the "
                   "handwriting style (paper §4).")
    phases = (("reconstruction", reconstruction), ("discriminator", discriminator), ("generator", generator))

    def build(self, config: ModelConfig) -> SupervisedAAE:
        return SupervisedAAE(config)


# -- the decoder from a copy of its weights (pages, the browser) -------------------------------------

Weights = Any  # [(W (out, in), b (out,)), ...] as Snapshot.decoder_weights holds them


def digit_inputs(styles: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """The decoder's input [one-hot(digit), style] (B, 10 + Z) for styles (B, Z) and digits (B,)."""
    styles = np.atleast_2d(np.asarray(styles, np.float32))
    digits = np.asarray(digits, np.int64).reshape(-1)
    return np.concatenate([np.eye(N_DIGITS, dtype=np.float32)[digits], styles], axis=1)


def style_grid_from_weights(weights: Weights, styles: np.ndarray) -> np.ndarray:
    """``SupervisedAAE.style_grid`` from a copy of the decoder's weights: (R, 10, 28, 28)."""
    from ..viz import decode_with_weights
    styles = np.atleast_2d(np.asarray(styles, np.float32))
    r = styles.shape[0]
    x = digit_inputs(np.repeat(styles, N_DIGITS, axis=0), np.tile(np.arange(N_DIGITS), r))
    return decode_with_weights(weights, x).reshape(r, N_DIGITS, IMAGE_SIZE, IMAGE_SIZE)


def fold_digit(weights: Weights, digit: int, rest: np.ndarray | None = None, *, n_free: int = 2) -> list:
    """The decoder of one digit as a decoder of ``n_free`` style coordinates alone, for the 2-D latent
    pad: the first layer's columns of the fixed inputs move into its bias,

        W' = W[:, 10 : 10 + n_free],   b' = b + W[:, digit] + W[:, 10 + n_free :] · rest

    (``rest``: the style's other coordinates, default 0). Same maths, so the browser decodes it as
    any 2-D decoder: ``decode_with_weights(fold_digit(w, k), z) == decode(z, k)``."""
    (w, b), *others = [(np.asarray(w, np.float32), np.asarray(b, np.float32)) for w, b in weights]
    n_style = w.shape[1] - N_DIGITS
    rest = np.zeros(n_style - n_free, np.float32) if rest is None else np.asarray(rest, np.float32).reshape(-1)
    if rest.shape[0] != n_style - n_free:
        raise ValueError(f"rest must hold the {n_style - n_free} other style coordinates, got {rest.shape[0]}")
    bias = b + w[:, digit] + w[:, N_DIGITS + n_free:] @ rest
    return [(np.ascontiguousarray(w[:, N_DIGITS:N_DIGITS + n_free]), bias.astype(np.float32)), *others]
