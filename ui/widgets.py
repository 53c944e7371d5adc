"""Page blocks: the page header, flashed messages, the objective, the Train page's run and live
panels, the phase strip and the shared sidebar.

Pages call these and stay thin. Run controls live in ``ui.controls``, live fragments in ``ui.live``,
setup widgets in ``ui.setup``; this module builds the Train page from them and draws what every
page shares (the header, the sidebar).
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
import streamlit as st

from aae import losses
from aae.config import ConfigError
from aae.checkpoints import CheckpointError
from aae.data import DATASETS, DatasetUnavailable
from aae.jobs import FAILED, PAUSED, QUEUED, RUNNING, Snapshot, TrainingJob
from aae.kinds import get_kind
from aae.priors import PRIORS, make_prior
from aae.train import adversarial_recipe, device_description, resolve_device
from ui import charts, controls, live, presenter, setup, state, texts


# =================================================================================== every page

def page_style() -> None:
    """Less empty space above the title, so that the live view fits on a projected screen."""
    st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.2rem}.st-key-aae_identity{display:none}</style>")


def header(title: str, intro: tuple[str, ...]) -> None:
    """A page's title and the two lines under it that say what is on screen. A page that runs
    without the frame (a fresh server's first visitor on a deep link) reruns inside it first."""
    if state.needs_frame():
        st.rerun()
    st.title(title)
    with st.container(key="aae_intro"):     # presenter mode gives its room to the picture (ui.presenter)
        st.markdown("  \n".join(intro))


def details(snap: Snapshot | None = None, *, decoders: tuple[str, ...] = ()) -> None:
    """The run's and its decoders' ids, folded away unless asked for (engineering detail, not part
    of the lesson): a collapsed expander. ``snap``: its run and every model's decoder; ``decoders``:
    decoder ids of a source without a snapshot (the Explorer's)."""
    versions = list(decoders) + ([v.decoder_version for v in snap.models.values() if v.decoder_version]
                                 if snap is not None else [])
    with st.container(key="aae_details"), st.expander(texts.GLOSSARY_DETAILS):
        if snap is not None:
            st.markdown(texts.DETAILS_RUN.format(run_id=snap.job_id))
        if versions:
            st.markdown(texts.DETAILS_DECODERS.format(ids=", ".join(f"`{v}`" for v in versions)))


def flash_messages() -> None:
    """Messages queued by this session's own actions (nobody else sees them)."""
    for kind, text in state.pop_flashes():
        getattr(st, kind)(text)


# =================================================================================== the objective

# Which losses of ``aae.losses`` each phase of a kind's table minimises; the formulas shown are
# their docstrings' formula blocks, so the page shows what the trainer computes.
PHASE_LOSSES = {
    "reconstruction": (losses.reconstruction_loss,),
    "discriminator": (losses.discriminator_loss,),
    "generator": (losses.generator_loss,),
}


def formula(fn) -> str:
    """The indented formula block of a loss's docstring (``L_D = …``)."""
    lines = inspect.getdoc(fn).splitlines()
    return "\n".join(line[4:] for line in lines if line.startswith("    ") and line.strip())


def objective(kind: str, prior: str, train) -> list[tuple[str, str, str]]:
    """(phase, formula, what) for each phase of ``kind``, as the trainer runs it with this prior and
    these settings: the R1 penalty joins the discriminator's loss when the recipe turns it on."""
    penalty = adversarial_recipe(train, make_prior(prior, dim=2), get_kind(kind)).d_penalty
    out = []
    for phase in get_kind(kind).phase_names:
        parts = [formula(fn) for fn in PHASE_LOSSES.get(phase, ())]
        what = texts.PHASE_LOSS_WORDS.get(phase, "")
        if phase == "discriminator" and penalty > 0:
            parts.append(f"+ {formula(losses.r1_penalty)}   with γ = {penalty:g}")
            what += " " + texts.R1_WORDS
        out.append((phase, "\n".join(parts), what))
    return out


def explanations(snap: Snapshot | None) -> None:
    """The objective, phase by phase, from the trainer's own losses, and what good curves look like."""
    if snap is not None:
        kind, prior, train = snap.config.model.kind, snap.config.prior.name, snap.config.train
    else:
        kind, prior, train = "aae", setup.get("prior"), _train_or_default()
    with st.container(key="aae_objective"), st.expander(texts.OBJECTIVE_TITLE, icon=":material/functions:"):
        tab_objective, tab_good = st.tabs([texts.OBJECTIVE_TAB, texts.GOOD_LOOKS_LIKE_TAB])
        with tab_objective:
            st.markdown(texts.OBJECTIVE_INTRO_MD)
            for i, (phase, text, what) in enumerate(objective(kind, prior, train), 1):
                st.markdown(texts.PHASE_HEADING.format(i=i, phase=texts.PHASE_TITLES.get(phase, phase), what=what))
                st.code(text, language=None)
            st.markdown(texts.OBJECTIVE_OUTRO_MD)
        tab_good.markdown(texts.GOOD_LOOKS_LIKE_MD)


def _train_or_default():
    try:
        return setup.train_config()
    except ConfigError:
        from aae.config import TrainConfig
        return TrainConfig()


# =================================================================================== the Train page

def new_train_run(paused: bool) -> TrainingJob | None:
    """A new 2-D AAE run from the setup table (continuing a checkpoint when one is chosen).
    Problems become a flashed message and None, never an exception in a callback."""
    try:
        config, kwargs = setup.new_run_config("aae")
        return state.create_run(state.TRAIN, config, paused=paused, **kwargs)
    except (ConfigError, CheckpointError, DatasetUnavailable, OSError) as e:
        state.flash("error", texts.RUN_NOT_STARTED.format(error=texts.say(e)))
        return None


TRAIN = controls.RunSpec(slot=state.TRAIN, new_run=new_train_run)


def run_or_stop(job: TrainingJob | None, slot: state.Slot, no_run: str) -> Snapshot:
    """The guard clause of a training page: without a run, say what to press (``no_run``), offer the
    runs this browser started in ``slot``, and stop the page; with one, its banner and snapshot."""
    if job is None:
        st.info(no_run)
        reattach_offers(slot)
        st.stop()
    snap = state.run_snapshot(job)
    run_banner(snap)
    return snap


def run_banner(snap: Snapshot) -> None:
    """A failed or ended run says so above the live view (the sidebar repeats it on every page)."""
    if snap.status == FAILED and snap.error:
        st.error(texts.RUN_FAILED.format(error=texts.say(snap.error), what_to_do=texts.FAILED_WHAT_TO_DO), icon=":material/error:")
    elif not snap.active:
        st.info(texts.RUN_ENDED.format(status=snap.status), icon=":material/stop_circle:")


def phase_strip(snap: Snapshot) -> None:
    """The phases of a batch as boxes (from the run's phase table): the one just run highlighted,
    the next one dashed, and a sentence saying what just happened."""
    phases = snap.phases or get_kind(snap.config.model.kind).phase_names
    nxt = controls.next_phase(snap)
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
        f'data-step="{snap.step}"><span class="aae-label">{texts.ONE_BATCH}</span>'
        + '<span class="aae-arrow">→</span>'.join(boxes) + "</div>")
    title = lambda ph: texts.PHASE_TITLES.get(ph, ph)       # noqa: E731
    if snap.last_phase:
        text = texts.PHASE_DONE.format(phase=title(snap.last_phase), what=texts.PHASE_JUST_RAN.get(snap.last_phase, ""))
        following = (texts.PHASE_NEXT_BATCH if nxt == phases[0] else
                     texts.PHASE_NEXT_LAST if nxt == phases[-1] else texts.PHASE_NEXT_MID)
        st.markdown(f"{text} *{following.format(phase=title(nxt).lower())}*")
    elif snap.status == RUNNING:
        with st.container(key="aae_phase_hint"):     # presenter mode gives its room to the picture
            st.caption(texts.RUNNING_PHASES.format(n=len(phases)))
    elif snap.status == PAUSED:
        with st.container(key="aae_phase_hint"):
            st.caption(texts.PAUSED_PHASES.format(phase=title(nxt).lower()))


def train_live_view(job: TrainingJob, beside=None) -> None:
    """q(z) over p(z) (left), counters, curves and digit grids (right): four live panels, the
    scatter and counters fast, curves and images (heavier for the browser, slower to change) slowly.
    ``beside()`` draws above the counters (presenter mode: the phase strip and the network)."""
    left, right = st.columns([1.3, 1], gap="large")
    with left:
        live.live_view(job, latent_panel)
    with right:
        if beside is not None:
            beside()
        live.live_view(job, metrics_panel, idle_watch=False)
    with left:
        live.live_view(job, recon_panel, every=live.DETAIL_REFRESH_S, idle_watch=False)
    with right:
        live.live_view(job, detail_panel, every=live.DETAIL_REFRESH_S, idle_watch=False)


def class_names(snap: Snapshot) -> tuple[str, ...] | None:
    info = DATASETS.get(snap.config.data.name)
    return info.class_names if info else None


def latent_panel(snap: Snapshot) -> None:
    if live.waiting_notice(snap):
        return
    chosen = layer_pills()
    with st.container(key="aae_latent"):   # CSS class st-key-aae_latent: tests and scripts find the chart
        charts.latent_chart(snap, layers := charts.Layers.from_names(chosen), key="latent_plot",
                            class_names=class_names(snap), size=presented_latent_size(layers))
    if moved := charts.move_caption(snap):
        with st.container(key="aae_ghosts"):
            st.caption(moved)


def layer_pills() -> list[str]:
    """The latent plot's layers to show (``charts.LAYERS`` names), named in the session's language."""
    return st.pills(texts.LAYERS_LABEL, charts.LAYERS, selection_mode="multi", key=state.K.LAYERS,
                    format_func=lambda name: texts.LAYER_NAMES.get(name, name), help=texts.HELP_LAYERS)


def presented_latent_size(layers: charts.Layers) -> int | None:
    """The live scatter's size in presenter mode (None: the chart's own default)."""
    if not presenter.presenting():
        return None
    return charts.PRESENT_LATENT_SIZE_WITH_MARGINALS if layers.marginals else charts.PRESENT_LATENT_SIZE


def metrics_panel(snap: Snapshot) -> None:
    status_metrics(snap)
    if snap.notice:
        st.caption(f":material/info: {texts.say(snap.notice)}")


def status_metrics(snap: Snapshot) -> None:
    """Step · epoch · steps/s · the referee, each in a keyed container (``st-key-aae_step`` …)
    so that tests and scripts can read them; the alarm, when the job paused itself, above them."""
    if snap.alarm:
        st.warning(texts.ALARM.format(alarm=texts.say(snap.alarm)), icon=":material/warning:")
    referee = snap.referee_smooth
    cols = st.columns(4)
    with cols[0].container(key="aae_step"):
        st.metric(texts.METRIC_STEP, f"{snap.step:,}", help=texts.HELP_STEP_METRIC)
    with cols[1].container(key="aae_epoch"):
        st.metric(texts.METRIC_EPOCH, f"{snap.epoch:.1f}", help=texts.HELP_EPOCH_METRIC)
    with cols[2].container(key="aae_speed"):
        st.metric(texts.METRIC_SPEED, f"{snap.steps_per_sec:.1f}" if snap.status == RUNNING else "—",
                  help=texts.HELP_SPS_METRIC)
    with cols[3].container(key="aae_fit"):
        if referee is None:
            st.metric(texts.REFEREE_LABEL, "—", help=texts.HELP_REFEREE_METRIC)
        else:
            good = referee <= texts.REFEREE_GOOD
            st.metric(texts.REFEREE_LABEL, f"{referee:.0%}",
                      delta=texts.FIT_GOOD if good else texts.FIT_TARGET.format(good=f"{texts.REFEREE_GOOD:.0%}"),
                      delta_color="normal" if good else "off", delta_arrow="off", help=texts.HELP_REFEREE_METRIC)
    if referee is not None:
        sw = snap.latest.get("prior_fit")
        st.caption(texts.REFEREE_SENTENCE.format(pct=f"{referee:.0%}",
                                                 sw="—" if sw is None else f"{sw:.2f}"))


def detail_panel(snap: Snapshot) -> None:
    if snap.codes is None:
        return
    for name, spec in charts.shared_curves_specs(snap).items():
        st.vega_lite_chart(spec=spec, key=f"curve_{name}", width="stretch", height=charts.CURVE_HEIGHT)
    st.caption(texts.CAPTION_CURVES)
    if snap.samples is not None:
        st.html(charts.shared_image_grid_html(snap, "samples", lambda: snap.samples, 10, name="samples",
                                              alt="decoded prior samples"))
        st.caption(texts.CAPTION_SAMPLES)


def recon_panel(snap: Snapshot) -> None:
    if snap.recon_inputs is None or snap.recon_outputs is None:
        return
    st.html(charts.shared_image_grid_html(
        snap, "recon", lambda: np.concatenate([snap.recon_inputs, snap.recon_outputs]),   # (2·n, 28, 28)
        len(snap.recon_inputs), name="reconstructions", alt="test digits and their reconstructions"))
    st.caption(texts.CAPTION_RECON)


def no_run_view(prior: str, slot: state.Slot = state.TRAIN, no_run: str = "NO_RUN") -> None:
    """What the live area shows before the first run: the chosen p(z), what to press (the text
    ``texts.<no_run>``, in the words of the mode: ``presenter.no_run``), and the runs this browser
    started that lost their link."""
    pic, words = st.columns([1, 2], gap="large", vertical_alignment="center")
    with pic:
        st.image(charts.prior_preview_png(prior), width=280,
                 caption=texts.PRIOR_PREVIEW.format(prior=texts.PRIOR_NAMES.get(prior, PRIORS[prior].display_name)))
    with words:
        st.info(presenter.no_run(no_run))
        reattach_offers(slot)


def reattach_offers(slot: state.Slot) -> None:
    """One button per run this browser started in ``slot`` that the server still has."""
    jobs = state.started_here(slot)
    if not jobs:
        return
    st.markdown(texts.REATTACH_TITLE)
    for job in jobs[:5]:
        snap = job.peek()
        prior = PRIORS[snap.config.prior.name].display_name if snap.config.prior.name in PRIORS else ""
        st.button(texts.REATTACH_BUTTON.format(run_id=job.id, prior=prior, step=f"{snap.step:,}", status=snap.status), icon=":material/link:",
                  key=f"reattach_{job.id}", on_click=state.attach, args=(slot, job.id), help=texts.HELP_REATTACH)


# =================================================================================== sidebar

@functools.lru_cache(maxsize=1)
def default_device() -> str:
    """What a new run would train on (CPU, or the GPU's name)."""
    try:
        return device_description(resolve_device("auto"))
    except Exception as e:  # noqa: BLE001 — a broken CUDA install must not break the page
        return f"unknown ({e})"


def sidebar_status() -> None:
    """Each slot's run (status, watching or controlling, share links, error and what to do), the
    device and the server's load — the same for the Train and the Compare run."""
    shown = [(slot, state.current_job(slot)) for slot in state.SLOTS.values()]
    shown = [(slot, job) for slot, job in shown if job is not None]
    device = None
    with st.sidebar:
        with st.container(key="aae_status"):
            if not shown:
                st.markdown(texts.NO_RUN_IN_TAB)
            for slot, job in shown:
                snap = state.run_snapshot(job)
                device = device or snap.device
                st.markdown(texts.SIDEBAR_RUN.format(title=texts.SLOT_TITLES.get(slot.name, slot.title), run_id=job.id,
                                                     status=texts.STATUS_LABELS.get(snap.status, snap.status)))
        for slot, job in shown:
            _run_status(slot, job, state.run_snapshot(job))
        reg = state.registry()
        queued = sum(1 for j in reg.jobs() if j.peek().status == QUEUED)
        st.caption(texts.SERVER_LOAD.format(device=texts.say(device or default_device()), running=reg.running_count,
                                            cap=reg.max_running, queued=queued, loaded=len(reg.loaded()),
                                            max_loaded=reg.max_loaded))
        state.identity_cookie()
        st.divider()


def _run_status(slot: state.Slot, job: TrainingJob, snap: Snapshot) -> None:
    in_control = state.controls(job.id)
    with st.container(key=f"aae_status_{slot.name}"):
        if not in_control:
            st.caption(texts.WATCHING_SIDEBAR.format(title=texts.SLOT_TITLES.get(slot.name, slot.title)))
        elif others := state.other_viewers(job.id):
            st.caption((texts.OTHER_TABS if others > 1 else texts.OTHER_TAB).format(n=others))
        if snap.status == FAILED and snap.error:
            st.error(texts.say(snap.error))
            st.caption(texts.FAILED_WHAT_TO_DO)
        elif snap.status in ("stopped", "done"):
            st.caption(texts.RUN_ENDED.format(status=snap.status))
        watch = state.watch_link(job.id, slot)
        st.caption(texts.SHARE_LINK.format(url=watch))
        if (control := state.control_link(job.id, slot)) is not None:
            with st.popover(texts.HAND_OVER, icon=":material/key:", help=texts.HELP_CONTROL_LINK):
                st.caption(texts.CONTROL_LINK_WORDS)
                st.code(control, language=None)
