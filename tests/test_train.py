"""aae.train (and the losses it uses): each phase moves exactly the parameters it owns, phases
cycle in the paper's order, runs are reproducible, and a VAE refuses priors it cannot use."""

from __future__ import annotations

import math

import pytest
import torch
from torch import distributions as D

from aae import losses
from aae.config import ConfigError, ModelConfig, TrainConfig
from aae.data import load_dataset
from aae.priors import make_prior
from aae.kinds import get_kind
from aae.train import (DEFAULT_RECIPE, PRIOR_RECIPES, PriorIncompatible, Trainer, check_prior_compatible,
                       seeded_model)

BATCH = 16



@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic")


def make_trainer(data, *, kind="aae", encoder="deterministic", prior="gaussian", latent_dim=2, seed=0,
                 model_seed=None, **train):
    cfg = ModelConfig(kind=kind, encoder=encoder, latent_dim=latent_dim)
    model = seeded_model(cfg, seed if model_seed is None else model_seed)
    tcfg = TrainConfig(batch_size=BATCH, seed=seed, device="cpu", **train)
    return Trainer(model, make_prior(prior, dim=latent_dim), data.train_images, data.train_labels,
                   config=tcfg, device="cpu")


def params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def unchanged(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    """Bitwise equal to ``before``."""
    return all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def all_changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    """Every weight and bias tensor moved."""
    return all(not torch.equal(before[k], v) for k, v in module.state_dict().items())


def parts(trainer: Trainer) -> dict[str, torch.nn.Module]:
    m = trainer.model
    return {"encoder": m.encoder, "decoder": m.decoder, "discriminator": m.discriminator}


# -- which parameters each phase moves ---------------------------------------------------------------

PHASE_OWNS = {
    "reconstruction": {"encoder", "decoder"},
    "discriminator": {"discriminator"},
    "generator": {"encoder"},
}


@pytest.mark.parametrize("options", [{}, {"d_input_noise": 0.2},
                                     {"disc_steps": 2, "d_penalty": 1.0, "input_dropout": 0.3}])
@pytest.mark.parametrize("encoder", ["deterministic", "gaussian", "universal"])
def test_each_phase_moves_only_its_own_parameters(data, encoder, options):
    tr = make_trainer(data, encoder=encoder, **options)
    tr.step()  # warm the optimisers' state, as in a real run
    for expected_phase in ("reconstruction", "discriminator", "generator"):
        before = {name: params(mod) for name, mod in parts(tr).items()}
        phase, metrics = tr.step_phase()
        assert phase == expected_phase
        assert all(math.isfinite(v) for v in metrics.values())
        for name, mod in parts(tr).items():
            if name in PHASE_OWNS[phase]:
                assert all_changed(before[name], mod), f"{phase} did not update the {name}"
            else:
                assert unchanged(before[name], mod), f"{phase} changed the {name}"


def test_phase_methods_called_directly_respect_ownership(data):
    tr = make_trainer(data)
    batch = tr.next_batch()
    for phase, owns in (("discriminator", {"discriminator"}), ("generator", {"encoder"}),
                        ("reconstruction", {"encoder", "decoder"})):
        before = {name: params(mod) for name, mod in parts(tr).items()}
        tr.run_phase(phase, batch)
        for name, mod in parts(tr).items():
            assert (not unchanged(before[name], mod)) == (name in owns), (phase, name)


def test_generator_phase_leaves_discriminator_trainable(data):
    tr = make_trainer(data)
    tr.step()
    assert all(p.requires_grad for p in tr.model.discriminator.parameters())


# -- stepping ----------------------------------------------------------------------------------

def test_step_phase_cycles_in_the_papers_order(data):
    tr = make_trainer(data)
    assert tr.phases == get_kind("aae").phase_names == ("reconstruction", "discriminator", "generator")
    seen = []
    for i in range(7):
        assert tr.next_phase == tr.phases[i % 3]
        phase, metrics = tr.step_phase()
        seen.append((phase, tuple(sorted(metrics)), tr.phase_index, tr.step_count))
    assert seen == [
        ("reconstruction", ("recon",), 1, 0),
        ("discriminator", ("d_acc", "disc"), 2, 0),
        ("generator", ("gen",), 0, 1),
        ("reconstruction", ("recon",), 1, 1),
        ("discriminator", ("d_acc", "disc"), 2, 1),
        ("generator", ("gen",), 0, 2),
        ("reconstruction", ("recon",), 1, 2),
    ]


def test_phases_of_one_batch_share_the_batch(data):
    tr = make_trainer(data)
    seen = []
    for phase in ("reconstruction", "discriminator", "generator"):
        original = tr._phase_fns[phase]

        def spy(trainer, batch, _original=original):
            seen.append(batch)
            return _original(trainer, batch)

        tr._phase_fns[phase] = spy
    tr.step()
    tr.step()
    assert seen[0] is seen[1] is seen[2]
    assert seen[3] is not seen[0]
    assert seen[0].x.shape == (BATCH, 784) and seen[0].labels.shape == (BATCH,)
    assert seen[0].labelled.dtype == torch.bool and bool(seen[0].labelled.all())
    assert 0.0 <= float(seen[0].x.min()) and float(seen[0].x.max()) <= 1.0


def test_step_completes_a_partial_batch(data):
    tr = make_trainer(data)
    tr.step_phase()
    assert (tr.phase_index, tr.step_count) == (1, 0)
    metrics = tr.step()
    assert (tr.phase_index, tr.step_count) == (0, 1)
    assert set(metrics) == {"disc", "d_acc", "gen"}
    metrics = tr.step()
    assert set(metrics) == {"recon", "disc", "d_acc", "gen"}
    assert tr.step_count == 2
    assert 0.0 <= metrics["d_acc"] <= 1.0


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_ae_and_vae_have_one_phase(data, kind):
    tr = make_trainer(data, kind=kind)
    assert tr.phases == ("reconstruction",)
    phase, metrics = tr.step_phase()
    assert phase == "reconstruction"
    assert (tr.phase_index, tr.step_count) == (0, 1)
    assert set(metrics) == ({"recon"} if kind == "ae" else {"recon", "kl"})
    tr.step()
    assert tr.step_count == 2
    assert set(tr.optimizers) == {"recon"} and tr.opt_disc is None


def test_training_reduces_the_reconstruction_loss(data):
    tr = make_trainer(data, kind="ae")
    first = [tr.step()["recon"] for _ in range(5)]
    for _ in range(30):
        last = tr.step()["recon"]
    assert last < 0.8 * sum(first) / len(first)


# -- determinism ---------------------------------------------------------------------------------

def losses_of(trainer: Trainer, n: int) -> list[dict[str, float]]:
    return [trainer.step() for _ in range(n)]


def test_same_seed_gives_identical_losses(data):
    a = losses_of(make_trainer(data, encoder="gaussian", seed=3), 50)
    b = losses_of(make_trainer(data, encoder="gaussian", seed=3), 50)
    assert a == b
    assert all(math.isfinite(v) for m in a for v in m.values())


def test_different_seed_gives_different_losses(data):
    a = losses_of(make_trainer(data, seed=3), 5)
    b = losses_of(make_trainer(data, seed=4), 5)
    assert a != b
    # the training seed alone (same initial weights) also changes batches and noise
    c = losses_of(make_trainer(data, seed=4, model_seed=3), 5)
    assert c != a


# -- priors and the VAE --------------------------------------------------------------------------

def test_vae_refuses_swiss_roll_because_it_has_no_density(data):
    with pytest.raises(PriorIncompatible) as info:
        make_trainer(data, kind="vae", prior="swiss_roll")
    msg = str(info.value)
    assert "Swiss roll" in msg and "density" in msg and "AAE" in msg
    assert isinstance(info.value, ConfigError)


def test_vae_refuses_uniform_because_density_is_zero_outside(data):
    with pytest.raises(PriorIncompatible) as info:
        make_trainer(data, kind="vae", prior="uniform")
    assert "zero outside" in str(info.value)


@pytest.mark.parametrize("prior", ["gaussian", "mog10", "swiss_roll", "uniform", "pinwheel"])
@pytest.mark.parametrize("kind", ["ae", "aae"])
def test_ae_and_aae_accept_every_prior(kind, prior):
    check_prior_compatible(kind, make_prior(prior))


def test_vae_with_mog10_uses_the_monte_carlo_kl_and_trains(data, monkeypatch):
    calls = {"mc": 0, "closed": 0}
    mc, closed = losses.monte_carlo_kl, losses.gaussian_kl

    def spy_mc(*a, **k):
        calls["mc"] += 1
        return mc(*a, **k)

    def spy_closed(*a, **k):
        calls["closed"] += 1
        return closed(*a, **k)

    monkeypatch.setattr(losses, "monte_carlo_kl", spy_mc)
    monkeypatch.setattr(losses, "gaussian_kl", spy_closed)
    tr = make_trainer(data, kind="vae", prior="mog10")
    history = [tr.step() for _ in range(10)]
    assert calls == {"mc": 10, "closed": 0}
    assert all(math.isfinite(m["recon"]) and math.isfinite(m["kl"]) for m in history)
    assert all(torch.isfinite(p).all() for p in tr.model.parameters())

    gaussian = make_trainer(data, kind="vae", prior="gaussian")
    gaussian.step()
    assert calls == {"mc": 10, "closed": 1}


def test_set_prior_swaps_the_prior_the_discriminator_sees(data):
    tr = make_trainer(data)
    tr.step()
    mog = make_prior("mog10")
    tr.set_prior(mog)
    assert tr.prior is mog
    seen = []
    original = mog.sample

    def spy(*a, **k):
        seen.append(a)
        return original(*a, **k)

    mog.sample = spy
    tr.step()
    assert len(seen) == 1


def test_set_prior_is_validated(data):
    tr = make_trainer(data)
    with pytest.raises(ConfigError, match="dimensions"):
        tr.set_prior(make_prior("gaussian", dim=3))
    vae = make_trainer(data, kind="vae")
    before = vae.prior
    with pytest.raises(PriorIncompatible, match="density"):
        vae.set_prior(make_prior("swiss_roll"))
    assert vae.prior is before
    vae.set_prior(make_prior("mog10"))
    assert vae.prior.name == "mog10"
    assert math.isfinite(vae.step()["kl"])


def test_trainer_refuses_a_prior_of_another_dimension(data):
    """As set_prior does: a clear ConfigError up front, not a matmul shape error at the first
    discriminator step."""
    model = seeded_model(ModelConfig(kind="aae", latent_dim=2), 0)
    with pytest.raises(ConfigError, match="dimensions"):
        Trainer(model, make_prior("gaussian", dim=3), data.train_images, data.train_labels,
                config=TrainConfig(batch_size=BATCH, device="cpu"), device="cpu")


def test_trainer_validates_images(data):
    model = seeded_model(ModelConfig(kind="ae"), 0)
    prior = make_prior("gaussian")
    with pytest.raises(ValueError, match="uint8"):
        Trainer(model, prior, data.train_images.float(), data.train_labels, device="cpu")
    with pytest.raises(ValueError, match="empty"):
        Trainer(model, prior, data.train_images[:0], data.train_labels[:0], device="cpu")


# -- the losses the phases use ----------------------------------------------------------------------

def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    for s in (1.0, 2.0):
        q = D.Independent(D.Normal(mu, torch.exp(0.5 * logvar)), 1)
        p = D.Independent(D.Normal(torch.zeros(3), torch.full((3,), s)), 1)
        expected = D.kl_divergence(q, p).mean()
        assert float(losses.gaussian_kl(mu, logvar, prior_std=s)) == pytest.approx(float(expected), rel=1e-5)


def test_monte_carlo_kl_is_unbiased_for_a_gaussian_prior():
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(1, 2, generator=g).expand(200_000, 2)
    logvar = torch.full((200_000, 2), -1.0)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g)
    mc = float(losses.monte_carlo_kl(z, mu, logvar, make_prior("gaussian")))
    assert mc == pytest.approx(float(losses.gaussian_kl(mu[:1], logvar[:1])), abs=0.02)


def test_adversarial_losses_from_logits():
    big = torch.full((4,), 30.0)
    assert float(losses.discriminator_loss(big, -big)) < 1e-6        # D right on both
    assert float(losses.discriminator_loss(-big, big)) > 50          # D wrong on both
    zero = torch.zeros(4)
    assert float(losses.discriminator_loss(zero, zero)) == pytest.approx(2 * math.log(2))
    assert float(losses.generator_loss(big)) < 1e-6                  # D fooled
    assert float(losses.generator_loss(zero)) == pytest.approx(math.log(2))


def test_reconstruction_loss_is_bernoulli_nll_summed_over_pixels():
    x = torch.rand(3, 784, generator=torch.Generator().manual_seed(2))
    logits = torch.zeros(3, 784)
    assert float(losses.reconstruction_loss(logits, x)) == pytest.approx(784 * math.log(2), rel=1e-6)
    assert float(losses.reconstruction_loss(logits, x.reshape(3, 28, 28))) == pytest.approx(784 * math.log(2),
                                                                                          rel=1e-6)


# -- lockstep training (the Compare page) -------------------------------------------------------------

def test_train_batch_equals_step_on_the_same_batch(data):
    a, b = make_trainer(data, encoder="gaussian", seed=5), make_trainer(data, encoder="gaussian", seed=5)
    for _ in range(3):
        assert a.step() == b.train_batch(b.next_batch())
    assert a.step_count == b.step_count == 3
    for (name, pa), pb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(pa, pb), name


def test_one_batch_feeds_every_model_kind(data):
    trainers = {kind: make_trainer(data, kind=kind) for kind in ("ae", "vae", "aae")}
    batch = trainers["aae"].next_batch()
    metrics = {kind: tr.train_batch(batch) for kind, tr in trainers.items()}
    assert set(metrics["ae"]) == {"recon"}
    assert set(metrics["vae"]) == {"recon", "kl"}
    assert set(metrics["aae"]) == {"recon", "disc", "d_acc", "gen"}
    assert all(tr.step_count == 1 for tr in trainers.values())


def test_train_batch_refuses_a_half_stepped_batch(data):
    tr = make_trainer(data)
    tr.step_phase()
    with pytest.raises(RuntimeError, match="finish the current batch"):
        tr.train_batch(tr.next_batch())


# -- regularisation options -------------------------------------------------------------------------

def test_generator_phase_reuses_the_codes_of_the_discriminator_phase(data):
    """One encoder pass serves both regularisation phases; the result is what a fresh pass gives."""
    a, b = make_trainer(data, seed=4), make_trainer(data, seed=4)
    calls = []
    a.model.encoder.register_forward_hook(lambda *_: calls.append(1))
    for _ in range(3):
        ma = a.step()
        mb = {}
        for _ in range(3):
            phase, m = b.step_phase()
            mb.update(m)
            b._codes = None  # force b to encode again in every phase
        assert ma == mb
    assert len(calls) == 3 * 2  # reconstruction + discriminator (the generator phase reused codes)
    for (name, pa), pb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(pa, pb), name


def test_codes_are_not_reused_after_the_encoder_changed(data):
    tr = make_trainer(data)
    batch = tr.next_batch()
    tr.run_phase("discriminator", batch)
    tr.run_phase("reconstruction", batch)   # moves the encoder: the cached codes are stale
    before = params(tr.model.encoder)
    tr.run_phase("generator", batch)        # must encode again (a stale graph would raise here)
    assert all_changed(before, tr.model.encoder)


@pytest.mark.parametrize("disc_steps", [1, 3])
def test_disc_steps_updates_the_discriminator_that_often(data, disc_steps):
    tr = make_trainer(data, disc_steps=disc_steps)
    tr.step()
    tr.step()
    state = tr.opt_disc.state[next(tr.model.discriminator.parameters())]
    assert int(state["step"]) == 2 * disc_steps
    assert int(tr.opt_gen.state[next(tr.model.encoder.parameters())]["step"]) == 2


def test_r1_penalty_of_a_linear_discriminator_is_half_gamma_w_squared():
    w = torch.tensor([3.0, -4.0])
    z = torch.randn(8, 2, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    logits = z @ w
    assert float(losses.r1_penalty(logits, z, gamma=2.0)) == pytest.approx(0.5 * 2.0 * 25.0)


def test_d_penalty_enters_the_discriminator_loss(data):
    plain, penalised = make_trainer(data, seed=1, d_penalty=0.0), make_trainer(data, seed=1, d_penalty=10.0)
    batch = plain.next_batch()
    m_plain, m_pen = plain.run_phase("discriminator", batch), penalised.run_phase("discriminator", batch)
    assert m_pen["disc"] > m_plain["disc"]  # same D, same samples: the penalty adds a positive term


def test_input_dropout_damages_only_the_encoders_input(data):
    tr = make_trainer(data, input_dropout=0.5)
    seen = []
    tr.model.encoder.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    batch = tr.next_batch()
    tr.run_phase("reconstruction", batch)
    x_in = seen[0]
    lit = batch.x > 0
    dropped = (x_in == 0) & lit
    assert torch.all((x_in == 0) | (x_in == batch.x))           # pixels are kept or zeroed, never changed
    assert 0.35 < dropped.sum() / lit.sum() < 0.65             # about half of the lit pixels dropped
    tr.run_phase("discriminator", batch)
    assert torch.equal(seen[1], batch.x)                        # the regularisation phases see clean images


def test_weight_decay_shrinks_weights_of_the_reconstruction_phase(data):
    plain, decayed = make_trainer(data, seed=2), make_trainer(data, seed=2, weight_decay=0.5)
    assert decayed.opt_recon.param_groups[0]["weight_decay"] == 0.5
    for _ in range(5):
        plain.step()
        decayed.step()
    norm = lambda tr: sum(float(p.detach().norm()) for p in tr.model.decoder.parameters())  # noqa: E731
    assert norm(decayed) < norm(plain)


def test_encoder_weight_decay_shrinks_the_encoder_alone(data):
    """The extra decay puts the encoder's parameters in a group of their own; on a step whose
    gradients are all zero only that group shrinks (AdamW: by lr × decay), the decoder keeps its weights."""
    tr = make_trainer(data, kind="ae", weight_decay=0.0, encoder_weight_decay=0.5)
    groups = tr.opt_recon.param_groups
    encoder = {id(p) for p in tr.model.encoder.parameters()}
    assert [g["weight_decay"] for g in groups] == [0.5, 0.0]
    assert {id(p) for p in groups[0]["params"]} == encoder
    assert not encoder & {id(p) for p in groups[1]["params"]}
    before = params(tr.model)
    for p in tr.model.parameters():
        p.grad = torch.zeros_like(p)
    tr.opt_recon.step()
    after = params(tr.model)
    shrink = 1 - tr.recipe.lr_recon * 0.5
    for name, value in before.items():
        expected = value * shrink if name.startswith("encoder.") else value
        assert torch.allclose(after[name], expected, atol=1e-7), name
    assert len(make_trainer(data, kind="ae", weight_decay=0.5).opt_recon.param_groups) == 1  # 0: as before


def test_prior_recipe_fills_what_the_config_leaves_open(data):
    smooth = make_trainer(data, prior="gaussian")
    assert smooth.recipe == PRIOR_RECIPES["gaussian"]
    assert smooth.opt_gen.param_groups[0]["betas"][0] == PRIOR_RECIPES["gaussian"].beta1
    sharp = make_trainer(data, prior="mog10")
    assert sharp.recipe == DEFAULT_RECIPE and sharp.recipe.d_penalty == 0.0
    fixed = make_trainer(data, prior="mog10", beta1=0.7, d_penalty=2.0, lr_gen=3e-4)
    assert (fixed.recipe.beta1, fixed.recipe.d_penalty, fixed.recipe.lr_gen) == (0.7, 2.0, 3e-4)
    assert fixed.recipe.lr_disc == DEFAULT_RECIPE.lr_disc


def test_a_kinds_own_recipe_settings_reach_the_trainer_whatever_the_config_sets():
    """Settings with no config field (augmentations, the D noise's decay) come from the kind's recipe."""
    import dataclasses
    import types

    from aae.config import TrainConfig
    from aae.priors import make_prior
    from aae.train import adversarial_recipe
    own = dataclasses.replace(DEFAULT_RECIPE, augment_shift=1, augment_rotate=15.0, augment_scale=0.1,
                              d_noise_decay_steps=300)
    kind = types.SimpleNamespace(recipe=own)
    got = adversarial_recipe(TrainConfig(beta1=0.7), make_prior("gaussian"), kind)
    assert (got.augment_shift, got.augment_rotate, got.augment_scale, got.d_noise_decay_steps) == (1, 15.0, 0.1, 300)
    assert got.beta1 == 0.7 and got.lr_disc == own.lr_disc       # the config still overrides its own fields


def test_set_prior_switches_to_the_new_priors_recipe(data):
    tr = make_trainer(data, prior="mog10")
    tr.step()
    tr.set_prior(make_prior("gaussian"))
    g = PRIOR_RECIPES["gaussian"]
    assert tr.recipe == g
    assert tr.opt_disc.param_groups[0]["lr"] == g.lr_disc and tr.opt_gen.param_groups[0]["lr"] == g.lr_gen
    assert tr.opt_disc.param_groups[0]["betas"][0] == g.beta1
    tr.step()  # the penalty is now on: the discriminator phase still runs


def test_set_prior_starts_a_new_game_for_the_discriminator(data):
    tr = make_trainer(data)
    for _ in range(3):
        tr.step()
    before = {name: params(mod) for name, mod in parts(tr).items()}
    tr.set_prior(make_prior("mog10"))
    after = parts(tr)
    assert all_changed(before["discriminator"], after["discriminator"])      # fresh weights ...
    assert not tr.opt_disc.state                                            # ... and fresh Adam moments
    assert unchanged(before["encoder"], after["encoder"]) and unchanged(before["decoder"], after["decoder"])
    assert tr.opt_gen.state                                                 # the encoder keeps its momentum
    again = make_trainer(data)
    for _ in range(3):
        again.step()
    again.set_prior(make_prior("mog10"))
    assert unchanged(params(tr.model.discriminator), again.model.discriminator)  # seeded: reproducible
    kept = make_trainer(data)
    kept.step()
    d = params(kept.model.discriminator)
    kept.set_prior(make_prior("mog10"), reset_discriminator=False)
    assert unchanged(d, kept.model.discriminator) and kept.opt_disc.state


@pytest.mark.parametrize("shift,rotate", [(0, 0.0), (1, 0.0), (0, 15.0)])
def test_the_aae_reads_moved_digits_when_its_recipe_asks_and_rebuilds_the_unmoved_ones(
        data, one_batch_through_the_phases, shift, rotate):
    """``augment_shift`` / ``augment_rotate``: the three phases encode one moved copy of the batch
    (translated, or turned without any translation), the decoder's target stays the batch itself;
    0 changes nothing."""
    import dataclasses

    tr = make_trainer(data)
    tr.recipe = dataclasses.replace(tr.recipe, augment_shift=shift, augment_rotate=rotate, input_dropout=0.0)
    batch, inputs, targets = one_batch_through_the_phases(tr)
    recon_in, disc_in = inputs                  # the generator phase reuses the discriminator phase's codes
    assert torch.equal(targets[0], batch.x)
    moved = 1.0 - (recon_in == batch.x).all(1).float().mean().item()
    if shift == 0 and rotate == 0:
        assert moved == 0.0 and torch.equal(disc_in, batch.x)
    else:
        assert moved > 0.5 and torch.equal(disc_in, recon_in)


def test_a_model_already_on_the_device_is_not_touched(data, monkeypatch):
    """Jobs may share a model (tests/test_jobs.py does): a second Trainer must not re-assign the
    parameters that another thread's optimiser is stepping (``Module.to`` would, even on one device)."""
    model = seeded_model(ModelConfig(kind="aae"), 0)
    before = {name: p.data_ptr() for name, p in model.named_parameters()}

    def moved(*args, **kwargs):
        raise AssertionError("Module.to called on a model already on the trainer's device")

    monkeypatch.setattr(model, "to", moved)
    tr = Trainer(model, make_prior("gaussian", 2), data.train_images[:64], data.train_labels[:64],
                 config=TrainConfig(device="cpu"))
    assert tr.model is model
    assert {name: p.data_ptr() for name, p in model.named_parameters()} == before
