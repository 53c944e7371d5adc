"""ModelConfig.disc_fourier: the code discriminator's random Fourier features (aae.models.Discriminator)."""

from __future__ import annotations

import pytest
import torch

from aae.checkpoints import load_checkpoint, save_checkpoint
from aae.config import ConfigError, DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.models import Discriminator
from aae.train import seeded_model


@pytest.mark.parametrize("bad", [-1, 257, 2.5, True, "8"])
def test_disc_fourier_must_be_a_small_count(bad):
    with pytest.raises(ConfigError, match="disc_fourier"):
        ModelConfig(disc_fourier=bad)


def test_no_features_keeps_the_plain_discriminator():
    d = Discriminator(latent_dim=2, hidden=(8, 8))
    assert d.net[0].in_features == 2
    assert all(k.startswith("net.") for k in d.state_dict())


def test_features_widen_the_input_and_are_saved_and_fixed():
    a = Discriminator(latent_dim=2, hidden=(8, 8), fourier=16)
    b = Discriminator(latent_dim=2, hidden=(8, 8), fourier=16)
    assert a.net[0].in_features == 2 + 2 * 16
    assert a.state_dict()["fourier"].shape == (2, 16)
    z = torch.randn(5, 2)
    expected = a.net(torch.cat([z, torch.sin(z @ a.fourier), torch.cos(z @ a.fourier)], dim=1)).squeeze(1)
    assert torch.allclose(a(z), expected)


def test_the_features_do_not_depend_on_the_global_seed():
    torch.manual_seed(1)
    a = Discriminator(latent_dim=2, hidden=(8,), fourier=16)
    torch.manual_seed(2)
    b = Discriminator(latent_dim=2, hidden=(8,), fourier=16)
    assert torch.equal(a.fourier, b.fourier)
    assert not torch.equal(a.net[0].weight, b.net[0].weight)


def test_an_aae_with_features_round_trips(tmp_path):
    cfg = RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name="pinwheel"),
                    model=ModelConfig(kind="aae", disc_fourier=32), train=TrainConfig(device="cpu"))
    model = seeded_model(cfg.model, 0)
    assert model.discriminator.net[0].in_features == 2 + 64
    save_checkpoint(tmp_path / "ck", model, cfg, step=1)
    loaded = load_checkpoint(tmp_path / "ck")
    assert loaded.config.model.disc_fourier == 32
    z = torch.randn(7, 2)
    with torch.no_grad():
        assert torch.equal(loaded.model.discriminator(z), model.eval().discriminator(z))
