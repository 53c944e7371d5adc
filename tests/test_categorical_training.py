"""The categorical AAE's training details that decide its numbers: the paper's cluster-labelling rule
when q(y|x) rounds to 1, the generator phase's push of q(y|x) towards one-hot, and balanced labelled
batches (aae.kinds.categorical, aae.train.Trainer.labelled_batch)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from aae import metrics as M
from aae.config import ModelConfig, TrainConfig
from aae.data import load_dataset
from aae.kinds.categorical import log_q
from aae.priors import make_prior
from aae.train import Trainer, seeded_model


def _trainer(kind: str, images, labels, **train) -> Trainer:
    cfg = ModelConfig(kind=kind, latent_dim=2, n_classes=10)
    return Trainer(seeded_model(cfg, 0), make_prior("gaussian"), images, labels,
                   config=TrainConfig(seed=0, device="cpu", **train), device="cpu")


def test_log_q_keeps_apart_digits_whose_q_rounds_to_one():
    # two training digits, both with q(y=0|x) = 1.0 in float32; the second is far surer (margin 40 vs 20)
    logits = torch.tensor([[20.0, 0.0, 0.0], [40.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    assert torch.softmax(logits, 1)[:2, 0].tolist() == [1.0, 1.0]
    lq = log_q(logits)
    assert lq.dtype == np.float64
    np.testing.assert_allclose(np.exp(lq), torch.softmax(logits.double(), 1).numpy(), rtol=1e-12)
    assert lq[1, 0] > lq[0, 0]
    # the paper's rule: cluster 0 takes the label of the digit it is surest of (the second, label 7);
    # on the rounded float32 probabilities the tie would go to the first digit (label 3)
    labels = np.array([3, 7, 1])
    assert M.cluster_labels(lq, labels)[0] == 7
    assert M.cluster_labels(torch.softmax(logits, 1).numpy(), labels)[0] == 3


def test_the_generator_phase_pushes_q_of_y_towards_one_hot():
    data = load_dataset("synthetic")
    tr = _trainer("clustering", data.train_images, data.train_labels, batch_size=64, lr_disc=1e-3, lr_gen=1e-3,
                  beta1=0.5, d_input_noise=0.0)  # the bare game, fast to move
    batch = tr.next_batch()

    def confidence() -> float:
        with torch.no_grad():
            return float(tr.model.classify(batch.x).max(1).values.mean())

    before = confidence()
    for _ in range(60):  # the regularisation phase alone: D_y learns one-hot from q(y|x), the encoder follows
        tr.run_phase("discriminators", batch)
        tr.run_phase("generator", batch)
    assert before < 0.3                       # a fresh encoder's q(y|x) is near uniform over 10 classes
    assert confidence() > before + 0.3        # and the generator made it a confident choice


def _keys(x: torch.Tensor) -> list[bytes]:
    return [(row * 255).round().to(torch.uint8).numpy().tobytes() for row in x]


def test_labelled_batches_are_balanced_over_the_classes_and_cycle_through_the_labelled_digits():
    data = load_dataset("mnist-5k")
    tr = _trainer("semi_supervised", data.train_images, data.train_labels, label_fraction=100 / 4500)
    labelled = sorted(data.train_images[tr.labelled].reshape(-1, 784).numpy()[i].tobytes() for i in range(100))
    for _ in range(3):  # 100 labels, batches of 100: every batch is the whole labelled set, 10 per class
        b = tr.labelled_batch()
        assert bool(b.labelled.all())
        assert np.bincount(b.labels.numpy(), minlength=10).tolist() == [10] * 10
        assert sorted(_keys(b.x)) == labelled
    tr = _trainer("semi_supervised", data.train_images, data.train_labels, label_fraction=1000 / 4500, batch_size=64)
    drawn: list[bytes] = []
    for _ in range(14):  # ⌊64/10⌋ = 6 per class, 4 extra at random: < 100 draws per class, none twice
        b = tr.labelled_batch()
        per = np.bincount(b.labels.numpy(), minlength=10)
        assert per.min() >= 6 and per.max() <= 7 and per.sum() == 64
        drawn += _keys(b.x)
    assert len(set(drawn)) == len(drawn) == 14 * 64


def test_the_categorical_kinds_default_to_their_own_recipe_with_input_dropout():
    from benchmarks.categorical import SWEEP
    from aae.kinds import get_kind
    from aae.kinds.categorical import CATEGORICAL_RECIPE
    from aae.train import adversarial_recipe
    prior = make_prior("gaussian")
    for name in ("semi_supervised", "clustering", "reduction", "reduction_semi"):
        recipe = adversarial_recipe(TrainConfig(), prior, get_kind(name))
        assert recipe == CATEGORICAL_RECIPE
        assert (recipe.beta1, recipe.d_input_noise, recipe.input_dropout, recipe.augment_shift) == (0.9, 0.3, 0.2, 1)
        # the benchmark's named setting of the sweep is the recipe, field by field
        from benchmarks.categorical import RECIPE_ONLY, _recipe_overrides
        train = {k: v for k, v in SWEEP["shift1"][0].items() if k not in RECIPE_ONLY}
        assert dataclasses.replace(adversarial_recipe(TrainConfig(**train), prior, get_kind(name)),
                                   **_recipe_overrides("shift1")) == recipe
    # the plain AAE keeps a clean reconstruction; a config's own value wins over any recipe
    assert adversarial_recipe(TrainConfig(), prior, get_kind("aae")).input_dropout == 0.0
    assert adversarial_recipe(TrainConfig(), prior, get_kind("aae")).augment_shift == 0
    assert adversarial_recipe(TrainConfig(input_dropout=0.0), prior, get_kind("clustering")).input_dropout == 0.0


def test_the_reconstruction_phase_drops_input_pixels_by_the_recipe():
    data = load_dataset("synthetic")
    seen = {}
    for kind, train in (("clustering", {}), ("clustering", {"input_dropout": 0.0}), ("aae", {})):
        tr = _trainer(kind, data.train_images, data.train_labels, batch_size=32, **train)
        tr.recipe = dataclasses.replace(tr.recipe, augment_shift=0)  # unmoved pixels, to count the zeroed ones
        batch = tr.next_batch()
        inputs = []
        hook = tr.model.encoder.register_forward_pre_hook(lambda m, args: inputs.append(args[0].detach().clone()))
        tr.run_phase("reconstruction", batch)
        hook.remove()
        lit = batch.x > 0
        seen[(kind, bool(train))] = float((inputs[0][lit] == 0).float().mean())
    assert 0.15 < seen[("clustering", False)] < 0.25      # about a fifth of the lit pixels zeroed
    assert seen[("clustering", True)] == 0.0 and seen[("aae", False)] == 0.0


def test_shifted_moves_every_image_by_at_most_the_shift_and_reaches_every_offset():
    from aae.kinds.categorical import shifted
    x = torch.zeros(400, 28, 28)
    x[:, 14, 10] = 1.0                                   # one lit pixel, far from the frame's edges
    x = x.reshape(400, 784)
    assert shifted(x, 0) is x
    out = shifted(x, 2, torch.Generator().manual_seed(0)).reshape(400, 28, 28)
    assert out.sum().item() == 400.0                     # nothing lost, nothing added
    where = out.reshape(400, -1).argmax(1)
    dy, dx = (where // 28 - 14).tolist(), (where % 28 - 10).tolist()
    assert set(zip(dy, dx)) == {(a, b) for a in range(-2, 3) for b in range(-2, 3)}   # all 25 offsets
    edge = torch.zeros(1, 28, 28)
    edge[0, 0, :] = 1.0                                  # the top row: a move up loses it, a move down keeps it
    moved = [shifted(edge.reshape(1, 784), 1, torch.Generator().manual_seed(s)).sum().item() for s in range(30)]
    assert set(moved) <= {0.0, 27.0, 28.0} and 0.0 in moved


def test_augment_shift_translates_what_the_encoder_reads_and_the_baselines_labelled_digits():
    data = load_dataset("mnist-5k")
    for shift in (0, 2):
        tr = _trainer("semi_supervised", data.train_images, data.train_labels, batch_size=50, input_dropout=0.0,
                      label_fraction=100 / 4500)
        tr.recipe = dataclasses.replace(tr.recipe, augment_shift=shift)
        batch = tr.next_batch()
        inputs = []
        enc = tr.model.encoder.register_forward_pre_hook(lambda m, args: inputs.append(args[0].detach().clone()))
        base = []
        bl = tr.model.baseline.register_forward_pre_hook(lambda m, args: base.append(args[0].detach().clone()))
        for phase in tr.phases:
            tr.run_phase(phase, batch)
        enc.remove(), bl.remove()
        recon_in, disc_in, cls_in = inputs   # reconstruction, D phases (the generator reuses them), labelled batch
        same = (recon_in.reshape(50, -1) == batch.x).all(1).float().mean().item()
        if shift == 0:
            assert same == 1.0 and torch.equal(disc_in, batch.x)
        else:
            assert same < 0.2                            # 1 in 25 draws is no move
            assert torch.equal(disc_in, recon_in)        # one draw per batch for the encoder's phases
            # each input is its digit moved: the lit mass stays within the frame's rounding
            assert torch.allclose(recon_in.sum(1), batch.x.sum(1), atol=30.0)
        assert torch.equal(base[0], cls_in)              # the baseline learns from the very same digits


def test_the_discriminators_input_noise_decays_linearly_over_the_recipes_steps():
    data = load_dataset("synthetic")
    tr = _trainer("clustering", data.train_images, data.train_labels, d_input_noise=0.3)
    assert tr.recipe.d_noise_decay_steps == 0            # the categorical recipe keeps it constant
    tr.recipe = dataclasses.replace(tr.recipe, d_noise_decay_steps=1000)
    zeros = torch.zeros(20000, 2)
    stds = []
    for step in (0, 500, 1000, 5000):
        tr.step_count = step
        stds.append(float(tr.d_input(zeros).std()))
    np.testing.assert_allclose(stds[:2], [0.3, 0.15], rtol=0.03)
    assert stds[2:] == [0.0, 0.0]
    tr = _trainer("clustering", data.train_images, data.train_labels, d_input_noise=0.3)
    tr.step_count = 5000                                 # no decay: the noise stays
    assert abs(float(tr.d_input(zeros).std()) - 0.3) < 0.01


def _centre_of_mass(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, cols) of each image's centre of mass (B,), measured from the frame's centre (13.5, 13.5)."""
    img = x.reshape(-1, 28, 28)
    grid = torch.arange(28, dtype=img.dtype) - 13.5
    mass = img.sum((1, 2))
    return (img.sum(2) * grid).sum(1) / mass, (img.sum(1) * grid).sum(1) / mass


def test_warped_turns_and_resizes_each_image_within_the_recipes_bounds():
    from aae.kinds.base import AdversarialRecipe
    from aae.kinds.categorical import CATEGORICAL_RECIPE, augment, warped
    assert (AdversarialRecipe(1e-3, 1e-3, 0.5, 0.0).augment_rotate, AdversarialRecipe(1e-3, 1e-3, 0.5, 0.0).augment_scale) \
        == (0.0, 0.0)                                    # off unless a recipe asks
    assert (CATEGORICAL_RECIPE.augment_rotate, CATEGORICAL_RECIPE.augment_scale) == (0.0, 0.0)
    x = torch.zeros(500, 28, 28)
    x[:, 13:15, 22:24] = 1.0                             # a 2 × 2 blob 9 pixels right of the centre
    x = x.reshape(500, 784)
    assert warped(x, 0.0, 0.0) is x and augment(x, CATEGORICAL_RECIPE.__class__(1e-3, 1e-3, 0.9, 0.0)) is x
    rows, cols = _centre_of_mass(warped(x, 20.0, 0.0, torch.Generator().manual_seed(0)))
    angle, radius = torch.rad2deg(torch.atan2(rows, cols)), torch.hypot(rows, cols)
    assert angle.abs().max() < 20.5 and angle.min() < -15 and angle.max() > 15   # up to ±20°, both ways
    assert (radius - 9.0).abs().max() < 0.3                                     # a turn keeps the distance
    rows, cols = _centre_of_mass(warped(x, 0.0, 0.2, torch.Generator().manual_seed(0)))
    assert rows.abs().max() < 0.05                                               # a resize keeps the direction
    assert cols.min() > 9.0 * 0.8 - 0.3 and cols.max() < 9.0 * 1.2 + 0.3 and cols.max() - cols.min() > 2.5


def test_augment_rotate_moves_what_the_encoder_reads_and_the_baselines_labelled_digits():
    data = load_dataset("mnist-5k")
    tr = _trainer("semi_supervised", data.train_images, data.train_labels, batch_size=50, input_dropout=0.0,
                  label_fraction=100 / 4500)
    tr.recipe = dataclasses.replace(tr.recipe, augment_shift=0, augment_rotate=15.0, augment_scale=0.1)
    batch = tr.next_batch()
    inputs, base = [], []
    enc = tr.model.encoder.register_forward_pre_hook(lambda m, args: inputs.append(args[0].detach().clone()))
    bl = tr.model.baseline.register_forward_pre_hook(lambda m, args: base.append(args[0].detach().clone()))
    for phase in tr.phases:
        tr.run_phase(phase, batch)
    enc.remove(), bl.remove()
    recon_in, disc_in, cls_in = inputs
    assert not (recon_in == batch.x).all(1).any()        # every digit moved
    assert torch.equal(disc_in, recon_in)                # one draw per batch for the encoder's phases
    assert torch.equal(base[0], cls_in)                  # the baseline learns from the very same digits
    from aae.data import to_float
    digits = to_float(tr.images[tr.labelled]).reshape(-1, 784)           # the labelled digits, unmoved
    assert not (cls_in[:, None, :] == digits[None]).all(2).any()          # the labelled batch is moved too


def test_the_raw_pixel_kmeans_baseline_names_its_centres_by_the_papers_rule():
    from benchmarks.categorical import raw_kmeans_error
    g = torch.Generator().manual_seed(0)
    # three "digits": bright top-left, middle or bottom-right 10×10 squares with a little noise
    def images(label: torch.Tensor) -> torch.Tensor:
        x = torch.zeros(len(label), 28, 28)
        for i, y in enumerate(label.tolist()):
            x[i, 9 * y: 9 * y + 10, 9 * y: 9 * y + 10] = 200
        return (x + 20 * torch.rand(x.shape, generator=g)).clamp(0, 255).to(torch.uint8)
    train_y, test_y = torch.arange(60) % 3, torch.arange(30) % 3
    from aae.data import to_float
    test_x = to_float(images(test_y))
    assert raw_kmeans_error(images(train_y), train_y.numpy(), test_x, test_y.numpy(), 3, 0) == 0.0
    # one centre for three digits: the rule names it after one of them, so two thirds are wrong
    assert raw_kmeans_error(images(train_y), train_y.numpy(), test_x, test_y.numpy(), 1, 0) == pytest.approx(2 / 3)
