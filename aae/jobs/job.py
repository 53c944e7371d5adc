"""One training run in its own daemon thread: ``TrainingJob``.

The UI never touches a live model. The job thread publishes an immutable ``Snapshot`` when
something changed (a few times a second while training, adaptive so that publishing never costs
more than a few percent of training time; nothing while paused) and the UI polls ``job.snapshot()``.

Controls are methods. ``play`` / ``pause`` / ``stop`` set flags the job thread reads between
batches; the others (step a batch or a phase, speed, prior swap, save, restore) enqueue a callable
that the job thread runs between batches, and return a ``Future`` of its result.

Failures: an exception or a non-finite loss ends the job as "failed" with a readable error, the
last good weights restored and autosaved. A divergence or collapse that stays finite (``guard``)
pauses the job with a message; ``restore_good_weights()`` brings back the last good weights. An
ended job frees its model, optimisers and data at once and keeps only its last snapshot.

Threads: fields written by one thread and read by another say so where ``__init__`` creates them.
Everything else is created in ``__init__`` and then touched by the job thread only.
"""

from __future__ import annotations

import math
import os
import queue
import secrets
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch

from .. import metrics as M
from ..checkpoints import save_checkpoint
from ..config import ConfigError, PriorConfig, RunConfig
from ..data import Dataset, load_dataset, to_float
from ..kinds import get_kind
from ..models import Autoencoder
from ..priors import GaussianPrior, Prior, prior_from_config
from ..probes import ProbeSettings, fit_evaluation
from ..train import Trainer, check_prior_compatible, device_description, resolve_device, seeded_model
from ..messages import Message, loss_name
from .guard import Guard
from .snapshot import (ACTIVE_STATES, DONE, FAILED, LOADING, PAUSED, QUEUED, RUNNING, STOPPED, History,
                       JobOptions, ModelView, Snapshot, freeze)

MAX_SNAPSHOT_GAP = 1.0     # seconds: the live view must keep moving even for the paper preset on a CPU
MAX_DETAIL_GAP = 10.0      # seconds: the slowest the heavy extras may get when they are costly
REFEREE_CURVE_LEN = 500    # referee evaluations kept for the curve (older ones are thinned 2:1)
IDLE_WAIT = 0.1            # seconds a paused job sleeps between looks at its command queue


class Slots(Protocol):
    """What a job needs from whoever caps concurrent training (``JobRegistry``)."""

    def acquire(self, job_id: str, *, keep_waiting: Callable[[], bool], on_wait: Callable[[], None]) -> bool:
        """Block until a training slot is free (True), or until ``keep_waiting()`` is False (False)."""

    def release(self, job_id: str) -> None: ...

    def position(self, job_id: str) -> int:
        """1-based place in the queue, 0 when not waiting."""

    def ended(self, job_id: str) -> None:
        """The job's thread is about to end (its model is freed; its last snapshot stays)."""


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).numpy().copy()


def _linear_weights(layers) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    return tuple((freeze(_np(l.weight)), freeze(_np(l.bias))) for l in layers)


class JobStopped(Exception):
    pass


def _said(exc: BaseException) -> str:
    """A failure as the UI shows it: a Message speaks for itself (and can be translated); anything
    else is named by its type, since its text alone may not say what went wrong."""
    if exc.args and isinstance(exc.args[0], Message):
        return exc.args[0]
    return f"{type(exc).__name__}: {exc}"


class _Diverged(Exception):
    pass


class _Fatal(Exception):
    """An exception raised while training inside a command: ends the job as failed."""


class _ModelState:
    """The job thread's bookkeeping for one model."""

    def __init__(self, kind: str, trainer: Trainer, options: JobOptions, guard: Guard) -> None:
        self.kind = kind
        self.trainer = trainer
        self.guard = guard
        self.history = History(options.history_len)
        self.latest: dict[str, float] = {}
        self.unavailable: str | None = None
        self.knn: float | None = None
        self.extras: dict[str, np.ndarray] = {}      # the kind's probe: arrays (D(z) grid, arrows, ...)
        self.probe_metrics: dict[str, float] = {}    # the kind's probe: numbers (e.g. d_acc_eval)
        self.referees: deque[float] = deque(maxlen=max(1, options.referee_smoothing))
        self.referee_curve = History(REFEREE_CURVE_LEN)
        self.weights: tuple | None = None
        self.encoder_weights: tuple | None = None
        self.weights_step = -1
        self.last_good: dict[str, torch.Tensor] | None = None
        self.view: ModelView | None = None


class _Run:
    """What a started job holds: data on the device, models and trainers, the fixed evaluation
    batch and prior samples. Built by the job thread; dropped when the job ends (frees memory)."""

    def __init__(self, data: Dataset, device: torch.device, states: dict[str, _ModelState], primary: str,
                 options: JobOptions, seed: int) -> None:
        self.data = data
        self.device = device
        self.states = states
        self.trainer = states[primary].trainer
        n_eval = min(options.n_eval, data.test_images.shape[0])
        # Fixed evaluation data: plotted points keep their identity between refreshes.
        self.eval_x = to_float(data.test_images[:n_eval]).to(device)                            # (n, 784)
        self.eval_labels = freeze(data.test_labels[:n_eval].numpy().copy())
        first_of_class = [int((data.test_labels == c).nonzero()[0]) for c in range(10)
                          if (data.test_labels == c).any()]
        self.recon_x = to_float(data.test_images[first_of_class]).to(device)
        self.recon_labels = data.test_labels[first_of_class].to(device)
        self.recon_inputs = freeze(self.recon_x.reshape(-1, 28, 28).cpu().numpy().copy())
        g = torch.Generator().manual_seed(seed + 1)
        idx = torch.randperm(data.train_images.shape[0], generator=g)[: options.knn_train_codes]
        self.knn_x = to_float(data.train_images[idx]).to(device)
        self.knn_labels = data.train_labels[idx].numpy()
        self.prior: Prior | None = None
        self.prior_sample = self.prior_fresh = self.grid_z = None
        self.prior_np: np.ndarray | None = None

    def set_prior(self, prior: Prior, n_grid: int, seed: int) -> None:
        """The fixed samples of p(z): one to plot and score against, a fresh one for the SW baseline,
        and the noise decoded into the sample grid."""
        n = self.eval_x.shape[0]
        g = torch.Generator().manual_seed(seed + 2)
        self.prior = prior
        self.prior_sample = prior.sample(n, generator=g)                 # (n, Z)
        self.prior_fresh = prior.sample(n, generator=g)                  # (n, Z)
        self.grid_z = prior.sample(n_grid, generator=g).to(self.device)  # (n_grid, Z)
        # the digit of each grid cell for a decoder that is told it: 0-9 along each row of ten
        self.grid_labels = torch.arange(n_grid, device=self.device) % 10
        self.prior_np = freeze(self.prior_sample.numpy().copy())


class TrainingJob:
    """A training run in a daemon thread. Create through ``JobRegistry.create`` (or directly in tests).

    ``kinds`` trains several models in lockstep on identical batches (same data order, same seed,
    same backbone): ``kinds=("ae", "vae", "aae")`` is the Compare page. A model that cannot use the
    prior (a VAE with the swiss roll) sits out with a reason in its ``ModelView.unavailable``.
    """

    def __init__(self, config: RunConfig, *, options: JobOptions = JobOptions(), job_id: str | None = None,
                 kinds: tuple[str, ...] | None = None, model: Autoencoder | None = None,
                 models: dict[str, Autoencoder] | None = None, start_step: int = 0,
                 dataset: Dataset | None = None, autosave_dir: str | os.PathLike | None = None,
                 slots: Slots | None = None, fault: Callable[[int], None] | None = None) -> None:
        # -- set here, read-only afterwards (any thread)
        self.id = job_id or secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
        self.kinds = tuple(kinds or (config.model.kind,))
        if config.model.kind not in self.kinds:
            raise ConfigError(f"the primary model kind {config.model.kind!r} must be one of kinds {self.kinds}")
        self.options = options
        self.autosave_dir = Path(autosave_dir) if autosave_dir else None
        self.created = time.time()
        self._slots = slots
        self._fault = fault  # test hook: called with the step number before each batch
        self.thread = threading.Thread(target=self._thread_main, name=f"aae-job-{self.id}", daemon=True)

        # -- shared between threads
        self._lock = threading.Lock()           # guards _snapshot and _ended
        self._snapshot: Snapshot | None = None  # written by the job thread (and here), read by any thread
        self._ended = False                     # written by the job thread at its end, read by command callers
        self._commands: "queue.Queue[tuple[Callable[[], Any], Future]]" = queue.Queue()  # any thread -> job thread
        self._wake = threading.Event()          # set by any thread to cut the job thread's waits short
        self._run_wanted = threading.Event()    # set by play(), cleared by pause() / step commands; read by the job thread and the slots
        self._stop_requested = threading.Event()  # set by stop() (any thread); read by the job thread and the slots
        self.last_polled = time.monotonic()     # written by snapshot() callers, read by the registry's reaper (a float: atomic)
        if not options.start_paused:
            self._run_wanted.set()

        # -- what the run starts from: handed to the job thread, dropped once the run is built
        self._initial_models = dict(models or {})
        if model is not None:
            self._initial_models[config.model.kind] = model
        self._dataset = dataset

        # -- the job thread's own state
        self._config = config                    # changes on a live prior switch
        self._start_step = start_step
        self._run: _Run | None = None
        self._status = QUEUED if slots else LOADING
        self._has_slot = False
        self._version = 0
        self._speed: float | None = None
        self._t_run = 0.0                        # seconds spent training
        self._rate_window: list[tuple[float, int]] = []
        self._t_last_step: float | None = None
        self._last_phase: str | None = None
        self._batch_metrics: dict[str, float] = {}
        self._notice: str | None = None
        self._error: str | None = None
        self._alarm: str | None = None
        self._saved_path: str | None = None
        self._good_step: int | None = None
        self._restored = False                   # the live weights are the kept ones (until the next batch)
        self.device_name = ""
        self._t_publish = self._t_detail = self._t_weights = self._t_referee = -1e9
        self._t_autosave: float | None = None
        self._publish_cost = self._detail_cost = self._referee_cost = 0.0
        self._changed = False                    # trained since the last publish
        self._details_pending = False            # the first snapshot showed codes only
        # The latest Step / Next phase: (the trainer's (step, phase index) after it, the primary's
        # codes before it); published as Snapshot.moved_from while the trainer is still there.
        self._moved: tuple[tuple[int, int], np.ndarray] | None = None
        self._publish_bare(self._status)

    # ------------------------------------------------------------------ reading (any thread)
    def start(self) -> "TrainingJob":
        self.thread.start()
        return self

    def snapshot(self) -> Snapshot:
        """The latest published snapshot (marks the job as watched)."""
        self.last_polled = time.monotonic()
        return self.peek()

    def peek(self) -> Snapshot:
        """The latest snapshot without counting as a viewer (for the reaper and the registry)."""
        with self._lock:
            assert self._snapshot is not None
            return self._snapshot

    @property
    def status(self) -> str:
        return self.peek().status

    @property
    def config(self) -> RunConfig:
        """The run's configuration as last published (the prior changes on a live switch)."""
        return self.peek().config

    @property
    def trainer(self) -> Trainer | None:
        """The primary model's trainer while the run is built; None before and after (job thread's
        object: read it from other threads only in tests and scripts, while the job is paused)."""
        run = self._run
        return run.trainer if run is not None else None

    @property
    def wants_to_run(self) -> bool:
        """Whether the job should be training: played and not stopped (read by the slot queue)."""
        return self._run_wanted.is_set() and not self._stop_requested.is_set()

    def wait_for(self, predicate: Callable[[Snapshot], bool], timeout: float = 30.0) -> Snapshot:
        """Block until a published snapshot satisfies ``predicate`` (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while True:
            snap = self.peek()
            if predicate(snap):
                return snap
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id}: condition not met within {timeout}s (status {snap.status}, "
                                   f"step {snap.step}, error {snap.error})")
            time.sleep(0.01)

    # ------------------------------------------------------------------ controls (any thread)
    def play(self) -> None:
        self._run_wanted.set()
        self._submit(self._clear_notice)

    def pause(self) -> None:
        self._run_wanted.clear()  # seen at once, also by a job waiting in the registry's queue
        self._wake.set()

    def stop(self, *, wait: bool = False, timeout: float = 10.0) -> None:
        self._stop_requested.set()
        self._wake.set()
        if wait:
            self.join(timeout)

    def step_batch(self, n: int = 1) -> Future:
        """Train exactly ``n`` batches (finishing a half-stepped batch first), then stay paused;
        the future gives the step count."""
        return self._submit(lambda: self._do_step(int(n)))

    def step_phase(self) -> Future:
        """Run only the next phase of the primary model (single-model jobs), then stay paused."""
        return self._submit(self._do_phase)

    def set_speed(self, steps_per_sec: float | None) -> Future:
        """Limit training to ``steps_per_sec`` batches per second (None or ≤0: as fast as possible)."""
        if steps_per_sec is not None and (not math.isfinite(steps_per_sec) or steps_per_sec <= 0):
            steps_per_sec = None
        return self._submit(lambda: self._do_speed(steps_per_sec))

    def set_prior(self, prior: PriorConfig) -> Future:
        """Swap p(z) while training; the future raises ``ConfigError`` if the primary model can't use it."""
        return self._submit(lambda: self._do_prior(prior))

    def save(self, path: str | os.PathLike, *, half: bool = False, kind: str | None = None,
             overwrite: bool = False) -> Future:
        """Save a checkpoint of one model (the primary by default) from the job thread; the
        future gives the JSON path, or raises ``CheckpointError`` (an existing checkpoint is only
        replaced with ``overwrite=True``; ``aae.checkpoints.resolve_save_path`` checks a typed folder)."""
        return self._submit(lambda: self._do_save(Path(path), half, kind, overwrite))

    def restore_good_weights(self) -> Future:
        """Bring back the last good weights (kept while training looked healthy) and fresh optimiser
        state, and clear the alarm; the job stays paused. The future gives their step."""
        return self._submit(self._do_restore)

    def unload(self, *, for_room: bool = False) -> Future:
        """Autosave and end the run, freeing its memory. The registry does this to idle jobs, and to
        the least recently watched paused ones when a new run needs their place (``for_room``: the
        run's notice then says so)."""
        return self._submit(lambda: self._do_unload(for_room))

    def join(self, timeout: float | None = None) -> bool:
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)
        return not self.thread.is_alive()

    def _submit(self, fn: Callable[[], Any]) -> Future:
        fut: Future = Future()
        with self._lock:
            ended = self._ended
            if not ended:
                self._commands.put((fn, fut))
        if ended:
            fut.set_exception(RuntimeError(f"run {self.id} has ended ({self.peek().status})"))
        self._wake.set()
        return fut

    # ------------------------------------------------------------------ the job thread
    def _thread_main(self) -> None:
        torch.set_flush_denormal(True)
        try:
            self._setup()
            self._loop()
        except JobStopped:
            self._status = STOPPED
        except _Diverged as e:
            self._fail(e.args[0], restore=True)
        except _Fatal as e:
            self._fail(_said(e.__cause__ or e))
        except Exception as e:  # noqa: BLE001 — any failure must reach the UI as text
            self._fail(_said(e))
        finally:
            self._end()

    def _check_stop(self) -> None:
        if self._stop_requested.is_set():
            raise JobStopped()

    def _setup(self) -> None:
        self._check_stop()  # a job stopped before it started builds nothing
        cfg = self._config
        self._status = LOADING
        self._publish_bare(LOADING)
        data = self._dataset or load_dataset(cfg.data.name, root=cfg.data.root, seed=cfg.data.seed)
        self._check_stop()
        device = resolve_device(cfg.train.device)
        self.device_name = device_description(device)
        prior = prior_from_config(cfg.prior, cfg.model.latent_dim)
        check_prior_compatible(cfg.model.kind, prior)  # the primary model must be able to train
        states: dict[str, _ModelState] = {}
        for kind in self.kinds:
            model = self._initial_models.get(kind) or seeded_model(replace(cfg.model, kind=kind), cfg.train.seed)
            reason = get_kind(kind).prior_incompatibility(prior)
            # A model that can't use this prior is built against the Gaussian and sits out.
            tr_prior = prior if reason is None else GaussianPrior(dim=cfg.model.latent_dim)
            tr = Trainer(model, tr_prior, data.train_images, data.train_labels, config=cfg.train, device=device)
            tr.step_count = self._start_step
            label = f"{kind.upper()} " if len(self.kinds) > 1 else ""
            guard = Guard(watch_codes=get_kind(kind).imposes_prior, label=label)
            states[kind] = _ModelState(kind, tr, self.options, guard)
            states[kind].unavailable = reason
        self._initial_models.clear()
        self._dataset = None
        self._run = _Run(data, device, states, cfg.model.kind, self.options, cfg.train.seed)
        self._run.set_prior(prior, self.options.n_grid, cfg.train.seed)
        self._status = PAUSED
        self._snapshot_good_weights()
        # Codes first: the D(z) map, the k-NN, the referee and the weights follow in the next publish.
        self._publish(details=False)
        self._details_pending = True

    def _loop(self) -> None:
        while True:
            self._handle_commands()
            self._check_stop()
            if self._run_wanted.is_set() and self._status != RUNNING:
                if self._acquire_slot():
                    self._status = RUNNING
                    self._t_last_step = None
                    self._publish_bare(RUNNING)
                else:  # paused while waiting in the queue
                    self._check_stop()
                    self._status = PAUSED
                    self._publish_bare(PAUSED)
            elif not self._run_wanted.is_set() and self._status == RUNNING:
                self._to_paused()
            if self._status == RUNNING and self._reached_max_steps():
                self._run_wanted.clear()
                self._status = DONE
                self._give_slot_back()
                self._publish(force_weights=True)
            elif self._status == RUNNING:
                self._train_one()
                self._throttle()
            else:
                if self._wake.wait(IDLE_WAIT):
                    self._wake.clear()
            self._maybe_publish()
            self._maybe_autosave()

    def _to_paused(self, *, autosave: bool = True) -> None:
        self._status = PAUSED
        self._give_slot_back()
        if autosave:
            self._autosave()
        self._publish(force_weights=True)

    def _acquire_slot(self) -> bool:
        if self._slots is None or self._has_slot:
            self._has_slot = True
            return True
        self._status = QUEUED
        self._publish_bare(QUEUED)
        if not self._slots.acquire(self.id, keep_waiting=lambda: self.wants_to_run,
                                   on_wait=lambda: self._publish_bare(QUEUED)):
            self._run_wanted.clear()
            return False
        self._has_slot = True
        return True

    def _give_slot_back(self) -> None:
        if self._has_slot and self._slots is not None:
            # Publish the new status first: the next queued job may start the moment we release.
            self._publish_bare(self._status)
            self._slots.release(self.id)
        self._has_slot = False

    def _train_one(self, phase_only: bool = False) -> None:
        run = self._run
        primary = run.trainer
        if self._fault is not None:
            self._fault(primary.step_count)
        t0 = time.perf_counter()
        results: dict[str, dict[str, float]] = {}
        kind = self._config.model.kind
        if phase_only or primary.phase_index != 0:
            # Phase stepping (single-model jobs only): losses show as each phase runs; the batch's
            # history row is written when its last phase completes.
            phase, m = primary.step_phase()
            self._last_phase = phase if phase_only else None
            self._check_finite(kind, m)
            run.states[kind].latest.update(m)
            self._batch_metrics.update(m)
            if primary.phase_index == 0:
                results[kind] = self._batch_metrics
                self._batch_metrics = {}
        elif len(run.states) == 1:
            results[kind] = primary.step()
            self._last_phase = None
        else:
            batch = primary.next_batch()  # one batch for every model: identical data order
            for k, st in run.states.items():
                if st.unavailable is None:
                    results[k] = st.trainer.train_batch(batch)
                else:
                    st.trainer.step_count += 1
            self._last_phase = None
        self._t_run += time.perf_counter() - t0
        self._changed = True
        self._restored = False
        for k, m in results.items():
            self._check_finite(k, m)
            st = run.states[k]
            st.latest.update(m)
            st.history.add(primary.step_count, m)
            if self.options.guard:
                alarm = st.guard.observe_losses(primary.step_count, m)
                if alarm is not None:
                    self._raise_alarm(alarm)
        if primary.phase_index == 0:
            now = time.monotonic()
            self._rate_window.append((now, primary.step_count))
            while len(self._rate_window) > 2 and now - self._rate_window[0][0] > 2.0:
                self._rate_window.pop(0)

    def _check_finite(self, kind: str, m: dict[str, float]) -> None:
        bad = [k for k, v in m.items() if not math.isfinite(v)]
        if bad:
            who = f"{kind.upper()} " if len(self.kinds) > 1 else ""
            raise _Diverged(Message("job.not_finite", who=who, loss=loss_name(bad[0]) if len(bad) == 1 else ", ".join(bad),
                                    value=m[bad[0]], step=self._run.trainer.step_count))

    def _raise_alarm(self, message: Message) -> None:
        """Divergence or collapse that stays finite: pause, say so, offer the good weights."""
        if self._good_step is None:
            self._alarm = Message("job.paused", reason=message)
        else:
            self._alarm = Message("job.paused_kept", reason=message, good_step=self._good_step)
        self._run_wanted.clear()
        if self._status == RUNNING:
            self._to_paused(autosave=False)  # the autosave keeps the last healthy weights, not these

    def _throttle(self) -> None:
        if self._speed is None:
            return
        # Sleep on the wake event so that a pause or stop is honoured at once, even at 1 step/s.
        target = 1.0 / self._speed
        last = self._t_last_step
        now = time.monotonic()
        if last is not None and now - last < target:
            self._maybe_publish()
            if self._wake.wait(target - (time.monotonic() - last)):
                self._wake.clear()
        self._t_last_step = time.monotonic()

    def _handle_commands(self) -> None:
        while True:
            try:
                fn, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except JobStopped:
                fut.set_result(None)
                raise
            except (_Diverged, _Fatal) as e:  # the caller learns why its step failed; the job ends as failed
                fut.set_exception(e.__cause__ or RuntimeError(str(e)))
                raise
            except Exception as e:  # noqa: BLE001 — reported to the caller, the job goes on
                fut.set_exception(e)
                self._notice = str(e)
                self._publish()

    # -- the commands (run by the job thread) --------------------------------------------------
    def _clear_notice(self) -> None:
        """Play: the notice and any alarm are read; an alarmed run playing on gets a fresh watch."""
        if self._alarm is not None and self._run is not None:
            for st in self._run.states.values():
                st.guard.reset()
        self._notice = None
        self._alarm = None

    def _do_speed(self, steps_per_sec: float | None) -> None:
        self._speed = steps_per_sec
        self._publish()

    def _do_step(self, n: int) -> int:
        self._check_stop()
        self._pause_for_stepping()
        trainer = self._run.trainer
        before = self._codes_now()
        try:
            if trainer.phase_index != 0:  # finish the half-stepped batch first
                while trainer.phase_index != 0:
                    self._train_one()
                n -= 1
            for _ in range(n):
                self._train_one()
        except (JobStopped, _Diverged):
            raise
        except Exception as e:  # a failure inside training is fatal, as in the run loop
            raise _Fatal(str(e)) from e
        self._moved = ((trainer.step_count, trainer.phase_index), before)
        self._publish(force_weights=True)
        return trainer.step_count

    def _do_phase(self) -> int:
        self._check_stop()
        if len(self._run.states) > 1:
            raise ConfigError("phase-by-phase stepping is for single-model runs")
        self._pause_for_stepping()
        before = self._codes_now()
        try:
            self._train_one(phase_only=True)
        except (JobStopped, _Diverged):
            raise
        except Exception as e:
            raise _Fatal(str(e)) from e
        trainer = self._run.trainer
        self._moved = ((trainer.step_count, trainer.phase_index), before)
        self._publish(force_weights=True)
        return self._run.trainer.step_count

    def _codes_now(self) -> np.ndarray:
        """The primary model's codes of the fixed held-out batch now (before a Step or Next phase)."""
        model = self._run.trainer.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                return freeze(_np(model.encode(self._run.eval_x)))
        finally:
            model.train(was_training)

    def _pause_for_stepping(self) -> None:
        self._run_wanted.clear()
        if self._status in (RUNNING, DONE):
            self._status = PAUSED
            self._give_slot_back()

    def _do_prior(self, prior_cfg: PriorConfig) -> None:
        run = self._run
        prior = prior_from_config(prior_cfg, self._config.model.latent_dim)
        check_prior_compatible(self._config.model.kind, prior)
        for kind, st in run.states.items():
            st.unavailable = get_kind(kind).prior_incompatibility(prior)
            if st.unavailable is None:
                st.trainer.set_prior(prior)   # the new prior's recipe; the discriminators' Adam state reset
            st.guard.reset()                   # a new game: its history starts now
        self._config = replace(self._config, prior=prior_cfg)
        run.set_prior(prior, self.options.n_grid, self._config.train.seed)
        self._notice = None
        self._alarm = None
        self._t_detail = self._t_referee = -1e9
        for st in run.states.values():
            st.referees.clear()
        self._publish()

    def _do_save(self, path: Path, half: bool, kind: str | None, overwrite: bool = False) -> str:
        out = self._save(path, half=half, kind=kind, overwrite=overwrite)
        self._publish()
        return out

    def _do_restore(self) -> int:
        if self._good_step is None:
            raise RuntimeError("no good weights have been kept yet")
        self._restore_good_weights()
        self._alarm = None
        self._moved = None
        self._publish(force_weights=True)
        return self._good_step

    def _do_unload(self, for_room: bool = False) -> None:
        self._autosave()
        code = "job.unloaded_for_room" if for_room else "job.unloaded"
        self._notice = (Message(code + "_saved", path=str(self._saved_path)) if self._saved_path
                        else Message(code))
        raise JobStopped()

    # -- ending --------------------------------------------------------------------------------
    def _fail(self, message: str, *, restore: bool = False) -> None:
        """``restore``: ``message`` is why training diverged; the last good weights come back (and are
        saved) when there are any."""
        self._status = FAILED
        self._run_wanted.clear()
        if restore:
            if self._run is not None and self._good_step is not None:
                self._restore_good_weights()
                if self._autosave(force=True):
                    message = Message("job.diverged_saved", reason=message, good_step=self._good_step,
                                      path=str(self._saved_path))
                else:
                    message = Message("job.diverged_restored", reason=message, good_step=self._good_step)
            else:
                message = Message("job.diverged", reason=message)
        self._error = message

    def _end(self) -> None:
        """Refuse further commands, give the slot back, publish the last snapshot, free the model."""
        with self._lock:
            self._ended = True
        while True:
            try:
                _, fut = self._commands.get_nowait()
            except queue.Empty:
                break
            if fut.set_running_or_notify_cancel():
                fut.set_exception(RuntimeError(f"run {self.id} has ended"))
        if self._status in ACTIVE_STATES:
            self._status = STOPPED
        self._give_slot_back()
        if self._run is not None and self._status != FAILED:
            self._autosave()
        try:
            self._publish(force_weights=True)
        except Exception:  # noqa: BLE001
            self._publish_bare(self._status)
        # Keep only the last snapshot (with its CPU copy of the decoder): the model, its optimisers
        # and the data on the device go now, not when the registry forgets the job.
        self._run = None
        self._initial_models.clear()
        self._dataset = None
        self._fault = None
        if self._slots is not None:
            self._slots.ended(self.id)

    def _reached_max_steps(self) -> bool:
        return self.options.max_steps is not None and self._run.trainer.step_count >= self.options.max_steps

    # -- good weights ----------------------------------------------------------------------------
    def _snapshot_good_weights(self) -> None:
        run = self._run
        self._good_step = run.trainer.step_count
        for st in run.states.values():
            st.last_good = {k: v.detach().to("cpu", copy=True) for k, v in st.trainer.model.state_dict().items()}

    def _restore_good_weights(self) -> None:
        self._restored = True
        for st in self._run.states.values():
            if st.last_good is not None:
                st.trainer.model.load_state_dict(st.last_good)
            for opt in st.trainer.optimizers.values():
                opt.state.clear()  # the moments of the diverged run would push it straight back
            st.guard.reset()
            st.weights_step = -1

    # -------------------------------------------------------------- snapshots
    def _maybe_publish(self) -> None:
        if self._details_pending:
            self._publish(force_weights=True)
            return
        if not self._changed:
            return  # nothing moved (a paused job): the last snapshot still tells the truth
        now = time.monotonic()
        # Adaptive: a publish may cost at most max_publish_share of wall time (a big model's
        # snapshot is slower), but the view never freezes for more than MAX_SNAPSHOT_GAP seconds.
        gap = min(max(self.options.snapshot_interval, self._publish_cost / self.options.max_publish_share),
                  MAX_SNAPSHOT_GAP)
        if now - self._t_publish >= gap:
            self._publish()

    def _publish(self, *, force_weights: bool = False, details: bool = True) -> None:
        run = self._run
        if run is None:
            self._publish_bare(self._status)
            return
        t0 = time.perf_counter()
        now = time.monotonic()
        opts = self.options
        share = opts.max_publish_share
        do_details = details and (force_weights or now - self._t_detail >= min(
            max(opts.detail_interval, self._detail_cost / share), MAX_DETAIL_GAP))
        do_weights = details and (force_weights or now - self._t_weights >= opts.weights_interval)
        # The referee also runs on every forced publish (pause, step, stop): values at step boundaries.
        do_referee = details and (force_weights or now - self._t_referee >= min(
            max(opts.referee_interval, self._referee_cost / share), MAX_DETAIL_GAP))
        extra_time = [0.0, 0.0]  # details, referee
        views: dict[str, ModelView] = {}
        all_finite = True
        for kind, st in run.states.items():
            view, finite = self._model_view(st, do_details, do_weights, do_referee, extra_time)
            views[kind] = view
            all_finite &= finite
        if do_details:
            self._t_detail = now
            self._detail_cost = extra_time[0]
        if do_referee:
            self._t_referee = now
            self._referee_cost = extra_time[1]
        if do_weights:
            self._t_weights = now
            healthy = all(st.guard.healthy for st in run.states.values())
            if all_finite and healthy and self._alarm is None and self._status != FAILED and not self._restored:
                self._snapshot_good_weights()
        tr = run.trainer
        snap = Snapshot(
            job_id=self.id, version=self._next_version(), status=self._status, step=tr.step_count,
            epoch=tr.step_count * tr.config.batch_size / tr.images.shape[0], phase_index=tr.phase_index,
            phases=tr.phases, last_phase=self._last_phase, elapsed=self._t_run,
            steps_per_sec=self._rate(), speed=self._speed, config=self._config, device=self.device_name,
            error=self._error, notice=self._notice, primary=self._config.model.kind, models=views,
            code_labels=run.eval_labels, prior_sample=run.prior_np, recon_inputs=run.recon_inputs,
            bounds=run.prior.bounds, saved_path=self._saved_path, alarm=self._alarm, good_step=self._good_step,
            details_pending=not details,
            moved_from=self._moved[1] if self._moved and self._moved[0] == (tr.step_count, tr.phase_index) else None)
        with self._lock:
            self._snapshot = snap
        if details:
            self._details_pending = False
        self._changed = False
        self._t_publish = time.monotonic()
        cost = time.perf_counter() - t0 - sum(extra_time)
        self._publish_cost = 0.8 * self._publish_cost + 0.2 * max(cost, 0.0)
        if self.options.guard and self._status == RUNNING:
            self._check_codes(views)

    def _check_codes(self, views: dict[str, ModelView]) -> None:
        run = self._run
        for kind, st in run.states.items():
            codes = views[kind].codes
            if st.unavailable is None and codes is not None:
                alarm = st.guard.observe_codes(run.trainer.step_count, run.prior.outside_share(codes))
                if alarm is not None:
                    self._raise_alarm(alarm)
                    return

    def _model_view(self, st: _ModelState, do_details: bool, do_weights: bool, do_referee: bool,
                    extra_time: list[float]) -> tuple[ModelView, bool]:
        run = self._run
        tr = st.trainer
        model = tr.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                codes = model.encode(run.eval_x)                                          # (n, Z)
                codes_np = _np(codes)
                samples = _np(model.decode_given(run.grid_z, run.grid_labels))            # (n_grid, 28, 28)
                recon = _np(model.reconstruct_given(run.recon_x, run.recon_labels))       # (10, 28, 28)
            finite = bool(np.isfinite(codes_np).all())
            latest = dict(st.latest)
            if finite:
                t = time.perf_counter()
                fit = fit_evaluation(codes_np, run.prior_sample.numpy(), run.prior_fresh.numpy(),
                                     referee=do_referee)
                latest["prior_fit"] = fit["prior_fit"]
                st.history.record_latest("prior_fit", fit["prior_fit"])
                if do_referee and math.isfinite(fit["referee"]):
                    extra_time[1] += time.perf_counter() - t
                    st.referees.append(fit["referee"])
                    st.referee_curve.add(tr.step_count, {"referee": fit["referee"]})
                    st.history.record_latest("referee", fit["referee"])
            if finite and do_details:
                t = time.perf_counter()
                self._compute_details(st, codes)
                extra_time[0] += time.perf_counter() - t
            if st.knn is not None:
                latest["knn_acc"] = st.knn
            latest.update(st.probe_metrics)
            if st.referees:
                latest["referee"] = st.referees[-1]
                latest["referee_smooth"] = float(np.mean(st.referees))
            if finite and do_weights and (st.weights is None or tr.step_count != st.weights_step):
                st.weights = _linear_weights(model.decoder.linear_layers())
                st.encoder_weights = _linear_weights(l for l in model.encoder.net if isinstance(l, torch.nn.Linear))
                st.weights_step = tr.step_count
        finally:
            model.train(was_training)
        curve = st.referee_curve.columns
        view = ModelView(
            kind=st.kind, history=st.history.arrays(), latest=latest, codes=freeze(codes_np),
            samples=freeze(samples.reshape(-1, 28, 28)), recon_outputs=freeze(recon.reshape(-1, 28, 28)),
            d_grid=st.extras.get("d_grid"), arrows=st.extras.get("arrows"), extras=dict(st.extras),
            decoder_weights=st.weights, encoder_weights=st.encoder_weights,
            decoder_version=f"{self.id}-{st.kind}-{st.weights_step}", unavailable=st.unavailable,
            referee=st.referees[-1] if st.referees else None,
            referee_smooth=float(np.mean(st.referees)) if st.referees else None,
            referee_curve=freeze(np.column_stack((curve["step"], curve.get("referee", []))).astype(np.float32))
            if curve["step"] else None)
        st.view = view
        return view, finite

    def _compute_details(self, st: _ModelState, codes: torch.Tensor) -> None:
        run, opts, model = self._run, self.options, st.trainer.model
        probed = get_kind(model.kind).probe(
            model, codes=codes, prior=run.prior, prior_sample=run.prior_sample,
            settings=ProbeSettings(d_grid_resolution=opts.d_grid_resolution, n_arrows=opts.n_arrows,
                                   eval_x=run.eval_x, eval_labels=run.eval_labels,
                                   reference_x=run.knn_x, reference_labels=run.knn_labels))
        st.extras = {k: freeze(v) for k, v in probed.items() if isinstance(v, np.ndarray)}
        st.probe_metrics = {k: float(v) for k, v in probed.items() if isinstance(v, float)}
        for key, value in st.probe_metrics.items():  # e.g. a classifier's held-out error: a live curve
            st.history.record_latest(key, value)
        with torch.no_grad():
            train_codes = _np(model.encode(run.knn_x))
        codes_np = _np(codes)
        if np.isfinite(train_codes).all() and np.isfinite(codes_np).all():
            st.knn = M.knn_accuracy(train_codes, run.knn_labels, codes_np, run.eval_labels, k=5)

    def _rate(self) -> float:
        w = self._rate_window
        if len(w) < 2 or w[-1][0] - w[0][0] <= 0 or self._status != RUNNING:
            return 0.0
        return (w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0])

    def _next_version(self) -> int:
        self._version += 1
        return self._version

    def _publish_bare(self, status: str) -> None:
        """A snapshot before the model exists (queued / loading), or a status change of an existing one."""
        pos = self._slots.position(self.id) if (self._slots is not None and status == QUEUED) else 0
        old = self._snapshot
        if old is not None and old.models:
            snap = replace(old, version=self._next_version(), status=status, queue_position=pos,
                           error=self._error, notice=self._notice, alarm=self._alarm,
                           saved_path=self._saved_path, steps_per_sec=0.0)
        else:
            snap = Snapshot(job_id=self.id, version=self._next_version(), status=status, step=self._start_step,
                            epoch=0.0, phase_index=0, phases=get_kind(self._config.model.kind).phase_names,
                            last_phase=None, elapsed=0.0, steps_per_sec=0.0, speed=self._speed,
                            config=self._config, device=self.device_name, error=self._error, notice=self._notice,
                            queue_position=pos, primary=self._config.model.kind, saved_path=self._saved_path)
        with self._lock:
            self._snapshot = snap

    # -------------------------------------------------------------- saving
    def _save(self, path: Path, *, half: bool = False, kind: str | None = None, overwrite: bool = False) -> str:
        st = self._run.states[kind or self._config.model.kind]
        metrics = {k: v for k, v in st.latest.items() if isinstance(v, float) and math.isfinite(v)}
        if st.view is not None:
            metrics.update({k: v for k, v in st.view.latest.items() if math.isfinite(v)})
        if st.knn is not None:
            metrics["knn_acc"] = st.knn
        config = replace(self._config, model=replace(self._config.model, kind=st.kind))
        out = save_checkpoint(path, st.trainer.model, config, step=st.trainer.step_count, metrics=metrics, half=half,
                              overwrite=overwrite)
        self._saved_path = str(out)
        return str(out)

    def _maybe_autosave(self) -> None:
        every = self.options.autosave_every
        if not self.autosave_dir or every <= 0 or self._status != RUNNING:
            return
        now = time.monotonic()
        if self._t_autosave is None:
            self._t_autosave = now
        elif now - self._t_autosave >= every:
            self._autosave()
            self._t_autosave = now

    def _autosave(self, *, force: bool = False) -> bool:
        """Save every model under ``autosave_dir`` as ``run-ID`` (``-KIND`` when there are several);
        skipped when nothing was trained since the run started, unless ``force``."""
        run = self._run
        if self.autosave_dir is None or run is None or (run.trainer.step_count == self._start_step and not force):
            return False
        try:
            for kind in run.states:
                suffix = "" if len(run.states) == 1 else f"-{kind}"
                self._save(self.autosave_dir / f"run-{self.id}{suffix}", kind=kind, overwrite=True)  # the run's own
        except Exception as e:  # noqa: BLE001 — a full disk must not kill the run
            self._notice = Message("job.autosave_failed", error=str(e))
            return False
        return True
