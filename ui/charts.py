"""Charts and image grids built from a job's ``Snapshot`` (never from a live model).

One way per kind of picture. Every chart here is Vega-Lite, drawn by ``st.vega_lite_chart(spec,
key=…)``; the live latent scatter has one entry point, ``latent_chart``, used by Train and by each
of Compare's three panels. Chosen by measurement (``benchmarks/ui_charts.py``, README "Live
charts"): with a stable key, Streamlit swaps the changed datasets into the live Vega view, so
nothing is rebuilt and nothing flickers; ``st.plotly_chart`` re-mounts its plot on every data
change, and a Components-v2 wrapper around plotly.js with ``Plotly.react`` first has to ship the
4.8 MB plotly.js to every browser. So every spec here is *static* for a given set of layers and
prior — everything that changes per refresh travels in named ``datasets`` (pyarrow tables).

Everything runs inside live fragments a few times a second: axis ranges are fixed from the prior's
bounds, and whatever depends only on the prior is computed once and cached — the p(z) shading is
one small PNG whose URL never changes (a browser blanks an image mark while a new URL loads). The
D(z) map, which changes every couple of seconds, is a grid of rect marks that Vega updates in place.
"""

from __future__ import annotations

import base64
import functools
import io
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Hashable, TypeVar

import numpy as np
import pyarrow as pa
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
D_PRIOR_SHADE_BOOST = 1.6        # p(z) over the coloured D(z) map needs more contrast
D_CELLS = 32                     # the D(z) map is drawn as D_CELLS² squares …
D_CELL_OVERLAP = 0.15            # … each reaching this fraction of a cell into its neighbours
D_MAP_ALPHA = 0.9                # the D(z) colours, as if drawn at 90 % over white
LATENT_SIZE = 420                # px, the square q(z) plot (fits a 1280-px screen with the sidebar open)
LATENT_SIZE_WITH_MARGINALS = 360
PRESENT_LATENT_SIZE = 380        # presenter mode at 1280 × 720: the plot, its legend and axes below the top bar
PRESENT_LATENT_SIZE_WITH_MARGINALS = 320
MARGINAL_SIZE = 64               # px, height of the top / width of the right marginal histogram
MARGINAL_BINS = 40
CURVE_HEIGHT = 150               # px per curve chart, title and axis included
POINT_SIZE = 28                  # Vega-Lite area (px²) of a code's dot
EDGE_BINS = 6                    # stretches per side that gather the codes outside the window
EDGE_INSET = 0.025               # edge markers sit this fraction of the window inside its border …
EDGE_LABEL_SHIFT = 0.06          # … with their count beside them along the edge
EDGE_FULL_COUNT = 60             # codes at which an edge marker reaches its largest size
EDGE_MAX_AREA = 200              # px², the largest edge marker
EDGE_COLOR = "#333"
NOTE_OFFSET = 40                 # px from the plot's top edge to the caption: below the tick labels
CLIP_IQR = 3.0                   # loss axes end at Tukey's far-out fences (q₁ − 3·IQR, q₃ + 3·IQR)

PREPARED_CACHE_SIZE = 64         # (run, snapshot version, view) entries shared by every viewer of the server

T = TypeVar("T")

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
    components: bool = False     # p(z) shaded per component, each in its class's colour (labelled runs)

    @classmethod
    def from_names(cls, names) -> "Layers":
        names = set(names or ())
        return cls(prior=LAYER_PRIOR in names, discriminator=LAYER_D in names,
                   arrows=LAYER_ARROWS in names, marginals=LAYER_MARGINALS in names)


# ------------------------------------------------------------------------------------ images

def png(array: np.ndarray) -> bytes:
    """PNG bytes, fast compression (st.image passes PNG bytes through as they are): the one PNG
    encoder of the UI."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def data_uri(array: np.ndarray) -> str:
    """A small picture inline (st.image and <img> take ``data:`` URLs): it arrives with the rerun's
    message instead of as a second HTTP fetch (~30 ms sooner on screen in the Explorer)."""
    return "data:image/png;base64," + base64.b64encode(png(array)).decode("ascii")


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
def prior_shade_uri(name: str, scale: float = 1.0, boost: float = 1.0) -> str:
    """p(z) as a PNG data URI, cached per prior: the same string on every refresh, so the browser
    never reloads it (an image mark blanks while a new URL loads). ``boost`` darkens the shading
    (over the coloured D(z) map it needs more contrast)."""
    rgba = _shade(prior_density(name, scale))
    rgba[..., 3] = np.clip(rgba[..., 3].astype(np.float32) * boost, 0, 255).astype(np.uint8)
    return data_uri(rgba)


@functools.lru_cache(maxsize=8)
def component_shade_uri(name: str, scale: float = 1.0) -> str:
    """p(z) with each component shaded in its class's colour, where the most of a cell's mass comes
    from (a label-conditioned run asks digit k to go to component k), as a cached PNG data URI
    like ``prior_shade_uri``."""
    from aae.kinds.labelled import component_density
    dens = component_density(make_prior(name, dim=2, scale=scale), PRIOR_GRID)          # (10, R, R)
    owner = dens.argmax(axis=0)[::-1]                                                   # rows: descending z₂
    alpha = (PRIOR_SHADE_ALPHA * 255 * np.sqrt(np.clip(dens.sum(axis=0), 0, 1)))[::-1]
    palette = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in DIGIT_COLORS], np.uint8)
    rgba = np.empty(owner.shape + (4,), np.uint8)
    rgba[..., :3] = palette[owner % len(palette)]
    rgba[..., 3] = alpha.astype(np.uint8)
    return data_uri(rgba)


@functools.lru_cache(maxsize=16)
def prior_preview_png(name: str, scale: float = 1.0) -> bytes:
    """A small picture of p(z) (grey on white, light frame) for the prior selector."""
    rgba = _shade(prior_density(name, scale)).astype(np.float32)
    a = rgba[..., 3:4] / 255 / PRIOR_SHADE_ALPHA                                  # 0..1
    rgb = 255 * (1 - a) + a * np.array((30, 30, 60), np.float32)
    img = np.clip(rgb, 0, 255).astype(np.uint8)
    img[[0, -1], :] = img[:, [0, -1]] = 200
    return png(img)


def d_cells(d_grid: np.ndarray, lo: float, hi: float, cells: int = D_CELLS) -> dict[str, np.ndarray]:
    """D(z) sampled on the grid points of [lo, hi]² (rows = ascending z₂), resampled bilinearly to
    ``cells`` × ``cells`` squares that tile the window (each overlapping the next by
    ``D_CELL_OVERLAP`` of a cell): columns z1, z1_end, z2, z2_end, d.
    Rect marks, not an image: Vega updates them in place when a new grid arrives, where an image
    mark would blank until the new picture has loaded."""
    d = np.clip(np.asarray(d_grid, np.float64), 0, 1)
    edges = np.linspace(lo, hi, cells + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    src = np.linspace(lo, hi, d.shape[0])
    rows = np.stack([np.interp(centres, src, r) for r in d])                      # (R, cells): along z₁
    grid = np.stack([np.interp(centres, src, c) for c in rows.T], axis=1)         # (cells z₂, cells z₁)
    j, i = np.meshgrid(np.arange(cells), np.arange(cells))                        # i: z₂ row, j: z₁ column
    overlap = D_CELL_OVERLAP * (hi - lo) / cells                                 # hides anti-aliased seams
    return {"z1": edges[j].ravel(), "z1_end": np.minimum(edges[j + 1] + overlap, hi).ravel(),
            "z2": edges[i].ravel(), "z2_end": np.minimum(edges[i + 1] + overlap, hi).ravel(),
            "d": grid.ravel().astype(np.float32)}


def image_grid_html(images: np.ndarray, ncols: int, *, name: str, alt: str, max_width: str = "100%") -> str:
    """An image grid as an ``<img>`` with the PNG inline. Inline, not ``st.image``: a live fragment
    replaces its media files several times a second and the browser then asks for deleted ones
    (404, a broken-image flash). ``pixelated`` keeps digits crisp when the browser scales them up.
    The grid fills its column up to ``max_width`` (a CSS length: ``calc(100vh - 290px)`` keeps a
    square grid within the window). ``object-fit`` is set because Streamlit's Markdown gives images
    ``scale-down``, which drew a 300 px grid in the middle of a 586 px box; the bottom margin makes
    up for the -1rem that Streamlit gives a Markdown block (the image overlapped what followed)."""
    uri = data_uri((viz.image_grid(images, ncols) * 255).astype(np.uint8))
    return (f'<img src="{uri}" alt="{alt}" data-grid="{name}" style="width:100%;max-width:{max_width};'
            f'height:auto;object-fit:contain;image-rendering:pixelated;border-radius:4px;display:block;'
            f'margin-bottom:1rem">')


# ------------------------------------------------------------------------------------ latent plot
# Live charts are keyed Vega-Lite charts (see the module docstring and README "Live charts"). The
# plot area is always a SIZE × SIZE square in pixels: Vega-Lite's width/height are the data
# rectangle's, and legends, axes and the caption are laid out around it, so no layer can squash it.

def outside_caption(n: int) -> str:
    """``"1 code outside the window"`` / ``"3 codes outside the window"`` (in the session's
    language); ``""`` for none (the ▲ at the edge say where they went)."""
    return "" if n <= 0 else texts.CHART_OUTSIDE["one" if n == 1 else "many"].format(n=n)


def _moves(snap) -> tuple[np.ndarray, np.ndarray] | None:
    """(codes before, codes now) of the snapshot's latest Step or Next phase, or None."""
    old = getattr(snap, "moved_from", None)
    if old is None or snap.codes is None or len(old) != len(snap.codes):
        return None
    return np.asarray(old[:, :2], np.float32), np.asarray(snap.codes[:, :2], np.float32)


def ghost_frame(snap, lo: float, hi: float) -> pa.Table:
    """The ghosts of the latest Step or Next phase: for each code whose old or new place is in the
    window, where it was (z1, z2), where it is (to1, to2) and its class; empty when there is no move."""
    moves = _moves(snap)
    if moves is None:
        return pa.table({"z1": pa.array([], pa.float32()), "z2": pa.array([], pa.float32()),
                         "to1": pa.array([], pa.float32()), "to2": pa.array([], pa.float32()),
                         "class": pa.array([], pa.string())})
    old, new = moves
    keep = _inside(old, lo, hi) | _inside(new, lo, hi)
    names = _class_names(np.asarray(snap.code_labels), None)
    return pa.table({"z1": old[keep, 0], "z2": old[keep, 1], "to1": new[keep, 0], "to2": new[keep, 1],
                     "class": np.asarray(names, dtype=object)[np.asarray(snap.code_labels)[keep]]})


def move_caption(snap) -> str:
    """How far the latest Step or Next phase moved the codes (median and largest, in z units), for
    the words beside the chart; ``""`` when there is no move to show."""
    moves = _moves(snap)
    if moves is None:
        return ""
    dist = np.linalg.norm(moves[1] - moves[0], axis=1)
    dist = dist[np.isfinite(dist)]
    if dist.size == 0:
        return ""
    return texts.GHOSTS_CAPTION.format(median=f"{np.median(dist):.2f}", largest=f"{dist.max():.2f}")


def edge_markers(codes: np.ndarray, lo: float, hi: float, bins: int = EDGE_BINS) -> dict[str, np.ndarray]:
    """Codes outside the square window [lo, hi]², gathered into ``bins`` stretches per side: one
    row per occupied stretch with the marker's position just inside the edge (z1, z2), the
    direction it points (angle, degrees clockwise from up), how many codes it stands for (count),
    and where that count is written, beside the marker along the edge (label1, label2).

    A code leaves by the side it overshoots most: (5.0, 0.3) in the window [-3.5, 3.5]² counts
    towards the right side's stretch that holds z₂ = 0.3, and (4.0, 9.0) towards the top side's
    last stretch. Non-finite codes are outside but have no direction, so they get no marker.
    """
    codes = np.asarray(codes, np.float64).reshape(-1, 2)
    codes = codes[np.isfinite(codes).all(axis=1)]
    span = hi - lo
    over = np.stack([lo - codes[:, 0], codes[:, 0] - hi, lo - codes[:, 1], codes[:, 1] - hi], axis=1)
    side = over.argmax(axis=1)                                   # 0 left, 1 right, 2 bottom, 3 top
    outside = over.max(axis=1) > 0
    along = np.where(side < 2, codes[:, 1], codes[:, 0])         # the coordinate along that side
    edges = np.linspace(lo, hi, bins + 1)
    stretch = np.clip(np.searchsorted(edges, along, side="right") - 1, 0, bins - 1)
    counts = np.bincount((side * bins + stretch)[outside], minlength=4 * bins)
    keep = np.flatnonzero(counts)
    s_of, centre = keep // bins, ((edges[:-1] + edges[1:]) / 2)[keep % bins]
    fixed = np.array([lo, hi, lo, hi])[s_of] + np.array([1, -1, 1, -1])[s_of] * EDGE_INSET * span
    vertical = s_of < 2                                          # left / right: the side runs along z₂
    z1, z2 = np.where(vertical, fixed, centre), np.where(vertical, centre, fixed)
    shift = np.where(centre < (lo + hi) / 2, 1.0, -1.0) * EDGE_LABEL_SHIFT * span   # towards the middle:
    return {"z1": z1, "z2": z2,                                                     # corners stay clear
            "label1": np.where(vertical, z1, z1 + shift), "label2": np.where(vertical, z2 + shift, z2),
            "angle": np.array([270, 90, 180, 0], np.float32)[s_of], "count": counts[keep].astype(np.int64)}


def _inside(codes: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.isfinite(codes).all(axis=1) & ((codes >= lo) & (codes <= hi)).all(axis=1)


def _model_fields(snap, model: str | None):
    """(codes, d_grid, arrows) of ``model`` in the snapshot (default: its primary model)."""
    if model is None:
        return snap.codes, snap.d_grid, snap.arrows
    view = snap.models[model]
    return view.codes, view.d_grid, view.arrows


def _class_names(labels: np.ndarray, class_names) -> list[str]:
    n_classes = max(len(DIGIT_COLORS), int(labels.max()) + 1 if labels.size else 0)
    return list(class_names or ()) + [str(k) for k in range(len(class_names or ()), n_classes)]


def latent_spec(snap, layers: Layers, class_names: tuple[str, ...] | None = None, *, model: str | None = None,
                bounds: tuple[float, float] | None = None, size: int | None = None, legend: bool = True) -> dict:
    """q(z) of the fixed held-out batch, coloured by class, over p(z) and the optional layers, as
    a Vega-Lite spec whose plot area is exactly ``size`` × ``size`` px (1:1 in z).

    ``model``: which of the snapshot's models (Compare's "ae" / "vae" / "aae"; default its primary);
    ``bounds``: the axes' window (default the prior's, ``snap.bounds``; p(z) and D(z) always cover
    the prior's own window); ``legend``: the clickable class legend above the plot (Compare draws
    one legend for its three panels). Codes outside the window are not drawn on its border: they
    become triangles at the edge with their count, and a caption below the axes counts them all.
    Everything that changes between refreshes travels in ``datasets``; the spec itself stays the
    same for a given set of layers, so the chart updates in place.
    """
    plo, phi = (float(b) for b in snap.bounds)
    lo, hi = (plo, phi) if bounds is None else (float(bounds[0]), float(bounds[1]))
    prior = snap.config.prior
    codes, d_grid, arrows = _model_fields(snap, model)
    codes = np.asarray(codes[:, :2], np.float32)
    labels = np.asarray(snap.code_labels)
    names = _class_names(labels, class_names)
    show_d = layers.discriminator and d_grid is not None
    if size is None:
        size = LATENT_SIZE_WITH_MARGINALS if layers.marginals else LATENT_SIZE
    inside = _inside(codes, lo, hi)

    # pyarrow tables: Streamlit sends them as they are (a DataFrame costs ~3 ms more each)
    datasets: dict[str, pa.Table] = {
        "codes": pa.table({"z1": codes[inside, 0], "z2": codes[inside, 1],
                           "class": np.asarray(names, dtype=object)[labels[inside]]}),
        "edges": pa.table(edge_markers(codes, lo, hi)),
        # always one row, so the chart's height does not jump when codes leave or come back
        "note": pa.table({"text": [outside_caption(int((~inside).sum())) or "\u00a0"]}),
    }
    ghosts = model is None                       # the primary's chart (Train, the label pages): Compare has none
    if ghosts:
        datasets["ghosts"] = ghost_frame(snap, lo, hi)
    scale = {"domain": [lo, hi], "nice": False, "zero": False}
    axis = {"grid": False, "tickCount": 7, "labelFlush": True}
    # z₁'s title at the axis' right end: the caption takes the left of the same line
    x = {"field": "z1", "type": "quantitative", "title": "z₁", "axis": {**axis, "titleAnchor": "end"}, "scale": scale}
    y = {"field": "z2", "type": "quantitative", "title": "z₂", "axis": axis, "scale": scale}
    box = {"x2": {"field": "z1_end"}, "y2": {"field": "z2_end"}}
    main_layers: list[dict] = []
    if show_d:
        datasets["d_map"] = pa.table(d_cells(d_grid, plo, phi))
        # opaque colours, pre-blended with white, on squares that overlap their neighbours a
        # little: translucent squares would show their seams
        fill = {"field": "d", "type": "quantitative", "title": texts.CHART_D_TITLE,
                "scale": {"domain": [0, 1], "range": [_hex(D_MAP_ALPHA * np.array(c) + (1 - D_MAP_ALPHA) * 255)
                                                      for _, c in D_COLORSCALE]},
                "legend": {"orient": "bottom", "direction": "horizontal", "gradientLength": min(size - 80, 240),
                           "values": [0, 0.5, 1], "titleLimit": size,
                           "labelExpr": f"datum.value == 0 ? {_js(texts.CHART_D_LABELS['code'])} : datum.value == 1 ? "
                                        f"{_js(texts.CHART_D_LABELS['prior'])} : {_js(texts.CHART_D_LABELS['unsure'])}"}}
        main_layers.append({"data": {"name": "d_map"}, "mark": {"type": "rect", "clip": True},
                            "encoding": {"x": x, "y": y, **box, "fill": fill}})
    if layers.prior:
        datasets["background"] = pa.table({
            "z1": [plo], "z2": [plo], "z1_end": [phi], "z2_end": [phi],
            "url": [component_shade_uri(prior.name, float(prior.scale)) if layers.components else
                    prior_shade_uri(prior.name, float(prior.scale), D_PRIOR_SHADE_BOOST if show_d else 1.0)]})
        main_layers.append({"data": {"name": "background"}, "mark": {"type": "image", "aspect": False, "clip": True},
                            "encoding": {"x": x, "y": y, **box, "url": {"field": "url", "type": "nominal"}}})
    colour = {"field": "class", "type": "nominal", "title": None,
              "scale": {"domain": names, "range": list(DIGIT_COLORS[:len(names)])},
              "legend": {"orient": "top", "direction": "horizontal", "columns": 10, "symbolType": "circle",
                         "labelFontSize": 13, "symbolSize": 120} if legend else None}
    if ghosts:
        # Where each code was before the latest Step / Next phase: a faint ring, and a trail to the
        # dot where it is now (drawn under the dots)
        ghost_colour = {**colour, "legend": None}
        main_layers += [
            {"name": "ghost_trails", "data": {"name": "ghosts"},       # named: tests and scripts find the marks
             "mark": {"type": "rule", "strokeWidth": 1.2, "opacity": 0.55, "clip": True},
             "encoding": {"x": x, "y": y, "x2": {"field": "to1"}, "y2": {"field": "to2"}, "color": ghost_colour}},
            {"name": "ghost_rings", "data": {"name": "ghosts"}, "mark": {"type": "point", "shape": "circle", "filled": False,
                                                  "size": POINT_SIZE, "strokeWidth": 1, "opacity": 0.5, "clip": True},
             "encoding": {"x": x, "y": y, "color": ghost_colour}},
        ]
    main_layers.append({
        "data": {"name": "codes"},
        "params": [{"name": "pick", "select": {"type": "point", "fields": ["class"]}, "bind": "legend"}],
        "mark": {"type": "circle", "size": POINT_SIZE},
        "encoding": {
            "x": x, "y": y, "color": colour,
            "opacity": {"condition": {"param": "pick", "value": 0.85}, "value": 0.07},
        }})
    if layers.arrows and arrows is not None:
        datasets["arrows"] = _arrow_frame(np.asarray(arrows, np.float32), lo, hi)
        ink = "#141414"
        main_layers += [
            {"data": {"name": "arrows"}, "mark": {"type": "rule", "color": ink, "opacity": 0.7, "strokeWidth": 1.3},
             "encoding": {"x": x, "y": y, "x2": {"field": "tip1"}, "y2": {"field": "tip2"}}},
            {"data": {"name": "arrows"}, "mark": {"type": "point", "shape": "triangle", "filled": True, "size": 36,
                                                  "color": ink, "opacity": 0.8},
             "encoding": {"x": {**x, "field": "tip1"}, "y": {**y, "field": "tip2"},
                          "angle": {"field": "angle", "type": "quantitative", "scale": None}}},
        ]
    main_layers += [
        {"data": {"name": "edges"}, "mark": {"type": "point", "shape": "triangle", "filled": True,
                                             "color": EDGE_COLOR, "opacity": 0.9},
         "encoding": {"x": x, "y": y, "angle": {"field": "angle", "type": "quantitative", "scale": None},
                      "size": {"field": "count", "type": "quantitative", "legend": None,
                               "scale": {"type": "sqrt", "domain": [0, EDGE_FULL_COUNT], "range": [0, EDGE_MAX_AREA],
                                         "clamp": True}},
                      "tooltip": [{"field": "count", "title": texts.CHART_OUTSIDE_TOOLTIP}]}},
        {"data": {"name": "edges"}, "mark": {"type": "text", "fontSize": 10, "color": EDGE_COLOR,
                                             "align": "center", "baseline": "middle"},
         "encoding": {"x": {**x, "field": "label1"}, "y": {**y, "field": "label2"}, "text": {"field": "count"}}},
        # on the axis title's line, left (pixels from the plot's top-left corner): below the tick labels
        {"data": {"name": "note"}, "mark": {"type": "text", "align": "left", "baseline": "top", "fontSize": 12,
                                            "color": "#555", "x": 0, "y": size + NOTE_OFFSET},
         "encoding": {"text": {"field": "text"}}},
    ]
    main = {"width": size, "height": size, "layer": main_layers}
    if not layers.marginals:
        return {**main, "datasets": datasets, "autosize": {"type": "pad"}}

    datasets["marginals"] = _marginal_frame(codes[inside], snap.prior_sample, lo, hi)
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

    return {"datasets": datasets, "spacing": 4, "autosize": {"type": "pad"},
            "vconcat": [marginal("x", "density"),
                        {"spacing": 4, "hconcat": [main, marginal("y", "density")],
                         "resolve": {"scale": {"color": "independent"}, "legend": {"color": "independent"}}}],
            "resolve": {"scale": {"color": "independent"}, "legend": {"color": "independent"}}}


# ------------------------------------------------------------------------------------ shared per version

class _Prepared:
    """A process-wide, bounded LRU of what a snapshot's views cost to build (specs with their Arrow
    bytes, image grids), keyed by (run, snapshot version, view): thirty watchers of one run build
    each version's charts once between them, not thirty times, in the process that also trains
    (issue 10 §8). An entry holds a weak reference to its snapshot and is only a hit for that very
    object, so two hand-made snapshots that happen to share an id and version never share a chart."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[tuple, tuple[Callable[[], object], object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, snap, view: Hashable, build: Callable[[], T]) -> T:
        key = (snap.job_id, snap.version, view)
        try:
            hash(key)
        except TypeError:                        # an unhashable view: nothing to share
            return build()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0]() is snap:
                self._entries.move_to_end(key)
                return entry[1]
        value = build()                          # outside the lock: a slow build never blocks other views
        with self._lock:
            self._entries[key] = (_ref(snap), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _ref(obj) -> Callable[[], object]:
    try:
        return weakref.ref(obj)
    except TypeError:                            # not weak-referenceable: hold it (the cache is bounded)
        return lambda: obj


PREPARED = _Prepared(PREPARED_CACHE_SIZE)


def prepared(snap, view: Hashable, build: Callable[[], T]) -> T:
    """``build()`` once per (``snap.job_id``, ``snap.version``, ``view``) for every session of the
    server; later calls for the same snapshot return the same object (treat it as read-only)."""
    return PREPARED.get(snap, view, build)


def with_arrow_bytes(spec: dict) -> dict:
    """``spec`` with its named datasets serialised to Arrow IPC bytes once (``st.vega_lite_chart``
    passes bytes through as they are instead of serialising the tables on every call)."""
    from streamlit import dataframe_util

    datasets = spec.get("datasets")
    if not datasets:
        return spec
    to_bytes = dataframe_util.convert_anything_to_arrow_bytes
    return {**spec, "datasets": {name: data if isinstance(data, bytes) else to_bytes(data)
                                 for name, data in datasets.items()}}


def shared_latent_spec(snap, layers: Layers, class_names: tuple[str, ...] | None = None, *,
                       model: str | None = None, bounds: tuple[float, float] | None = None,
                       size: int | None = None, legend: bool = True) -> dict:
    """``latent_spec(...)`` (same arguments) built once per snapshot version for all its viewers."""
    view = ("latent", texts.current_language(), layers, tuple(class_names) if class_names is not None else None, model,
            None if bounds is None else (float(bounds[0]), float(bounds[1])), size, legend)
    return prepared(snap, view, lambda: with_arrow_bytes(
        latent_spec(snap, layers, class_names, model=model, bounds=bounds, size=size, legend=legend)))


def shared_curves_specs(snap) -> dict[str, dict]:
    """``curves_specs(snap.history)`` built once per snapshot version for all its viewers."""
    return prepared(snap, ("curves", texts.current_language()), lambda: {name: with_arrow_bytes(spec)
                                             for name, spec in curves_specs(snap.history).items()})


def shared_image_grid_html(snap, view: Hashable, images: Callable[[], np.ndarray], ncols: int, *, name: str,
                           alt: str) -> str:
    """``image_grid_html(images(), …)`` built once per snapshot version for all its viewers."""
    return prepared(snap, ("grid", view, ncols, name, alt),
                    lambda: image_grid_html(images(), ncols, name=name, alt=alt))


def latent_chart(snap, layers: Layers, *, key: str, class_names: tuple[str, ...] | None = None,
                 model: str | None = None, bounds: tuple[float, float] | None = None, size: int | None = None,
                 legend: bool = True) -> None:
    """Draw ``latent_spec(...)`` (same arguments) as a keyed Vega-Lite chart: the one way every
    page draws a live latent scatter. The same ``key`` on every refresh lets Streamlit swap the
    datasets into the live view instead of rebuilding the chart."""
    import streamlit as st

    from ui import presenter

    spec = shared_latent_spec(snap, layers, class_names, model=model, bounds=bounds, size=size, legend=legend)
    st.vega_lite_chart(spec=presenter.chart(spec), key=key, width="content")


def _js(text: str) -> str:
    """``text`` as a JavaScript string literal for a Vega expression."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def _arrow_frame(arrows: np.ndarray, lo: float, hi: float) -> pa.Table:
    """Start, tip and screen angle of each generator-push arrow (angle: degrees clockwise from up,
    as Vega-Lite turns a triangle); arrows that start outside the window are left out."""
    arrows = arrows[_inside(arrows[:, :2], lo, hi)]
    tip = np.clip(arrows[:, :2] + arrows[:, 2:4], lo, hi)
    angle = np.degrees(np.arctan2(arrows[:, 2], arrows[:, 3]))
    return pa.table({"z1": arrows[:, 0], "z2": arrows[:, 1], "tip1": tip[:, 0], "tip2": tip[:, 1],
                     "angle": angle.astype(np.float32)})


def _marginal_frame(codes: np.ndarray, prior_sample, lo: float, hi: float) -> pa.Table:
    edges = np.linspace(lo, hi, MARGINAL_BINS + 1, dtype=np.float32)
    centres = (edges[:-1] + edges[1:]) / 2
    cols: dict[str, list] = {"axis": [], "of": [], "centre": [], "density": []}
    for axis_name, dim in (("x", 0), ("y", 1)):
        for name, values in (("p(z)", prior_sample), ("q(z)", codes)):
            if values is None or len(values) == 0:
                continue
            hist, _ = np.histogram(np.asarray(values)[:, dim], bins=edges, density=True)
            cols["axis"] += [axis_name] * MARGINAL_BINS
            cols["of"] += [name] * MARGINAL_BINS
            cols["centre"].append(centres)
            cols["density"].append(hist.astype(np.float32))
    return pa.table({"axis": cols["axis"], "of": cols["of"],
                     "centre": np.concatenate(cols["centre"]) if cols["centre"] else np.zeros(0, np.float32),
                     "density": np.concatenate(cols["density"]) if cols["density"] else np.zeros(0, np.float32)})


# ------------------------------------------------------------------------------------ curves

CURVE_PANELS = ("recon", "game", "fit")


def robust_range(values: np.ndarray, k: float = CLIP_IQR) -> tuple[float, float]:
    """Tukey's far-out fences ``[q₁ − k·IQR, q₃ + k·IQR]`` of the finite values: a loss spike
    (one L_D step at 60 among values near 1.4) falls outside and no longer sets the axis. The IQR
    has a floor of 1 % of the median, so a flat curve still gets a visible band."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (0.0, 1.0)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    iqr = max(q3 - q1, 0.01 * abs(med), 1e-12)
    return (max(float(v.min()), q1 - k * iqr), min(float(v.max()), q3 + k * iqr))


def _long(step: np.ndarray, series: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(step, value, series label) of the finite points of every curve as long as ``step``."""
    steps, values, labels = [], [], []
    for label, v in series.items():
        v = np.asarray(v, np.float64)
        if len(v) != len(step):
            continue
        ok = np.isfinite(v)
        steps.append(step[ok])
        values.append(v[ok])
        labels += [label] * int(ok.sum())
    if not steps:
        return np.zeros(0), np.zeros(0), []
    return np.concatenate(steps), np.concatenate(values), labels


def clipped_frame(step: np.ndarray, series: dict[str, np.ndarray]) -> pa.Table:
    """Long table (step, value, shown, clipped, series) of curves on one axis: ``shown`` is
    ``value`` clamped to the robust range of all the curves together, ``clipped`` marks the
    points that were moved ("above" / "below", drawn as ▲ / ▼ at the edge, the true value in the
    tooltip). Non-finite points are left out."""
    steps, values, labels = _long(step, series)
    lo, hi = robust_range(values)
    clipped = np.where(values > hi, "above", np.where(values < lo, "below", ""))
    return pa.table({"step": steps, "value": values, "shown": np.clip(values, lo, hi),
                     "clipped": clipped.astype(object), "series": labels})


def curves_specs(history: dict[str, np.ndarray]) -> dict[str, dict]:
    """Three small charts over steps: reconstruction loss; the adversarial game with its
    equilibrium lines; the prior fit with its target band. One spec each, so each can stretch to
    its column's width (Vega-Lite's ``container`` width does not work in concats).

    The loss axes follow a robust range of the data (``robust_range``), so one spike — a live
    prior switch, an unlucky batch — cannot flatten the rest of the curve; clipped points sit on
    the edge as ▲ / ▼ and their tooltip keeps the true value."""
    # Nothing that changes between refreshes may sit in a spec (it would rebuild the chart): the
    # scales follow the data.
    step = np.asarray(history.get("step", np.zeros(0)), np.float64)
    x = {"field": "step", "type": "quantitative", "title": None, "scale": {"nice": False},
         "axis": {"format": ",d", "tickMinStep": 1}}

    def lines(keys: dict[str, str], colors: list[str], y: dict, title: str, extra: list[dict],
              clip: bool) -> dict:
        series = {label: history[k] for k, label in keys.items() if k in history}
        frame = clipped_frame(step, series) if clip else _plain_frame(step, series)
        colour = {"field": "series", "type": "nominal", "title": None,
                  "scale": {"domain": list(keys.values()), "range": colors}, "legend": None}
        tooltip = [{"field": "series"}, {"field": "step", "format": ",.0f"}, {"field": "value", "format": ".3f"}]
        value = {"field": "shown", "type": "quantitative", "title": None, **y}
        layer = [*extra, {"data": {"name": "curve"}, "mark": {"type": "line", "strokeWidth": 1.8, "clip": True},
                          "encoding": {"x": x, "y": value, "color": colour, "tooltip": tooltip}}]
        if clip:
            layer += [{"data": {"name": "curve"}, "transform": [{"filter": f"datum.clipped == '{side}'"}],
                       "mark": {"type": "point", "shape": shape, "filled": True, "size": 30},
                       "encoding": {"x": x, "y": value, "color": colour, "tooltip": tooltip}}
                      for side, shape in (("above", "triangle-up"), ("below", "triangle-down"))]
        return {"width": "container", "title": {"text": title, "anchor": "start", "fontSize": 13},
                "datasets": {"curve": frame}, "layer": layer}

    equilibrium = [
        {"data": {"values": [{}]}, "mark": {"type": "rule", "strokeDash": [4, 3], "color": CURVE_COLORS[k],
                                             "opacity": 0.9},
         "encoding": {"y": {"datum": v}}}
        for k, v in (("disc", texts.D_LOSS_EQUILIBRIUM), ("gen", texts.G_LOSS_EQUILIBRIUM))]
    band = [{"data": {"values": [{}]}, "mark": {"type": "rect", "color": "#2ca02c", "opacity": 0.15},
             "encoding": {"y": {"datum": 0.5}, "y2": {"datum": texts.PRIOR_FIT_GOOD}}}]
    series, titles = texts.CURVE_SERIES, texts.CURVE_TITLES
    return {
        "recon": lines({"recon": series["recon"]}, [CURVE_COLORS["recon"]], {"scale": {"zero": False}},
                       titles["recon"], [], clip=True),
        "game": lines({"disc": series["disc"], "gen": series["gen"]},
                      [CURVE_COLORS["disc"], CURVE_COLORS["gen"]], {"scale": {"zero": True}},
                      titles["game"], equilibrium, clip=True),
        # a ratio on a log scale: spikes stay readable without clipping
        "fit": lines({"prior_fit": series["prior_fit"]}, [CURVE_COLORS["prior_fit"]],
                     {"scale": {"type": "log", "domainMin": 0.5, "nice": False},
                      "axis": {"values": [0.5, 1, 2, 5, 10, 20, 50, 100], "labelOverlap": "greedy"}},
                     titles["fit"], band, clip=False),
    }


def _plain_frame(step: np.ndarray, series: dict[str, np.ndarray]) -> pa.Table:
    """Long table (step, value, shown, series) for a log axis: points ≤ 0 have no place there."""
    steps, values, labels = _long(step, series)
    keep = values > 0
    return pa.table({"step": steps[keep], "value": values[keep], "shown": values[keep],
                     "series": [label for label, k in zip(labels, keep) if k]})
