"""The pictures of the label pages: "Labels in the game" (the label-conditioned AAE, paper §2.3,
Fig. 3-4) and "Style and content" (the supervised AAE, paper §4, Fig. 6-7).

Everything is drawn from a job's snapshot (codes, labels, copies of the decoder's and encoder's
weights), never from the live model: the walks, the style grid and the ten-digit rows are decoded
in numpy (``aae.viz.decode_with_weights``), the pad decodes in the browser. The latent scatter is
the one live scatter of ``ui.charts`` with each digit's own component shaded in its colour.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import streamlit as st
import torch

from aae import viz
from aae.config import ConfigError, DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import DatasetUnavailable
from aae.jobs import Snapshot, TrainingJob
from aae.kinds.labelled import component_walk, own_component_rate, roll_walk
from aae.kinds.supervised import N_DIGITS, fold_digit, style_grid_from_weights
from aae.priors import make_prior
from ui import charts, controls, live, presenter, state, texts, widgets
from ui.components import draw_canvas, latent_pad

DATASET = "mnist-5k"
LABEL_PRIORS = ("mog10", "swiss_roll", "pinwheel")       # the priors with ten parts, one per digit
FRACTIONS = (0.05, 0.1, 0.2, 0.5, 1.0)                    # labelled share: 1.0 = the targets' setting
STYLE_DIMS = (2, 15)                                      # the pad's 2-D style; the paper's 15-D
WALK_COMPONENTS = (0, 1, 2)                               # Fig. 3: the first three petals
WALK_STEPS = 10                                           # Gaussian percentiles 5 %, 15 %, …, 95 %
ROLL_STEPS = 20
GRID_STYLES = 10                                          # rows of the style grid (Fig. 7)
GRID_FIT = "calc(100vh - 290px)"    # presenter mode: the square grid ends above a 720 px window's edge
GRID_SEED = 7                                             # fixed styles: rows keep their identity
K_FRACTION = state.key("setup", "labelled", "fraction")
K_STYLE_DIM = state.key("setup", "style", "dim")
K_PAD = "style_pad"
K_PAD_DIGIT = state.key("view", "style", "digit")
K_DRAW = "style_draw"


# ================================================================================ the runs

def _run(slot: state.Slot, kind: str, prior: str, *, latent_dim: int = 2, label_fraction: float = 1.0):
    """A maker of a page's runs, as ``controls.RunSpec.new_run`` wants it (paused -> the run);
    problems are flashed, never raised (it runs in a button's callback)."""
    def make(paused: bool) -> TrainingJob | None:
        try:
            config = RunConfig(data=DataConfig(name=DATASET), prior=PriorConfig(name=prior),
                               model=ModelConfig(kind=kind, latent_dim=latent_dim),
                               train=TrainConfig(label_fraction=label_fraction))
            return state.create_run(slot, config, paused=paused)
        except (ConfigError, DatasetUnavailable, OSError) as e:
            state.flash("error", texts.RUN_NOT_STARTED.format(error=texts.say(e)))
            return None
    return make


def labelled_sidebar(job: TrainingJob | None) -> str:
    """The label page's sidebar: p(z) (live switch), the labelled share, the run controls."""
    spec = controls.RunSpec(slot=state.LABELLED, new_run=lambda paused: None, prefix="lab")
    prior = controls.prior_select(spec, names=LABEL_PRIORS, help=texts.LABELLED_PRIOR_HELP)
    state.init_defaults({K_FRACTION: 1.0})
    state.ensure_choice(K_FRACTION, FRACTIONS, 1.0)
    fraction = st.select_slider(texts.LABELLED_FRACTION_LABEL, FRACTIONS, key=K_FRACTION, format_func=lambda f: f"{f:.0%}",
                                help=texts.HELP_LABELLED_FRACTION)
    spec = dataclasses.replace(spec, new_run=_run(state.LABELLED, "labelled_aae", prior, label_fraction=fraction))
    controls.run_controls(job, spec)
    return prior


def style_sidebar(job: TrainingJob | None) -> int:
    """The style page's sidebar: the style size, the run controls."""
    state.init_defaults({K_STYLE_DIM: 2})
    state.ensure_choice(K_STYLE_DIM, STYLE_DIMS, 2)
    dim = st.radio(texts.STYLE_SIZE_LABEL, STYLE_DIMS, key=K_STYLE_DIM, horizontal=True, format_func=lambda d: f"{d}-D",
                   help=texts.HELP_STYLE_DIM)
    spec = controls.RunSpec(slot=state.STYLE, new_run=_run(state.STYLE, "supervised_aae", "gaussian", latent_dim=dim),
                            prefix="sty")
    controls.run_controls(job, spec)
    return dim


# ================================================================================ labels in the game

def own_component(snap: Snapshot) -> float | None:
    """Share of the snapshot's held-out codes in their own digit's component (None before codes)."""
    if snap.codes is None or snap.code_labels is None:
        return None
    return own_component_rate(snap.codes, snap.code_labels, _prior(snap))


def _prior(snap: Snapshot):
    return make_prior(snap.config.prior.name, dim=snap.config.model.latent_dim, scale=snap.config.prior.scale)


def _percent(value: float | None) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.0f} %"


def labelled_numbers(snap: Snapshot) -> None:
    """Status line, own-component rate and referee, each in a keyed container tests can read."""
    st.markdown(live.status_line(snap))
    left, right = st.columns(2)
    with left.container(key="aae_own_component"):
        st.metric(texts.OWN_COMPONENT_LABEL, _percent(own_component(snap)), help=texts.HELP_OWN_COMPONENT)
    with right.container(key="aae_referee"):
        st.metric(texts.REFEREE_LABEL, _percent(snap.referee_smooth), help=texts.HELP_REFEREE_LABELLED)


def labelled_scatter(snap: Snapshot, numbers: bool = True) -> None:
    if live.waiting_notice(snap):
        return
    if numbers:
        labelled_numbers(snap)
    chosen = widgets.layer_pills()
    layers = dataclasses.replace(charts.Layers.from_names(chosen), components=True)
    with st.container(key="aae_latent"):
        charts.latent_chart(snap, layers, key="labelled_latent", class_names=widgets.class_names(snap),
                            size=widgets.presented_latent_size(layers))


def labelled_scatter_only(snap: Snapshot) -> None:
    labelled_scatter(snap, numbers=False)


def walk_images(weights, prior) -> tuple[np.ndarray, int, str] | None:
    """(images, columns, kind) of Fig. 3's walk for ``prior`` decoded with ``weights``: three petal
    rows for the mixture, one 0-to-9 row for the swiss roll; None for other priors."""
    if prior.name == "mog10":
        z = np.concatenate([component_walk(prior, k, WALK_STEPS) for k in WALK_COMPONENTS])
        return viz.decode_with_weights(weights, z), WALK_STEPS, "petals"
    if prior.name == "swiss_roll":
        return viz.decode_with_weights(weights, roll_walk(prior, ROLL_STEPS)), ROLL_STEPS, "roll"
    return None


def labelled_walks(snap: Snapshot) -> None:
    st.markdown(f"**{texts.WALKS_TITLE}**")
    if snap.decoder_weights is None:
        st.caption(texts.WAITING_FOR_PROBE)
        return
    walk = walk_images(snap.decoder_weights, _prior(snap))
    if walk is None:
        st.caption(texts.WALK_NONE)
        return
    images, cols, kind = walk
    alt = texts.WALK_PETALS_ALT if kind == "petals" else texts.WALK_ROLL_ALT
    with st.container(key=f"aae_walk_{kind}"):
        st.markdown(charts.image_grid_html(images, cols, name=f"walk-{kind}", alt=alt), unsafe_allow_html=True)
    st.caption(texts.WALK_PETALS_CAPTION if kind == "petals" else texts.WALK_ROLL_CAPTION)


def labelled_live(job: TrainingJob, snap: Snapshot) -> None:
    """The label page's live part: the scatter and numbers fast, the walks at the detail pace."""
    left, right = st.columns([1.3, 1], gap="large")
    if presenter.presenting():      # 1280 × 720: the scatter from the top, the phases and numbers beside it
        with left:
            live.live_view(job, labelled_scatter_only)
        with right:
            widgets.phase_strip(snap)
            live.live_view(job, labelled_numbers, idle_watch=False)
            live.live_view(job, labelled_walks, every=live.DETAIL_REFRESH_S, idle_watch=False)
        return
    with left:
        live.live_view(job, labelled_scatter)
    with right:
        st.markdown(texts.LABELLED_WHAT_CHANGED)
        live.live_view(job, labelled_walks, every=live.DETAIL_REFRESH_S, idle_watch=False)


# ================================================================================ style and content

@functools.lru_cache(maxsize=4)
def grid_styles(latent_dim: int) -> np.ndarray:
    """(GRID_STYLES, Z) fixed styles drawn from the Gaussian p(z): the grid's rows."""
    prior = make_prior("gaussian", dim=latent_dim)
    z = prior.sample(GRID_STYLES, generator=torch.Generator().manual_seed(GRID_SEED)).numpy()
    z.flags.writeable = False
    return z


def ten_digits(weights, style: np.ndarray) -> np.ndarray:
    """One style (Z,) as digits 0-9: (10, 28, 28)."""
    return style_grid_from_weights(weights, np.asarray(style, np.float32)[None])[0]


def style_grid(snap: Snapshot) -> None:
    """Fig. 7: fixed styles (rows) × digits 0-9 (columns), decoded from the snapshot's weights."""
    if live.waiting_notice(snap):
        return
    st.markdown(live.status_line(snap))
    st.markdown(f"**{texts.STYLE_GRID_ROWS_TITLE}**")
    if snap.decoder_weights is None:
        st.caption(texts.WAITING_FOR_PROBE)
        return
    grid = style_grid_from_weights(snap.decoder_weights, grid_styles(snap.config.model.latent_dim))
    with st.container(key="aae_style_grid"):
        st.markdown(charts.image_grid_html(grid.reshape(-1, 28, 28), N_DIGITS, name="style-grid",
                                           alt=texts.STYLE_GRID_ALT_TEXT,
                                           max_width=GRID_FIT if presenter.presenting() else "100%"),
                    unsafe_allow_html=True)


def style_pad(snap: Snapshot) -> None:
    """Drag a style on the pad (the browser draws the chosen digit) and see it as all ten digits."""
    st.markdown(f"**{texts.STYLE_PAD_TITLE}**")
    if snap.decoder_weights is None or snap.codes is None:
        st.caption(texts.WAITING_FOR_PROBE)
        return
    state.init_defaults({K_PAD_DIGIT: 0})
    state.ensure_choice(K_PAD_DIGIT, range(N_DIGITS), 0)
    digit = st.segmented_control(texts.PAD_DIGIT_LABEL, list(range(N_DIGITS)), key=K_PAD_DIGIT,
                                 help=texts.HELP_STYLE_DIGIT)
    digit = 0 if digit is None else int(digit)
    n_rest = snap.config.model.latent_dim - 2
    row = st.container()     # the ten digits sit above the pad (they fit a projector's window there), drawn below
    with st.container(key="aae_style_pad"):
        x, y = latent_pad(key=K_PAD, weights=fold_digit(snap.decoder_weights, digit),
                                     weights_version=f"{snap.decoder_version}:digit{digit}",
                                     codes=np.asarray(snap.codes)[:, :2], labels=snap.code_labels,
                                     bounds=snap.bounds, help=texts.HELP_STYLE_PAD,
                                     caption=texts.PAD_DECODED_CAPTION)
    style = np.concatenate([[x, y], np.zeros(n_rest)]).astype(np.float32)
    row.caption(texts.STYLE_PAD_ROW.format(x=x, y=y))
    with row.container(key="aae_style_pad_row"):
        st.markdown(charts.image_grid_html(ten_digits(snap.decoder_weights, style), N_DIGITS, name="pad-row",
                                           alt=texts.STYLE_PAD_ROW_ALT), unsafe_allow_html=True)


def drawn_style(snap: Snapshot, image: np.ndarray) -> np.ndarray | None:
    """The style z (Z,) of a drawn digit (28, 28) in [0, 1], from the snapshot's encoder weights."""
    if snap.view.encoder_weights is None:
        return None
    return viz.encode_with_weights(snap.view.encoder_weights, image[None], latent_dim=snap.config.model.latent_dim)[0]


def style_draw(job: TrainingJob) -> None:
    """Draw a digit: its style extracted by the run's encoder, re-drawn as all ten digits."""
    st.markdown(f"**{texts.STYLE_DRAW_TITLE}**")
    left, right = st.columns([1, 2])
    with left:
        image = draw_canvas(key=K_DRAW, help=texts.HELP_STYLE_DRAW)
    with right:
        snap = state.run_snapshot(job)
        style = drawn_style(snap, image) if image is not None else None
        if image is None or style is None or snap.decoder_weights is None:
            st.caption(texts.STYLE_DRAW_EMPTY if image is None else texts.WAITING_FOR_PROBE)
            return
        st.caption(texts.STYLE_DRAW_ROW)
        with st.container(key="aae_style_draw_row"):
            st.markdown(charts.image_grid_html(ten_digits(snap.decoder_weights, style), N_DIGITS, name="draw-row",
                                               alt=texts.STYLE_DRAW_ROW_ALT), unsafe_allow_html=True)


def style_live(job: TrainingJob) -> None:
    """The style page: the grid (detail pace) beside the pad and its ten-digit row."""
    left, right = st.columns([1, 1], gap="large")
    with left:
        live.live_view(job, style_grid, every=live.DETAIL_REFRESH_S)
    with right:
        live.live_view(job, style_pad, every=live.DETAIL_REFRESH_S, idle_watch=False)
    style_draw(job)
