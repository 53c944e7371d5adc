"""Compare: an AE, a VAE and an AAE trained side by side on identical batches (the paper's Fig. 2, live)."""

import streamlit as st

from ui import compare, state, texts, widgets

widgets.header(texts.COMPARE_TITLE, texts.COMPARE_INTRO)
job = state.current_job(state.COMPARE)
compare.setup_and_controls(job)
widgets.flash_messages()

if job is None:
    st.info(texts.NO_COMPARE_RUN)
    widgets.reattach_offers(state.COMPARE)
    st.stop()

compare.live_view(job)
