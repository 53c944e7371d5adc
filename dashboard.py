"""AAE Lab: `streamlit run dashboard.py`.

The frame of the app (DESIGN.md §2): page config, navigation over `pages/`, the session's runs,
attached from the URL, the setup from a share link, and the shared sidebar. Everything else lives in
the pages and in `ui/`.
"""

from pathlib import Path

import streamlit as st

from ui import glossary, lesson, presenter, setup, state, texts, widgets

ROOT = Path(__file__).resolve().parent

# One line per page: (file, icon); its title is texts.NAV_TITLES[file stem]. The Lesson comes first in the
# navigation; Train stays the default page (the address without a page), which share links ``/?run=ID`` open.
# A page whose file does not exist yet is left out of the navigation, so adding a page needs one line here.
DEFAULT_PAGE = "pages/train.py"
# Streamlit serves the default page at the root only: ``/train`` (typed, or an old link) would open its
# "page not found" dialog. A hidden page answers that address and opens the root with the same query.
# The default page's own url_path is a placeholder that no address reaches (it must differ from the alias').
DEFAULT_ALIAS = "train"
DEFAULT_URL_PATH = "default"
PAGES = (
    ("pages/lesson.py", ":material/cast_for_education:"),
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
state.init_presenting()
presenter.style()
pages = [st.Page(path, title=texts.NAV_TITLES[Path(path).stem], icon=icon, default=(path == DEFAULT_PAGE),
                 url_path=DEFAULT_URL_PATH if path == DEFAULT_PAGE else None)
         for path, icon in available]
default_page = next(p for p, (path, _) in zip(pages, available) if path == DEFAULT_PAGE)
alias = st.Page(lambda: state.switch_page(default_page), title=default_page.title, url_path=DEFAULT_ALIAS,
                visibility="hidden")
page = st.navigation([*pages, alias])
if page is alias:
    state.switch_page(default_page)         # before the frame draws anything: the root page runs next
setup.init()
state.init_session(on_attach=setup.adopt)
setup.write_url()
with st.sidebar:
    st.radio(texts.LANGUAGE_LABEL, list(texts.LANGUAGES), format_func=texts.LANGUAGES.get, key=state.K.LANG,
             horizontal=True, help=texts.HELP_LANGUAGE)
    st.toggle(texts.PRESENT_LABEL, key=state.K.PRESENT, help=texts.HELP_PRESENT)
    glossary.glossary()
widgets.sidebar_status()
if state.is_teacher():
    with st.sidebar.expander(texts.RUNS_ON_SERVER, icon=":material/dns:"):
        lesson.runs_on_server()
presenter.top_bar()
lesson.watcher_banner()
page.run()
