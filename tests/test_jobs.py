"""aae.jobs: a TrainingJob's controls (play, pause, step a batch or a phase, stop, speed, prior
swap, save), its failure handling, immutable snapshots, and the JobRegistry's cap and reaper.

CPU, synthetic data, small snapshots. Waits are event based (``wait_for``, ``barrier``) with
generous timeouts; no assertion depends on wall-clock speed (the speed limit is measured in
benchmarks/job_speed_limit.py)."""

from __future__ import annotations

import dataclasses
import gc
import math
import threading
import time
import weakref

import numpy as np
import pytest
import torch

import aae.jobs.job as job_module
from aae.checkpoints import load_checkpoint
from aae.config import ConfigError, DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import load_dataset
from aae.jobs import JobOptions, JobRegistry, TrainingJob
from aae.train import PriorIncompatible, seeded_model

TIMEOUT = 90.0  # generous: the suite shares two cores with other work
N_EVAL = 50
OPTIONS = JobOptions(snapshot_interval=0.05, n_eval=N_EVAL, knn_train_codes=50, n_grid=4,
                     d_grid_resolution=8, n_arrows=4)
PAUSED_OPTIONS = dataclasses.replace(OPTIONS, start_paused=True)



@pytest.fixture(scope="module")
def dataset():
    return load_dataset("synthetic")


def run_config(kind: str = "aae", prior: str = "gaussian", batch_size: int = 16, seed: int = 0) -> RunConfig:
    return RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name=prior),
                     model=ModelConfig(kind=kind, latent_dim=2),
                     train=TrainConfig(batch_size=batch_size, seed=seed, device="cpu"))


def live_job_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("aae-job-") and t.is_alive()]


def wait_until(predicate, timeout: float = TIMEOUT, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)


def barrier(job: TrainingJob):
    """A snapshot published after the job thread has gone once more through its loop: a command
    (here a no-op speed change) runs between batches and publishes, so a job that were still
    training would show a higher step here."""
    before = job.peek().version
    job.set_speed(job.peek().speed).result(TIMEOUT)
    return job.wait_for(lambda s: s.version > before, TIMEOUT)


def all_finite(arrays) -> bool:
    return all(np.isfinite(a).all() for a in arrays)


@pytest.fixture
def make_job(dataset):
    """Build (and by default start) TrainingJobs; every one is stopped and joined afterwards."""
    made: list[TrainingJob] = []

    def make(config: RunConfig | None = None, *, options: JobOptions = OPTIONS, start: bool = True,
             **kwargs) -> TrainingJob:
        job = TrainingJob(config or run_config(), options=options, dataset=dataset, **kwargs)
        made.append(job)
        return job.start() if start else job

    yield make
    for job in made:
        if job.thread.ident is not None:
            job.stop()
    for job in made:
        assert job.join(TIMEOUT), f"job {job.id} did not stop"


@pytest.fixture
def make_registry(dataset):
    made: list[JobRegistry] = []

    def make(**kwargs) -> JobRegistry:
        kwargs.setdefault("options", OPTIONS)
        registry = JobRegistry(**kwargs)
        made.append(registry)
        return registry

    yield make
    for registry in made:
        registry.shutdown(timeout=TIMEOUT)
    wait_until(lambda: not live_job_threads(), timeout=10)


# -- play, pause, step, stop ---------------------------------------------------------------------

def test_start_trains_and_publishes_snapshots(make_job):
    job = make_job()
    first = job.wait_for(lambda s: s.status == "running" and s.step >= 3, TIMEOUT)
    later = job.wait_for(lambda s: s.step >= first.step + 2, TIMEOUT)
    assert later.version > first.version
    assert later.elapsed > 0
    assert later.epoch == pytest.approx(later.step * 16 / 1000)
    assert later.phases == ("reconstruction", "discriminator", "generator")
    assert later.config == run_config() and later.error is None
    assert later.codes.shape == (N_EVAL, 2) and later.codes.dtype == np.float32
    assert later.code_labels.shape == (N_EVAL,)
    assert later.prior_sample.shape == (N_EVAL, 2)
    assert later.samples.shape == (4, 28, 28)
    assert later.recon_inputs.shape == later.recon_outputs.shape == (10, 28, 28)
    assert later.d_grid.shape == (8, 8) and later.arrows.shape == (4, 4)
    assert len(later.decoder_weights) == 3
    assert {"step", "recon", "disc", "gen", "d_acc"} <= set(later.history)
    assert {"recon", "disc", "gen", "d_acc"} <= set(later.latest)
    assert later.bounds == (-3.5, 3.5)
    assert later.active and job.thread.daemon and job.thread.name == f"aae-job-{job.id}"


def test_pause_stops_the_counter_and_play_resumes(make_job):
    job = make_job()
    job.wait_for(lambda s: s.status == "running" and s.step >= 2, TIMEOUT)
    job.pause()
    a = job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    b = barrier(job)
    assert b.status == "paused" and b.version > a.version
    assert (b.step, b.elapsed) == (a.step, a.elapsed)
    assert b.steps_per_sec == 0.0
    job.play()
    job.wait_for(lambda s: s.status == "running" and s.step > b.step, TIMEOUT)


def test_step_batch_advances_exactly_one_batch(make_job):
    job = make_job(options=PAUSED_OPTIONS)
    start = job.wait_for(lambda s: s.status == "paused" and s.codes is not None, TIMEOUT)
    assert start.step == 0
    assert job.step_batch().result(TIMEOUT) == 1
    snap = job.snapshot()
    assert (snap.step, snap.phase_index, snap.status, snap.last_phase) == (1, 0, "paused", None)
    assert job.step_batch(3).result(TIMEOUT) == 4
    assert barrier(job).step == 4


def test_step_batch_on_a_running_job_pauses_it_after_one_batch(make_job):
    job = make_job()
    job.wait_for(lambda s: s.status == "running" and s.step >= 1, TIMEOUT)
    reached = job.step_batch().result(TIMEOUT)
    snap = job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    assert snap.step == reached
    assert barrier(job).step == reached


def test_step_phase_runs_only_that_phase(make_job):
    job = make_job(options=PAUSED_OPTIONS)
    job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    seen = []
    for _ in range(4):
        job.step_phase().result(TIMEOUT)
        snap = job.snapshot()
        seen.append((snap.last_phase, snap.phase_index, snap.step, snap.status))
    assert seen == [("reconstruction", 1, 0, "paused"), ("discriminator", 2, 0, "paused"),
                    ("generator", 0, 1, "paused"), ("reconstruction", 1, 1, "paused")]


def test_step_phase_publishes_each_phases_losses(make_job):
    """Stepping the game one move at a time is only instructive if each move's loss shows."""
    job = make_job(options=PAUSED_OPTIONS)
    job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    job.step_phase().result(TIMEOUT)
    assert "recon" in job.snapshot().latest
    job.step_phase().result(TIMEOUT)
    assert {"disc", "d_acc"} <= set(job.snapshot().latest)
    job.step_phase().result(TIMEOUT)
    snap = job.snapshot()
    assert {"recon", "disc", "d_acc", "gen"} <= set(snap.latest)
    assert all(np.isfinite(snap.history[k][-1]) for k in ("recon", "disc", "gen"))


def test_step_batch_finishes_a_half_stepped_batch(make_job):
    job = make_job(options=PAUSED_OPTIONS)
    job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    job.step_phase().result(TIMEOUT)
    assert job.step_batch().result(TIMEOUT) == 1
    snap = job.snapshot()
    assert (snap.phase_index, snap.last_phase) == (0, None)


def test_stop_ends_the_thread(make_job):
    job = make_job()
    job.wait_for(lambda s: s.step >= 1, TIMEOUT)
    job.stop(wait=True, timeout=TIMEOUT)
    assert not job.thread.is_alive()
    snap = job.snapshot()
    assert snap.status == "stopped" and not snap.active and snap.error is None
    with pytest.raises(RuntimeError, match="ended"):
        job.step_batch().result(1)
    job.stop(wait=True)  # stopping twice is harmless


def test_stop_of_a_paused_job(make_job):
    job = make_job(options=PAUSED_OPTIONS)
    job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    job.stop(wait=True, timeout=TIMEOUT)
    assert job.snapshot().status == "stopped" and not job.thread.is_alive()


def test_rapid_start_stop_leaves_no_threads(dataset, make_registry):
    config = run_config(kind="ae")
    model = seeded_model(config.model, 0)  # shared: the cycles are about threads, not training
    options = dataclasses.replace(OPTIONS, n_eval=10, knn_train_codes=10, n_grid=1)
    pending: list[TrainingJob] = []
    for i in range(150):
        job = TrainingJob(config, options=options, dataset=dataset, model=model).start()
        if i % 25 == 0:
            for other in pending:
                assert other.join(TIMEOUT)
            pending.clear()
            job.wait_for(lambda s: s.step >= 1, TIMEOUT)  # some train before they stop
        if i % 2:
            job.stop(wait=True, timeout=TIMEOUT)
            assert not job.thread.is_alive()
        else:
            job.stop()
            pending.append(job)
    for job in pending:
        assert job.join(TIMEOUT)
    registry = make_registry(max_running=1, options=options)
    for _ in range(50):
        job = registry.create(config, dataset=dataset, model=model)
        registry.remove(job.id, timeout=TIMEOUT)
        assert not job.thread.is_alive()
    registry.shutdown(timeout=TIMEOUT)
    wait_until(lambda: not live_job_threads(), timeout=10)
    assert not live_job_threads()


# -- failures ------------------------------------------------------------------------------------

def poison_at(step: int, holder: dict):
    def fault(current: int) -> None:
        if current == step:
            with torch.no_grad():
                holder["job"].trainer.model.decoder.net[0].weight[0, 0] = math.nan
    return fault


def test_nan_stops_the_job_and_keeps_the_last_good_weights(make_job):
    holder: dict = {}
    job = make_job(fault=poison_at(5, holder), start=False)
    holder["job"] = job
    job.start()
    snap = job.wait_for(lambda s: s.status == "failed", TIMEOUT)
    assert job.join(TIMEOUT)
    assert "diverged" in snap.error.lower() and "nan" in snap.error and "restored" in snap.error
    snap = job.snapshot()
    assert snap.status == "failed" and not snap.active and snap.good_step is not None and snap.good_step <= 5
    assert job.trainer is None  # an ended job keeps its snapshot, not its model
    assert all_finite([a for layer in snap.decoder_weights for a in layer])
    assert all_finite([snap.codes, snap.samples, snap.recon_outputs])


def test_nan_during_a_single_step_fails_the_job(make_job):
    holder: dict = {}
    job = make_job(options=PAUSED_OPTIONS, fault=poison_at(1, holder), start=False)
    holder["job"] = job
    job.start()
    job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    job.step_batch().result(TIMEOUT)
    with pytest.raises(RuntimeError, match="nan"):  # the step's caller learns why
        job.step_batch().result(TIMEOUT)
    snap = job.wait_for(lambda s: s.status == "failed", TIMEOUT)
    assert "diverged" in snap.error.lower()
    assert all_finite([a for layer in snap.decoder_weights for a in layer])


def raise_at(step: int):
    def fault(current: int) -> None:
        if current == step:
            raise RuntimeError("disk on fire")
    return fault


def test_exception_while_running_fails_the_job_with_its_message(make_job):
    job = make_job(fault=raise_at(2))
    snap = job.wait_for(lambda s: s.status == "failed", TIMEOUT)
    assert job.join(TIMEOUT)
    assert "RuntimeError" in snap.error and "disk on fire" in snap.error
    assert snap.step == 2


def test_exception_during_a_step_command_fails_the_job(make_job):
    """An exception inside training must end the job (DESIGN §3) also when it happens in a
    single-batch or single-phase step, not only while playing."""
    job = make_job(options=PAUSED_OPTIONS, fault=raise_at(1))
    job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    job.step_batch().result(TIMEOUT)
    with pytest.raises(RuntimeError, match="disk on fire"):
        job.step_batch().result(TIMEOUT)
    snap = job.wait_for(lambda s: s.status == "failed" or s.notice is not None, TIMEOUT)
    assert snap.status == "failed" and "disk on fire" in (snap.error or "")


def test_failed_setup_is_reported(dataset):
    config = run_config(prior="swiss_roll", kind="vae")
    job = TrainingJob(config, options=OPTIONS, dataset=dataset).start()
    try:
        snap = job.wait_for(lambda s: s.status == "failed", TIMEOUT)
        assert "PriorIncompatible" in snap.error and "density" in snap.error
    finally:
        job.stop(wait=True, timeout=TIMEOUT)
    assert not job.thread.is_alive()


# -- speed, prior, save --------------------------------------------------------------------------

def test_speed_limit_is_published_and_cleared(make_job):
    """The limit itself is measured in benchmarks/job_speed_limit.py (a wall-clock check)."""
    job = make_job()
    job.wait_for(lambda s: s.step >= 1, TIMEOUT)
    job.set_speed(5).result(TIMEOUT)
    assert job.wait_for(lambda s: s.speed == 5, TIMEOUT).speed == 5
    job.set_speed(math.nan).result(TIMEOUT)
    assert job.wait_for(lambda s: s.speed is None, TIMEOUT).speed is None


def test_set_prior_on_a_running_aae(make_job):
    job = make_job()
    before = job.wait_for(lambda s: s.status == "running" and s.step >= 1, TIMEOUT)
    job.set_prior(PriorConfig(name="mog10")).result(TIMEOUT)
    snap = job.wait_for(lambda s: s.config.prior.name == "mog10", TIMEOUT)
    assert snap.status == "running" and snap.notice is None
    assert not np.array_equal(snap.prior_sample, before.prior_sample)
    assert float(np.linalg.norm(snap.prior_sample, axis=1).mean()) == pytest.approx(2.0, abs=0.3)
    job.set_prior(PriorConfig(name="uniform", scale=0.5)).result(TIMEOUT)
    snap = job.wait_for(lambda s: s.config.prior.name == "uniform", TIMEOUT)
    assert snap.bounds == pytest.approx((-1.3, 1.3))
    assert float(np.abs(snap.prior_sample).max()) <= 1.0 + 1e-6
    job.wait_for(lambda s: s.step > snap.step, TIMEOUT)


def test_unknown_prior_is_a_notice_not_a_failure(make_job):
    job = make_job()
    job.wait_for(lambda s: s.status == "running", TIMEOUT)
    with pytest.raises(ConfigError, match="banana"):
        job.set_prior(PriorConfig(name="banana")).result(TIMEOUT)
    snap = job.wait_for(lambda s: s.notice is not None, TIMEOUT)
    assert "banana" in snap.notice and snap.status == "running" and snap.config.prior.name == "gaussian"


def test_swiss_roll_on_a_vae_is_refused_and_the_job_goes_on(make_job):
    job = make_job(run_config(kind="vae"))
    job.wait_for(lambda s: s.status == "running" and s.step >= 1, TIMEOUT)
    future = job.set_prior(PriorConfig(name="swiss_roll"))
    with pytest.raises(PriorIncompatible, match="density"):
        future.result(TIMEOUT)
    snap = job.wait_for(lambda s: s.notice is not None, TIMEOUT)
    assert "density" in snap.notice
    assert snap.status == "running" and snap.error is None
    assert snap.config.prior.name == "gaussian"
    job.wait_for(lambda s: s.step > snap.step + 1, TIMEOUT)


def test_save_writes_a_checkpoint_that_loads(make_job, tmp_path):
    job = make_job()
    job.wait_for(lambda s: s.step >= 2, TIMEOUT)
    job.pause()
    paused = job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    path = job.save(tmp_path / "run").result(TIMEOUT)
    assert path == str(tmp_path / "run.json")
    assert job.wait_for(lambda s: s.saved_path is not None, TIMEOUT).saved_path == path
    loaded = load_checkpoint(path)
    assert loaded.step == paused.step
    assert loaded.config == job.config
    assert "recon" in loaded.metrics
    live = job.trainer.model.state_dict()
    for name, tensor in loaded.model.state_dict().items():
        assert torch.equal(tensor, live[name]), name
    half = job.save(tmp_path / "half", half=True).result(TIMEOUT)
    assert load_checkpoint(half).meta["dtype"] == "float16"


# -- lockstep jobs (the Compare page) -------------------------------------------------------------

def test_lockstep_job_trains_every_kind_on_the_same_batches(make_job):
    job = make_job(run_config(kind="aae"), kinds=("ae", "vae", "aae"))
    snap = job.wait_for(lambda s: s.status == "running" and s.step >= 3, TIMEOUT)
    assert snap.primary == "aae" and set(snap.models) == {"ae", "vae", "aae"}
    assert all(view.unavailable is None for view in snap.models.values())
    assert snap.codes is snap.models["aae"].codes
    assert set(snap.models["vae"].latest) >= {"recon", "kl"}
    job.pause()
    snap = job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    assert all(view.history["step"][-1] == snap.step for view in snap.models.values())


def test_lockstep_vae_sits_out_a_swiss_roll_and_rejoins(make_job):
    job = make_job(run_config(kind="aae", prior="swiss_roll"), kinds=("ae", "vae", "aae"))
    snap = job.wait_for(lambda s: s.status == "running" and s.step >= 2, TIMEOUT)
    assert "density" in snap.models["vae"].unavailable
    assert snap.models["ae"].unavailable is None and snap.models["aae"].unavailable is None
    assert "kl" not in snap.models["vae"].latest
    job.set_prior(PriorConfig(name="mog10")).result(TIMEOUT)
    snap = job.wait_for(lambda s: s.config.prior.name == "mog10" and "kl" in s.models["vae"].latest, TIMEOUT)
    assert snap.models["vae"].unavailable is None


def test_primary_kind_must_be_among_the_kinds(dataset):
    with pytest.raises(ConfigError, match="primary"):
        TrainingJob(run_config(kind="aae"), options=OPTIONS, dataset=dataset, kinds=("ae", "vae"))


def test_lockstep_job_saves_each_kind(make_job, tmp_path):
    job = make_job(run_config(kind="aae"), kinds=("ae", "aae"), options=PAUSED_OPTIONS)
    job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    job.step_batch(2).result(TIMEOUT)
    ae = load_checkpoint(job.save(tmp_path / "ae", kind="ae").result(TIMEOUT))
    aae = load_checkpoint(job.save(tmp_path / "aae").result(TIMEOUT))
    assert (ae.model.kind, ae.config.model.kind, ae.step) == ("ae", "ae", 2)
    assert (aae.model.kind, aae.step) == ("aae", 2)


# -- snapshots -----------------------------------------------------------------------------------

def snapshot_arrays(snap) -> list[np.ndarray]:
    arrays = [snap.codes, snap.code_labels, snap.prior_sample, snap.samples, snap.recon_inputs,
              snap.recon_outputs, snap.d_grid, snap.arrows, *snap.history.values()]
    arrays += [a for layer in snap.decoder_weights for a in layer]
    return arrays


def test_snapshots_are_immutable(make_job):
    job = make_job(options=PAUSED_OPTIONS)
    job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    job.step_batch(3).result(TIMEOUT)
    snap = job.snapshot()
    arrays = snapshot_arrays(snap)
    assert all(isinstance(a, np.ndarray) for a in arrays)
    for a in arrays:
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a[(0,) * a.ndim] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.step = 99  # type: ignore[misc]
    copies = [a.copy() for a in arrays]
    job.step_batch(3).result(TIMEOUT)
    newer = job.snapshot()
    assert newer.step == snap.step + 3
    assert not np.array_equal(newer.codes, snap.codes)
    for old, copy in zip(arrays, copies):
        np.testing.assert_array_equal(old, copy)  # later training never writes into an earlier snapshot


def test_history_is_bounded(make_job):
    options = dataclasses.replace(OPTIONS, history_len=50, max_steps=250, snapshot_interval=0.25)
    job = make_job(run_config(kind="ae", batch_size=4), options=options)
    snap = job.wait_for(lambda s: s.status == "done", 60)
    assert snap.step == 250 and not snap.active
    steps = snap.history["step"]
    assert 10 <= len(steps) <= 50
    assert all(len(col) == len(steps) for col in snap.history.values())
    assert np.all(np.diff(steps) > 0)
    assert steps[0] >= 1 and 200 <= steps[-1] <= 250
    assert np.isfinite(snap.history["recon"]).all()


# -- the registry --------------------------------------------------------------------------------

@pytest.mark.parametrize("max_running", [1, 2])
def test_registry_caps_running_jobs(make_registry, dataset, max_running):
    registry = make_registry(max_running=max_running)
    config = run_config()
    created: list[TrainingJob] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def create():
        barrier.wait()
        job = registry.create(config, dataset=dataset)
        with lock:
            created.append(job)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert len(created) == 8 and len({j.id for j in created}) == 8

    def check_cap() -> list:
        assert registry.running_count <= max_running
        snaps = [j.peek() for j in created]
        if sum(s.status == "running" for s in snaps) > max_running:
            # A job that just paused publishes its new status a moment after giving its slot
            # away (test_slot_is_not_reported_twice_while_autosaving); only a lasting excess is
            # a broken cap. Nothing is paused or stopped while this waits.
            deadline = time.monotonic() + 1.0
            while sum(s.status == "running" for s in snaps) > max_running:
                assert time.monotonic() < deadline, [s.status for s in snaps]
                time.sleep(0.01)
                snaps = [j.peek() for j in created]
        return snaps

    def settled() -> bool:
        snaps = check_cap()
        queued = sorted(s.queue_position for s in snaps if s.status == "queued")
        return (sum(s.status == "running" for s in snaps) == max_running
                and queued == list(range(1, 8 - max_running + 1)))

    wait_until(settled)
    # while the first ones are paused or stopped, every job gets its turn and the cap holds
    progressed: set[str] = set()
    deadline = time.monotonic() + 60
    while len(progressed) < 8:
        assert time.monotonic() < deadline, f"only {len(progressed)} of 8 jobs progressed"
        for i, (job, snap) in enumerate(zip(created, check_cap())):
            if snap.status == "queued":
                assert snap.queue_position >= 1
            if snap.status == "running" and snap.step >= 1 and job.id not in progressed:
                progressed.add(job.id)
                job.pause() if i % 2 else job.stop()
        time.sleep(0.005)
    wait_until(lambda: registry.running_count == 0)
    check_cap()


def test_slot_is_not_reported_twice_while_autosaving(make_registry, dataset, tmp_path, monkeypatch):
    """A job that pauses gives its slot away; its snapshot must stop saying "running" before the
    next job can say so, even when its autosave (a slow disk) takes a while."""
    real_save = job_module.save_checkpoint

    def slow_save(*args, **kwargs):
        time.sleep(1.0)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(job_module, "save_checkpoint", slow_save)
    registry = make_registry(max_running=1, autosave_dir=tmp_path)
    first = registry.create(run_config(), dataset=dataset)
    first.wait_for(lambda s: s.status == "running" and s.step >= 1, TIMEOUT)
    second = registry.create(run_config(), dataset=dataset)
    second.wait_for(lambda s: s.status == "queued" and s.queue_position == 1, TIMEOUT)
    first.pause()
    deadline = time.monotonic() + TIMEOUT
    while not (first.peek().status == "paused" and second.peek().step >= 1):
        assert time.monotonic() < deadline
        statuses = [first.peek().status, second.peek().status]
        assert statuses.count("running") <= 1, statuses
        time.sleep(0.002)


def test_registry_lookup_remove_and_shutdown(make_registry, dataset):
    registry = make_registry(max_running=2)
    job = registry.create(run_config(), dataset=dataset)
    assert registry.get(job.id) is job and registry.get(None) is None and registry.get("nope") is None
    assert registry.jobs() == [job]
    job.wait_for(lambda s: s.step >= 1, TIMEOUT)
    registry.remove(job.id)
    assert registry.get(job.id) is None and not job.thread.is_alive()
    other = registry.create(run_config(), dataset=dataset)
    registry.shutdown(timeout=TIMEOUT)
    assert not other.thread.is_alive()
    with pytest.raises(RuntimeError, match="shut down"):
        registry.create(run_config(), dataset=dataset)


def test_reaper_pauses_and_autosaves_unwatched_jobs(make_registry, dataset, tmp_path):
    registry = make_registry(max_running=2, idle_pause=0.5, reap_interval=0.1, autosave_dir=tmp_path)
    unwatched = registry.create(run_config(), dataset=dataset)
    watched = registry.create(run_config(seed=1), dataset=dataset)
    deadline = time.monotonic() + TIMEOUT
    # "paused" is published before the autosave is written; the snapshot after it names the file.
    while unwatched.peek().status != "paused" or unwatched.peek().saved_path is None:
        assert time.monotonic() < deadline
        watched.snapshot()  # a viewer keeps this one alive
        time.sleep(0.02)
    snap = unwatched.peek()
    assert snap.step >= 1
    assert watched.snapshot().status == "running"
    json_path = tmp_path / f"run-{unwatched.id}.json"
    assert json_path.is_file() and (tmp_path / f"run-{unwatched.id}.safetensors").is_file()
    assert load_checkpoint(json_path).step == snap.step
    assert snap.saved_path == str(json_path)


def test_reaper_forgets_long_idle_ended_jobs(make_registry, dataset):
    registry = make_registry(max_running=1, idle_forget=0.3, reap_interval=0.1)
    job = registry.create(run_config(), dataset=dataset)
    keep = registry.create(run_config(), dataset=dataset)  # keeps the reaper busy
    job.stop(wait=True, timeout=TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while registry.get(job.id) is not None:
        assert time.monotonic() < deadline
        keep.snapshot()
        time.sleep(0.02)


# -- the referee ---------------------------------------------------------------------------------

def test_the_referee_is_published_on_a_schedule_with_its_curve(make_job):
    options = dataclasses.replace(OPTIONS, referee_interval=0.05, referee_smoothing=3)
    job = make_job(options=options)
    snap = job.wait_for(lambda s: s.view.referee_curve is not None and len(s.view.referee_curve) >= 4, TIMEOUT)
    view = snap.view
    assert 0.0 <= view.referee <= 1.0 and view.latest["referee"] == view.referee
    assert view.referee_smooth == pytest.approx(float(np.mean(view.referee_curve[-3:, 1])), abs=1e-6)
    assert snap.referee == view.referee and snap.referee_smooth == view.referee_smooth
    assert np.all(np.diff(view.referee_curve[:, 0]) >= 0) and not view.referee_curve.flags.writeable
    assert np.isfinite(view.latest["prior_fit"])               # the sliced-Wasserstein ratio stays beside it
    assert "referee" in snap.history


def test_the_referee_waits_for_its_interval(make_job):
    """Cheap numbers every publish, the k-NN referee only on its schedule (here: once a minute)."""
    job = make_job(options=dataclasses.replace(OPTIONS, referee_interval=60.0))
    first = job.wait_for(lambda s: s.view.referee is not None, TIMEOUT)
    later = job.wait_for(lambda s: s.version >= first.version + 5, TIMEOUT)
    assert len(later.view.referee_curve) == 1 and later.view.referee == first.view.referee


# -- cheap when idle, memory given back -------------------------------------------------------------

def test_the_first_snapshot_brings_codes_before_the_details(make_job, monkeypatch):
    release = threading.Event()
    real = job_module.fit_evaluation

    def slow_referee(*args, referee=True, **kwargs):
        if referee:
            release.wait(TIMEOUT)
        return real(*args, referee=referee, **kwargs)

    monkeypatch.setattr(job_module, "fit_evaluation", slow_referee)
    job = make_job(options=PAUSED_OPTIONS)
    first = job.wait_for(lambda s: s.codes is not None, TIMEOUT)
    assert first.details_pending and first.d_grid is None and first.decoder_weights is None
    assert first.codes.shape == (N_EVAL, 2) and first.samples is not None
    release.set()
    full = job.wait_for(lambda s: not s.details_pending, TIMEOUT)
    assert full.d_grid is not None and full.decoder_weights is not None and full.view.referee is not None


def test_a_paused_job_publishes_nothing_until_something_changes(make_job):
    job = make_job(options=PAUSED_OPTIONS)
    snap = job.wait_for(lambda s: s.status == "paused" and not s.details_pending, TIMEOUT)
    # A paused job used to republish every snapshot_interval (0.05 s here): twenty times in a second.
    with pytest.raises(TimeoutError):
        job.wait_for(lambda s: s.version > snap.version, timeout=1.0)
    job.step_batch().result(TIMEOUT)
    assert job.peek().version > snap.version and job.peek().step == 1


def test_an_ended_job_frees_its_model_and_keeps_its_snapshot(make_job):
    job = make_job()
    job.wait_for(lambda s: s.step >= 2 and s.decoder_weights is not None, TIMEOUT)
    model = weakref.ref(job.trainer.model)
    job.stop(wait=True, timeout=TIMEOUT)
    gc.collect()
    assert job.trainer is None and model() is None
    snap = job.snapshot()
    assert snap.status == "stopped" and snap.decoder_weights is not None and snap.codes is not None


def test_a_job_stopped_before_it_started_builds_nothing(dataset, monkeypatch):
    built = []
    monkeypatch.setattr(job_module, "seeded_model", lambda *a, **k: built.append(a))
    monkeypatch.setattr(job_module, "load_dataset", lambda *a, **k: built.append(a))
    job = TrainingJob(run_config(), options=OPTIONS)
    job.stop()
    job.start()
    assert job.join(TIMEOUT)
    assert built == [] and job.snapshot().status == "stopped"


def test_create_and_stop_cycles_leave_no_threads_and_no_jobs(make_registry, dataset):
    config = run_config(kind="ae")
    model = seeded_model(config.model, 0)  # shared: the cycles are about threads and memory, not training
    options = dataclasses.replace(OPTIONS, n_eval=10, knn_train_codes=10, n_grid=1)
    baseline = len(threading.enumerate())
    registry = make_registry(max_running=1, options=options, idle_forget=0, reap_interval=0.05)
    for i in range(200):
        job = registry.create(config, dataset=dataset, model=model)
        if i % 50 == 0:
            job.wait_for(lambda s: s.step >= 1, TIMEOUT)  # some train before they stop
        job.stop(wait=True, timeout=TIMEOUT)
        assert not job.thread.is_alive()
    assert registry.jobs() == [] and registry.running_count == 0
    wait_until(lambda: len(threading.enumerate()) <= baseline)


def test_the_registry_keeps_only_the_newest_ended_jobs(make_registry, dataset):
    registry = make_registry(max_running=1, max_ended=3)
    model = seeded_model(run_config(kind="ae").model, 0)
    made = [registry.create(run_config(kind="ae"), dataset=dataset, model=model) for _ in range(6)]
    for job in made:
        job.stop(wait=True, timeout=TIMEOUT)
    assert [j.id for j in registry.jobs()] == [j.id for j in made[-3:]]


def test_an_idle_paused_job_is_autosaved_and_unloaded(make_registry, dataset, tmp_path):
    registry = make_registry(max_running=1, idle_unload=0.3, reap_interval=0.05, autosave_dir=tmp_path,
                             options=PAUSED_OPTIONS)
    job = registry.create(run_config(), dataset=dataset)
    job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    job.step_batch(2).result(TIMEOUT)
    assert job.join(TIMEOUT)  # nobody watches it: the reaper unloads it
    snap = job.peek()
    assert snap.status == "stopped" and "unloaded" in snap.notice and job.trainer is None
    assert load_checkpoint(tmp_path / f"run-{job.id}.json").step == 2 == snap.step


def test_a_new_run_unloads_the_least_recently_watched_paused_one_when_the_server_is_full(
        make_registry, dataset, tmp_path):
    registry = make_registry(max_running=1, max_loaded=2, autosave_dir=tmp_path, options=PAUSED_OPTIONS)
    first = registry.create(run_config(), dataset=dataset)
    second = registry.create(run_config(), dataset=dataset)
    for job in (first, second):
        job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    for job in (second, first):
        job.step_batch(1).result(TIMEOUT)
    first.snapshot()                                    # someone looks at the first, not the second
    third = registry.create(run_config(), dataset=dataset)
    assert second.join(TIMEOUT), "the paused run nobody looked at makes room"
    snap = second.peek()
    assert snap.status == "stopped" and snap.notice.code == "job.unloaded_for_room_saved"
    assert load_checkpoint(tmp_path / f"run-{second.id}.json").step == snap.step  # nothing is lost
    third.wait_for(lambda s: s.status == "paused", TIMEOUT)
    assert first.peek().status == "paused" and first.trainer is not None
    assert [j.id for j in registry.loaded()] == [first.id, third.id]


def test_a_full_server_of_training_runs_refuses_a_new_one_and_says_why(make_registry, dataset):
    from aae.jobs import RegistryFull
    registry = make_registry(max_running=2, max_loaded=2)
    running = [registry.create(run_config(), dataset=dataset) for _ in range(2)]
    for job in running:
        job.wait_for(lambda s: s.status == "running" and s.step > 0, TIMEOUT)
    with pytest.raises(RegistryFull) as refused:
        registry.create(run_config(), dataset=dataset)
    assert refused.value.args[0].code == "registry.full" and "2 runs" in str(refused.value)
    assert len(registry.jobs()) == 2 and all(j.peek().status == "running" for j in running)
    running[0].pause()
    running[0].wait_for(lambda s: s.status == "paused", TIMEOUT)
    registry.create(run_config(), dataset=dataset)      # a paused run makes room
    assert running[0].join(TIMEOUT) and running[1].peek().status == "running"


def test_a_run_that_was_told_to_train_is_never_unloaded_for_room(make_registry, dataset, monkeypatch):
    """A run publishes "paused" once it is built and only then starts: its owner pressed Start."""
    from aae.jobs import RegistryFull
    registry = make_registry(max_running=1, max_loaded=1, options=PAUSED_OPTIONS)
    job = registry.create(run_config(), dataset=dataset)
    built = job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    monkeypatch.setattr(job, "peek", lambda: built)   # its page still shows the "paused" of the build
    job.play()
    with pytest.raises(RegistryFull):
        registry.create(run_config(), dataset=dataset)
    assert job.wants_to_run and not job.join(0.2)
    job.pause()


def test_a_cap_of_loaded_runs_below_one_is_refused_with_its_name():
    with pytest.raises(ValueError, match="max_loaded must be at least 1"):
        JobRegistry(max_loaded=-1)


@pytest.mark.parametrize("workers, max_running, memory, expected", [
    ("process", 1, 16 * 2**30, 13),      # a 16 GB laptop: 8 GB over 0.6 GB a worker process
    ("process", 1, 2**30, 2),            # a small machine still keeps a paused run beside a training one
    ("process", 8, 4 * 2**30, 16),       # two per training slot at least
    ("thread", 1, 64 * 2**30, 64),       # at most MAX_LOADED_DEFAULT_CAP
])
def test_the_default_number_of_loaded_runs_follows_the_machines_memory(workers, max_running, memory, expected):
    from aae.jobs import default_max_loaded
    assert default_max_loaded(workers, max_running, memory) == expected


def test_a_running_job_autosaves_on_its_schedule(make_job, tmp_path):
    job = make_job(options=dataclasses.replace(OPTIONS, autosave_every=0.2), autosave_dir=tmp_path)
    wait_until(lambda: (tmp_path / f"run-{job.id}.json").is_file())
    assert job.peek().status == "running"
    assert load_checkpoint(tmp_path / f"run-{job.id}.json").step >= 1


def test_a_diverged_run_autosaves_its_restored_weights(make_job, tmp_path):
    holder: dict = {}
    job = make_job(fault=poison_at(5, holder), start=False, autosave_dir=tmp_path)
    holder["job"] = job
    job.start()
    snap = job.wait_for(lambda s: s.status == "failed", TIMEOUT)
    assert snap.saved_path == str(tmp_path / f"run-{job.id}.json") and snap.saved_path in snap.error
    saved = load_checkpoint(snap.saved_path)
    assert all(torch.isfinite(p).all() for p in saved.model.parameters())


# -- divergence and collapse ------------------------------------------------------------------------

def blow_up_at(step: int, holder: dict, factor: float = 1e9):
    """Scale the decoder's last layer: the reconstruction loss becomes huge but stays finite."""
    def fault(current: int) -> None:
        if current == step:
            with torch.no_grad():
                holder["job"].trainer.model.decoder.linear_layers()[-1].weight.mul_(factor)
    return fault


def test_a_finite_blow_up_pauses_the_job_and_the_good_weights_come_back(make_job):
    holder: dict = {}
    job = make_job(fault=blow_up_at(8, holder), start=False)
    holder["job"] = job
    job.start()
    snap = job.wait_for(lambda s: s.alarm is not None, TIMEOUT)
    assert snap.status == "paused" and snap.error is None and job.thread.is_alive()
    assert "reconstruction loss" in snap.alarm and "restore" in snap.alarm
    assert snap.good_step is not None and snap.good_step <= 8
    assert job.restore_good_weights().result(TIMEOUT) == snap.good_step
    restored = job.wait_for(lambda s: s.alarm is None, TIMEOUT)
    assert restored.status == "paused"
    job.step_batch(3).result(TIMEOUT)
    after = job.peek()
    assert after.alarm is None and after.latest["recon"] < 1e4


def test_restore_brings_back_the_initial_weights_before_any_good_ones(make_job):
    job = make_job(options=PAUSED_OPTIONS)
    job.wait_for(lambda s: s.status == "paused", TIMEOUT)
    assert job.restore_good_weights().result(TIMEOUT) == 0  # the initial weights are kept at setup


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist-5k")


def test_a_live_prior_switch_keeps_the_game_alive(mnist):
    """Gaussian -> mixture of 10 Gaussians, counted in steps: N steps after the switch the referee
    tells codes from p(z) no better than it does for a fresh run after N steps (issue 9: a switch
    used to collapse the game, the fit getting worse for good)."""
    m = n = 200
    options = JobOptions(start_paused=True, referee_interval=0.0, n_eval=500, knn_train_codes=50, n_grid=4,
                         d_grid_resolution=8, n_arrows=4, autosave_every=0)

    def config(prior: str) -> RunConfig:
        return RunConfig(data=DataConfig(name="mnist-5k"), prior=PriorConfig(name=prior), model=ModelConfig(kind="aae"),
                         train=TrainConfig(batch_size=32, seed=0, device="cpu"))

    switched = TrainingJob(config("gaussian"), options=options, dataset=mnist).start()
    fresh = TrainingJob(config("mog10"), options=options, dataset=mnist).start()
    try:
        assert switched.step_batch(m).result(TIMEOUT) == m
        switched.set_prior(PriorConfig(name="mog10")).result(TIMEOUT)
        assert switched.step_batch(n).result(TIMEOUT) == m + n
        assert fresh.step_batch(n).result(TIMEOUT) == n
        after_switch, after_fresh = switched.peek(), fresh.peek()
    finally:
        switched.stop()
        fresh.stop()
    assert after_switch.config.prior.name == "mog10" and after_switch.alarm is None
    assert after_switch.referee <= after_fresh.referee, (after_switch.referee, after_fresh.referee)
    assert switched.join(TIMEOUT) and fresh.join(TIMEOUT)
