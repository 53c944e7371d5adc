"""AAE Lab: `streamlit run dashboard.py`.

The frame of the app (DESIGN.md §2): page config, navigation over `pages/`, the session's runs,
attached from the URL, the setup from a share link, and the shared sidebar. Everything else lives in
the pages and in `ui/`.
"""

from pathlib import Path

import streamlit as st

from ui import setup, state, widgets

ROOT = Path(__file__).resolve().parent

# One line per page: (file, title, icon). The first is the default page; a page whose file does not
# exist yet is left out of the navigation, so adding a page needs one line here.
PAGES = (
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/compare.py", "Compare AE · VAE · AAE", ":material/compare:"),
    ("pages/explorer.py", "Latent explorer", ":material/explore:"),
    # the paper's experiments
    ("pages/semi_supervised.py", "Semi-supervised classification", ":material/school:"),
    ("pages/clustering.py", "Clustering", ":material/hub:"),
    ("pages/reduction.py", "Dimensionality reduction", ":material/scatter_plot:"),
)

st.set_page_config(page_title="AAE Lab", page_icon="🧭", layout="wide")
widgets.page_style()
available = [entry for entry in PAGES if (ROOT / entry[0]).is_file()]
page = st.navigation([st.Page(path, title=title, icon=icon, default=(i == 0))
                      for i, (path, title, icon) in enumerate(available)])
setup.init()
state.init_session(on_attach=setup.adopt)
setup.write_url()
widgets.sidebar_status()
page.run()
