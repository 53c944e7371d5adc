"""aae.models: shapes over model kind × encoder kind × preset × latent size, output ranges,
no BatchNorm anywhere, one shared backbone, and a decoder the browser can reproduce."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from aae.config import ModelConfig
from aae.kinds import AAE, AE, VAE, build_model
from aae.models import Decoder, Discriminator, Encoder, count_parameters, mlp
from aae.priors import make_prior
from aae.train import seeded_model

B = 5



@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(B, 784, generator=torch.Generator().manual_seed(0))       # (B, 784) in [0, 1]


_MODELS: dict[ModelConfig, object] = {}


@pytest.fixture(autouse=True, scope="module")
def forget_models():
    yield
    _MODELS.clear()


def model_for(kind: str, encoder: str, preset: str, latent_dim: int):
    """Models are built once per configuration in this module (the paper preset has ~4M parameters)."""
    cfg = ModelConfig(kind=kind, encoder=encoder, preset=preset, latent_dim=latent_dim)
    if cfg not in _MODELS:
        _MODELS[cfg] = seeded_model(cfg, 0).eval()
    return _MODELS[cfg]


@pytest.mark.parametrize("latent_dim", [2, 8])
@pytest.mark.parametrize("preset", ["small", "paper"])
@pytest.mark.parametrize("encoder", ["deterministic", "gaussian", "universal"])
@pytest.mark.parametrize("kind", ["ae", "vae", "aae"])
def test_shapes_and_ranges(kind, encoder, preset, latent_dim, images):
    model = model_for(kind, encoder, preset, latent_dim)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        z = model.encode(images)
        assert z.shape == (B, latent_dim)
        assert model.encode(images.reshape(B, 28, 28)).shape == (B, latent_dim)
        assert model.encode(images, sample=True, generator=g).shape == (B, latent_dim)
        x_hat = model.decode(z)
        assert x_hat.shape == (B, 28, 28)
        assert float(x_hat.min()) >= 0.0 and float(x_hat.max()) <= 1.0
        assert model.reconstruct(images).shape == (B, 28, 28)
        far = torch.full((B, latent_dim), 1e4)
        extreme = model.decode(far)
        assert torch.isfinite(extreme).all() and float(extreme.min()) >= 0 and float(extreme.max()) <= 1
        samples = model.sample(7, make_prior("mog10", dim=latent_dim), generator=g)
        assert samples.shape == (7, 28, 28)
        assert float(samples.min()) >= 0.0 and float(samples.max()) <= 1.0
        out = model.encoder(images, sample=True, generator=g)
        if model.config.encoder == "gaussian":
            assert out.mu.shape == out.logvar.shape == (B, latent_dim)
        else:
            assert out.mu is None and out.logvar is None
        if kind == "aae":
            logits = model.discriminator(z)
            assert logits.shape == (B,)
            assert logits.dtype == torch.float32
    assert model.kind == kind
    assert model.latent_dim == latent_dim


@pytest.mark.parametrize("kind", ["ae", "vae", "aae"])
def test_no_batchnorm_or_other_normalisation(kind):
    for preset in ("small", "paper"):
        model = model_for(kind, "universal", preset, 2)
        for module in model.modules():
            assert not isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm,
                                           nn.modules.instancenorm._InstanceNorm, nn.Dropout)), module


def test_discriminator_ends_in_a_logit():
    disc = model_for("aae", "deterministic", "small", 2).discriminator
    last = list(disc.net)[-1]
    assert isinstance(last, nn.Linear) and last.out_features == 1
    with torch.no_grad():
        logits = disc(torch.randn(64, 2, generator=torch.Generator().manual_seed(2)) * 50)
    assert float(logits.abs().max()) > 1.0  # not squashed by a sigmoid


@pytest.mark.parametrize(
    ("preset", "widths", "disc_widths"),
    [("small", [784, 512, 256], [256, 256, 1]), ("paper", [784, 1000, 1000], [1000, 1000, 1])],
)
def test_presets_have_the_documented_widths(preset, widths, disc_widths):
    model = model_for("aae", "deterministic", preset, 8)
    enc = [m for m in model.encoder.net if isinstance(m, nn.Linear)]
    assert [m.in_features for m in enc] == widths
    assert enc[-1].out_features == 8
    dec = model.decoder.linear_layers()
    assert [m.out_features for m in dec] == list(reversed(widths))
    disc = [m for m in model.discriminator.net if isinstance(m, nn.Linear)]
    assert [m.in_features for m in disc] == [8, *disc_widths[:-1]]
    assert [m.out_features for m in disc] == disc_widths


def test_ae_vae_aae_share_one_backbone():
    ae = model_for("ae", "gaussian", "small", 2)
    vae = model_for("vae", "gaussian", "small", 2)
    aae = model_for("aae", "gaussian", "small", 2)
    assert count_parameters(ae) == count_parameters(vae)
    assert count_parameters(aae) == count_parameters(ae) + count_parameters(aae.discriminator)
    assert [p.shape for p in ae.encoder.parameters()] == [p.shape for p in aae.encoder.parameters()]
    assert [p.shape for p in ae.decoder.parameters()] == [p.shape for p in vae.decoder.parameters()]
    assert not hasattr(ae, "discriminator") and not hasattr(vae, "discriminator")


def test_build_model_picks_the_class_and_vae_is_gaussian():
    assert isinstance(build_model(ModelConfig(kind="ae")), AE)
    assert isinstance(build_model(ModelConfig(kind="aae")), AAE)
    vae = build_model(ModelConfig(kind="vae", encoder="deterministic"))
    assert isinstance(vae, VAE) and vae.encoder.kind == "gaussian"


def test_seeded_model_is_reproducible_and_leaves_global_rng_alone():
    cfg = ModelConfig(kind="aae")
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b, c = seeded_model(cfg, 4), seeded_model(cfg, 4), seeded_model(cfg, 5)
    assert torch.equal(torch.get_rng_state(), before)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.state_dict().values(), c.state_dict().values()))


@pytest.mark.parametrize("encoder", ["deterministic", "gaussian", "universal"])
def test_encode_defaults_to_the_mean_code(encoder, images):
    model = model_for("aae", encoder, "small", 2)
    with torch.no_grad():
        assert torch.equal(model.encode(images), model.encode(images))
        s1 = model.encode(images, sample=True, generator=torch.Generator().manual_seed(1))
        s1_again = model.encode(images, sample=True, generator=torch.Generator().manual_seed(1))
        s2 = model.encode(images, sample=True, generator=torch.Generator().manual_seed(2))
    assert torch.equal(s1, s1_again)
    if encoder == "deterministic":
        assert torch.equal(s1, s2)
    else:
        assert not torch.equal(s1, s2)


def test_gaussian_encoder_samples_around_mu():
    enc = Encoder(latent_dim=3, hidden=(16,), kind="gaussian")
    x = torch.rand(1, 784, generator=torch.Generator().manual_seed(3)).expand(20_000, 784)
    with torch.no_grad():
        out = enc(x, sample=True, generator=torch.Generator().manual_seed(4))
    std = torch.exp(0.5 * out.logvar[0])
    np.testing.assert_allclose(out.z.mean(0).numpy(), out.mu[0].numpy(), atol=float(4 * std.max() / 141))
    np.testing.assert_allclose(out.z.std(0).numpy(), std.numpy(), rtol=0.03)


def test_mlp_has_relu_between_layers_and_none_after():
    net = mlp([2, 8, 4, 1])
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]


@pytest.mark.parametrize("preset", ["small", "paper"])
@pytest.mark.parametrize("latent_dim", [2, 8])
def test_linear_layers_reproduce_decode(preset, latent_dim):
    """What the browser does with the shipped weights: matmul, ReLU, …, sigmoid."""
    model = model_for("aae", "deterministic", preset, latent_dim)
    z = torch.randn(16, latent_dim, generator=torch.Generator().manual_seed(5)) * 2
    layers = model.decoder.linear_layers()
    h = z.numpy().astype(np.float64)
    for i, layer in enumerate(layers):
        w = layer.weight.detach().numpy().astype(np.float64)     # (out, in)
        b = layer.bias.detach().numpy().astype(np.float64)       # (out,)
        h = h @ w.T + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    manual = (1.0 / (1.0 + np.exp(-h))).reshape(-1, 28, 28)
    with torch.no_grad():
        reference = model.decode(z).double().numpy()
    np.testing.assert_allclose(manual, reference, rtol=0, atol=2e-6)


def test_standalone_modules():
    dec = Decoder(latent_dim=3, hidden=(32, 16))
    assert dec(torch.zeros(2, 3)).shape == (2, 784)
    disc = Discriminator(latent_dim=3, hidden=(8,))
    assert disc(torch.zeros(4, 3)).shape == (4,)
    enc = Encoder(latent_dim=3, hidden=(16,), kind="universal", noise_dim=5)
    assert enc.net[0].in_features == 784 + 5
    assert Encoder(latent_dim=3, hidden=(16,), kind="deterministic", noise_dim=5).net[0].in_features == 784
