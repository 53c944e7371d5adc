"""``JobRegistry``: every job of this process, thread-safe, shared by every browser session.

* ``workers``: each job trains in a thread of this process (``"thread"``: ``TrainingJob``) or in a
  child process of its own (``"process"``: ``JobProxy``, same interface; the dashboard's default, so
  that pages never compete with training for the interpreter).
* At most ``max_running`` jobs train at once; the others wait in FIFO order with status "queued".
  Jobs ask for a slot through the registry's public slot interface (``acquire`` / ``release`` /
  ``position`` / ``ended``: the ``aae.jobs.job.Slots`` protocol); the registry reads nothing of a
  job but its public attributes.
* A reaper thread pauses (and so autosaves) running jobs nobody has polled for ``idle_pause``
  seconds, autosaves and unloads paused ones idle for ``idle_unload`` seconds, and forgets ended
  jobs nobody has polled for ``idle_forget`` seconds (0: as soon as they end). At most
  ``max_ended`` ended jobs are kept; each holds only its last snapshot.
* At most ``max_loaded`` jobs hold a model in memory (every job that has not ended: in process
  mode each is a worker process of its own, about 0.5 GB). A new job first makes room by unloading
  the paused or finished jobs looked at least recently (each autosaves first, so its owner can go
  on from the autosave); when every loaded job is training or waiting, ``create`` raises
  ``RegistryFull`` with a message that says so, and nothing is started.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

import torch

from ..config import RunConfig
from ..messages import Message
from .job import TrainingJob
from .proxy import JobProxy
from .snapshot import DONE, PAUSED, QUEUED, RUNNING, JobOptions

WORKERS = {"thread": TrainingJob, "process": JobProxy}   # where a job trains (``JobRegistry(workers=...)``)
# What one loaded job holds, with some headroom: a paused run of the Train page in a worker process
# has 508 MB of its own (USS, Linux, the CUDA build of torch: benchmarks/loaded_runs.py), since a
# worker imports torch, NumPy and scikit-learn for itself; a thread shares the server's and holds only
# its model, data and snapshots (issue 10: 10 paused jobs in threads, +740 MB).
BYTES_PER_LOADED_JOB = {"process": 600 * 2**20, "thread": 100 * 2**20}
LOADED_MEMORY_SHARE = 0.5     # the share of the machine's memory that loaded jobs may take by default
MAX_LOADED_DEFAULT_CAP = 64


class RegistryFull(RuntimeError):
    """``create`` found ``max_loaded`` jobs in memory and none of them paused or finished."""


def total_memory_bytes() -> int | None:
    """The machine's physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def default_max_loaded(workers: str, max_running: int, memory: int | None = None) -> int:
    """How many jobs may hold a model at once: ``LOADED_MEMORY_SHARE`` of the machine's memory over
    what one job holds, at least two per training slot (a paused run beside each training one) and
    at most ``MAX_LOADED_DEFAULT_CAP``."""
    memory = total_memory_bytes() if memory is None else memory
    by_memory = MAX_LOADED_DEFAULT_CAP if not memory else int(memory * LOADED_MEMORY_SHARE
                                                              // BYTES_PER_LOADED_JOB[workers])
    return max(2 * max_running, min(MAX_LOADED_DEFAULT_CAP, by_memory))


def default_max_running() -> int:
    """One training job per GPU; on a CPU, one per core but one (the UI needs a core too)."""
    if torch.cuda.is_available():
        return max(1, torch.cuda.device_count())
    return max(1, (os.cpu_count() or 1) - 1)


class JobRegistry:
    """All jobs of this process. Thread-safe; shared by every browser session."""

    def __init__(self, *, max_running: int | None = None, idle_pause: float = 600.0,
                 idle_unload: float = 1800.0, idle_forget: float = 300.0, max_ended: int = 20,
                 reap_interval: float = 5.0, autosave_dir: str | os.PathLike | None = None,
                 options: JobOptions = JobOptions(), workers: str = "thread",
                 max_loaded: int | None = None) -> None:
        if workers not in WORKERS:
            raise ValueError(f"workers must be one of {', '.join(WORKERS)}, not {workers!r}")
        if max_loaded is not None and max_loaded < 1:
            raise ValueError(f"max_loaded must be at least 1 (or None for the default), not {max_loaded!r}")
        self.workers = workers
        self.max_running = max_running or default_max_running()
        self.max_loaded = max_loaded or default_max_loaded(workers, self.max_running)
        self.idle_pause = idle_pause
        self.idle_unload = idle_unload
        self.idle_forget = idle_forget
        self.max_ended = max_ended
        self.reap_interval = reap_interval
        self.autosave_dir = autosave_dir
        self.options = options
        self._cond = threading.Condition()          # an RLock inside: guards every field below
        self._jobs: dict[str, TrainingJob] = {}     # by id, in creation order
        self._running: set[str] = set()             # ids holding a slot
        self._waiting: list[str] = []               # ids waiting for a slot, first in first served
        self._ended: dict[str, float] = {}          # id -> monotonic time its thread ended
        self._unloading: set[str] = set()           # ids told to unload to make room, not yet ended
        self._reaper: threading.Thread | None = None
        self._closed = False
        self._create_lock = threading.Lock()        # one create (make room, then register) at a time

    # ---------------------------------------------------------------- jobs
    def create(self, config: RunConfig, *, options: JobOptions | None = None, **kwargs: Any) -> TrainingJob:
        """Create and start a job (it queues if the cap is reached). With ``max_loaded`` jobs in memory
        it first unloads idle paused or finished ones (``make_room``), or raises ``RegistryFull``."""
        with self._create_lock:  # two sessions pressing Start at once do not both take the last place
            self.make_room()
            job = WORKERS[self.workers](config, options=options or self.options, autosave_dir=self.autosave_dir,
                                        slots=self, **kwargs)
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
            self._ended.pop(job_id, None)
            self._unloading.discard(job_id)
        if job is not None:
            job.stop(wait=True, timeout=timeout)

    def loaded(self) -> list[TrainingJob]:
        """Jobs that hold a model in memory: not ended, and not already told to unload."""
        with self._cond:
            return [j for i, j in self._jobs.items() if i not in self._ended and i not in self._unloading]

    def make_room(self) -> None:
        """Bring the loaded jobs below ``max_loaded`` by unloading paused or finished ones, the one
        looked at least recently first (each autosaves and says why it was unloaded); raise
        ``RegistryFull`` when the rest are all training, waiting or loading."""
        loaded = self.loaded()
        excess = len(loaded) - self.max_loaded + 1
        if excess <= 0:
            return
        # paused and meant to stay so: a new run publishes "paused" once it is built, before it starts
        idle = sorted((j for j in loaded if j.peek().status in (PAUSED, DONE) and not j.wants_to_run),
                      key=lambda j: j.last_polled)
        if len(idle) < excess:
            raise RegistryFull(Message("registry.full", limit=self.max_loaded))
        for job in idle[:excess]:
            with self._cond:
                self._unloading.add(job.id)
            job.unload(for_room=True)

    @property
    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    def queue_position(self, job: TrainingJob | str) -> int:
        return self.position(job if isinstance(job, str) else job.id)

    # ---------------------------------------------------------------- the slot interface (aae.jobs.job.Slots)
    def acquire(self, job_id: str, *, keep_waiting: Callable[[], bool], on_wait: Callable[[], None]) -> bool:
        """Block until ``job_id`` is first in line and a slot is free (True), or until
        ``keep_waiting()`` turns False or the registry shuts down (False)."""
        with self._cond:
            self._waiting.append(job_id)
            try:
                while not (self._waiting[0] == job_id and len(self._running) < self.max_running):
                    if self._closed or not keep_waiting():
                        return False
                    on_wait()  # the job republishes its place in the queue
                    self._cond.wait(0.25)
                self._running.add(job_id)
                return True
            finally:
                self._waiting.remove(job_id)
                self._cond.notify_all()

    def release(self, job_id: str) -> None:
        with self._cond:
            self._running.discard(job_id)
            self._cond.notify_all()

    def position(self, job_id: str) -> int:
        """1-based place of ``job_id`` in the queue, 0 when it is not waiting."""
        with self._cond:
            return self._waiting.index(job_id) + 1 if job_id in self._waiting else 0

    def ended(self, job_id: str) -> None:
        """Called by a job's thread as it ends: forget it at once (``idle_forget`` ≤ 0) or note when."""
        with self._cond:
            self._running.discard(job_id)
            self._unloading.discard(job_id)
            if job_id not in self._jobs:
                return
            if self.idle_forget <= 0:
                self._jobs.pop(job_id, None)
                return
            self._ended[job_id] = time.monotonic()
            while len(self._ended) > self.max_ended:  # the oldest ended job goes first
                oldest = min(self._ended, key=self._ended.__getitem__)
                self._ended.pop(oldest)
                self._jobs.pop(oldest, None)
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
        """Pause idle running jobs, unload idle paused ones, forget idle ended ones (called periodically)."""
        now = time.monotonic()
        with self._cond:
            ended = dict(self._ended)
        forget = []
        for job in self.jobs():
            idle = now - job.last_polled
            if job.id in ended:
                if now - max(ended[job.id], job.last_polled) > self.idle_forget:
                    forget.append(job.id)
                continue
            status = job.peek().status
            if status in (RUNNING, QUEUED) and idle > self.idle_pause:
                job.pause()  # pausing autosaves
            elif status in (PAUSED, DONE) and idle > self.idle_unload:
                job.unload()  # autosaves; the job then ends, and is forgotten like any ended job
        for job_id in forget:
            self.remove(job_id)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every job and wait for their threads (tests, process exit)."""
        with self._cond:
            self._closed = True
            jobs = list(self._jobs.values())
            self._jobs.clear()
            self._ended.clear()
            self._cond.notify_all()
        for job in jobs:
            job.stop()
        for job in jobs:
            job.join(timeout)
