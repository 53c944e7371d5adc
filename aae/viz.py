"""Pictures of a 2-D latent space as plain numpy arrays: no plotting library, no Streamlit.

* ``image_grid``        — tile (N, 28, 28) images into one picture;
* ``mlp_forward`` / ``decode_with_weights`` — the decoder's forward pass from a snapshot's
  ``decoder_weights`` ([(W, b), ...] per Linear), so the UI decodes without touching a live model;
* ``manifold_grid``     — the codes of an n × n grid over the prior: for a Gaussian on its
  percentiles (the paper's Fig. 2e), for any other prior over its bounds, with each cell's share
  of the prior's mass so that holes show;
* ``interpolate``       — a straight path between two codes;
* ``PixelIndex``        — the training images nearest to a decoded digit (the paper's Fig. 5
  check that the model does not just copy its training set).

Example::

    grid = manifold_grid(make_prior("gaussian"), 10)
    images = decode_with_weights(snap.decoder_weights, grid.z)        # (100, 28, 28)
    picture = image_grid(images, ncols=grid.n)                        # (10·30, 10·30)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Sequence

import numpy as np

IMAGE_SIDE = 28
DENSITY_SUBSAMPLES = 8          # closed-form density: an 8 × 8 sub-grid per cell averages thin shapes
HISTOGRAM_SAMPLES = 200_000     # sample-only priors: cell mass from this many fixed-seed draws
HISTOGRAM_SEED = 0

Weights = Sequence[tuple[np.ndarray, np.ndarray]]


# ------------------------------------------------------------------------------------ images

def image_grid(images: np.ndarray, ncols: int, *, pad: int = 1, pad_value: float = 0.5) -> np.ndarray:
    """Tile images (N, H, W) in [0, 1] into one float32 picture, ``ncols`` per row, row-major,
    with ``pad`` pixels of ``pad_value`` around each tile; missing tiles in the last row are
    ``pad_value``. ``image_grid(np.zeros((6, 28, 28)), 3).shape == (60, 90)``."""
    imgs = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
    if imgs.ndim != 3:
        raise ValueError(f"images must be (N, H, W), got shape {imgs.shape}")
    if not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    n, h, w = imgs.shape
    nrows = max(1, -(-n // ncols))
    tiles = np.full((nrows * ncols, h, w), pad_value, np.float32)
    tiles[:n] = imgs
    tiles = np.pad(tiles, ((0, 0), (pad, pad), (pad, pad)), constant_values=pad_value)
    th, tw = h + 2 * pad, w + 2 * pad
    grid = tiles.reshape(nrows, ncols, th, tw).transpose(0, 2, 1, 3)          # (rows, th, cols, tw)
    return np.ascontiguousarray(grid.reshape(nrows * th, ncols * tw))


# ------------------------------------------------------------------------------------ the decoder in numpy

NO_BLAS_MAX_ROWS = 256  # up to this batch size, products skip BLAS (see _matmul_t)


def _matmul_t(h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """h (B, in) @ w.T (in, out). Small batches avoid BLAS on purpose: numpy's multithreaded
    OpenBLAS stalls when a training thread keeps both cores busy (measured on 2 cores while a
    torch loop trains: a 10-code decode 0.2 ms median but 28 ms p90 through BLAS; the
    nearest-image search 16 ms through BLAS, 0.4 ms with einsum's own loops)."""
    if h.shape[0] <= NO_BLAS_MAX_ROWS:
        return np.einsum("bi,oi->bo", h, w)
    return h @ w.T


def mlp_forward(weights: Weights, x: np.ndarray) -> np.ndarray:
    """``x`` (B, in) through Linear layers [(W (out, in), b (out,)), ...] with ReLU between them
    and nothing after the last — the layout of ``aae.models.mlp``. float32 throughout."""
    if not weights:
        raise ValueError("weights is empty: expected [(W, b), ...] for each Linear layer")
    h = np.asarray(x, np.float32)
    if h.ndim == 1:
        h = h[None, :]
    last = len(weights) - 1
    for i, (w, b) in enumerate(weights):
        w = np.asarray(w, np.float32)
        if h.shape[1] != w.shape[1]:
            raise ValueError(f"layer {i} takes {w.shape[1]} inputs, got {h.shape[1]}")
        h = _matmul_t(h, w) + np.asarray(b, np.float32)                        # (B, out)
        if i < last:
            np.maximum(h, 0.0, out=h)
    return h


def decode_with_weights(weights: Weights, z: Any) -> np.ndarray:
    """Images (B, 28, 28) in [0, 1] = sigmoid(decoder(z)) for codes z (B, 2) or one code (2,).

    The same function as ``Autoencoder.decode`` (to float32 rounding), computed from a copy of the
    decoder's weights, as ``Snapshot.decoder_weights`` and the browser's latent pad hold them."""
    logits = mlp_forward(weights, np.atleast_2d(np.asarray(z, np.float32)))
    # sigmoid without overflow warnings for large negative logits
    out = np.empty_like(logits)
    pos = logits >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-logits[pos]))
    e = np.exp(logits[~pos])
    out[~pos] = e / (1.0 + e)
    return out.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


def encode_with_weights(weights: Weights, images: Any, *, latent_dim: int) -> np.ndarray:
    """Mean codes (B, latent_dim) of images (B, 28, 28) or (B, 784) in [0, 1], from a copy of the
    encoder's Linear weights — the same as ``Autoencoder.encode`` (sample=False) for every encoder
    kind: a gaussian encoder's first ``latent_dim`` outputs are mu; a universal encoder's noise
    input η (the columns beyond the 784 pixels) is set to 0."""
    x = np.asarray(images, np.float32).reshape(np.asarray(images).shape[0], -1)       # (B, 784)
    n_in = int(np.asarray(weights[0][0]).shape[1])
    if n_in > x.shape[1]:
        x = np.concatenate([x, np.zeros((x.shape[0], n_in - x.shape[1]), np.float32)], axis=1)
    return mlp_forward(weights, x)[:, :latent_dim]


# ------------------------------------------------------------------------------------ manifold grid

@dataclass(frozen=True)
class ManifoldGrid:
    """An n × n grid of codes to decode, row 0 at the top (largest z₂), like the picture.

    ``z``: (n·n, 2) row-major codes. ``axis``: (n,) the z₁ values of the columns (and, reversed,
    the z₂ values of the rows). ``density``: (n, n) in [0, 1], each cell's share of the prior's
    mass relative to the fullest cell (all ones on the percentile grid, where every cell holds the
    same mass by construction). ``kind``: "percentile" or "bounds". ``quantiles``: (n,) for the
    percentile grid, else ``None``.
    """

    n: int
    z: np.ndarray
    axis: np.ndarray
    density: np.ndarray
    kind: str
    quantiles: np.ndarray | None = None


def percentile_axis(n: int, std: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(quantiles, values): q_i = (i + ½)/n, the centres of n equal-mass slices of N(0, std²),
    and their values std·Φ⁻¹(q_i). For n = 10: 5 %, 15 %, …, 95 % → ±1.645·std at the ends."""
    q = (np.arange(n, dtype=np.float64) + 0.5) / n
    nd = NormalDist(0.0, float(std))
    return q, np.array([nd.inv_cdf(float(v)) for v in q], np.float64)


def manifold_grid(prior: Any, n: int, *, bounds: tuple[float, float] | None = None,
                  percentiles: bool | None = None, sample: np.ndarray | None = None) -> ManifoldGrid:
    """The codes of an n × n manifold grid over ``prior`` (an ``aae.priors.Prior``, 2-D).

    Gaussian prior (default): both axes at the prior's percentiles (paper Fig. 2e), so each cell
    holds 1/n² of p(z) and the grid shows the whole prior evenly. Any other prior (or
    ``percentiles=False``): cell centres of an even grid over ``bounds`` (default
    ``prior.bounds``), with ``density`` = each cell's mass under p(z) divided by the largest cell's
    mass — from the closed form (averaged over an 8 × 8 sub-grid per cell, so thin shapes such as
    the mixture's petals are not missed between centres) when the prior has one, else from the
    histogram of a fixed 200,000-point sample. Cells with ``density`` ≈ 0 are holes of p(z): the
    decoder was never asked to produce anything there.

    ``sample`` (N, 2): shade by the histogram of these points instead (e.g. a plain autoencoder's
    codes, which follow no prior), on an even grid over ``bounds``.
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer ≥ 2, got {n!r}")
    if percentiles is None:
        percentiles = sample is None and getattr(prior, "name", "") == "gaussian"
    if percentiles:
        q, axis = percentile_axis(n, float(getattr(prior, "scale", 1.0)))
        density = np.ones((n, n), np.float32)
        kind = "percentile"
    else:
        lo, hi = (float(b) for b in (bounds or prior.bounds))
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"bounds must be finite with lo < hi, got {(lo, hi)}")
        step = (hi - lo) / n
        axis = lo + (np.arange(n) + 0.5) * step
        density = cell_mass(prior, n, (lo, hi)) if sample is None else histogram_mass(sample, n, (lo, hi))
        q = None
        kind = "bounds"
    gx, gy = np.meshgrid(axis, axis[::-1])                 # row 0 = top = largest z₂
    z = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    return ManifoldGrid(n=int(n), z=z, axis=axis.astype(np.float32), density=density, kind=kind,
                        quantiles=None if q is None else q.astype(np.float32))


def cell_mass(prior: Any, n: int, bounds: tuple[float, float]) -> np.ndarray:
    """(n, n) relative mass of p(z) per cell of an even grid over ``bounds`` (row 0 = top),
    peak 1 (see ``manifold_grid``)."""
    lo, hi = bounds
    if getattr(prior, "has_density", False):
        import torch  # the prior's density is a torch function; viz itself stays numpy
        s = DENSITY_SUBSAMPLES
        fine = lo + (np.arange(n * s) + 0.5) * (hi - lo) / (n * s)
        gx, gy = np.meshgrid(fine, fine[::-1])
        pts = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
        if getattr(prior, "dim", 2) > 2:
            pts = np.concatenate([pts, np.zeros((len(pts), prior.dim - 2), np.float32)], axis=1)
        lp = prior.log_prob(torch.from_numpy(pts)).double().numpy()
        dens = np.exp(lp - np.max(lp[np.isfinite(lp)])) if np.isfinite(lp).any() else np.zeros_like(lp)
        dens = np.nan_to_num(dens, nan=0.0).reshape(n, s, n, s).mean(axis=(1, 3))
    else:
        import torch
        g = torch.Generator().manual_seed(HISTOGRAM_SEED)
        pts = prior.sample(HISTOGRAM_SAMPLES, generator=g)[:, :2].numpy()
        edges = np.linspace(lo, hi, n + 1)
        return histogram_mass(pts, n, bounds)
    peak = float(dens.max())
    return (dens / peak if peak > 0 else dens).astype(np.float32)


def histogram_mass(points: Any, n: int, bounds: tuple[float, float]) -> np.ndarray:
    """(n, n) histogram of 2-D ``points`` over an even grid on ``bounds`` (row 0 = top), peak 1."""
    pts = np.asarray(points, np.float64)[:, :2]
    edges = np.linspace(bounds[0], bounds[1], n + 1)
    hist, _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=(edges, edges))    # rows = z₂ ascending
    dens = hist[::-1]
    peak = float(dens.max())
    return (dens / peak if peak > 0 else dens).astype(np.float32)


# ------------------------------------------------------------------------------------ paths

def interpolate(z_start: Any, z_end: Any, n: int) -> np.ndarray:
    """``n`` evenly spaced codes on the straight line from ``z_start`` to ``z_end``, both included:
    z_i = (1 − t_i) z_start + t_i z_end, t_i = i/(n − 1). Shape (n, d), float32."""
    a = np.asarray(z_start, np.float64).reshape(-1)
    b = np.asarray(z_end, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"start {a.shape} and end {b.shape} must have the same dimension")
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer ≥ 2, got {n!r}")
    t = np.linspace(0.0, 1.0, n)[:, None]
    return ((1.0 - t) * a + t * b).astype(np.float32)


# ------------------------------------------------------------------------------------ nearest images

class PixelIndex:
    """The training images, ready for nearest-neighbour queries by L2 distance in pixel space.

        d(x, t) = ||x − t||₂ over the 784 pixels in [0, 1]

    ``PixelIndex(train_images).nearest(decoded, k=5)`` → (indices, distances), closest first.
    Built once per dataset (it keeps a float32 copy and the squared norms).
    """

    def __init__(self, images: Any) -> None:
        arr = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
        if arr.ndim != 3:
            raise ValueError(f"images must be (N, 28, 28), got shape {arr.shape}")
        flat = arr.reshape(arr.shape[0], -1)
        self.images = (flat.astype(np.float32) / 255.0) if arr.dtype == np.uint8 else flat.astype(np.float32)
        self.sq_norms = np.einsum("ij,ij->i", self.images, self.images)

    def __len__(self) -> int:
        return self.images.shape[0]

    def nearest(self, image: Any, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Indices (k,) and L2 distances (k,) of the ``k`` training images closest to ``image``
        (28, 28) or (784,) in [0, 1], nearest first (ties: the lower index first)."""
        q = np.asarray(image, np.float32).reshape(-1)
        if q.shape[0] != self.images.shape[1]:
            raise ValueError(f"image has {q.shape[0]} pixels, the index holds {self.images.shape[1]}")
        k = int(min(max(k, 1), len(self)))
        # ||x − t||² = ||x||² + ||t||² − 2 x·t, clamped at 0 against rounding
        dots = np.einsum("ij,j->i", self.images, q)     # no BLAS: see _matmul_t
        d2 = np.maximum(self.sq_norms + float(q @ q) - 2.0 * dots, 0.0)
        idx = np.argpartition(d2, k - 1)[:k] if k < len(self) else np.arange(len(self))
        order = np.lexsort((idx, d2[idx]))
        idx = idx[order]
        return idx, np.sqrt(d2[idx])


# ------------------------------------------------------------------------------------ windows

def covering_bounds(points: Any, at_least: tuple[float, float], *, margin: float = 0.05,
                    step: float = 0.5) -> tuple[float, float]:
    """A symmetric window (−h, h) holding every finite point of ``points`` (N, ≥2) with a
    ``margin`` (fraction of h) to spare, never smaller than ``at_least``, h rounded up to ``step``
    — the shared axes when a plain AE's codes sprawl far beyond p(z)."""
    half = max(abs(float(at_least[0])), abs(float(at_least[1])))
    pts = np.asarray(points, np.float64) if points is not None else np.zeros((0, 2))
    if pts.size:
        pts = pts[:, :2][np.isfinite(pts[:, :2]).all(axis=1)]
        if pts.size:
            half = max(half, float(np.abs(pts).max()) * (1.0 + margin))
    half = math.ceil(half / step - 1e-9) * step
    return (-half, half)


def paper(images: Any, scale: int = 1) -> np.ndarray:
    """Images in [0, 1] (1 = ink) as uint8 dark ink on white paper — how the latent pad draws its
    digit — upscaled ``scale`` times by pixel repetition (crisp on a projector)."""
    out = np.round(255.0 * (1.0 - np.clip(np.asarray(images, np.float32), 0.0, 1.0))).astype(np.uint8)
    if scale > 1:
        out = np.repeat(np.repeat(out, scale, axis=-2), scale, axis=-1)
    return out
