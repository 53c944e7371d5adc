"""Stepping shows the move (issue 13 §3): after a Step or a Next phase the job's snapshot carries
the codes from before it (``Snapshot.moved_from``), row for row with ``codes``; the live latent
chart draws them as ghosts with a trail to where each code went, and both disappear once training
moves on. CPU, synthetic data, waits on the job's own futures."""

from __future__ import annotations

import numpy as np
import pytest

from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import load_dataset
from aae.jobs import JobOptions, TrainingJob
from ui import charts

TIMEOUT = 90.0
OPTIONS = JobOptions(snapshot_interval=0.05, n_eval=40, knn_train_codes=40, n_grid=4, d_grid_resolution=8,
                     n_arrows=4, start_paused=True)


@pytest.fixture(scope="module")
def job():
    config = RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name="gaussian"),
                       model=ModelConfig(kind="aae", latent_dim=2),
                       train=TrainConfig(batch_size=16, seed=0, device="cpu"))
    job = TrainingJob(config, options=OPTIONS, dataset=load_dataset("synthetic")).start()
    job.wait_for(lambda s: s.codes is not None, TIMEOUT)
    yield job
    job.stop(wait=True, timeout=TIMEOUT)


def test_a_fresh_run_has_no_move_to_show(job):
    assert job.peek().moved_from is None


def test_next_phase_carries_the_codes_from_before_it(job):
    before = job.peek().codes.copy()
    job.step_phase().result(TIMEOUT)                     # the reconstruction phase moves the codes
    snap = job.peek()
    assert snap.last_phase == "reconstruction"
    assert snap.moved_from.shape == snap.codes.shape
    np.testing.assert_array_equal(snap.moved_from, before)
    assert not np.array_equal(snap.moved_from, snap.codes)
    assert not snap.moved_from.flags.writeable           # as immutable as every snapshot array


def test_step_one_batch_carries_its_move_too(job):
    before = job.peek().codes.copy()
    job.step_batch().result(TIMEOUT)
    np.testing.assert_array_equal(job.peek().moved_from, before)


def test_the_move_is_forgotten_once_training_moves_on(job):
    job.step_phase().result(TIMEOUT)
    assert job.peek().moved_from is not None
    step = job.peek().step
    job.play()
    job.wait_for(lambda s: s.step >= step + 2, TIMEOUT)
    job.pause()
    snap = job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    assert snap.moved_from is None


# ------------------------------------------------------------------------------------ the chart

def _snap(codes, moved_from):
    """A snapshot-shaped object with what latent_spec reads."""
    from aae.jobs import Snapshot
    config = RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name="gaussian"),
                       model=ModelConfig(kind="aae", latent_dim=2), train=TrainConfig(device="cpu"))
    from aae.jobs.snapshot import ModelView
    return Snapshot(job_id="t", version=1, status="paused", step=1, epoch=0.0, phase_index=0,
                    phases=("reconstruction", "discriminator", "generator"), last_phase="generator", elapsed=0.0,
                    steps_per_sec=0.0, speed=None, config=config, device="cpu", primary="aae",
                    models={"aae": ModelView(kind="aae", codes=np.asarray(codes, np.float32))},
                    code_labels=np.arange(len(codes)) % 10, moved_from=moved_from)


def _ghosts(spec):
    return spec["datasets"]["ghosts"].to_pydict()


def test_the_chart_draws_a_ghost_and_a_trail_per_moved_code():
    codes = np.array([[0.0, 0.0], [1.0, 1.0], [9.0, 9.0]], np.float32)
    old = np.array([[0.5, 0.0], [1.0, 1.0], [9.5, 9.0]], np.float32)     # the third is outside the window
    spec = charts.latent_spec(_snap(codes, old), charts.Layers())
    ghosts = _ghosts(spec)
    assert ghosts["z1"] == [0.5, 1.0] and ghosts["to1"] == [0.0, 1.0]
    marks = [layer["mark"]["type"] for layer in spec["layer"] if layer.get("data", {}).get("name") == "ghosts"]
    assert marks == ["rule", "point"]                    # the trail, then the ghost ring


def test_without_a_move_the_ghost_layers_stay_but_are_empty():
    """The spec stays the same whether or not there is a move (the keyed chart updates in place)."""
    codes = np.zeros((3, 2), np.float32)
    with_move = charts.latent_spec(_snap(codes, codes + 0.1), charts.Layers())
    without = charts.latent_spec(_snap(codes, None), charts.Layers())
    assert _ghosts(without)["z1"] == []
    strip = lambda spec: {k: v for k, v in spec.items() if k != "datasets"}       # noqa: E731
    assert strip(with_move) == strip(without)


def test_compare_panels_draw_no_ghosts():
    codes = np.zeros((3, 2), np.float32)
    spec = charts.latent_spec(_snap(codes, codes + 0.1), charts.Layers(), model="aae")
    assert "ghosts" not in spec["datasets"]


def test_the_move_caption_names_the_largest_and_median_move():
    codes = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], np.float32)
    old = np.array([[0.3, 0.4], [0.0, 0.1], [0.0, 0.2]], np.float32)       # moves 0.5, 0.1, 0.2
    text = charts.move_caption(_snap(codes, old))
    assert "0.50" in text and "0.20" in text
    assert charts.move_caption(_snap(codes, None)) == ""

