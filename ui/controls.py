"""The run controls every training page uses: play / pause, step one batch, next phase, reset, speed,
the live prior switch and save — one implementation, one pause semantics, one timeout type.

A page describes its runs once, as a ``RunSpec`` (its slot, how to make a new run, which controls
it has), and draws them with ``run_controls(job, spec)``::

    SPEC = controls.RunSpec(slot=state.TRAIN, new_run=new_train_run)
    job = state.current_job(SPEC.slot)
    with st.sidebar:
        controls.prior_select(SPEC)
        controls.run_controls(job, SPEC)

Controls act through ``on_click`` / ``on_change`` callbacks, which Streamlit runs *before* the next
script run, so everything drawn afterwards (sidebar status, labels, the live view) already shows the
action. **Only a browser that controls the run** (``state.controls``: it started the run, or opened
its control link) gets them; a watcher sees a "watching" label and one button that starts a run of
its own, which never touches the watched one.
"""

from __future__ import annotations

import functools
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import streamlit as st

from aae import checkpoints as ckpt
from aae.config import ConfigError, PriorConfig
from aae.jobs import LOADING, QUEUED, RUNNING, Snapshot, TrainingJob
from aae.priors import PRIORS
from ui import setup, state, texts

COMMAND_TIMEOUT_S = 3.0     # play / pause / prior: the job thread answers between two batches
STEP_TIMEOUT_S = 30.0       # a step on a run that is still loading waits for the load
SAVE_TIMEOUT_S = 60.0
MOVING_STATES = (QUEUED, LOADING, RUNNING)     # a live prior switch applies to these (not to a paused run)

NewRun = Callable[[bool], "TrainingJob | None"]    # paused -> the new run (None: failed, message flashed)


@dataclass(frozen=True)
class RunSpec:
    """What a page's runs are and which controls they get.

    ``new_run(paused)`` makes the run that Start, Step and Reset need (the page decides what a run
    is; problems are flashed, never raised). ``prefix`` names the buttons' keys (``ctl_play``,
    ``ctl_step``, ``ctl_phase``, ``ctl_reset``, ``ctl_save``), so tests and styles can find them.
    """

    slot: state.Slot
    new_run: NewRun
    phases: bool = True                     # "Next phase" (kinds with more than one phase)
    prefix: str = "ctl"
    # names of texts in ui.texts, looked up when drawn (in the session's language)
    start_label: str = "START_TRAINING"
    help_play: str = "HELP_PLAY"
    help_step: str = "HELP_STEP"
    help_reset: str = "HELP_RESET"
    help_speed: str = "HELP_SPEED"
    save: bool = True

    def k(self, name: str) -> str:
        return state.key(self.prefix, name)


# ==================================================================================== drawing

def run_controls(job: TrainingJob | None, spec: RunSpec, *, layout: str = "sidebar",
                 extra: Callable[[], None] | None = None) -> bool:
    """The controls of ``job`` (None: no run yet), stacked for a sidebar or in a ``layout="row"``;
    ``extra()`` draws page-specific buttons beside them (row) or below them (sidebar). Returns
    whether this session controls the run (True when there is none)."""
    snap = state.run_snapshot(job) if job is not None else None
    in_control = job is None or not snap.active or state.controls(job.id)
    if not in_control:
        _watching(spec)
        if extra is not None:
            extra()
        return False
    queued = snap is not None and snap.status == QUEUED
    if snap is not None and snap.alarm and snap.good_step is not None and job is not None:
        st.button(texts.RESTORE_GOOD.format(step=f"{snap.good_step:,}"), icon=":material/history:",
                  key=spec.k("restore"), on_click=_restore, args=(spec,), help=texts.HELP_RESTORE_GOOD,
                  type="primary", width="stretch")
    if layout == "row":
        # the run's own buttons in one row; save, the page's extra buttons and the speed in a second,
        # so that no label is cut in a page's main column
        cols = st.columns(3 + spec.phases, gap="small", vertical_alignment="bottom")
        second = st.columns([1, 1, 2] if extra is not None else [1, 3], gap="small", vertical_alignment="bottom")
        places = iter(cols + second)
    else:
        places = None

    def place():
        return next(places) if places is not None else st.container()

    with place():
        _play_button(job, snap, spec)
    with place():
        st.button(texts.STEP_ONE_BATCH, icon=":material/skip_next:", key=spec.k("step"), on_click=_step,
                  args=(spec, False), help=texts.text(spec.help_step), width="stretch", disabled=queued)
    if spec.phases:
        nxt = next_phase(snap)
        with place():
            st.button(texts.NEXT_PHASE.format(phase=texts.PHASE_TITLES.get(nxt, nxt)), icon=":material/redo:", key=spec.k("phase"),
                      on_click=_step, args=(spec, True), help=texts.HELP_PHASE, width="stretch", disabled=queued)
    with place():
        st.button(texts.RESET, icon=":material/restart_alt:", key=spec.k("reset"), on_click=_reset, args=(spec,),
                  help=texts.text(spec.help_reset), width="stretch", disabled=job is None)
    if layout == "row":
        with place():
            _save_popover(job, snap, spec)
    if extra is not None:
        with place():
            extra()
    with place():
        st.select_slider(texts.SPEED_LABEL, options=list(texts.SPEED_CHOICES), key=spec.slot.speed_key,
                         help=texts.text(spec.help_speed),
                         format_func=lambda label: texts.SPEED_LABELS.get(label, label),
                         on_change=_on_speed_change, args=(spec,))
    if layout != "row":
        _save_popover(job, snap, spec)
    return True


def _watching(spec: RunSpec) -> None:
    """A watcher's controls: the label and a way to train a run of one's own."""
    with st.container(key=spec.k("watching")):
        st.info(texts.WATCHING, icon=":material/visibility:")
    st.button(texts.START_OWN_RUN, icon=":material/play_arrow:", key=spec.k("play"), type="primary", width="stretch",
              on_click=_own_run, args=(spec,), help=texts.HELP_OWN_RUN)


def _play_button(job: TrainingJob | None, snap: Snapshot | None, spec: RunSpec) -> None:
    common = dict(key=spec.k("play"), type="primary", width="stretch")
    if snap is None or not snap.active:
        label = texts.text(spec.start_label) if snap is None else texts.START_NEW_RUN
        st.button(label, icon=":material/play_arrow:", on_click=new_run, args=(spec, False), help=texts.text(spec.help_play),
                  **common)
    elif snap.status in (RUNNING, QUEUED):
        st.button(texts.PAUSE, icon=":material/pause:", on_click=_pause, args=(job.id,), help=texts.HELP_PAUSE, **common)
    elif snap.status == LOADING:
        st.button(texts.LOADING_BUTTON, icon=":material/hourglass_top:", disabled=True, help=texts.LOADING, **common)
    else:
        label = texts.text(spec.start_label) if snap.elapsed == 0 else texts.RESUME
        st.button(label, icon=":material/play_arrow:", on_click=_play, args=(job.id,), help=texts.text(spec.help_play),
                  **common)


def next_phase(snap: Snapshot | None) -> str:
    """The phase that "Next phase" runs (the first one when there is no run)."""
    if snap is None or not snap.phases:
        return "reconstruction"
    return snap.phases[snap.phase_index % len(snap.phases)]


def prior_select(spec: RunSpec, **kwargs) -> str:
    """The prior dropdown of a page: it sets the next run's prior, and switches the prior of the
    shown run live while that run trains — only for those who control it. A paused or ended run
    keeps its prior (its name on saves and autosaves stays true)."""
    job = state.current_job(spec.slot)
    snap = state.run_snapshot(job) if job is not None else None
    name = setup.prior_select(spec.slot.prior_key, on_change=_on_prior_change, args=(spec,), **kwargs)
    if snap is not None and snap.config.prior.name != name:
        shown = PRIORS[snap.config.prior.name].display_name if snap.config.prior.name in PRIORS else "?"
        st.caption(texts.PRIOR_FOR_NEXT_RUN.format(run=shown, chosen=PRIORS[name].display_name))
    return name


# ==================================================================================== callbacks

def _controlled(slot: state.Slot) -> TrainingJob | None:
    """The slot's run when this session controls it and it is active, else None."""
    job = state.current_job(slot)
    if job is None or not job.peek().active or not state.controls(job.id):
        return None
    return job


def new_run(spec: RunSpec, paused: bool, make: NewRun | None = None) -> TrainingJob | None:
    """A new run of the page, made by ``make`` (default ``spec.new_run``): for a page's own buttons
    that start runs (Compare's "Shipped models"). The run it replaces is stopped only if this
    session controls it; a watched run is never touched."""
    old = _controlled(spec.slot)
    job = (make or spec.new_run)(paused)
    if job is not None and old is not None and old.id != job.id:
        old.stop()
    if job is not None:
        job.set_speed(state.speed(spec.slot.speed_key))
    return job


def _own_run(spec: RunSpec) -> None:
    new_run(spec, False)


def _reset(spec: RunSpec) -> None:
    new_run(spec, True)


def _play(job_id: str) -> None:
    job = _by_id(job_id)
    if job is not None:
        job.play()
        _settle(job, lambda s: s.status in (RUNNING, QUEUED) or not s.active)


def _pause(job_id: str) -> None:
    """Pause: a running run stops after its batch, a queued run leaves the queue; the page that
    follows shows the paused run's final numbers."""
    job = _by_id(job_id)
    if job is not None:
        job.pause()
        _settle(job, lambda s: s.status not in (RUNNING, QUEUED))


def _by_id(job_id: str) -> TrainingJob | None:
    job = state.registry().get(job_id)
    return job if job is not None and state.controls(job_id) else None


def _settle(job: TrainingJob, predicate) -> None:
    """Give the job thread a moment to act, so the page that follows shows the new state. One more
    publish is awaited after the status changes: the job announces a pause with its previous
    snapshot's numbers (a few steps old) and publishes the final ones right after."""
    try:
        snap = job.wait_for(predicate, timeout=COMMAND_TIMEOUT_S)
        job.wait_for(lambda s: s.version > snap.version, timeout=COMMAND_TIMEOUT_S)
    except TimeoutError:
        pass


def _restore(spec: RunSpec) -> None:
    """Bring back the weights the guard kept before the run diverged or collapsed."""
    job = _controlled(spec.slot)
    if job is None:
        return
    try:
        job.restore_good_weights().result(timeout=STEP_TIMEOUT_S)
    except (TimeoutError, RuntimeError) as e:
        state.flash("warning", texts.STEP_FAILED.format(error=e))
        return
    state.flash("success", texts.RESTORED_GOOD)


def _step(spec: RunSpec, phase_only: bool) -> None:
    """One batch (or one phase) on the session's run; without an active run of its own, on a new
    paused one."""
    job = _controlled(spec.slot) or new_run(spec, True)
    if job is None:
        return
    before = job.peek().version
    try:
        (job.step_phase() if phase_only else job.step_batch()).result(timeout=STEP_TIMEOUT_S)
    except TimeoutError:
        state.flash("info", texts.STEP_WAITS)
        return
    except RuntimeError as e:
        state.flash("warning", texts.STEP_FAILED.format(error=e))
        return
    # the step's own snapshot is published right after the step: the page that follows shows it
    try:
        job.wait_for(lambda s: s.version > before and s.codes is not None, timeout=COMMAND_TIMEOUT_S)
    except TimeoutError:
        pass


def _on_prior_change(spec: RunSpec) -> None:
    """Swap p(z) of the run live while it trains (the codes then migrate to the new shape)."""
    job = _controlled(spec.slot)
    if job is None or job.peek().status not in MOVING_STATES:
        return
    name = state.value(spec.slot.prior_key)
    try:
        job.set_prior(PriorConfig(name=name)).result(timeout=COMMAND_TIMEOUT_S)
    except TimeoutError:
        state.flash("info", texts.PRIOR_SWITCH_WAITS.format(prior=PRIORS[name].display_name))
    except (ConfigError, RuntimeError) as e:
        state.flash("error", texts.PRIOR_SWITCH_FAILED.format(error=e))


def _on_speed_change(spec: RunSpec) -> None:
    job = _controlled(spec.slot)
    if job is not None:
        job.set_speed(state.speed(spec.slot.speed_key))


# ==================================================================================== saving

def _save_popover(job: TrainingJob | None, snap: Snapshot | None, spec: RunSpec) -> None:
    if not spec.save:
        return
    has_model = snap is not None and snap.codes is not None
    with st.popover(texts.SAVE_LABEL, icon=":material/save:", help=texts.HELP_SAVE, disabled=not has_model, width="stretch"):
        if not has_model:
            return
        if len(job.kinds) > 1:
            state.ensure_choice(state.K.SAVE_MODEL, job.kinds, default=snap.primary)
            st.segmented_control(texts.SAVE_MODEL_LABEL, list(job.kinds), key=state.K.SAVE_MODEL, format_func=str.upper,
                                 help=texts.HELP_SAVE_MODEL)
        st.text_input(texts.SAVE_DIR_LABEL, key=state.K.SAVE_DIR, placeholder=str(ckpt.save_root()), help=texts.HELP_SAVE_DIR)
        st.text_input(texts.SAVE_NAME_LABEL, key=state.K.SAVE_NAME, placeholder=default_name(snap, _save_kind(job, snap)),
                      help=texts.HELP_SAVE_NAME)
        st.checkbox(texts.SAVE_REPLACE_LABEL, key=state.K.SAVE_REPLACE, help=texts.HELP_SAVE_REPLACE)
        if snap.active:
            st.button(texts.SAVE_BUTTON, key=spec.k("save"), on_click=_save, args=(job.id,), type="primary",
                      help=texts.HELP_SAVE)
        path = state.last_saved()
        if not snap.active and snap.saved_path:
            st.caption(texts.SAVED_AT_END)
            path = snap.saved_path
        if path and Path(path).is_file():
            st.caption(texts.SAVED_PATH.format(path=path))
            st.download_button(texts.DOWNLOAD_ZIP, icon=":material/download:",
                               data=functools.partial(_zip_checkpoint, path),
                               file_name=Path(path).with_suffix(".zip").name, mime="application/zip",
                               key=spec.k("download"), help=texts.HELP_DOWNLOAD_ZIP)


def _save_kind(job: TrainingJob, snap: Snapshot) -> str:
    chosen = state.value(state.K.SAVE_MODEL)
    return chosen if chosen in job.kinds else snap.primary


def default_name(snap: Snapshot, kind: str) -> str:
    return f"{kind}-{snap.config.prior.name}-step{snap.step}"


def _save(job_id: str) -> None:
    """Save under the app's save folder (``aae.checkpoints.resolve_save_path``: sanitised names,
    never an existing checkpoint without the explicit choice). Problems are told to this session
    only, in plain words."""
    job = _by_id(job_id)
    if job is None:
        state.flash("error", texts.SAVE_NOT_YOURS)
        return
    snap = job.peek()
    kind = _save_kind(job, snap)
    folder, name, replace = state.save_request()
    try:
        target = ckpt.resolve_save_path(folder.strip(), name.strip() or default_name(snap, kind), overwrite=replace)
        path = job.save(target, kind=kind, overwrite=replace).result(timeout=SAVE_TIMEOUT_S)
    except ckpt.CheckpointError as e:
        state.flash("error", texts.SAVE_REFUSED.format(error=e))
        return
    except (OSError, RuntimeError, ValueError, TimeoutError):
        state.flash("error", texts.SAVE_FAILED)
        return
    state.set_last_saved(path)
    state.assign(state.K.SAVE_REPLACE, False)       # the choice is for one save, never a standing one
    state.flash("success", texts.SAVED.format(path=path))


def _zip_checkpoint(json_path: str) -> bytes:
    js = Path(json_path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for p in (js, js.with_suffix(".safetensors")):
            z.write(p, p.name)
    return buf.getvalue()
