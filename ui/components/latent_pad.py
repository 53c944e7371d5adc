"""Latent pad: drag a probe through the 2-D latent space and watch the decoded digit follow it.

A Streamlit Components-v2 widget. Its HTML, CSS and JS live in ``latent_pad/`` beside this file and
are read once, when this module is imported. The browser decodes the probe itself with the
decoder's weights, so the image follows the pointer at display rate; Python's decode stays the
reference (``tests/test_components_browser.py`` checks the two agree to 1e-5 in float32).

How data and state flow (Streamlit 1.67, ``st.components.v2``):

* Python -> browser: everything goes through the mount's ``data`` (JSON). Streamlit re-parses and
  re-runs the JS only when that JSON string changes, and a ForwardMsg that is byte-identical to one
  the browser already has (>= 10 kB, ``global.minCachedMessageSize``) is sent as a hash reference
  only. Any change in ``data`` re-sends all of it (plus the pad's own html/css/js, ~30 kB, which
  ride in every element message), so the weights (~7 MB float32 for the ``paper``
  preset) must not ride along on every rerun: they are sent only while the browser has not
  acknowledged ``weights_version`` (state ``weights_ack``), and the live probe position is *not*
  part of ``data``, so dragging reruns re-send nothing but a hash.
* Browser -> Python: component *state* values (persist across reruns), read here from the mount's
  result and visible as ``st.session_state[key]`` (a dict):
  ``{"z": [x, y], "z_arg": [x, y], "weights_ack": "<version>"}``.
  ``z`` is reported throttled (50 ms) while dragging, on release and on arrow keys.
  Triggers (``setTriggerValue``) would reset to ``None`` after one rerun, so a position is state.
* Moving the probe from Python: pass a new ``z`` argument; the probe jumps there and reports back.
  Writing ``st.session_state[key]`` does *not* reach the browser (the live position is kept out of
  ``data``, see above); it is how AppTest plays the browser: ``at.session_state[key] = {"z": [x, y]}``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import streamlit as st

from ui.components.palette import LABEL_PALETTE

_ASSETS = Path(__file__).with_name("latent_pad")
_COMPONENT = st.components.v2.component(
    "aae_latent_pad",
    html=(_ASSETS / "pad.html").read_text(encoding="utf-8"),
    css=(_ASSETS / "pad.css").read_text(encoding="utf-8"),
    js=(_ASSETS / "pad.js").read_text(encoding="utf-8"),
)

PAYLOAD_FORMAT = "aae-mlp-v1"  # must match PAYLOAD_FORMAT in latent_pad/pad.js
LATENT_DIM = 2
IMAGE_PIXELS = 28 * 28
_WIRE_DTYPES = {"float16": "<f2", "float32": "<f4"}  # little-endian, as JS typed arrays read them
_MARKER_KEYS = {"x", "y", "text", "color"}

WeightDType = Literal["float16", "float32"]


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def encode_decoder_weights(
    weights: Sequence[tuple[np.ndarray, np.ndarray]], *, dtype: WeightDType = "float16"
) -> dict[str, Any]:
    """Pack an MLP decoder ``z(2) -> Linear -> ReLU -> ... -> Linear -> 784 logits`` for the browser.

    ``weights`` is ``[(W, b), ...]`` for each Linear in order, ``W`` shaped ``(out, in)`` as in
    ``torch.nn.Linear``. Each ``W`` is sent transposed, ``(in, out)`` row-major, so the browser's
    inner loop runs over contiguous memory. ``float16`` halves the bytes (about 1e-3 relative
    rounding); ``float32`` is exact. Example::

        payload = encode_decoder_weights([(l.weight.numpy(), l.bias.numpy()) for l in linears])
    """
    if dtype not in _WIRE_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_WIRE_DTYPES)}, got {dtype!r}")
    if not weights:
        raise ValueError("weights is empty: expected [(W, b), ...] for each Linear layer")
    wire = _WIRE_DTYPES[dtype]
    layers = []
    width = LATENT_DIM
    for i, (w, b) in enumerate(weights):
        w = np.asarray(w)
        b = np.asarray(b)
        if w.ndim != 2 or b.shape != (w.shape[0],):
            raise ValueError(f"layer {i}: W must be (out, in) and b (out,), got {w.shape} and {b.shape}")
        if w.shape[1] != width:
            raise ValueError(f"layer {i}: W takes {w.shape[1]} inputs but the previous layer gives {width}")
        layers.append({"shape": [int(w.shape[0]), int(w.shape[1])],  # (out, in), as torch
                       "w": _b64(w.T.astype(wire)),  # (in, out) row-major
                       "b": _b64(b.astype(wire))})
        width = w.shape[0]
    if width != IMAGE_PIXELS:
        raise ValueError(f"the decoder must end in {IMAGE_PIXELS} logits (28x28), it ends in {width}")
    return {"format": PAYLOAD_FORMAT, "dtype": dtype, "layers": layers}


def _encode_codes(codes: np.ndarray | None, labels: np.ndarray | None, dtype: WeightDType) -> dict | None:
    if codes is None:
        return None
    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim != 2 or codes.shape[1] != LATENT_DIM:
        raise ValueError(f"codes must be (N, 2), got {codes.shape}")
    packed: dict[str, Any] = {"n": int(codes.shape[0]), "dtype": dtype, "xy": _b64(codes.astype(_WIRE_DTYPES[dtype]))}
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (codes.shape[0],):
            raise ValueError(f"labels must be (N,) = ({codes.shape[0]},), got {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() > 255):
            raise ValueError("labels must lie in 0..255")
        packed["labels"] = _b64(labels.astype(np.uint8))
    return packed


def _finite_xy(value: Any) -> tuple[float, float] | None:
    try:
        x, y = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


def _markers(extra_points: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    markers = []
    for point in extra_points or ():
        unknown = set(point) - _MARKER_KEYS
        if unknown:
            raise ValueError(f"extra_points entries take {sorted(_MARKER_KEYS)}, got {sorted(unknown)}")
        xy = _finite_xy((point.get("x"), point.get("y")))
        if xy is None:
            continue  # a point with no position has nothing to draw (and NaN is not valid JSON)
        marker: dict[str, Any] = {"x": xy[0], "y": xy[1]}
        if point.get("text") is not None:
            marker["text"] = str(point["text"])
        if point.get("color") is not None:
            marker["color"] = str(point["color"])
        markers.append(marker)
    return markers


def _acknowledged_weights(key: str) -> Any:
    """The weights version the browser says it holds (component state ``weights_ack``), if any."""
    state = st.session_state[key] if key in st.session_state else None
    return state.get("weights_ack") if isinstance(state, Mapping) else None


def _noop() -> None:
    """State keys need an ``on_<name>_change`` callback to be accepted (and settable from Python)."""


def latent_pad(
    *,
    key: str,
    weights: Sequence[tuple[np.ndarray, np.ndarray]] | None,
    weights_version: str,
    codes: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    bounds: tuple[float, float] = (-4.0, 4.0),
    z: tuple[float, float] = (0.0, 0.0),
    height: int = 360,
    show_decoded: bool = True,
    extra_points: Sequence[Mapping[str, Any]] | None = None,
    path: Sequence[tuple[float, float]] | None = None,
    label_names: Sequence[str] | None = None,
    dtype: WeightDType = "float16",
    help: str | None = None,
    caption: str = "decoder(z)",
    on_change: Callable[[], None] | None = None,
) -> tuple[float, float]:
    """Show the latent pad and return the probe's position ``(x, y)``.

    Example::

        z = latent_pad(key="pad", weights=snap.decoder_weights, weights_version=f"{run}:{snap.step}",
                       codes=snap.codes, labels=snap.labels, bounds=prior.bounds)

    Args:
        key: Streamlit key; also where the state lives (``st.session_state[key]``).
        weights: ``[(W (out, in), b (out,)), ...]`` for each Linear of the decoder, or ``None``
            before there is a model (the pad still works, without the digit).
        weights_version: changes whenever ``weights`` change. The weights are sent to the browser
            only while it has not acknowledged this version: keep it stable between reruns and
            bump it at most every couple of seconds while training (DESIGN.md §4).
        codes, labels: held-out codes ``(N, 2)`` and their class labels ``(N,)``, drawn as a faint
            scatter coloured by ``LABEL_PALETTE[label]``.
        bounds: ``(lo, hi)``, the same range on both axes; the probe is clamped into it.
        z: where the probe starts; when the value passed changes, the probe jumps there.
        height: the pad's largest side in px (it shrinks to fit narrow columns).
        show_decoded: show the decoded 28x28 image beside the pad.
        extra_points: markers, ``[{"x": .., "y": .., "text": "your 7", "color": "#d62728"}]``
            (``text`` and ``color`` optional).
        path: a polyline through latent points, e.g. an interpolation, drawn dashed.
        label_names: legend names for labels 0..9 (default: the digits).
        dtype: wire format of weights and codes, ``"float16"`` (half the bytes) or ``"float32"``.
        help: a short hint shown under the legend.
        caption: the caption under the decoded image (in the page's language).
        on_change: called (before the rerun's script) whenever the student moves the probe.

    Returns:
        The probe position: the last one the browser reported, or ``z`` until the student moves
        it (and right after ``z`` changed, until the browser has followed). Always inside
        ``bounds``.
    """
    lo, hi = float(bounds[0]), float(bounds[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"bounds must be finite with lo < hi, got {bounds}")
    z_arg = _finite_xy(z)
    if z_arg is None:
        raise ValueError(f"z must be two finite numbers, got {z}")
    z_arg = (min(hi, max(lo, z_arg[0])), min(hi, max(lo, z_arg[1])))

    data: dict[str, Any] = {
        "key": key,
        "bounds": [lo, hi],
        "z": list(z_arg),
        "height": int(height),
        "show_decoded": bool(show_decoded),
        "palette": list(LABEL_PALETTE),
        "label_names": [str(n) for n in label_names] if label_names is not None else None,
        "codes": _encode_codes(codes, labels, dtype),
        "markers": _markers(extra_points),
        "path": [p for p in (_finite_xy(q) for q in path or ()) if p is not None],
        "help": help,
        "caption": str(caption),
        "weights_version": None if weights is None else str(weights_version),
    }
    if weights is not None and _acknowledged_weights(key) != data["weights_version"]:
        data["weights"] = encode_decoder_weights(weights, dtype=dtype)

    result = _COMPONENT(
        key=key,
        data=data,
        width="stretch",
        height="content",
        on_z_change=on_change or _noop,
        on_z_arg_change=_noop,
        on_weights_ack_change=_noop,
    )
    reported = _finite_xy(result.get("z"))
    seen_arg = _finite_xy(result.get("z_arg"))
    if reported is None or (seen_arg is not None and seen_arg != z_arg):
        return z_arg  # not moved yet, or the browser is still on its way to a new `z` argument
    return (min(hi, max(lo, reported[0])), min(hi, max(lo, reported[1])))
