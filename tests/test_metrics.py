"""aae.metrics against independent references: closed forms, hand-computed examples and
direct (unbatched, loop-based) numpy computations. CPU, seeded, about a second in all."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import norm

from aae import metrics
from aae.metrics import (
    choose_parzen_sigma,
    discriminator_accuracy,
    knn_accuracy,
    mmd,
    parzen_log_likelihood,
    prior_fit_ratio,
    reconstruction_error,
    sliced_wasserstein,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- references

def reference_directions(d: int, n_projections: int, seed: int) -> np.ndarray:
    """The documented recipe: Gaussian directions from a seeded torch.Generator, normalised."""
    gen = torch.Generator().manual_seed(seed)
    theta = torch.randn(d, n_projections, generator=gen, dtype=torch.float64)
    return (theta / theta.norm(dim=0, keepdim=True)).numpy()


def reference_w2_1d(x: np.ndarray, y: np.ndarray) -> float:
    """Exact W₂ between 1-D empirical distributions of any sizes N, M: repeat each atom so both
    sets have lcm(N, M) equally weighted atoms, then compare sorted values."""
    n, m = len(x), len(y)
    size = n * m // math.gcd(n, m)
    xs, ys = np.sort(np.repeat(x, size // n)), np.sort(np.repeat(y, size // m))
    return math.sqrt(np.mean((xs - ys) ** 2))


def reference_sw(a: np.ndarray, b: np.ndarray, n_projections: int, seed: int) -> float:
    """Sliced W₂ with an explicit loop over the directions."""
    theta = reference_directions(a.shape[1], n_projections, seed)
    w2_sq = [reference_w2_1d(a @ theta[:, p], b @ theta[:, p]) ** 2 for p in range(n_projections)]
    return math.sqrt(np.mean(w2_sq))


def reference_mmd(a: np.ndarray, b: np.ndarray, bandwidths) -> float:
    def gram(x, y):
        d2 = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
        return sum(np.exp(-d2 / (2 * h * h)) for h in bandwidths)

    k_aa, k_bb, k_ab = gram(a, a), gram(b, b), gram(a, b)
    n, m = len(a), len(b)
    off = lambda k: k.sum() - np.trace(k)  # noqa: E731
    return off(k_aa) / (n * (n - 1)) + off(k_bb) / (m * (m - 1)) - 2 * k_ab.mean()


def reference_parzen(samples: np.ndarray, test: np.ndarray, sigma: float) -> np.ndarray:
    """log (1/N) Σ_i Π_j N(x_j; s_ij, σ²), straight from scipy's normal log-density."""
    log_k = norm.logpdf(test[:, None, :], loc=samples[None, :, :], scale=sigma).sum(-1)  # (M, N)
    return logsumexp(log_k, axis=1) - math.log(len(samples))


# --------------------------------------------------------------------------- sliced Wasserstein

def test_sw_in_one_dimension_is_the_exact_w2():
    a, b = rng(0).normal(size=300), rng(1).normal(0.5, 2.0, size=300)
    expected = math.sqrt(np.mean((np.sort(a) - np.sort(b)) ** 2))
    for seed, n_projections in [(0, 256), (3, 7)]:
        assert sliced_wasserstein(a, b, n_projections=n_projections, seed=seed) == \
            pytest.approx(expected, rel=1e-12)
    assert sliced_wasserstein([0.0, 1.0], [2.0, 3.0]) == pytest.approx(2.0)


@pytest.mark.parametrize("n, m, d", [(50, 50, 3), (6, 4, 3), (7, 13, 2), (1, 5, 4)])
def test_sw_matches_explicit_loop_over_directions(n, m, d):
    a, b = rng(n).normal(size=(n, d)), rng(m + 100).normal(1.0, 1.5, size=(m, d))
    got = sliced_wasserstein(a, b, n_projections=64, seed=5)
    assert got == pytest.approx(reference_sw(a, b, 64, 5), rel=1e-10)


def test_sw_unequal_sizes_hand_example_and_duplicates():
    # Q_a = 0 on (0, 1/2], 1 on (1/2, 1]; Q_b = 0, 1, 2 on thirds: they differ by 1 on
    # (1/3, 1/2] and (2/3, 1], so W₂² = 1/6 + 1/3 = 1/2.
    assert sliced_wasserstein([0.0, 1.0], [0.0, 1.0, 2.0]) == pytest.approx(math.sqrt(0.5))
    x = rng(0).normal(size=(40, 2))
    # The same empirical distribution listed twice is the same distribution.
    assert sliced_wasserstein(x, np.concatenate([x, x[::-1]])) == pytest.approx(0.0, abs=1e-12)


def test_sw_gaussian_shift_closed_form():
    # N(0, I) vs N(m, I) in d = 2: SW₂² = E_θ[(θ·m)²] = |m|²/d  →  SW₂ = 5/√2 for m = (3, 4).
    a = rng(0).normal(size=(5000, 2))
    b = rng(1).normal(size=(5000, 2)) + [3.0, 4.0]
    assert sliced_wasserstein(a, b, n_projections=1000) == pytest.approx(5 / math.sqrt(2), rel=0.03)


def test_sw_translation_symmetry_identity_and_determinism():
    a, b = rng(0).normal(size=(200, 3)), rng(1).normal(size=(150, 3)) * 2
    shift = np.array([0.3, -2.0, 5.0])
    sw = sliced_wasserstein(a, b)
    assert sliced_wasserstein(a + shift, b + shift) == pytest.approx(sw, rel=1e-9)
    assert sliced_wasserstein(b, a) == pytest.approx(sw, rel=1e-12)
    assert sliced_wasserstein(a, a) == 0.0
    assert sliced_wasserstein(a, a[rng(2).permutation(200)]) == pytest.approx(0.0, abs=1e-12)
    # A rigid shift of every point moves each projection by θ·m.
    theta = reference_directions(3, 256, 0)
    assert sliced_wasserstein(a, a + shift) == \
        pytest.approx(math.sqrt(np.mean((shift @ theta) ** 2)), rel=1e-9)
    assert sliced_wasserstein(a, b, seed=4) == sliced_wasserstein(a, b, seed=4)
    assert sliced_wasserstein(a, b, n_projections=8, seed=1) != \
        sliced_wasserstein(a, b, n_projections=8, seed=2)


def test_sw_accepts_tensors_and_arrays_alike():
    a, b = rng(0).normal(size=(100, 2)), rng(1).normal(size=(100, 2))
    expected = sliced_wasserstein(a, b)
    assert sliced_wasserstein(torch.from_numpy(a), torch.from_numpy(b)) == expected
    as_float32 = sliced_wasserstein(torch.tensor(a, dtype=torch.float32, requires_grad=True), b)
    assert as_float32 == pytest.approx(expected, rel=1e-6)


def test_sw_rejects_bad_input():
    with pytest.raises(ValueError, match="dimension"):
        sliced_wasserstein(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        sliced_wasserstein(np.array([[0.0, np.nan]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="n_projections"):
        sliced_wasserstein(np.zeros((5, 2)), np.zeros((5, 2)), n_projections=0)


# --------------------------------------------------------------------------- prior fit ratio

def mean_ratio(std: float, shift: float = 0.0, n: int = 1000, seeds=range(30)) -> float:
    ratios = []
    for seed in seeds:
        g = rng(seed)
        prior, fresh = g.normal(size=(n, 2)), g.normal(size=(n, 2))
        codes = g.normal(shift, std, size=(n, 2))
        ratios.append(prior_fit_ratio(codes, prior, fresh, seed=seed))
    return float(np.mean(ratios))


def test_prior_fit_ratio_scale():
    # Averaged over draws: one draw moves by ±0.2–0.3 at N = 1000 (see the docstring).
    # Over 100 draws: 1.01 ± 0.19 for a perfect fit, 1.73 ± 0.34 for a 10 % too wide q(z).
    assert 0.85 < mean_ratio(1.0) < 1.2
    assert 1.45 < mean_ratio(1.1) < 2.05
    assert 1.3 < mean_ratio(0.9) < 2.0
    assert mean_ratio(1.0, shift=1.0, seeds=[0]) > 5


def test_prior_fit_ratio_edge_cases():
    p = rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match="shape"):
        prior_fit_ratio(p, p, p[:40])
    assert math.isinf(prior_fit_ratio(p + 1, p, p))
    assert math.isnan(prior_fit_ratio(p, p, p))


# --------------------------------------------------------------------------- MMD

def test_mmd_matches_direct_unbiased_estimator_and_blocking(monkeypatch):
    a, b = rng(0).normal(size=(30, 3)), rng(1).normal(0.5, 1.0, size=(20, 3))
    expected = reference_mmd(a, b, metrics.DEFAULT_MMD_BANDWIDTHS)
    assert mmd(a, b) == pytest.approx(expected, rel=1e-10)
    assert mmd(b, a) == pytest.approx(expected, rel=1e-10)
    assert mmd(a, b, bandwidths=[1.0]) == pytest.approx(reference_mmd(a, b, [1.0]), rel=1e-10)
    monkeypatch.setattr(metrics, "_MMD_BLOCK", 7)
    assert mmd(a, b) == pytest.approx(expected, rel=1e-10)


def test_mmd_near_zero_for_same_distribution_and_positive_otherwise():
    a, b = rng(0).normal(size=(300, 2)), rng(1).normal(size=(300, 2))
    same = mmd(a, b)
    shifted = mmd(a, rng(2).normal(size=(300, 2)) + [1.0, 0.0])
    # Null spread at N = 300 (30 draws): mean 0.000, std 0.008; a shift by 1 std gives ≈ 0.3.
    assert abs(same) < 0.03
    assert shifted > 0.15 and shifted > 10 * abs(same)


# --------------------------------------------------------------------------- reconstruction

def test_reconstruction_error_hand_example():
    x = np.array([[0, 1, 0, 1], [1, 1, 1, 1]], dtype=np.float32)
    x_hat = np.array([[0, 0.5, 0, 1], [0, 0, 1, 1]], dtype=np.float32)
    # per image: 0.25/4 = 0.0625 and 2/4 = 0.5
    assert reconstruction_error(x, x_hat) == pytest.approx((0.0625 + 0.5) / 2)
    assert reconstruction_error(torch.from_numpy(x), x) == 0.0


def test_reconstruction_error_shapes_and_units():
    g = rng(0)
    images = g.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    recon = g.random((3, 784))
    expected = np.mean((images.reshape(3, 784) / 255.0 - recon) ** 2)
    assert reconstruction_error(images, recon) == pytest.approx(expected, rel=1e-12)
    assert reconstruction_error(torch.from_numpy(images), torch.from_numpy(recon)) == \
        pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reconstruction_error(images, recon * 10 - 5)  # logits, not probabilities
    with pytest.raises(ValueError, match="same"):
        reconstruction_error(images, recon[:2])


# --------------------------------------------------------------------------- discriminator

def test_discriminator_accuracy_hand_example():
    prior = [2.0, -1.0, 0.5, 0.0]   # > 0 is right: 2 of 4 (a logit of exactly 0 is "posterior")
    posterior = [-3.0, 0.0, 1.0]     # ≤ 0 is right: 2 of 3
    assert discriminator_accuracy(prior, posterior) == pytest.approx(0.5 * (2 / 4 + 2 / 3))
    assert discriminator_accuracy(torch.tensor([[1.0], [2.0]]), torch.tensor([[-1.0]])) == 1.0
    # A D that always answers the same cannot tell: 0.5 whatever the batch sizes.
    assert discriminator_accuracy(np.ones(10), np.ones(30)) == 0.5
    assert discriminator_accuracy(-np.ones(10), -np.ones(30)) == 0.5


# --------------------------------------------------------------------------- k-NN

def test_knn_accuracy_separated_clusters_and_random_labels():
    g = rng(0)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    train_y, test_y = g.integers(0, 4, 400), g.integers(0, 4, 200)
    train = centers[train_y] + g.normal(0, 0.5, size=(400, 2))
    test = torch.from_numpy(centers[test_y] + g.normal(0, 0.5, size=(200, 2)))
    assert knn_accuracy(train, train_y, test, torch.from_numpy(test_y)) == 1.0

    codes = g.normal(size=(2000, 2))
    labels = g.integers(0, 10, 2000)
    chance = knn_accuracy(codes[:1000], labels[:1000], codes[1000:], labels[1000:], k=5)
    assert 0.05 < chance < 0.16


def test_knn_accuracy_hand_example_and_bad_k():
    train, labels = [[0.0], [1.0], [10.0]], [0, 0, 1]
    assert knn_accuracy(train, labels, [[0.2], [9.0], [0.9]], [0, 1, 1], k=1) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="k must"):
        knn_accuracy(train, labels, [[0.0]], [0], k=4)


# --------------------------------------------------------------------------- Parzen

def test_parzen_matches_direct_computation_and_batching():
    g = rng(0)
    samples, test = g.normal(size=(40, 5)), g.normal(0.2, 1.2, size=(25, 5))
    ll = reference_parzen(samples, test, 0.7)
    expected = (ll.mean(), ll.std(ddof=1) / math.sqrt(len(ll)))
    mean, stderr = parzen_log_likelihood(samples, test, 0.7)
    assert (mean, stderr) == pytest.approx(expected, rel=1e-10)
    for batch_size in (1, 3, 7, 40):
        assert parzen_log_likelihood(samples, torch.from_numpy(test), 0.7, batch_size=batch_size) \
            == pytest.approx((mean, stderr), rel=1e-12)


def test_parzen_formula_for_one_sample():
    # log N(x; s, σ² I) in d = 2 at distance 1 from the single sample s.
    mean, _ = parzen_log_likelihood([[0.0, 0.0]], [[1.0, 0.0]], 0.5)
    assert mean == pytest.approx(-1 / (2 * 0.25) - math.log(2 * math.pi * 0.25))


def test_parzen_uint8_images_are_scaled_like_samples():
    g = rng(0)
    test = g.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    samples = g.random((10, 784))
    assert parzen_log_likelihood(samples, test, 0.3) == \
        pytest.approx(parzen_log_likelihood(samples, test.reshape(6, 784) / 255.0, 0.3), rel=1e-12)


def test_choose_parzen_sigma_recovers_the_true_width():
    # Validation points drawn from the Parzen density itself (a Gaussian of std 0.3 around each
    # sample): σ = 0.3 is the true density, so the expected log-likelihood peaks there.
    g = rng(0)
    samples = g.uniform(-5, 5, size=(50, 4))
    validation = samples[g.integers(0, 50, 1000)] + g.normal(0, 0.3, size=(1000, 4))
    chosen = choose_parzen_sigma(samples, validation)
    assert chosen in metrics.DEFAULT_PARZEN_SIGMAS
    assert abs(math.log(chosen / 0.3)) < math.log(1.3)  # the grid point next to 0.3
    assert choose_parzen_sigma(samples, validation, sigmas=[0.05, 0.3, 3.0]) == 0.3


def test_choose_parzen_sigma_warns_at_grid_edge():
    g = rng(0)
    samples = g.normal(size=(50, 2))
    with pytest.warns(RuntimeWarning, match="edge"):
        choose_parzen_sigma(samples, samples + g.normal(0, 5.0, size=(50, 2)), sigmas=[0.1, 0.2])


# --------------------------------------------------------------------------- referee

def test_referee_cannot_tell_two_samples_of_one_distribution():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1000, 2, generator=g), torch.randn(1000, 2, generator=g)
    assert abs(metrics.referee_accuracy(a, b) - 0.5) < 0.05


def test_referee_sees_shape_that_moments_miss():
    """Codes that fill the gaps between ten petals have the petals' mean and spread, yet the
    referee tells them apart; a blob of the right scale is far from 0.5."""
    from aae.priors import make_prior
    prior = make_prior("mog10")
    g = torch.Generator().manual_seed(1)
    petals = prior.sample(1000, generator=g)
    blob = torch.randn(1000, 2, generator=g) * petals.std(0) + petals.mean(0)
    fresh = prior.sample(1000, generator=g)
    assert metrics.referee_accuracy(fresh, petals) < 0.56
    assert metrics.referee_accuracy(blob, petals) > 0.65


def test_referee_disjoint_sets_score_one_and_validates_input():
    a = torch.zeros(100, 2)
    b = torch.ones(100, 2) * 5
    assert metrics.referee_accuracy(a, b) == 1.0
    with pytest.raises(ValueError, match="at least"):
        metrics.referee_accuracy(a[:4], b[:4])
    with pytest.raises(ValueError, match="NaN or infinite"):
        metrics.referee_accuracy(torch.full((100, 2), float("nan")), b)
