"""The pictures of the categorical AAE's pages (semi-supervised classification, clustering,
dimensionality reduction), drawn from a job's snapshot only (the kind's probe fills
``ModelView.extras`` and the ``test_error`` / ``baseline_error`` / ``purity`` curves in the job
thread, aae.kinds.categorical). Live charts are keyed Vega-Lite specs whose data travel in named
datasets, as everywhere in ``ui.charts``, so they update in place.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import streamlit as st

from aae.config import ConfigError, DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import DatasetUnavailable, load_dataset
from aae.jobs import Snapshot
from aae.kinds.categorical import classify_with_weights
from ui import charts, controls, live, presenter, state, texts

ERROR_COLORS = {"test_error": "#1f77b4", "baseline_error": "#d62728"}
MAP_SIZE = 340          # px, each 2-D map of the reduction page
HEAD_COLS = 9           # a cluster head, then its 8 held-out digits


def error_curve_spec(history: dict[str, np.ndarray], series: dict[str, str], title: str) -> dict:
    """Held-out error in % over steps, one line per key of ``series`` (key -> legend label)."""
    step = np.asarray(history.get("step", np.zeros(0)), np.float64)
    curves = {label: 100 * np.asarray(history[k], np.float64) for k, label in series.items() if k in history}
    frame = charts.clipped_frame(step, curves)
    colour = {"field": "series", "type": "nominal", "title": None,
              "scale": {"domain": list(series.values()), "range": [ERROR_COLORS.get(k, "#555") for k in series]},
              "legend": {"orient": "top"}}
    x = {"field": "step", "type": "quantitative", "title": texts.CHART_STEP, "scale": {"nice": False},
         "axis": {"format": ",d", "tickMinStep": 1}}     # whole steps (one point read "2,037.000000")
    y = {"field": "value", "type": "quantitative", "title": texts.CHART_HELD_OUT_ERROR, "scale": {"zero": True}}
    tooltip = [{"field": "series"}, {"field": "step", "format": ",.0f"}, {"field": "value", "format": ".1f"}]
    # Streamlit draws the spec's height as the whole chart's (title, legend and axes included): 320 px
    # leaves the plot about 200 px, so that a few points of error are visible
    return {"width": "container", "height": 320, "title": {"text": title, "anchor": "start", "fontSize": 13},
            "padding": {"top": 8, "left": 5, "right": 5, "bottom": 5},    # a CJK title's glyphs were cut at the top
            "datasets": {"curve": frame},
            "layer": [{"data": {"name": "curve"}, "mark": {"type": "line", "point": True, "strokeWidth": 2},
                       "encoding": {"x": x, "y": y, "color": colour, "tooltip": tooltip}}]}


def keyed_chart(spec: dict, *, key: str, width: str = "stretch") -> None:
    """A keyed Vega-Lite chart (updated in place) inside a container of the same key, whose CSS class
    ``st-key-<key>`` tests and scripts use to find it."""
    with st.container(key=key):
        st.vega_lite_chart(presenter.chart(spec), key=f"{key}_chart", width=width)


def error_curve(snap: Snapshot, series: dict[str, str], *, key: str, title: str) -> None:
    """The held-out error over steps; until the run has measured it (a run continuing a checkpoint
    starts with no curve), a line that says so instead of an empty axis."""
    history = snap.view.history
    if not any(np.isfinite(np.asarray(history.get(k, ()), np.float64)).any() for k in series):
        with st.container(key=key):
            st.caption(texts.ERROR_CURVE_WAITING.format(title=title))
        return
    keyed_chart(error_curve_spec(history, series, title), key=key)


def confusion_spec(confusion: np.ndarray, class_names: tuple[str, ...] | None = None) -> dict:
    """Rows: true label; columns: predicted label; colour and number: how many held-out digits."""
    c = np.asarray(confusion, np.int64)
    n = c.shape[0]
    names = list(class_names or ()) + [str(k) for k in range(len(class_names or ()), n)]
    t, p = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    frame = pa.table({"true": [names[i] for i in t.ravel()], "predicted": [names[j] for j in p.ravel()],
                      "count": c.ravel()})
    axis = {"type": "ordinal", "sort": names}
    return {"width": "container", "height": 360, "datasets": {"cells": frame},   # the whole chart's (see above)
            "title": {"text": texts.CONFUSION_TITLE, "anchor": "start", "fontSize": 13},
            "layer": [
                {"data": {"name": "cells"}, "mark": "rect",
                 "encoding": {"x": {"field": "predicted", **axis}, "y": {"field": "true", **axis},
                              "color": {"field": "count", "type": "quantitative", "scale": {"scheme": "blues"},
                                        "legend": None},
                              "tooltip": [{"field": "true"}, {"field": "predicted"}, {"field": "count"}]}},
                {"data": {"name": "cells"}, "transform": [{"filter": "datum.count > 0"}],
                 "mark": {"type": "text", "fontSize": 10},
                 "encoding": {"x": {"field": "predicted", **axis}, "y": {"field": "true", **axis},
                              "text": {"field": "count"}}}]}


def heads_rows(heads: np.ndarray, members: np.ndarray) -> np.ndarray:
    """(n · 9, 28, 28) in [0, 1]: row i is cluster head i, then the held-out digits assigned to it."""
    n = heads.shape[0]
    rows = np.concatenate([heads[:, None].astype(np.float32), members.astype(np.float32) / 255.0], axis=1)
    return rows.reshape(n * HEAD_COLS, *heads.shape[1:])


def heads_grid(view, *, name: str) -> None:
    """The cluster heads (decode(one-hot(i), z = 0)) with their held-out digits, and what each stands for."""
    heads, members = view.extras.get("heads"), view.extras.get("members")
    if heads is None or members is None:
        st.caption(texts.WAITING_FOR_PROBE)
        return
    labels = view.extras.get("cluster_label")
    st.markdown(charts.image_grid_html(heads_rows(heads, members), HEAD_COLS, name=name, alt=texts.HEADS_ALT),
                unsafe_allow_html=True)
    if labels is not None:
        st.caption(texts.HEADS_LABELS.format(labels=", ".join(f"{i}→{int(v)}" for i, v in enumerate(labels))))


def style_grid(view, *, name: str) -> None:
    grid = view.extras.get("style_grid")
    heads = view.extras.get("heads")
    if grid is None or heads is None:
        st.caption(texts.WAITING_FOR_PROBE)
        return
    st.markdown(charts.image_grid_html(grid, heads.shape[0], name=name, alt=texts.STYLE_GRID_ALT),
                unsafe_allow_html=True)


def drawn_prediction(view, image: np.ndarray, n_classes: int) -> np.ndarray | None:
    """q(y|x) (n,) of a drawn digit (28, 28) from the snapshot's encoder weights; None before the
    first weights arrive."""
    if view.encoder_weights is None:
        return None
    return classify_with_weights(view.encoder_weights, image[None], n_classes=n_classes)[0]


def prediction_spec(probs: np.ndarray) -> dict:
    frame = pa.table({"class": [str(i) for i in range(len(probs))], "p": np.asarray(probs, np.float64)})
    return {"width": "container", "height": 160, "datasets": {"bars": frame},
            "data": {"name": "bars"}, "mark": "bar",
            "encoding": {"x": {"field": "class", "type": "ordinal", "sort": None, "title": None},
                         "y": {"field": "p", "type": "quantitative", "title": "q(y|x)",
                               "scale": {"domain": [0, 1]}}}}


def map_spec(codes: np.ndarray, labels: np.ndarray, heads: np.ndarray | None, title: str) -> dict:
    """A 2-D map: held-out digits coloured by label (and the cluster heads W_C as crosses)."""
    codes = np.asarray(codes, np.float64)
    frame = pa.table({"z1": codes[:, 0], "z2": codes[:, 1], "digit": [str(int(v)) for v in labels]})
    digits = [str(i) for i in range(len(charts.DIGIT_COLORS))]
    layers = [{"data": {"name": "codes"}, "mark": {"type": "circle", "size": 18, "opacity": 0.8},
               "encoding": {"x": {"field": "z1", "type": "quantitative", "title": None, "scale": {"zero": False}},
                            "y": {"field": "z2", "type": "quantitative", "title": None, "scale": {"zero": False}},
                            "color": {"field": "digit", "type": "nominal", "title": texts.CHART_DIGIT,
                                      "scale": {"domain": digits, "range": list(charts.DIGIT_COLORS)}}}}]
    datasets = {"codes": frame}
    if heads is not None:
        datasets["heads"] = pa.table({"z1": heads[:, 0].astype(np.float64), "z2": heads[:, 1].astype(np.float64)})
        layers.append({"data": {"name": "heads"}, "mark": {"type": "point", "shape": "cross", "size": 120,
                                                            "color": "#111", "filled": True},
                       "encoding": {"x": {"field": "z1", "type": "quantitative"},
                                    "y": {"field": "z2", "type": "quantitative"}}})
    return {"width": MAP_SIZE, "height": MAP_SIZE, "datasets": datasets, "layer": layers,
            "title": {"text": title, "anchor": "start", "fontSize": 13}}


def percent(value: float | None, decimals: int = 1) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.{decimals}f} %"


def paper_percent(value: float) -> str:
    """A number of the paper's tables as the paper prints it (two decimals: 0.85 %, 9.55 %)."""
    return percent(value, decimals=2)


# ================================================================================ runs and pages
# (paper numbers: Makhzani et al. 2015, Tables 2 and 3, full MNIST; ours: benchmarks/categorical.py)

DATASET = "mnist-5k"
LABEL_CHOICES = (100, 1000, 4500)             # 4,500 = every training digit of mnist-5k
CLUSTER_CHOICES = (16, 30)
REDUCTION_LABELS = 1000
PAPER_SEMI = {100: (0.0190, 0.2580), 1000: (0.0160, 0.0873), 4500: (0.0085, 0.0125)}   # AAE, NN baseline
PAPER_CLUSTERS = {16: 0.0955, 30: 0.0410}


def new_run(slot: state.Slot, kind: str, *, n_classes: int = 10, labels: int | None = None, seed: int = 0,
            eta: float | None = None):
    """A maker of this page's runs, as ``controls.RunSpec.new_run`` wants it: paused -> the run.
    Problems are flashed, never raised (it runs in a button's callback)."""
    def make(paused: bool):
        try:
            train = {"seed": seed}
            if labels is not None:
                n_train = int(load_dataset(DATASET).train_labels.shape[0])
                train["label_fraction"] = min(1.0, labels / n_train)
            if eta is not None:
                train["eta"] = eta
            config = RunConfig(data=DataConfig(name=DATASET), prior=PriorConfig(name="gaussian"),
                               model=ModelConfig(kind=kind, latent_dim=2, n_classes=n_classes),
                               train=TrainConfig(**train))
            return state.create_run(slot, config, paused=paused)
        except (ConfigError, DatasetUnavailable, OSError) as e:
            state.flash("error", texts.RUN_NOT_STARTED.format(error=texts.say(e)))
            return None
    return make


# widget keys of the three pages and their first values (persistent keys: no ``value=`` in the widget)
WIDGET_DEFAULTS = {"setup_semi_labels": 100, "setup_semi_seed": 0, "setup_clustering_n": 16,
                   "setup_clustering_seed": 0, "setup_reduction_kind": "reduction", "setup_reduction_n": 10,
                   "setup_reduction_eta": 4.0}


def init_widgets() -> None:
    state.init_defaults(WIDGET_DEFAULTS)


def spec(slot: state.Slot, make, prefix: str) -> controls.RunSpec:
    return controls.RunSpec(slot=slot, new_run=make, prefix=prefix)


def _numbers(snap: Snapshot, keys: dict[str, str]) -> None:
    cols = st.columns(len(keys))
    for col, (k, label) in zip(cols, keys.items()):
        col.metric(label, percent(snap.view.latest.get(k)))


def semi_live(job) -> None:
    """The semi-supervised page's live part: status, the two error curves, the two numbers; then
    (slower) the confusion matrix and the style/content grid."""
    def fast(snap: Snapshot) -> None:
        st.markdown(live.status_line(snap))
        _numbers(snap, texts.SEMI_SERIES)
        error_curve(snap, texts.SEMI_SERIES, key="semi_error_curve", title=texts.SEMI_CURVE_TITLE)

    def slow(snap: Snapshot) -> None:
        left, right = st.columns(2)
        with left:
            confusion = snap.view.extras.get("confusion")
            if confusion is None:
                st.caption(texts.WAITING_FOR_PROBE)
            else:
                keyed_chart(confusion_spec(confusion), key="semi_confusion")
        with right:
            st.markdown(f"**{texts.STYLE_GRID_TITLE}**")
            style_grid(snap.view, name="style")
            st.caption(texts.STYLE_GRID_CAPTION)

    live.live_view(job, fast)
    live.live_view(job, slow, every=live.DETAIL_REFRESH_S, idle_watch=False)


def draw_panel(job) -> None:
    """The drawing canvas and the live run's verdict on the drawing (from the snapshot's encoder)."""
    from ui.components.draw_canvas import draw_canvas
    st.markdown(f"**{texts.DRAW_TITLE}**")
    left, right = st.columns(2)
    with left:
        image = draw_canvas(key="semi_draw", help=texts.DRAW_HELP)
    with right:
        if image is None or job is None:
            st.caption(texts.DRAW_EMPTY)
            return
        snap = state.run_snapshot(job)
        probs = drawn_prediction(snap.view, image, snap.config.model.n_classes)
        if probs is None:
            st.caption(texts.WAITING_FOR_PROBE)
            return
        st.markdown(texts.DRAW_RESULT.format(digit=int(probs.argmax()), p=float(probs.max())))
        keyed_chart(prediction_spec(probs), key="semi_draw_bars")


def semi_results(snap: Snapshot | None) -> None:
    """Our table beside the paper's Table 2 (and this run's latest numbers, if any)."""
    st.markdown(f"**{texts.RESULTS_TITLE}**")
    rows = []
    for n, (aae, nn) in PAPER_SEMI.items():
        ours = OUR_SEMI.get(n, (None, None, None))
        values = (f"{n:,}", paper_percent(aae), paper_percent(nn), percent(ours[0]), percent(ours[1]),
                  percent(ours[2]))
        rows.append(dict(zip(texts.SEMI_TABLE_COLUMNS, values)))
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(texts.SEMI_RESULTS_NOTE.format(steps=OUR_SEMI_STEPS, seeds=OUR_SEEDS))


def clustering_live(job) -> None:
    def fast(snap: Snapshot) -> None:
        st.markdown(live.status_line(snap))
        _numbers(snap, texts.CLUSTER_SERIES)
        error_curve(snap, texts.CLUSTER_SERIES, key="cluster_error_curve", title=texts.CLUSTER_CURVE_TITLE)

    def slow(snap: Snapshot) -> None:
        st.markdown(f"**{texts.HEADS_TITLE}**")
        heads_grid(snap.view, name="heads")

    if presenter.presenting():      # 1280 × 720: the heads beside the error, not below it
        left, right = st.columns(2, gap="large")
        with left:
            live.live_view(job, fast)
        with right:
            live.live_view(job, slow, every=live.DETAIL_REFRESH_S, idle_watch=False)
        return
    live.live_view(job, fast)
    live.live_view(job, slow, every=live.DETAIL_REFRESH_S, idle_watch=False)


def clustering_results() -> None:
    st.markdown(f"**{texts.RESULTS_TITLE}**")
    rows = [dict(zip(texts.CLUSTER_TABLE_COLUMNS, (n, paper_percent(p), percent(OUR_CLUSTERS.get(n)),
                                                   percent(OUR_KMEANS.get(n)))))
            for n, p in PAPER_CLUSTERS.items()]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(texts.CLUSTER_RESULTS_NOTE.format(steps=OUR_CLUSTER_STEPS, seeds=OUR_SEEDS))


@functools.lru_cache(maxsize=4)
def plain_aae_map(n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes (n, 2) and labels of the first n held-out digits under the shipped plain 2-D AAE."""
    import torch

    from aae import checkpoints as ckpt
    from aae.data import to_float
    path = ckpt.SHIPPED_DIR / "aae-gaussian"
    if not path.with_suffix(".json").is_file():
        return None
    model = ckpt.load_checkpoint(path).model.eval()
    data = load_dataset(DATASET)
    with torch.no_grad():
        codes = model.encode(to_float(data.test_images[:n])).numpy()
    return codes, data.test_labels[:n].numpy()


def reduction_live(job) -> None:
    def fast(snap: Snapshot) -> None:
        st.markdown(live.status_line(snap))
        latest = snap.view.latest
        st.markdown(texts.REDUCTION_METRICS.format(knn=percent(latest.get("knn_acc")),
                                                   purity=percent(latest.get("purity")),
                                                   err=percent(latest.get("test_error"))))
        left, right = st.columns(2)
        with left:
            if snap.view.codes is not None and snap.code_labels is not None:
                keyed_chart(map_spec(snap.view.codes, snap.code_labels, snap.view.extras.get("head_points"),
                                     texts.REDUCTION_MAP_TITLE), key="reduction_map", width="content")
        with right:
            plain = plain_aae_map(len(snap.code_labels)) if snap.code_labels is not None else None
            if plain is None:
                st.caption(texts.REDUCTION_PLAIN_MISSING)
            else:
                keyed_chart(map_spec(plain[0], plain[1], None, texts.REDUCTION_PLAIN_TITLE),
                            key="reduction_plain_map", width="content")

    live.live_view(job, fast)


# Our numbers (benchmarks/categorical.py on mnist-5k with the kinds' recipe, README "Semi-supervised
# classification and clustering"): labels -> (AAE error, NN baseline error, 1-NN on raw pixels);
# clusters -> error. Medians of 3 seeds, with the recipe's ±1-pixel translations (the baseline's
# labelled digits get the same): at 100 labels the AAE's error is 0.55x its baseline's; at 1,000
# labels and with 30 clusters the floors are not met; with all 4,500 labels the baseline is ahead (README).
OUR_SEMI_STEPS = "2,000"
OUR_CLUSTER_STEPS = "3,000"
OUR_SEEDS = 3
OUR_SEMI: dict[int, tuple[float | None, float | None, float | None]] = {100: (0.108, 0.190, 0.264),
                                                                        1000: (0.062, 0.062, 0.110),
                                                                        4500: (0.046, 0.034, 0.056)}
OUR_CLUSTERS: dict[int, float] = {16: 0.318, 30: 0.252}
# k-means on the raw training pixels, named by the same rule (benchmarks.categorical.raw_kmeans_error;
# medians of seeds 0-2): the cheapest clustering, which the AAE must beat
OUR_KMEANS: dict[int, float] = {16: 0.338, 30: 0.276}
