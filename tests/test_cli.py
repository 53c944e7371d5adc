"""``python -m aae``: smoke runs on the synthetic dataset, and bad input exits 2 with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aae.__main__ import EXIT_USAGE, main
from aae.checkpoints import load_checkpoint

REPO = Path(__file__).resolve().parent.parent



def train_args(tmp_path, *extra: str) -> list[str]:
    return ["train", "--dataset", "synthetic", "--steps", "12", "--batch-size", "16", "--device", "cpu",
            "--no-progress", "--out", str(tmp_path / "run"), *extra]


@pytest.mark.parametrize("model,prior", [("aae", "swiss_roll"), ("vae", "mog10"), ("ae", "gaussian")])
def test_train_saves_a_checkpoint_and_prints_metrics(tmp_path, capsys, model, prior):
    assert main(train_args(tmp_path, "--model", model, "--prior", prior)) == 0
    out = capsys.readouterr().out
    assert "trained 12 steps" in out and "k-NN accuracy" in out
    ck = load_checkpoint(tmp_path / "run")
    assert ck.config.model.kind == model and ck.config.prior.name == prior and ck.step == 12


def test_train_passes_every_training_option_into_the_checkpoint(tmp_path):
    assert main(train_args(tmp_path, "--disc-steps", "2", "--d-penalty", "1.5", "--weight-decay", "0.01",
                           "--input-dropout", "0.25", "--d-noise", "0.1", "--seed", "3")) == 0
    t = load_checkpoint(tmp_path / "run").config.train
    assert (t.disc_steps, t.d_penalty, t.weight_decay, t.input_dropout, t.d_input_noise, t.seed) == \
        (2, 1.5, 0.01, 0.25, 0.1, 3)


def test_eval_prints_the_metrics_of_a_checkpoint(tmp_path, capsys):
    assert main(train_args(tmp_path)) == 0
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "AAE (small, 2-D code), prior gaussian, trained 12 steps on synthetic" in out
    assert "prior-fit ratio" in out


@pytest.mark.parametrize("argv,reason", [
    (["train", "--prior", "banana"], "invalid choice: 'banana'"),
    (["train", "--dataset", "synthetic", "--steps", "0"], "--steps must be at least 1"),
    (["train", "--dataset", "synthetic", "--lr-recon", "5"], "train.lr_recon must be a number in (0, 1]"),
    (["train", "--dataset", "synthetic", "--disc-steps", "0"], "train.disc_steps must be an integer in [1, 10]"),
    (["train", "--dataset", "no-such-data"], "no-such-data"),
    (["train", "--model", "vae", "--prior", "swiss_roll", "--dataset", "synthetic"], "needs the density p(z)"),
    (["eval", "does/not/exist"], "does/not/exist"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, reason):
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m aae: error:")
    assert reason in err


def test_eval_of_a_corrupt_checkpoint_exits_2(tmp_path, capsys):
    assert main(train_args(tmp_path)) == 0
    weights = tmp_path / "run.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run.safetensors" in err


def test_module_entry_point_exit_status(tmp_path):
    """The real ``python -m aae`` process: status 2 and one line on stderr for a bad argument."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "aae", "train", "--steps", "-3", "--dataset", "synthetic"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--steps must be at least 1" in proc.stderr


def test_checkpoint_metadata_is_plain_json(tmp_path):
    assert main(train_args(tmp_path, "--model", "aae", "--prior", "mog10")) == 0
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["config"]["prior"]["name"] == "mog10"
    assert "prior_fit" in meta["metrics"]
