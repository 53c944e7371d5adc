"""What a page may read about a training run: the run's options, its statuses, and the immutable
``Snapshot`` a job publishes (with one ``ModelView`` per model it trains).

Every array in a snapshot is a read-only copy: later training never writes into an earlier snapshot,
so a page can keep one as long as it likes without a lock.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..config import RunConfig

QUEUED, LOADING, RUNNING, PAUSED, STOPPED, FAILED, DONE = (
    "queued", "loading", "running", "paused", "stopped", "failed", "done")
ACTIVE_STATES = (QUEUED, LOADING, RUNNING, PAUSED)


@dataclass(frozen=True)
class JobOptions:
    snapshot_interval: float = 0.25     # seconds between snapshots (≈ 4 per second)
    detail_interval: float = 1.0        # seconds between heavy extras: D(z) grid, generator arrows, k-NN
    weights_interval: float = 2.0       # seconds between decoder-weight copies for the browser
    referee_interval: float = 2.0       # seconds between referee evaluations (a k-NN: tens of ms)
    referee_smoothing: int = 5          # the smoothed referee is the mean of this many latest evaluations
    max_publish_share: float = 0.05     # publishing may take at most this share of wall time
    history_len: int = 1000             # points kept per curve (older ones are thinned 2:1)
    n_eval: int = 1000                  # held-out codes shown and scored (fewer if the test set is smaller)
    n_grid: int = 100                   # decoded digits from fixed prior noise (10 × 10)
    d_grid_resolution: int = 48         # D(z) heatmap resolution
    n_arrows: int = 60                  # codes whose generator push is drawn
    knn_train_codes: int = 2000         # training codes used as k-NN reference
    # Autosave at least once a minute (issue 10: a crash loses at most a minute); 0: only on
    # pause, stop and failure.
    autosave_every: float = 60.0
    guard: bool = True                  # pause on divergence or collapse (aae.jobs.guard)
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

    def record_latest(self, key: str, value: float) -> None:
        """A metric sampled at publish time goes on the curve at the latest recorded step."""
        if key not in self.columns:
            self.columns[key] = [math.nan] * len(self.columns["step"])
        if self.columns["step"]:
            self.columns[key][-1] = value

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
    # The referee (aae.probes.fit_evaluation): k-NN two-sample accuracy of the held-out codes against
    # the fixed prior sample; 0.5 = it cannot tell q(z) from p(z). Computed on a time schedule.
    referee: float | None = None                # latest evaluation
    referee_smooth: float | None = None         # mean of the latest JobOptions.referee_smoothing evaluations
    referee_curve: np.ndarray | None = None     # (n, 2): step, accuracy of every evaluation (bounded)


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
    # Set when the job paused itself because training diverged or collapsed (plain words);
    # ``TrainingJob.restore_good_weights()`` brings back the weights of ``good_step``.
    alarm: str | None = None
    good_step: int | None = None        # step of the last good weights kept (None: none kept yet)
    details_pending: bool = False       # the first snapshot of a run: codes now, D(z), k-NN and weights next
    # (n_eval, Z) the primary model's codes just before the latest Step or Next phase, row for row
    # with ``codes``: where each code moved from (the live chart's ghosts). None once training moves on.
    moved_from: np.ndarray | None = None

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
    referee = property(lambda self: self.view.referee)
    referee_smooth = property(lambda self: self.view.referee_smooth)


def freeze(a: np.ndarray | None) -> np.ndarray | None:
    """Mark an array read-only (in place) and return it."""
    if a is not None:
        a.flags.writeable = False
    return a
