"""aae.viz: image grids, the numpy decoder, manifold grids, interpolation, nearest images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aae import viz
from aae.config import ModelConfig
from aae.priors import make_prior
from aae.train import seeded_model


def test_viz_imports_no_plotting_or_streamlit():
    source = open(viz.__file__, encoding="utf-8").read()
    for banned in ("streamlit", "plotly", "matplotlib", "from ui", "import ui"):
        assert banned not in source


# ------------------------------------------------------------------------------------ image grid

def test_image_grid_places_tiles_row_major_with_padding():
    imgs = np.stack([np.full((28, 28), k / 10, np.float32) for k in range(5)])
    grid = viz.image_grid(imgs, ncols=3, pad=1, pad_value=0.5)
    assert grid.shape == (2 * 30, 3 * 30) and grid.dtype == np.float32
    assert grid[1:29, 1:29].min() == grid[1:29, 1:29].max() == 0.0          # tile 0, top left
    assert np.allclose(grid[1:29, 61:89], 0.2)                               # tile 2, top right
    assert np.allclose(grid[31:59, 31:59], 0.4)                              # tile 4, second row
    assert np.allclose(grid[31:59, 61:89], 0.5)                              # missing tile = pad value
    assert grid[0, 0] == 0.5


def test_image_grid_clips_and_rejects_bad_input():
    assert viz.image_grid(np.full((1, 28, 28), 3.0), ncols=1, pad=0).max() == 1.0
    with pytest.raises(ValueError):
        viz.image_grid(np.zeros((28, 28)), ncols=2)
    with pytest.raises(ValueError):
        viz.image_grid(np.zeros((2, 28, 28)), ncols=0)


# ------------------------------------------------------------------------------------ decoder

@pytest.mark.parametrize("preset", ["small", "paper"])
def test_decode_with_weights_matches_the_torch_decoder(preset):
    model = seeded_model(ModelConfig(kind="aae", preset=preset), 3).eval()
    weights = [(l.weight.detach().numpy(), l.bias.detach().numpy()) for l in model.decoder.linear_layers()]
    z = np.array([[0.0, 0.0], [2.0, 1.0], [-9.0, 7.0]], np.float32)
    with torch.no_grad():
        expected = model.decode(torch.from_numpy(z)).numpy()
    got = viz.decode_with_weights(weights, z)
    assert got.shape == (3, 28, 28)
    assert np.abs(got - expected).max() < 1e-5
    assert viz.decode_with_weights(weights, z[1]).shape == (1, 28, 28)        # one code


def test_mlp_forward_checks_shapes():
    with pytest.raises(ValueError, match="inputs"):
        viz.mlp_forward([(np.zeros((4, 3)), np.zeros(4))], np.zeros((1, 2)))
    with pytest.raises(ValueError):
        viz.mlp_forward([], np.zeros((1, 2)))


@pytest.mark.parametrize("encoder", ["deterministic", "gaussian", "universal"])
def test_encode_with_weights_matches_the_torch_encoder(encoder):
    model = seeded_model(ModelConfig(kind="aae", encoder=encoder), 1).eval()
    weights = [(m.weight.detach().numpy(), m.bias.detach().numpy())
               for m in model.encoder.net if isinstance(m, torch.nn.Linear)]
    x = torch.rand(4, 784, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model.encode(x).numpy()
    got = viz.encode_with_weights(weights, x.numpy(), latent_dim=2)
    assert np.abs(got - expected).max() < 1e-4


# ------------------------------------------------------------------------------------ manifold grid

def test_gaussian_grid_sits_on_the_prior_percentiles():
    g = viz.manifold_grid(make_prior("gaussian", scale=2.0), 10)
    assert g.kind == "percentile" and g.z.shape == (100, 2)
    assert np.allclose(g.quantiles, np.arange(0.05, 1.0, 0.1))
    assert np.allclose(g.axis[[0, -1]], [-2 * 1.6448536, 2 * 1.6448536], atol=1e-4)  # Φ⁻¹(0.05), Φ⁻¹(0.95)
    assert np.allclose(g.axis, -g.axis[::-1], atol=1e-5)                  # symmetric
    assert np.all(g.density == 1.0)                                          # equal mass per cell
    # row-major from the top left: z₁ grows along a row, z₂ falls down the rows
    assert g.z[0, 0] == g.axis[0] and g.z[0, 1] == g.axis[-1]
    assert g.z[9, 0] == g.axis[-1] and g.z[99, 1] == g.axis[0]


@pytest.mark.parametrize("name", ["mog10", "uniform", "swiss_roll", "pinwheel"])
def test_other_priors_get_an_even_grid_with_holes(name):
    prior = make_prior(name)
    g = viz.manifold_grid(prior, 12)
    lo, hi = prior.bounds
    assert g.kind == "bounds" and g.quantiles is None
    assert np.allclose(np.diff(g.axis), (hi - lo) / 12, atol=1e-5)
    assert g.axis[0] > lo and g.axis[-1] < hi                               # cell centres
    assert g.density.shape == (12, 12) and g.density.max() == pytest.approx(1.0)
    assert (g.density < 0.01).any()                                          # some cells are holes of p(z)
    assert (g.density > 0.3).sum() >= 4


def test_density_holes_are_where_the_prior_has_no_mass():
    uni = viz.manifold_grid(make_prior("uniform"), 13)       # square ±2 inside a ±2.6 window
    assert uni.density[6, 6] == pytest.approx(1.0)
    assert uni.density[0, 0] == 0.0 and uni.density[-1, -1] == 0.0
    mog = viz.manifold_grid(make_prior("mog10"), 11)         # ten petals around a hole at the origin
    assert mog.density[5, 5] < 0.01
    roll = viz.manifold_grid(make_prior("swiss_roll"), 12)  # sampled histogram, same every call
    assert np.array_equal(roll.density, viz.manifold_grid(make_prior("swiss_roll"), 12).density)


def test_density_from_a_sample_of_codes():
    codes = np.array([[0.5, 0.5]] * 10 + [[-0.5, -0.5]] * 5, np.float32)
    g = viz.manifold_grid(make_prior("gaussian"), 4, bounds=(-2, 2), sample=codes)
    assert g.kind == "bounds"
    assert g.density[1, 2] == 1.0 and g.density[2, 1] == 0.5 and g.density.sum() == 1.5


def test_manifold_grid_rejects_tiny_grids():
    with pytest.raises(ValueError):
        viz.manifold_grid(make_prior("gaussian"), 1)


# ------------------------------------------------------------------------------------ interpolation

def test_interpolate_is_a_straight_line_with_both_ends():
    path = viz.interpolate((0.0, 0.0), (2.0, 1.0), 5)
    assert path.shape == (5, 2)
    assert np.allclose(path[0], [0, 0]) and np.allclose(path[-1], [2, 1])
    assert np.allclose(np.diff(path, axis=0), [0.5, 0.25])
    with pytest.raises(ValueError):
        viz.interpolate((0, 0), (1, 1, 1), 3)
    with pytest.raises(ValueError):
        viz.interpolate((0, 0), (1, 1), 1)


# ------------------------------------------------------------------------------------ nearest images

def test_pixel_index_finds_the_nearest_images_in_order():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    index = viz.PixelIndex(train)
    query = train[42].astype(np.float32) / 255 + rng.normal(0, 0.01, (28, 28)).astype(np.float32)
    idx, dist = index.nearest(np.clip(query, 0, 1), k=5)
    assert idx[0] == 42 and len(idx) == 5
    assert np.all(np.diff(dist) >= 0)
    brute = np.sqrt(((train.reshape(300, -1) / 255.0 - np.clip(query, 0, 1).reshape(1, -1)) ** 2).sum(axis=1))
    assert np.array_equal(idx, np.argsort(brute, kind="stable")[:5])
    assert np.allclose(dist, np.sort(brute)[:5], atol=1e-3)


def test_pixel_index_caps_k_and_checks_the_query():
    index = viz.PixelIndex(np.zeros((3, 28, 28), np.uint8))
    idx, dist = index.nearest(np.zeros((28, 28)), k=10)
    assert list(idx) == [0, 1, 2] and np.allclose(dist, 0)                 # ties: lower index first
    with pytest.raises(ValueError):
        index.nearest(np.zeros(100))


def test_covering_bounds_hold_every_point_and_the_prior_window():
    assert viz.covering_bounds(np.zeros((3, 2)), (-3.5, 3.5)) == (-3.5, 3.5)
    assert viz.covering_bounds(np.array([[25.7, -14.2], [np.nan, 99.0]]), (-3.5, 3.5)) == (-27.0, 27.0)
    assert viz.covering_bounds(None, (-2.6, 2.6)) == (-3.0, 3.0)


def test_paper_inverts_and_upscales():
    img = np.zeros((2, 3), np.float32)
    img[0, 1] = 1.0
    out = viz.paper(img, scale=2)
    assert out.dtype == np.uint8 and out.shape == (4, 6)
    assert out[0, 0] == 255 and out[0, 2] == out[1, 3] == 0
