"""aae.kinds: the registry of model kinds, and a kind defined right here (a toy) that trains
through the generic trainer, a job, a save and a load without any other file knowing it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from aae.checkpoints import load_checkpoint
from aae.config import ConfigError, DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import load_dataset
from aae.jobs import JobOptions, TrainingJob
from aae.kinds import (GENERATOR, AAE, AE, VAE, ModelKind, OptimizerSpec, build_model, get_kind, kind_names,
                       register_kind, unregister_kind)
from aae.kinds.ae import RECON_OPTIMIZER, reconstruction
from aae.models import Autoencoder, Discriminator
from aae.priors import make_prior
from aae.train import PriorIncompatible, Trainer, check_prior_compatible, seeded_model

TIMEOUT = 90.0  # generous: the suite shares two cores with other work
OPTIONS = JobOptions(snapshot_interval=0.05, n_eval=50, knn_train_codes=50, n_grid=4, d_grid_resolution=8,
                     n_arrows=4)


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("synthetic")


# -- the registry ------------------------------------------------------------------------------------

def test_the_built_in_kinds_are_registered_with_their_phase_tables():
    assert kind_names()[:3] == ("ae", "vae", "aae")
    assert get_kind("ae").phase_names == ("reconstruction",)
    assert get_kind("vae").phase_names == ("reconstruction",)
    assert get_kind("aae").phase_names == ("reconstruction", "discriminator", "generator")
    assert [get_kind(n).adversarial for n in ("ae", "vae", "aae")] == [False, False, True]
    assert get_kind("aae").snapshot_extras == ("d_grid", "arrows")
    for name, cls in (("ae", AE), ("vae", VAE), ("aae", AAE)):
        model = build_model(ModelConfig(kind=name))
        assert type(model) is cls and model.kind == name


def test_an_unknown_kind_is_a_config_error_that_lists_the_known_ones():
    with pytest.raises(ConfigError, match="ae, vae, aae|'ae', 'vae', 'aae'"):
        get_kind("gan")
    with pytest.raises(ConfigError, match="gan"):
        ModelConfig(kind="gan")


def test_a_kind_needs_a_unique_name_and_phases():
    class Nameless(ModelKind):
        phases = (("reconstruction", reconstruction),)

    class NoPhases(ModelKind):
        name = "nophases"

    class Twice(ModelKind):
        name = "twice"
        phases = (("reconstruction", reconstruction), ("reconstruction", reconstruction))

    class Clash(ModelKind):
        name = "aae"
        phases = (("reconstruction", reconstruction),)

    for cls in (Nameless, NoPhases, Twice, Clash):
        with pytest.raises(ValueError):
            register_kind(cls)
    assert type(get_kind("aae")).__name__ == "AAEKind"


@pytest.mark.parametrize("prior", ["gaussian", "mog10", "swiss_roll", "uniform", "pinwheel"])
def test_prior_compatibility_is_asked_of_the_kind(prior):
    p = make_prior(prior)
    assert get_kind("ae").prior_incompatibility(p) is None
    assert get_kind("aae").prior_incompatibility(p) is None
    reason = get_kind("vae").prior_incompatibility(p)
    assert (reason is None) == (p.has_density and p.full_support)
    if reason is not None:
        assert p.display_name in reason
        with pytest.raises(PriorIncompatible):
            check_prior_compatible("vae", p)


# -- a toy kind, defined here ------------------------------------------------------------------------

class ToyModel(Autoencoder):
    """An AE with a second network the job never heard of (a "critic" on codes)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.critic = Discriminator(latent_dim=config.latent_dim, hidden=(8,))


def pull_to_origin(tr: Trainer, batch) -> dict[str, float]:
    """A phase of its own: the encoder pulls its codes towards 0, L = mean ‖z‖²."""
    z = tr.model.encoder(batch.x, sample=True, generator=tr.generator).z
    loss = z.pow(2).sum(dim=1).mean()
    tr.optimize("pull", loss)
    return {"pull": loss.item(), "labelled": float(batch.labelled.float().mean())}


class ToyKind(ModelKind):
    name = "toy"
    display_name = "Toy"
    description = "A kind that lives in a test."
    phases = (("reconstruction", reconstruction), ("pull", pull_to_origin))
    optimizers = (RECON_OPTIMIZER, OptimizerSpec("pull", lambda m: m.encoder.parameters(), GENERATOR))
    snapshot_extras = ("code_norms",)

    def build(self, config: ModelConfig) -> ToyModel:
        return ToyModel(config)

    def prior_incompatibility(self, prior):
        return None if prior.has_density else f"the toy needs a density, and the {prior.display_name} has none"

    def probe(self, model, *, codes, prior, prior_sample, settings):
        return {"code_norms": codes.norm(dim=1).cpu().numpy(), "mean_norm": float(codes.norm(dim=1).mean())}


@pytest.fixture
def toy():
    register_kind(ToyKind)
    yield get_kind("toy")
    unregister_kind("toy")
    assert "toy" not in kind_names()


def toy_config(prior: str = "gaussian") -> RunConfig:
    return RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name=prior),
                     model=ModelConfig(kind="toy", latent_dim=2),
                     train=TrainConfig(batch_size=16, seed=0, device="cpu"))


def test_the_trainer_runs_a_toy_kinds_phase_table(toy, dataset):
    model = seeded_model(toy_config().model, 0)
    assert isinstance(model, ToyModel) and model.kind == "toy"
    tr = Trainer(model, make_prior("gaussian"), dataset.train_images, dataset.train_labels,
                 config=toy_config().train, device="cpu")
    assert tr.phases == ("reconstruction", "pull") and set(tr.optimizers) == {"recon", "pull"}
    critic = {k: v.clone() for k, v in model.critic.state_dict().items()}
    assert tr.step_phase()[0] == "reconstruction"
    phase, m = tr.step_phase()
    assert phase == "pull" and m["labelled"] == 1.0 and tr.step_count == 1
    pulls = [tr.step()["pull"] for _ in range(30)]
    assert pulls[-1] < pulls[0]                      # the codes move towards the origin
    assert all(torch.equal(critic[k], v) for k, v in model.critic.state_dict().items())  # no phase owns it
    with pytest.raises(PriorIncompatible, match="toy needs a density"):
        tr.set_prior(make_prior("swiss_roll"))


def test_a_toy_kind_trains_in_a_job_and_survives_a_save_and_a_load(toy, dataset, tmp_path):
    job = TrainingJob(toy_config(), options=dataclasses.replace(OPTIONS, start_paused=True), dataset=dataset).start()
    try:
        snap = job.wait_for(lambda s: s.status == "paused" and s.models, TIMEOUT)
        assert snap.phases == ("reconstruction", "pull") and snap.primary == "toy"
        assert job.step_phase().result(TIMEOUT) == 0
        snap = job.wait_for(lambda s: s.last_phase == "reconstruction", TIMEOUT)
        assert snap.phase_index == 1
        assert job.step_batch(3).result(TIMEOUT) == 3
        job.play()
        snap = job.wait_for(lambda s: s.step >= 8 and "code_norms" in s.view.extras, TIMEOUT)
        view = snap.view
        assert view.extras["code_norms"].shape == (50,) and not view.extras["code_norms"].flags.writeable
        assert "pull" in view.latest and "mean_norm" in view.latest
        assert view.d_grid is None and view.arrows is None   # no discriminator on z declared
        out = job.save(tmp_path / "toy").result(TIMEOUT)
    finally:
        job.stop(wait=True, timeout=TIMEOUT)
    loaded = load_checkpoint(out)
    assert isinstance(loaded.model, ToyModel) and loaded.config.model.kind == "toy"
    assert {k.split(".")[0] for k in loaded.model.state_dict()} == {"encoder", "decoder", "critic"}
    assert loaded.step >= snap.step
    x = dataset.test_images[:5].reshape(5, -1).float() / 255
    assert np.isfinite(loaded.model.encode(x).detach().numpy()).all()


def test_a_job_refuses_a_prior_the_toy_kind_cannot_use(toy, dataset):
    job = TrainingJob(toy_config("swiss_roll"), options=OPTIONS, dataset=dataset).start()
    snap = job.wait_for(lambda s: s.status == "failed", TIMEOUT)
    assert "toy needs a density" in snap.error
    job.join(TIMEOUT)
