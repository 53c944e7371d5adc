"""Train: pick a prior, press Start, and watch the codes q(z) being pulled into the shape of p(z)."""

import streamlit as st

from ui import controls, diagram, presenter, setup, state, texts, widgets

widgets.header(texts.TRAIN_TITLE, texts.TRAIN_INTRO)
job = state.current_job(state.TRAIN)
snap = state.run_snapshot(job) if job is not None else None
widgets.explanations(snap)

with presenter.panel():
    prior = controls.prior_select(widgets.TRAIN)
    setup.hard_prior_note(prior)
    controls.run_controls(job, widgets.TRAIN)
    setup.run_setup("aae")
widgets.flash_messages()

if job is None:
    widgets.no_run_view(prior)
    st.stop()

widgets.run_banner(snap)


def phases_and_network() -> None:
    widgets.phase_strip(snap)
    diagram.run_diagram(snap)


if presenter.presenting():      # 1280 × 720: the scatter from the top of the page, the phases beside it
    widgets.train_live_view(job, beside=phases_and_network)
else:
    strip, network = st.columns([1.4, 1], vertical_alignment="center")
    with strip:
        widgets.phase_strip(snap)
    with network:
        diagram.run_diagram(snap)
    widgets.train_live_view(job)
