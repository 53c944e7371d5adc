"""Drawing canvas: the student draws a digit; Python gets it as an MNIST-like 28x28 image.

A Streamlit Components-v2 widget; HTML, CSS and JS live in ``draw_canvas/`` beside this file and
are read once at import. When a stroke ends, the browser scales the digit's bounding box into a
20x20 box and centres its centre of mass in the 28x28 field (MNIST's own preprocessing), then
stores it as component state ``{"image": "<base64 of 784 uint8, row-major>"}`` (``None`` after
Clear). The drawing lives in the browser: writing the state from Python does not redraw the
canvas; AppTest plays the browser with ``at.session_state[key] = drawing_state(img)``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

_ASSETS = Path(__file__).with_name("draw_canvas")
_COMPONENT = st.components.v2.component(
    "aae_draw_canvas",
    html=(_ASSETS / "draw.html").read_text(encoding="utf-8"),
    css=(_ASSETS / "draw.css").read_text(encoding="utf-8"),
    js=(_ASSETS / "draw.js").read_text(encoding="utf-8"),
)

SIDE = 28


def drawing_state(image: np.ndarray) -> dict[str, Any]:
    """The component state for a drawing ``image`` (28x28 in [0, 1], 1 = ink): the inverse of
    what :func:`draw_canvas` returns, e.g. ``at.session_state["draw"] = drawing_state(img)``."""
    image = np.asarray(image, dtype=np.float32)
    if image.shape != (SIDE, SIDE):
        raise ValueError(f"a drawing is {SIDE}x{SIDE}, got {image.shape}")
    pixels = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    return {"image": base64.b64encode(pixels.tobytes()).decode("ascii")}


def _decode_image(value: Any) -> np.ndarray | None:
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != SIDE * SIDE:
        return None
    return np.frombuffer(raw, dtype=np.uint8).reshape(SIDE, SIDE).astype(np.float32) / 255.0


def _noop() -> None:
    """State keys need an ``on_<name>_change`` callback to be accepted (and settable from Python)."""


def draw_canvas(
    *,
    key: str,
    size: int = 196,
    stroke_width: float | None = None,
    help: str | None = None,
    on_change: Callable[[], None] | None = None,
) -> np.ndarray | None:
    """Show a drawing canvas with a Clear button; return the drawing, MNIST-like.

    Example::

        img = draw_canvas(key="draw")
        if img is not None:
            z = model.encode(torch.from_numpy(img).view(1, 784))

    Args:
        key: Streamlit key; the state lives in ``st.session_state[key]``.
        size: the canvas side in px (it shrinks to fit narrow columns).
        stroke_width: pen width in px; default ``size / 12``, which gives MNIST's 2-3 px strokes
            once a digit that fills the canvas is scaled to 20 px.
        help: a short hint shown under the Clear button.
        on_change: called whenever a stroke ends or the canvas is cleared.

    Returns:
        ``float32`` array ``(28, 28)`` in ``[0, 1]``, white ink (1) on black (0) as in MNIST,
        updated at the end of each stroke; ``None`` while the canvas is empty.
    """
    data = {"size": int(size), "stroke_width": stroke_width, "help": help}
    result = _COMPONENT(key=key, data=data, width="stretch", height="content", on_image_change=on_change or _noop)
    return _decode_image(result.get("image"))
