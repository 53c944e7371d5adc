"""Reusable Streamlit blocks: setup widgets, the run-controls bar, the phase strip, the live view
(fragments polling a job's snapshot), the sidebar status block and the explanations.

Pages call these and stay thin. Controls act through ``on_click`` / ``on_change`` callbacks, which
Streamlit runs *before* the next script run, so everything drawn afterwards (sidebar status, labels,
the live view) already reflects the action. The live view never touches a model: fragments read
``job.snapshot()`` and rerun on a timer only while the run is active (DESIGN.md §4).
"""

from __future__ import annotations

import functools
import io
import zipfile
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st

from aae import checkpoints as ckpt
from aae.config import ConfigError, PriorConfig
from aae.data import DATASETS, DatasetUnavailable, download_dataset, is_available
from aae.jobs import FAILED, LOADING, PAUSED, QUEUED, RUNNING, Snapshot, TrainingJob
from aae.models import PRESET_HIDDEN
from aae.priors import PRIORS
from aae.train import device_description, resolve_device
from ui import charts, state, texts
from ui.state import K

LIVE_REFRESH_S = 0.35       # q(z) scatter and counters: ≈3 refreshes a second while a run is active
DETAIL_REFRESH_S = 1.0      # curves and digit grids change slowly; fewer refreshes spare the browser
IDLE_POLL_S = 2.0           # paused run: how often to look for changes made from another tab
COMMAND_TIMEOUT_S = 3.0     # play / pause / prior: the job thread answers between two batches
STEP_TIMEOUT_S = 30.0       # a step on a run that is still loading waits for the load
SAVE_TIMEOUT_S = 60.0
CHECKPOINT_LIST_TTL_S = 5.0
PLOT_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d", "toImage"]}  # Plotly charts
MOVING_STATES = (QUEUED, LOADING, RUNNING)   # the live view refreshes; paused and ended runs stand still
CHECKPOINT_GROUPS = {"shipped": "", "extra": "", "saved": "saved:", "autosave": "autosave:"}

NewRun = Callable[[bool], "TrainingJob | None"]   # paused -> the new run (None: failed, message flashed)


# =================================================================================== text blocks

def page_style() -> None:
    """Less empty space above the title, so that the live view fits on a projected screen."""
    st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.2rem}</style>")


def intro(lines: tuple[str, ...]) -> None:
    """The two lines under a page title that say what is on screen."""
    st.markdown("  \n".join(lines))


def explanations() -> None:
    """The AAE objective in LaTeX and what "good" looks like on each curve."""
    with st.expander("The AAE objective, and what good curves look like", icon=":material/functions:"):
        objective, good = st.tabs(["The objective, phase by phase", "What good looks like"])
        objective.markdown(texts.OBJECTIVE_MD)
        good.markdown(texts.GOOD_LOOKS_LIKE_MD)


def flash_messages() -> None:
    for kind, text in state.pop_flashes():
        getattr(st, kind)(text)


# =================================================================================== setup widgets

def prior_select(key: str = K.PRIOR, *, label: str = "Prior p(z)", on_change: Callable | None = None,
                 preview: bool = True, disabled: bool = False) -> str:
    """Dropdown of every prior in the registry, with a small picture of the chosen p(z)."""
    names = list(PRIORS)
    state.ensure_choice(key, names)
    name = st.selectbox(label, names, key=key, format_func=lambda n: PRIORS[n].display_name,
                        help=texts.HELP_PRIOR, on_change=on_change, disabled=disabled)
    if preview:
        pic, words = st.columns([1, 1.7], vertical_alignment="center")
        pic.image(charts.prior_preview_png(name), width=80)
        words.caption(PRIORS[name].description)
    return name


def dataset_select(key: str = K.DATASET, *, disabled: bool = False) -> tuple[str, bool]:
    """Dataset dropdown; a dataset that is not on this machine gets a download button with a
    progress bar (offline, the download fails with the message of ``DatasetUnavailable``).
    Returns (name, available)."""
    names = list(DATASETS)
    state.ensure_choice(key, names)
    name = st.selectbox("Dataset", names, key=key, format_func=lambda n: DATASETS[n].display_name,
                        help=texts.HELP_DATASET, disabled=disabled)
    if disabled:
        st.caption("From the checkpoint.")
        return name, True
    if is_available(name):
        st.caption(":material/check_circle: On this machine.")
        return name, True
    st.caption(f"Not on this machine yet. {DATASETS[name].description}")
    if st.button(f"Download {DATASETS[name].display_name}", icon=":material/download:", key=f"download_{name}",
                 help=texts.HELP_DOWNLOAD):
        return name, _download(name)
    return name, False


def _download(name: str) -> bool:
    bar = st.progress(0.0, text=f"Downloading {DATASETS[name].display_name}…")
    try:
        download_dataset(name, progress=lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0),
                                                                             text=message))
    except DatasetUnavailable as e:
        bar.empty()
        st.error(str(e))
        return False
    bar.empty()
    st.success(f"{DATASETS[name].display_name} is ready.")
    return is_available(name)


def preset_select(key: str = K.PRESET, *, disabled: bool = False) -> str:
    presets = list(PRESET_HIDDEN)
    state.ensure_choice(key, presets)

    def label(p: str) -> str:
        sizes = "-".join(str(h) for h in PRESET_HIDDEN[p])
        return f"{p} · 784-{sizes}-z"

    value = st.selectbox("Network", presets, key=key, format_func=label, help=texts.HELP_PRESET, disabled=disabled)
    st.caption("From the checkpoint." if disabled else ("Fast: the teaching default." if value == "small"
                                                         else "The paper's size: slower on a CPU."))
    return value


@st.cache_data(ttl=CHECKPOINT_LIST_TTL_S, show_spinner=False)
def _checkpoint_options(dirs: tuple[tuple[str, str], ...], kind: str, latent_dim: int) -> list[tuple[str, str]]:
    """(json path, label) of the usable checkpoints in ``dirs``; newest autosaves first, at most 5."""
    out: list[tuple[str, str]] = []
    for group, d in dirs:
        infos = [i for i in ckpt.list_checkpoints(d) if i.kind == kind and i.latent_dim == latent_dim]
        if group == "autosave":
            infos = sorted(infos, key=lambda i: i.created_at, reverse=True)[:5]
        for info in infos:
            prior = PRIORS[info.prior].display_name if info.prior in PRIORS else info.prior
            out.append((str(info.path), f"{CHECKPOINT_GROUPS.get(group, '')} {info.name} — {prior}, "
                                        f"{info.dataset}, step {info.step:,}".strip()))
    return out


def start_from_select(key: str = K.START_FROM, *, kind: str = "aae", latent_dim: int = state.LATENT_DIM) -> str:
    """Random weights, or a checkpoint (shipped, saved, autosaved) to continue training."""
    dirs = tuple((group, str(path)) for group, path in state.checkpoint_dirs())
    options = _checkpoint_options(dirs, kind, latent_dim)
    labels = {"": "Random weights (from scratch)", **dict(options)}
    state.ensure_choice(key, labels)
    value = st.selectbox("Start from", list(labels), key=key, format_func=labels.get, help=texts.HELP_START_FROM)
    if not options:
        st.caption(f"No saved {kind.upper()} checkpoints yet: shipped ones live in `checkpoints/`, "
                   f"saved ones in `{state.user_checkpoint_dir()}`.")
    elif value:
        st.caption("Continues training that model.")
    return value


def advanced_settings() -> None:
    """Learning rates, batch size, the discriminator's noise, steps and penalty, and the seed (they apply
    to the next run)."""
    st.caption("Advanced")
    lr = dict(min_value=1e-5, max_value=1e-1, step=1e-4, format="%.1e")
    c = st.columns(2)
    c[0].number_input("LR reconstruction", key=K.LR_RECON, help=texts.HELP_LR_RECON, **lr)
    # Empty = the prior's tuned value (aae.train.PRIOR_RECIPES), shown as the placeholder.
    c[1].number_input("LR discriminator", key=K.LR_DISC, help=texts.HELP_LR_DISC, placeholder="auto (per prior)",
                      **lr)
    c = st.columns(2)
    c[0].number_input("LR generator", key=K.LR_GEN, help=texts.HELP_LR_GEN, placeholder="auto (per prior)", **lr)
    c[1].number_input("Batch size", key=K.BATCH, min_value=10, max_value=1000, step=10, help=texts.HELP_BATCH)
    c = st.columns(2)
    c[0].number_input("D input noise", key=K.NOISE, min_value=0.0, max_value=2.0, step=0.05, format="%.2f",
                      help=texts.HELP_NOISE)
    c[1].number_input("Seed", key=K.SEED, min_value=0, max_value=2**31 - 1, step=1, help=texts.HELP_SEED)
    c = st.columns(2)
    c[0].number_input("D steps per batch", key=K.DISC_STEPS, min_value=1, max_value=10, step=1,
                      help=texts.HELP_DISC_STEPS)
    c[1].number_input("D gradient penalty", key=K.PENALTY, min_value=0.0, max_value=100.0, step=0.5,
                      format="%.1f", placeholder="auto (per prior)", help=texts.HELP_PENALTY)


def run_setup() -> state.Setup:
    """What applies to the next run, in an expander: dataset, network, start from, advanced
    settings (the prior, switchable live, is ``prior_select``)."""
    s = state.setup()
    from_checkpoint = bool(s.start_from)
    data = DATASETS[s.dataset].display_name if s.dataset in DATASETS else s.dataset
    summary = "from a checkpoint" if from_checkpoint else f"{data} · {s.preset}"
    with st.expander(f"Run setup: {summary}", icon=":material/tune:"):
        st.caption("Applies to the next run (Start, or Reset).")
        dataset_select(K.DATASET, disabled=from_checkpoint)
        preset_select(K.PRESET, disabled=from_checkpoint)
        start_from_select(K.START_FROM)
        advanced_settings()
    return state.setup()


def new_train_run(paused: bool) -> TrainingJob | None:
    """A new 2-D AAE run from the Train page's setup (continuing a checkpoint when one is chosen).
    Problems become a flashed message and None, never an exception in a callback."""
    s = state.setup()
    try:
        config = s.run_config()
        kwargs = {}
        if s.start_from:
            loaded = ckpt.load_checkpoint(s.start_from)
            model_cfg = loaded.config.model
            if model_cfg.kind != "aae" or model_cfg.latent_dim != state.LATENT_DIM:
                raise ConfigError(f"this page trains 2-D AAEs; the checkpoint is a {model_cfg.latent_dim}-D "
                                  f"{model_cfg.kind.upper()}")
            config = loaded.config.replace(prior=config.prior, train=config.train)
            kwargs = {"model": loaded.model, "start_step": loaded.step}
        if not is_available(config.data.name):
            raise DatasetUnavailable(f"{DATASETS[config.data.name].display_name} is not on this machine: "
                                     f"download it first (button under *Dataset*), or choose MNIST 5k.")
        job = state.create_run(config, paused=paused, **kwargs)
    except (ConfigError, ckpt.CheckpointError, DatasetUnavailable, OSError) as e:
        state.flash("error", f"Could not start a run: {e}")
        return None
    if s.speed is not None:
        job.set_speed(s.speed)
    return job


def on_prior_change() -> None:
    """Swap p(z) of the running run live (the codes then migrate to the new shape)."""
    job = state.current_job()
    if job is None or not job.peek().active:
        return
    name = state.setup().prior
    try:
        job.set_prior(PriorConfig(name=name)).result(timeout=COMMAND_TIMEOUT_S)
    except FutureTimeout:
        state.flash("info", f"The prior switches to {PRIORS[name].display_name} as soon as the run is ready.")
    except (ConfigError, RuntimeError) as e:
        state.flash("error", f"Could not switch the prior: {e}")


def _on_speed_change() -> None:
    job = state.current_job()
    if job is not None and job.peek().active:
        job.set_speed(state.setup().speed)


# =================================================================================== run controls

def _snap(job: TrainingJob | None) -> Snapshot | None:
    return state.run_snapshot(job) if job is not None else None


def run_controls(job: TrainingJob | None, new_run: NewRun, *, phases: bool = True) -> None:
    """The controls, stacked for a sidebar: Start / Pause / Resume, Step one batch, Next phase,
    Reset, speed, save.

    ``new_run(paused)`` creates the run that Start, Step and Reset need when there is none (the
    page decides what a run is); ``phases=False`` hides phase stepping (models with one phase).
    """
    snap = _snap(job)
    active = snap is not None and snap.active
    queued = snap is not None and snap.status == QUEUED
    _play_button(job, snap, new_run)
    st.button("Step one batch", icon=":material/skip_next:", key="ctl_step", on_click=_step, args=(new_run, False),
              help=texts.HELP_STEP, width="stretch", disabled=queued)
    if phases:
        nxt = _next_phase(snap)
        st.button(f"Next phase: {texts.PHASE_TITLES.get(nxt, nxt)}", icon=":material/redo:", key="ctl_phase",
                  on_click=_step, args=(new_run, True), help=texts.HELP_PHASE, width="stretch", disabled=queued)
    st.button("Reset", icon=":material/restart_alt:", key="ctl_reset", on_click=_reset, args=(new_run,),
              help=texts.HELP_RESET, width="stretch", disabled=job is None)
    st.select_slider("Speed", options=list(texts.SPEED_CHOICES), key=K.SPEED, help=texts.HELP_SPEED,
                     on_change=_on_speed_change)
    _save_popover(job, snap, active)


def _play_button(job: TrainingJob | None, snap: Snapshot | None, new_run: NewRun) -> None:
    common = dict(key="ctl_play", type="primary", width="stretch")
    if snap is None or not snap.active:
        label = "Start training" if snap is None else "Start a new run"
        st.button(label, icon=":material/play_arrow:", on_click=_start, args=(new_run,), help=texts.HELP_PLAY, **common)
    elif snap.status in (RUNNING, QUEUED):
        st.button("Pause", icon=":material/pause:", on_click=_pause, args=(job.id,), help=texts.HELP_PAUSE, **common)
    elif snap.status == LOADING:
        st.button("Loading…", icon=":material/hourglass_top:", disabled=True, help=texts.LOADING, **common)
    else:
        label = "Start training" if snap.elapsed == 0 else "Resume"
        st.button(label, icon=":material/play_arrow:", on_click=_play, args=(job.id,), help=texts.HELP_PLAY, **common)


def _next_phase(snap: Snapshot | None) -> str:
    if snap is None or not snap.phases:
        return "reconstruction"
    return snap.phases[snap.phase_index % len(snap.phases)]


def _start(new_run: NewRun) -> None:
    new_run(False)


def _play(job_id: str) -> None:
    job = state.registry().get(job_id)
    if job is None:
        return
    job.play()
    _wait_status(job, lambda s: s.status in (RUNNING, QUEUED) or not s.active)


def _pause(job_id: str) -> None:
    job = state.registry().get(job_id)
    if job is None:
        return
    job.pause()                                   # a queued run leaves the queue, paused
    _wait_status(job, lambda s: s.status not in (RUNNING, QUEUED))


def _wait_status(job: TrainingJob, predicate) -> None:
    """Give the job thread a moment to act, so the page that follows shows the new state. One more
    publish is awaited after the status changes: the job announces a pause with its previous
    snapshot's numbers (a few steps old) and publishes the final ones right after."""
    try:
        snap = job.wait_for(predicate, timeout=COMMAND_TIMEOUT_S)
        job.wait_for(lambda s: s.version > snap.version, timeout=COMMAND_TIMEOUT_S)
    except TimeoutError:
        pass


def _step(new_run: NewRun, phase_only: bool) -> None:
    """One batch (or one phase) on the session's run; without an active run, on a new paused one."""
    job = state.current_job()
    if job is None or not job.peek().active:
        job = new_run(True)
        if job is None:
            return
    try:
        (job.step_phase() if phase_only else job.step_batch()).result(timeout=STEP_TIMEOUT_S)
    except FutureTimeout:
        state.flash("info", "The run is still loading; the step runs as soon as it is ready.")
    except RuntimeError as e:
        state.flash("warning", f"Could not step: {e}")


def _reset(new_run: NewRun) -> None:
    old = state.current_job()
    if old is not None and old.peek().active:
        old.stop()
    new_run(True)


# ----------------------------------------------------------------------------------- saving

def _save_popover(job: TrainingJob | None, snap: Snapshot | None, active: bool) -> None:
    has_model = snap is not None and snap.codes is not None
    with st.popover("Save", icon=":material/save:", help=texts.HELP_SAVE, disabled=not has_model, width="stretch"):
        if not has_model:
            return
        st.text_input("Folder", key=K.SAVE_DIR, help=texts.HELP_SAVE_DIR)
        st.text_input("Name", key=K.SAVE_NAME, placeholder=_default_name(snap), help=texts.HELP_SAVE_NAME)
        if active:
            st.button("Save checkpoint", key="ctl_save", on_click=_save, args=(job.id,), type="primary",
                      help=texts.HELP_SAVE)
        path = state.last_saved()
        if not active and snap.saved_path:
            st.caption("This run has ended; its final weights were saved automatically.")
            path = snap.saved_path
        if path and Path(path).is_file():
            st.caption(f"Saved: `{path}`")
            st.download_button("Download (.zip)", icon=":material/download:",
                               data=functools.partial(_zip_checkpoint, path),
                               file_name=Path(path).with_suffix(".zip").name, mime="application/zip",
                               key="ctl_download", help="Both files of the checkpoint, zipped.")


def _default_name(snap: Snapshot) -> str:
    return f"aae-{snap.config.prior.name}-step{snap.step}"


def _save(job_id: str) -> None:
    job = state.registry().get(job_id)
    if job is None:
        return
    snap = job.peek()
    folder, name = state.save_target()
    name = name or _default_name(snap)
    if Path(name).name != name:
        state.flash("error", "The name must be a plain file name (no folders).")
        return
    try:
        path = job.save(folder / name).result(timeout=SAVE_TIMEOUT_S)
    except (OSError, RuntimeError, FutureTimeout) as e:
        state.flash("error", f"Could not save the checkpoint: {e}")
        return
    state.set_last_saved(path)
    state.flash("success", f"Checkpoint saved: `{path}` (and its `.safetensors`). Download it from the Save menu.")


def _zip_checkpoint(json_path: str) -> bytes:
    js = Path(json_path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for p in (js, js.with_suffix(".safetensors")):
            z.write(p, p.name)
    return buf.getvalue()


# =================================================================================== phase strip

def run_banner(snap: Snapshot) -> None:
    """A failed or ended run says so above the live view (the sidebar repeats it on every page)."""
    if snap.status == FAILED and snap.error:
        st.error(f"**This run failed.** {snap.error}\n\n{texts.FAILED_WHAT_TO_DO}", icon=":material/error:")
    elif not snap.active:
        st.info(texts.RUN_ENDED.format(status=snap.status), icon=":material/stop_circle:")



def phase_strip(snap: Snapshot) -> None:
    """The three phases of a batch as boxes: the one just run highlighted, the next one dashed,
    and a sentence saying what just happened."""
    phases = snap.phases or ("reconstruction", "discriminator", "generator")
    nxt = _next_phase(snap)
    boxes = []
    for i, ph in enumerate(phases):
        cls = "aae-phase" + (" last" if ph == snap.last_phase else "") + (" next" if ph == nxt else "")
        boxes.append(f'<span class="{cls}" data-phase="{ph}">{i + 1} · {texts.PHASE_TITLES.get(ph, ph)}</span>')
    st.html(
        "<style>.aae-phases{display:flex;align-items:center;gap:.45rem;flex-wrap:wrap;margin:.1rem 0}"
        ".aae-phase{padding:.25rem .7rem;border-radius:.45rem;border:2px solid #d5d5de;background:#f6f6f9;"
        "color:#555;font-weight:600;font-size:.95rem}"
        ".aae-phase.next{border-style:dashed;border-color:#8a8aa0}"
        ".aae-phase.last{border:2px solid #ff4b4b;background:#ffecec;color:#a00}"
        ".aae-arrow{color:#999}.aae-label{color:#666;font-size:.95rem}</style>"
        f'<div class="aae-phases" data-last-phase="{snap.last_phase or ""}" data-next-phase="{nxt}" '
        f'data-step="{snap.step}"><span class="aae-label">One batch =</span>'
        + '<span class="aae-arrow">→</span>'.join(boxes) + "</div>")
    if snap.last_phase:
        text = f"**{texts.PHASE_TITLES[snap.last_phase]} phase just ran.** {texts.PHASE_JUST_RAN[snap.last_phase]}"
        st.markdown(f"{text} *{texts.PHASE_NEXT[nxt]}*")
    elif snap.status == RUNNING:
        st.caption("Training runs all three phases on every batch. Pause, then use **Next phase** to run them "
                   "one at a time (dashed box = the phase that runs next).")
    elif snap.status == PAUSED:
        st.caption(f"Paused. **Next phase** runs the {texts.PHASE_TITLES[nxt].lower()} phase alone; "
                   f"**Step one batch** runs what is left of the batch.")


# =================================================================================== live view

def live_view(job: TrainingJob) -> None:
    """q(z) over p(z) (left), counters, curves and digit grids (right). Each part is a fragment that
    polls the job's snapshot while the run is active and stands still otherwise; the counters and
    the scatter refresh fast, curves and images (heavier for the browser, slower to change) slowly."""
    job.snapshot()                      # counts as watching
    snap = _snap(job)
    moving = snap.status in MOVING_STATES
    fast = LIVE_REFRESH_S if moving else None
    slow = DETAIL_REFRESH_S if moving else None
    left, right = st.columns([1.3, 1], gap="large")
    with left:
        st.fragment(_latent_panel, run_every=fast)(job.id, _live_signature(snap))
        st.fragment(_recon_panel, run_every=slow)(job.id)
    with right:
        st.fragment(_metrics_panel, run_every=fast)(job.id, _live_signature(snap))
        st.fragment(_detail_panel, run_every=slow)(job.id)
    if snap.status == PAUSED:
        st.fragment(_idle_watch, run_every=IDLE_POLL_S)(job.id, _idle_signature(snap))


def _live_signature(snap: Snapshot) -> tuple:
    """What, when it changes under a live fragment, needs the whole page redrawn (buttons, sidebar)."""
    return snap.status, snap.config.prior.name, snap.error


def _idle_signature(snap: Snapshot) -> tuple:
    return (snap.status, snap.step, snap.phase_index, snap.last_phase, snap.config.prior.name, snap.speed,
            snap.error)


def _idle_watch(job_id: str, signature: tuple) -> None:
    """While paused, notice changes made from another tab (resume, step, prior, stop) and redraw."""
    job = state.registry().get(job_id)
    if job is None or _idle_signature(job.snapshot()) != signature:
        st.rerun()


def _live_snapshot(job_id: str, signature: tuple) -> Snapshot:
    """The run's latest snapshot for a live fragment; redraws the whole page instead when the run
    is gone or its status changed (buttons, sidebar and refresh timers must follow)."""
    job = state.registry().get(job_id)
    if job is None:
        st.rerun()
    snap = job.snapshot()
    if _live_signature(snap) != signature:
        st.rerun()
    return snap


def _latent_panel(job_id: str, signature: tuple) -> None:
    snap = _live_snapshot(job_id, signature)
    if snap.status == QUEUED:
        reg = state.registry()
        ahead = max(snap.queue_position - 1, 0) + reg.running_count
        st.info(texts.QUEUED.format(ahead=_runs(ahead), cap=_runs(reg.max_running)))
    if snap.codes is None:
        if snap.status != QUEUED:
            st.info(texts.LOADING if snap.active else "This run has no model to show.")
        return
    chosen = st.pills("Layers on the plot", charts.LAYERS, selection_mode="multi", key=K.LAYERS,
                      help=texts.HELP_LAYERS)
    info = DATASETS.get(snap.config.data.name)
    spec = charts.latent_spec(snap, charts.Layers.from_names(chosen), info.class_names if info else None)
    with st.container(key="aae_latent"):   # CSS class st-key-aae_latent: tests and scripts find the chart
        st.vega_lite_chart(spec=spec, key="latent_plot", width="content")


def _metrics_panel(job_id: str, signature: tuple) -> None:
    snap = _live_snapshot(job_id, signature)
    status_metrics(snap)
    if snap.notice:
        st.caption(f":material/info: {snap.notice}")


def _runs(n: int) -> str:
    return f"{n} run" + ("" if n == 1 else "s")


def status_metrics(snap: Snapshot) -> None:
    """Step · epoch · steps/s · prior-fit ratio, each in a keyed container (``st-key-aae_step`` …)
    so that tests and scripts can read them."""
    fit = snap.latest.get("prior_fit")
    cols = st.columns(4)
    with cols[0].container(key="aae_step"):
        st.metric("Step", f"{snap.step:,}", help=texts.HELP_STEP_METRIC)
    with cols[1].container(key="aae_epoch"):
        st.metric("Epoch", f"{snap.epoch:.1f}", help=texts.HELP_EPOCH_METRIC)
    with cols[2].container(key="aae_speed"):
        st.metric("Steps / s", f"{snap.steps_per_sec:.1f}" if snap.status == RUNNING else "—",
                  help=texts.HELP_SPS_METRIC)
    with cols[3].container(key="aae_fit"):
        if fit is None:
            st.metric("Prior fit", "—", help=texts.HELP_FIT_METRIC)
        else:
            good = fit <= texts.PRIOR_FIT_GOOD
            st.metric("Prior fit", f"{fit:.2f}", delta="good fit" if good else f"target ≤ {texts.PRIOR_FIT_GOOD}",
                      delta_color="normal" if good else "off", delta_arrow="off", help=texts.HELP_FIT_METRIC)


def _detail_panel(job_id: str) -> None:
    job = state.registry().get(job_id)
    if job is None:
        return
    snap = job.peek()  # the fast fragments already count as watching
    if snap.codes is None:
        return
    for name, spec in charts.curves_specs(snap.history).items():
        st.vega_lite_chart(spec=spec, key=f"curve_{name}", width="stretch", height=charts.CURVE_HEIGHT)
    st.caption(texts.CAPTION_CURVES)
    if snap.samples is not None:
        st.html(charts.image_grid_html(snap.samples, 10, name="samples", alt="decoded prior samples"))
        st.caption(texts.CAPTION_SAMPLES)


def _recon_panel(job_id: str) -> None:
    job = state.registry().get(job_id)
    if job is None:
        return
    snap = job.peek()
    if snap.recon_inputs is None or snap.recon_outputs is None:
        return
    pair = np.concatenate([snap.recon_inputs, snap.recon_outputs])               # (2·n, 28, 28)
    st.html(charts.image_grid_html(pair, len(snap.recon_inputs), name="reconstructions",
                                   alt="test digits and their reconstructions"))
    st.caption(texts.CAPTION_RECON)


def no_run_view(prior: str) -> None:
    """What the live area shows before the first run: the chosen p(z) and what to press."""
    pic, words = st.columns([1, 2], gap="large", vertical_alignment="center")
    with pic:
        st.image(charts.prior_preview_png(prior), width=280,
                 caption=f"p(z): {PRIORS[prior].display_name} — the shape the codes will be pulled into")
    with words:
        st.info(texts.NO_RUN)


# =================================================================================== sidebar

@functools.lru_cache(maxsize=1)
def default_device() -> str:
    """What a new run would train on (CPU, or the GPU's name)."""
    try:
        return device_description(resolve_device("auto"))
    except Exception as e:  # noqa: BLE001 — a broken CUDA install must not break the page
        return f"unknown ({e})"


def sidebar_status() -> None:
    """Device, the run's status (and error, with what to do), sharing and the server's load."""
    job = state.current_job()
    snap = _snap(job)
    with st.sidebar:
        with st.container(key="aae_status"):
            if snap is None:
                st.markdown("**No training run yet** in this tab (Train page).")
            else:
                st.markdown(f"**{texts.STATUS_LABELS.get(snap.status, snap.status)}** · run `{job.id}`")
        if snap is not None:
            if state.is_watching(job.id):
                st.info(texts.WATCHING)
            elif others := state.other_viewers(job.id):
                st.caption(f":material/group: Also open in {others} other tab{'s' if others > 1 else ''}.")
            if snap.status == FAILED and snap.error:
                st.error(snap.error)
                st.caption(texts.FAILED_WHAT_TO_DO)
            elif snap.status in ("stopped", "done"):
                st.caption(texts.RUN_ENDED.format(status=snap.status))
            st.caption(f"Share to watch live: [{_share_link(job.id)}]({_share_link(job.id)})")
        device = snap.device if snap is not None and snap.device else default_device()
        reg = state.registry()
        queued = sum(1 for j in reg.jobs() if j.peek().status == QUEUED)
        st.caption(f":material/memory: **{device}** · training {reg.running_count} of at most "
                   f"{reg.max_running} · queued {queued}")
        st.divider()


def _share_link(run_id: str) -> str:
    try:
        base = (st.context.url or "").split("?")[0]
    except Exception:  # noqa: BLE001 — no browser context (tests, bare mode)
        base = ""
    return f"{base}?run={run_id}"
