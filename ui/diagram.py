"""The network drawn: x → encoder → z → decoder → x̂, and the discriminator comparing z with samples
of p(z). The parts that learn in the phase just run are lit (red, as in the phase strip), the next
phase's are dashed: GAN Lab's model overview, for the paper's Fig. 1.

An SVG (shown through ``st.html`` as an image): nothing to load, nothing to build, and the labels come from the catalog
(escaped), so the picture speaks the session's language.
"""

from __future__ import annotations

import base64
import html

import streamlit as st

from ui import texts

# Which parts each phase of a kind's table updates (aae.kinds: the optimiser's parameters of that phase).
# The categorical kinds' q(y|x) is the encoder's second head; their "baseline" phase trains a separate
# network that is not drawn.
PHASE_PARTS: dict[str, tuple[str, ...]] = {
    "reconstruction": ("encoder", "decoder"),
    "discriminator": ("discriminator",),
    "discriminators": ("discriminator",),
    "generator": ("encoder",),
    "classification": ("encoder",),
}
KINDS_WITHOUT_D = ("ae", "vae")     # kinds whose codes no discriminator judges

# (x, y, width, height) of each box in a 660 × 190 picture
BOXES = {
    "x": (8, 22, 104, 44),
    "encoder": (146, 16, 112, 56),
    "z": (292, 22, 86, 44),
    "decoder": (412, 16, 112, 56),
    "x_hat": (558, 22, 96, 44),
    "prior": (108, 126, 150, 44),
    "discriminator": (292, 120, 168, 56),
}
NETWORKS = ("encoder", "decoder", "discriminator")      # learnable parts (drawn as trapezoid-like boxes)
EDGES = (("x", "encoder"), ("encoder", "z"), ("z", "decoder"), ("decoder", "x_hat"),
         ("z", "discriminator"), ("prior", "discriminator"))
# The arrows the phase's loss flows along (the generator's loss goes through D into the encoder).
_RECON_PATH = (("x", "encoder"), ("encoder", "z"), ("z", "decoder"), ("decoder", "x_hat"))
PHASE_EDGES = {
    "reconstruction": _RECON_PATH,
    "discriminator": (("z", "discriminator"), ("prior", "discriminator")),
    "discriminators": (("z", "discriminator"), ("prior", "discriminator")),
    "generator": (("x", "encoder"), ("encoder", "z"), ("z", "discriminator")),
    "classification": (("x", "encoder"),),
}
LIT, NEXT, IDLE = "#ff4b4b", "#8a8aa0", "#c9c9d3"


def lit_parts(phase: str | None) -> tuple[str, ...]:
    """The parts that learn in ``phase`` (none for None or a phase not drawn): ``lit_parts("generator")
    == ("encoder",)``."""
    return PHASE_PARTS.get(phase or "", ())


def _anchor(box: tuple[int, int, int, int], towards: tuple[int, int, int, int]) -> tuple[float, float]:
    """Where an edge leaves ``box`` for ``towards``: the right side, or the top/bottom for a vertical edge."""
    x, y, w, h = box
    tx, ty, tw, _ = towards
    if tx >= x + w:
        return x + w, y + h / 2
    if tx + tw <= x:
        return x, y + h / 2
    return x + w / 2, (y + h if ty > y else y)


def svg(kind: str, last_phase: str | None, next_phase: str | None) -> str:
    """The diagram as an SVG string for a run of ``kind``, lit for ``last_phase``, dashed for ``next_phase``."""
    lit, nxt = set(lit_parts(last_phase)), set(lit_parts(next_phase))
    names = texts.DIAGRAM_PARTS
    parts = [p for p in BOXES if kind not in KINDS_WITHOUT_D or p not in ("prior", "discriminator")]
    out = [('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 662 190" width="100%" role="img" class="aae-diagram-svg" '
            f'aria-label="{html.escape(texts.DIAGRAM_ALT)}">'),
           ('<defs><marker id="aae-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>')]
    hot_edges = set(PHASE_EDGES.get(last_phase or "", ()))
    for a, b in EDGES:
        if a not in parts or b not in parts:
            continue
        (x1, y1), (x2, y2) = _anchor(BOXES[a], BOXES[b]), _anchor(BOXES[b], BOXES[a])
        color = LIT if (a, b) in hot_edges else "#999"
        out.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="2" '
                   'marker-end="url(#aae-arrow)"/>')
    for p in parts:
        x, y, w, h = BOXES[p]
        net = p in NETWORKS
        if p in lit:
            stroke, fill, color, dash, cls = LIT, "#ffecec", "#a00", "", "lit"
        elif p in nxt:
            stroke, fill, color, dash, cls = NEXT, "#f6f6f9", "#444", ' stroke-dasharray="6 4"', "next"
        else:
            stroke, fill, color, dash, cls = IDLE, "#ffffff" if not net else "#f6f6f9", "#444", "", "idle"
        rx = 10 if net else 22
        out.append(f'<g class="aae-part {cls}" data-part="{p}">'
                   f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" '
                   f'fill="{fill}" stroke="{stroke}" stroke-width="{3 if p in lit else 2}"{dash}/>'
                   f'<text x="{x + w / 2}" y="{y + h / 2 + 5}" text-anchor="middle" font-size="15" '
                   f'font-weight="{700 if net else 500}" fill="{color}" font-family="sans-serif">'
                   f'{html.escape(names.get(p, p))}</text></g>')
    out.append("</svg>")
    return "".join(out)


def diagram(kind: str, last_phase: str | None, next_phase: str | None, *, caption: bool = True) -> None:
    """Draw the network (``svg``) with its caption; the container's ``data-lit`` names the lit parts,
    for tests and scripts."""
    lit = " ".join(lit_parts(last_phase))
    # an <img> of the SVG: st.html keeps HTML only (its sanitiser drops inline <svg>)
    picture = base64.b64encode(svg(kind, last_phase, next_phase).encode()).decode()
    st.html(f'<div class="aae-diagram" data-lit="{lit}" data-last-phase="{last_phase or ""}" '
            f'style="width:100%;max-width:560px"><img src="data:image/svg+xml;base64,{picture}" '
            f'alt="{html.escape(texts.DIAGRAM_ALT)}" style="width:100%"></div>')
    if caption:
        st.caption(texts.DIAGRAM_CAPTION)


def run_diagram(snap) -> None:
    """The diagram of a run's snapshot, in step with its phase strip (``ui.widgets.phase_strip``)."""
    from ui import controls
    diagram(snap.config.model.kind, snap.last_phase, controls.next_phase(snap))
