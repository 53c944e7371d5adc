"""Compare: an AE, a VAE and an AAE trained side by side on identical batches (the paper's Fig. 2, live)."""

from ui import compare, state, texts, widgets

widgets.header(texts.COMPARE_TITLE, texts.COMPARE_INTRO)
job = state.current_job(state.COMPARE)
compare.setup_and_controls(job)
widgets.flash_messages()
widgets.run_or_stop(job, state.COMPARE, texts.NO_COMPARE_RUN)
compare.live_view(job)
