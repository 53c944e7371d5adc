"""Numbers that say how well a model is doing, each with its formula in the docstring.

* prior fit: how close the encoder's codes q(z) are to the prior p(z) —
  `sliced_wasserstein`, `mmd`, and the scale-free `prior_fit_ratio` shown on the live page;
* the autoencoder: `reconstruction_nats` (the training loss, nats per image: the unit the pages
  show) and `reconstruction_error` (pixel MSE);
* the adversarial game: `discriminator_accuracy` (0.5 = D cannot tell q(z) from p(z));
* the latent space: `knn_accuracy` (do codes of one class sit together?);
* classes and clusters: `classification_error`, `cluster_labels` (the paper's rule that names a
  cluster), `confusion_matrix`, `cluster_purity`;
* the generator: `parzen_log_likelihood` + `choose_parzen_sigma`, the Gaussian-Parzen-window
  protocol of Goodfellow et al. (2014) that the AAE paper uses for its log-likelihood tables (§3).

Every function takes torch tensors (any device, detached here) or numpy arrays, computes on the
CPU in float64, and is deterministic: the only randomness (slicing directions) comes from a seeded
``torch.Generator``. Nothing happens at import.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .data import to_float

__all__ = [
    "sliced_wasserstein",
    "mmd",
    "prior_fit_ratio",
    "reconstruction_error",
    "reconstruction_nats",
    "discriminator_accuracy",
    "knn_accuracy",
    "classification_error",
    "cluster_labels",
    "cluster_purity",
    "confusion_matrix",
    "referee_accuracy",
    "parzen_log_likelihood",
    "choose_parzen_sigma",
    "DEFAULT_MMD_BANDWIDTHS",
    "DEFAULT_PARZEN_SIGMAS",
]

DEFAULT_MMD_BANDWIDTHS: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)
# Goodfellow et al.'s parzen_ll.py cross-validates σ over numpy.logspace(-1, 0, 10) for MNIST
# pixels in [0, 1]; the AAE paper follows that protocol.
DEFAULT_PARZEN_SIGMAS: np.ndarray = np.logspace(-1.0, 0.0, 10)
DEFAULT_PARZEN_SIGMAS.setflags(write=False)

# Pairwise blocks in `mmd` are at most this many rows × columns of float64 (≈ 32 MB).
_MMD_BLOCK = 2000
# Up to this dimension sliced_wasserstein projects without BLAS (see `_project`).
_NO_BLAS_MAX_DIM = 64
# A Wasserstein distance below this counts as zero when it is a denominator.
_ZERO_DISTANCE = 1e-12


# --------------------------------------------------------------------------- helpers

def _to_numpy(x: Any, name: str) -> np.ndarray:
    """A float64 numpy copy-or-view of a tensor / array / nested list (no unit scaling)."""
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"{name}: expected real numbers, got dtype {x.dtype}")
        arr = x.detach().to(device="cpu", dtype=torch.float64).numpy()
    else:
        arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _points(x: Any, name: str) -> np.ndarray:
    """A finite float64 point cloud of shape (N, d); a 1-D input is N points in one dimension."""
    arr = _to_numpy(x, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected shape (N, d) or (N,), got {tuple(arr.shape)}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: needs at least one point of at least one dimension, "
                         f"got shape {tuple(arr.shape)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values (did training diverge?)")
    return arr


def _pair(a: Any, b: Any, name_a: str, name_b: str) -> tuple[np.ndarray, np.ndarray]:
    pa, pb = _points(a, name_a), _points(b, name_b)
    if pa.shape[1] != pb.shape[1]:
        raise ValueError(f"{name_a} has dimension {pa.shape[1]} but {name_b} has "
                         f"dimension {pb.shape[1]}; they must live in the same space")
    return pa, pb


def _unit_images(x: Any, name: str) -> np.ndarray:
    """Images as float64 (N, pixels) in [0, 1] pixel units.

    uint8 input (the dataset contract: 0–255) is divided by 255; float input must already be in
    [0, 1] (a decoder's output after the sigmoid), and is refused otherwise so that logits or
    0–255 floats cannot silently produce a meaningless number.
    """
    raw = x.detach().to("cpu").numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if raw.ndim < 2:
        raise ValueError(f"{name}: expected a batch of images (N, 784) or (N, 28, 28), "
                         f"got shape {tuple(raw.shape)}")
    if raw.dtype == np.uint8:
        arr = raw.astype(np.float64) / 255.0
    else:
        arr = _to_numpy(raw, name)
    arr = arr.reshape(arr.shape[0], -1)
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: empty batch")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1e-4 or hi > 1 + 1e-4:
        raise ValueError(f"{name}: pixel values span [{lo:.3g}, {hi:.3g}] but must be in [0, 1] "
                         "(pass uint8 0–255 images, or decoder outputs after the sigmoid, "
                         "not logits)")
    return arr


@lru_cache(maxsize=64)
def _directions(d: int, n_projections: int, seed: int) -> np.ndarray:
    """(d, P) random unit vectors, uniform on the sphere, from a seeded torch.Generator."""
    gen = torch.Generator().manual_seed(seed)
    theta = torch.randn(d, n_projections, generator=gen, dtype=torch.float64)  # (d, P)
    theta /= theta.norm(dim=0, keepdim=True)
    out = theta.numpy()
    out.setflags(write=False)  # cached and shared between calls
    return out


def _project(points: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """(P, N) projections θ_p · x_n of (N, d) points on (d, P) directions.

    For the low-dimensional codes of the live page this avoids BLAS on purpose: numpy's
    multithreaded BLAS (like torch's thread pool) stalls ~15 ms per call on small products when
    both cores are busy, e.g. with a training thread (measured: (256×2)·(2×1500) took 16 ms
    through BLAS, ~0.1 ms per dimension as d broadcast products). Wide inputs go to BLAS.
    """
    d = points.shape[1]
    if d > _NO_BLAS_MAX_DIM:
        return np.ascontiguousarray(theta.T @ points.T)
    coords = np.ascontiguousarray(points.T)  # (d, N)
    out = np.multiply(theta[0][:, None], coords[0][None, :])  # (P, N), C-contiguous
    term = np.empty_like(out) if d > 1 else out
    for k in range(1, d):
        np.multiply(theta[k][:, None], coords[k][None, :], out=term)
        out += term
    return out


@lru_cache(maxsize=64)
def _quantile_grid(n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged step grid of two empirical quantile functions with n and m atoms.

    Q_n(t) = x_(⌈tn⌉) is constant on ((i-1)/n, i/n]; on the union of both sets of breakpoints
    0 = u_0 < u_1 < … < u_K = 1 (K ≤ n + m - 1) both are constant, so
    ∫₀¹ (Q_n - Q_m)² dt = Σ_k (u_k - u_{k-1}) (x_(i_k) - y_(j_k))² exactly.
    Returns (weights u_k - u_{k-1}, i_k, j_k) with 0-based indices.
    """
    # Breakpoints i/n and j/m, compared exactly as integers i·m and j·n over the denominator n·m.
    ticks = np.union1d(np.arange(1, n + 1) * m, np.arange(1, m + 1) * n)  # (K,), last = n·m
    weights = np.diff(ticks, prepend=0) / (n * m)
    # Right end of each piece u_k = ticks/(n m) selects atom ⌈u_k n⌉ - 1 (0-based).
    idx_a = -(-ticks // m) - 1
    idx_b = -(-ticks // n) - 1
    for arr in (weights, idx_a, idx_b):
        arr.setflags(write=False)
    return weights, idx_a, idx_b


# --------------------------------------------------------------------------- prior fit

def sliced_wasserstein(a: Any, b: Any, *, n_projections: int = 256, seed: int = 0) -> float:
    """Sliced Wasserstein-2 distance between point clouds a (N, d) and b (M, d).

        SW₂(a, b) = sqrt( (1/P) Σ_p W₂²(θ_p·a, θ_p·b) ),   θ_1…θ_P uniform unit vectors,

    where the 1-D W₂ between empirical distributions is computed exactly from quantile functions:
    W₂²(x, y) = ∫₀¹ (Q_x(t) - Q_y(t))² dt. For N = M this is mean((sort x - sort y)²); for N ≠ M
    both step quantile functions are compared on the merged grid of their breakpoints i/N, j/M
    (exact, no interpolation: a set and the same set listed twice are at distance 0).

    Same units as the points (0 only for identical empirical distributions, up to the P
    directions). The directions come from ``torch.Generator().manual_seed(seed)``, so the
    same seed gives the same directions, and the same value, on every call. In 1-D every
    direction is ±1 and SW₂ is the exact W₂.

    A shift by m in d dimensions moves every projection by θ·m, so for large samples
    SW₂² ≈ E_θ[(θ·m)²] = |m|²/d: SW₂ ≈ |m| / sqrt(d), not |m|.

    >>> sliced_wasserstein([0.0, 1.0], [2.0, 3.0])  # 1-D: the exact W₂
    2.0
    """
    if not isinstance(n_projections, int) or isinstance(n_projections, bool) or n_projections < 1:
        raise ValueError(f"n_projections must be a positive integer, got {n_projections!r}")
    pa, pb = _pair(a, b, "a", "b")
    theta = _directions(pa.shape[1], n_projections, int(seed))  # (d, P)
    # Projections as (P, N) rows sorted in place: numpy sorts contiguous rows fastest, and every
    # fresh 2 MB temporary costs ~0.5 ms of page faults (measured on 2 cores, N = M = 1000,
    # P = 256: ~2 ms this way, ~4 ms with np.sort's copy, ~13 ms with torch.sort).
    proj_a = _project(pa, theta)  # (P, N)
    proj_a.sort(axis=1)
    proj_b = _project(pb, theta)  # (P, M)
    proj_b.sort(axis=1)
    n, m = pa.shape[0], pb.shape[0]
    if n == m:
        proj_a -= proj_b
        sw2 = float(np.einsum("pn,pn->", proj_a, proj_a)) / proj_a.size
    else:
        weights, idx_a, idx_b = _quantile_grid(n, m)
        diff = proj_a[:, idx_a]  # (P, K)
        diff -= proj_b[:, idx_b]
        sw2 = float(np.einsum("pk,pk,k->", diff, diff, weights)) / n_projections
    return math.sqrt(max(sw2, 0.0))


def _rbf_sum(x: torch.Tensor, y: torch.Tensor, gammas: Sequence[float]) -> float:
    """Σ_ij Σ_b exp(-γ_b ||x_i - y_j||²), in blocks so memory stays bounded."""
    total = 0.0
    for i in range(0, x.shape[0], _MMD_BLOCK):
        xi = x[i:i + _MMD_BLOCK]
        for j in range(0, y.shape[0], _MMD_BLOCK):
            d2 = torch.cdist(xi, y[j:j + _MMD_BLOCK]).square_()  # (Bi, Bj)
            for gamma in gammas:
                total += float(torch.exp(d2 * -gamma).sum())
    return total


def mmd(a: Any, b: Any, *, bandwidths: Sequence[float] = DEFAULT_MMD_BANDWIDTHS) -> float:
    """Squared maximum mean discrepancy (unbiased estimator) with a sum of RBF kernels.

        k(x, y) = Σ_h exp(-||x - y||² / (2 h²)),   h in ``bandwidths``
        MMD²_u = 1/(N(N-1)) Σ_{i≠j} k(a_i, a_j) + 1/(M(M-1)) Σ_{i≠j} k(b_i, b_j)
                 - 2/(NM) Σ_{i,j} k(a_i, b_j)

    The population MMD² is ≥ 0 and is 0 only when the distributions are equal; this unbiased
    estimate fluctuates around its true value, so for two samples of one distribution it is
    about 0 and can be slightly negative (read a small negative number as "indistinguishable").
    Several bandwidths make it sensitive at several length scales without tuning one; they are
    in the units of the points (the default suits codes of scale ~1). Needs N, M ≥ 2.
    """
    pa, pb = _pair(a, b, "a", "b")
    if pa.shape[0] < 2 or pb.shape[0] < 2:
        raise ValueError("mmd needs at least 2 points in each set (the unbiased estimator "
                         "leaves out the i = j terms)")
    bws = np.asarray(bandwidths, dtype=np.float64).reshape(-1)
    if bws.size == 0 or not np.all(np.isfinite(bws)) or not np.all(bws > 0):
        raise ValueError(f"bandwidths must be positive numbers, got {bandwidths!r}")
    gammas = [float(g) for g in 1.0 / (2.0 * bws * bws)]
    ta, tb = torch.from_numpy(pa), torch.from_numpy(pb)
    n, m, n_k = pa.shape[0], pb.shape[0], bws.size
    # Each point's kernel with itself is exp(0) = 1 per bandwidth: remove the diagonal exactly.
    k_aa = (_rbf_sum(ta, ta, gammas) - n * n_k) / (n * (n - 1))
    k_bb = (_rbf_sum(tb, tb, gammas) - m * n_k) / (m * (m - 1))
    k_ab = _rbf_sum(ta, tb, gammas) / (n * m)
    return float(k_aa + k_bb - 2.0 * k_ab)


def prior_fit_ratio(codes: Any, prior_sample: Any, fresh_prior_sample: Any, *,
                    n_projections: int = 256, seed: int = 0) -> float:
    """How far q(z) is from p(z), in units of "how far one prior sample is from another".

        ratio = SW₂(q, p) / SW₂(p, p')

    q = ``codes``, p = ``prior_sample``, p' = ``fresh_prior_sample``: an independent draw of the
    prior of the same size as p. Both distances use the same slicing directions (``seed``).
    A raw SW₂ depends on the prior's scale and shrinks with sample size; the ratio does not:
    about 1 means the codes are as close to p as another prior sample is (the best a finite
    sample can show), 2 means twice as far. For N = 1000 codes in 2-D against N(0, I), codes
    from N(0, 1.1² I) (a 10 % too wide) score about 1.7, from N(0, 0.9² I) about 1.6, and a
    shift by one std about 13. The ratio is itself noisy: from draw to draw of the three samples
    it moves by about ±0.2 for a perfect fit and ±0.3 for the 10 % case (100 draws at N = 1000:
    1.01 ± 0.19 and 1.73 ± 0.34), so read its trend, not its second decimal.

    If SW₂(p, p') is ~0 (p' is not an independent draw, or the prior is a point mass) the ratio
    is undefined: it is ``inf`` when the codes are away from p, ``nan`` when they are on it too.
    """
    q, p = _pair(codes, prior_sample, "codes", "prior_sample")
    p_fresh = _points(fresh_prior_sample, "fresh_prior_sample")
    if p_fresh.shape != p.shape:
        raise ValueError(f"fresh_prior_sample must have the shape of prior_sample {p.shape}, "
                         f"got {p_fresh.shape}: the baseline distance depends on sample size")
    num = sliced_wasserstein(q, p, n_projections=n_projections, seed=seed)
    den = sliced_wasserstein(p, p_fresh, n_projections=n_projections, seed=seed)
    if den < _ZERO_DISTANCE:
        return math.nan if num < _ZERO_DISTANCE else math.inf
    return num / den


# --------------------------------------------------------------------------- autoencoder

def reconstruction_error(images: Any, reconstructions: Any) -> float:
    """Mean over images of the per-image mean squared pixel error, in [0, 1] pixel units.

        error = (1/N) Σ_n (1/D) Σ_i (x_ni - x̂_ni)²,   pixels x in [0, 1], D = 784

    So 0 is perfect and 1 is the worst possible; 0.01 means a typical pixel is off by about 0.1
    (10 % of the grey range). Inputs are (N, 784) or (N, 28, 28) (any mix); uint8 images (0–255,
    the dataset format) are divided by 255; float inputs must already be in [0, 1] (decoder
    output after the sigmoid, not logits).
    """
    x = _unit_images(images, "images")
    x_hat = _unit_images(reconstructions, "reconstructions")
    if x.shape != x_hat.shape:
        raise ValueError(f"images {x.shape} and reconstructions {x_hat.shape} must hold the same "
                         "number of images of the same size")
    per_image = np.mean((x - x_hat) ** 2, axis=1)  # (N,)
    return float(per_image.mean())


# Decoder probabilities are clipped this far from 0 and 1: a saturated pixel costs at most
# −log(1e-7) ≈ 16 nats instead of infinity.
_PROB_EPS = 1e-7


def reconstruction_nats(images: Any, reconstructions: Any) -> float:
    """The reconstruction loss the models train on, in nats per image: the Bernoulli negative
    log-likelihood of each image under the decoder's pixel probabilities, summed over pixels and
    averaged over images (``aae.losses.reconstruction_loss`` on probabilities instead of logits).

        nats = (1/N) Σ_n Σ_i −[x_ni log x̂_ni + (1 − x_ni) log(1 − x̂_ni)],   x̂ clipped to [1e-7, 1 − 1e-7]

    The one unit every page shows reconstruction in. Grey pixels (0 < x < 1) cost something even
    when x̂ = x, so 0 is out of reach; lower is better. Inputs as for ``reconstruction_error``.
    """
    x = _unit_images(images, "images")
    x_hat = np.clip(_unit_images(reconstructions, "reconstructions"), _PROB_EPS, 1 - _PROB_EPS)
    if x.shape != x_hat.shape:
        raise ValueError(f"images {x.shape} and reconstructions {x_hat.shape} must hold the same "
                         "number of images of the same size")
    per_image = -np.sum(x * np.log(x_hat) + (1 - x) * np.log1p(-x_hat), axis=1)   # (N,)
    return float(per_image.mean())


# --------------------------------------------------------------------------- adversarial game

def discriminator_accuracy(d_logits_prior: Any, d_logits_posterior: Any) -> float:
    """Balanced accuracy of the discriminator at telling prior codes from encoder codes.

        acc = ½ [ (1/N_p) Σ 1(D(z_prior) > 0) + (1/N_q) Σ 1(D(z_posterior) ≤ 0) ]

    D returns logits; logit > 0 means "from the prior". Each class counts half, so a D that
    cannot tell (or always answers the same) scores 0.5 whatever the two batch sizes; with
    equal sizes this is the plain fraction classified correctly. 1.0: D separates them
    perfectly (the encoder is losing the game); below 0.5: D is fooled.
    """
    prior = _to_numpy(d_logits_prior, "d_logits_prior").reshape(-1)
    post = _to_numpy(d_logits_posterior, "d_logits_posterior").reshape(-1)
    if prior.size == 0 or post.size == 0:
        raise ValueError("discriminator_accuracy needs at least one logit of each kind")
    if np.isnan(prior).any() or np.isnan(post).any():
        raise ValueError("discriminator logits contain NaN")
    return float(0.5 * (np.mean(prior > 0) + np.mean(post <= 0)))


# --------------------------------------------------------------------------- latent space

def knn_accuracy(train_codes: Any, train_labels: Any, test_codes: Any, test_labels: Any, *,
                 k: int = 5) -> float:
    """Accuracy of a k-nearest-neighbour classifier on the codes (Euclidean distance).

        acc = (1/M) Σ_m 1( majority label of the k train codes nearest to z_m  =  y_m )

    Fitted on (train_codes, train_labels), scored on held-out (test_codes, test_labels).
    High when codes of one class sit together in latent space (the AAE's semi-supervised and
    clustering uses rely on this); chance level is 1 / number of classes. Ties between labels
    go to the smallest label (scikit-learn's rule), so the result is deterministic.
    """
    from sklearn.neighbors import KNeighborsClassifier  # deferred: keeps `import aae` light

    train, test = _pair(train_codes, test_codes, "train_codes", "test_codes")
    y_train = _to_numpy(train_labels, "train_labels").reshape(-1)
    y_test = _to_numpy(test_labels, "test_labels").reshape(-1)
    if y_train.shape[0] != train.shape[0] or y_test.shape[0] != test.shape[0]:
        raise ValueError(f"need one label per code: {train.shape[0]} train codes with "
                         f"{y_train.shape[0]} labels, {test.shape[0]} test codes with "
                         f"{y_test.shape[0]} labels")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= train.shape[0]:
        raise ValueError(f"k must be an integer in [1, {train.shape[0]}] (the number of train "
                         f"codes), got {k!r}")
    clf = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(train, y_train)
    return float(np.mean(clf.predict(test) == y_test))


def classification_error(predicted: Any, labels: Any) -> float:
    """Share of wrong predictions (the paper's Tables 2 and 3 print it in percent):

        err = (1/M) Σ_m 1( ŷ_m ≠ y_m )
    """
    pred = _to_numpy(predicted, "predicted").reshape(-1)
    true = _to_numpy(labels, "labels").reshape(-1)
    if pred.shape != true.shape or pred.size == 0:
        raise ValueError(f"need one prediction per label, got {pred.size} predictions and {true.size} labels")
    return float(np.mean(pred != true))


def cluster_labels(probs: Any, labels: Any) -> np.ndarray:
    """The label each cluster stands for, by the paper's rule (§6): cluster i takes the label of the
    training digit it is most confident about,

        label(i) = y_{n*},   n* = argmax_n q(y = i | x_n)      over the training digits x_n

    ``probs`` (N, n) are q(y|x) of N training digits, ``labels`` (N,) their labels; returns (n,)
    int64. Held-out digit x is then predicted as label(argmax_i q(y = i | x)) and scored with
    ``classification_error``. Ties go to the first digit (numpy's argmax).
    """
    p = _to_numpy(probs, "probs")
    y = _to_numpy(labels, "labels").reshape(-1)
    if p.ndim != 2 or p.shape[0] != y.shape[0] or p.shape[0] == 0:
        raise ValueError(f"need probs (N, n) and one label per row, got {p.shape} and {y.shape}")
    return y[np.argmax(p, axis=0)].astype(np.int64)


def confusion_matrix(labels: Any, predicted: Any, n_labels: int) -> np.ndarray:
    """(n_labels, n_labels) int64 counts: entry [t, p] = how many digits of label t were predicted p."""
    from sklearn.metrics import confusion_matrix as sk_confusion  # deferred: keeps `import aae` light

    true = _to_numpy(labels, "labels").reshape(-1).astype(np.int64)
    pred = _to_numpy(predicted, "predicted").reshape(-1).astype(np.int64)
    return sk_confusion(true, pred, labels=np.arange(n_labels)).astype(np.int64)


def cluster_purity(assigned: Any, labels: Any) -> float:
    """Share of digits whose label is their cluster's most common one:

        purity = (1/M) Σ_i max_c |{m : cluster(m) = i, y_m = c}|
    """
    a = _to_numpy(assigned, "assigned").reshape(-1).astype(np.int64)
    y = _to_numpy(labels, "labels").reshape(-1).astype(np.int64)
    if a.shape != y.shape or a.size == 0:
        raise ValueError(f"need one cluster per label, got {a.size} clusters and {y.size} labels")
    counts = np.zeros((a.max() + 1, y.max() + 1), np.int64)
    np.add.at(counts, (a, y), 1)
    return float(counts.max(axis=1).sum() / a.size)


def referee_accuracy(codes: Any, prior_sample: Any, *, k: int = 15, folds: int = 5,
                     seed: int = 0) -> float:
    """The referee: how often a fresh k-NN classifier tells codes from prior samples.

        acc = (1/2N) Σ_folds Σ_i 1( k-NN trained on the other folds labels point i correctly )

    A classifier two-sample test (Lopez-Paz & Oquab, 2017): the N codes get label 1, N prior
    samples get label 0, and the accuracy is cross-validated over ``folds`` stratified, seeded
    folds. 0.5 means the referee cannot tell q(z) from p(z); 1.0 means they are disjoint. Unlike
    a one-dimensional projection it sees shape: codes that fill the gaps between the mixture's
    petals are told apart from the petals. Equal sizes are enforced (the larger set is cut) so
    that chance level is exactly 0.5.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score  # deferred: light import
    from sklearn.neighbors import KNeighborsClassifier

    a, b = _pair(codes, prior_sample, "codes", "prior_sample")
    n = min(a.shape[0], b.shape[0])
    if n < 2 * folds:
        raise ValueError(f"the referee needs at least {2 * folds} points of each kind for {folds} "
                         f"folds, got {a.shape[0]} codes and {b.shape[0]} prior samples")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k < n:
        raise ValueError(f"k must be an integer in [1, {n - 1}], got {k!r}")
    x = np.concatenate([a[:n], b[:n]])
    y = np.concatenate([np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)])
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    clf = KNeighborsClassifier(n_neighbors=k)
    return float(np.mean(cross_val_score(clf, x, y, cv=cv)))


# --------------------------------------------------------------------------- generator

def _parzen_scores(samples: torch.Tensor, test: torch.Tensor, sigmas: Sequence[float], batch_size: int,
                   device: Any = None, progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """log p_σ(x) for each σ (rows) and test point x (columns): (S, M) float64 on the CPU.

    Works in (batch_size × batch_size) blocks on ``device`` (default: the CPU). Each block's
    squared distances serve every σ: they cost d multiply-adds per pair, the S logsumexps one
    exp each, so a grid of ten σ costs little more than one. ``progress(k)`` is told after each
    block of k test points.
    """
    dev = torch.device("cpu") if device is None else torch.device(device)
    samples, test = samples.to(dev), test.to(dev)
    n, d = samples.shape
    log_norms = [math.log(n) + 0.5 * d * math.log(2.0 * math.pi * sigma * sigma) for sigma in sigmas]
    sq_samples = samples.square().sum(dim=1)  # (N,)
    out = torch.empty(len(sigmas), test.shape[0], dtype=torch.float64, device=dev)  # (S, M)
    for i in range(0, test.shape[0], batch_size):
        x = test[i:i + batch_size]  # (B, d)
        sq_x = x.square().sum(dim=1, keepdim=True)  # (B, 1)
        running = torch.full((len(sigmas), x.shape[0]), -math.inf, dtype=torch.float64, device=dev)  # (S, B)
        for j in range(0, n, batch_size):
            s = samples[j:j + batch_size]  # (S', d)
            # ||x - s||² = ||x||² + ||s||² - 2 x·s, clamped: rounding can make it slightly < 0.
            d2 = (sq_x + sq_samples[j:j + batch_size] - 2.0 * (x @ s.T)).clamp_(min=0.0)  # (B, S')
            for k, sigma in enumerate(sigmas):
                running[k] = torch.logaddexp(running[k], torch.logsumexp(d2 / (-2.0 * sigma * sigma), dim=1))
        out[:, i:i + batch_size] = running - torch.tensor(log_norms, dtype=torch.float64, device=dev)[:, None]
        if progress is not None:
            progress(int(x.shape[0]))
    return out.cpu()


def _parzen_inputs(samples: Any, test_points: Any, batch_size: int, test_name: str
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    s = _points(_parzen_array(samples, "samples"), "samples")
    t = _points(_parzen_array(test_points, test_name), test_name)
    if s.shape[1] != t.shape[1]:
        raise ValueError(f"samples have dimension {s.shape[1]} but {test_name} have "
                         f"dimension {t.shape[1]}")
    return torch.from_numpy(s), torch.from_numpy(t)


def _parzen_array(x: Any, name: str) -> np.ndarray:
    """Flatten images to (N, pixels); uint8 images (0–255) become [0, 1] like the samples."""
    raw = x.detach().to("cpu").numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if raw.dtype == np.uint8:
        raw = raw.astype(np.float64) / 255.0
    return raw.reshape(raw.shape[0], -1) if raw.ndim > 2 else raw


def _check_sigma(sigma: float) -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating)) \
            or not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
    return float(sigma)


def parzen_log_likelihood(samples: Any, test_points: Any, sigma: float, *, batch_size: int = 1000,
                          device: Any = None, progress: Callable[[int], None] | None = None
                          ) -> tuple[float, float]:
    """Gaussian Parzen-window log-likelihood of test points under a model's samples.

    The density is a Gaussian of std σ on each of the N generated samples s_i (dimension d):

        log p(x) = logsumexp_i( -||x - s_i||² / (2σ²) ) - log N - (d/2) log(2πσ²)

    Returns (mean of log p(x) over the M test points, its standard error std/sqrt(M)), in nats,
    as in the AAE paper's Table 1 (Goodfellow et al.'s protocol; pick σ with
    `choose_parzen_sigma` on validation data, never on the test points). Only a coarse
    measure: it rewards blurry samples and is unreliable in high dimensions (Theis et al. 2016).

    Points are rows (N, d), or image batches (N, 28, 28) that get flattened; uint8 images are
    divided by 255 so that test digits and generated [0, 1] samples share units. Work is done
    in blocks of ``batch_size`` test points × ``batch_size`` samples (in float64), so
    memory stays O(batch_size² + (N + M) d) — 10k × 10k MNIST digits needs ~100 MB, not N·M·d.
    ``device`` (a torch device; default the CPU) is where the blocks are computed, still in
    float64; ``progress(k)`` is called after each block of k test points (for a progress bar).
    """
    sigma = _check_sigma(sigma)
    s, t = _parzen_inputs(samples, test_points, batch_size, "test_points")
    ll = _parzen_scores(s, t, [sigma], batch_size, device, progress)[0].numpy()
    mean = float(ll.mean())
    stderr = float(ll.std(ddof=1) / math.sqrt(ll.size)) if ll.size > 1 else math.nan
    return mean, stderr


def choose_parzen_sigma(samples: Any, validation_points: Any,
                        sigmas: Sequence[float] | None = None, *,
                        batch_size: int = 1000, device: Any = None,
                        progress: Callable[[int], None] | None = None) -> float:
    """The σ of the grid that maximises the mean Parzen log-likelihood of validation points.

        σ* = argmax_{σ in grid} (1/V) Σ_v log p_σ(x_v)     (see `parzen_log_likelihood`)

    Default grid: ``np.logspace(-1, 0, 10)`` (0.1 … 1.0, ten log-spaced values), the grid of
    Goodfellow et al.'s parzen_ll.py for MNIST pixels in [0, 1], which the AAE paper follows.
    Use points held out from both training and test (the paper's validation set). A warning is
    raised if the best σ is at either end of the grid: the true optimum may lie outside it.
    ``device`` and ``progress`` as in `parzen_log_likelihood` (one pass scores the whole grid).
    """
    grid = DEFAULT_PARZEN_SIGMAS if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    grid = grid.reshape(-1)
    if grid.size == 0:
        raise ValueError("sigmas must hold at least one value")
    grid_values = [_check_sigma(float(v)) for v in grid]
    s, v = _parzen_inputs(samples, validation_points, batch_size, "validation_points")
    scores = _parzen_scores(s, v, grid_values, batch_size, device, progress).mean(dim=1).tolist()
    best = int(np.argmax(scores))
    if len(grid_values) > 1 and best in (int(np.argmin(grid)), int(np.argmax(grid))):
        warnings.warn(f"choose_parzen_sigma: the best σ = {grid_values[best]:.4g} is at the edge "
                      f"of the grid [{min(grid_values):.4g}, {max(grid_values):.4g}]; widen the "
                      "grid to be sure it is the maximum", RuntimeWarning, stacklevel=2)
    return grid_values[best]


# ----------------------------------------------------------------------------------------------
# Whole-model evaluation (CLI, shipped checkpoints, Compare page)
# ----------------------------------------------------------------------------------------------

def _held_out(dataset: Any, n: int) -> tuple[torch.Tensor, np.ndarray]:
    n = min(n, int(dataset.test_images.shape[0]))
    x = to_float(dataset.test_images[:n])                                           # (n, 784)
    return x, dataset.test_labels[:n].numpy()


def _fixed_prior_pair(prior: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    g = torch.Generator().manual_seed(seed + 2)
    return prior.sample(n, generator=g).numpy(), prior.sample(n, generator=g).numpy()


def prior_fit_ratio_of(model: Any, prior: Any, dataset: Any, *, n: int = 1000, seed: int = 0) -> float:
    """``prior_fit_ratio`` of a model's mean codes for the first ``n`` held-out images."""
    device = next(model.parameters()).device
    x, _ = _held_out(dataset, n)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        codes = model.encode(x.to(device)).cpu().numpy()
    model.train(was_training)
    p, p2 = _fixed_prior_pair(prior, len(codes), seed)
    return prior_fit_ratio(codes, p, p2)


def evaluate_model(model: Any, prior: Any, dataset: Any, *, n: int = 1000, n_reference: int = 2000,
                   seed: int = 0) -> dict[str, float]:
    """The metrics shown for a trained model, on the first ``n`` held-out images:

    * ``referee``    — `referee_accuracy` of the mean codes against as many prior samples (0.5: the
      referee cannot tell them apart; the headline fit number);
    * ``prior_fit``  — SW(q, p) / SW(p, p') of the mean codes (≈ 1: as close as another prior sample);
    * ``recon_nats`` — reconstruction loss in nats per image (``reconstruction_nats``);
    * ``knn_acc``    — 5-NN accuracy of held-out codes against ``n_reference`` training codes;
    * ``d_acc``      — (AAE only) the discriminator's accuracy on held-out codes vs prior samples.
    """
    device = next(model.parameters()).device
    x, labels = _held_out(dataset, n)
    g = torch.Generator().manual_seed(seed + 1)
    idx = torch.randperm(int(dataset.train_images.shape[0]), generator=g)[:n_reference]
    x_ref = to_float(dataset.train_images[idx])
    was_training = model.training
    model.eval()
    with torch.no_grad():
        codes = model.encode(x.to(device))
        recon = model.reconstruct_given(x.to(device), torch.as_tensor(labels).to(device))
        recon = recon.reshape(len(x), -1).cpu().numpy()
        ref_codes = model.encode(x_ref.to(device)).cpu().numpy()
        p, p2 = _fixed_prior_pair(prior, len(x), seed)
        out = {
            "referee": referee_accuracy(codes.cpu().numpy(), p, seed=seed),
            "prior_fit": prior_fit_ratio(codes.cpu().numpy(), p, p2),
            "recon_nats": reconstruction_nats(x.numpy(), recon),
            "knn_acc": knn_accuracy(ref_codes, dataset.train_labels[idx].numpy(), codes.cpu().numpy(), labels, k=5),
        }
        if getattr(model, "kind", "") == "aae":
            d_prior = model.discriminator(torch.from_numpy(p).to(device)).cpu().numpy()
            d_post = model.discriminator(codes).cpu().numpy()
            out["d_acc"] = discriminator_accuracy(d_prior, d_post)
    model.train(was_training)
    return out
