"""The Latent explorer's blocks: a source (checkpoint or live run), the latent pad, Python's
reference decode, the nearest training images, the manifold grid, an interpolation strip and a
drawing canvas whose digit is encoded onto the map.

The browser decodes the pad's probe itself (``ui.components.latent_pad``); Python decodes the z
the pad reports with the same weights in numpy (``aae.viz.decode_with_weights``) and shows it as
the reference. A live source is re-read from the job's newest snapshot; its decoder weights (and
so the pad's weights version) change at most every 2 s (``JobOptions.weights_interval``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st
import torch

from aae import checkpoints as ckpt
from aae import viz
from aae.data import DATASETS, DatasetUnavailable, load_dataset, to_float
from aae.jobs import JobOptions, LOADING, QUEUED, RUNNING
from aae.kinds.supervised import N_DIGITS, fold_digit
from aae.priors import Prior, prior_from_config
from ui import charts, setup, state, texts, widgets
from ui.components import draw_canvas, latent_pad
from ui.state import K

N_EVAL = JobOptions().n_eval      # held-out codes on the map: the same fixed batch a live run shows
LIVE_REFRESH_S = 2.0              # a live source's decoder changes at most this often
GRID_REFRESH_S = 6.0              # the manifold of a live source: redrawn less often (≈ 60 ms a time)
PAD_HEIGHT = 370
SERVER_SCALE = 5                  # Python's decode: 28 px shown as 140 px
NEAREST_K = 5
NEAREST_SCALE = 3
GRID_SCALE = 2
HOLE_LEVEL = 0.1                  # cells below 10 % of the fullest cell's p(z) mass get tinted ...
TINT_MAX = 0.6                    # ... up to this much (fully at zero mass)
TINT_RGB = np.array((255, 176, 120), np.float32)
LIVE_MARK = "🟢"
DRAWING_COLOR = "#d62728"
K_DIGIT = state.key("view", "explorer", "digit")    # the supervised AAE's content: which digit the pad draws
ENDS_COLOR = "#444444"


# ==================================================================================== sources

@dataclass(frozen=True)
class Source:
    key: str         # "ckpt:<json path>" or "live:<run id>:<kind>"
    label: str


def sources() -> list[Source]:
    """This tab's runs (live) first, then every 2-D checkpoint: shipped, extra, saved, autosaved."""
    out: list[Source] = []
    train_job = state.current_job(state.TRAIN)
    if train_job is not None:
        kind = train_job.peek().primary
        out.append(Source(f"live:{train_job.id}:{kind}",
                          f"{LIVE_MARK} this tab's Train run `{train_job.id}` — {kind.upper()}"))
    compare_job = state.current_job(state.COMPARE)
    if compare_job is not None:
        for kind in compare_job.kinds:
            out.append(Source(f"live:{compare_job.id}:{kind}",
                              f"{LIVE_MARK} this tab's Compare run `{compare_job.id}` — {kind.upper()}"))
    out += [Source(f"ckpt:{path}", label) for path, label in setup.listed_checkpoints(kind=None)]
    return out


def source_select(options: list[Source]) -> str:
    labels = {s.key: s.label for s in options}
    state.ensure_choice(K.EXP_SOURCE, labels)
    return st.selectbox(texts.EXPLORER_MODEL, list(labels), key=K.EXP_SOURCE, format_func=labels.get, help=texts.HELP_EXPLORER_SOURCE)


# ==================================================================================== models

@dataclass(frozen=True, eq=False)
class Explorable:
    """What the explorer needs of a model, whichever its source."""

    title: str
    kind: str
    prior: Prior
    dataset: str                                         # name, root, seed: for the training images
    data_root: str | None
    data_seed: int
    weights: tuple | None                                # decoder [(W, b), ...] float32
    version: str                                         # changes whenever ``weights`` do
    codes: np.ndarray | None                             # (N, 2) held-out codes
    labels: np.ndarray | None                            # (N,)
    bounds: tuple[float, float]
    encode: Callable[[np.ndarray], np.ndarray] | None    # (28, 28) in [0, 1] -> z (2,)
    status: str = ""


def _window(kind: str, prior: Prior, codes: np.ndarray | None) -> tuple[float, float]:
    """The prior's window; a plain AE's codes follow no prior, so its map covers them all."""
    if kind == "ae":
        return viz.covering_bounds(codes, prior.bounds)
    return tuple(float(b) for b in prior.bounds)


@st.cache_resource(show_spinner=False, max_entries=6)
def _from_checkpoint(path: str, mtime: float) -> Explorable:
    loaded = ckpt.load_checkpoint(path)
    cfg = loaded.config
    model = loaded.model.eval()
    prior = prior_from_config(cfg.prior, cfg.model.latent_dim)
    weights = tuple((l.weight.detach().numpy().copy(), l.bias.detach().numpy().copy())
                    for l in model.decoder.linear_layers())
    codes = labels = None
    try:
        data = load_dataset(cfg.data.name, root=cfg.data.root, seed=cfg.data.seed)
        n = min(N_EVAL, int(data.test_images.shape[0]))
        with torch.no_grad():
            codes = model.encode(to_float(data.test_images[:n])).numpy()
        labels = data.test_labels[:n].numpy()
    except DatasetUnavailable:
        pass

    def encode(image: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model.encode(torch.from_numpy(np.asarray(image, np.float32).reshape(1, -1)))[0].numpy()

    return Explorable(title=Path(path).stem, kind=cfg.model.kind, prior=prior, dataset=cfg.data.name,
                      data_root=cfg.data.root, data_seed=cfg.data.seed, weights=weights,
                      version=f"ckpt:{path}:{mtime}", codes=codes, labels=labels,
                      bounds=_window(cfg.model.kind, prior, codes), encode=encode)


def resolve(source_key: str) -> Explorable | None:
    """The model behind a source key (None: the run is gone or has no model yet). A supervised
    AAE's decoder takes [one-hot digit, style]: it comes with the chosen digit folded into its first
    layer (``aae.kinds.supervised.fold_digit``), so the pad, the grid and the path move the style."""
    m = _resolve(source_key)
    if m is None or m.kind != "supervised_aae" or m.weights is None:
        return m
    digit = int(state.value(K_DIGIT, 0) or 0)
    return replace(m, weights=tuple(fold_digit(m.weights, digit)), version=f"{m.version}:digit{digit}")


def content_select(source_key: str) -> None:
    """For a supervised AAE: which digit (the content) the explorer draws in every style."""
    kind = source_key.rsplit(":", 1)[1] if source_key.startswith("live:") else None
    if kind is None:
        try:
            m = _resolve(source_key)
        except (ckpt.CheckpointError, OSError):
            return
        kind = m.kind if m is not None else None
    if kind == "supervised_aae":
        state.init_defaults({K_DIGIT: 0})
        st.segmented_control(texts.EXPLORER_DIGIT_LABEL, list(range(N_DIGITS)), key=K_DIGIT,
                             help=texts.HELP_EXPLORER_DIGIT)


def _resolve(source_key: str) -> Explorable | None:
    if source_key.startswith("ckpt:"):
        path = source_key.removeprefix("ckpt:")
        with st.spinner(texts.EXPLORER_LOADING):
            return _from_checkpoint(path, Path(path).stat().st_mtime)
    _, run_id, kind = source_key.split(":", 2)
    job = state.registry().get(run_id)
    if job is None:
        return None
    snap = job.snapshot()
    view = snap.models.get(kind)
    if view is None or view.decoder_weights is None:
        return None
    cfg = snap.config
    prior = prior_from_config(cfg.prior, cfg.model.latent_dim)
    enc_weights = getattr(view, "encoder_weights", None)   # published by the job when available
    encode = None
    if enc_weights is not None:
        def encode(image: np.ndarray) -> np.ndarray:
            return viz.encode_with_weights(enc_weights, np.asarray(image)[None], latent_dim=2)[0]
    # The codes on the map change with the decoder (every 2 s), not with every snapshot (4 per
    # second): the pad's data — and what the browser redraws — stays the same in between.
    codes, labels = _codes_of_decoder(view.decoder_version, view.codes, snap.code_labels)
    return Explorable(title=texts.EXPLORER_RUN_TITLE.format(run_id=run_id, kind=kind.upper()), kind=kind, prior=prior, dataset=cfg.data.name,
                      data_root=cfg.data.root, data_seed=cfg.data.seed, weights=view.decoder_weights,
                      version=view.decoder_version, codes=codes, labels=labels,
                      bounds=_window(kind, prior, codes), encode=encode,
                      status=snap.status)


@st.cache_data(max_entries=16, show_spinner=False)
def _codes_of_decoder(version: str, _codes: np.ndarray | None, _labels: np.ndarray | None):
    """The codes that came with decoder ``version`` (later snapshots' codes are not looked at)."""
    return _codes, _labels


def is_training(source_key: str) -> bool:
    """Whether a source is a run that is loading, queued or training (its view must refresh)."""
    if not source_key.startswith("live:"):
        return False
    job = state.registry().get(source_key.split(":", 2)[1])
    return job is not None and job.peek().status in (RUNNING, QUEUED, LOADING)


@st.cache_resource(show_spinner=False, max_entries=4)
def pixel_index(name: str, root: str | None, seed: int) -> viz.PixelIndex | None:
    """The training images of a dataset, ready for nearest-image queries (None: not on this machine)."""
    try:
        return viz.PixelIndex(load_dataset(name, root=root, seed=seed).train_images)
    except DatasetUnavailable:
        return None


@st.cache_resource(show_spinner=False, max_entries=4)
def _train_labels(name: str, root: str | None, seed: int) -> np.ndarray:
    return load_dataset(name, root=root, seed=seed).train_labels.numpy()


# ==================================================================================== pictures

def grid_for(m: Explorable, n: int) -> viz.ManifoldGrid:
    """Gaussian prior: the percentile grid; other priors: an even grid over the map shaded by
    p(z); a plain AE: an even grid shaded by where its codes lie."""
    if m.kind == "ae":
        return viz.manifold_grid(m.prior, n, bounds=m.bounds,
                                 sample=m.codes if m.codes is not None else np.zeros((0, 2)))
    return viz.manifold_grid(m.prior, n, bounds=m.bounds)


def manifold_picture(m: Explorable, grid: viz.ManifoldGrid) -> np.ndarray:
    """The decoded grid as an RGB picture, cells with (almost) no mass tinted (holes of p(z))."""
    n = grid.n
    images = viz.decode_with_weights(m.weights, grid.z)                            # (n², 28, 28)
    tiled = viz.paper(viz.image_grid(images, ncols=n, pad=1, pad_value=0.0))      # (30n, 30n) uint8
    alpha = TINT_MAX * np.clip(1.0 - grid.density / HOLE_LEVEL, 0.0, 1.0)         # (n, n)
    cell = tiled.shape[0] // n
    a = np.repeat(np.repeat(alpha, cell, axis=0), cell, axis=1)[..., None]        # (30n, 30n, 1)
    rgb = tiled[..., None].astype(np.float32) * (1 - a) + TINT_RGB * a
    rgb = np.repeat(np.repeat(rgb, GRID_SCALE, axis=0), GRID_SCALE, axis=1)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def strip_picture(m: Explorable, path: np.ndarray) -> np.ndarray:
    images = viz.decode_with_weights(m.weights, path)
    return viz.paper(viz.image_grid(images, ncols=len(path), pad=1, pad_value=0.0), 2)


# ==================================================================================== the view

def _endpoint_options(m: Explorable) -> dict[str, str]:
    info = DATASETS.get(m.dataset)
    names = info.class_names if info else tuple(str(k) for k in range(10))
    opts = {"probe": "the probe", "drawing": "your drawing"}
    present = set(np.unique(m.labels).tolist()) if m.labels is not None else set()
    for k, name in enumerate(names):
        if k in present:
            opts[f"class:{k}"] = f"a typical {name}"
    return opts


def _endpoint(choice: str, m: Explorable, z_probe, z_draw) -> np.ndarray | None:
    if choice == "probe":
        return np.asarray(z_probe, np.float32)
    if choice == "drawing":
        return None if z_draw is None else np.asarray(z_draw, np.float32)
    if choice.startswith("class:") and m.codes is not None and m.labels is not None:
        mask = m.labels == int(choice.split(":")[1])
        if mask.any():
            return np.median(m.codes[mask, :2], axis=0).astype(np.float32)   # robust to a few strays
    return None


def _reported_probe() -> tuple[float, float]:
    """The probe as the browser last reported it (the pad's own state), else where Python put it."""
    value = state.value(K.EXP_PAD)
    z = value.get("z") if isinstance(value, dict) else None
    try:
        return float(z[0]), float(z[1])
    except (TypeError, ValueError, IndexError):
        return state.explorer_probe()


def _move_probe(z: tuple[float, float]) -> None:
    # The pad follows a *changed* z argument; nudge it by 1e-6 if it equals the last one sent.
    if tuple(np.round(z, 6)) == tuple(np.round(state.explorer_probe(), 6)):
        z = (z[0] + 1e-6, z[1])
    state.set_explorer_probe(z)


def _fmt(z) -> str:
    return f"({float(z[0]):.2f}, {float(z[1]):.2f})"


def view(source_key: str, live: bool) -> None:
    """Everything below the source selector, in two fragments: the probe's (the pad, Python's
    decode, nearest images, interpolation, drawing — rerun by every reported z) and the manifold
    grid's (which a drag never touches). For a training run they refresh every 2 s and 6 s."""
    content_select(source_key)
    st.fragment(probe_view, run_every=LIVE_REFRESH_S if live else None)(source_key)
    st.fragment(manifold_view, run_every=GRID_REFRESH_S if live else None)(source_key)


def _resolve_or_say(source_key: str) -> Explorable | None:
    try:
        m = resolve(source_key)
    except ckpt.CheckpointError as e:      # listed as unreadable, or its weights are not what its JSON says
        st.error(texts.EXPLORER_BAD_CHECKPOINT.format(error=e))
        return None
    except OSError:                        # gone since it was listed
        st.error(texts.EXPLORER_BAD_CHECKPOINT.format(error="the file is not there any more"))
        return None
    if m is None:
        st.info(texts.LOADING)
    return m


def probe_view(source_key: str) -> None:
    m = _resolve_or_say(source_key)
    if m is None:
        return
    if m.status:
        st.caption(texts.EXPLORER_LIVE.format(status=texts.STATUS_LABELS.get(m.status, m.status),
                                              s=f"{LIVE_REFRESH_S:.0f}"))
        widgets.details(decoders=(m.version,))
    top_pad, top_side = st.columns([1.9, 1], gap="large")
    interp_box, draw_box = st.columns([1.2, 1], gap="large")

    # The drawing and the interpolation ends come first: the pad draws them on the map.
    with draw_box:
        z_draw = _draw_section(m)
    with interp_box:
        z_a, z_b, names = _interp_ends(m, _reported_probe(), z_draw)

    marks = []
    if z_draw is not None:
        marks.append({"x": float(z_draw[0]), "y": float(z_draw[1]), "text": texts.PAD_DRAWING_MARK, "color": DRAWING_COLOR})
    path = None
    if z_a is not None and z_b is not None:
        path = [tuple(map(float, z_a)), tuple(map(float, z_b))]
        for z, text, choice in ((z_a, "A", state.value(K.EXP_FROM)), (z_b, "B", state.value(K.EXP_TO))):
            if choice not in ("probe", "drawing"):
                marks.append({"x": float(z[0]), "y": float(z[1]), "text": text, "color": ENDS_COLOR})
    info = DATASETS.get(m.dataset)
    with top_pad:
        z = latent_pad(key=K.EXP_PAD, weights=m.weights, weights_version=m.version, codes=m.codes, labels=m.labels,
                       bounds=m.bounds, z=state.explorer_probe(), height=PAD_HEIGHT, extra_points=marks,
                       path=path, label_names=info.class_names if info else None, help=texts.HELP_EXPLORER_PAD,
                       caption=texts.PAD_DECODED_CAPTION)
    decoded = viz.decode_with_weights(m.weights, np.asarray(z, np.float32))[0]
    with top_side:
        _server_decode(z, decoded)
        _nearest(m, decoded)
    with interp_box:
        _interp_strip(m, z_a, z_b, names)


def manifold_view(source_key: str) -> None:
    try:
        m = resolve(source_key)
    except (ckpt.CheckpointError, OSError):
        return                             # the probe's fragment says what is wrong
    if m is None:
        return
    st.markdown(f"**{texts.EXPLORER_GRID_TITLE}**")
    picture_col, words_col = st.columns([1.5, 1], gap="large")
    with words_col:
        n = st.slider(texts.EXPLORER_GRID_SIZE, 6, 20, key=K.EXP_GRID_N, help=texts.HELP_GRID_N)
    grid, picture = _manifold(m.version, n, m.bounds, m.prior.name, m.prior.scale, m.kind, m)
    with picture_col, st.container(key="explorer_grid"):
        st.image(picture, width="stretch")
    lo, hi = float(grid.axis[0]), float(grid.axis[-1])
    with words_col:
        if grid.kind == "percentile":
            st.caption(texts.EXPLORER_GRID_PERCENTILE.format(n=n, qlo=100 * grid.quantiles[0],
                                                             qhi=100 * grid.quantiles[-1], zlo=lo, zhi=hi))
        elif m.kind == "ae":
            st.caption(texts.EXPLORER_GRID_AE.format(n=n, zlo=lo, zhi=hi))
        else:
            st.caption(texts.EXPLORER_GRID_BOUNDS.format(n=n, zlo=lo, zhi=hi))


@st.cache_data(max_entries=32, show_spinner=False)
def _manifold(version: str, n: int, bounds, prior: str, scale: float, kind: str, _m: Explorable):
    """(grid, PNG) of a decoder's manifold, made once per decoder version and settings (tens of ms)."""
    grid = grid_for(_m, n)
    return grid, charts.png(manifold_picture(_m, grid))


def _server_decode(z, decoded: np.ndarray) -> None:
    st.markdown(f"**{texts.EXPLORER_SERVER_TITLE}**")
    with st.container(key="explorer_server"):
        st.image(charts.data_uri(viz.paper(decoded, SERVER_SCALE)), width=28 * SERVER_SCALE)
        st.caption(texts.EXPLORER_DECODED_AT.format(z0=z[0], z1=z[1]))
    st.caption(texts.EXPLORER_SERVER_CAPTION)


def _nearest(m: Explorable, decoded: np.ndarray) -> None:
    st.markdown(f"**{texts.EXPLORER_NEAREST_TITLE}**")
    index = pixel_index(m.dataset, m.data_root, m.data_seed)
    if index is None:
        st.caption(texts.EXPLORER_NO_DATASET.format(name=m.dataset))
        return
    idx, dist = index.nearest(decoded, k=NEAREST_K)
    labels = _train_labels(m.dataset, m.data_root, m.data_seed)
    info = DATASETS.get(m.dataset)
    names = [info.class_names[labels[i]] if info else str(labels[i]) for i in idx]
    strip = viz.image_grid(index.images[idx].reshape(-1, 28, 28), ncols=len(idx), pad=2, pad_value=0.0)
    with st.container(key="explorer_nearest"):
        st.image(charts.data_uri(viz.paper(strip, NEAREST_SCALE)), width="stretch")
        st.caption("  ·  ".join(f"{n} (d {d:.1f})" for n, d in zip(names, dist)))
    st.caption(texts.EXPLORER_NEAREST_CAPTION)


def _interp_ends(m: Explorable, z_probe, z_draw):
    st.markdown(f"**{texts.EXPLORER_INTERP_TITLE}**")
    opts = _endpoint_options(m)
    for key in (K.EXP_FROM, K.EXP_TO):
        state.ensure_choice(key, opts)
    c = st.columns([1, 1, 1], vertical_alignment="bottom")
    a = c[0].selectbox(texts.EXPLORER_FROM, list(opts), key=K.EXP_FROM, format_func=opts.get, help=texts.HELP_INTERP_END)
    b = c[1].selectbox("To (B)", list(opts), key=K.EXP_TO, format_func=opts.get, help=texts.HELP_INTERP_END)
    c[2].slider(texts.EXPLORER_STEPS, 3, 16, key=K.EXP_STEPS, help=texts.HELP_INTERP_STEPS)
    return _endpoint(a, m, z_probe, z_draw), _endpoint(b, m, z_probe, z_draw), (opts[a], opts[b])


def _interp_strip(m: Explorable, z_a, z_b, names) -> None:
    if z_a is None or z_b is None:
        st.caption(texts.EXPLORER_DRAW_HINT)
        return
    path = viz.interpolate(z_a, z_b, int(state.value(K.EXP_STEPS, 10)))
    with st.container(key="explorer_interp"):
        st.image(strip_picture(m, path), width="stretch")
    st.caption(texts.EXPLORER_INTERP_CAPTION.format(a=f"{names[0]} {_fmt(z_a)}", b=f"{names[1]} {_fmt(z_b)}"))


def _draw_section(m: Explorable) -> np.ndarray | None:
    st.markdown(f"**{texts.EXPLORER_DRAW_TITLE}**")
    left, right = st.columns([1.6, 1], vertical_alignment="top")
    with left:
        drawing = draw_canvas(key=K.EXP_DRAW, size=180, help=texts.HELP_DRAW)
    with right:
        if drawing is None:
            st.caption(texts.EXPLORER_DRAW_EMPTY)
            return None
        if m.encode is None:
            st.caption(texts.EXPLORER_NO_ENCODER)
            return None
        z = m.encode(drawing)[:2]
        recon = viz.decode_with_weights(m.weights, z)[0]
        with st.container(key="explorer_drawing"):
            st.image(viz.paper(recon, 4), width=112, caption=texts.EXPLORER_RECON_AT.format(z=_fmt(z)))
        st.button(texts.EXPLORER_MOVE_PROBE, icon=":material/my_location:", key="explorer_to_drawing", on_click=_move_probe,
                  args=((float(z[0]), float(z[1])),), help=texts.HELP_PROBE_TO_DRAWING)
        return z
