"""The categorical AAE (aae.kinds.categorical, aae.kinds.reduction): its discriminator on y, which
parameters each phase moves, the paper's cluster-labelling rule, the cluster-head distance cost, and
the kinds training through a trainer, a job, a save and a load."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from aae import metrics as M
from aae.checkpoints import load_checkpoint, save_checkpoint
from aae.config import ConfigError, DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import load_dataset, to_float
from aae.jobs import JobOptions, TrainingJob
from aae.kinds import get_kind
from aae.kinds.categorical import (CATEGORICAL_RECIPE, CategoricalAAE, SemiSupervisedAAE, consistency_loss,
                                   one_hot_samples)
from aae.kinds.reduction import ReductionAAE, head_distance_penalty
from aae.priors import make_prior
from aae.probes import ProbeSettings
from aae.train import Trainer, seeded_model

TIMEOUT = 90.0  # generous: the suite shares two cores with other work
OPTIONS = JobOptions(snapshot_interval=0.05, detail_interval=0.05, n_eval=60, knn_train_codes=60, n_grid=4,
                     d_grid_resolution=8, n_arrows=4)
KINDS = ("semi_supervised", "clustering", "reduction", "reduction_semi")


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("synthetic")


def trainer(kind: str, dataset, *, n_classes: int = 10, **train) -> Trainer:
    cfg = ModelConfig(kind=kind, latent_dim=2, n_classes=n_classes)
    model = seeded_model(cfg, 0)
    return Trainer(model, make_prior("gaussian"), dataset.train_images, dataset.train_labels,
                   config=TrainConfig(batch_size=16, seed=0, device="cpu", **train), device="cpu")


def params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# -- the model ----------------------------------------------------------------------------------------

def test_the_kinds_are_registered_with_their_phase_tables():
    assert get_kind("semi_supervised").phase_names == (
        "reconstruction", "discriminators", "generator", "classification", "baseline")
    assert get_kind("clustering").phase_names == ("reconstruction", "discriminators", "generator")
    assert get_kind("reduction").phase_names == ("reconstruction", "discriminators", "generator")
    assert get_kind("reduction_semi").phase_names[-1] == "classification"
    assert all(get_kind(k).recipe == CATEGORICAL_RECIPE for k in KINDS)
    assert isinstance(seeded_model(ModelConfig(kind="semi_supervised"), 0), SemiSupervisedAAE)
    assert type(seeded_model(ModelConfig(kind="clustering"), 0)) is CategoricalAAE
    assert isinstance(seeded_model(ModelConfig(kind="reduction"), 0), ReductionAAE)


def test_n_classes_is_validated():
    for bad in (1, 101, 2.5, True):
        with pytest.raises(ConfigError, match="n_classes"):
            ModelConfig(kind="clustering", n_classes=bad)
    with pytest.raises(ConfigError, match="eta"):
        TrainConfig(eta=-1.0)


def test_the_two_heads_and_the_decoder_have_the_documented_shapes():
    model = seeded_model(ModelConfig(kind="clustering", latent_dim=3, n_classes=16), 0)
    x = torch.rand(5, 784)
    out = model.encoder(x)
    assert out.y_logits.shape == (5, 16) and out.z.shape == (5, 3)
    assert torch.allclose(out.y.sum(1), torch.ones(5))
    assert model.encode(x).shape == (5, 3) and model.classify(x).shape == (5, 16)
    assert model.reconstruct(x).shape == (5, 28, 28)
    assert model.cluster_heads().shape == (16, 28, 28)
    grid = model.style_grid(torch.randn(2, 3))
    assert grid.shape == (32, 28, 28)
    # row r, column j decodes (one-hot(j), z_r)
    z = torch.randn(2, 3)
    grid = model.style_grid(z)
    y = torch.nn.functional.one_hot(torch.tensor([5]), 16).float()
    assert torch.allclose(grid[16 + 5], model.decode_yz(y, z[1:2])[0], atol=1e-6)


def test_the_categorical_discriminators_samples_are_one_hot(dataset):
    tr = trainer("clustering", dataset, n_classes=7)
    samples = one_hot_samples(tr, 2000)
    assert samples.shape == (2000, 7)
    assert set(samples.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(samples.sum(1), torch.ones(2000))
    counts = samples.sum(0)
    assert counts.min() > 200   # every class drawn, about 2000 / 7 ≈ 286 times each


def test_the_classification_phase_moves_only_the_trunk_and_the_y_head(dataset):
    tr = trainer("semi_supervised", dataset, label_fraction=0.2)
    model = tr.model
    before = params(model)
    batch = tr.next_batch()
    tr.run_phase("classification", batch)
    after = params(model)
    n = model.n_classes
    last_w, last_b = "encoder.net.4.weight", "encoder.net.4.bias"
    for key in before:
        if key.startswith(("decoder.", "disc_y.", "disc_z.", "baseline.")):
            assert torch.equal(before[key], after[key]), key
    assert torch.equal(before[last_w][n:], after[last_w][n:])      # the z head's rows
    assert torch.equal(before[last_b][n:], after[last_b][n:])
    assert not torch.equal(before[last_w][:n], after[last_w][:n])  # the y head's rows
    for key in ("encoder.net.0.weight", "encoder.net.2.weight"):   # the trunk
        assert not torch.equal(before[key], after[key]), key


def test_too_few_classes_for_the_labels_is_a_readable_error(dataset):
    tr = trainer("semi_supervised", dataset, n_classes=4)
    with pytest.raises(ConfigError, match="n_classes"):
        tr.run_phase("classification", tr.next_batch())


def test_the_classification_phase_reads_only_labelled_digits(dataset):
    tr = trainer("semi_supervised", dataset, label_fraction=0.1)
    seen = []
    original = tr.labelled_batch

    def spy():
        b = original()
        seen.append(b)
        return b

    tr.labelled_batch = spy
    tr.step()
    assert len(seen) == 1 and bool(seen[0].labelled.all())
    # the baseline trained on the very same labelled batch (the classification phase handed it on)
    assert tr.scratch == {}


def test_the_baseline_phase_moves_only_the_baseline(dataset):
    tr = trainer("semi_supervised", dataset)
    before = params(tr.model)
    tr.run_phase("baseline", tr.next_batch())
    after = params(tr.model)
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"baseline"}


def test_the_discriminator_phase_moves_only_the_two_discriminators(dataset):
    tr = trainer("clustering", dataset)
    before = params(tr.model)
    m = tr.run_phase("discriminators", tr.next_batch())
    after = params(tr.model)
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"disc_y", "disc_z"}
    assert 0.0 <= m["d_acc_y"] <= 1.0 and 0.0 <= m["d_acc_z"] <= 1.0


def test_the_generator_phase_moves_only_the_encoder(dataset):
    tr = trainer("clustering", dataset)
    before = params(tr.model)
    tr.run_phase("generator", tr.next_batch())
    after = params(tr.model)
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"encoder"}


def test_the_consistency_term_is_zero_for_equal_views_and_pulls_the_second_towards_the_first():
    a = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    assert consistency_loss(a, a.clone()).item() == pytest.approx(0.0, abs=1e-7)
    b = torch.zeros_like(a, requires_grad=True)
    loss = consistency_loss(a.requires_grad_(), b)
    assert loss.item() > 0
    loss.backward()
    assert a.grad is None or torch.all(a.grad == 0)        # the first view is the fixed target
    stepped = (b - 1.0 * b.grad).detach()                   # one gradient step brings q_b nearer q_a
    assert consistency_loss(a.detach(), stepped).item() < loss.item()


def test_the_generator_phase_adds_the_consistency_term_only_when_the_recipe_asks(dataset):
    tr = trainer("clustering", dataset)
    assert CATEGORICAL_RECIPE.consistency == 0
    assert "consistency" not in tr.run_phase("generator", tr.next_batch())
    tr.recipe = dataclasses.replace(tr.recipe, consistency=3.0)
    before = params(tr.model)
    metrics = tr.run_phase("generator", tr.next_batch())
    assert metrics["consistency"] >= 0
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], params(tr.model)[k])}
    assert changed == {"encoder"}


# -- the paper's rule and the metrics -----------------------------------------------------------------

def test_the_cluster_labelling_rule_on_a_constructed_case():
    # 3 clusters, 5 training digits. Cluster 0 is surest of digit 1 (label 7), cluster 1 of digit 3
    # (label 2), cluster 2 of digit 4 (label 7): two clusters may stand for one label.
    probs = np.array([[0.5, 0.3, 0.2],
                      [0.9, 0.05, 0.05],
                      [0.2, 0.7, 0.1],
                      [0.1, 0.8, 0.1],
                      [0.3, 0.1, 0.6]])
    labels = np.array([1, 7, 2, 2, 7])
    assert M.cluster_labels(probs, labels).tolist() == [7, 2, 7]
    # held-out digits: predicted label = label of their argmax cluster
    held_out = np.array([[0.6, 0.2, 0.2], [0.1, 0.1, 0.8], [0.2, 0.7, 0.1]])
    predicted = M.cluster_labels(probs, labels)[held_out.argmax(1)]
    assert predicted.tolist() == [7, 7, 2]
    assert M.classification_error(predicted, np.array([7, 1, 2])) == pytest.approx(1 / 3)


def test_confusion_matrix_and_purity():
    labels = np.array([0, 0, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0])
    cm = M.confusion_matrix(labels, predicted, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    # clusters {0: labels 0, 0}, {1: labels 1, 1}, {2: label 2} -> pure; one stray makes 4/5
    assert M.cluster_purity(np.array([0, 0, 1, 1, 2]), labels) == 1.0
    assert M.cluster_purity(np.array([0, 0, 1, 1, 1]), labels) == pytest.approx(4 / 5)
    with pytest.raises(ValueError):
        M.classification_error([1, 2], [1])


# -- the reduction kind -------------------------------------------------------------------------------

def test_the_head_distance_penalty():
    far = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    assert head_distance_penalty(far, eta=4.0).item() == 0.0
    near = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 10.0]])
    # only the pair at distance 1 is closer than η = 3: cost 3 − 1
    assert head_distance_penalty(near, eta=3.0).item() == pytest.approx(2.0)
    # gradient descent on it pushes that pair apart and leaves the far head alone
    heads = near.clone().requires_grad_(True)
    head_distance_penalty(heads, eta=3.0).backward()
    assert heads.grad[2].abs().sum().item() == 0.0
    moved = heads.detach() - 0.1 * heads.grad
    assert (moved[0] - moved[1]).norm() > 1.0
    equal = torch.zeros(2, 2, requires_grad=True)    # two heads on one spot: finite, not NaN
    head_distance_penalty(equal, eta=1.0).backward()
    assert torch.isfinite(equal.grad).all()


def test_the_reduction_map_is_heads_plus_style(dataset):
    tr = trainer("reduction", dataset, eta=3.0)
    model = tr.model
    x = to_float(dataset.test_images[:6])
    out = model.encoder(x)
    assert torch.allclose(model.encode(x), out.y @ model.heads_weight + out.z)
    assert model.decode(model.encode(x)).shape == (6, 28, 28)
    m = tr.run_phase("reconstruction", tr.next_batch())
    assert m["heads"] == pytest.approx(head_distance_penalty(model.heads_weight, 3.0).item(), rel=0.2)
    before = model.heads_weight.detach().clone()
    for _ in range(5):
        tr.run_phase("reconstruction", tr.next_batch())
    assert not torch.equal(before, model.heads_weight.detach())    # W_C learns with the reconstruction


# -- training and the probe ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_trains_and_probes_on_held_out_digits(kind, dataset):
    tr = trainer(kind, dataset, label_fraction=0.3)
    for _ in range(4):
        metrics = tr.step()
    assert all(np.isfinite(v) for v in metrics.values())
    model = tr.model.eval()
    x = to_float(dataset.test_images[:40])
    settings = ProbeSettings(eval_x=x, eval_labels=dataset.test_labels[:40].numpy(),
                             reference_x=to_float(dataset.train_images[:80]),
                             reference_labels=dataset.train_labels[:80].numpy())
    with torch.no_grad():
        out = get_kind(kind).probe(model, codes=model.encode(x), prior=tr.prior, prior_sample=tr.prior.sample(40),
                                   settings=settings)
    assert 0.0 <= out["test_error"] <= 1.0
    assert out["heads"].shape == (10, 28, 28) and out["members"].shape == (10, 8, 28, 28)
    assert out["members"].dtype == np.uint8 and out["confusion"].sum() == 40
    assert out["style_grid"].shape == (100, 28, 28)
    assert ("baseline_error" in out) == (kind == "semi_supervised")
    assert ("purity" in out) == kind.startswith("reduction")
    assert set(k for k, v in out.items() if isinstance(v, np.ndarray)) <= set(get_kind(kind).snapshot_extras)


def test_label_fraction_gives_a_balanced_seeded_labelled_set():
    data = load_dataset("mnist-5k")
    cfg = ModelConfig(kind="semi_supervised")
    masks = []
    for seed in (0, 0, 1):
        tr = Trainer(seeded_model(cfg, 0), make_prior("gaussian"), data.train_images, data.train_labels,
                     config=TrainConfig(label_fraction=100 / 4500, seed=seed, device="cpu"), device="cpu")
        masks.append(tr.labelled.clone())
        assert np.bincount(data.train_labels[tr.labelled].numpy(), minlength=10).tolist() == [10] * 10
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])


def test_a_semi_supervised_job_draws_the_held_out_error_live_and_survives_a_save_and_a_load(dataset, tmp_path):
    config = RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(),
                       model=ModelConfig(kind="semi_supervised", latent_dim=2, n_classes=10),
                       train=TrainConfig(batch_size=16, seed=0, device="cpu", label_fraction=0.2))
    job = TrainingJob(config, options=OPTIONS, dataset=dataset).start()
    try:
        snap = job.wait_for(lambda s: s.step >= 6 and "test_error" in s.view.history
                            and np.isfinite(s.view.history["test_error"]).sum() >= 2, TIMEOUT)
        view = snap.view
        assert snap.phases == get_kind("semi_supervised").phase_names
        assert np.isfinite(view.history["baseline_error"]).any()
        assert 0.0 <= view.latest["test_error"] <= 1.0
        assert view.extras["heads"].shape == (10, 28, 28) and view.extras["confusion"].shape == (10, 10)
        out = job.save(tmp_path / "semi", half=True).result(TIMEOUT)
    finally:
        job.stop(wait=True, timeout=TIMEOUT)
    loaded = load_checkpoint(out)
    assert isinstance(loaded.model, SemiSupervisedAAE) and loaded.config.model.n_classes == 10
    x = to_float(dataset.test_images[:5])
    assert loaded.model.classify(x).shape == (5, 10)


def test_a_reduction_checkpoint_round_trips(dataset, tmp_path):
    tr = trainer("reduction_semi", dataset, label_fraction=0.5)
    tr.step()
    config = RunConfig(data=DataConfig(name="synthetic"), model=tr.model.config, train=tr.config)
    path = save_checkpoint(tmp_path / "red", tr.model, config, step=1)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded.model.heads_weight, tr.model.heads_weight.detach())
    x = to_float(dataset.test_images[:3])
    assert torch.allclose(loaded.model.encode(x), tr.model.encode(x).detach(), atol=1e-6)


def test_classifying_from_a_weights_copy_matches_the_model():
    from aae.kinds.categorical import classify_with_weights
    model = seeded_model(ModelConfig(kind="semi_supervised", n_classes=10), 3).eval()
    weights = [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in model.encoder.net
               if isinstance(m, torch.nn.Linear)]
    x = torch.rand(4, 784)
    np.testing.assert_allclose(classify_with_weights(weights, x.numpy(), n_classes=10),
                               model.classify(x).detach().numpy(), atol=1e-5)
