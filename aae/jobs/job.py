"""Background training: one ``TrainingJob`` per run, each in its own daemon thread.

The UI never touches a live model. The job thread publishes an immutable ``Snapshot`` a few times
a second (time based, adaptive so that publishing never costs more than a few percent of training
time) and the UI polls ``job.snapshot()``. Controls are commands put on a queue and executed by the
job thread between batches: play, pause, step one batch, step one phase, stop, speed, prior swap,
save. An exception or a non-finite loss stops the job with a readable error and restores the last
good weights.

``JobRegistry`` is process-wide and thread-safe: it caps how many jobs train at once (others wait,
queued, in order), and a reaper pauses and autosaves jobs that nobody has polled for a while.
"""

from __future__ import annotations

import math
import os
import queue
import secrets
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from . import metrics as M
from .checkpoints import save_checkpoint
from .config import ConfigError, PriorConfig, RunConfig
from .data import Dataset, load_dataset, to_float
from .kinds import get_kind
from .models import Autoencoder
from .priors import GaussianPrior, Prior, prior_from_config
from .probes import ProbeSettings, fit_evaluation
from .train import (PriorIncompatible, Trainer, check_prior_compatible, device_description, resolve_device,
                    seeded_model)

QUEUED, LOADING, RUNNING, PAUSED, STOPPED, FAILED, DONE = (
    "queued", "loading", "running", "paused", "stopped", "failed", "done")
ACTIVE_STATES = (QUEUED, LOADING, RUNNING, PAUSED)
MAX_SNAPSHOT_GAP = 1.0  # seconds: the live view must keep moving even for the paper preset on a CPU


@dataclass(frozen=True)
class JobOptions:
    snapshot_interval: float = 0.25     # seconds between snapshots (≈ 4 per second)
    detail_interval: float = 1.0        # seconds between heavy extras: D(z) grid, generator arrows, k-NN
    weights_interval: float = 2.0       # seconds between decoder-weight copies for the browser
    max_publish_share: float = 0.05     # publishing may take at most this share of wall time
    history_len: int = 1000             # points kept per curve (older ones are thinned 2:1)
    n_eval: int = 1000                  # held-out codes shown and scored (fewer if the test set is smaller)
    n_grid: int = 100                   # decoded digits from fixed prior noise (10 × 10)
    d_grid_resolution: int = 48         # D(z) heatmap resolution
    n_arrows: int = 60                  # codes whose generator push is drawn
    knn_train_codes: int = 2000         # training codes used as k-NN reference
    autosave_interval: float = 300.0    # seconds between autosaves while training (0: only on stop/pause)
    max_steps: int | None = None        # stop (status "done") after this many batches
    start_paused: bool = False


class History:
    """Bounded curves: when full, every other point is dropped and the stride doubles, so a
    long run keeps its whole shape in a fixed amount of memory."""

    def __init__(self, max_len: int = 1000) -> None:
        self.max_len = max_len
        self.stride = 1
        self._pending = 0
        self.columns: dict[str, list[float]] = {"step": []}

    def add(self, step: int, values: dict[str, float]) -> None:
        self._pending += 1
        if self._pending < self.stride:
            return
        self._pending = 0
        n = len(self.columns["step"])
        for key in values:
            if key not in self.columns:
                self.columns[key] = [math.nan] * n
        for key, col in self.columns.items():
            col.append(float(step) if key == "step" else float(values.get(key, math.nan)))
        if n + 1 >= self.max_len:
            for key in self.columns:
                self.columns[key] = self.columns[key][::2]
            self.stride *= 2

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for k, v in self.columns.items():
            a = np.asarray(v, dtype=np.float64 if k == "step" else np.float32)
            a.flags.writeable = False
            out[k] = a
        return out


@dataclass(frozen=True)
class ModelView:
    """What one model of a job looks like at one instant (a job trains one model, or several in
    lockstep on identical batches for the Compare page)."""

    kind: str
    history: dict[str, np.ndarray] = field(default_factory=dict)
    latest: dict[str, float] = field(default_factory=dict)
    codes: np.ndarray | None = None             # (n_eval, Z) float32 codes of the fixed held-out batch
    samples: np.ndarray | None = None           # (n_grid, 28, 28) decoded fixed prior noise
    recon_outputs: np.ndarray | None = None     # (10, 28, 28) reconstructions of recon_inputs
    d_grid: np.ndarray | None = None            # (R, R) D(z) probability over the prior's bounds (AAE)
    arrows: np.ndarray | None = None            # (n_arrows, 4): z_x, z_y, push_x, push_y (AAE)
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # what the kind's probe adds (ModelKind.snapshot_extras)
    decoder_weights: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None
    decoder_version: str = ""
    # Encoder Linear layers (same format and cadence as the decoder's) so pages can encode a drawn
    # digit without touching the live model (aae.viz.encode_with_weights: η = 0 for universal).
    encoder_weights: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None
    unavailable: str | None = None              # why this model is not training (e.g. VAE + swiss roll)


@dataclass(frozen=True)
class Snapshot:
    """What the UI may read about a job at one instant. Arrays are read-only copies.

    The per-model fields of the primary model (``config.model.kind``) are also reachable directly:
    ``snap.codes`` is ``snap.models[snap.primary].codes``.
    """

    job_id: str
    version: int                        # increases with every publish
    status: str
    step: int
    epoch: float
    phase_index: int                    # next phase within the batch (0 = a new batch starts)
    phases: tuple[str, ...]
    last_phase: str | None              # the phase run by the latest single-phase step
    elapsed: float                      # seconds spent training (pauses excluded)
    steps_per_sec: float
    speed: float | None                 # speed limit in steps/s, None = unlimited
    config: RunConfig
    device: str
    error: str | None = None
    notice: str | None = None           # non-fatal message (e.g. a refused prior swap)
    queue_position: int = 0             # >0 while queued: jobs ahead + 1
    primary: str = ""
    models: dict[str, ModelView] = field(default_factory=dict)
    code_labels: np.ndarray | None = None       # (n_eval,) int64
    prior_sample: np.ndarray | None = None      # (n_eval, Z) fixed sample of p(z)
    recon_inputs: np.ndarray | None = None      # (10, 28, 28) fixed test digits, one per class
    bounds: tuple[float, float] = (-3.5, 3.5)
    saved_path: str | None = None
    created: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATES

    @property
    def view(self) -> ModelView:
        return self.models.get(self.primary) or ModelView(kind=self.primary)

    history = property(lambda self: self.view.history)
    latest = property(lambda self: self.view.latest)
    codes = property(lambda self: self.view.codes)
    samples = property(lambda self: self.view.samples)
    recon_outputs = property(lambda self: self.view.recon_outputs)
    d_grid = property(lambda self: self.view.d_grid)
    arrows = property(lambda self: self.view.arrows)
    decoder_weights = property(lambda self: self.view.decoder_weights)
    decoder_version = property(lambda self: self.view.decoder_version)


def _freeze(a: np.ndarray | None) -> np.ndarray | None:
    if a is not None:
        a.flags.writeable = False
    return a


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).numpy().copy()


class JobStopped(Exception):
    pass


class _Diverged(Exception):
    pass


class _Fatal(Exception):
    """An exception raised while training inside a command: ends the job as failed."""


class _ModelState:
    """The job thread's bookkeeping for one model."""

    def __init__(self, kind: str, trainer: Trainer, history_len: int) -> None:
        self.kind = kind
        self.trainer = trainer
        self.history = History(history_len)
        self.latest: dict[str, float] = {}
        self.unavailable: str | None = None
        self.knn: float | None = None
        self.extras: dict[str, np.ndarray] = {}      # the kind's probe: arrays (D(z) grid, arrows, ...)
        self.probe_metrics: dict[str, float] = {}    # the kind's probe: numbers (e.g. d_acc_eval)
        self.weights: tuple | None = None
        self.encoder_weights: tuple | None = None
        self.weights_step = -1
        self.last_good: dict[str, torch.Tensor] | None = None
        self.view: ModelView | None = None


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
                 slot: Callable[["TrainingJob"], bool] | None = None,
                 release: Callable[["TrainingJob"], None] | None = None,
                 queue_position: Callable[["TrainingJob"], int] | None = None,
                 fault: Callable[[int], None] | None = None) -> None:
        self.id = job_id or secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
        self.config = config
        self.kinds = tuple(kinds or (config.model.kind,))
        if config.model.kind not in self.kinds:
            raise ConfigError(f"the primary model kind {config.model.kind!r} must be one of kinds {self.kinds}")
        self.options = options
        self.autosave_dir = Path(autosave_dir) if autosave_dir else None
        self._initial_models = dict(models or {})
        if model is not None:
            self._initial_models[config.model.kind] = model
        self._start_step = start_step
        self._dataset = dataset
        self._slot, self._release, self._queue_position = slot, release, queue_position
        self._fault = fault  # test hook: called with the step number before each batch
        self._commands: "queue.Queue[tuple[str, Any, Future | None]]" = queue.Queue()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._version = 0
        self.last_polled = time.monotonic()
        self.created = time.time()
        self._want_running = not options.start_paused
        self._has_slot = False
        self._speed: float | None = None
        self._stop_requested = False
        self.thread = threading.Thread(target=self._thread_main, name=f"aae-job-{self.id}", daemon=True)
        self._publish_bare(QUEUED if slot else LOADING)

    # ------------------------------------------------------------------ public API (any thread)
    def start(self) -> "TrainingJob":
        self.thread.start()
        return self

    def snapshot(self) -> Snapshot:
        """The latest published snapshot (marks the job as watched)."""
        self.last_polled = time.monotonic()
        with self._lock:
            assert self._snapshot is not None
            return self._snapshot

    def peek(self) -> Snapshot:
        """The latest snapshot without counting as a viewer (for the reaper and the registry)."""
        with self._lock:
            assert self._snapshot is not None
            return self._snapshot

    @property
    def status(self) -> str:
        return self.peek().status

    def play(self) -> None:
        self._command("play")

    def pause(self) -> None:
        self._want_running = False  # seen at once by a job waiting in the registry's queue
        self._command("pause")

    def step_batch(self, n: int = 1) -> Future:
        """Train exactly ``n`` batches (finishing a half-stepped batch first), then stay paused."""
        return self._command("step", int(n))

    def step_phase(self) -> Future:
        """Run only the next phase of the primary model (single-model jobs), then stay paused."""
        return self._command("phase")

    def set_speed(self, steps_per_sec: float | None) -> None:
        """Limit training to ``steps_per_sec`` batches per second (None or ≤0: as fast as possible)."""
        if steps_per_sec is not None and (not math.isfinite(steps_per_sec) or steps_per_sec <= 0):
            steps_per_sec = None
        self._command("speed", steps_per_sec)

    def set_prior(self, prior: PriorConfig) -> Future:
        """Swap p(z) while training; the future raises ``ConfigError`` if the primary model can't use it."""
        return self._command("prior", prior)

    def save(self, path: str | os.PathLike, *, half: bool = False, kind: str | None = None) -> Future:
        """Save a checkpoint of one model (the primary by default) from the job thread; the
        future gives the JSON path."""
        return self._command("save", (Path(path), half, kind or self.config.model.kind))

    def stop(self, *, wait: bool = False, timeout: float = 10.0) -> None:
        self._stop_requested = True
        self._command("stop")
        if wait:
            self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)
        return not self.thread.is_alive()

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

    def _command(self, name: str, arg: Any = None) -> Future:
        fut: Future = Future()
        if not self.thread.is_alive() and self.thread.ident is not None:
            fut.set_exception(RuntimeError(f"run {self.id} has ended ({self.peek().status})"))
            return fut
        self._commands.put((name, arg, fut))
        self._wake.set()
        return fut

    # ------------------------------------------------------------------ job thread
    def _thread_main(self) -> None:
        torch.set_flush_denormal(True)
        self._t_run = 0.0
        self._rate_window: list[tuple[float, int]] = []
        self._last_phase: str | None = None
        self._notice: str | None = None
        self._error: str | None = None
        self._saved_path: str | None = None
        self._status = LOADING
        self._good_step = self._start_step
        self.trainer: Trainer | None = None
        self._states: dict[str, _ModelState] = {}
        self._batch_metrics: dict[str, float] = {}
        try:
            self._setup()
            self._loop()
        except JobStopped:
            self._status = STOPPED
        except _Diverged as e:
            self._fail(f"Training diverged: {e}. The weights from step {self._good_step} were restored. "
                       f"Lower the learning rates (or raise the discriminator noise) and start a new run.")
        except _Fatal as e:
            cause = e.__cause__ or e
            self._fail(f"{type(cause).__name__}: {cause}")
        except Exception as e:  # noqa: BLE001 — any failure must reach the UI as text
            self._fail(f"{type(e).__name__}: {e}")
        finally:
            self._drain_commands()
            if self._status in ACTIVE_STATES:
                self._status = STOPPED
            self._give_slot_back()
            if self.trainer is not None and self._status != FAILED:
                self._autosave()
            try:
                self._publish(force_weights=True)
            except Exception:  # noqa: BLE001
                self._publish_bare(self._status)

    def _setup(self) -> None:
        cfg = self.config
        self._publish_bare(LOADING)
        data = self._dataset or load_dataset(cfg.data.name, root=cfg.data.root, seed=cfg.data.seed)
        self.dataset = data
        device = resolve_device(cfg.train.device)
        self.device_name = device_description(device)
        prior = prior_from_config(cfg.prior, cfg.model.latent_dim)
        check_prior_compatible(cfg.model.kind, prior)  # the primary model must be able to train
        for kind in self.kinds:
            model_cfg = replace(cfg.model, kind=kind)
            model = self._initial_models.get(kind) or seeded_model(model_cfg, cfg.train.seed)
            reason = _incompatibility(kind, prior)
            # A model that can't use this prior is built against the Gaussian and sits out.
            tr_prior = prior if reason is None else GaussianPrior(dim=cfg.model.latent_dim)
            tr = Trainer(model, tr_prior, data.train_images, data.train_labels, config=cfg.train, device=device)
            tr.step_count = self._start_step
            st = _ModelState(kind, tr, self.options.history_len)
            st.unavailable = reason
            self._states[kind] = st
        self.trainer = self._states[cfg.model.kind].trainer
        # Fixed evaluation data: plotted points keep their identity between refreshes.
        n_eval = min(self.options.n_eval, data.test_images.shape[0])
        self._eval_x = to_float(data.test_images[:n_eval]).to(device)
        self._eval_labels = _freeze(data.test_labels[:n_eval].numpy().copy())
        first_of_class = [int((data.test_labels == c).nonzero()[0]) for c in range(10)
                          if (data.test_labels == c).any()]
        self._recon_x = to_float(data.test_images[first_of_class]).to(device)
        self._recon_inputs = _freeze(self._recon_x.reshape(-1, 28, 28).cpu().numpy().copy())
        g = torch.Generator().manual_seed(cfg.train.seed + 1)
        n_train = data.train_images.shape[0]
        idx = torch.randperm(n_train, generator=g)[: self.options.knn_train_codes]
        self._knn_x = to_float(data.train_images[idx]).to(device)
        self._knn_labels = data.train_labels[idx].numpy()
        self._prior = prior
        self._set_fixed_prior_samples(prior)
        self._t_publish = self._t_detail = self._t_weights = self._t_autosave = -1e9
        self._publish_cost = 0.0
        self._detail_cost = 0.0
        self._status = PAUSED
        self._snapshot_good_weights()
        self._publish(force_weights=True)

    def _set_fixed_prior_samples(self, prior: Prior) -> None:
        n = self._eval_x.shape[0]
        g = torch.Generator().manual_seed(self.config.train.seed + 2)
        self._prior_sample = prior.sample(n, generator=g)
        self._prior_fresh = prior.sample(n, generator=g)
        self._grid_z = prior.sample(self.options.n_grid, generator=g).to(self.trainer.device)
        self._prior_np = _freeze(self._prior_sample.numpy().copy())

    def _loop(self) -> None:
        while True:
            self._handle_commands()
            if self._want_running and self._status != RUNNING:
                if self._acquire_slot():
                    self._status = RUNNING
                else:  # paused while waiting in the queue
                    self._status = PAUSED
                    self._publish(force=True)
            elif not self._want_running and self._status == RUNNING:
                self._status = PAUSED
                self._give_slot_back()
                self._autosave()
                self._publish(force_weights=True)
            if self._status == RUNNING and self._reached_max_steps():
                self._want_running = False
                self._status = DONE
                self._give_slot_back()
                self._publish(force_weights=True)
            elif self._status == RUNNING:
                self._train_one()
                self._throttle()
            else:
                self._wake.wait(0.1)
                self._wake.clear()
            self._maybe_publish()
            self._maybe_autosave()

    def _acquire_slot(self) -> bool:
        if self._slot is None or self._has_slot:
            self._has_slot = True
            return True
        self._status = QUEUED
        self._publish_bare(QUEUED)
        # Blocks until a slot is free; raises JobStopped if stopped while queued, returns False
        # if paused while queued.
        if not self._slot(self):
            self._want_running = False
            return False
        self._has_slot = True
        return True

    def _give_slot_back(self) -> None:
        if self._has_slot and self._release is not None:
            # Publish the new status first: the next queued job may start the moment we release.
            self._publish_bare(self._status)
            self._release(self)
        self._has_slot = False

    def _train_one(self, phase_only: bool = False) -> None:
        primary = self.trainer
        if self._fault is not None:
            self._fault(primary.step_count)
        t0 = time.perf_counter()
        results: dict[str, dict[str, float]] = {}
        if phase_only or primary.phase_index != 0:
            # Phase stepping (single-model jobs only): losses show as each phase runs; the batch's
            # history row is written when its last phase completes.
            phase, m = primary.step_phase()
            self._last_phase = phase if phase_only else None
            self._check_finite(primary.model.kind, m)
            self._states[primary.model.kind].latest.update(m)
            self._batch_metrics.update(m)
            if primary.phase_index == 0:
                results[primary.model.kind] = self._batch_metrics
                self._batch_metrics = {}
        elif len(self._states) == 1:
            results[primary.model.kind] = primary.step()
            self._last_phase = None
        else:
            batch = primary.next_batch()  # one batch for every model: identical data order
            for kind, st in self._states.items():
                if st.unavailable is None:
                    results[kind] = st.trainer.train_batch(batch)
                else:
                    st.trainer.step_count += 1
            self._last_phase = None
        self._t_run += time.perf_counter() - t0
        for kind, m in results.items():
            self._check_finite(kind, m)
            st = self._states[kind]
            st.latest.update(m)
            st.history.add(primary.step_count, m)
        if primary.phase_index == 0:
            now = time.monotonic()
            self._rate_window.append((now, primary.step_count))
            while len(self._rate_window) > 2 and now - self._rate_window[0][0] > 2.0:
                self._rate_window.pop(0)

    def _check_finite(self, kind: str, m: dict[str, float]) -> None:
        bad = [k for k, v in m.items() if not math.isfinite(v)]
        if bad:
            who = f"{kind.upper()} " if len(self._states) > 1 else ""
            raise _Diverged(f"the {who}{', '.join(bad)} loss became {m[bad[0]]} at step {self.trainer.step_count}")

    def _throttle(self) -> None:
        if self._speed is None:
            return
        # Sleep on the wake event so that a pause or stop is honoured at once, even at 1 step/s.
        target = 1.0 / self._speed
        last = getattr(self, "_t_last_step", None)
        now = time.monotonic()
        if last is not None and now - last < target:
            self._maybe_publish()
            if self._wake.wait(target - (time.monotonic() - last)):
                self._wake.clear()
        self._t_last_step = time.monotonic()

    def _handle_commands(self) -> None:
        while True:
            try:
                name, arg, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                result = self._execute(name, arg)
                if fut is not None and not fut.done():
                    fut.set_result(result)
            except (JobStopped, _Diverged, _Fatal) as e:
                if fut is not None and not fut.done():
                    if isinstance(e, JobStopped):
                        fut.set_result(None)
                    else:  # the caller learns why its step failed; the job ends as failed
                        fut.set_exception(e.__cause__ or RuntimeError(str(e)))
                raise e
            except Exception as e:  # noqa: BLE001 — reported to the caller, the job goes on
                if fut is not None and not fut.done():
                    fut.set_exception(e)
                self._notice = str(e)
                self._publish(force=True)

    def _execute(self, name: str, arg: Any) -> Any:
        if name == "stop":
            raise JobStopped()
        if name == "play":
            self._want_running = True
            self._notice = None
        elif name == "pause":
            self._want_running = False
        elif name == "speed":
            self._speed = arg
        elif name in ("step", "phase"):
            self._want_running = False
            if self._status in (RUNNING, DONE):
                self._status = PAUSED
                self._give_slot_back()
            if name == "phase" and len(self._states) > 1:
                raise ConfigError("phase-by-phase stepping is for single-model runs")
            try:
                if name == "step":
                    if self.trainer.phase_index != 0:  # finish the half-stepped batch first
                        while self.trainer.phase_index != 0:
                            self._train_one()
                        arg -= 1
                    for _ in range(arg):
                        self._train_one()
                else:
                    self._train_one(phase_only=True)
            except (JobStopped, _Diverged):
                raise
            except Exception as e:  # a failure inside training is fatal, as in the run loop
                raise _Fatal(str(e)) from e
            self._publish(force=True, force_weights=True)
            return self.trainer.step_count
        elif name == "prior":
            cfg: PriorConfig = arg
            prior = prior_from_config(cfg, self.config.model.latent_dim)
            check_prior_compatible(self.config.model.kind, prior)
            for kind, st in self._states.items():
                st.unavailable = _incompatibility(kind, prior)
                if st.unavailable is None:
                    st.trainer.set_prior(prior)
            self.config = replace(self.config, prior=cfg)
            self._prior = prior
            self._set_fixed_prior_samples(prior)
            self._notice = None
            self._t_detail = -1e9
            self._publish(force=True)
        elif name == "save":
            path, half, kind = arg
            out = self._save(path, half=half, kind=kind)
            self._publish(force=True)
            return out
        return None

    def _drain_commands(self) -> None:
        while True:
            try:
                _, _, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            if fut is not None and not fut.done():
                fut.set_exception(RuntimeError(f"run {self.id} has ended"))

    def _fail(self, message: str) -> None:
        self._status = FAILED
        self._want_running = False
        self._error = message
        for st in self._states.values():
            if st.last_good is not None:
                st.trainer.model.load_state_dict(st.last_good)

    def _reached_max_steps(self) -> bool:
        return self.options.max_steps is not None and self.trainer.step_count >= self.options.max_steps

    def _snapshot_good_weights(self) -> None:
        self._good_step = self.trainer.step_count
        for st in self._states.values():
            st.last_good = {k: v.detach().to("cpu", copy=True) for k, v in st.trainer.model.state_dict().items()}

    # -------------------------------------------------------------- snapshots
    def _maybe_publish(self) -> None:
        now = time.monotonic()
        # Adaptive: a publish may cost at most max_publish_share of wall time (a big model's
        # snapshot is slower), but the view never freezes for more than MAX_SNAPSHOT_GAP seconds.
        gap = min(max(self.options.snapshot_interval, self._publish_cost / self.options.max_publish_share),
                  MAX_SNAPSHOT_GAP)
        if now - self._t_publish >= gap:
            self._publish()

    def _publish(self, *, force: bool = False, force_weights: bool = False) -> None:
        if self.trainer is None or not self._states:
            self._publish_bare(self._status)
            return
        t0 = time.perf_counter()
        now = time.monotonic()
        opts = self.options
        detail_gap = min(max(opts.detail_interval, self._detail_cost / opts.max_publish_share), 10.0)
        do_details = force_weights or now - self._t_detail >= detail_gap
        do_weights = force_weights or now - self._t_weights >= opts.weights_interval
        detail_time = 0.0
        views: dict[str, ModelView] = {}
        all_finite = True
        for kind, st in self._states.items():
            view, finite, dt = self._model_view(st, do_details, do_weights)
            views[kind] = view
            all_finite &= finite
            detail_time += dt
        if do_details:
            self._t_detail = now
            self._detail_cost = detail_time
        if do_weights:
            self._t_weights = now
            if all_finite:
                self._snapshot_good_weights()
        tr = self.trainer
        snap = Snapshot(
            job_id=self.id, version=self._next_version(), status=self._status, step=tr.step_count,
            epoch=tr.step_count * tr.config.batch_size / tr.images.shape[0], phase_index=tr.phase_index,
            phases=tr.phases, last_phase=self._last_phase, elapsed=self._t_run,
            steps_per_sec=self._rate(), speed=self._speed, config=self.config, device=self.device_name,
            error=self._error, notice=self._notice, primary=self.config.model.kind, models=views,
            code_labels=self._eval_labels, prior_sample=self._prior_np, recon_inputs=self._recon_inputs,
            bounds=self._prior.bounds, saved_path=self._saved_path)
        with self._lock:
            self._snapshot = snap
        self._t_publish = time.monotonic()
        cost = time.perf_counter() - t0 - detail_time
        self._publish_cost = 0.8 * self._publish_cost + 0.2 * max(cost, 0.0)

    def _model_view(self, st: _ModelState, do_details: bool, do_weights: bool) -> tuple[ModelView, bool, float]:
        tr = st.trainer
        model = tr.model
        was_training = model.training
        model.eval()
        dt = 0.0
        try:
            with torch.no_grad():
                codes = model.encode(self._eval_x)                                         # (n, Z)
                codes_np = _np(codes)
                samples = _np(model.decode(self._grid_z))                                  # (n_grid, 28, 28)
                recon = _np(model.reconstruct(self._recon_x))                              # (10, 28, 28)
            finite = bool(np.isfinite(codes_np).all())
            latest = dict(st.latest)
            if finite:
                latest["prior_fit"] = fit_evaluation(codes_np, self._prior_sample.numpy(), self._prior_fresh.numpy(),
                                                     referee=False)["prior_fit"]
                _record_on_curve(st.history, "prior_fit", latest["prior_fit"])
            if finite and do_details:
                t = time.perf_counter()
                self._compute_details(st, codes)
                dt = time.perf_counter() - t
            if st.knn is not None:
                latest["knn_acc"] = st.knn
            latest.update(st.probe_metrics)
            if finite and do_weights and (st.weights is None or tr.step_count != st.weights_step):
                st.weights = tuple((_freeze(_np(l.weight)), _freeze(_np(l.bias)))
                                   for l in model.decoder.linear_layers())
                st.encoder_weights = tuple((_freeze(_np(l.weight)), _freeze(_np(l.bias)))
                                           for l in model.encoder.net if isinstance(l, torch.nn.Linear))
                st.weights_step = tr.step_count
        finally:
            model.train(was_training)
        view = ModelView(
            kind=st.kind, history=st.history.arrays(), latest=latest, codes=_freeze(codes_np),
            samples=_freeze(samples.reshape(-1, 28, 28)), recon_outputs=_freeze(recon.reshape(-1, 28, 28)),
            d_grid=st.extras.get("d_grid"), arrows=st.extras.get("arrows"), extras=dict(st.extras),
            decoder_weights=st.weights, encoder_weights=st.encoder_weights,
            decoder_version=f"{self.id}-{st.kind}-{st.weights_step}", unavailable=st.unavailable)
        st.view = view
        return view, finite, dt

    def _compute_details(self, st: _ModelState, codes: torch.Tensor) -> None:
        tr, opts, model = st.trainer, self.options, st.trainer.model
        probed = get_kind(model.kind).probe(
            model, codes=codes, prior=self._prior, prior_sample=self._prior_sample,
            settings=ProbeSettings(d_grid_resolution=opts.d_grid_resolution, n_arrows=opts.n_arrows))
        st.extras = {k: _freeze(v) for k, v in probed.items() if isinstance(v, np.ndarray)}
        st.probe_metrics = {k: float(v) for k, v in probed.items() if isinstance(v, float)}
        with torch.no_grad():
            train_codes = _np(model.encode(self._knn_x))
        codes_np = _np(codes)
        if np.isfinite(train_codes).all() and np.isfinite(codes_np).all():
            st.knn = M.knn_accuracy(train_codes, self._knn_labels, codes_np, self._eval_labels, k=5)

    def _rate(self) -> float:
        w = self._rate_window
        if len(w) < 2 or w[-1][0] - w[0][0] <= 0 or self._status != RUNNING:
            return 0.0
        return (w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0])

    def _next_version(self) -> int:
        self._version += 1
        return self._version

    def _publish_bare(self, status: str) -> None:
        """A snapshot before the model exists (queued / loading) or after a failed start."""
        pos = self._queue_position(self) if (self._queue_position and status == QUEUED) else 0
        old = self._snapshot
        if old is not None and old.models:
            snap = replace(old, version=self._next_version(), status=status, queue_position=pos,
                           error=getattr(self, "_error", None), notice=getattr(self, "_notice", None),
                           steps_per_sec=0.0)
        else:
            snap = Snapshot(job_id=self.id, version=self._next_version(), status=status, step=self._start_step,
                            epoch=0.0, phase_index=0, phases=(), last_phase=None, elapsed=0.0, steps_per_sec=0.0,
                            speed=None, config=self.config, device=getattr(self, "device_name", ""),
                            error=getattr(self, "_error", None), queue_position=pos,
                            primary=self.config.model.kind)
        with self._lock:
            self._snapshot = snap

    # -------------------------------------------------------------- saving
    def _save(self, path: Path, *, half: bool = False, kind: str | None = None) -> str:
        st = self._states[kind or self.config.model.kind]
        metrics = {k: v for k, v in st.latest.items() if isinstance(v, float) and math.isfinite(v)}
        if st.view is not None:
            metrics.update(st.view.latest)
        if st.knn is not None:
            metrics["knn_acc"] = st.knn
        config = replace(self.config, model=replace(self.config.model, kind=st.kind))
        out = save_checkpoint(path, st.trainer.model, config, step=st.trainer.step_count, metrics=metrics, half=half)
        self._saved_path = str(out)
        return str(out)

    def _maybe_autosave(self) -> None:
        if not self.autosave_dir or self.options.autosave_interval <= 0 or self._status != RUNNING:
            return
        now = time.monotonic()
        if self._t_autosave < 0:
            self._t_autosave = now
        elif now - self._t_autosave >= self.options.autosave_interval:
            self._autosave()
            self._t_autosave = now

    def _autosave(self) -> None:
        if self.autosave_dir is None or self.trainer is None or self.trainer.step_count == self._start_step:
            return
        try:
            for kind in self._states:
                suffix = "" if len(self._states) == 1 else f"-{kind}"
                self._save(self.autosave_dir / f"run-{self.id}{suffix}", kind=kind)
        except Exception as e:  # noqa: BLE001 — a full disk must not kill the run
            self._notice = f"autosave failed: {e}"


def _incompatibility(kind: str, prior: Prior) -> str | None:
    return get_kind(kind).prior_incompatibility(prior)


def _record_on_curve(history: History, key: str, value: float) -> None:
    """Metrics sampled at publish time go on the curve at the latest recorded step."""
    if key not in history.columns:
        history.columns[key] = [math.nan] * len(history.columns["step"])
    if history.columns["step"]:
        history.columns[key][-1] = value


def default_max_running() -> int:
    """One training job per GPU; on a CPU, one per core but one (the UI needs a core too)."""
    if torch.cuda.is_available():
        return max(1, torch.cuda.device_count())
    return max(1, (os.cpu_count() or 1) - 1)


class JobRegistry:
    """All jobs of this process. Thread-safe; shared by every browser session.

    * ``max_running`` jobs train at once; the others wait in FIFO order with status "queued".
    * A reaper thread pauses (and autosaves) running jobs nobody has polled for ``idle_pause``
      seconds, and forgets ended or paused jobs nobody has polled for ``idle_forget`` seconds.
    """

    def __init__(self, *, max_running: int | None = None, idle_pause: float = 600.0,
                 idle_forget: float = 3600.0, reap_interval: float = 5.0,
                 autosave_dir: str | os.PathLike | None = None, options: JobOptions = JobOptions()) -> None:
        self.max_running = max_running or default_max_running()
        self.idle_pause = idle_pause
        self.idle_forget = idle_forget
        self.reap_interval = reap_interval
        self.autosave_dir = autosave_dir
        self.options = options
        self._jobs: dict[str, TrainingJob] = {}
        self._running: set[str] = set()
        self._waiting: list[str] = []
        self._cond = threading.Condition()
        self._reaper: threading.Thread | None = None
        self._closed = False

    # ---------------------------------------------------------------- jobs
    def create(self, config: RunConfig, *, options: JobOptions | None = None, **kwargs: Any) -> TrainingJob:
        """Create and start a job (it queues if the cap is reached)."""
        job = TrainingJob(config, options=options or self.options, autosave_dir=self.autosave_dir,
                          slot=self._acquire, release=self._release, queue_position=self.queue_position,
                          **kwargs)
        with self._cond:
            if self._closed:
                raise RuntimeError("the job registry is shut down")
            self._jobs[job.id] = job
            self._ensure_reaper()
        return job.start()

    def get(self, job_id: str | None) -> TrainingJob | None:
        if not job_id:
            return None
        with self._cond:
            return self._jobs.get(job_id)

    def jobs(self) -> list[TrainingJob]:
        with self._cond:
            return list(self._jobs.values())

    def remove(self, job_id: str, *, timeout: float = 10.0) -> None:
        """Stop a job and forget it."""
        with self._cond:
            job = self._jobs.pop(job_id, None)
        if job is not None:
            job.stop(wait=True, timeout=timeout)

    @property
    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    def queue_position(self, job: TrainingJob) -> int:
        with self._cond:
            return self._waiting.index(job.id) + 1 if job.id in self._waiting else 0

    # ---------------------------------------------------------------- slots
    def _acquire(self, job: TrainingJob) -> bool:
        with self._cond:
            self._waiting.append(job.id)
            try:
                while not (self._waiting[0] == job.id and len(self._running) < self.max_running):
                    if job._stop_requested or self._closed:
                        raise JobStopped()
                    if not job._want_running:
                        return False
                    job._publish_bare(QUEUED)
                    self._cond.wait(0.25)
                self._running.add(job.id)
                return True
            finally:
                self._waiting.remove(job.id)
                self._cond.notify_all()

    def _release(self, job: TrainingJob) -> None:
        with self._cond:
            self._running.discard(job.id)
            self._cond.notify_all()

    # ---------------------------------------------------------------- reaping
    def _ensure_reaper(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(target=self._reap_loop, name="aae-registry-reaper", daemon=True)
            self._reaper.start()

    def _reap_loop(self) -> None:
        while True:
            with self._cond:
                if self._closed or not self._jobs:
                    self._reaper = None
                    return
                self._cond.wait(self.reap_interval)
            self.reap()

    def reap(self) -> None:
        """Pause idle running jobs; forget long-idle ended ones (called periodically)."""
        now = time.monotonic()
        forget = []
        for job in self.jobs():
            idle = now - job.last_polled
            status = job.peek().status
            if status in (RUNNING, QUEUED) and idle > self.idle_pause:
                job.pause()  # pausing autosaves (see TrainingJob)
            elif idle > self.idle_forget and status not in (RUNNING, QUEUED, LOADING):
                forget.append(job.id)
        for job_id in forget:
            self.remove(job_id)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every job and wait for their threads (tests, process exit)."""
        with self._cond:
            self._closed = True
            jobs = list(self._jobs.values())
            self._jobs.clear()
            self._cond.notify_all()
        for job in jobs:
            job.stop()
        for job in jobs:
            job.join(timeout)
