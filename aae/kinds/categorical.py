"""The categorical AAE (Makhzani et al. 2015, §5-§6): one model, used for semi-supervised
classification and for unsupervised clustering (and, with a learned projection, for
dimensionality reduction: ``aae.kinds.reduction``).

The encoder has two heads on one trunk: q(y|x), a softmax over n classes or clusters, and a style
code z. The decoder rebuilds x from (y, z). Two discriminators regularise the heads:

    D_y tells q(y|x) from one-hot samples of Cat(n)   (so y becomes a confident choice)
    D_z tells z from samples of p(z) = N(0, I)          (so z carries the style, not the class)

Phases per batch (the kind's table, in order):

1. ``reconstruction``  — encoder + decoder minimise L_rec(x, decoder(q(y|x), z));
2. ``discriminators``  — D_y and D_z learn their two-sample games (the codes are detached);
3. ``generator``       — the encoder, as the generator of both, learns to fool D_y and D_z;
4. ``classification``  — semi-supervised only: cross-entropy of q(y|x) on a labelled mini-batch;
5. ``baseline``        — semi-supervised only: the paper's "NN baseline", the same network trained
                         on the same labelled mini-batch with cross-entropy alone, in the same run.

Clustering is the same model without phases 4-5: no label is ever read. A cluster then takes the
label of the training digit it is most confident about (``aae.metrics.cluster_labels``).

The two heads are the two row blocks of the encoder's last Linear layer (rows [0, n) give y's
logits, rows [n, n + Z) give z), so the snapshot's copy of the encoder's Linear weights is the
whole encoder: a page can classify a drawn digit from it (``aae.viz.mlp_forward``). The
classification loss only depends on the y rows, so its gradient reaches the trunk and the y rows
and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from .. import metrics as M
from ..config import ConfigError, ModelConfig
from ..models import (IMAGE_SIZE, N_PIXELS, PRESET_DISC_HIDDEN, PRESET_HIDDEN, Autoencoder, Decoder, Discriminator,
                      mlp)
from .aae import discriminator_phase
from .ae import encode_for_reconstruction
from .base import (DISCRIMINATOR, GENERATOR, RECONSTRUCTION, AdversarialRecipe, Batch, ModelKind, OptimizerSpec,
                   register_kind)

if TYPE_CHECKING:
    from ..priors import Prior
    from ..probes import ProbeSettings
    from ..train import Trainer

N_STYLE_ROWS = 10       # rows of the style/content grid (each row one style z, each column one y)
N_MEMBERS = 8           # held-out digits shown beside each cluster head

# The two games' settings (benchmarks/categorical.py's sweep; README, "Semi-supervised classification
# and clustering"). 30 clusters on mnist-5k, seed 0, held-out error (clusters in use):
#   lr 1e-4, β1 0.5, no noise (the recipe before the sweep)   80 % (6) at 300 steps, 74 % at 600
#   lr 1e-3, β1 0.5, no noise                                  90 % (1): every q(y|x) at one vertex
#   lr 1e-3, β1 0.5, D-input noise 0.3                         57 % (11) at 1,500 steps
#   lr 1e-3, β1 0.9, D-input noise 0.3                         44 % (26) at 1,500, 43 % (28) at 2,000
#   ... and input dropout 0.2 (a denoising reconstruction)     40 % (29) at 1,500, 31 % (30) at 2,000
# β1 0.9 averages the generator's noisy push over many batches, so the digits do not all follow D_y's
# first gradient to one vertex; the noise on D's inputs (the paper-era stabiliser) keeps D_y smooth
# between the vertices, so a digit can still move from one cluster to another; the dropout makes the
# trunk's features robust, which is what the clusters are cut from. Lowering the reconstruction's lr
# instead (3e-4, or 1e-4 everywhere) leaves y unused: the decoder learns to do without it. No R1 penalty.
#   ... and random translations of ±1 pixel (augment_shift 1)  25 % at 3,000 (±2: 27 %, ±3: 38 %)
# The translations are a data augmentation the paper did not use: the encoder reads each digit moved by
# up to one pixel and the decoder rebuilds it unmoved, so q(y|x) must not depend on where the digit
# sits. At 100 labels (2,000 steps, seed 0) the AAE's error falls from 19.8 % to 10.8 %, 0.55 × its
# baseline's (which is trained on the same translated labelled digits: 19.6 %, from 22.0 %).
# Decaying the D-input noise to 0 over 2,000 steps (d_noise_decay_steps) collapses the clusters (40 %).
CATEGORICAL_RECIPE = AdversarialRecipe(lr_disc=1e-3, lr_gen=1e-3, beta1=0.9, d_penalty=0.0, d_input_noise=0.3,
                                       input_dropout=0.2, augment_shift=1)


@dataclass
class CategoricalOutput:
    y_logits: torch.Tensor   # (B, n) logits of q(y|x)
    z: torch.Tensor          # (B, Z) style code

    @property
    def y(self) -> torch.Tensor:
        """q(y|x) (B, n): the softmax the decoder and D_y see (the paper feeds y, not a sample)."""
        return torch.softmax(self.y_logits, dim=1)


class CategoricalEncoder(nn.Module):
    """x (B, 784) -> q(y|x) logits (B, n) and z (B, Z): ``net`` is the trunk plus one last Linear of
    n + Z outputs, whose first n rows are the y head and the rest the z head."""

    def __init__(self, *, n_classes: int, latent_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.latent_dim = latent_dim
        self.net = mlp([N_PIXELS, *hidden, n_classes + latent_dim])

    def forward(self, x: torch.Tensor, *, sample: bool = True,
                generator: torch.Generator | None = None) -> CategoricalOutput:
        h = self.net(x.reshape(x.shape[0], -1))                            # (B, n + Z)
        return CategoricalOutput(y_logits=h[:, : self.n_classes], z=h[:, self.n_classes:])

    @property
    def y_head(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The y head's weight (n, H) and bias (n,), views into the last Linear layer."""
        last = self.net[-1]
        return last.weight[: self.n_classes], last.bias[: self.n_classes]

    @property
    def z_head(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The z head's weight (Z, H) and bias (Z,), views into the last Linear layer."""
        last = self.net[-1]
        return last.weight[self.n_classes:], last.bias[self.n_classes:]


class CategoricalAAE(Autoencoder):
    """Two-headed encoder, a decoder of (y, z), D_y on Cat(n) and D_z on p(z).

    ``encode(x)`` is the style code z (what the latent plot shows against p(z)); ``classify(x)`` is
    q(y|x). ``decode(z)`` of bare style codes (B, Z) pairs row b with class b mod n, so a grid of
    fixed prior noise shows every class in turn; ``decode_yz`` takes both parts.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        hidden, n, z = PRESET_HIDDEN[config.preset], config.n_classes, config.latent_dim
        self.n_classes = n
        self.encoder = CategoricalEncoder(n_classes=n, latent_dim=z, hidden=hidden)
        self.decoder = self._make_decoder(hidden)
        disc_hidden = PRESET_DISC_HIDDEN[config.preset]
        self.disc_y = Discriminator(latent_dim=n, hidden=disc_hidden)
        self.disc_z = Discriminator(latent_dim=z, hidden=disc_hidden)

    def _make_decoder(self, hidden: tuple[int, ...]) -> nn.Module:
        return Decoder(latent_dim=self.n_classes + self.config.latent_dim, hidden=hidden)

    # the decoder's input from (y, z): concatenation here, W_C·y + z for the reduction kind
    def decoder_input(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.cat((y, z), dim=1)                                    # (B, n + Z)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """q(y|x) (B, n) of images x (B, 784) or (B, 28, 28) in [0, 1]."""
        return self.encoder(x).y

    def encode(self, x: torch.Tensor, *, sample: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        return self.encoder(x).z                                           # (B, Z)

    def decode_yz(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Images (B, 28, 28) for class or cluster probabilities y (B, n) and style codes z (B, Z)."""
        return torch.sigmoid(self.decoder(self.decoder_input(y, z))).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        y = F.one_hot(torch.arange(z.shape[0], device=z.device) % self.n_classes, self.n_classes).to(z.dtype)
        return self.decode_yz(y, z)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        out = self.encoder(x)
        return self.decode_yz(out.y, out.z)

    def cluster_heads(self) -> torch.Tensor:
        """What each class or cluster looks like without style: decode(y = one-hot(i), z = 0), (n, 28, 28)."""
        device = next(self.parameters()).device
        eye = torch.eye(self.n_classes, device=device)
        return self.decode_yz(eye, torch.zeros(self.n_classes, self.config.latent_dim, device=device))

    def style_grid(self, z_rows: torch.Tensor) -> torch.Tensor:
        """The paper's Fig. 8: row r decodes the style z_rows[r] (R, Z) with every y = one-hot(j):
        (R · n, 28, 28), row-major (rows share z, columns share y)."""
        r, n = z_rows.shape[0], self.n_classes
        y = torch.eye(n, device=z_rows.device).repeat(r, 1)                # (R·n, n)
        z = z_rows.repeat_interleave(n, dim=0)                             # (R·n, Z)
        return self.decode_yz(y, z)


class SemiSupervisedAAE(CategoricalAAE):
    """The categorical AAE plus the NN baseline: the same encoder network, trained on labels alone."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.baseline = mlp([N_PIXELS, *PRESET_HIDDEN[config.preset], config.n_classes])

    def classify_baseline(self, x: torch.Tensor) -> torch.Tensor:
        """The baseline's class probabilities (B, n)."""
        return torch.softmax(self.baseline(x.reshape(x.shape[0], -1)), dim=1)


def classify_with_weights(weights, images: Any, *, n_classes: int) -> np.ndarray:
    """q(y|x) (B, n) of images (B, 28, 28) or (B, 784) in [0, 1], from a copy of the encoder's Linear
    weights (``ModelView.encoder_weights``): the y head's logits are the first n outputs of the
    encoder's last layer, then a softmax. Equals ``CategoricalAAE.classify`` to float32 rounding;
    pages use it for a drawn digit without touching the live model."""
    from ..viz import mlp_forward
    x = np.asarray(images, np.float32).reshape(np.asarray(images).shape[0], -1)         # (B, 784)
    logits = mlp_forward(weights, x)[:, :n_classes]                                     # (B, n)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------- phases

def one_hot_samples(tr: "Trainer", n: int) -> torch.Tensor:
    """n samples of Cat(k) as one-hot rows (n, k), k = the model's classes, uniform over classes."""
    k = tr.model.n_classes
    idx = torch.randint(0, k, (n,), generator=tr.generator, device=tr.device)
    return F.one_hot(idx, k).float()


def shifted(x: torch.Tensor, shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Images x (B, 784) in [0, 1], each moved by its own random translation of −shift … +shift pixels
    along each axis (uniform integers; what moves out of the 28 × 28 frame is lost, what comes in is 0).
    ``shift`` 0 returns x itself."""
    if shift <= 0:
        return x
    b = x.shape[0]
    padded = F.pad(x.reshape(b, IMAGE_SIZE, IMAGE_SIZE), (shift, shift, shift, shift))   # (B, 28 + 2s, 28 + 2s)
    offset = torch.randint(0, 2 * shift + 1, (b, 2), generator=generator, device=x.device)  # (B, 2), s = no move
    grid = torch.arange(IMAGE_SIZE, device=x.device)
    rows = (offset[:, :1] + grid)[:, :, None]                              # (B, 28, 1)
    cols = (offset[:, 1:] + grid)[:, None, :]                              # (B, 1, 28)
    return padded[torch.arange(b, device=x.device)[:, None, None], rows, cols].reshape(b, N_PIXELS)


def warped(x: torch.Tensor, rotate: float, scale: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Images x (B, 784) in [0, 1], each turned by its own random angle of −rotate … +rotate degrees and
    resized by its own random factor in [1 − scale, 1 + scale] about the image centre (uniform draws;
    bilinear resampling, 0 outside the frame). ``rotate`` and ``scale`` both 0 return x itself."""
    if rotate <= 0 and scale <= 0:
        return x
    b = x.shape[0]
    u = torch.rand(b, 2, generator=generator, device=x.device) * 2 - 1                   # (B, 2) in [−1, 1)
    angle = u[:, 0] * (rotate * torch.pi / 180)
    factor = 1 + u[:, 1] * scale                                                          # > 1 enlarges the digit
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    zero = torch.zeros_like(cos)
    # affine_grid maps each output pixel to where it reads the input: the inverse of the wanted motion
    theta = torch.stack((torch.stack((cos, -sin, zero), 1), torch.stack((sin, cos, zero), 1)), 1)   # (B, 2, 3)
    img = x.reshape(b, 1, IMAGE_SIZE, IMAGE_SIZE)
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False).reshape(b, N_PIXELS)


def augment(x: torch.Tensor, recipe: AdversarialRecipe, generator: torch.Generator | None = None) -> torch.Tensor:
    """The recipe's augmentation of images x (B, 784): first its random rotations and scalings
    (``augment_rotate``, ``augment_scale``; ``warped``), then its random translations (``augment_shift``;
    ``shifted``). With all three 0, x itself."""
    return shifted(warped(x, recipe.augment_rotate, recipe.augment_scale, generator), recipe.augment_shift, generator)


def augments(recipe: AdversarialRecipe) -> bool:
    """Whether the recipe moves the encoder's inputs at all."""
    return recipe.augment_shift > 0 or recipe.augment_rotate > 0 or recipe.augment_scale > 0


def augmented(tr: "Trainer", batch: Batch) -> Batch:
    """The batch the encoder sees in this step's phases: with the recipe's augmentation (``augment``:
    translations of up to ``augment_shift`` pixels, rotations of up to ``augment_rotate`` degrees,
    scalings by up to ``augment_scale``), every image randomly moved (one draw per batch, shared by the
    reconstruction, discriminator and generator phases; the decoder still rebuilds the unmoved digits);
    else the batch itself."""
    if not augments(tr.recipe):
        return batch
    cached = tr.scratch.get("augmented")
    if cached is None or cached[0] is not batch:
        cached = (batch, Batch(x=augment(batch.x, tr.recipe, tr.generator), labels=batch.labels,
                               labelled=batch.labelled))
        tr.scratch["augmented"] = cached
    return cached[1]


def reconstruction(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 1: encoder + decoder minimise L_rec(x, decoder(q(y|x), z)) (``losses.reconstruction_loss``).
    The encoder reads the translated batch (``augmented``, when the recipe asks) with the recipe's
    input dropout; the decoder must rebuild the clean digits."""
    tr.scratch.pop("heads", None)  # the encoder is about to change: an earlier phase's outputs are stale
    out = encode_for_reconstruction(tr, augmented(tr, batch))  # with the recipe's input dropout, a denoising AE
    rec = losses.reconstruction_loss(tr.model.decoder(tr.model.decoder_input(out.y, out.z)), batch.x)
    metrics = {"recon": rec.item()}
    loss = rec
    extra = getattr(tr.model, "head_penalty", None)
    if extra is not None:  # the reduction kind: cluster heads closer than η are pushed apart (§7)
        pen = extra(tr.config.eta)
        metrics["heads"] = pen.item()
        loss = rec + pen
    tr.optimize("recon", loss)
    return metrics


def discriminators(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 2a: D_y learns one-hot samples of Cat(n) (real) from q(y|x) (fake); D_z learns
    z ~ p(z) (real) from the style codes (fake). The encoder's outputs are detached here."""
    out = tr.model.encoder(augmented(tr, batch).x)
    tr.scratch["heads"] = (batch, out)
    m_y = discriminator_phase(tr, batch, tr.model.disc_y, out.y.detach(), lambda n: one_hot_samples(tr, n), "disc_y")
    m_z = discriminator_phase(tr, batch, tr.model.disc_z, out.z.detach(),
                              lambda n: tr.prior.sample(n, generator=tr.generator, device=tr.device), "disc_z")
    return {"disc_y": m_y["disc"], "d_acc_y": m_y["d_acc"], "disc_z": m_z["disc"], "d_acc_z": m_z["d_acc"]}


def generator(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 2b: the encoder, as the generator of both heads, minimises L_G(D_y(y)) + L_G(D_z(z))."""
    cached = tr.scratch.pop("heads", None)
    out = cached[1] if cached is not None and cached[0] is batch else tr.model.encoder(augmented(tr, batch).x)
    tr.scratch.pop("augmented", None)  # the batch's last encoder phase: its translated copy is done with
    discs = (tr.model.disc_y, tr.model.disc_z)
    for d in discs:
        d.requires_grad_(False)  # D is only the judge in this phase
    try:
        gen_y = losses.generator_loss(tr.model.disc_y(tr.d_input(out.y)))
        gen_z = losses.generator_loss(tr.model.disc_z(tr.d_input(out.z)))
    finally:
        for d in discs:
            d.requires_grad_(True)
    loss, metrics = gen_y + gen_z, {"gen_y": gen_y.item(), "gen_z": gen_z.item()}
    if tr.recipe.consistency > 0 and augments(tr.recipe):
        cons = consistency_loss(out.y_logits, tr.model.encoder(augment(batch.x, tr.recipe, tr.generator)).y_logits)
        loss = loss + tr.recipe.consistency * cons
        metrics["consistency"] = cons.item()
    tr.optimize("gen", loss)
    return metrics


def consistency_loss(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """KL(q_a ‖ q_b) averaged over the batch, with q_a (the first augmentation's q(y|x)) held fixed:
    the second view's class probabilities are pulled towards the first's."""
    target = torch.softmax(logits_a.detach(), dim=1)
    return F.kl_div(torch.log_softmax(logits_b, dim=1), target, reduction="batchmean")


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of q(y|x) on labelled digits:  L_cls = −(1/B) Σ_b log q(y = t_b | x_b)."""
    return F.cross_entropy(logits, labels)


def _check_labels_fit(tr: "Trainer", labels: torch.Tensor) -> None:
    if int(labels.max()) >= tr.model.n_classes:
        raise ConfigError(f"the labels go up to {int(labels.max())} but q(y|x) has {tr.model.n_classes} classes: "
                          f"set model.n_classes to at least the dataset's number of classes")


def classification(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """Phase 3 (semi-supervised): q(y|x) learns the labels of a labelled mini-batch. The loss reads
    the y head only, so only the trunk and the y head move."""
    tr.scratch.pop("heads", None)
    labelled = tr.labelled_batch()
    if augments(tr.recipe):  # the baseline then learns from the same moved digits
        labelled = Batch(x=augment(labelled.x, tr.recipe, tr.generator), labels=labelled.labels,
                         labelled=labelled.labelled)
    _check_labels_fit(tr, labelled.labels)
    tr.scratch["labelled"] = labelled
    loss = classification_loss(tr.model.encoder(labelled.x).y_logits, labelled.labels)
    tr.optimize("classify", loss)
    return {"classify": loss.item()}


def baseline(tr: "Trainer", batch: Batch) -> dict[str, float]:
    """The NN baseline's update on the very labelled mini-batch the classification phase used."""
    labelled = tr.scratch.pop("labelled", None) or tr.labelled_batch()
    loss = classification_loss(tr.model.baseline(labelled.x), labelled.labels)
    tr.optimize("baseline", loss)
    return {"baseline": loss.item()}


def _encoder_and_decoder(m: nn.Module):
    # the reduction model's cluster heads W_C are trained with the reconstruction (and their penalty)
    return [p for name, p in m.named_parameters() if name.startswith(("encoder.", "decoder.", "heads_"))]


RECON = OptimizerSpec("recon", _encoder_and_decoder, RECONSTRUCTION)
DISC_Y = OptimizerSpec("disc_y", lambda m: m.disc_y.parameters(), DISCRIMINATOR)
DISC_Z = OptimizerSpec("disc_z", lambda m: m.disc_z.parameters(), DISCRIMINATOR)
GEN = OptimizerSpec("gen", lambda m: m.encoder.parameters(), GENERATOR)
# the classification phase's optimiser: AdamW at lr_recon over the encoder (the loss reaches only
# the trunk and the y head; weight decay, when set, shrinks the z head too)
CLASSIFY = OptimizerSpec("classify", lambda m: m.encoder.parameters(), RECONSTRUCTION)
BASELINE = OptimizerSpec("baseline", lambda m: m.baseline.parameters(), RECONSTRUCTION)


# --------------------------------------------------------------------------------- probes

def _held_out_probs(model: CategoricalAAE, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model.classify(x[i:i + batch]) for i in range(0, x.shape[0], batch)])


def log_q(logits: torch.Tensor) -> np.ndarray:
    """log q(y|x) (B, n) in float64 from the y head's logits (B, n), exact where q rounds to 1.

    A confident cluster gives many training digits q(y_i|x) = 1.0 in float32 (a logit margin above
    ~17 is enough), and then "the digit the cluster is surest of" would be whichever of them comes
    first. Here log q_i = (l_i − l_max) − log1p(Σ_{j ≠ argmax} exp(l_j − l_max)): the margin stays
    visible (log q = −1e-30 and −1e-20 are told apart), so the paper's rule ranks digits by it."""
    d = logits.detach().double()
    top, arg = d.max(dim=1, keepdim=True)
    d = d - top                                                            # ≤ 0, 0 at the argmax
    others = torch.exp(d).scatter(1, arg, 0.0).sum(dim=1, keepdim=True)    # Σ_{j ≠ argmax} exp(l_j − l_max)
    return (d - torch.log1p(others)).cpu().numpy()


def _reference_log_q(model: CategoricalAAE, x: torch.Tensor, batch: int = 1000) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([log_q(model.encoder(x[i:i + batch]).y_logits) for i in range(0, x.shape[0], batch)])


def _members(probs: np.ndarray, images: torch.Tensor, k: int) -> np.ndarray:
    """(n, k, 28, 28) uint8: per cluster, the k held-out digits assigned to it with the highest
    q(y_i|x) (blank where a cluster has fewer)."""
    n = probs.shape[1]
    assigned = probs.argmax(1)
    out = np.zeros((n, k, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    pix = (images.detach().cpu().reshape(-1, IMAGE_SIZE, IMAGE_SIZE).numpy() * 255).round().astype(np.uint8)
    for i in range(n):
        idx = np.flatnonzero(assigned == i)
        top = idx[np.argsort(-probs[idx, i], kind="stable")[:k]]
        out[i, : top.size] = pix[top]
    return out


def categorical_probe(model: CategoricalAAE, settings: "ProbeSettings", *, supervised: bool) -> dict[str, Any]:
    """What a categorical kind adds to a snapshot, measured on the job's fixed data:

    test_error      held-out error of q(y|x): semi-supervised, argmax y against the label;
                    clustering, each cluster named by ``metrics.cluster_labels`` on the reference
                    training digits (the paper's rule), then the held-out error
    baseline_error  semi-supervised: the NN baseline's held-out error
    heads           (n, 28, 28) decode(one-hot(i), z = 0)
    members         (n, 8, 28, 28) uint8 held-out digits assigned to each cluster
    cluster_label   (n,) the label each class or cluster stands for
    confusion       (C, C) held-out counts, rows = true label, columns = predicted label
    style_grid      (R · n, 28, 28) rows share z (fixed prior noise), columns share y
    """
    out: dict[str, Any] = {}
    device = next(model.parameters()).device
    with torch.no_grad():
        out["heads"] = model.cluster_heads().cpu().numpy()
        g = torch.Generator().manual_seed(0)
        z_rows = torch.randn(N_STYLE_ROWS, model.config.latent_dim, generator=g).to(device)
        out["style_grid"] = model.style_grid(z_rows).cpu().numpy()
    if settings.eval_x is None or settings.eval_labels is None:
        return out
    probs = _held_out_probs(model, settings.eval_x).cpu().numpy()
    labels = np.asarray(settings.eval_labels)
    if supervised:
        names = np.arange(model.n_classes)
        if isinstance(model, SemiSupervisedAAE):
            out["baseline_error"] = M.classification_error(_baseline_probs(model, settings.eval_x).argmax(1), labels)
    elif settings.reference_x is not None and settings.reference_labels is not None:
        names = M.cluster_labels(_reference_log_q(model, settings.reference_x), settings.reference_labels)
    else:
        return out
    predicted = names[probs.argmax(1)]
    out["test_error"] = M.classification_error(predicted, labels)
    out["cluster_label"] = names.astype(np.int64)
    out["members"] = _members(probs, settings.eval_x, N_MEMBERS)
    n_labels = int(max(labels.max(), names.max())) + 1
    out["confusion"] = M.confusion_matrix(labels, predicted, n_labels)
    return out


def _baseline_probs(model: SemiSupervisedAAE, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.classify_baseline(x).cpu().numpy()


def _floats(probed: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in probed.items() if isinstance(v, float)}


CATEGORICAL_EXTRAS = ("heads", "members", "cluster_label", "confusion", "style_grid")  # + the D(z) map on z


@register_kind
class SemiSupervisedKind(ModelKind):
    name = "semi_supervised"
    display_name = "Semi-supervised AAE"
    description = ("Categorical AAE with labels for a few digits: q(y|x) learns the classes from them, "
                   "the style z from every digit; beside it, the same network trained on the labels alone.")
    phases = (("reconstruction", reconstruction), ("discriminators", discriminators), ("generator", generator),
              ("classification", classification), ("baseline", baseline))
    optimizers = (RECON, DISC_Y, DISC_Z, GEN, CLASSIFY, BASELINE)
    snapshot_extras = (*CATEGORICAL_EXTRAS, "d_grid", "arrows")
    recipe = CATEGORICAL_RECIPE

    def build(self, config: ModelConfig) -> SemiSupervisedAAE:
        return SemiSupervisedAAE(config)

    def d_of_z(self, model: CategoricalAAE):
        return model.disc_z

    def probe(self, model, *, codes, prior, prior_sample, settings):
        return {**super().probe(model, codes=codes, prior=prior, prior_sample=prior_sample, settings=settings),
                **categorical_probe(model, settings, supervised=True)}

    def evaluate(self, model, *, settings):
        return _floats(categorical_probe(model, settings, supervised=True))


@register_kind
class ClusteringKind(ModelKind):
    name = "clustering"
    display_name = "Clustering AAE"
    description = ("Categorical AAE without labels: q(y|x) sorts the digits into n clusters, the style z "
                   "holds the rest; each cluster is named after the training digit it is surest of.")
    phases = (("reconstruction", reconstruction), ("discriminators", discriminators), ("generator", generator))
    optimizers = (RECON, DISC_Y, DISC_Z, GEN)
    snapshot_extras = (*CATEGORICAL_EXTRAS, "d_grid", "arrows")
    recipe = CATEGORICAL_RECIPE

    def build(self, config: ModelConfig) -> CategoricalAAE:
        return CategoricalAAE(config)

    def d_of_z(self, model: CategoricalAAE):
        return model.disc_z

    def probe(self, model, *, codes, prior, prior_sample, settings):
        return {**super().probe(model, codes=codes, prior=prior, prior_sample=prior_sample, settings=settings),
                **categorical_probe(model, settings, supervised=False)}

    def evaluate(self, model, *, settings):
        return _floats(categorical_probe(model, settings, supervised=False))
