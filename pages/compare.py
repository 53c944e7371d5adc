"""Compare: an AE, a VAE and an AAE trained side by side on identical batches (the paper's Fig. 2, live)."""

import streamlit as st

from ui import compare, state, texts, widgets

st.title(texts.COMPARE_TITLE)
widgets.intro(texts.COMPARE_INTRO)

compare.init()
job = state.current_compare_job()
compare.setup_and_controls(job)
widgets.flash_messages()

if job is None:
    st.info(texts.NO_COMPARE_RUN)
    st.stop()

compare.live_view(job)
