"""Compare: an AE, a VAE and an AAE trained side by side on identical batches (the paper's Fig. 2, live)."""

from ui import compare, presenter, state, texts, widgets

widgets.header(texts.COMPARE_TITLE, texts.COMPARE_INTRO)
job = state.current_job(state.COMPARE)
if presenter.presenting():          # the controls under Run controls: the three panels and the table on one screen
    with presenter.panel():
        compare.setup_and_controls(job)
else:
    compare.setup_and_controls(job)
widgets.flash_messages()
# the paper's Table 1 under the live panels (above the prompt while there is no run); a projector
# shows the three panels alone
if job is None and not presenter.presenting():
    compare.likelihood_table()
widgets.run_or_stop(job, state.COMPARE, presenter.no_run("NO_COMPARE_RUN"))
compare.live_view(job)
if not presenter.presenting():
    compare.likelihood_table()
