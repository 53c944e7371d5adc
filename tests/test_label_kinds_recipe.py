"""The D-input noise as a recipe setting (a prior's or a kind's, unless TrainConfig fixes it), the
label kinds' shared adversarial set-up, and the supervised AAE's decoder given the digits it is
asked for wherever the digits are known (the job's fixed images, the held-out evaluation)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from aae import metrics as M
from aae.checkpoints import load_checkpoint
from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import load_dataset, to_float
from aae.jobs import JobOptions, TrainingJob
from aae.kinds import get_kind
from aae.kinds.aae import AdversarialKind
from aae.priors import make_prior
from aae.train import DEFAULT_RECIPE, AdversarialRecipe, Trainer, adversarial_recipe, seeded_model

TIMEOUT = 120.0
OPTIONS = JobOptions(snapshot_interval=0.05, n_eval=50, knn_train_codes=50, n_grid=20, d_grid_resolution=8,
                     n_arrows=4, start_paused=True)


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("synthetic")


def test_d_input_noise_defaults_to_the_recipe_and_the_config_overrides_it():
    assert TrainConfig().d_input_noise is None
    prior = make_prior("mog10")
    assert adversarial_recipe(TrainConfig(), prior).d_input_noise == DEFAULT_RECIPE.d_input_noise
    assert adversarial_recipe(TrainConfig(d_input_noise=0.35), prior).d_input_noise == 0.35
    labelled = get_kind("labelled_aae")
    assert labelled.recipe is not None
    assert adversarial_recipe(TrainConfig(), prior, labelled) == labelled.recipe
    assert adversarial_recipe(TrainConfig(d_input_noise=0.0), prior, labelled).d_input_noise == 0.0
    # a checkpoint written before the field took None still reads as its fixed value
    assert TrainConfig.from_dict({**TrainConfig().to_dict(), "d_input_noise": 0.0}).d_input_noise == 0.0


def test_the_reconstruction_rate_defaults_to_the_recipe_and_the_config_overrides_it(dataset):
    """The label-conditioned AAE's recipe slows the reconstruction phase (3e-4) so that the generator
    phase's pull towards each digit's component wins; every other kind keeps 1e-3; TrainConfig.lr_recon,
    when set, wins; an old checkpoint's fixed 1e-3 stays 1e-3."""
    assert TrainConfig().lr_recon is None
    prior = make_prior("mog10")
    assert adversarial_recipe(TrainConfig(), prior).lr_recon == 1e-3
    for name in ("aae", "ae", "vae", "supervised_aae", "semi_supervised", "clustering"):
        assert adversarial_recipe(TrainConfig(), prior, get_kind(name)).lr_recon == 1e-3, name
    labelled = get_kind("labelled_aae")
    assert adversarial_recipe(TrainConfig(), prior, labelled).lr_recon == 3e-4
    assert adversarial_recipe(TrainConfig(lr_recon=2e-3), prior, labelled).lr_recon == 2e-3
    assert TrainConfig.from_dict({**TrainConfig().to_dict(), "lr_recon": 1e-3}).lr_recon == 1e-3

    def recon_lr(config: TrainConfig) -> float:
        model = seeded_model(ModelConfig(kind="labelled_aae"), 0)
        tr = Trainer(model, prior, dataset.train_images, dataset.train_labels, config=config, device="cpu")
        tr.step()
        return tr.optimizers["recon"].param_groups[0]["lr"]

    assert recon_lr(TrainConfig(device="cpu")) == 3e-4
    assert recon_lr(TrainConfig(device="cpu", lr_recon=1e-3)) == 1e-3


def test_the_trainer_adds_the_recipes_noise_to_what_d_sees(dataset, monkeypatch):
    model = seeded_model(ModelConfig(kind="aae"), 0)
    z = torch.zeros(500, 2)
    noisy = AdversarialRecipe(lr_disc=1e-3, lr_gen=1e-3, beta1=0.5, d_penalty=0.0, d_input_noise=0.3)
    monkeypatch.setattr(get_kind("aae"), "recipe", noisy)
    tr = Trainer(model, make_prior("mog10"), dataset.train_images, dataset.train_labels,
                 config=TrainConfig(device="cpu"), device="cpu")
    assert tr.recipe.d_input_noise == 0.3
    assert 0.25 < float(tr.d_input(z).std()) < 0.35
    quiet = Trainer(model, make_prior("mog10"), dataset.train_images, dataset.train_labels,
                    config=TrainConfig(device="cpu", d_input_noise=0.0), device="cpu")
    assert torch.equal(quiet.d_input(z), z)


def test_the_adversarial_kinds_share_one_set_up():
    kinds = [get_kind(name) for name in ("aae", "labelled_aae", "supervised_aae")]
    assert all(isinstance(k, AdversarialKind) for k in kinds)
    assert all(k.optimizers is AdversarialKind.optimizers for k in kinds)
    for name, extra in (("aae", 0), ("labelled_aae", 11), ("supervised_aae", 0)):
        model = seeded_model(ModelConfig(kind=name), 0)
        first = next(m for m in model.discriminator.modules() if isinstance(m, torch.nn.Linear))
        assert first.in_features == 2 + extra, name


def test_the_supervised_decoder_is_given_the_digits_in_the_evaluation(dataset):
    model = seeded_model(ModelConfig(kind="supervised_aae"), 0).eval()
    x, labels = to_float(dataset.test_images[:40]), dataset.test_labels[:40]
    with torch.no_grad():
        assert torch.equal(model.reconstruct_given(x, labels), model.reconstruct(x, labels))
        assert not torch.equal(model.reconstruct_given(x, labels), model.reconstruct(x, (labels + 1) % 10))
        plain = seeded_model(ModelConfig(kind="aae"), 0).eval()
        assert torch.equal(plain.reconstruct_given(x, labels), plain.reconstruct(x))
    prior = make_prior("gaussian")
    small = dataclasses.replace(dataset, test_images=dataset.test_images[:40], test_labels=dataset.test_labels[:40])
    got = M.evaluate_model(model, prior, small, n=40, n_reference=40)
    with torch.no_grad():
        right = model.reconstruct(x, labels).reshape(40, -1).numpy()
    key = "recon_nats" if "recon_nats" in got else "recon_error"
    fn = M.reconstruction_nats if key == "recon_nats" else M.reconstruction_error
    assert got[key] == pytest.approx(fn(x.numpy(), right))


def test_the_job_reconstructs_its_fixed_digits_as_those_digits(dataset, tmp_path):
    """A test set without a digit 0: the fixed images are digits 1-9, which a decoder that guessed
    the digits from their position (0, 1, …) would draw as 0-8."""
    keep = dataset.test_labels != 0
    data = dataclasses.replace(dataset, test_images=dataset.test_images[keep], test_labels=dataset.test_labels[keep])
    config = RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name="gaussian"),
                       model=ModelConfig(kind="supervised_aae"), train=TrainConfig(device="cpu", batch_size=32))
    job = TrainingJob(config, options=OPTIONS, dataset=data).start()
    try:
        job.wait_for(lambda s: s.status == "paused" and s.models, TIMEOUT)
        assert job.step_batch(2).result(TIMEOUT) == 2
        snap = job.wait_for(lambda s: s.step == 2 and s.view.recon_outputs is not None
                            and s.view.samples is not None, TIMEOUT)
        out = job.save(tmp_path / "sup").result(TIMEOUT)
    finally:
        job.stop(wait=True, timeout=TIMEOUT)
    model = load_checkpoint(out).model
    x = torch.from_numpy(snap.recon_inputs.copy()).reshape(-1, 784)
    digits = torch.tensor([int(data.test_labels[(data.test_labels == c).nonzero()[0]]) for c in range(1, 10)])
    with torch.no_grad():
        right, wrong = model.reconstruct(x, digits).numpy(), model.reconstruct(x).numpy()
    assert abs(snap.view.recon_outputs - right).max() < 1e-5
    assert abs(snap.view.recon_outputs - wrong).max() > 1e-3
    assert snap.view.samples.shape == (20, 28, 28)
