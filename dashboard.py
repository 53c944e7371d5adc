"""AAE Lab: `streamlit run dashboard.py`.

The frame of the app (DESIGN.md §2): page config, navigation over `pages/`, the session's runs,
attached from the URL, the setup from a share link, and the shared sidebar. Everything else lives in
the pages and in `ui/`.
"""

from pathlib import Path

import streamlit as st

from ui import setup, state, texts, widgets

ROOT = Path(__file__).resolve().parent

# One line per page: (file, icon); its title is texts.NAV_TITLES[file stem]. The first is the default
# page; a page whose file does not exist yet is left out of the navigation, so adding a page needs one line here.
PAGES = (
    ("pages/train.py", ":material/model_training:"),
    ("pages/compare.py", ":material/compare:"),
    ("pages/explorer.py", ":material/explore:"),
    # the paper's experiments
    ("pages/semi_supervised.py", ":material/school:"),
    ("pages/clustering.py", ":material/hub:"),
    ("pages/reduction.py", ":material/scatter_plot:"),
    ("pages/labelled.py", ":material/label:"),
    ("pages/style.py", ":material/draw:"),
)

st.set_page_config(page_title="AAE Lab", page_icon="🧭", layout="wide")
widgets.page_style()
available = [entry for entry in PAGES if (ROOT / entry[0]).is_file()]
state.init_language()
page = st.navigation([st.Page(path, title=texts.NAV_TITLES[Path(path).stem], icon=icon, default=(i == 0))
                      for i, (path, icon) in enumerate(available)])
setup.init()
state.init_session(on_attach=setup.adopt)
setup.write_url()
with st.sidebar:
    st.radio(texts.LANGUAGE_LABEL, list(texts.LANGUAGES), format_func=texts.LANGUAGES.get, key=state.K.LANG,
             horizontal=True, help=texts.HELP_LANGUAGE)
widgets.sidebar_status()
page.run()
