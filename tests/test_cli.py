"""``python -m aae``: smoke runs on the synthetic dataset; bad input exits 2 with one line before any
training; autosave, resume and kill -9; a blow-up stops with status 3 and keeps good weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import aae.__main__ as cli
from aae.__main__ import EXIT_DIVERGED, EXIT_USAGE, main
from aae.checkpoints import SHIPPED_DIR, list_checkpoints, load_checkpoint

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120.0


def train_args(tmp_path, *extra: str, steps: int = 12) -> list[str]:
    return ["train", "--dataset", "synthetic", "--steps", str(steps), "--batch-size", "16", "--device", "cpu",
            "--no-progress", "--out", str(tmp_path / "run"), *extra]


@pytest.mark.parametrize("model,prior", [("aae", "swiss_roll"), ("vae", "mog10"), ("ae", "gaussian")])
def test_train_saves_a_checkpoint_and_prints_metrics(tmp_path, capsys, model, prior):
    assert main(train_args(tmp_path, "--model", model, "--prior", prior)) == 0
    out = capsys.readouterr().out
    assert "trained 12 steps" in out and "k-NN accuracy" in out
    ck = load_checkpoint(tmp_path / "run")
    assert ck.config.model.kind == model and ck.config.prior.name == prior and ck.step == 12
    assert ck.meta["extra"] == {"target_steps": 12, "complete": True}


def test_train_passes_every_training_option_into_the_checkpoint(tmp_path):
    assert main(train_args(tmp_path, "--disc-steps", "2", "--d-penalty", "1.5", "--weight-decay", "0.01",
                           "--encoder-weight-decay", "0.05",
                           "--input-dropout", "0.25", "--d-noise", "0.1", "--seed", "3")) == 0
    t = load_checkpoint(tmp_path / "run").config.train
    assert (t.disc_steps, t.d_penalty, t.weight_decay, t.encoder_weight_decay, t.input_dropout, t.d_input_noise,
            t.seed) == (2, 1.5, 0.01, 0.05, 0.25, 0.1, 3)


def test_train_gives_the_discriminator_fourier_features_when_asked(tmp_path):
    assert main(train_args(tmp_path, "--prior", "pinwheel", "--disc-fourier", "16")) == 0
    ck = load_checkpoint(tmp_path / "run")
    assert ck.config.model.disc_fourier == 16
    assert ck.model.discriminator.fourier.shape == (2, 16)


def test_the_default_out_is_the_save_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = train_args(tmp_path)
    del args[args.index("--out"):args.index("--out") + 2]
    assert main(args) == 0
    assert load_checkpoint(Path(os.environ["AAE_SAVE_DIR"]) / "aae-gaussian").step == 12
    assert not (tmp_path / "runs").exists()


def test_eval_prints_the_metrics_of_a_checkpoint(tmp_path, capsys):
    assert main(train_args(tmp_path)) == 0
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "AAE (small, 2-D code), prior gaussian, trained 12 steps on synthetic" in out
    assert "prior-fit ratio" in out


@pytest.mark.parametrize("model, named", [("semi-supervised", "class i is digit i"),
                                           ("clustering", "clusters named by the paper's rule")])
def test_eval_says_how_a_categorical_models_classes_are_named(tmp_path, capsys, model, named):
    assert main(train_args(tmp_path, "--model", model, steps=3)) == 0
    assert f"held-out error of q(y|x) ({named})" in capsys.readouterr().out
    assert main(["eval", str(tmp_path / "run")]) == 0
    assert f"held-out error of q(y|x) ({named})" in capsys.readouterr().out


def test_eval_never_writes_where_a_checkpoint_says(tmp_path, monkeypatch):
    """config.data.root in a JSON must not choose a folder: the data come from --data-dir or the default."""
    assert main(train_args(tmp_path, "--dataset", "mnist-5k", steps=2)) == 0
    meta_path = tmp_path / "run.json"
    meta = json.loads(meta_path.read_text())
    assert meta["config"]["data"]["root"] is None
    meta["config"]["data"]["root"] = str(tmp_path / "evil")
    meta_path.write_text(json.dumps(meta))
    assert main(["eval", str(tmp_path / "run")]) == 0
    assert not (tmp_path / "evil").exists()


# -- everything checked before any work, in one line ---------------------------------------------

@pytest.fixture
def no_training(monkeypatch):
    """Training must not start: these arguments are refused first."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the arguments were checked")
    monkeypatch.setattr(cli, "train_run", refuse)


def bad_args(tmp_path) -> list[tuple[list[str], str]]:
    (tmp_path / "a-file").write_text("x")
    base = ["train", "--dataset", "synthetic", "--device", "cpu", "--no-progress"]
    return [
        (["train", "--prior", "banana"], "invalid choice: 'banana'"),
        (base + ["--steps", "0"], "--steps must be an integer in [1, 1,000,000,000], got 0"),
        (base + ["--steps", "-5"], "--steps must be an integer in [1"),
        (base + ["--steps", "2000000000"], "--steps must be an integer in [1"),
        (base + ["--lr-recon", "5"], "train.lr_recon must be a number in (0, 1]"),
        (base + ["--disc-steps", "0"], "train.disc_steps must be an integer in [1, 10]"),
        (base + ["--beta1", "0"], "train.beta1 must be a number in (0, 1)"),
        (base + ["--beta1", "1"], "train.beta1 must be a number in (0, 1)"),
        (base + ["--batch-size", "0"], "train.batch_size"),
        (base + ["--latent-dim", "0"], "model.latent_dim"),
        (base + ["--prior-scale", "0"], "prior.scale"),
        (base + ["--prior-scale", "nan"], "prior.scale"),
        (base + ["--seed", "-1"], "train.seed"),
        (base + ["--weight-decay", "-1"], "train.weight_decay"),
        (base + ["--input-dropout", "1"], "train.input_dropout"),
        (base + ["--disc-fourier", "-1"], "model.disc_fourier must be an integer in [0, 256]"),
        (base + ["--d-noise", "inf"], "train.d_input_noise"),
        (base + ["--device", "tpu"], "train.device"),
        (base + ["--autosave-every", "-1"], "--autosave-every"),
        (base + ["--autosave-every", "nan"], "--autosave-every"),
        (base + ["--data-dir", ""], "--data-dir"),
        (base + ["--out", ""], "--out must not be empty"),
        (base + ["--out", "   "], "--out must not be empty"),
        (base + ["--out", str(tmp_path / "a-file" / "run")], "a-file"),
        (base + ["--out", "/proc/aae-lab-test/run"], "/proc/aae-lab-test"),
        (base + ["--out", str(tmp_path / ("x" * 300))], "at most 100 characters"),
        (base + ["--out", str(tmp_path / "bad\x00name")], "NUL"),
        (base + ["--out", str(tmp_path / "..")], "'.' and '..'"),
        (base + ["--out", str(SHIPPED_DIR / "aae-gaussian")], "shipped checkpoints are read-only"),
        (base + ["--resume", ""], "--resume must name a checkpoint"),
        (base + ["--resume", str(tmp_path / "nothing")], "nothing.json: metadata file not found"),
        (["train", "--dataset", "no-such-data", "--out", str(tmp_path / "r")], "no-such-data"),
        (base + ["--model", "vae", "--prior", "swiss_roll", "--out", str(tmp_path / "r")], "needs the density p(z)"),
        (["eval", "does/not/exist"], "exist.json: metadata file not found"),
        (["eval", str(tmp_path / "a-file"), "--data-dir", ""], "--data-dir"),
        (["pretrain", "--steps", "-5"], "--steps must be an integer in [1"),
        (["pretrain", "--out", ""], "--out must not be empty"),
        (["pretrain", "--out", str(SHIPPED_DIR)], "shipped checkpoints are read-only"),
        (["pretrain", "--out", str(tmp_path / "a-file")], "a-file"),
        (["pretrain", "--shipped", "--out", str(tmp_path)], "not allowed with argument"),
        (["bench", "--steps", "0"], "--steps must be an integer in [1"),
        (["bench", "--device", "tpu"], "train.device"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ]


def test_bad_input_exits_2_with_one_line_before_any_training(tmp_path, capsys, no_training):
    shipped_before = sorted((p.name, p.stat().st_mtime_ns) for p in SHIPPED_DIR.iterdir())
    for argv, reason in bad_args(tmp_path):
        assert main(argv) == EXIT_USAGE, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("python -m aae: error:"), (argv, err)
        assert reason in err, (argv, err)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in SHIPPED_DIR.iterdir()) == shipped_before
    assert not Path("/proc/aae-lab-test").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that file modes apply to")
def test_an_unwritable_out_folder_exits_2(tmp_path, capsys, no_training):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(train_args(tmp_path)[:-2] + ["--out", str(locked / "run")]) == EXIT_USAGE
        assert "locked" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_an_existing_checkpoint_is_replaced_only_with_overwrite(tmp_path, capsys):
    assert main(train_args(tmp_path, steps=3)) == 0
    before = (tmp_path / "run.safetensors").read_bytes()
    capsys.readouterr()
    assert main(train_args(tmp_path, steps=5)) == EXIT_USAGE
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "run.safetensors").read_bytes() == before
    assert main(train_args(tmp_path, "--overwrite", steps=5)) == 0
    assert load_checkpoint(tmp_path / "run").step == 5


def test_pretrain_writes_to_the_save_folder_by_default_never_the_shipped_one(tmp_path, monkeypatch):
    captured = {}

    def fake_train_run(config, steps, **kwargs):
        captured["steps"] = steps
        raise KeyboardInterrupt("stop here")

    monkeypatch.setattr(cli, "train_run", fake_train_run)
    shipped_before = sorted((p.name, p.stat().st_mtime_ns) for p in SHIPPED_DIR.iterdir())
    assert main(["pretrain", "--only", "aae-gaussian", "--steps", "3", "--no-progress"]) == 130
    assert captured["steps"] == 3
    assert (Path(os.environ["AAE_SAVE_DIR"]) / "pretrained").is_dir()
    assert sorted((p.name, p.stat().st_mtime_ns) for p in SHIPPED_DIR.iterdir()) == shipped_before


def test_module_entry_point_exit_status(tmp_path):
    """The real ``python -m aae`` process: status 2 and one line on stderr for a bad argument."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "aae", "train", "--steps", "-3", "--dataset", "synthetic"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--steps must be an integer" in proc.stderr


def test_checkpoint_metadata_is_plain_json(tmp_path):
    assert main(train_args(tmp_path, "--model", "aae", "--prior", "mog10")) == 0
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["config"]["prior"]["name"] == "mog10"
    assert "prior_fit" in meta["metrics"]


def test_eval_of_a_corrupt_checkpoint_exits_2(tmp_path, capsys):
    assert main(train_args(tmp_path)) == 0
    weights = tmp_path / "run.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run.safetensors" in err


# -- autosave and resume --------------------------------------------------------------------------

def test_autosave_saves_while_training(tmp_path, monkeypatch):
    """With --autosave-every, the checkpoint is on disk (and loads) before training ends."""
    seen: list[int] = []
    real_step = cli._Autosave.save

    def spy(self, model, step, metrics, **extra):
        path = real_step(self, model, step, metrics, **extra)
        seen.append(load_checkpoint(path).step)
        return path

    monkeypatch.setattr(cli._Autosave, "save", spy)
    monkeypatch.setattr(cli._Autosave, "clock", staticmethod(_fake_clock(step_s=1.0)))  # each look: 1 "s" later
    assert main(train_args(tmp_path, "--autosave-every", "5", steps=30)) == 0
    assert len(seen) >= 3 and seen[-1] == 30 and seen[:-1] == sorted(seen[:-1]) and seen[0] < 30
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_autosave_every_0_saves_only_at_the_end(tmp_path, monkeypatch):
    seen: list[int] = []
    monkeypatch.setattr(cli._Autosave, "save", _recording(cli._Autosave.save, seen))
    monkeypatch.setattr(cli._Autosave, "clock", staticmethod(_fake_clock(step_s=100.0)))
    assert main(train_args(tmp_path, "--autosave-every", "0", steps=10)) == 0
    assert seen == [10]


def test_the_default_autosave_interval_is_at_most_a_minute():
    a = cli._parser().parse_args(["train"])
    assert 0 < a.autosave_every <= 60


def _fake_clock(step_s: float):
    t = [0.0]

    def now():
        t[0] += step_s
        return t[0]
    return now


def _recording(real, seen):
    def save(self, model, step, metrics, **extra):
        seen.append(step)
        return real(self, model, step, metrics, **extra)
    return save


def test_resume_continues_the_step_count_and_the_weights(tmp_path, capsys):
    assert main(train_args(tmp_path, steps=10)) == 0
    first = load_checkpoint(tmp_path / "run")
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "run"), "--steps", "25", "--device", "cpu",
                 "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "trained 15 steps" in out.out and "resuming" in out.err
    second = load_checkpoint(tmp_path / "run")
    assert second.step == 25 and second.config == first.config
    w = "decoder.net.0.weight"
    assert not torch.equal(second.model.state_dict()[w], first.model.state_dict()[w])
    # a finished run: nothing to do, nothing written
    before = (tmp_path / "run.safetensors").read_bytes()
    assert main(["train", "--resume", str(tmp_path / "run"), "--steps", "25", "--no-progress"]) == 0
    assert "nothing to train" in capsys.readouterr().out
    assert (tmp_path / "run.safetensors").read_bytes() == before


def test_resume_into_another_existing_checkpoint_needs_overwrite(tmp_path, capsys):
    assert main(train_args(tmp_path, steps=4)) == 0
    assert main(train_args(tmp_path / "b", steps=4)) == 0
    capsys.readouterr()
    argv = ["train", "--resume", str(tmp_path / "run"), "--steps", "8", "--out", str(tmp_path / "b" / "run"),
            "--device", "cpu", "--no-progress"]
    assert main(argv) == EXIT_USAGE and "already exists" in capsys.readouterr().err
    assert main(argv + ["--overwrite"]) == 0
    assert load_checkpoint(tmp_path / "b" / "run").step == 8


# -- a blow-up stops the run, says so, and keeps good weights ----------------------------------------

def test_a_real_blow_up_exits_3_in_one_line(tmp_path, capsys):
    """Learning rate 1 (the cap): losses explode while finite; the CLI must not report success."""
    assert main(train_args(tmp_path, "--lr-recon", "1", "--lr-disc", "1", "--lr-gen", "1", steps=300)) == EXIT_DIVERGED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "training blew up at step" in err


def test_a_blow_up_keeps_the_last_good_weights(tmp_path, capsys, monkeypatch):
    from aae.train import Trainer

    real_step = Trainer.step
    states = {}

    def exploding(self):
        m = real_step(self)
        states[self.step_count] = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return {k: v * 100 for k, v in m.items()} if self.step_count > 60 else m  # 100x: above 50x, below 1e7

    monkeypatch.setattr(Trainer, "step", exploding)
    assert main(train_args(tmp_path, "--autosave-every", "0", steps=200)) == EXIT_DIVERGED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "blew up at step 70" in err and "jumped to" in err   # 10 batches high
    assert "the weights of step 25 are saved in" in err
    ck = load_checkpoint(tmp_path / "run")
    assert ck.step == 25 and ck.meta["extra"]["stopped"] == "diverged"
    assert all(torch.equal(ck.model.state_dict()[k], v) for k, v in states[25].items())


# -- kill -9 ---------------------------------------------------------------------------------------

def _wait_for(predicate, timeout: float, proc: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"the training process ended early: {proc.stderr.read()}")
        time.sleep(0.002)   # polling a condition, not waiting a fixed time
    raise AssertionError("condition not met in time")


def test_kill_9_during_a_save_leaves_a_checkpoint_that_loads(tmp_path):
    """Autosaving all the time (every 0.05 s), killed the moment a save's temporary file appears
    (then the pair is half-committed at worst): what is on disk loads as one save; resuming cleans up.
    (benchmarks/kill_loop.py does this 40 times at random moments and measures the work lost.)"""
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "aae", *train_args(tmp_path, "--autosave-every", "0.05",
                                                     steps=100_000)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: (tmp_path / "run.json").exists(), TIMEOUT, proc)           # one save done
        _wait_for(lambda: any(p.name.endswith(".tmp") for p in tmp_path.iterdir()), TIMEOUT, proc)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(TIMEOUT)
        proc.stderr.close()
    ck = load_checkpoint(out)
    assert ck.step > 0
    (info,) = list_checkpoints(tmp_path)
    assert info.readable and info.step == ck.step
    assert main(["train", "--resume", str(out), "--steps", str(ck.step + 3), "--no-progress",
                 "--device", "cpu"]) == 0
    assert load_checkpoint(out).step == ck.step + 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.safetensors"]
