"""Demo and test app for the components: ``python -m streamlit run ui/components/_demo_app.py``.

Renders the latent pad with a random (seeded) decoder and the drawing canvas, and prints what
Python received, so the browser tests and AppTest can check the round trip. Not a page of the
dashboard.
"""

import sys
from pathlib import Path

# `streamlit run` puts this file's folder on sys.path, not the project root that holds `ui`.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from ui.components import draw_canvas, latent_pad  # noqa: E402

PRESETS = {"small": (2, 256, 512, 784), "paper": (2, 1000, 1000, 784)}  # DESIGN.md §3 decoders


@st.cache_resource
def random_decoder(preset: str, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(W (out, in), b (out,)), ...]`` with PyTorch's default Linear init, U(±1/sqrt(in))."""
    rng = np.random.default_rng(seed)
    sizes = PRESETS[preset]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        layers.append((rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                       rng.uniform(-bound, bound, n_out).astype(np.float32)))
    return layers


@st.cache_resource
def ten_clusters(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Codes on the paper's 10-Gaussians circle, a stand-in for an encoder's held-out codes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    angle = 2 * np.pi * labels / 10
    codes = np.stack([2.5 * np.cos(angle), 2.5 * np.sin(angle)], 1) + 0.35 * rng.standard_normal((n, 2))
    return codes.astype(np.float32), labels


st.title("Components demo")
preset = st.radio("Decoder", list(PRESETS), horizontal=True, help="Layer sizes of the random decoder.")
dtype = st.radio("Weights on the wire", ["float16", "float32"], horizontal=True,
                 help="float16 halves the bytes sent to the browser.")
at_class0 = st.toggle("Start the probe at class 0", help="Passes z=(2.5, 0) instead of (0, 0): the probe jumps.")
codes, labels = ten_clusters()
z = latent_pad(key="pad", weights=random_decoder(preset), weights_version=f"{preset}-{dtype}",
               codes=codes, labels=labels, bounds=(-4.0, 4.0), dtype=dtype,
               z=(2.5, 0.0) if at_class0 else (0.0, 0.0),
               extra_points=[{"x": 2.5, "y": 0.0, "text": "class 0", "color": "#1f77b4"}],
               help="Drag the point, click anywhere, or focus the pad and use the arrow keys.")
st.text(f"python z = ({z[0]:.4f}, {z[1]:.4f})")

drawing = draw_canvas(key="draw", help="Draw one digit; it is sent when you lift the pen.")
if drawing is None:
    st.text("python drawing = none")
else:
    st.text(f"python drawing = {drawing.shape[0]}x{drawing.shape[1]} ink={drawing.sum():.2f} max={drawing.max():.2f}")
