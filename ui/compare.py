"""The Compare page's blocks: AE, VAE and AAE trained in lockstep (one job, ``kinds=KINDS``), their
three latent scatters on shared axes, a metrics table, and one probe decoded by all three decoders.

The job trains the three models on identical batches (same backbone, data order and seed; see
``aae.jobs.TrainingJob``). Everything here reads the job's snapshots: the scatters use each
model's ``ModelView``, the probe decodes with each model's published ``decoder_weights`` in numpy
(``aae.viz.decode_with_weights``), so the page never touches a live model.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from aae import checkpoints as ckpt
from aae import viz
from aae.classifier import DIGIT_DATASETS, load_classifier, score_images
from aae.config import ConfigError, PriorConfig, RunConfig
from aae.data import DATASETS
from aae.jobs import Snapshot, TrainingJob
from aae.metrics import reconstruction_nats
from aae.priors import PRIORS, make_prior
from aae.kinds import get_kind
from ui import charts, controls, live, presenter, setup, state, texts, widgets
from ui.components import latent_pad

KINDS = ("ae", "vae", "aae")
PRIMARY = "aae"                  # the job's primary model: the one that must be able to use the prior
LIVE_REFRESH_S = 0.5             # three scatters + table: twice a second while training
PROBE_REFRESH_S = 2.0            # decoders change at most every 2 s (JobOptions.weights_interval)
PANEL_SIZE = 236                 # px, each panel's square plot area (three fit a 1400-px screen's main column)
PRESENT_PANEL_SIZE = 250         # presenter mode (no sidebar, 1280 × 720): three across, the table below them
HEADER_HEIGHT = 84               # title + a two-line blurb above each panel
PAD_HEIGHT = 330
PROBE_SCALE = 5                  # 28 px digits shown as 140 px
MAP_CHOICES = ("ae", "vae", "aae", "prior")     # texts.CMP_MAP_CHOICES names them


# ==================================================================================== runs

def run_config(prior: str) -> RunConfig:
    """The comparison's run: the Train page's settings (dataset, network, learning rates, seed) with
    this page's prior; the AAE is primary, AE and VAE ride along on the same batches."""
    return setup.run_config(kind=PRIMARY, prior=prior)


def new_run(paused: bool) -> TrainingJob | None:
    """A fresh comparison from random weights (callbacks: problems are flashed, never raised)."""
    try:
        return state.create_run(state.COMPARE, run_config(state.value(state.K.CMP_PRIOR)), paused=paused, kinds=KINDS)
    except (ConfigError, OSError) as e:
        state.flash("error", texts.CMP_NOT_STARTED.format(error=texts.say(e)))
        return None


SPEC = controls.RunSpec(slot=state.COMPARE, new_run=new_run, phases=False, prefix="cmp",
                        start_label="CMP_TRAIN_ALL", help_play="HELP_CMP_TRAIN", help_step="HELP_CMP_STEP",
                        help_reset="HELP_CMP_RESET", help_speed="HELP_CMP_SPEED")


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


def shipped_run(paused: bool = True) -> TrainingJob | None:
    """AE, VAE and AAE from the shipped checkpoints for the chosen prior, paused: instant panels."""
    prior = state.value(state.K.CMP_PRIOR)
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
                raise ConfigError(texts.CMP_WRONG_MODEL.format(name=paths[kind].name, dim=cfg.latent_dim,
                                                               its_kind=cfg.kind.upper(), kind=kind.upper()))
            if (cfg.preset, ck.config.data.name) != (loaded[PRIMARY].config.model.preset,
                                                     loaded[PRIMARY].config.data.name):
                raise ConfigError(texts.CMP_NOT_ALIKE.format(name=paths[kind].name, primary=paths[PRIMARY].name))
        base = loaded[PRIMARY].config
        config = base.replace(prior=PriorConfig(name=prior), model=base.model.replace(kind=PRIMARY))
        job = state.create_run(state.COMPARE, config, paused=True, kinds=KINDS,
                               models={k: ck.model for k, ck in loaded.items()}, start_step=loaded[PRIMARY].step)
    except (ckpt.CheckpointError, ConfigError, OSError) as e:
        state.flash("error", texts.CMP_SHIPPED_FAILED.format(error=texts.say(e)))
        return None
    if job is None:  # the server is full (state.create_run said so)
        return None
    vae_name = paths["vae"].stem
    if vae_name != wanted["vae"][0] and _vae_can_use(prior):
        vae_prior = loaded["vae"].config.prior.name
        state.flash("info", texts.CMP_VAE_FALLBACK.format(
            name=vae_name, prior=PRIORS[vae_prior].display_name if vae_prior in PRIORS else vae_prior))
    return job


def _vae_can_use(prior: str) -> bool:
    return get_kind("vae").prior_incompatibility(make_prior(prior)) is None


def _shipped_button() -> None:
    st.button(texts.CMP_SHIPPED, icon=":material/inventory_2:", key="cmp_shipped", on_click=controls.new_run,
              args=(SPEC, True, shipped_run), help=texts.HELP_CMP_SHIPPED, width="stretch")


def setup_and_controls(job: TrainingJob | None) -> None:
    """Prior (left), the run's buttons and speed (right), the shared-axes choice."""
    left, right = st.columns([1.1, 3], gap="large")
    with left:
        controls.prior_select(SPEC, label=texts.CMP_PRIOR_LABEL, help=texts.HELP_CMP_PRIOR)
    with right:
        controls.run_controls(job, SPEC, layout="row", extra=_shipped_button)
        st.caption(texts.CMP_SETTINGS.format(preset=setup.get("preset"), seed=setup.get("seed"),
                                             dataset=DATASETS[setup.get("dataset")].display_name
                                             if setup.get("dataset") in DATASETS else setup.get("dataset")))
        st.segmented_control(texts.CMP_AXES_LABEL, list(texts.CMP_AXES_CHOICES), key=state.K.CMP_AXES,
                             help=texts.HELP_CMP_AXES, format_func=texts.CMP_AXES_CHOICES.get)


# ==================================================================================== live view

def shared_bounds(snap: Snapshot) -> tuple[float, float]:
    """The axes of all three panels (and of the probe map): the prior's window, or one that
    holds every model's codes."""
    if state.value(state.K.CMP_AXES) != "all":
        return tuple(float(b) for b in snap.bounds)
    codes = [v.codes for v in snap.models.values() if v.codes is not None and v.unavailable is None]
    return viz.covering_bounds(np.concatenate(codes) if codes else None, snap.bounds)


def live_view(job: TrainingJob) -> None:
    """The panels + table (refreshed twice a second while training) and the probe (every 2 s)."""
    live.live_view(job, panels, every=LIVE_REFRESH_S)
    live.live_view(job, probe, every=PROBE_REFRESH_S, idle_watch=False)


def _legend(class_names: tuple[str, ...]) -> None:
    items = "".join(
        f'<span style="display:inline-flex;align-items:center;gap:.25rem;margin-right:.8rem">'
        f'<span style="width:.7rem;height:.7rem;border-radius:50%;background:{charts.DIGIT_COLORS[i % 10]}"></span>'
        f"{name}</span>" for i, name in enumerate(class_names))
    st.html(f'<div style="font-size:.9rem;display:flex;flex-wrap:wrap">{texts.CMP_LEGEND}&nbsp;&nbsp;{items}</div>')


def sits_out_reason(prior: str) -> str:
    """What the prior lacks for a VAE (a key of ``texts.CMP_SITS_OUT``): ``"density"`` when log p(z)
    has no formula (swiss roll, pinwheel), ``"support"`` when it is −∞ somewhere (the uniform square)."""
    return "density" if not make_prior(prior).has_density else "support"


def _prior_name(prior: str) -> str:
    return texts.PRIOR_NAMES.get(prior, PRIORS[prior].display_name if prior in PRIORS else prior)


def panels(snap: Snapshot) -> None:
    """The status line, one latent scatter per model on shared axes, the legend and the table
    (in presenter mode the legend shares the status line's row: the table fits on a 720-px screen)."""
    info = DATASETS.get(snap.config.data.name)
    names = info.class_names if info else tuple(str(k) for k in range(10))
    presenting = presenter.presenting()
    status, legend = st.columns([1, 1.2], vertical_alignment="center") if presenting else (st.container(), None)
    with status, st.container(key="cmp_status"):
        st.markdown(live.status_line(snap, per_step=texts.CMP_PER_STEP))
        widgets.details(snap)
    live.queued_notice(snap)
    if not snap.models:
        st.info(texts.LOADING)
        return
    if legend is not None:
        with legend:
            _legend(names)
    bounds = shared_bounds(snap)
    cols = st.columns(len(KINDS), gap="medium")
    for col, kind in zip(cols, KINDS):
        view = snap.models.get(kind)
        with col, st.container(key=f"cmp_panel_{kind}"):
            if presenting:               # the title only: the blurbs are the intro's words again
                st.markdown(f"**{texts.COMPARE_MODEL_TITLES[kind]}**")
            else:
                with st.container(height=HEADER_HEIGHT, border=False):   # same height: the plots line up
                    st.markdown(f"**{texts.COMPARE_MODEL_TITLES[kind]}**")
                    st.caption(texts.COMPARE_MODEL_BLURBS[kind])
            if view is None or view.codes is None:
                st.info(texts.LOADING)
            elif view.unavailable:
                lacks = sits_out_reason(snap.config.prior.name)
                with st.container(key=f"cmp_unavailable_{kind}"):
                    st.warning(texts.CMP_SITS_OUT[lacks].format(prior=_prior_name(snap.config.prior.name))
                               if kind == "vae" else view.unavailable, icon=":material/block:")
                st.image(charts.prior_preview_png(snap.config.prior.name, float(snap.config.prior.scale)),
                         width=150, caption=texts.CMP_SITS_OUT_CAPTION[lacks])
            else:
                charts.latent_chart(snap, charts.Layers(prior=True), key=f"cmp_plot_{kind}", class_names=names,
                                    model=kind, bounds=bounds, size=PRESENT_PANEL_SIZE if presenting else PANEL_SIZE,
                                    legend=False)
    if legend is None:
        _legend(names)
    metrics_table(snap)


# ------------------------------------------------------------------------------------ the table

@st.cache_resource(show_spinner=False)
def classifier():
    """The shipped digit classifier (None when it has not been generated)."""
    try:
        return load_classifier()[0]
    except ckpt.CheckpointError:
        return None


def metric_rows(snap: Snapshot, clf) -> list[dict]:
    """One row per model: reconstruction loss (nats per image, the unit of every page), prior fit,
    k-NN accuracy, sample quality (None where a number does not exist: a model that sits out, or no
    classifier)."""
    digits = snap.config.data.name in DIGIT_DATASETS
    rows = []
    for kind in KINDS:
        view = snap.models.get(kind)
        row = {"model": kind.upper(), "recon": None, "referee": None, "fit": None, "knn": None, "quality": None,
               "confidence": None, "coverage": None}
        if view is not None and view.unavailable:
            row["model"] = texts.CMP_SITS_OUT_ROW.format(model=kind.upper())
        elif view is not None and view.codes is not None:
            if snap.recon_inputs is not None and view.recon_outputs is not None:
                row["recon"] = reconstruction_nats(snap.recon_inputs, view.recon_outputs)
            row["referee"] = view.referee_smooth
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
    title = texts.CMP_COLUMNS
    with st.container(key="cmp_table"):
        st.dataframe(
            pd.DataFrame(rows), hide_index=True, width="stretch",
            column_config={
                "model": st.column_config.TextColumn(title["model"], width="small", help=texts.HELP_COL_MODEL),
                "recon": num(title["recon"], help=texts.HELP_COL_RECON, format="%.1f"),
                "referee": num(texts.REFEREE_COLUMN, help=texts.HELP_REFEREE_METRIC, format="%.2f"),
                "fit": num(title["fit"], help=texts.HELP_COL_FIT, format="%.2f"),
                "knn": num(title["knn"], help=texts.HELP_COL_KNN, format="%.3f"),
                "quality": num(title["quality"], help=texts.HELP_COL_QUALITY, format="%.3f"),
                "confidence": num(title["confidence"], help=texts.HELP_COL_CONF, format="%.3f"),
                "coverage": num(title["coverage"], help=texts.HELP_COL_COVER, format="%.3f"),
            })
    with st.container(key="cmp_table_meaning"):
        st.markdown(table_meaning(rows))
    note = texts.CMP_TABLE_CAPTION
    if clf is None:
        note += " " + texts.CMP_NO_CLASSIFIER
    elif snap.config.data.name not in DIGIT_DATASETS:
        note += " " + texts.CMP_NOT_DIGITS
    st.caption(note)


def table_meaning(rows: list[dict]) -> str:
    """The sentence under the table, true of the numbers in ``rows``: when the AE has the best k-NN
    and the worst sample quality of the models that have both, why (nothing constrains its codes,
    so p(z) falls into its gaps); otherwise what each column says."""
    scored = [r for r in rows if r["knn"] is not None and r["quality"] is not None]
    ae = next((r for r in scored if r["model"] == "AE"), None)
    if ae is not None and len(scored) > 1 and ae["knn"] == max(r["knn"] for r in scored) \
            and ae["quality"] == min(r["quality"] for r in scored):
        return texts.CMP_AE_KNN_BEST.format(knn=f"{ae['knn']:.3f}", quality=f"{ae['quality']:.3f}")
    return texts.CMP_TABLE_MEANING


# ------------------------------------------------------------------------------------ the probe

def probe(snap: Snapshot) -> None:
    """One z, picked on a map of one model's codes, decoded by all three decoders (in numpy, from the
    snapshot's decoder weights)."""
    if not snap.models or any(v.decoder_weights is None for v in snap.models.values()):
        return
    st.subheader(texts.CMP_PROBE_TITLE)
    bounds = shared_bounds(snap)
    left, right = st.columns([1, 1.25], gap="large")
    with left:
        shown = st.segmented_control(texts.CMP_MAP_LABEL, list(MAP_CHOICES), key=state.K.CMP_MAP, format_func=texts.CMP_MAP_CHOICES.get,
                                     help=texts.HELP_CMP_MAP)
        view = snap.models.get(shown) if shown in KINDS else None
        if view is not None and view.codes is not None:
            codes, labels = view.codes[:, :2], snap.code_labels
        else:
            codes, labels = (snap.prior_sample[:, :2] if snap.prior_sample is not None else None), None
        z = latent_pad(key=state.K.CMP_PAD, weights=None, weights_version="", codes=codes, labels=labels, bounds=bounds,
                       height=PAD_HEIGHT, show_decoded=False, help=texts.HELP_CMP_PROBE)
    with right:
        cols = st.columns(len(KINDS))
        for col, kind in zip(cols, KINDS):
            view = snap.models[kind]
            image = viz.decode_with_weights(view.decoder_weights, np.asarray(z, np.float32))[0]
            name = texts.CMP_SITS_OUT_ROW.format(model=kind.upper()) if view.unavailable else kind.upper()
            with col, st.container(key=f"cmp_probe_{kind}"):
                st.image(viz.paper(image, PROBE_SCALE), caption=name, width=140)
        with st.container(key="cmp_probe_z"):
            st.markdown(texts.CMP_PROBE_Z.format(z1=f"{z[0]:.2f}", z2=f"{z[1]:.2f}"))
        st.caption(texts.CMP_PROBE_CAPTION)


# ================================================================================ likelihood (Table 1)

def likelihood_rows() -> tuple[list[dict], str | None]:
    """The rows of the likelihood table (ours from ``checkpoints/likelihood_table.json``, then the
    paper's) and, when the file is damaged, why (the paper's rows are still shown)."""
    from aae import likelihood
    try:
        return likelihood.load_table(likelihood.TABLE_PATH), None
    except ValueError as e:
        return likelihood.paper_rows(), str(e)


def likelihood_medians(rows: list[dict]) -> list[dict]:
    """Our runs grouped by setting (preset, steps): each group's AAE and VAE medians over seeds."""
    groups: dict[tuple, dict[str, list[float]]] = {}
    for r in rows:
        if r.get("ours") and r.get("model") in ("AAE", "VAE"):
            groups.setdefault((r.get("preset"), r.get("steps")), {}).setdefault(r["model"], []).append(r["mean"])
    out = []
    for (preset, steps), by_model in groups.items():
        if "AAE" in by_model and "VAE" in by_model:
            errors = [r["stderr"] for r in rows if r.get("ours") and (r.get("preset"), r.get("steps")) == (preset, steps)]
            out.append({"preset": preset, "steps": steps, "seeds": min(len(v) for v in by_model.values()),
                        "aae": float(np.median(by_model["AAE"])), "vae": float(np.median(by_model["VAE"])),
                        "stderr": float(np.median(errors))})
    return out


def likelihood_table() -> None:
    """Paper Table 1 beside ours: how likely the test digits are under each model's samples."""
    rows, damaged = likelihood_rows()
    with st.expander(texts.LIK_TITLE):
        st.markdown(texts.LIK_INTRO)
        if damaged:
            st.warning(texts.LIK_DAMAGED.format(error=damaged))
        cols = texts.LIK_COLUMNS
        table = []
        for r in rows:
            if r["ours"]:
                who = texts.LIK_OURS
                data = texts.LIK_OUR_DATA.format(name=r["dataset"], train=r.get("n_train", 0),
                                                 val=r.get("n_validation", 0), test=r.get("n_test", 0))
                setting = texts.LIK_SETTING.format(preset=r.get("preset"), steps=r.get("steps") or 0,
                                                   seed=r.get("seed"))
            else:
                who, data, setting = r["source"], texts.LIK_PAPER_DATA, "–"
            table.append(dict(zip(cols, (r["model"], f"{r['mean']:.1f} ± {r['stderr']:.1f}", data, setting, who))))
        st.dataframe(table, hide_index=True, width="stretch", height=35 * (len(table) + 1) + 3,  # every row shown
                     column_config={cols[0]: st.column_config.TextColumn(width="medium")})
        for m in likelihood_medians(rows):
            verdict = texts.LIK_ABOVE if m["aae"] > m["vae"] else texts.LIK_BELOW
            if abs(m["aae"] - m["vae"]) < m["stderr"]:
                verdict += " " + texts.LIK_WITHIN.format(se=m["stderr"])
            line = texts.LIK_MEDIANS if m["seeds"] > 1 else texts.LIK_ONE_SEED
            st.markdown(line.format(preset=m["preset"], steps=m["steps"], seeds=m["seeds"],
                                    aae=m["aae"], vae=m["vae"], verdict=verdict))
        st.caption(texts.LIK_DISTRUST)
