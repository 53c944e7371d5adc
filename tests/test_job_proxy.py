"""aae.jobs.proxy: a run in a worker process behind a TrainingJob's interface (issue 10 §8).

Each child costs an interpreter and the torch import (seconds on this machine), so the tests share
children where they can: one paused run answers the command, snapshot and hostile-message tests;
the registry test runs two; the crash test one. Waits are on conditions with generous timeouts.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from aae.checkpoints import load_checkpoint
from aae.config import ConfigError, DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.jobs import JobOptions, JobRegistry
from aae.jobs.proxy import JobProxy

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180.0  # a child's start (interpreter + torch) on two cores shared with other work
OPTIONS = JobOptions(snapshot_interval=0.05, n_eval=50, knn_train_codes=50, n_grid=4, d_grid_resolution=8,
                     n_arrows=4, autosave_every=0)
PAUSED = dataclasses.replace(OPTIONS, start_paused=True)


def run_config() -> RunConfig:
    return RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name="gaussian"),
                     model=ModelConfig(kind="aae", latent_dim=2),
                     train=TrainConfig(batch_size=16, seed=0, device="cpu"))


def die_at_step_3(step: int) -> None:
    """The child's fault hook (runs in the child before each batch): the process dies as if killed."""
    if step >= 3:
        os.kill(os.getpid(), signal.SIGKILL)


def child_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="module")
def paused_run():
    """One paused run in its own process, shared by the tests that only command and read it."""
    job = JobProxy(run_config(), options=PAUSED).start()
    job.wait_for(lambda s: s.status == "paused" and not s.details_pending, TIMEOUT)
    yield job
    job.stop(wait=True, timeout=TIMEOUT)


def test_commands_reach_the_child_and_snapshots_come_back(paused_run, tmp_path):
    job = paused_run
    assert job.pid not in (None, os.getpid()) and job.trainer is None
    start = job.peek().step
    assert job.step_batch(3).result(TIMEOUT) == start + 3
    snap = job.wait_for(lambda s: s.step == start + 3, TIMEOUT)
    assert snap.status == "paused" and snap.codes.shape == (50, 2) and np.isfinite(snap.codes).all()
    assert snap.device.startswith("CPU (1 thread")   # the child's own device and torch threads

    assert job.step_phase().result(TIMEOUT) == start + 3
    assert job.wait_for(lambda s: s.phase_index == 1, TIMEOUT).last_phase == snap.phases[0]
    job.step_batch(1).result(TIMEOUT)   # finishes the half-stepped batch

    job.set_speed(7.0).result(TIMEOUT)
    assert job.wait_for(lambda s: s.speed == 7.0, TIMEOUT).speed == 7.0
    with pytest.raises(ConfigError, match="unknown prior"):
        job.set_prior(PriorConfig(name="no-such-prior")).result(TIMEOUT)
    job.set_prior(PriorConfig(name="mog10")).result(TIMEOUT)
    assert job.wait_for(lambda s: s.config.prior.name == "mog10", TIMEOUT).config.prior.name == "mog10"

    out = job.save(tmp_path / "from-child").result(TIMEOUT)
    assert load_checkpoint(out).step == start + 4
    assert job.restore_good_weights().result(TIMEOUT) is not None


def test_received_snapshots_are_read_only_and_versions_only_grow(paused_run):
    job = paused_run
    before = job.peek()
    job.step_batch(1).result(TIMEOUT)
    after = job.wait_for(lambda s: s.step == before.step + 1 and not s.details_pending, TIMEOUT)
    assert after.version > before.version
    arrays = [after.codes, after.samples, after.code_labels, after.prior_sample, after.recon_inputs,
              *after.history.values(), *(w for pair in after.decoder_weights for w in pair)]
    assert arrays and all(isinstance(a, np.ndarray) and not a.flags.writeable for a in arrays)
    with pytest.raises(ValueError):
        after.codes[0, 0] = 1.0


def test_garbage_from_the_child_is_counted_and_dropped(paused_run):
    job = paused_run
    snap = job.peek()

    class Exploding:
        def __reduce__(self):
            return (int, ("not a number",))   # fails while the parent unpickles it

    other = dataclasses.replace(snap, job_id="someone-else", version=snap.version + 100)
    hostile = [b"", b"\x80\x05garbage", pickle.dumps(42), pickle.dumps(("snap",)), pickle.dumps(("snap", "text")),
               pickle.dumps(("snap", other)), pickle.dumps(("result", 10**9, True, 1)),
               pickle.dumps(("result", "x", "y", "z")), pickle.dumps(("launch-missiles",)),
               pickle.dumps(("snap", Exploding())), pickle.dumps([("snap", snap)])]
    bad = job.bad_messages
    for raw in hostile:
        assert job.handle_message(raw) is False
    assert job.bad_messages == bad + len(hostile)
    assert job.peek().job_id == job.id and job.peek().version >= snap.version   # the impostor was not taken
    assert job.step_batch(1).result(TIMEOUT) == snap.step + 1                  # and the run still answers


def test_stop_ends_the_child_and_frees_it():
    job = JobProxy(run_config(), options=OPTIONS).start()
    job.wait_for(lambda s: s.status == "running" and s.step >= 2, TIMEOUT)
    pid = job.pid
    pending = job.step_batch(1)   # pauses after one batch: the job is alive to answer it
    pending.result(TIMEOUT)
    job.stop(wait=True, timeout=TIMEOUT)
    assert job.join(0) and job._process.exitcode == 0 and child_gone(pid)
    snap = job.peek()
    assert snap.status == "stopped" and snap.codes is not None   # the last snapshot stays
    with pytest.raises(RuntimeError, match="has ended"):
        job.step_batch(1).result(TIMEOUT)


def test_a_child_that_dies_fails_the_run_with_a_message_and_frees_its_slot(tmp_path):
    registry = JobRegistry(workers="process", max_running=1, idle_forget=60, options=OPTIONS,
                           autosave_dir=tmp_path / "runs")
    try:
        job = registry.create(run_config(), fault=die_at_step_3)
        snap = job.wait_for(lambda s: s.status == "failed", TIMEOUT)
        assert "killed by signal 9" in snap.error
        assert job.join(TIMEOUT) and registry.running_count == 0
        with pytest.raises(RuntimeError, match="has ended"):
            job.step_batch(1).result(TIMEOUT)
    finally:
        registry.shutdown(timeout=TIMEOUT)


def test_the_registry_queues_process_jobs_and_unloads_them(tmp_path):
    registry = JobRegistry(workers="process", max_running=1, idle_forget=0, options=OPTIONS,
                           autosave_dir=tmp_path / "runs")
    try:
        first = registry.create(run_config())
        first.wait_for(lambda s: s.status == "running" and s.step >= 1, TIMEOUT)
        second = registry.create(run_config())
        assert second.wait_for(lambda s: s.status == "queued" and s.queue_position == 1, TIMEOUT)
        first.pause()
        second.wait_for(lambda s: s.status == "running" and s.step >= 1, TIMEOUT)
        assert first.wait_for(lambda s: s.status == "paused", TIMEOUT)
        first.stop(wait=True, timeout=TIMEOUT)
        second.unload(for_room=True).result(TIMEOUT)   # what a full registry does: autosave and end
        assert second.join(TIMEOUT)
        assert second.peek().notice.code == "job.unloaded_for_room_saved"
        assert load_checkpoint(second.peek().saved_path).step >= 1
        deadline = time.monotonic() + TIMEOUT
        while registry.jobs() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert registry.jobs() == [] and registry.running_count == 0
        assert child_gone(first.pid) and child_gone(second.pid)
    finally:
        registry.shutdown(timeout=TIMEOUT)


def test_a_run_starts_from_a_main_script_without_a_main_guard(tmp_path):
    """Streamlit runs the page script as ``__main__``: the child must not run it again (multiprocessing's
    "spawn" would, and there the script starts a second run, and so on)."""
    script = tmp_path / "page.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from aae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
        from aae.jobs import JobOptions
        from aae.jobs.proxy import JobProxy

        config = RunConfig(data=DataConfig(name="synthetic"), model=ModelConfig(kind="aae", latent_dim=2),
                           train=TrainConfig(batch_size=16, device="cpu"))
        job = JobProxy(config, options=JobOptions(start_paused=True, autosave_every=0, n_eval=50,
                                                  knn_train_codes=50, n_grid=4, d_grid_resolution=8)).start()
        print("status", job.wait_for(lambda s: s.status in ("paused", "failed"), {TIMEOUT}).status, flush=True)
        job.stop(wait=True, timeout={TIMEOUT})
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=2 * TIMEOUT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["status paused"]


def test_a_spare_worker_is_taken_by_start_and_the_next_one_waits_for_the_first_codes(monkeypatch):
    """``prestart`` keeps one worker started ahead; ``start`` takes it, and the next spare is only
    started once the run's first codes have arrived, so that on two cores it never takes CPU from
    the run whose first scatter everybody waits for."""
    from aae.jobs import proxy

    spares = proxy._Spares()
    monkeypatch.setattr(proxy, "_SPARES", spares)
    refills: list[bool] = []
    real_refill = spares.refill
    job = None

    def recording_refill() -> None:
        refills.append(job is not None and job.peek().codes is not None)
        real_refill()

    monkeypatch.setattr(spares, "refill", recording_refill)
    spares.wanted = 1
    spares.fill()                                 # what prestart(1) does in the background
    assert len(spares._ready) == 1
    spare_pid = spares._ready[0][0].pid
    try:
        job = JobProxy(run_config(), options=PAUSED).start()
        assert job.pid == spare_pid and not spares._ready and not refills
        job.wait_for(lambda s: s.codes is not None, TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while len(spares._ready) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert refills == [True] and len(spares._ready) == 1 and spares._ready[0][0].pid != spare_pid
    finally:
        if job is not None:
            job.stop(wait=True, timeout=TIMEOUT)
        spares.close()
    assert refills == [True]   # an ended run that already refilled does not start another spare
