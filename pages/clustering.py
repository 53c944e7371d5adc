"""Unsupervised clustering (paper §6, Table 3): q(y|x) sorts digits into n clusters without a single
label; each cluster is then named after the training digit it is surest of."""

import streamlit as st

from ui import categorical_views as cv, controls, presenter, state, texts, widgets

widgets.header(texts.CLUSTER_TITLE, texts.CLUSTER_INTRO)
cv.init_widgets()
job = state.current_job(state.CLUSTERING)

with presenter.panel():
    n = st.number_input(texts.CLUSTERS_LABEL, 2, 100, key="setup_clustering_n", help=texts.HELP_N_CLUSTERS)
    seed = st.number_input(texts.FIELD_LABELS["seed"], 0, 2**31 - 1, key="setup_clustering_seed", help=texts.HELP_SEED)
    spec = cv.spec(state.CLUSTERING, cv.new_run(state.CLUSTERING, "clustering", n_classes=int(n), seed=int(seed)),
                   "clustering")
    controls.run_controls(job, spec)
widgets.flash_messages()

if job is None:
    st.info(presenter.no_run("CLUSTER_NO_RUN"))
    cv.clustering_results()
    st.stop()

snap = state.run_snapshot(job)
widgets.run_banner(snap)
widgets.phase_strip(snap)
cv.clustering_live(job)
cv.clustering_results()
