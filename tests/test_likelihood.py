"""The likelihood protocol (paper Table 1): aae.metrics' Parzen code against an independent
computation with scipy's logsumexp, the protocol on a model, the table, and ``python -m aae likelihood``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from aae import likelihood as L
from aae import metrics
from aae.__main__ import EXIT_USAGE, main
from aae.checkpoints import save_checkpoint
from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig
from aae.data import load_dataset
from aae.priors import make_prior
from aae.train import seeded_model


def independent_parzen(samples: np.ndarray, points: np.ndarray, sigma: float) -> np.ndarray:
    """log p_σ(x) for each point, written out from the definition: a mixture of N isotropic
    Gaussians N(s_i, σ² I), with explicit differences x - s_i (no ||x||² + ||s||² - 2x·s expansion)."""
    n, d = samples.shape
    sq = ((points[:, None, :] - samples[None, :, :]) ** 2).sum(-1)  # (M, N)
    return logsumexp(-sq / (2 * sigma ** 2), axis=1) - math.log(n) - 0.5 * d * math.log(2 * math.pi * sigma ** 2)


def mean_and_stderr(ll: np.ndarray) -> tuple[float, float]:
    return float(ll.mean()), float(ll.std(ddof=1) / math.sqrt(len(ll)))


# ------------------------------------------------------------------------------------ Parzen math

@pytest.mark.parametrize("sigma", [0.05, 0.3, 1.7])
@pytest.mark.parametrize("block", [1, 4, 1000])
def test_parzen_log_likelihood_matches_scipy_logsumexp(sigma, block):
    g = np.random.default_rng(3)
    samples = g.random((37, 6))                       # [0, 1] like decoder images
    test = g.random((23, 6))
    expected = mean_and_stderr(independent_parzen(samples, test, sigma))
    got = metrics.parzen_log_likelihood(torch.from_numpy(samples), test, sigma, batch_size=block)
    assert got == pytest.approx(expected, rel=1e-9)


def test_parzen_images_match_scipy_logsumexp_on_pixels():
    """uint8 test digits are divided by 255 before the distance to [0, 1] samples."""
    g = np.random.default_rng(4)
    digits = g.integers(0, 256, size=(9, 28, 28), dtype=np.uint8)
    samples = g.random((15, 784))
    expected = mean_and_stderr(independent_parzen(samples, digits.reshape(9, -1) / 255.0, 0.2))
    assert metrics.parzen_log_likelihood(samples, digits, 0.2) == pytest.approx(expected, rel=1e-9)


def test_choose_parzen_sigma_is_the_argmax_of_the_independent_validation_scores():
    g = np.random.default_rng(5)
    samples = g.random((40, 5))
    validation = np.clip(samples[g.integers(0, 40, 60)] + g.normal(0, 0.25, (60, 5)), 0, 1)
    grid = metrics.DEFAULT_PARZEN_SIGMAS
    scores = [independent_parzen(samples, validation, s).mean() for s in grid]
    assert metrics.choose_parzen_sigma(samples, validation, batch_size=7) == pytest.approx(grid[int(np.argmax(scores))])


def test_parzen_progress_counts_every_point_once():
    g = np.random.default_rng(6)
    seen: list[int] = []
    metrics.parzen_log_likelihood(g.random((10, 3)), g.random((11, 3)), 0.3, batch_size=4, progress=seen.append)
    assert seen == [4, 4, 3]


# ------------------------------------------------------------------------------------ the protocol on a model

@pytest.fixture(scope="module")
def small_model():
    config = ModelConfig(kind="aae", preset="small", latent_dim=3)
    return seeded_model(config, 0).eval(), make_prior("gaussian", dim=3)


def test_validation_split_is_disjoint_complete_and_seeded():
    fit, val = L.validation_split(100, 17, seed=2)
    assert len(val) == 17 and len(fit) == 83
    assert sorted(torch.cat([fit, val]).tolist()) == list(range(100))
    again = L.validation_split(100, 17, seed=2)
    assert torch.equal(again[0], fit) and torch.equal(again[1], val)
    assert not torch.equal(L.validation_split(100, 17, seed=3)[1], val)
    for bad in (0, 100):
        with pytest.raises(L.ArgumentError, match="validation split"):
            L.validation_split(100, bad)


def test_default_validation_size_is_goodfellows_sixth():
    assert L.default_validation_size(60_000) == 10_000
    assert L.default_validation_size(4500) == 750
    assert L.default_validation_size(600_000) == 10_000


def test_decoder_samples_are_seeded_mean_images_in_unit_range(small_model):
    model, prior = small_model
    a = L.decoder_samples(model, prior, 1234, seed=1)
    assert a.shape == (1234, 784) and float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, L.decoder_samples(model, prior, 1234, seed=1))
    z = prior.sample(1000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(a[:1000], model.decode(z).reshape(1000, -1))


def test_log_likelihood_follows_the_protocol(small_model):
    """σ is the validation argmax and the number is the test mean ± std/√M, recomputed with scipy."""
    model, prior = small_model
    data = load_dataset("synthetic")
    validation, test = data.train_images[:30], data.test_images[:20]
    seen: dict[str, int] = {}
    result = L.log_likelihood(model, prior, validation, test, samples=300, seed=4,
                              progress=lambda stage, k: seen.__setitem__(stage, seen.get(stage, 0) + k))
    assert seen == {"sample": 300, "sigma": 30, "test": 20}
    samples = L.decoder_samples(model, prior, 300, seed=4).double().numpy()
    val = validation.reshape(30, -1).double().numpy() / 255
    grid = metrics.DEFAULT_PARZEN_SIGMAS
    sigma = grid[int(np.argmax([independent_parzen(samples, val, s).mean() for s in grid]))]
    expected = mean_and_stderr(independent_parzen(samples, test.reshape(20, -1).double().numpy() / 255, sigma))
    assert result.sigma == pytest.approx(sigma)
    assert (result.mean, result.stderr) == pytest.approx(expected, rel=1e-9)
    assert (result.samples, result.n_validation, result.n_test) == (300, 30, 20)


# ------------------------------------------------------------------------------------ the table

def test_load_table_puts_our_rows_first_and_names_every_dataset(tmp_path):
    path = L.write_table([{"model": "AAE", "mean": 200.0, "stderr": 5.0, "sigma": 0.17},
                          {"model": "VAE", "mean": 150.0, "stderr": 6.0, "sigma": 0.22}],
                         path=tmp_path / "t.json", dataset="mnist-5k", samples=10_000, steps=1000, date="2026-12-01")
    rows = L.load_table(path)
    assert [r["model"] for r in rows[:2]] == ["AAE", "VAE"] and all(r["ours"] for r in rows[:2])
    assert rows[0]["dataset"] == "mnist-5k" and rows[0]["samples"] == 10_000 and rows[0]["date"] == "2026-12-01"
    paper = rows[2:]
    assert all(not r["ours"] and r["dataset"] == L.PAPER_MNIST and r["source"] for r in paper)
    by_name = {r["model"]: r for r in paper}
    assert (by_name["AAE"]["mean"], by_name["AAE"]["stderr"]) == (340.0, 2.0)
    assert by_name["GAN"]["mean"] == 225.0
    assert "not in the AAE paper" in by_name["VAE (AAE's architecture)"]["source"]


def test_load_table_without_a_file_gives_the_papers_rows(tmp_path):
    assert L.load_table(tmp_path / "missing.json") == L.paper_rows()
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        L.load_table(tmp_path / "bad.json")
    (tmp_path / "wrong.json").write_text(json.dumps({"format": 1, "rows": [{"model": "AAE"}]}))
    with pytest.raises(ValueError, match="model, mean and stderr"):
        L.load_table(tmp_path / "wrong.json")


def test_shipped_table_holds_an_aae_and_a_vae_row_per_preset_measured_on_named_data():
    ours = [r for r in L.load_table() if r["ours"]]
    for preset in {r["preset"] for r in ours}:
        assert {r["model"] for r in ours if r["preset"] == preset} == {"AAE", "VAE"}
    for r in ours:
        assert r["dataset"] == "mnist-5k" and r["samples"] == L.PAPER_SAMPLES and r["latent_dim"] == 8
        assert r["stderr"] > 0 and min(abs(r["sigma"] - s) for s in metrics.DEFAULT_PARZEN_SIGMAS) < 1e-4
        assert r["date"] and r["steps"] >= 1 and r["command"].startswith("python -m benchmarks.likelihood")


# ------------------------------------------------------------------------------------ command line

@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """An untrained 3-D AAE on the synthetic set: one without, one with a recorded held-out split."""
    folder = tmp_path_factory.mktemp("likelihood-ckpt")
    config = RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name="gaussian"),
                       model=ModelConfig(kind="aae", preset="small", latent_dim=3))
    model = seeded_model(config.model, 0)
    plain = save_checkpoint(folder / "plain", model, config, step=0)
    held = save_checkpoint(folder / "held", model, config, step=0,
                           extra={L.HELD_OUT_KEY: {"n": 50, "seed": 1, "n_train": 1000}})
    return {"plain": plain.with_suffix(""), "held": held.with_suffix(""), "folder": folder}


def test_cli_prints_log_likelihood_and_sigma_and_writes_json(checkpoints, capsys, tmp_path):
    out = tmp_path / "row.json"
    assert main(["likelihood", str(checkpoints["plain"]), "--samples", "200", "--device", "cpu",
                 "--no-progress", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    row = json.loads(out.read_text())
    assert f"log-likelihood = {row['mean']:.1f} ± {row['stderr']:.1f} nats" in text
    assert f"sigma = {row['sigma']:.4g}" in text
    # The default split: a sixth of the synthetic set's 1,000 training digits, all 200 test digits.
    assert (row["samples"], row["n_validation"], row["n_test"], row["held_out"]) == (200, 167, 200, False)
    assert "note: the 167 digits" in text


def test_cli_uses_the_checkpoints_held_out_split(checkpoints, capsys, tmp_path):
    out = tmp_path / "row.json"
    assert main(["likelihood", str(checkpoints["held"]), "--samples", "100", "--test", "40", "--device", "cpu",
                 "--no-progress", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    row = json.loads(out.read_text())
    assert (row["n_validation"], row["n_test"], row["held_out"]) == (50, 40, True)
    assert "note:" not in text and "held-out" in text


def test_cli_same_seed_same_number(checkpoints, tmp_path):
    rows = []
    for i in range(2):
        out = tmp_path / f"{i}.json"
        assert main(["likelihood", str(checkpoints["plain"]), "--samples", "150", "--test", "30", "--seed", "5",
                     "--device", "cpu", "--no-progress", "--json", str(out)]) == 0
        rows.append(json.loads(out.read_text()))
    assert rows[0]["mean"] == rows[1]["mean"] and rows[0]["sigma"] == rows[1]["sigma"]


BAD = [
    (["--samples", "0"], "argument --samples: must be an integer in [1, 200,000], got 0"),
    (["--samples", "many"], "argument --samples: expected an integer, got 'many'"),
    (["--samples", "300000"], "must be an integer in [1, 200,000]"),
    (["--validation", "0"], "argument --validation: must be an integer in [1, 10,000]"),
    (["--validation", "5000"], "--validation 5,000 leaves no training digits: synthetic has 1,000"),
    (["--test", "1"], "argument --test: must be an integer in [2,"),
    (["--test", "500"], "--test 500 is more than the 200 test digits of synthetic"),
    (["--seed", "-1"], "argument --seed: must be an integer in [0,"),
    (["--device", "gpu"], "--device must be one of auto, cpu, cuda, mps or cuda:N, got 'gpu'"),
    (["--dataset", "no-such-data"], "no-such-data"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
]


@pytest.mark.parametrize("extra,reason", BAD)
def test_cli_bad_input_exits_2_with_one_line_before_any_work(checkpoints, capsys, monkeypatch, extra, reason):
    monkeypatch.setattr(L, "log_likelihood", lambda *a, **k: pytest.fail("work started despite a bad argument"))
    assert main(["likelihood", str(checkpoints["plain"]), "--no-progress", *extra]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m aae: error:")
    assert reason in err


def test_cli_missing_checkpoint_json_folder_and_absent_gpu_exit_2(checkpoints, capsys, monkeypatch):
    monkeypatch.setattr(L, "log_likelihood", lambda *a, **k: pytest.fail("work started despite a bad argument"))
    cases = [([str(checkpoints["folder"] / "nothing")], "metadata file not found"),
             ([str(checkpoints["plain"]), "--json", str(checkpoints["folder"])], "give a file name"),
             ([str(checkpoints["plain"]), "--json", str(checkpoints["folder"] / "no" / "x.json")], "existing folder"),
             (["--samples", "10"], "the following arguments are required: checkpoint")]
    if not torch.cuda.is_available():
        cases.append(([str(checkpoints["plain"]), "--device", "cuda"], "PyTorch sees no CUDA GPU"))
    for argv, reason in cases:
        assert main(["likelihood", *argv]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and reason in err, (argv, err)


# ------------------------------------------------------------------------------------ the benchmark

def test_benchmark_gives_the_aae_its_recipe_and_both_models_the_same_decay(tmp_path, monkeypatch):
    """benchmarks/likelihood.py: the AAE trains with the chosen recipe, the VAE with the default
    config; every learning rate of both ends at --lr-decay of its value; the rows say so."""
    from benchmarks import likelihood as B

    seen = {}
    real = B.Trainer

    class Recording(real):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen[self.kind.name] = self

    monkeypatch.setattr(B, "Trainer", Recording)
    out = tmp_path / "table.json"
    assert B.main(["--dataset", "synthetic", "--steps", "4", "--samples", "20", "--seeds", "0", "--lr-decay", "0.5",
                   "--out", str(out), "--no-progress"]) == 0
    aae, vae = seen["aae"], seen["vae"]
    assert aae.recipe.lr_gen == 1e-3 and aae.recipe.lr_disc == 5e-4
    assert vae.config == B.TrainConfig(seed=0, device="cpu")
    for tr in (aae, vae):
        for name, opt in tr.optimizers.items():
            start = {"recon": tr.recipe.lr_recon, "disc": tr.recipe.lr_disc, "gen": tr.recipe.lr_gen}[name]
            assert opt.param_groups[0]["lr"] == pytest.approx(0.5 * start)
    rows = L.measured_rows(out)
    assert {r["model"] for r in rows} == {"AAE", "VAE"} and all(r["lr_decay"] == 0.5 for r in rows)
    assert {r["model"]: r["recipe"] for r in rows} == {"AAE": B.AAE_RECIPES["likelihood"], "VAE": {}}
