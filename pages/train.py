"""Train: pick a prior, press Start, and watch the codes q(z) being pulled into the shape of p(z)."""

import streamlit as st

from ui import state, texts, widgets

st.title(texts.TRAIN_TITLE)
widgets.intro(texts.TRAIN_INTRO)
widgets.explanations()

job = state.current_job()
with st.sidebar:
    prior = widgets.prior_select(on_change=widgets.on_prior_change)
    widgets.run_controls(job, widgets.new_train_run)
    widgets.run_setup()
widgets.flash_messages()

if job is None:
    widgets.no_run_view(prior)
    st.stop()

snap = state.run_snapshot(job)
widgets.run_banner(snap)
widgets.phase_strip(snap)
widgets.live_view(job)
