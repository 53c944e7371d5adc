"""Streamlit Components-v2 widgets: the latent pad and the drawing canvas.

Each widget is a small Python wrapper with its HTML/CSS/JS in a folder beside it, read once at
import; data reaches the JavaScript only through the component's ``data``, never as source text.
"""

from ui.components.draw_canvas import draw_canvas, drawing_state
from ui.components.latent_pad import encode_decoder_weights, latent_pad
from ui.components.palette import LABEL_PALETTE

__all__ = ["LABEL_PALETTE", "draw_canvas", "drawing_state", "encode_decoder_weights", "latent_pad"]
