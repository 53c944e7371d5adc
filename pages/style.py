"""Style and content (paper §4, Fig. 6-7): the decoder is told the digit, so the code z keeps only
the handwriting style; one style drawn as all ten digits, dragged on the pad or read from a drawing."""

import streamlit as st

from ui import label_views as lv, presenter, state, texts, widgets

widgets.header(texts.STYLE_TITLE, texts.STYLE_INTRO)
job = state.current_job(state.STYLE)

with presenter.panel():
    lv.style_sidebar(job)
widgets.flash_messages()

if job is None:
    st.info(presenter.no_run("STYLE_NO_RUN"))
    widgets.reattach_offers(state.STYLE)
    st.stop()

snap = state.run_snapshot(job)
widgets.run_banner(snap)
widgets.phase_strip(snap)
lv.style_live(job)
