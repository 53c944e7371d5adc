"""Charts and image grids built from a job's ``Snapshot`` (never from a live model).

Live charts are Vega-Lite specs for ``st.vega_lite_chart(spec, key=…)``, not Plotly figures.
Measured on Streamlit 1.67: a Plotly chart is re-mounted on every data change (its React key is an
element id that hashes the figure), so each refresh rebuilt the plot — a new WebGL context for
Scattergl — and cost Chromium ~55 % of a core at 3 refreshes/s; a keyed Vega-Lite chart keeps its
id, and Streamlit swaps only the changed datasets into the live view (~25 %), which also keeps
hover, legend selections and no flicker. So every spec here is *static* for a given set of layers
and prior — everything that changes per refresh travels in named ``datasets`` (DataFrames).

Everything runs inside live fragments a few times a second: axis ranges are fixed from the prior's
bounds, and whatever depends only on the prior — the p(z) shading — is computed once and cached.
The background (p(z) shading, D(z) colours) is one small PNG image under the plot rather than contour or heatmap traces,
so the browser draws an image instead of recomputing contours on every refresh.
"""

from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image

from aae import viz
from aae.priors import make_prior
from ui import texts

# Tableau 10 (plotly's "D3" palette), index = class label: distinct on a projector and for the
# common colour-vision deficiencies. Same values as ui/components/palette.py (the latent pad).
DIGIT_COLORS: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
CURVE_COLORS = {"recon": "#1f77b4", "disc": "#d62728", "gen": "#2ca02c", "prior_fit": "#9467bd"}
# D(z) = P(z came from the prior): red where D is sure it is a code, white at ½, blue where it
# believes "prior".
D_COLORSCALE = ((0.0, (178, 24, 43)), (0.5, (247, 247, 247)), (1.0, (33, 102, 172)))
PRIOR_SHADE_RGB = (40, 40, 60)
PRIOR_SHADE_ALPHA = 0.45         # darkest shading, where p(z) peaks
PRIOR_GRID = 160                 # resolution of the cached p(z) density
D_PRIOR_SHADE_BOOST = 1.6        # p(z) over the coloured D(z) background needs more contrast
LATENT_SIZE = 420                # px, the square q(z) plot (fits a 1280-px screen with the sidebar open)
LATENT_SIZE_WITH_MARGINALS = 360
MARGINAL_SIZE = 64               # px, height of the top / width of the right marginal histogram
MARGINAL_BINS = 40
CURVE_HEIGHT = 150               # px per curve chart, title and axis included
POINT_SIZE = 28                  # Vega-Lite area (px²) of a code's dot

LAYER_PRIOR = "p(z)"
LAYER_D = "D(z)"
LAYER_ARROWS = "Generator push"
LAYER_MARGINALS = "Marginals"
LAYERS = (LAYER_PRIOR, LAYER_D, LAYER_ARROWS, LAYER_MARGINALS)



@dataclass(frozen=True)
class Layers:
    prior: bool = True
    discriminator: bool = False
    arrows: bool = False
    marginals: bool = False

    @classmethod
    def from_names(cls, names) -> "Layers":
        names = set(names or ())
        return cls(prior=LAYER_PRIOR in names, discriminator=LAYER_D in names,
                   arrows=LAYER_ARROWS in names, marginals=LAYER_MARGINALS in names)


# ------------------------------------------------------------------------------------ images

def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _data_uri(array: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(_png(array)).decode("ascii")


@functools.lru_cache(maxsize=16)
def prior_density(name: str, scale: float = 1.0) -> np.ndarray:
    """p(z) on a PRIOR_GRID² grid over the prior's bounds, peak 1; row 0 = lowest z₂ (read-only)."""
    _, _, dens = make_prior(name, dim=2, scale=scale).density_grid(resolution=PRIOR_GRID)
    dens.flags.writeable = False
    return dens


def _shade(dens: np.ndarray) -> np.ndarray:
    """Density (rows = ascending z₂) → RGBA image (rows = descending z₂, as images are drawn)."""
    alpha = (PRIOR_SHADE_ALPHA * 255 * np.sqrt(np.clip(dens, 0, 1)))[::-1]     # √: faint tails stay visible
    rgba = np.empty(alpha.shape + (4,), np.uint8)
    rgba[..., :3] = PRIOR_SHADE_RGB
    rgba[..., 3] = alpha.astype(np.uint8)
    return rgba


@functools.lru_cache(maxsize=16)
def prior_shade_uri(name: str, scale: float = 1.0) -> str:
    return _data_uri(_shade(prior_density(name, scale)))


@functools.lru_cache(maxsize=16)
def prior_preview_png(name: str, scale: float = 1.0) -> bytes:
    """A small picture of p(z) (grey on white, light frame) for the prior selector."""
    rgba = _shade(prior_density(name, scale)).astype(np.float32)
    a = rgba[..., 3:4] / 255 / PRIOR_SHADE_ALPHA                                  # 0..1
    rgb = 255 * (1 - a) + a * np.array((30, 30, 60), np.float32)
    img = np.clip(rgb, 0, 255).astype(np.uint8)
    img[[0, -1], :] = img[:, [0, -1]] = 200
    return _png(img)


def _d_colors(d_grid: np.ndarray, size: int) -> np.ndarray:
    """D(z) probabilities (rows = ascending z₂), resampled bilinearly to ``size``², through
    D_COLORSCALE: float RGB (size, size, 3), rows still ascending."""
    d = np.clip(np.asarray(d_grid, np.float32), 0, 1)
    src = np.linspace(0, 1, d.shape[0], dtype=np.float32)
    dst = np.linspace(0, 1, size, dtype=np.float32)
    rows = np.stack([np.interp(dst, src, r) for r in d])                          # (R, size)
    p = np.stack([np.interp(dst, src, c) for c in rows.T], axis=1)                # (size, size)
    (x0, c0), (x1, c1), (x2, c2) = ((x, np.array(c, np.float32)) for x, c in D_COLORSCALE)
    t_lo = ((p - x0) / (x1 - x0))[..., None]
    t_hi = ((p - x1) / (x2 - x1))[..., None]
    return np.where(p[..., None] < x1, c0 + (c1 - c0) * t_lo, c1 + (c2 - c1) * t_hi)


def background_uri(prior_name: str, prior_scale: float, d_grid: np.ndarray | None, show_prior: bool) -> str | None:
    """The latent plot's background as one image: D(z) colours (when given) with the p(z) shading
    composited on top (when ``show_prior``). One image, so the layers can never hide each other."""
    if d_grid is None:
        return prior_shade_uri(prior_name, prior_scale) if show_prior else None
    rgb = _d_colors(d_grid, PRIOR_GRID)
    if show_prior:
        shade = _shade(prior_density(prior_name, prior_scale))[::-1]          # back to ascending rows
        a = shade[..., 3:4].astype(np.float32) / 255 * D_PRIOR_SHADE_BOOST
        rgb = rgb * (1 - a) + np.array(PRIOR_SHADE_RGB, np.float32) * a
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 230, np.float32)], axis=-1)[::-1]
    return _data_uri(np.clip(rgba, 0, 255).astype(np.uint8))


def image_grid_html(images: np.ndarray, ncols: int, *, name: str, alt: str) -> str:
    """An image grid as an ``<img>`` with the PNG inline. Inline, not ``st.image``: a live fragment
    replaces its media files several times a second and the browser then asks for deleted ones
    (404, a broken-image flash). ``pixelated`` keeps digits crisp when the browser scales them up."""
    uri = _data_uri((viz.image_grid(images, ncols) * 255).astype(np.uint8))
    return (f'<img src="{uri}" alt="{alt}" data-grid="{name}" '
            f'style="width:100%;image-rendering:pixelated;border-radius:4px;display:block">')


# ------------------------------------------------------------------------------------ latent plot

def latent_spec(snap, layers: Layers, class_names: tuple[str, ...] | None = None) -> dict:
    """q(z) of the fixed held-out batch, coloured by class, over p(z) and the optional layers.
    Click a class in the legend to highlight it."""
    lo, hi = (float(b) for b in snap.bounds)
    prior = snap.config.prior
    codes = np.asarray(snap.codes[:, :2], np.float32)
    labels = np.asarray(snap.code_labels)
    n_classes = max(len(DIGIT_COLORS), int(labels.max()) + 1 if labels.size else 0)
    names = list(class_names or ()) + [str(k) for k in range(len(class_names or ()), n_classes)]
    # Codes outside the fixed window are drawn on its edge (and counted) rather than lost.
    outside = int(np.any((codes < lo) | (codes > hi), axis=1).sum())
    margin = (hi - lo) * 0.004
    shown = np.clip(codes, lo + margin, hi - margin)
    show_d = layers.discriminator and snap.d_grid is not None
    size = LATENT_SIZE_WITH_MARGINALS if layers.marginals else LATENT_SIZE

    datasets: dict[str, pd.DataFrame] = {
        "codes": pd.DataFrame({"z1": shown[:, 0], "z2": shown[:, 1],
                               "class": np.asarray(names, dtype=object)[labels]}),
        "note": pd.DataFrame({"z1": [hi], "z2": [lo], "text": [
            f"{outside} code{'s' if outside != 1 else ''} outside the window, drawn on its edge"]}
            if outside else {"z1": [], "z2": [], "text": []}),
    }
    x = {"field": "z1", "type": "quantitative", "title": "z₁", "axis": {"grid": False, "tickCount": 7},
         "scale": {"domain": [lo, hi], "nice": False, "zero": False}}
    y = {"field": "z2", "type": "quantitative", "title": "z₂", "axis": {"grid": False, "tickCount": 7},
         "scale": {"domain": [lo, hi], "nice": False, "zero": False}}
    main_layers: list[dict] = []
    background = background_uri(prior.name, float(prior.scale), snap.d_grid if show_d else None, layers.prior)
    if background is not None:
        datasets["background"] = pd.DataFrame({"z1": [lo], "z2": [lo], "z1_end": [hi], "z2_end": [hi],
                                               "url": [background]})
        main_layers.append({"data": {"name": "background"}, "mark": {"type": "image", "aspect": False},
                            "encoding": {"x": x, "y": y, "x2": {"field": "z1_end"}, "y2": {"field": "z2_end"},
                                         "url": {"field": "url", "type": "nominal"}}})
    main_layers.append({
        "data": {"name": "codes"},
        "params": [{"name": "pick", "select": {"type": "point", "fields": ["class"]}, "bind": "legend"}],
        "mark": {"type": "circle", "size": POINT_SIZE},
        "encoding": {
            "x": x, "y": y,
            "color": {"field": "class", "type": "nominal", "title": None,
                      "scale": {"domain": names, "range": list(DIGIT_COLORS[:len(names)])},
                      "legend": {"orient": "top", "direction": "horizontal", "columns": 10, "symbolType": "circle",
                                 "labelFontSize": 13, "symbolSize": 120}},
            "opacity": {"condition": {"param": "pick", "value": 0.85}, "value": 0.07},
            "tooltip": [{"field": "class", "title": "class"}, {"field": "z1", "format": ".2f", "title": "z₁"},
                        {"field": "z2", "format": ".2f", "title": "z₂"}],
        }})
    if layers.arrows and snap.arrows is not None:
        datasets["arrows"] = _arrow_frame(np.asarray(snap.arrows, np.float32), lo, hi)
        ink = "#141414"
        main_layers += [
            {"data": {"name": "arrows"}, "mark": {"type": "rule", "color": ink, "opacity": 0.7, "strokeWidth": 1.3},
             "encoding": {"x": x, "y": y, "x2": {"field": "tip1"}, "y2": {"field": "tip2"}}},
            {"data": {"name": "arrows"}, "mark": {"type": "point", "shape": "triangle", "filled": True, "size": 36,
                                                  "color": ink, "opacity": 0.8},
             "encoding": {"x": {**x, "field": "tip1"}, "y": {**y, "field": "tip2"},
                          "angle": {"field": "angle", "type": "quantitative", "scale": None}}},
        ]
    if show_d:
        datasets["d_legend"] = pd.DataFrame({"z1": [lo, lo], "z2": [lo, lo], "d": [0.0, 1.0]})
        main_layers.append({
            "data": {"name": "d_legend"}, "mark": {"type": "square", "opacity": 0, "size": 1},
            "encoding": {"x": x, "y": y, "fill": {
                "field": "d", "type": "quantitative", "title": "D(z): is it a prior sample?",
                "scale": {"domain": [0, 1], "range": [_hex(c) for _, c in D_COLORSCALE]},
                "legend": {"orient": "bottom", "direction": "horizontal", "gradientLength": 260,
                           "values": [0, 0.5, 1],
                           "labelExpr": "datum.value == 0 ? 'surely a code' : datum.value == 1 ? "
                                        "'surely prior' : 'can\u2019t tell'"}}}})
    main_layers.append({"data": {"name": "note"}, "mark": {"type": "text", "align": "right", "baseline": "bottom",
                                                           "dx": -4, "dy": -4, "fontSize": 12, "color": "#555"},
                        "encoding": {"x": x, "y": y, "text": {"field": "text"}}})
    main = {"width": size, "height": size, "layer": main_layers}
    if not layers.marginals:
        return {**main, "datasets": datasets}

    datasets["marginals"] = _marginal_frame(codes, snap.prior_sample, lo, hi)
    bin_axis = {"field": "centre", "type": "quantitative", "scale": {"domain": [lo, hi], "nice": False},
                "axis": None}
    dens = {"type": "quantitative", "axis": None, "title": None}
    colour = {"field": "of", "type": "nominal", "title": None,
              "scale": {"domain": ["p(z)", "q(z)"], "range": ["#9a9aae", "#141414"]},
              "legend": {"orient": "right", "direction": "vertical"}}

    def marginal(axis_name: str, density_field: str) -> dict:
        enc = {"color": colour if axis_name == "x" else {**colour, "legend": None}, "order": {"field": "of"}}
        if axis_name == "x":
            enc |= {"x": bin_axis, "y": {**dens, "field": density_field, "stack": None}}
            box = {"width": size, "height": MARGINAL_SIZE}
        else:
            enc |= {"y": bin_axis, "x": {**dens, "field": density_field, "stack": None}}
            box = {"width": MARGINAL_SIZE, "height": size}
        return {**box, "data": {"name": "marginals"}, "transform": [{"filter": f"datum.axis == '{axis_name}'"}],
                "mark": {"type": "area", "interpolate": "step", "fillOpacity": 0.35,
                         "orient": "vertical" if axis_name == "x" else "horizontal", "line": True},
                "encoding": enc}

    return {"datasets": datasets, "spacing": 4,
            "vconcat": [marginal("x", "density"),
                        {"spacing": 4, "hconcat": [main, marginal("y", "density")],
                         "resolve": {"scale": {"color": "independent"}, "legend": {"color": "independent"}}}],
            "resolve": {"scale": {"color": "independent"}, "legend": {"color": "independent"}}}


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def _arrow_frame(arrows: np.ndarray, lo: float, hi: float) -> pd.DataFrame:
    """Start, tip and screen angle of each generator-push arrow (angle: degrees clockwise from up,
    as Vega-Lite turns a triangle)."""
    tip = np.clip(arrows[:, :2] + arrows[:, 2:4], lo, hi)
    angle = np.degrees(np.arctan2(arrows[:, 2], arrows[:, 3]))
    return pd.DataFrame({"z1": arrows[:, 0], "z2": arrows[:, 1], "tip1": tip[:, 0], "tip2": tip[:, 1],
                         "angle": angle.astype(np.float32)})


def _marginal_frame(codes: np.ndarray, prior_sample, lo: float, hi: float) -> pd.DataFrame:
    edges = np.linspace(lo, hi, MARGINAL_BINS + 1, dtype=np.float32)
    centres = (edges[:-1] + edges[1:]) / 2
    parts = []
    for axis_name, dim in (("x", 0), ("y", 1)):
        for name, values in (("p(z)", prior_sample), ("q(z)", codes)):
            if values is None:
                continue
            hist, _ = np.histogram(np.asarray(values)[:, dim], bins=edges, density=True)
            parts.append(pd.DataFrame({"axis": axis_name, "of": name, "centre": centres,
                                       "density": hist.astype(np.float32)}))
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------------ curves

CURVE_PANELS = ("recon", "game", "fit")


def curves_specs(history: dict[str, np.ndarray]) -> dict[str, dict]:
    """Three small charts over steps: reconstruction loss; the adversarial game with its
    equilibrium lines; the prior-fit ratio (log scale) with its target band. One spec each, so each
    can stretch to its column's width (Vega-Lite's ``container`` width does not work in concats)."""
    # Nothing that changes between refreshes may sit in a spec (it would rebuild the chart): the
    # scales follow the data.
    step = np.asarray(history.get("step", np.zeros(0)), np.float64)
    x = {"field": "step", "type": "quantitative", "title": None, "scale": {"nice": False}}

    def frame(keys: dict[str, str]) -> pd.DataFrame:
        parts = [pd.DataFrame({"step": step, "value": np.asarray(history[k], np.float32), "series": label})
                 for k, label in keys.items() if k in history and len(history[k]) == len(step)]
        if not parts:
            return pd.DataFrame({"step": [], "value": [], "series": []})
        df = pd.concat(parts, ignore_index=True)
        return df[np.isfinite(df["value"])]

    def lines(keys: dict[str, str], colors: list[str], y: dict, title: str, extra: list[dict]) -> dict:
        return {
            "width": "container", "title": {"text": title, "anchor": "start", "fontSize": 13},
            "datasets": {"curve": frame(keys)},
            "layer": [*extra, {
                "data": {"name": "curve"}, "mark": {"type": "line", "strokeWidth": 1.8, "clip": True},
                "encoding": {"x": x, "y": {"field": "value", "type": "quantitative", "title": None, **y},
                             "color": {"field": "series", "type": "nominal", "title": None,
                                       "scale": {"domain": list(keys.values()), "range": colors},
                                       "legend": None},
                             "tooltip": [{"field": "series"}, {"field": "step", "format": ",.0f"},
                                         {"field": "value", "format": ".3f"}]}}],
        }

    equilibrium = [
        {"data": {"values": [{}]}, "mark": {"type": "rule", "strokeDash": [4, 3], "color": CURVE_COLORS[k],
                                             "opacity": 0.9},
         "encoding": {"y": {"datum": v}}}
        for k, v in (("disc", texts.D_LOSS_EQUILIBRIUM), ("gen", texts.G_LOSS_EQUILIBRIUM))]
    band = [{"data": {"values": [{}]}, "mark": {"type": "rect", "color": "#2ca02c", "opacity": 0.15},
             "encoding": {"y": {"datum": 0.5}, "y2": {"datum": texts.PRIOR_FIT_GOOD}}}]
    return {
        "recon": lines({"recon": "reconstruction"}, [CURVE_COLORS["recon"]], {"scale": {"zero": False}},
                       "Reconstruction loss (nats per image)", []),
        "game": lines({"disc": "discriminator L_D", "gen": "generator L_G"},
                      [CURVE_COLORS["disc"], CURVE_COLORS["gen"]], {"scale": {"zero": True}},
                      "L_D (red) · L_G (green) · dashed: equilibrium", equilibrium),
        "fit": lines({"prior_fit": "prior-fit ratio"}, [CURVE_COLORS["prior_fit"]],
                     {"scale": {"type": "log", "domainMin": 0.5, "nice": False},
                      "axis": {"values": [0.5, 1, 2, 5, 10, 20, 50, 100], "labelOverlap": "greedy"}},
                     "Prior-fit ratio, log scale (green: good fit)", band),
    }


# ------------------------------------------------------------------------------------ Plotly version
# The same q(z)-over-p(z) picture as a Plotly figure, for views that are not refreshed live (the
# Compare page uses it). A live view should use ``latent_spec``: see the module docstring.

def figure(spec: dict):
    """A plotly Figure from a dict this module built, skipping plotly's validation (~10 ms)."""
    import plotly.graph_objects as go
    return go.Figure(spec, _validate=False)


def latent_figure(snap, layers: Layers, class_names: tuple[str, ...] | None = None):
    """q(z) of the fixed held-out batch, coloured by class, over p(z) (Plotly)."""
    lo, hi = (float(b) for b in snap.bounds)
    prior = snap.config.prior
    codes = np.asarray(snap.codes[:, :2], np.float32)
    labels = np.asarray(snap.code_labels)
    n_classes = max(len(DIGIT_COLORS), int(labels.max()) + 1 if labels.size else 0)
    names = list(class_names or ()) + [str(k) for k in range(len(class_names or ()), n_classes)]
    outside = int(np.any((codes < lo) | (codes > hi), axis=1).sum())
    margin = (hi - lo) * 0.004
    shown = np.clip(codes, lo + margin, hi - margin)
    show_d = layers.discriminator and snap.d_grid is not None
    background = background_uri(prior.name, float(prior.scale), snap.d_grid if show_d else None, layers.prior)
    images = [] if background is None else [dict(source=background, xref="x", yref="y", x=lo, y=hi,
                                                  sizex=hi - lo, sizey=hi - lo, sizing="stretch", layer="below")]
    traces = []
    for k in range(n_classes):
        m = labels == k
        if m.any():
            traces.append({"type": "scattergl", "mode": "markers", "name": names[k], "x": shown[m, 0],
                           "y": shown[m, 1], "marker": {"color": DIGIT_COLORS[k % len(DIGIT_COLORS)], "size": 6,
                                                        "opacity": 0.85},
                           "hovertemplate": "%{fullData.name}: z = (%{x:.2f}, %{y:.2f})<extra></extra>"})
    axis = dict(range=[lo, hi], zeroline=False, showgrid=False, ticks="outside")
    layout = {
        "template": {"layout": {}}, "height": 420, "uirevision": "latent", "plot_bgcolor": "white",
        "margin": dict(l=44, r=8, t=30, b=40), "images": images,
        "xaxis": {**axis, "title": {"text": "z₁"}, "constrain": "domain"},
        "yaxis": {**axis, "title": {"text": "z₂"}, "scaleanchor": "x", "scaleratio": 1, "constrain": "domain"},
        "legend": dict(orientation="h", x=0, y=1.0, yanchor="bottom", itemsizing="constant"),
        "annotations": [dict(text=f"{outside} codes outside the window, drawn on its edge", xref="paper",
                             yref="paper", x=1, y=0, xanchor="right", yanchor="bottom", showarrow=False,
                             font=dict(size=12, color="#555"))] if outside else [],
    }
    return figure({"data": traces, "layout": layout})
