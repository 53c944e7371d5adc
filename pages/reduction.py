"""Dimensionality reduction (paper §7, Fig. 10-11): the 2-D map W_C·y + z of the categorical AAE,
beside the plain 2-D AAE's map of the same digits."""

import streamlit as st

from ui import categorical_views as cv, controls, presenter, state, texts, widgets

widgets.header(texts.REDUCTION_TITLE, texts.REDUCTION_INTRO)
cv.init_widgets()
job = state.current_job(state.REDUCTION)

with presenter.panel():
    kind = st.radio(texts.VARIANT_LABEL, list(texts.REDUCTION_VARIANTS), format_func=texts.REDUCTION_VARIANTS.get,
                    key="setup_reduction_kind", help=texts.HELP_REDUCTION_VARIANT)
    n = st.number_input(texts.CLUSTERS_LABEL, 2, 100, key="setup_reduction_n", help=texts.HELP_N_CLUSTERS)
    eta = st.number_input(texts.ETA_LABEL, 0.0, 100.0, step=0.5, key="setup_reduction_eta", help=texts.HELP_REDUCTION_ETA)
    labels = cv.REDUCTION_LABELS if kind == "reduction_semi" else None
    spec = cv.spec(state.REDUCTION, cv.new_run(state.REDUCTION, kind, n_classes=int(n), labels=labels,
                                               eta=float(eta)), "reduction")
    controls.run_controls(job, spec)
widgets.flash_messages()

if job is None:
    st.info(presenter.no_run("REDUCTION_NO_RUN"))
    st.stop()

snap = state.run_snapshot(job)
widgets.run_banner(snap)
widgets.phase_strip(snap)
cv.reduction_live(job)
