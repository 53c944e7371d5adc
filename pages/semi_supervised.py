"""Semi-supervised classification (paper §5, Table 2): a few labelled digits, many unlabelled ones,
and the held-out error of the AAE beside the same network trained on the labels alone."""

import streamlit as st

from ui import categorical_views as cv, controls, presenter, state, texts, widgets

widgets.header(texts.SEMI_TITLE, texts.SEMI_INTRO)
cv.init_widgets()
job = state.current_job(state.SEMI)

with presenter.panel():
    labels = st.radio(texts.SEMI_LABELS_LABEL, cv.LABEL_CHOICES, format_func=lambda n: f"{n:,}", horizontal=True,
                      key="setup_semi_labels", help=texts.HELP_SEMI_LABELS)
    seed = st.number_input(texts.FIELD_LABELS["seed"], 0, 2**31 - 1, key="setup_semi_seed", help=texts.HELP_SEMI_SEED)
    spec = cv.spec(state.SEMI, cv.new_run(state.SEMI, "semi_supervised", labels=labels, seed=int(seed)), "semi")
    controls.run_controls(job, spec)
widgets.flash_messages()

if job is None:
    st.info(presenter.no_run("SEMI_NO_RUN"))
    cv.semi_results(None)
    st.stop()

snap = state.run_snapshot(job)
widgets.run_banner(snap)
widgets.phase_strip(snap)
cv.semi_live(job)
cv.draw_panel(job)
cv.semi_results(snap)
