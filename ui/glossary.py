"""The glossary: the words the pages use, each in one or two plain sentences, in the session's
language (``texts.GLOSSARY``). Reachable from every page: a popover in the sidebar, and beside the
run controls at the top of the page in presenter mode (no sidebar there)."""

from __future__ import annotations

import streamlit as st

from ui import texts


def entries() -> list[tuple[str, str]]:
    """(term as shown, explanation) in the catalog's order:
    ``entries()[0] == ("p(z), the prior", "The prior: …")``."""
    terms = texts.GLOSSARY_TERMS
    return [(terms.get(k, k), v) for k, v in texts.GLOSSARY.items()]


def markdown() -> str:
    return "\n".join(f"- **{term}**: {words}" for term, words in entries())


def glossary(*, key: str = "aae_glossary", width: str = "stretch") -> None:
    """The glossary as a popover, in a container keyed ``key`` (for tests and styles)."""
    with st.container(key=key), st.popover(texts.GLOSSARY_LABEL, icon=":material/menu_book:", width=width):
        st.markdown(markdown())
