"""Which weights ``python -m aae pretrain`` keeps: the plain AAE's rule weighs the referee and the
5-NN (README, "The referee on the shipped models"); the other adversarial kinds keep the best referee."""

from __future__ import annotations

import pytest
import torch

import aae.__main__ as cli
from aae.config import ModelConfig, PriorConfig, RunConfig, TrainConfig


class _Tagged(torch.nn.Module):
    """A model whose only weight says which evaluation its state came from."""

    def __init__(self) -> None:
        super().__init__()
        self.tag = torch.nn.Parameter(torch.zeros(()))


def _kept(rule: str, evaluations: list[tuple[float, float | None]], ceiling: float = 0.6) -> float | None:
    model, keeper = _Tagged(), cli._Keeper(rule, ceiling=ceiling)
    for i, (fit, knn) in enumerate(evaluations):
        with torch.no_grad():
            model.tag.fill_(i)
        keeper.offer(model, fit, knn)
    return None if keeper.state is None else keeper.state["tag"].item()


def test_the_referee_rule_keeps_the_lowest_referee_whatever_the_knn():
    assert _kept("referee", [(0.7, 0.9), (0.55, 0.3), (0.58, 0.8)]) == 1


def test_the_knn_rule_keeps_the_best_knn_the_referee_allows():
    # 0.9 at a referee over the ceiling is not allowed; of the two allowed, 0.8 beats 0.3
    assert _kept("knn", [(0.7, 0.9), (0.55, 0.3), (0.58, 0.8)]) == 2


def test_the_knn_rule_falls_back_to_the_lowest_referee_when_none_is_allowed():
    assert _kept("knn", [(0.7, 0.9), (0.65, 0.3), (0.68, 0.8)]) == 1


def test_nothing_offered_keeps_nothing():
    assert _kept("knn", []) is None


def test_train_fit_measures_the_knn_on_training_digits_only(monkeypatch):
    from aae.data import load_dataset
    from aae.priors import make_prior
    from aae.train import seeded_model

    data = load_dataset("synthetic")
    monkeypatch.setattr(cli, "KEEP_KNN_QUERY", len(data.train_images) // 4)
    model = seeded_model(ModelConfig(kind="aae"), 0)
    fit, knn = cli._train_fit(model, make_prior("gaussian", dim=2), data, n=None, knn=True)
    assert 0.0 <= fit <= 1.0 and 0.0 <= knn <= 1.0
    assert cli._train_fit(model, make_prior("gaussian", dim=2), data)[1] is None


def test_pretrain_asks_for_the_knn_rule_for_the_plain_aae_only(monkeypatch, tmp_path):
    asked = {}

    def fake_train_run(config: RunConfig, steps, **kwargs):
        asked[config.model.kind] = kwargs["keep_best"]
        raise KeyboardInterrupt("stop here")

    monkeypatch.setattr(cli, "train_run", fake_train_run)
    for name in ("aae-mog10", "labelled-aae-mog10", "ae"):
        cli.main(["pretrain", "--only", name, "--steps", "3", "--no-progress", "--out", str(tmp_path)])
    assert asked == {"aae": "knn", "labelled_aae": True, "ae": False}


def test_train_run_with_the_knn_rule_returns_a_model(tmp_path):
    config = RunConfig(prior=PriorConfig(name="gaussian"), model=ModelConfig(kind="aae"),
                       train=TrainConfig(device="cpu", batch_size=16))
    config = config.replace(data=config.data.replace(name="synthetic"))
    model, _, _, metrics = cli.train_run(config, 40, quiet=True, keep_best="knn")
    assert "prior_fit" in metrics


def _record_trainers(monkeypatch) -> list:
    """Every ``Trainer`` that ``train_run`` builds, in order."""
    import aae.train as T

    made = []

    class Recorded(T.Trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(T, "Trainer", Recorded)
    return made


def _synthetic_config(kind: str) -> RunConfig:
    config = RunConfig(prior=PriorConfig(name="mog10"), model=ModelConfig(kind=kind),
                       train=TrainConfig(device="cpu", batch_size=16))
    return config.replace(data=config.data.replace(name="synthetic"))


def _synthetic_plan(plan_of):
    """``pretrain_plan`` on the synthetic dataset with small batches (fast)."""
    import dataclasses

    def plan(name, **kwargs):
        p = plan_of(name, **kwargs)
        c = p.config
        c = c.replace(data=c.data.replace(name="synthetic"), train=c.train.replace(batch_size=16))
        return dataclasses.replace(p, config=c)
    return plan


def test_lr_decay_brings_every_learning_rate_to_its_share_by_the_end(monkeypatch):
    import aae.train as T

    made = _record_trainers(monkeypatch)
    config = _synthetic_config("aae")
    cli.train_run(config, 20, quiet=True, lr_decay=0.1)
    (tr,) = made
    recipe = T.adversarial_recipe(config.train, tr.prior)
    start = {"recon": recipe.lr_recon, "disc": recipe.lr_disc, "gen": recipe.lr_gen}
    for name, opt in tr.optimizers.items():
        assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * start[name])


def test_pretrain_decays_the_thin_and_multimodal_priors_and_the_gaussian_only(monkeypatch, tmp_path):
    asked = {}

    def fake_train_run(config: RunConfig, steps, **kwargs):
        asked[config.prior.name, config.model.kind] = (kwargs["lr_decay"], config.train.input_dropout)
        raise KeyboardInterrupt("stop here")

    monkeypatch.setattr(cli, "train_run", fake_train_run)
    for name in ("aae-mog10", "aae-swiss_roll", "aae-gaussian", "vae-gaussian"):
        cli.main(["pretrain", "--only", name, "--steps", "3", "--no-progress", "--out", str(tmp_path)])
    assert asked == {("mog10", "aae"): (0.1, None), ("swiss_roll", "aae"): (0.1, None),
                     ("gaussian", "aae"): (0.3, 0.2), ("gaussian", "vae"): (None, None)}


def test_pretrain_can_turn_a_kinds_translations_off_and_records_it(monkeypatch, tmp_path):
    """An entry can turn the kind's translations off (recipe ``augment_shift`` 0): ``train_run``
    applies it to the trainer's recipe, and the checkpoint records it."""
    import aae.train as T
    from aae.checkpoints import load_checkpoint
    from aae.kinds import get_kind

    made = _record_trainers(monkeypatch)
    config = _synthetic_config("labelled_aae")
    assert T.adversarial_recipe(config.train, None, get_kind("labelled_aae")).augment_shift == 1
    cli.train_run(config, 4, quiet=True, recipe={"augment_shift": 0})
    assert made[-1].recipe.augment_shift == 0

    asked = {}

    def fake_train_run(config: RunConfig, steps, **kwargs):
        asked[config.prior.name] = kwargs["recipe"]
        return made[-1].model, None, None, {"referee": 0.5}

    monkeypatch.setattr(cli, "train_run", fake_train_run)
    monkeypatch.setitem(cli.PRETRAINED, "labelled-aae-mog10", ("labelled_aae", "mog10", {"recipe": {"augment_shift": 0}}))
    for name in ("labelled-aae-mog10", "labelled-aae-swiss_roll"):
        assert cli.main(["pretrain", "--only", name, "--steps", "3", "--no-progress", "--out", str(tmp_path)]) == 0
    assert asked == {"mog10": {"augment_shift": 0}, "swiss_roll": None}
    assert load_checkpoint(tmp_path / "labelled-aae-mog10").meta["extra"] == {"augment_shift": 0}


def test_pretrain_plan_is_the_entrys_run_with_the_overrides_merged_over_it():
    """``benchmarks/pretrain_seeds.py`` trains an entry as ``pretrain`` does, with some settings changed:
    the entry's own train and recipe settings stay unless an override names them."""
    plan = cli.pretrain_plan("aae-gaussian", device="cpu")
    assert (plan.kind, plan.config.prior.name, plan.steps, plan.recipe) == ("aae", "gaussian",
                                                                              cli.PRETRAIN_STEPS, {"augment_rotate": 15.0})
    more = cli.pretrain_plan("aae-gaussian", steps=40, device="cpu", train={"seed": 3},
                             recipe={"augment_scale": 0.1}, lr_decay=0.5)
    assert (more.steps, more.config.train.seed, more.lr_decay, more.config.train.input_dropout) == (40, 3, 0.5, 0.2)
    assert more.recipe == {"augment_rotate": 15.0, "augment_scale": 0.1}
    swiss = cli.pretrain_plan("labelled-aae-swiss_roll", train={"seed": 1})
    assert (swiss.config.train.seed, swiss.lr_decay, swiss.steps) == (1, 0.1, cli.PRETRAIN_STEPS)
    assert cli.pretrain_plan("aae-mog10").keep_best == "knn" and cli.pretrain_plan("vae-gaussian").recipe is None


def test_better_restart_ranks_keep_reports_by_training_numbers_only():
    met = {"met": True, "knn": 0.70, "referee": 0.58, "step": 3000}
    assert cli.better_restart({**met, "knn": 0.72}, met) and not cli.better_restart(met, {**met, "knn": 0.72})
    unmet = {"met": False, "knn": None, "referee": 0.61, "step": 2000}
    assert cli.better_restart(met, unmet) and not cli.better_restart(unmet, met)
    assert cli.better_restart({**unmet, "referee": 0.60}, unmet)


def test_pretrain_restarts_save_the_restart_whose_kept_weights_score_best(monkeypatch, tmp_path):
    """An entry with "restarts": n trains seeds s … s + n − 1 and saves the run whose keep report wins
    (``better_restart``); the checkpoint names the seed it kept."""
    from aae.checkpoints import load_checkpoint

    made = _record_trainers(monkeypatch)
    runs = []
    real = cli.train_run
    scores = {0: 0.66, 1: 0.71, 2: 0.69}            # training 5-NN of each seed's kept weights

    def fake_train_run(config: RunConfig, steps, **kwargs):
        model, prior, data, metrics = real(config, 2, quiet=True)
        runs.append(config.train.seed)
        kwargs["keep_report"].update({"met": True, "knn": scores[config.train.seed], "referee": 0.58, "step": 2})
        return model, prior, data, {**metrics, "seed_marker": float(config.train.seed)}

    monkeypatch.setattr(cli, "train_run", fake_train_run)
    monkeypatch.setitem(cli.PRETRAINED, "restart-test", ("aae", "gaussian", {"restarts": 3}))
    monkeypatch.setattr(cli, "pretrain_plan", _synthetic_plan(cli.pretrain_plan))
    assert cli.main(["pretrain", "--only", "restart-test", "--steps", "2", "--no-progress",
                     "--out", str(tmp_path)]) == 0
    assert runs == [0, 1, 2] and made
    saved = load_checkpoint(tmp_path / "restart-test")
    assert saved.config.train.seed == 1 and saved.meta["extra"]["kept_seed"] == 1
    assert saved.meta["extra"]["restarts"] == 3


def test_pretrain_refuses_an_unknown_recipe_setting_before_any_training(monkeypatch, tmp_path, capsys):
    """Every entry's settings are checked before the first entry trains: a typo in one recipe costs
    one line and status 2, not the hours of the entries before it."""
    trained = []
    monkeypatch.setattr(cli, "train_run", lambda *a, **k: trained.append(a) or (_ for _ in ()).throw(AssertionError))
    monkeypatch.setitem(cli.PRETRAINED, "typo-test", ("aae", "gaussian", {"recipe": {"augment_rotat": 15.0}}))
    assert cli.main(["pretrain", "--only", "aae-mog10", "typo-test", "--steps", "2", "--no-progress",
                     "--out", str(tmp_path)]) == 2
    assert trained == []
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "augment_rotat" in err[0] and "augment_rotate" in err[0]
