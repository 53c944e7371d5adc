"""A standalone Streamlit app for ``benchmarks/ui_charts.py``: one live latent scatter (or three, as
on Compare) refreshed ~3 times a second from synthetic codes, drawn one of three ways:

* ``?mode=vega``: ``ui.charts.latent_chart`` (a keyed ``st.vega_lite_chart``; what the app uses);
* ``?mode=plotly``: ``st.plotly_chart`` of the same picture (what Compare drew before);
* ``?mode=plotly_react``: a Components-v2 wrapper around the plotly.js that the ``plotly`` package
  ships, updated with ``Plotly.react``. plotly.js (4.8 MB) cannot ride in the component's ``js``
  (that is sent with every element message), so it travels once through ``data`` until the
  browser acknowledges it, the way the latent pad ships decoder weights.

``?panels=1`` draws Train's scatter with the p(z) and D(z) layers; ``?panels=3`` draws Compare's
three panels with p(z) only. Every fragment run appends ``{"t", "mode", "ms"}`` to the JSON-lines
file named by ``$AAE_CHART_BENCH_LOG`` (the time of the fragment body: building and sending).

    streamlit run benchmarks/ui_charts_app.py   # then open /?mode=plotly_react&panels=3
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ui import charts  # noqa: E402

REFRESH_S = 0.33          # three refreshes a second, as the Train page's live fragment
N_CODES = 500             # the fixed held-out batch of a snapshot
D_EVERY = 6               # refreshes between new D(z) grids (the job publishes one every ~2 s)
PANEL_SIZE = 260
MODES = ("vega", "plotly", "plotly_react")
PLOTLY_JS = Path(__import__("plotly").__file__).parent / "package_data" / "plotly.min.js"

_JS = """
export default function plotlyLive({ parentElement, data, setStateValue }) {
  if (!window.Plotly && data.plotly_js) {
    const script = document.createElement("script");
    script.textContent = data.plotly_js;            // the UMD bundle defines window.Plotly
    document.head.appendChild(script);
  }
  if (!window.Plotly) { setStateValue("plotly_ack", false); return; }
  if (data.ask_ack) setStateValue("plotly_ack", true);
  let div = parentElement.querySelector(".aae-plotly");
  if (!div) {
    div = document.createElement("div");
    div.className = "aae-plotly";
    parentElement.appendChild(div);
  }
  window.Plotly.react(div, data.figure.data, data.figure.layout, {displaylogo: false, responsive: false});
}
"""
_PLOTLY_LIVE = st.components.v2.component("aae_bench_plotly_live", js=_JS, isolate_styles=False)


@dataclass(frozen=True)
class FakeModel:
    codes: np.ndarray
    d_grid: np.ndarray | None = None
    arrows: None = None


def fake_snapshot(tick: int, kinds: tuple[str, ...]) -> SimpleNamespace:
    """Codes of three made-up models drifting towards N(0, I) — a new position every refresh, a
    new D(z) grid every D_EVERY refreshes — with the fields ``ui.charts`` reads from a Snapshot."""
    gen = np.random.default_rng(0)
    base = gen.normal(size=(N_CODES, 2)).astype(np.float32)
    labels = gen.integers(0, 10, N_CODES)
    centres = np.stack([np.cos(labels * 0.63), np.sin(labels * 0.63)], 1).astype(np.float32) * 2.5
    t = (tick % 200) / 200
    models = {}
    for i, kind in enumerate(kinds):
        jitter = np.random.default_rng(tick * 7 + i).normal(scale=0.05, size=base.shape).astype(np.float32)
        codes = (1 - t) * (centres * (1 + i) + 0.4 * base) + t * base + jitter
        g = np.linspace(-3.5, 3.5, 64, dtype=np.float32)
        phase = (tick // D_EVERY) * 0.3
        d_grid = 1 / (1 + np.exp(-(np.sin(g[:, None] + phase) + np.cos(g[None, :] - phase))))
        models[kind] = FakeModel(codes=codes, d_grid=d_grid.astype(np.float32))
    first = models[kinds[0]]
    return SimpleNamespace(
        models=models, primary=kinds[0], codes=first.codes, d_grid=first.d_grid, arrows=None,
        code_labels=labels, prior_sample=base, bounds=(-3.5, 3.5),
        config=SimpleNamespace(prior=SimpleNamespace(name="gaussian", scale=1.0)))


def plotly_figure(snap, layers: charts.Layers, size: int) -> dict:
    """The same picture as a plain-JSON Plotly figure (lists, not arrays: it travels as JSON):
    D(z) as a heatmap trace, the p(z) image of ``ui.charts``, codes per class as ``scattergl``,
    fixed 1:1 axes."""
    lo, hi = (float(b) for b in snap.bounds)
    codes = np.asarray(snap.codes, np.float32)
    labels = np.asarray(snap.code_labels)
    inside = ((codes >= lo) & (codes <= hi)).all(axis=1)
    traces = []
    if layers.discriminator and snap.d_grid is not None:
        grid = np.linspace(lo, hi, snap.d_grid.shape[0]).round(4).tolist()
        traces.append({"type": "heatmap", "z": np.asarray(snap.d_grid).round(3).tolist(), "x": grid, "y": grid,
                       "zmin": 0, "zmax": 1, "showscale": False, "opacity": charts.D_MAP_ALPHA,
                       "colorscale": [[v, charts._hex(c)] for v, c in charts.D_COLORSCALE]})
    shade = charts.prior_shade_uri(snap.config.prior.name, float(snap.config.prior.scale),
                                   charts.D_PRIOR_SHADE_BOOST if layers.discriminator else 1.0)
    traces += [{"type": "scattergl", "mode": "markers", "name": str(k),
                "x": codes[inside & (labels == k), 0].round(4).tolist(),
                "y": codes[inside & (labels == k), 1].round(4).tolist(),
                "marker": {"color": charts.DIGIT_COLORS[k], "size": 6, "opacity": 0.85}}
               for k in range(10)]
    axis = {"range": [lo, hi], "zeroline": False, "showgrid": False, "ticks": "outside"}
    layout = {"width": size + 60, "height": size + 60, "showlegend": False, "uirevision": "latent",
              "plot_bgcolor": "white", "margin": {"l": 44, "r": 8, "t": 8, "b": 40},
              "images": [{"source": shade, "xref": "x", "yref": "y", "x": lo, "y": hi, "sizex": hi - lo,
                          "sizey": hi - lo, "sizing": "stretch", "layer": "above" if traces[0]["type"] == "heatmap"
                          else "below"}],
              "xaxis": {**axis, "constrain": "domain"},
              "yaxis": {**axis, "scaleanchor": "x", "scaleratio": 1, "constrain": "domain"}}
    return {"data": traces, "layout": layout}


def plotly_react(fig: dict, key: str) -> None:
    acked = (st.session_state.get(key) or {}).get("plotly_ack") is True
    data = {"figure": fig, "ask_ack": not acked}
    if not acked:
        data["plotly_js"] = PLOTLY_JS.read_text(encoding="utf-8")
    _PLOTLY_LIVE(key=key, data=data, width="content", height="content", on_plotly_ack_change=lambda: None)


def draw(mode: str, snap, kinds: tuple[str, ...], layers: charts.Layers, size: int) -> None:
    cols = st.columns(len(kinds)) if len(kinds) > 1 else [st.container()]
    for col, kind in zip(cols, kinds):
        view = snap.models[kind]
        one = SimpleNamespace(**{**vars(snap), "codes": view.codes, "d_grid": view.d_grid, "primary": kind})
        with col, st.container(key=f"bench_panel_{kind}"):
            if mode == "vega":
                charts.latent_chart(one, layers, key=f"plot_{kind}", size=size, legend=len(kinds) == 1)
            elif mode == "plotly":
                fig = go.Figure(plotly_figure(one, layers, size), skip_invalid=True)
                st.plotly_chart(fig, key=f"plot_{kind}", width="content")
            else:
                plotly_react(plotly_figure(one, layers, size), key=f"plot_{kind}")


def main() -> None:
    st.set_page_config(page_title="chart benchmark", layout="wide")
    mode = st.query_params.get("mode", "vega")
    if mode not in MODES:
        st.error(f"mode must be one of {MODES}")
        st.stop()
    panels = int(st.query_params.get("panels", "1"))
    kinds = ("ae", "vae", "aae")[:panels]
    layers = charts.Layers(prior=True, discriminator=panels == 1)
    size = charts.LATENT_SIZE if panels == 1 else PANEL_SIZE
    log_path = os.environ.get("AAE_CHART_BENCH_LOG")

    @st.fragment(run_every=REFRESH_S)
    def live() -> None:
        t0 = time.perf_counter()
        tick = st.session_state.get("tick", 0) + 1
        st.session_state["tick"] = tick
        draw(mode, fake_snapshot(tick, kinds), kinds, layers, size)
        ms = (time.perf_counter() - t0) * 1000
        if log_path:
            with open(log_path, "a") as out:
                out.write(json.dumps({"t": time.time(), "mode": mode, "panels": panels, "ms": ms}) + "\n")

    live()


if __name__ == "__main__":      # `streamlit run` runs the script as __main__
    main()
