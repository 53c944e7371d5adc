"""The live view every training page uses: ``@st.fragment(run_every=…)`` reading a run's latest
snapshot, standing still (``run_every=None``) while the run is idle.

    live.live_view(job, render)                              # render(snap) ≈3× a second while it moves
    live.live_view(job, details, every=live.DETAIL_REFRESH_S, idle_watch=False)

``render(snap)`` draws from the snapshot only (never a model: heavy work happens in the job thread)
and must stay fast (< 100 ms, DESIGN.md §4). When something changes that the rest of the page
shows — the run's status, its prior, its error (the *live signature*) — the fragment reruns the
whole page instead, so buttons, sidebar and refresh timers follow. While a run is paused, one small
fragment per page (``idle_watch``) notices steps, resumes or prior switches made from another tab.
Watchers refresh more slowly than the browser that controls the run (``watcher_interval``: at most
every 0.7 s by default, ``$AAE_WATCHER_REFRESH_S``), and the charts of a snapshot version are built
once for all its viewers (``charts.prepared``): issue 10 §8, each refresh of each watcher costs the
training thread its interpreter for a moment.
"""

from __future__ import annotations

from typing import Callable

import os

import streamlit as st

from aae.jobs import LOADING, PAUSED, QUEUED, RUNNING, Snapshot, TrainingJob
from ui import state, texts

REFRESH_S = 0.35            # scatters and counters: ≈3 refreshes a second while a run is active
DETAIL_REFRESH_S = 1.0      # curves and digit grids change slowly; fewer refreshes spare the browser
IDLE_POLL_S = 2.0           # paused run: how often to look for changes made from another tab
WATCHER_SLOWDOWN = 2.0      # a watcher's refresh interval, relative to the controlling browser's …
WATCHER_REFRESH_S = 0.7     # … and never shorter than this ($AAE_WATCHER_REFRESH_S); 0.7 s, the fast panels' 2 × 0.35 s:
                            # README run E (30 watchers, runs in a worker process: 1.28 updates/s each, training 0.67×)
MOVING_STATES = (QUEUED, LOADING, RUNNING)   # the live view refreshes; paused and ended runs stand still

Render = Callable[[Snapshot], None]


def live_view(job: TrainingJob, render: Render, *, every: float = REFRESH_S, idle_watch: bool = True) -> None:
    """Draw ``render(snap)`` in a fragment that reruns every ``every`` seconds while ``job`` moves
    (queued, loading, training) and not at all otherwise; with ``idle_watch``, a paused run is
    checked every ``IDLE_POLL_S`` for changes made elsewhere. Call it once per panel: each call is
    its own fragment, so panels can refresh at their own pace."""
    job.snapshot()                      # counts as watching (the registry pauses runs nobody watches)
    snap = state.run_snapshot(job)
    interval = every if state.controls(job.id) else watcher_interval(every)
    st.fragment(_live, run_every=interval if snap.status in MOVING_STATES else None)(job.id, signature(snap),
                                                                                      render)
    if idle_watch and snap.status == PAUSED:
        st.fragment(_idle_watch, run_every=IDLE_POLL_S)(job.id, _idle_signature(snap))


def watcher_interval(every: float) -> float:
    """A watcher's refresh interval for a panel the controlling browser refreshes every ``every`` s:
    ``max(every · WATCHER_SLOWDOWN, $AAE_WATCHER_REFRESH_S or WATCHER_REFRESH_S)``."""
    try:
        floor = float(os.environ.get("AAE_WATCHER_REFRESH_S", WATCHER_REFRESH_S))
    except ValueError:
        floor = WATCHER_REFRESH_S
    return max(every * WATCHER_SLOWDOWN, floor if floor > 0 else WATCHER_REFRESH_S)


def signature(snap: Snapshot) -> tuple:
    """What, when it changes under a live fragment, needs the whole page redrawn."""
    return snap.status, snap.config.prior.name, snap.error


def _idle_signature(snap: Snapshot) -> tuple:
    # the details of a paused run (codes, decoder weights, the first k-NN number) may arrive after
    # its status: they count, so that a paused page fills in once they do
    details = tuple((v.codes is None, v.decoder_weights is None, len(v.latest)) for v in snap.models.values())
    return (snap.status, snap.step, snap.phase_index, snap.last_phase, snap.config.prior.name, snap.speed,
            snap.error, details)


def _live(job_id: str, sig: tuple, render: Render) -> None:
    job = state.registry().get(job_id)
    if job is None:
        st.rerun()
    snap = job.snapshot()
    if signature(snap) != sig:
        st.rerun()
    render(snap)


def _idle_watch(job_id: str, sig: tuple) -> None:
    """While paused, notice changes made from another tab (resume, step, prior, stop) and redraw."""
    job = state.registry().get(job_id)
    if job is None or _idle_signature(job.snapshot()) != sig:
        st.rerun()


# ------------------------------------------------------------------------------------ shared notices

def _runs(n: int) -> str:
    return texts.RUN_COUNT["one" if n == 1 else "many"].format(n=n)


def queued_notice(snap: Snapshot) -> None:
    """While a run waits for a training slot: how many are ahead, and the server's cap."""
    if snap.status != QUEUED:
        return
    reg = state.registry()
    ahead = max(snap.queue_position - 1, 0) + reg.running_count
    st.info(texts.QUEUED.format(ahead=_runs(ahead), cap=_runs(reg.max_running)))


def waiting_notice(snap: Snapshot) -> bool:
    """The queued or loading notice; True when the run has nothing to draw yet."""
    queued_notice(snap)
    if snap.codes is None:
        if snap.status != QUEUED:
            st.info(texts.LOADING if snap.active else texts.NO_MODEL)
        return True
    return False


def status_line(snap: Snapshot, *, per_step: str = "") -> str:
    """``**status** · step · epoch · steps/s``: one line, the same on every page."""
    parts = [f"**{texts.STATUS_LABELS.get(snap.status, snap.status)}**", texts.STATUS_STEP.format(step=f"{snap.step:,}"),
             texts.STATUS_EPOCH.format(epoch=f"{snap.epoch:.1f}")]
    if snap.status == RUNNING:
        parts.append(texts.STATUS_SPEED.format(sps=f"{snap.steps_per_sec:.1f}") + per_step)
    return " · ".join(parts)
