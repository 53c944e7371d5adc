"""aae.classifier: the digit classifier and the sample-quality score of decoded prior samples."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from aae import classifier as C
from aae.checkpoints import CheckpointError
from aae.data import load_dataset

FAST = C.TrainSettings(epochs=8, seed=0)


@pytest.fixture(scope="module")
def synthetic():
    return load_dataset("synthetic")


@pytest.fixture(scope="module")
def trained(synthetic):
    return C.train_classifier(synthetic, settings=FAST)


# ------------------------------------------------------------------------------------ the score

def test_perfect_and_balanced_samples_score_one():
    probs = np.eye(10)[np.arange(100) % 10]
    q = C.sample_quality(probs)
    assert q.confidence == pytest.approx(1.0) and q.coverage == pytest.approx(1.0) and q.score == pytest.approx(1.0)
    assert q.n == 100 and q.histogram == pytest.approx((0.1,) * 10)


def test_one_class_only_has_zero_coverage():
    q = C.sample_quality(np.eye(10)[np.full(50, 7)])
    assert q.confidence == pytest.approx(1.0) and q.coverage == 0.0 and q.score == 0.0
    assert q.histogram[7] == 1.0


def test_unsure_samples_lower_the_confidence():
    probs = np.full((20, 10), 0.1)
    probs[np.arange(20), np.arange(20) % 10] += 0.1
    probs /= probs.sum(axis=1, keepdims=True)
    q = C.sample_quality(probs)
    assert q.confidence == pytest.approx(0.2 / 1.1)
    assert q.coverage == pytest.approx(1.0)
    assert q.score == pytest.approx(q.confidence * q.coverage)


def test_coverage_is_normalised_entropy():
    labels = np.array([0] * 50 + [1] * 50)
    q = C.sample_quality(np.eye(10)[labels])
    assert q.coverage == pytest.approx(math.log(2) / math.log(10))


def test_sample_quality_rejects_bad_shapes():
    with pytest.raises(ValueError):
        C.sample_quality(np.zeros((0, 10)))
    with pytest.raises(ValueError):
        C.sample_quality(np.zeros((5, 3)))


# ------------------------------------------------------------------------------------ training

def test_training_learns(trained):
    _, acc = trained
    assert acc > 0.8                                    # ten bar angles are easy


def test_training_is_seeded(synthetic):
    one, _ = C.train_classifier(synthetic, settings=FAST, max_steps=5)
    two, _ = C.train_classifier(synthetic, settings=FAST, max_steps=5)
    other, _ = C.train_classifier(synthetic, settings=C.TrainSettings(seed=1), max_steps=5)
    for a, b, c in zip(one.state_dict().values(), two.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)
    assert not torch.equal(one.net[0].weight, other.net[0].weight)


def test_predict_proba_accepts_uint8_and_floats(synthetic, trained):
    model, _ = trained
    x8 = synthetic.test_images[:7]
    p8 = model.predict_proba(x8)
    pf = model.predict_proba(x8.numpy().astype(np.float32) / 255)
    assert p8.shape == (7, 10) and np.allclose(p8.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(p8, pf, atol=1e-6)


def test_real_images_score_higher_than_noise(synthetic, trained):
    model, _ = trained
    real = C.score_images(model, synthetic.test_images)
    flat = C.score_images(model, np.full((100, 28, 28), 0.5, np.float32))
    assert real.score > 0.6
    assert real.score > flat.score + 0.3


def test_shift_moves_images_without_wrapping():
    x = torch.zeros(1, 28, 28)
    x[0, 0, 0] = 1.0
    g = torch.Generator().manual_seed(0)
    shifted = [C._shift(x, 2, g) for _ in range(30)]
    assert all(s.shape == (1, 28, 28) for s in shifted)
    assert all(s.sum() <= 1.0 for s in shifted)          # pixels pushed off the edge are gone, none wrap


# ------------------------------------------------------------------------------------ files

def test_save_and_load_round_trip(tmp_path, trained, synthetic):
    model, acc = trained
    path = C.save_classifier(tmp_path / "clf", model, meta={"test_accuracy": acc, "dataset": "synthetic"})
    assert path.suffix == ".json" and (tmp_path / "clf.safetensors").is_file()
    loaded, meta = C.load_classifier(tmp_path / "clf")
    assert meta["test_accuracy"] == acc and meta["kind"] == C.KIND
    x = synthetic.test_images[:5]
    assert np.allclose(loaded.predict_proba(x), model.predict_proba(x))


def test_load_refuses_wrong_files(tmp_path, trained):
    model, _ = trained
    with pytest.raises(CheckpointError, match="pretrain"):
        C.load_classifier(tmp_path / "missing")
    C.save_classifier(tmp_path / "clf", model)
    meta = json.loads((tmp_path / "clf.json").read_text())
    (tmp_path / "clf.json").write_text(json.dumps({**meta, "hidden": [64]}))
    with pytest.raises(CheckpointError, match="shape|match"):
        C.load_classifier(tmp_path / "clf")
    (tmp_path / "clf.json").write_text(json.dumps({**meta, "kind": "aae"}))
    with pytest.raises(CheckpointError, match="digit-classifier"):
        C.load_classifier(tmp_path / "clf")
    (tmp_path / "clf.json").write_text(json.dumps(meta))
    (tmp_path / "clf.safetensors").write_bytes(b"\x80\x04pickle")
    with pytest.raises(CheckpointError):
        C.load_classifier(tmp_path / "clf")


def test_pretrain_writes_a_loadable_classifier(tmp_path, monkeypatch):
    calls = []
    path, acc = C.pretrain_classifier(tmp_path / "digit-classifier", dataset="synthetic",
                                      settings=C.TrainSettings(epochs=1),
                                      progress=lambda step, total: calls.append((step, total)))
    meta = json.loads(path.read_text())
    assert meta["dataset"] == "synthetic" and meta["test_accuracy"] == acc and meta["epochs"] == 1
    assert calls[-1][0] == calls[-1][1] == 10               # 1,000 images / batch 100
    C.load_classifier(path)


def test_shipped_classifier_if_present_is_good_on_mnist():
    if not C.DEFAULT_PATH.with_suffix(".json").is_file():
        pytest.skip("checkpoints/digit-classifier not generated yet (python -m aae pretrain)")
    model, meta = C.load_classifier()
    assert meta["dataset"] == "mnist-5k" and meta["test_accuracy"] > 0.9
