"""aae.jobs.guard: divergence and collapse are told apart from a healthy run's ups and downs."""

from __future__ import annotations

import numpy as np
import pytest

from aae.jobs import Guard, GuardSettings

SETTINGS = GuardSettings(window=50, min_history=10, explode_batches=5, collapse_steps=100)


def healthy_losses(rng: np.random.Generator, step: int) -> dict[str, float]:
    return {"recon": 150 + 5 * rng.standard_normal(), "disc": 1.3 + 0.1 * rng.standard_normal(),
            "gen": 0.8 + 0.1 * rng.standard_normal(), "d_acc": 0.6 + 0.05 * rng.standard_normal()}


def feed(guard: Guard, rows, start: int = 0):
    for i, row in enumerate(rows):
        message = guard.observe_losses(start + i, row)
        if message is not None:
            return start + i, message
    return None


def test_a_healthy_run_raises_nothing_and_stays_healthy():
    rng = np.random.default_rng(0)
    guard = Guard(SETTINGS)
    assert feed(guard, (healthy_losses(rng, i) for i in range(1000))) is None
    assert guard.healthy
    for step in range(0, 1000, 10):
        assert guard.observe_codes(step, 0.1) is None


def test_a_kl_growing_from_zero_is_not_an_explosion():
    guard = Guard(SETTINGS)
    rows = [{"recon": 540 - i * 0.3, "kl": 0.01 + i * 0.02} for i in range(400)]  # 0.01 -> 8 nats
    assert feed(guard, rows) is None


def test_one_spike_is_not_an_explosion_but_a_lasting_one_is():
    rng = np.random.default_rng(1)
    guard = Guard(SETTINGS)
    rows = [healthy_losses(rng, i) for i in range(100)]
    rows[60] = {**rows[60], "disc": 100.0}                     # one spike, e.g. right after a prior switch
    assert feed(guard, rows) is None
    assert guard.healthy
    exploding = [{**healthy_losses(rng, i), "recon": 2e5} for i in range(10)]
    step, message = feed(guard, exploding, start=100)
    assert step == 100 + SETTINGS.explode_batches - 1
    assert "reconstruction loss" in message and "2e+05" in message


def test_a_finite_blow_up_is_caught_at_once():
    guard = Guard(SETTINGS)
    step, message = feed(guard, [{"recon": 5.8e9, "disc": 1.9e10}])
    assert step == 0 and "blown up" in message


def test_codes_outside_the_window_for_a_sustained_stretch():
    guard = Guard(SETTINGS)
    assert guard.observe_codes(0, 0.9) is None
    assert not guard.healthy
    assert guard.observe_codes(50, 0.9) is None
    assert guard.observe_codes(60, 0.2) is None                 # came back: the count starts over
    assert guard.healthy
    assert guard.observe_codes(70, 1.0) is None
    message = guard.observe_codes(70 + SETTINGS.collapse_steps, 1.0)
    assert message is not None and "100 %" in message and "window" in message
    assert Guard(SETTINGS, watch_codes=False).observe_codes(10_000, 1.0) is None  # an AE's codes roam


def test_a_discriminator_that_wins_completely_for_long():
    guard = Guard(SETTINGS)
    rows = [{"disc": 0.01, "gen": 6.0, "d_acc": 1.0} for _ in range(300)]
    step, message = feed(guard, rows)
    assert SETTINGS.collapse_steps <= step < SETTINGS.collapse_steps + 50
    assert "discriminator has won" in message


@pytest.mark.parametrize("row", [{"gen": 12.0}, {"d_acc": 1.0}])
def test_either_sign_of_a_winning_discriminator_counts(row):
    step, _ = feed(Guard(SETTINGS), [row] * 400)
    assert step <= SETTINGS.collapse_steps + 100


def test_reset_forgets_the_history():
    guard = Guard(SETTINGS)
    guard.observe_codes(0, 0.9)
    feed(guard, [{"d_acc": 1.0}] * 50)
    assert not guard.healthy
    guard.reset()
    assert guard.healthy
