"""The Compare page's blocks: AE, VAE and AAE trained in lockstep (one job, ``kinds=KINDS``), their
three latent scatters on shared axes, a metrics table, and one probe decoded by all three decoders.

The job trains the three models on identical batches (same backbone, data order and seed; see
``aae.jobs.TrainingJob``). Everything here reads the job's snapshots: the scatters use each
model's ``ModelView``, the probe decodes with each model's published ``decoder_weights`` in numpy
(``aae.viz.decode_with_weights``), so the page never touches a live model.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from aae import checkpoints as ckpt
from aae import viz
from aae.classifier import DIGIT_DATASETS, load_classifier, score_images
from aae.config import ConfigError, PriorConfig, RunConfig
from aae.data import DATASETS
from aae.jobs import LOADING, QUEUED, RUNNING, Snapshot, TrainingJob
from aae.metrics import reconstruction_error
from aae.priors import PRIORS, make_prior
from aae.kinds import get_kind
from ui import charts, state, texts, widgets
from ui.components import latent_pad

KINDS = ("ae", "vae", "aae")
PRIMARY = "aae"                  # the job's primary model: the one that must be able to use the prior
LIVE_REFRESH_S = 0.5             # three scatters + table: twice a second while training
PROBE_REFRESH_S = 2.0            # decoders change at most every 2 s (JobOptions.weights_interval)
PANEL_HEIGHT = 330
HEADER_HEIGHT = 84               # title + a two-line blurb above each panel
PAD_HEIGHT = 330
PROBE_SCALE = 5                  # 28 px digits shown as 140 px

K_PRIOR = "setup.compare_prior"
K_SPEED = "controls.compare_speed"
K_AXES = "view.compare_axes"
K_MAP = "view.compare_map"
K_PAD = "compare.pad"
MAP_CHOICES = {"ae": "AE codes", "vae": "VAE codes", "aae": "AAE codes", "prior": "p(z) sample"}


def init() -> None:
    state.init_page_defaults({K_PRIOR: "gaussian", K_SPEED: state.speed_label(None), K_AXES: "prior",
                              K_MAP: "ae"})


# ==================================================================================== runs

def run_config(prior: str) -> RunConfig:
    """The comparison's run: the Train page's settings (dataset, network, learning rates, seed) with
    this page's prior; the AAE is primary, AE and VAE ride along on the same batches."""
    config = state.setup().run_config()
    return config.replace(prior=PriorConfig(name=prior), model=config.model.replace(kind=PRIMARY, latent_dim=2))


def _stop_current() -> None:
    old = state.current_compare_job()
    if old is not None and old.peek().active:
        old.stop()


def _speed() -> float | None:
    return texts.SPEED_CHOICES.get(st.session_state.get(K_SPEED))


def new_run(paused: bool) -> TrainingJob | None:
    """A fresh comparison from random weights (callbacks: problems are flashed, never raised)."""
    _stop_current()
    try:
        job = state.create_compare_run(run_config(st.session_state.get(K_PRIOR, "gaussian")), paused=paused,
                                       kinds=KINDS)
    except (ConfigError, OSError) as e:
        state.flash("error", f"Could not start the comparison: {e}")
        return None
    job.set_speed(_speed())
    return job


def shipped_names(prior: str) -> dict[str, list[str]]:
    """Checkpoint names to try for each model, best first: the AE ignores p(z); a VAE trained on
    this prior if one exists, else the Gaussian one."""
    return {"ae": ["ae"], "vae": [f"vae-{prior}", "vae-gaussian"], "aae": [f"aae-{prior}"]}


def _find_checkpoint(names: list[str]) -> Path | None:
    for name in names:
        for _, folder in state.checkpoint_dirs():
            path = folder / f"{name}.json"
            if path.is_file() and path.with_suffix(".safetensors").is_file():
                return path
    return None


def from_shipped() -> TrainingJob | None:
    """AE, VAE and AAE from the shipped checkpoints for the chosen prior, paused: instant panels."""
    prior = st.session_state.get(K_PRIOR, "gaussian")
    wanted = shipped_names(prior)
    paths = {kind: _find_checkpoint(names) for kind, names in wanted.items()}
    missing = [wanted[k][0] for k, p in paths.items() if p is None]
    if missing:
        state.flash("warning", texts.CMP_MISSING_CHECKPOINTS.format(names=", ".join(f"`{m}`" for m in missing)))
        return None
    try:
        loaded = {kind: ckpt.load_checkpoint(path) for kind, path in paths.items()}
        for kind, ck in loaded.items():
            cfg = ck.config.model
            if cfg.kind != kind or cfg.latent_dim != 2:
                raise ConfigError(f"{paths[kind].name} is a {cfg.latent_dim}-D {cfg.kind.upper()}, "
                                  f"the {kind.upper()} panel needs a 2-D {kind.upper()}")
            if (cfg.preset, ck.config.data.name) != (loaded[PRIMARY].config.model.preset,
                                                     loaded[PRIMARY].config.data.name):
                raise ConfigError(f"{paths[kind].name} was trained with another network or dataset than "
                                  f"{paths[PRIMARY].name}: a fair comparison needs the same ones")
        base = loaded[PRIMARY].config
        config = base.replace(prior=PriorConfig(name=prior), model=base.model.replace(kind=PRIMARY))
        _stop_current()
        job = state.create_compare_run(config, paused=True, kinds=KINDS,
                                       models={k: ck.model for k, ck in loaded.items()},
                                       start_step=loaded[PRIMARY].step)
    except (ckpt.CheckpointError, ConfigError, OSError) as e:
        state.flash("error", f"Could not load the shipped checkpoints: {e}")
        return None
    job.set_speed(_speed())
    vae_name = paths["vae"].stem
    if vae_name != wanted["vae"][0] and _vae_can_use(prior):
        vae_prior = loaded["vae"].config.prior.name
        state.flash("info", texts.CMP_VAE_FALLBACK.format(
            name=vae_name, prior=PRIORS[vae_prior].display_name if vae_prior in PRIORS else vae_prior))
    return job


def _vae_can_use(prior: str) -> bool:
    return get_kind("vae").prior_incompatibility(make_prior(prior)) is None


# ==================================================================================== controls

def _on_prior_change() -> None:
    """Swap p(z) of an active comparison live: AE and AAE follow, the VAE sits out if it must."""
    job = state.current_compare_job()
    if job is None or not job.peek().active:
        return
    name = st.session_state.get(K_PRIOR, "gaussian")
    try:
        job.set_prior(PriorConfig(name=name)).result(timeout=widgets.COMMAND_TIMEOUT_S)
    except (ConfigError, RuntimeError, TimeoutError) as e:
        state.flash("error", f"Could not switch the prior: {e}")


def _on_speed_change() -> None:
    job = state.current_compare_job()
    if job is not None and job.peek().active:
        job.set_speed(_speed())


def _play(job_id: str) -> None:
    job = state.registry().get(job_id)
    if job is not None:
        job.play()
        _wait(job, lambda s: s.status in (RUNNING, QUEUED) or not s.active)


def _pause(job_id: str) -> None:
    job = state.registry().get(job_id)
    if job is not None:
        job.pause()
        _wait(job, lambda s: s.status != RUNNING)


def _wait(job: TrainingJob, predicate) -> None:
    try:
        job.wait_for(predicate, timeout=widgets.COMMAND_TIMEOUT_S)
    except TimeoutError:
        pass


def _step() -> None:
    job = state.current_compare_job()
    if job is None or not job.peek().active:
        job = new_run(True)
        if job is None:
            return
    try:
        job.step_batch().result(timeout=widgets.STEP_TIMEOUT_S)
    except TimeoutError:
        state.flash("info", "The run is still loading; the step runs as soon as it is ready.")
    except RuntimeError as e:
        state.flash("warning", f"Could not step: {e}")


def setup_and_controls(job: TrainingJob | None) -> None:
    """Prior (left), the run's buttons and speed (right), the shared-axes choice."""
    snap = job.peek() if job is not None else None
    left, right = st.columns([1.1, 3], gap="large")
    with left:
        widgets.prior_select(K_PRIOR, label="Prior p(z) for all three", on_change=_on_prior_change)
    with right:
        b = st.columns(4, gap="small", vertical_alignment="bottom")
        common = dict(width="stretch")
        with b[0]:
            if snap is None or not snap.active:
                st.button("Train all three", icon=":material/play_arrow:", key="cmp_train", type="primary", on_click=new_run, args=(False,),
                          help=texts.HELP_CMP_TRAIN, **common)
            elif snap.status in (RUNNING, QUEUED):
                st.button("Pause", icon=":material/pause:", key="cmp_pause", type="primary", on_click=_pause, args=(job.id,),
                          help=texts.HELP_PAUSE, **common)
            elif snap.status == LOADING:
                st.button("⌛ Loading…", key="cmp_loading", type="primary", disabled=True, help=texts.LOADING,
                          **common)
            else:
                st.button("Resume", icon=":material/play_arrow:", key="cmp_resume", type="primary", on_click=_play, args=(job.id,),
                          help=texts.HELP_CMP_RESUME, **common)
        b[1].button("Shipped models", icon=":material/inventory_2:", key="cmp_shipped", on_click=from_shipped, help=texts.HELP_CMP_SHIPPED,
                    **common)
        b[2].button("Step one batch", icon=":material/skip_next:", key="cmp_step", on_click=_step, help=texts.HELP_CMP_STEP,
                    disabled=snap is not None and snap.status == QUEUED, **common)
        b[3].button("Reset", icon=":material/restart_alt:", key="cmp_reset", on_click=new_run, args=(True,), help=texts.HELP_CMP_RESET,
                    disabled=job is None, **common)
        s = state.setup()
        st.caption(texts.CMP_SETTINGS.format(preset=s.preset, dataset=DATASETS[s.dataset].display_name
                                             if s.dataset in DATASETS else s.dataset, seed=s.seed))
        speed, axes = st.columns([1.5, 1], gap="medium", vertical_alignment="bottom")
        speed.select_slider("Speed", options=list(texts.SPEED_CHOICES), key=K_SPEED, help=texts.HELP_CMP_SPEED,
                            on_change=_on_speed_change)
        axes.segmented_control("Axes of all three panels", list(texts.CMP_AXES_CHOICES), key=K_AXES,
                               help=texts.HELP_CMP_AXES, format_func=texts.CMP_AXES_CHOICES.get)


# ==================================================================================== live view

def shared_bounds(snap: Snapshot) -> tuple[float, float]:
    """The axes of all three panels (and of the probe map): the prior's window, or one that
    holds every model's codes."""
    if st.session_state.get(K_AXES) != "all":
        return tuple(float(b) for b in snap.bounds)
    codes = [v.codes for v in snap.models.values() if v.codes is not None and v.unavailable is None]
    return viz.covering_bounds(np.concatenate(codes) if codes else None, snap.bounds)


def live_view(job: TrainingJob) -> None:
    """The panels + table (refreshed twice a second while training) and the probe (every 2 s)."""
    snap = job.snapshot()
    training = snap.status in (RUNNING, QUEUED, LOADING)
    st.fragment(_panels, run_every=LIVE_REFRESH_S if training else None)(job.id, _signature(snap))
    st.fragment(_probe, run_every=PROBE_REFRESH_S if training else None)(job.id)


def _signature(snap: Snapshot) -> tuple:
    """What, when it changes under the live fragment, needs the whole page (buttons) redrawn."""
    return snap.status, snap.config.prior.name, snap.error


def _status_line(job: TrainingJob, snap: Snapshot) -> None:
    parts = [f"**{texts.STATUS_LABELS.get(snap.status, snap.status)}**", f"step {snap.step:,}",
             f"epoch {snap.epoch:.1f}"]
    if snap.status == RUNNING:
        parts.append(f"{snap.steps_per_sec:.1f} steps/s (each trains all three)")
    parts.append(f"run `{job.id}`")
    with st.container(key="cmp_status"):
        st.markdown(" · ".join(parts))


def _legend(class_names: tuple[str, ...]) -> None:
    items = "".join(
        f'<span style="display:inline-flex;align-items:center;gap:.25rem;margin-right:.8rem">'
        f'<span style="width:.7rem;height:.7rem;border-radius:50%;background:{charts.DIGIT_COLORS[i % 10]}"></span>'
        f"{name}</span>" for i, name in enumerate(class_names))
    st.html(f'<div style="font-size:.9rem;display:flex;flex-wrap:wrap">colour = class:&nbsp;&nbsp;{items}</div>')


def _panels(job_id: str, signature: tuple) -> None:
    job = state.registry().get(job_id)
    if job is None:
        st.rerun()
    snap = job.snapshot()
    if _signature(snap) != signature:
        st.rerun()
    _status_line(job, snap)
    if snap.error:
        st.error(snap.error)
    if snap.status == QUEUED:
        reg = state.registry()
        ahead = max(snap.queue_position - 1, 0) + reg.running_count
        st.info(texts.QUEUED.format(ahead=f"{ahead} run" + ("" if ahead == 1 else "s"),
                                    cap=f"{reg.max_running} run" + ("" if reg.max_running == 1 else "s")))
    if not snap.models:
        st.info(texts.LOADING)
        return
    info = DATASETS.get(snap.config.data.name)
    names = info.class_names if info else tuple(str(k) for k in range(10))
    bounds = shared_bounds(snap)
    cols = st.columns(len(KINDS), gap="medium")
    for col, kind in zip(cols, KINDS):
        view = snap.models.get(kind)
        with col, st.container(key=f"cmp_panel_{kind}"):
            with st.container(height=HEADER_HEIGHT, border=False):   # same height: the plots line up
                st.markdown(f"**{texts.COMPARE_MODEL_TITLES[kind]}**")
                st.caption(texts.COMPARE_MODEL_BLURBS[kind])
            if view is None or view.codes is None:
                st.info(texts.LOADING)
            elif view.unavailable:
                with st.container(key=f"cmp_unavailable_{kind}"):
                    st.warning(view.unavailable, icon=":material/block:")
                st.image(charts.prior_preview_png(snap.config.prior.name, float(snap.config.prior.scale)),
                         width=150, caption="p(z): sampling is easy, its density has no formula")
            else:
                st.plotly_chart(scatter(snap, kind, bounds, names), key=f"cmp_plot_{kind}",
                                config=widgets.PLOT_CONFIG, width="stretch")
    _legend(names)
    metrics_table(snap)


def scatter(snap: Snapshot, kind: str, bounds: tuple[float, float], class_names: tuple[str, ...]):
    """One model's codes over p(z) on the shared axes (the Train page's figure, resized)."""
    fig = charts.latent_figure(replace(snap, primary=kind, bounds=bounds), charts.Layers(prior=True), class_names)
    layout = fig.layout
    layout.height = PANEL_HEIGHT
    layout.showlegend = False
    layout.margin = dict(l=40, r=8, t=8, b=36)
    layout.uirevision = f"cmp-{kind}"
    plo, phi = (float(b) for b in snap.bounds)
    if bounds != (plo, phi):
        # the p(z) shading covers the prior's own window, wherever the shared axes end
        for image in layout.images:
            image.update(x=plo, y=phi, sizex=phi - plo, sizey=phi - plo)
    return fig


# ------------------------------------------------------------------------------------ the table

@st.cache_resource(show_spinner=False)
def classifier():
    """The shipped digit classifier (None when it has not been generated)."""
    try:
        return load_classifier()[0]
    except ckpt.CheckpointError:
        return None


def metric_rows(snap: Snapshot, clf) -> list[dict]:
    """One row per model: reconstruction error, prior fit, k-NN accuracy, sample quality (None where
    a number does not exist: a model that sits out, or no classifier)."""
    digits = snap.config.data.name in DIGIT_DATASETS
    rows = []
    for kind in KINDS:
        view = snap.models.get(kind)
        row = {"model": kind.upper(), "recon": None, "fit": None, "knn": None, "quality": None,
               "confidence": None, "coverage": None}
        if view is not None and view.unavailable:
            row["model"] = f"{kind.upper()} (sits out)"
        elif view is not None and view.codes is not None:
            recon = view.latest.get("recon_error")
            if recon is None and snap.recon_inputs is not None and view.recon_outputs is not None:
                recon = reconstruction_error(snap.recon_inputs, view.recon_outputs)
            row["recon"] = recon
            row["fit"] = view.latest.get("prior_fit")
            row["knn"] = view.latest.get("knn_acc")
            if clf is not None and digits and view.samples is not None:
                q = score_images(clf, view.samples)
                row.update(quality=q.score, confidence=q.confidence, coverage=q.coverage)
        rows.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()})
    return rows


def metrics_table(snap: Snapshot) -> None:
    clf = classifier()
    rows = metric_rows(snap, clf)
    num = st.column_config.NumberColumn
    with st.container(key="cmp_table"):
        st.dataframe(
            pd.DataFrame(rows), hide_index=True, width="stretch",
            column_config={
                "model": st.column_config.TextColumn("model", width="small", help="Same backbone, data order and seed. "
                                                     "A model that sits out cannot use this prior (see its panel)."),
                "recon": num("reconstruction error ↓", help=texts.HELP_COL_RECON, format="%.4f"),
                "fit": num("prior fit ↓ (≈1 best)", help=texts.HELP_COL_FIT, format="%.2f"),
                "knn": num("k-NN accuracy ↑", help=texts.HELP_COL_KNN, format="%.3f"),
                "quality": num("sample quality ↑", help=texts.HELP_COL_QUALITY, format="%.3f"),
                "confidence": num("confidence", help=texts.HELP_COL_CONF, format="%.3f"),
                "coverage": num("coverage", help=texts.HELP_COL_COVER, format="%.3f"),
            })
    note = texts.CMP_TABLE_CAPTION
    if clf is None:
        note += " " + texts.CMP_NO_CLASSIFIER
    elif snap.config.data.name not in DIGIT_DATASETS:
        note += " " + texts.CMP_NOT_DIGITS
    st.caption(note)


# ------------------------------------------------------------------------------------ the probe

def _probe(job_id: str) -> None:
    job = state.registry().get(job_id)
    if job is None:
        return
    snap = job.snapshot()
    if not snap.models or any(v.decoder_weights is None for v in snap.models.values()):
        return
    st.subheader(texts.CMP_PROBE_TITLE)
    bounds = shared_bounds(snap)
    left, right = st.columns([1, 1.25], gap="large")
    with left:
        shown = st.segmented_control("Dots on the map", list(MAP_CHOICES), key=K_MAP, format_func=MAP_CHOICES.get,
                                     help=texts.HELP_CMP_MAP)
        view = snap.models.get(shown) if shown in KINDS else None
        if view is not None and view.codes is not None:
            codes, labels = view.codes[:, :2], snap.code_labels
        else:
            codes, labels = (snap.prior_sample[:, :2] if snap.prior_sample is not None else None), None
        z = latent_pad(key=K_PAD, weights=None, weights_version="", codes=codes, labels=labels, bounds=bounds,
                       height=PAD_HEIGHT, show_decoded=False, help=texts.HELP_CMP_PROBE)
    with right:
        cols = st.columns(len(KINDS))
        for col, kind in zip(cols, KINDS):
            view = snap.models[kind]
            image = viz.decode_with_weights(view.decoder_weights, np.asarray(z, np.float32))[0]
            note = " (sits out)" if view.unavailable else ""
            with col, st.container(key=f"cmp_probe_{kind}"):
                st.image(viz.paper(image, PROBE_SCALE), caption=f"{kind.upper()}{note}", width=140)
        with st.container(key="cmp_probe_z"):
            st.markdown(f"All three decode **z = ({z[0]:.2f}, {z[1]:.2f})**")
        st.caption(texts.CMP_PROBE_CAPTION)
