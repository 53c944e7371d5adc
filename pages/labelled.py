"""Labels in the game (paper §2.3, Fig. 3-4): the discriminator also reads each digit's label, so
every labelled digit's codes go to its own petal of the mixture or its own tenth of the swiss roll."""

import streamlit as st

from ui import label_views as lv, presenter, state, texts, widgets

widgets.header(texts.LABELLED_TITLE, texts.LABELLED_INTRO)
job = state.current_job(state.LABELLED)

with presenter.panel():
    prior = lv.labelled_sidebar(job)
widgets.flash_messages()

if job is None:
    widgets.no_run_view(prior, state.LABELLED, "LABELLED_NO_RUN")
    st.stop()

snap = state.run_snapshot(job)
widgets.run_banner(snap)
if not presenter.presenting():      # presenter mode: beside the scatter (lv.labelled_live)
    widgets.phase_strip(snap)
lv.labelled_live(job, snap)
