"""aae.config: validation names the offending field, JSON round trip, unknown fields refused,
and the VAE's encoder is always gaussian."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from aae.config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    PriorConfig,
    RunConfig,
    TrainConfig,
)


@pytest.mark.parametrize(
    ("cls", "field_name", "value"),
    [
        (DataConfig, "name", ""),
        (DataConfig, "root", 3),
        (DataConfig, "seed", -1),
        (DataConfig, "seed", 1.5),
        (PriorConfig, "name", ""),
        (PriorConfig, "scale", 0.0),
        (PriorConfig, "scale", 100.0),
        (PriorConfig, "scale", math.nan),
        (PriorConfig, "scale", "1"),
        (ModelConfig, "kind", "gan"),
        (ModelConfig, "preset", "huge"),
        (ModelConfig, "latent_dim", 0),
        (ModelConfig, "latent_dim", 65),
        (ModelConfig, "latent_dim", 2.0),
        (ModelConfig, "latent_dim", True),
        (ModelConfig, "encoder", "magic"),
        (ModelConfig, "noise_dim", 0),
        (TrainConfig, "batch_size", 0),
        (TrainConfig, "batch_size", 5000),
        (TrainConfig, "lr_recon", 0.0),
        (TrainConfig, "lr_disc", 2.0),
        (TrainConfig, "lr_gen", math.inf),
        (TrainConfig, "beta1", 1.0),
        (TrainConfig, "beta1", 0),
        (TrainConfig, "beta1", 0.0),
        (TrainConfig, "beta1", -0.5),
        (TrainConfig, "beta1", True),
        (TrainConfig, "batch_size", True),
        (TrainConfig, "batch_size", 1.0),
        (TrainConfig, "lr_recon", -1e-3),
        (TrainConfig, "lr_disc", 0),
        (TrainConfig, "lr_gen", 1.5),
        (TrainConfig, "weight_decay", -0.1),
        (TrainConfig, "weight_decay", math.nan),
        (TrainConfig, "encoder_weight_decay", -0.01),
        (TrainConfig, "encoder_weight_decay", None),
        (TrainConfig, "input_dropout", -0.1),
        (TrainConfig, "d_input_noise", 11.0),
        (TrainConfig, "d_input_noise", math.inf),
        (TrainConfig, "d_penalty", 101.0),
        (TrainConfig, "disc_steps", 11),
        (TrainConfig, "disc_steps", False),
        (TrainConfig, "seed", 2**63),
        (TrainConfig, "seed", "0"),
        (TrainConfig, "device", "cuda:x"),
        (TrainConfig, "device", "cuda:"),
        (TrainConfig, "device", 0),
        (DataConfig, "name", "x" * 65),
        (DataConfig, "name", 5),
        (DataConfig, "root", ""),
        (DataConfig, "root", "a\x00b"),
        (DataConfig, "root", "x" * 5000),
        (DataConfig, "seed", 2**63),
        (DataConfig, "seed", True),
        (PriorConfig, "name", "x" * 65),
        (PriorConfig, "name", "bad\nname"),
        (PriorConfig, "scale", True),
        (PriorConfig, "scale", 0.04),
        (ModelConfig, "kind", 3),
        (ModelConfig, "noise_dim", 785),
        (ModelConfig, "noise_dim", True),
        (TrainConfig, "d_input_noise", -0.1),
        (TrainConfig, "disc_steps", 0),
        (TrainConfig, "disc_steps", 1.5),
        (TrainConfig, "d_penalty", -1.0),
        (TrainConfig, "d_penalty", math.nan),
        (TrainConfig, "weight_decay", 2.0),
        (TrainConfig, "input_dropout", 1.0),
        (TrainConfig, "seed", -3),
        (TrainConfig, "device", "tpu"),
    ],
)
def test_invalid_value_names_the_field(cls, field_name, value):
    with pytest.raises(ConfigError) as info:
        cls(**{field_name: value})
    assert field_name in str(info.value)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_defaults_are_valid_and_cuda_index_is_accepted():
    RunConfig()
    assert TrainConfig(device="cuda:1").device == "cuda:1"


def test_round_trip_through_json():
    cfg = RunConfig(
        data=DataConfig(name="synthetic", root="/tmp/somewhere", seed=3),
        prior=PriorConfig(name="mog10", scale=1.5),
        model=ModelConfig(kind="aae", preset="paper", latent_dim=8, encoder="universal", noise_dim=16),
        train=TrainConfig(batch_size=64, lr_recon=2e-3, lr_disc=1e-4, lr_gen=3e-4, beta1=0.9,
                          d_input_noise=0.1, disc_steps=3, d_penalty=1.0, weight_decay=0.01,
                          input_dropout=0.2, seed=7, device="cpu"),
    )
    d = cfg.to_dict()
    assert isinstance(d["model"], dict) and d["model"]["preset"] == "paper"
    again = RunConfig.from_dict(json.loads(json.dumps(d)))
    assert again == cfg
    assert again.to_dict() == d


def test_from_dict_fills_defaults_for_missing_fields():
    cfg = RunConfig.from_dict({"model": {"latent_dim": 8}})
    assert cfg.model.latent_dim == 8
    assert cfg.model.kind == ModelConfig().kind
    assert cfg.train == TrainConfig()


@pytest.mark.parametrize(
    ("cls", "data", "bad"),
    [
        (RunConfig, {"modle": {}}, "modle"),
        (ModelConfig, {"kind": "aae", "layers": 3}, "layers"),
        (TrainConfig, {"learning_rate": 0.1}, "learning_rate"),
    ],
)
def test_unknown_fields_are_rejected(cls, data, bad):
    with pytest.raises(ConfigError) as info:
        cls.from_dict(data)
    assert bad in str(info.value)


def test_unknown_nested_field_is_rejected():
    with pytest.raises(ConfigError, match="speed"):
        RunConfig.from_dict({"train": {"speed": 3}})


def test_from_dict_validates_values_and_types():
    with pytest.raises(ConfigError, match="latent_dim"):
        RunConfig.from_dict({"model": {"latent_dim": 0}})
    with pytest.raises(ConfigError, match="mapping"):
        RunConfig.from_dict({"model": "aae"})
    with pytest.raises(ConfigError, match="mapping"):
        RunConfig.from_dict(["not", "a", "mapping"])


@pytest.mark.parametrize("encoder", ["deterministic", "gaussian", "universal"])
def test_vae_forces_gaussian_encoder(encoder):
    cfg = ModelConfig(kind="vae", encoder=encoder)
    assert cfg.encoder == "gaussian"
    assert ModelConfig.from_dict(cfg.to_dict()).encoder == "gaussian"
    assert cfg.replace(encoder="universal").encoder == "gaussian"


@pytest.mark.parametrize("kind", ["ae", "aae"])
def test_other_models_keep_their_encoder(kind):
    assert ModelConfig(kind=kind, encoder="universal").encoder == "universal"


def test_configs_are_frozen_and_replace_revalidates():
    cfg = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.batch_size = 3  # type: ignore[misc]
    assert cfg.replace(batch_size=32).batch_size == 32
    with pytest.raises(ConfigError, match="batch_size"):
        cfg.replace(batch_size=-1)


def test_run_config_checks_section_types():
    with pytest.raises(ConfigError, match="model"):
        RunConfig(model={"kind": "aae"})  # type: ignore[arg-type]


@pytest.mark.parametrize(("cls", "field_name", "value"), [
    (DataConfig, "name", "x" * 100_000), (PriorConfig, "name", "y" * 100_000), (TrainConfig, "seed", 10**400),
    (TrainConfig, "device", "z" * 100_000), (ModelConfig, "preset", "w" * 100_000),
])
def test_error_messages_stay_short_whatever_the_value(cls, field_name, value):
    """A config may come from a checkpoint file: its messages must not echo the file."""
    with pytest.raises(ConfigError) as info:
        cls(**{field_name: value})
    assert field_name in str(info.value) and len(str(info.value)) < 200


def test_unknown_field_names_are_shown_short():
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({"q" * 10_000: 1})
    assert len(str(info.value)) < 400


def test_beta1_limits_are_open_at_both_ends():
    for value in (1e-6, 0.5, 0.999):
        assert TrainConfig(beta1=value).beta1 == value
    assert TrainConfig(beta1=None).beta1 is None  # the prior's recipe
