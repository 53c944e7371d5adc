"""Presenter mode (``?present=1`` or the sidebar toggle): for a projector at 1280 × 720 (a 1080p
screen at 150 % zoom). The sidebar is hidden, the type grows by 1.4× or more, the page's intro and
the objective's expander give their room to the picture, and what a page puts in its sidebar (the
run controls, its setup) moves into one **Run controls** popover at the top of the page, beside the
glossary and the way out.

Pages put their controls in ``with presenter.panel():`` instead of ``with st.sidebar:``.
"""

from __future__ import annotations

import streamlit as st

from ui import glossary, state, texts

FONT_SCALE = 1.4            # the "at least 1.4×", on text, captions, buttons and metrics

# Streamlit 1.67's own test ids; the intro and status blocks are keyed containers (``st-key-…``).
PRESENTER_CSS = f"""<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"], .st-key-aae_intro, .st-key-aae_objective,
.st-key-aae_phase_hint, .st-key-aae_details {{display:none !important}}
[data-testid="stMainBlockContainer"] {{padding:.6rem 1.4rem 1rem !important; max-width:100% !important}}
[data-testid="stMain"] [data-testid="stVerticalBlock"] {{gap:.6rem}}
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li,
[data-testid="stPopoverBody"] [data-testid="stMarkdownContainer"] p, [data-testid="stPopoverBody"] li
    {{font-size:{FONT_SCALE}rem !important; line-height:1.4}}
[data-testid="stMain"] h1 {{font-size:2.3rem !important; padding:.2rem 0 .3rem !important}}
[data-testid="stMain"] h3 {{font-size:{1.75 * FONT_SCALE:.2f}rem !important}}
[data-testid="stMain"] [data-testid="stCaptionContainer"], [data-testid="stMain"] [data-testid="stCaptionContainer"] p
    {{font-size:{0.875 * FONT_SCALE:.2f}rem !important}}
[data-testid="stMain"] button p, [data-testid="stMain"] label p {{font-size:{FONT_SCALE * 0.95:.2f}rem !important}}
[data-testid="stMain"] [data-testid="stMetricValue"] {{font-size:{2.25 * FONT_SCALE:.2f}rem !important}}
[data-testid="stMain"] [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p {{font-size:inherit !important}}
[data-testid="stMain"] [data-testid="stMetricLabel"] p {{font-size:{0.875 * FONT_SCALE:.2f}rem !important}}
[data-testid="stMain"] .stSelectbox input[role="combobox"] {{font-size:{FONT_SCALE * 0.95:.2f}rem !important}}
.aae-phase, .aae-label {{font-size:{0.95 * FONT_SCALE:.2f}rem !important}}
</style>"""

def presenting() -> bool:
    return state.presenting()


# The charts' type (Streamlit's chart theme: labels 12 px, titles 13 px), which the page's CSS cannot
# reach: Vega-Lite draws its text itself
_CHART_FONTS = {"axis": {"labelFontSize": round(12 * FONT_SCALE), "titleFontSize": round(13 * FONT_SCALE)},
                "legend": {"labelFontSize": round(12 * FONT_SCALE), "titleFontSize": round(13 * FONT_SCALE)}}


def chart(spec: dict) -> dict:
    """``spec`` as this session should draw it: in presenter mode a shallow copy whose axes, legends
    and title are ``FONT_SCALE`` times larger (what the chart itself sets stays, its title's size
    grows); else ``spec`` itself. The datasets are shared, not copied."""
    if not presenting():
        return spec
    config = dict(spec.get("config") or {})
    for part, sizes in _CHART_FONTS.items():
        config[part] = {**sizes, **(config.get(part) or {})}
    out = {**spec, "config": config}
    title = spec.get("title")
    if isinstance(title, dict) and "fontSize" in title:
        out["title"] = {**title, "fontSize": round(title["fontSize"] * FONT_SCALE)}
    return out

def style() -> None:
    """The presenter CSS, when presenting (frame, every script run). The ``aae-presenting`` marker
    lets tests and scripts see the mode."""
    if presenting():
        st.html(PRESENTER_CSS + '<span class="aae-presenting" data-present="1"></span>')

def no_run(name: str) -> str:
    """A page's empty-state text ``texts.<name>`` (it says the controls are in the sidebar), or in
    presenter mode its ``texts.NO_RUN_PRESENTING[name]`` version: no sidebar there, the controls sit
    under **Run controls** at the top."""
    return texts.NO_RUN_PRESENTING[name] if presenting() else texts.text(name)


def _leave() -> None:
    state.assign(state.K.PRESENT, False)

_CONTROLS_SLOT = "_aae_present_controls_slot"     # session state: this script run's place for Run controls

def top_bar() -> None:
    """In presenter mode, one row at the top of every page (no sidebar): the glossary, the page's
    **Run controls** (``panel``; pages without controls leave it empty) and the way out."""
    if not presenting():
        return
    with st.container(key="aae_present_bar", horizontal=True, horizontal_alignment="right",
                      vertical_alignment="center"):
        glossary.glossary(key="aae_glossary_top", width="content")
        st.session_state[_CONTROLS_SLOT] = st.container(key="aae_present_controls", width="content")
        st.space("stretch")
        st.button(texts.PRESENT_EXIT, icon=":material/fullscreen_exit:", key="aae_present_exit", on_click=_leave)

def panel():
    """Where a page draws its sidebar content: the sidebar, or in presenter mode one **Run
    controls** popover in the top bar, beside the glossary (keyed ``aae_present_controls``)."""
    if not presenting():
        return st.sidebar
    slot = st.session_state.get(_CONTROLS_SLOT)
    if slot is None:                       # a page run without the frame's top bar
        slot = st.container(key="aae_present_controls")
    return slot.popover(texts.PRESENT_CONTROLS, icon=":material/tune:")
