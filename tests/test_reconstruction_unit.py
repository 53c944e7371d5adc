"""One unit for reconstruction everywhere (issue 13 §5): nats per image, the training loss's own
unit. ``aae.metrics.reconstruction_nats`` against the trainer's loss, and Compare's sentence under
its table, which must be true of the numbers beside it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aae.losses import reconstruction_loss
from aae.metrics import reconstruction_nats
from ui import compare, texts


def test_reconstruction_nats_is_the_training_loss_on_probabilities():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 784, generator=g)
    logits = torch.randn(6, 784, generator=g) * 3
    want = reconstruction_loss(logits, x).item()
    got = reconstruction_nats(x.numpy(), torch.sigmoid(logits).numpy())
    assert got == pytest.approx(want, rel=1e-5)


def test_reconstruction_nats_reads_uint8_images_and_survives_saturated_pixels():
    x = np.zeros((2, 28, 28), np.uint8)
    x[:, :14] = 255
    perfect = x.astype(np.float32) / 255
    assert reconstruction_nats(x, perfect) == pytest.approx(0.0, abs=1e-3)     # black and white: 0 is reachable
    wrong = 1 - perfect
    assert np.isfinite(reconstruction_nats(x, wrong))                          # clipped, not infinite
    assert reconstruction_nats(x, wrong) > 784 * 15


def _row(model, knn, quality):
    return {"model": model, "recon": 150.0, "referee": 0.6, "fit": 1.2, "knn": knn, "quality": quality,
            "confidence": 0.9, "coverage": 0.9}


def test_the_sentence_explains_the_aes_knn_only_when_the_numbers_say_so():
    rows = [_row("AE", 0.768, 0.41), _row("VAE", 0.61, 0.80), _row("AAE", 0.58, 0.86)]
    said = compare.table_meaning(rows)
    assert said == texts.CMP_AE_KNN_BEST.format(knn="0.768", quality="0.410")
    # the AE best on k-NN but its samples not the worst: the explanation would not be true
    rows[0]["quality"] = 0.9
    assert compare.table_meaning(rows) == texts.CMP_TABLE_MEANING
    # another model best on k-NN
    rows = [_row("AE", 0.5, 0.41), _row("VAE", 0.61, 0.80), _row("AAE", 0.58, 0.86)]
    assert compare.table_meaning(rows) == texts.CMP_TABLE_MEANING


def test_the_sentence_ignores_a_model_that_sits_out_and_missing_scores():
    rows = [_row("AE", 0.7, 0.4), {**_row("VAE (sits out)", None, None)}, _row("AAE", 0.6, 0.8)]
    assert compare.table_meaning(rows).startswith(texts.CMP_AE_KNN_BEST.split("(")[0])
    no_classifier = [_row("AE", 0.7, None), _row("VAE", 0.6, None), _row("AAE", 0.6, None)]
    assert compare.table_meaning(no_classifier) == texts.CMP_TABLE_MEANING
