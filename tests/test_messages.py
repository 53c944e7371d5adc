"""What the core says (aae.messages): English as a str, the same message in Chinese from its code,
intact across the worker pipe; the guard, a diverged run and a missing dataset speak in codes."""

from __future__ import annotations

import pickle
import re

import pytest

from aae import data
from aae.jobs.guard import Guard, GuardSettings
from aae.messages import ENGLISH, Message, fields, loss_name, render
from ui import texts

ZH = texts.catalog("zh")["MESSAGES"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_both_catalogs_have_every_code_with_the_same_fields():
    assert texts.catalog("en")["MESSAGES"] == ENGLISH
    assert list(ZH) == list(ENGLISH)
    for code, template in ENGLISH.items():
        assert fields(ZH[code]) == fields(template), code
        if code != "loss.kl":
            assert CJK.search(ZH[code]), f"{code} is not translated"


def test_a_message_is_its_english_text_and_says_itself_in_chinese():
    m = Message("guard.d_wins", who="", steps=500, acc=99.4)
    assert m == ("the discriminator has won completely for 500 steps (it tells codes from prior samples 99 % "
                 "of the time): the encoder gets no useful gradient any more")
    assert isinstance(m, str) and m.code == "guard.d_wins"
    zh = render(m, ZH)
    assert "判别器已经完胜了 500 步" in zh and "99 %" in zh


def test_nested_messages_are_rendered_in_the_same_language():
    reason = Message("guard.loss_jump", who="AE ", loss=loss_name("recon"), value=9000.0, step=70, ratio=60.0,
                     median=150.0)
    m = Message("job.paused_kept", reason=reason, good_step=50)
    assert m.startswith("Training paused: the AE reconstruction loss jumped to 9e+03 at step 70, 60× its")
    zh = render(m, ZH)
    assert zh.startswith("训练已暂停：AE 重构损失在第 70 步跳到 9e+03") and "第 50 步的权重已保留" in zh
    assert "reconstruction" not in zh


def test_a_message_survives_pickling_with_its_code():
    m = Message("job.paused", reason=Message("guard.codes_outside", who="", share=80.0, steps=600))
    back = pickle.loads(pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == m and back.code == "job.paused" and back.params["reason"].code == "guard.codes_outside"
    assert render(back, ZH) == render(m, ZH)


def test_wrong_codes_and_missing_fields_are_refused_and_a_broken_translation_falls_back():
    with pytest.raises(KeyError, match="unknown message code"):
        Message("no.such.code")
    with pytest.raises(TypeError, match=r"needs \['good_step'\]"):
        Message("job.paused_kept", reason="x")
    m = Message("job.unloaded_saved", path="runs/run-1")
    assert render(m, {"job.unloaded_saved": "{nothing}"}) == str(m)
    assert render("plain words", ZH) == "plain words" and render(None, ZH) == ""


def test_texts_say_follows_the_language_and_unwraps_exceptions():
    exc = data.DatasetUnavailable(Message("data.mnist_missing", folder="data/MNIST/raw"))
    assert texts.say(exc, "en") == str(exc) and "Full MNIST is not in data/MNIST/raw" in str(exc)
    assert texts.say(exc, "zh").startswith("完整的 MNIST 不在 data/MNIST/raw")
    assert texts.say(ValueError("batch_size=0 is outside [1, 1000]"), "zh") == "batch_size=0 is outside [1, 1000]"


def test_the_guard_speaks_in_codes():
    g = Guard(GuardSettings(loss_limit=1e3), label="VAE ")
    m = g.observe_losses(3, {"kl": 5e3})
    assert isinstance(m, Message) and m.code == "guard.loss_limit" and m.startswith("the VAE KL loss reached 5e+03")
    g = Guard(GuardSettings(collapse_steps=10))
    assert g.observe_codes(0, 0.9) is None
    m = g.observe_codes(10, 0.9)
    assert m.code == "guard.codes_outside" and render(m, ZH).startswith("90 % 的编码")


def test_a_missing_dataset_speaks_in_a_code(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_debian_fashion_present", lambda: False)
    with pytest.raises(data.DatasetUnavailable) as caught:
        data._load_fashion(tmp_path, 0)
    m = caught.value.args[0]
    assert m.code == "data.fashion_missing" and str(tmp_path / "FashionMNIST" / "raw") in m
    with pytest.raises(data.DatasetUnavailable) as caught:
        data._load_mnist(tmp_path, 0)
    assert caught.value.args[0].code == "data.mnist_missing"


def test_the_device_is_named_in_the_pages_language():
    import torch

    from aae.train import device_description

    cpu = device_description(torch.device("cpu"))
    n = torch.get_num_threads()
    assert cpu == (f"CPU ({n} threads)" if n != 1 else "CPU (1 thread)")
    assert render(cpu, ZH) == f"CPU（{n} 个线程）"
    assert render(pickle.loads(pickle.dumps(cpu)), ZH) == render(cpu, ZH)   # as it crosses the worker pipe
