"""Latent explorer: drag a point through the 2-D code space and watch the decoded digit follow."""

import streamlit as st

from ui import explorer, texts, widgets

widgets.header(texts.EXPLORER_TITLE, texts.EXPLORER_INTRO)
widgets.flash_messages()
options = explorer.sources()
if not options:
    st.info(texts.NO_EXPLORER_SOURCE)
    st.stop()

source = explorer.source_select(options)
explorer.view(source, live=explorer.is_training(source))
