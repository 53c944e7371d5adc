"""aae.priors against known values and torch.distributions: statistics, log densities,
label-conditioned sampling, determinism, extra dimensions, plot bounds and density grids."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import distributions as D

from aae.config import ConfigError, PriorConfig
from aae.priors import (
    N_COMPONENTS,
    PRIORS,
    MoG10Prior,
    PinwheelPrior,
    SwissRollPrior,
    UniformPrior,
    make_prior,
    prior_from_config,
)

ALL_PRIORS = sorted(PRIORS)
WITH_DENSITY = ("gaussian", "mog10", "uniform")
WITHOUT_DENSITY = ("swiss_roll", "pinwheel")



def close(actual: torch.Tensor, expected: torch.Tensor, *, rtol: float, atol: float) -> None:
    np.testing.assert_allclose(actual.double().numpy(), expected.double().numpy(), rtol=rtol, atol=atol)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def component_labels(n: int) -> torch.Tensor:
    return torch.arange(n) % N_COMPONENTS


def mog10_reference(scale: float) -> D.MixtureSameFamily:
    """The paper's 10-Gaussian mixture built from torch.distributions with rotated covariances."""
    angles = torch.arange(N_COMPONENTS, dtype=torch.float64) * (2 * math.pi / N_COMPONENTS)
    c, s = torch.cos(angles), torch.sin(angles)
    rot = torch.stack((torch.stack((c, -s), -1), torch.stack((s, c), -1)), -2)          # (K, 2, 2)
    local = torch.diag(torch.tensor([MoG10Prior.std_radial, MoG10Prior.std_tangent],
                                    dtype=torch.float64) ** 2)
    cov = rot @ local @ rot.transpose(1, 2) * scale ** 2                               # (K, 2, 2)
    means = MoG10Prior.radius * scale * torch.stack((c, s), dim=1)                       # (K, 2)
    return D.MixtureSameFamily(D.Categorical(torch.ones(N_COMPONENTS, dtype=torch.float64)),
                               D.MultivariateNormal(means, covariance_matrix=cov))


# -- registry -------------------------------------------------------------------------------

def test_unknown_prior_lists_known_names():
    with pytest.raises(ConfigError) as info:
        make_prior("banana")
    msg = str(info.value)
    assert "banana" in msg
    for name in PRIORS:
        assert name in msg


def test_prior_from_config_uses_name_and_scale():
    p = prior_from_config(PriorConfig(name="mog10", scale=1.5), dim=4)
    assert isinstance(p, MoG10Prior)
    assert p.dim == 4 and p.scale == 1.5


@pytest.mark.parametrize("name", ALL_PRIORS)
def test_every_prior_describes_itself(name):
    p = make_prior(name)
    assert p.name == name
    assert p.display_name and p.description
    assert p.n_components == N_COMPONENTS


def test_density_flags():
    assert {n for n in PRIORS if make_prior(n).has_density} == set(WITH_DENSITY)
    assert {n for n in PRIORS if make_prior(n).full_support} == {"gaussian", "mog10"}


@pytest.mark.parametrize("name", WITHOUT_DENSITY)
def test_log_prob_is_none_without_closed_form(name):
    assert make_prior(name).log_prob(torch.zeros(3, 2)) is None


@pytest.mark.parametrize("name", ["mog10", "swiss_roll", "uniform", "pinwheel"])
def test_shaped_priors_need_two_dimensions(name):
    with pytest.raises(ConfigError, match="2 latent dimensions"):
        make_prior(name, dim=1)


def test_one_dimensional_gaussian():
    p = make_prior("gaussian", dim=1, scale=2.0)
    z = p.sample(20_000, generator=gen())
    assert z.shape == (20_000, 1)
    assert abs(float(z.std()) - 2.0) < 0.05
    expected = D.Normal(0.0, 2.0).log_prob(z).sum(dim=1)
    close(p.log_prob(z), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dim", [0, -2, 2.0])
def test_bad_dimension_is_refused(dim):
    with pytest.raises(ConfigError, match="dimension"):
        make_prior("gaussian", dim=dim)


# -- statistics against known values ---------------------------------------------------------

@pytest.mark.parametrize("scale", [1.0, 0.5, 2.0])
def test_gaussian_mean_and_std(scale):
    z = make_prior("gaussian", dim=2, scale=scale).sample(40_000, generator=gen(1))
    assert z.shape == (40_000, 2)
    close(z.mean(0), torch.zeros(2), atol=0.03 * scale, rtol=0)
    close(z.std(0), torch.full((2,), scale), atol=0.03 * scale, rtol=0)
    # the two coordinates are uncorrelated
    assert abs(float(torch.corrcoef(z.T)[0, 1])) < 0.03


@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_uniform_bounds_and_moments(scale):
    z = make_prior("uniform", dim=2, scale=scale).sample(40_000, generator=gen(2))
    half = UniformPrior.half_width * scale
    assert float(z.abs().max()) <= half + 1e-6
    assert float(z.min()) < -0.99 * half and float(z.max()) > 0.99 * half
    close(z.mean(0), torch.zeros(2), atol=0.03 * half, rtol=0)
    close(z.var(0), torch.full((2,), (2 * half) ** 2 / 12), rtol=0.03, atol=0)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_mog10_component_means_on_circle(scale):
    p = make_prior("mog10", dim=2, scale=scale)
    n_per = 4000
    labels = torch.arange(N_COMPONENTS).repeat_interleave(n_per)
    z = p.sample(len(labels), labels=labels, generator=gen(3))
    for k in range(N_COMPONENTS):
        zk = z[labels == k].double()
        angle = 2 * math.pi * k / N_COMPONENTS
        mean = 2.0 * scale * torch.tensor([math.cos(angle), math.sin(angle)], dtype=torch.float64)
        close(zk.mean(0), mean, atol=0.03 * scale, rtol=0)
        # elongated along the radius (std 0.5), thin across it (std 0.1)
        radial = zk @ torch.tensor([math.cos(angle), math.sin(angle)], dtype=torch.float64)
        tangent = zk @ torch.tensor([-math.sin(angle), math.cos(angle)], dtype=torch.float64)
        assert abs(float(radial.std()) - 0.5 * scale) < 0.03 * scale
        assert abs(float(tangent.std()) - 0.1 * scale) < 0.01 * scale


def test_unlabelled_samples_use_every_component_equally():
    p = make_prior("mog10")
    z = p.sample(20_000, generator=gen(4))
    k = torch.remainder(torch.round(torch.atan2(z[:, 1], z[:, 0]) / (2 * math.pi / N_COMPONENTS)),
                        N_COMPONENTS).long()
    counts = torch.bincount(k, minlength=N_COMPONENTS).float() / len(k)
    assert float((counts - 0.1).abs().max()) < 0.015


# -- log_prob against torch.distributions ------------------------------------------------------

@pytest.mark.parametrize("scale", [1.0, 0.3, 2.5])
@pytest.mark.parametrize("dim", [1, 2, 5])
def test_gaussian_log_prob_matches_torch(scale, dim):
    p = make_prior("gaussian", dim=dim, scale=scale)
    z = torch.randn(200, dim, generator=gen(5)) * 2 * scale
    ref = D.Independent(D.Normal(torch.zeros(dim), torch.full((dim,), scale)), 1).log_prob(z)
    close(p.log_prob(z), ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("scale", [1.0, 1.7])
def test_mog10_log_prob_matches_mixture_of_rotated_gaussians(scale):
    p = make_prior("mog10", dim=2, scale=scale)
    ref = mog10_reference(scale)
    # points from the prior itself (high density) and from a broad cloud (low density)
    z = torch.cat((p.sample(300, generator=gen(6)), torch.randn(300, 2, generator=gen(7)) * 3 * scale))
    close(p.log_prob(z).double(), ref.log_prob(z.double()), rtol=1e-4, atol=1e-3)


def test_mog10_log_prob_extra_dimensions_are_standard_normal():
    scale = 1.3
    p = make_prior("mog10", dim=5, scale=scale)
    z = p.sample(300, generator=gen(8))
    rest = D.Independent(D.Normal(torch.zeros(3, dtype=torch.float64), scale), 1)
    expected = mog10_reference(scale).log_prob(z[:, :2].double()) + rest.log_prob(z[:, 2:].double())
    close(p.log_prob(z).double(), expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_uniform_log_prob_inside_and_outside(scale):
    p = make_prior("uniform", dim=2, scale=scale)
    half = UniformPrior.half_width * scale
    inside = p.sample(500, generator=gen(9))
    lp = p.log_prob(inside)
    close(lp, torch.full((500,), -2 * math.log(2 * half)), rtol=1e-5, atol=1e-5)
    ref = D.Independent(D.Uniform(torch.full((2,), -half), torch.full((2,), half)), 1)
    close(lp, ref.log_prob(inside), rtol=1e-5, atol=1e-5)
    outside = torch.tensor([[half * 1.01, 0.0], [0.0, -half * 1.5], [3 * half, 3 * half]])
    assert torch.isneginf(p.log_prob(outside)).all()


def test_uniform_density_integrates_to_one():
    p = make_prior("uniform", dim=2, scale=1.2)
    lo, hi = p.bounds
    n = 400
    axis = torch.linspace(lo, hi, n, dtype=torch.float64)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    pts = torch.stack((gx.reshape(-1), gy.reshape(-1)), 1).float()
    cell = float(axis[1] - axis[0]) ** 2
    assert abs(float(p.log_prob(pts).exp().double().sum()) * cell - 1.0) < 0.03


# -- label-conditioned sampling ----------------------------------------------------------------

def test_mog10_labelled_samples_are_nearest_to_their_mean():
    p = make_prior("mog10", dim=2)
    labels = component_labels(5000)
    z = p.sample(5000, labels=labels, generator=gen(10))
    angles = torch.arange(N_COMPONENTS) * (2 * math.pi / N_COMPONENTS)
    means = 2.0 * torch.stack((torch.cos(angles), torch.sin(angles)), 1)
    nearest = torch.cdist(z, means).argmin(dim=1)
    assert float((nearest == labels).float().mean()) > 0.995


@pytest.mark.parametrize("dim", [2, 4])
def test_gaussian_label_k_is_wedge_k(dim):
    p = make_prior("gaussian", dim=dim, scale=1.5)
    labels = component_labels(3000)
    z = p.sample(3000, labels=labels, generator=gen(11))
    angle = torch.remainder(torch.atan2(z[:, 1], z[:, 0]), 2 * math.pi)
    wedge = torch.floor(angle / (2 * math.pi / N_COMPONENTS)).long().clamp(max=N_COMPONENTS - 1)
    assert torch.equal(wedge, labels)
    # each wedge still holds a standard-normal radius: E[r²] = 2σ²
    assert abs(float((z[:, :2] ** 2).sum(1).mean()) - 2 * 1.5 ** 2) < 0.2


def test_uniform_label_k_is_strip_k():
    p = make_prior("uniform", dim=2)
    labels = component_labels(3000)
    z = p.sample(3000, labels=labels, generator=gen(12))
    w = 2 * UniformPrior.half_width / N_COMPONENTS
    strip = torch.floor((z[:, 0] + UniformPrior.half_width) / w).long().clamp(0, N_COMPONENTS - 1)
    assert torch.equal(strip, labels)
    assert float(z[:, 1].abs().max()) <= UniformPrior.half_width


def test_swiss_roll_segments_are_ordered_along_the_roll():
    p = make_prior("swiss_roll", dim=2)
    n_per = 500
    labels = torch.arange(N_COMPONENTS).repeat_interleave(n_per)
    z = p.sample(len(labels), labels=labels, generator=gen(13))
    radius = z.norm(dim=1)
    medians = torch.stack([radius[labels == k].median() for k in range(N_COMPONENTS)])
    assert bool((medians[1:] > medians[:-1]).all()), medians
    # segment k's radius follows r = r_max·sqrt(0.04 + 0.96·u), u ∈ [k/10, (k+1)/10]
    for k in range(N_COMPONENTS):
        r_lo = SwissRollPrior.r_max * math.sqrt(0.04 + 0.96 * k / N_COMPONENTS)
        r_hi = SwissRollPrior.r_max * math.sqrt(0.04 + 0.96 * (k + 1) / N_COMPONENTS)
        inside = ((radius[labels == k] > r_lo - 0.3) & (radius[labels == k] < r_hi + 0.3)).float().mean()
        assert float(inside) > 0.99


def test_pinwheel_label_k_is_arm_k():
    """Unwind each point's arm: polar angle − rate·exp(radius/size) is the arm's base angle 2πk/10."""
    p = make_prior("pinwheel", dim=2)
    labels = component_labels(5000)
    z = p.sample(5000, labels=labels, generator=gen(14))
    radius = z.norm(dim=1) / PinwheelPrior.size
    base = torch.atan2(z[:, 1], z[:, 0]) - PinwheelPrior.rate * torch.exp(radius)
    arm = torch.remainder(torch.round(base / (2 * math.pi / N_COMPONENTS)), N_COMPONENTS).long()
    assert float((arm == labels).float().mean()) > 0.97


@pytest.mark.parametrize("name", ALL_PRIORS)
def test_labels_are_validated(name):
    p = make_prior(name)
    with pytest.raises(ValueError, match="entries"):
        p.sample(5, labels=torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        p.sample(2, labels=torch.tensor([0, 10]))
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        p.sample(2, labels=torch.tensor([-1, 3]))


# -- determinism, dimensions, bounds, density grids ------------------------------------------------

@pytest.mark.parametrize("name", ALL_PRIORS)
def test_same_generator_seed_same_sample(name):
    p = make_prior(name, dim=3)
    a = p.sample(256, generator=gen(21))
    b = p.sample(256, generator=gen(21))
    c = p.sample(256, generator=gen(22))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    la = p.sample(100, labels=component_labels(100), generator=gen(23))
    lb = p.sample(100, labels=component_labels(100), generator=gen(23))
    assert torch.equal(la, lb)


@pytest.mark.parametrize("name", ALL_PRIORS)
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_extra_dimensions_are_gaussian_with_the_prior_scale(name, scale):
    p = make_prior(name, dim=6, scale=scale)
    z = p.sample(20_000, generator=gen(24))
    assert z.shape == (20_000, 6) and z.dtype == torch.float32
    rest = z[:, 2:]
    close(rest.mean(0), torch.zeros(4), atol=0.04 * scale, rtol=0)
    close(rest.std(0), torch.full((4,), scale), atol=0.04 * scale, rtol=0)
    # the first two coordinates keep the 2-D prior's shape
    flat = make_prior(name, dim=2, scale=scale).sample(20_000, generator=gen(25))
    close(z[:, :2].abs().mean(0), flat.abs().mean(0), atol=0.05 * scale, rtol=0)


@pytest.mark.parametrize("name", ALL_PRIORS)
@pytest.mark.parametrize("scale", [1.0, 0.5, 3.0])
def test_bounds_contain_the_samples(name, scale):
    p = make_prior(name, dim=2, scale=scale)
    lo, hi = p.bounds
    assert lo == -hi and hi > 0
    z = p.sample(20_000, generator=gen(26))
    inside = ((z >= lo) & (z <= hi)).all(dim=1).float().mean()
    assert float(inside) >= 0.99


@pytest.mark.parametrize("name", ALL_PRIORS)
@pytest.mark.parametrize("dim", [2, 3])
def test_density_grid_shapes_and_values(name, dim):
    p = make_prior(name, dim=dim)
    xs, ys, dens = p.density_grid(resolution=40, n_samples=20_000)
    lo, hi = p.bounds
    assert xs.shape == (40,) and ys.shape == (40,) and dens.shape == (40, 40)
    assert xs.dtype == ys.dtype == dens.dtype == np.float32
    assert xs[0] == pytest.approx(lo) and xs[-1] == pytest.approx(hi)
    assert np.isfinite(dens).all()
    assert dens.min() >= 0 and dens.max() == pytest.approx(1.0)


@pytest.mark.parametrize("name", ALL_PRIORS)
def test_density_grid_is_indexed_rows_y_columns_x(name):
    """dens[i, j] is the density at (xs[j], ys[i]): prior samples land on high cells, and the
    transposed lookup (a swapped-axes bug) scores lower for every asymmetric prior."""
    p = make_prior(name)
    xs, ys, dens = p.density_grid(resolution=60, n_samples=50_000)
    z = p.sample(5000, generator=gen(27)).numpy()
    ix = np.clip(np.searchsorted(xs, z[:, 0]), 0, len(xs) - 1)
    iy = np.clip(np.searchsorted(ys, z[:, 1]), 0, len(ys) - 1)
    right, swapped = dens[iy, ix].mean(), dens[ix, iy].mean()
    assert right > dens.mean()
    if name in ("mog10", "swiss_roll", "pinwheel"):
        assert right > 1.2 * swapped


def test_density_grid_is_deterministic():
    p = make_prior("swiss_roll")
    _, _, a = p.density_grid(resolution=30, n_samples=10_000, seed=1)
    _, _, b = p.density_grid(resolution=30, n_samples=10_000, seed=1)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("name", ALL_PRIORS)
def test_sample_respects_device_argument_and_empty_batch(name):
    p = make_prior(name, dim=3)
    assert p.sample(0, generator=gen()).shape == (0, 3)
    assert p.sample(4, device="cpu").device.type == "cpu"
