"""Background training: one ``TrainingJob`` per run, each in its own daemon thread, publishing
immutable ``Snapshot``s that the UI polls; ``JobRegistry`` caps and reaps them.

    snapshot.py   statuses, ``JobOptions``, ``Snapshot`` / ``ModelView`` (what a page may read)
    job.py        ``TrainingJob``: the thread, its commands as methods, publishing, failures, autosave
    guard.py      divergence and collapse detection (the job pauses; the CLI stops)
    proxy.py      ``JobProxy``: the same interface, the job running in a worker process of its own
    registry.py   ``JobRegistry``: the slot queue, the reaper; jobs in threads or worker processes

What a snapshot measures on a model (codes, the referee, D(z), the generator push) is ``aae.probes``.
"""

from .guard import Guard, GuardSettings
from .job import JobStopped, Slots, TrainingJob
from .proxy import JobProxy
from .registry import JobRegistry, RegistryFull, default_max_loaded, default_max_running
from .snapshot import (ACTIVE_STATES, DONE, FAILED, LOADING, PAUSED, QUEUED, RUNNING, STOPPED, History, JobOptions,
                       ModelView, Snapshot)

__all__ = ["ACTIVE_STATES", "DONE", "FAILED", "Guard", "GuardSettings", "History", "JobOptions", "JobProxy",
           "JobRegistry", "JobStopped", "LOADING", "ModelView", "PAUSED", "QUEUED", "RUNNING", "RegistryFull", "STOPPED",
           "Slots", "Snapshot", "TrainingJob", "default_max_loaded", "default_max_running"]
