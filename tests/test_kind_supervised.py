"""The supervised AAE (paper §4): the decoder's input [one-hot label, style z], the discriminator on
z alone, the reconstruction phase that hands the decoder the batch's labels, the style grid, and
the weight copies the pages and the browser decode with."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aae.checkpoints import load_checkpoint, save_checkpoint
from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import load_dataset
from aae.kinds import SupervisedAAE, get_kind
from aae.kinds.supervised import digit_inputs, fold_digit, one_hot, style_grid_from_weights
from aae.priors import make_prior
from aae.train import Trainer, seeded_model
from aae.viz import decode_with_weights, encode_with_weights


def model(latent_dim: int = 2) -> SupervisedAAE:
    return seeded_model(ModelConfig(kind="supervised_aae", latent_dim=latent_dim), 0).eval()


def weights_of(linears) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(l.weight.detach().numpy().copy(), l.bias.detach().numpy().copy()) for l in linears]


@pytest.mark.parametrize("latent_dim", [2, 15])
def test_the_decoder_takes_the_one_hot_label_then_the_style(latent_dim):
    m = model(latent_dim)
    assert isinstance(m, SupervisedAAE)
    assert m.decoder.linear_layers()[0].in_features == 10 + latent_dim
    assert m.discriminator.net[0].in_features == latent_dim             # D judges the style alone
    assert m.encoder.latent_dim == latent_dim
    z = torch.randn(4, latent_dim, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 3, 3, 9])
    with torch.no_grad():
        direct = torch.sigmoid(m.decoder(torch.cat((one_hot(labels), z), dim=1))).reshape(-1, 28, 28)
        torch.testing.assert_close(m.decode(z, labels), direct)
        # the label changes the digit: same style, two labels, two images
        assert not torch.allclose(m.decode(z[:1], torch.tensor([1])), m.decode(z[:1], torch.tensor([2])))
        # without labels, row i is digit i mod 10 (a 10-column grid: one digit per column)
        torch.testing.assert_close(m.decode(z), m.decode(z, torch.tensor([0, 1, 2, 3])))


def test_the_reconstruction_phase_hands_the_decoder_each_digits_label():
    data = load_dataset("synthetic")
    m = seeded_model(ModelConfig(kind="supervised_aae"), 0)
    tr = Trainer(m, make_prior("gaussian"), data.train_images, data.train_labels,
                 config=TrainConfig(batch_size=32, seed=0, device="cpu"), device="cpu")
    seen, labels = [], []
    forward, next_batch = m.decoder.forward, tr.next_batch
    m.decoder.forward = lambda x: (seen.append(x.detach().clone()), forward(x))[1]
    tr.next_batch = lambda: (lambda b: (labels.append(b.labels.clone()), b)[1])(next_batch())
    assert tr.phases == ("reconstruction", "discriminator", "generator")
    metrics = tr.step()
    assert {"recon", "disc", "gen"} <= set(metrics)
    assert len(seen) == 1 and seen[0].shape == (32, 12)
    torch.testing.assert_close(seen[0][:, :10], one_hot(labels[0]))


def test_the_style_grid_draws_each_style_as_every_digit():
    m = model(15)
    styles = torch.randn(3, 15, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        grid = m.style_grid(styles)
        assert grid.shape == (3, 10, 28, 28)
        torch.testing.assert_close(grid[1, 7], m.decode(styles[1:2], torch.tensor([7]))[0])
    from_weights = style_grid_from_weights(weights_of(m.decoder.linear_layers()), styles.numpy())
    np.testing.assert_allclose(from_weights, grid.numpy(), atol=1e-5)


@pytest.mark.parametrize("latent_dim", [2, 15])
def test_a_folded_digit_is_the_same_decoder_for_the_two_dimensional_pad(latent_dim):
    m = model(latent_dim)
    weights = weights_of(m.decoder.linear_layers())
    g = torch.Generator().manual_seed(2)
    pad_z = torch.randn(5, 2, generator=g)
    rest = torch.randn(latent_dim - 2, generator=g)
    z = torch.cat((pad_z, rest.expand(5, -1)), dim=1)
    for digit in (0, 4, 9):
        folded = fold_digit(weights, digit, rest.numpy())
        assert folded[0][0].shape[1] == 2 and len(folded) == len(weights)
        with torch.no_grad():
            expected = m.decode(z, torch.full((5,), digit)).numpy()
        np.testing.assert_allclose(decode_with_weights(folded, pad_z.numpy()), expected, atol=1e-5)
    with pytest.raises(ValueError, match="other style coordinates"):
        fold_digit(weights, 0, np.zeros(latent_dim + 1))


def test_a_drawn_digits_style_comes_from_the_encoders_weights():
    m = model(2)
    x = torch.rand(3, 784, generator=torch.Generator().manual_seed(3))
    enc = weights_of([l for l in m.encoder.net if isinstance(l, torch.nn.Linear)])
    with torch.no_grad():
        np.testing.assert_allclose(encode_with_weights(enc, x.numpy(), latent_dim=2), m.encode(x).numpy(), atol=1e-5)
    assert digit_inputs(np.zeros((2, 2)), np.array([3, 5])).argmax(axis=1).tolist() == [3, 5]


def test_a_supervised_checkpoint_round_trips_with_a_fifteen_dimensional_style(tmp_path):
    m = model(15)
    config = RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name="gaussian"),
                       model=ModelConfig(kind="supervised_aae", latent_dim=15), train=TrainConfig(device="cpu"))
    out = save_checkpoint(tmp_path / "sup", m, config, step=3, half=True)
    loaded = load_checkpoint(out)
    assert isinstance(loaded.model, SupervisedAAE) and loaded.config.model.latent_dim == 15
    z = torch.zeros(2, 15)
    with torch.no_grad():
        np.testing.assert_allclose(loaded.model.decode(z, torch.tensor([1, 8])).numpy(),
                                   m.decode(z, torch.tensor([1, 8])).numpy(), atol=5e-3)   # fp16 weights
    assert get_kind("supervised_aae").prior_incompatibility(make_prior("gaussian", dim=15)) is None


def test_the_shipped_supervised_aae_draws_its_style_grid_as_the_intended_digits(capsys):
    """Issue 11's target on the shipped checkpoint: ≥ 95 % of a 100-style × 10-digit grid, styles
    drawn from p(z), read by the digit classifier as the digit asked for (benchmarks/label_fit.py)."""
    from benchmarks import label_fit
    from aae.checkpoints import SHIPPED_DIR
    path = str(SHIPPED_DIR / "supervised-aae")
    assert label_fit.style_grid_score(path, seed=0) >= 0.95
    label_fit.main(["--style-grid", path, "--grid-seeds", "1", "2"])
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("supervised AAE")]
    assert [l.split("styles seed ")[1].split(":")[0] for l in lines] == ["1", "2"]
