"""The text catalogs (ui/texts.py, ui/texts_zh.py): both languages complete and alike, the current
language served by ``texts.NAME``, and no visible English hard-coded in the pages and ui modules."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from ui import texts

ROOT = Path(__file__).resolve().parent.parent
CATALOG_FILES = [ROOT / "ui" / "texts.py", ROOT / "ui" / "texts_zh.py"]
SOURCES = sorted((ROOT / "ui").glob("*.py")) + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"]
SOURCES = [p for p in SOURCES if p not in CATALOG_FILES]
CJK = re.compile(r"[\u4e00-\u9fff]")


def fields(value) -> set[str]:
    """The ``str.format`` field names of a text (of every string in a tuple or dict)."""
    parts = value if isinstance(value, tuple) else tuple(value.values()) if isinstance(value, dict) else (value,)
    return {name.split(".")[0].split("[")[0] for part in parts
            for _, name, _, _ in string.Formatter().parse(part) if name is not None}


EN, ZH = texts.catalog("en"), texts.catalog("zh")


def test_every_text_exists_in_both_languages():
    assert sorted(set(EN) - set(ZH)) == [], "missing in ui/texts_zh.py"
    assert sorted(set(ZH) - set(EN)) == [], "in ui/texts_zh.py but not in ui/texts.py"


@pytest.mark.parametrize("name", sorted(EN))
def test_translation_has_the_same_shape_and_format_fields(name):
    en, zh = EN[name], ZH[name]
    assert type(en) is type(zh)
    if isinstance(en, tuple):
        assert len(en) == len(zh), "a different number of paragraphs"
    if isinstance(en, dict):
        assert list(en) == list(zh), "different keys (they are what the code looks up)"
    assert fields(en) == fields(zh)
    zh.format(**{f: 0 for f in fields(zh)}) if isinstance(zh, str) else None


def test_chinese_catalog_is_chinese():
    """Every Chinese text that is not a name, a formula or a label kept on purpose has CJK in it."""
    same_on_purpose = {"LANGUAGE_LABEL"}
    untranslated = [name for name, value in ZH.items() if name not in same_on_purpose
                    and not CJK.search(str(value)) and value != EN[name]]
    identical = [name for name, value in ZH.items() if name not in same_on_purpose and value == EN[name]
                 and re.search(r"[A-Za-z]{4,}", str(value)) and name != "SEMI_SERIES"]
    assert untranslated == []
    assert identical == [], "English left in ui/texts_zh.py"


@pytest.mark.parametrize("path", CATALOG_FILES, ids=lambda p: p.name)
def test_no_text_is_defined_twice(path):
    """A second ``NAME = ...`` silently replaces the first one on every page that uses it."""
    names = [t.id for node in ast.parse(path.read_text()).body if isinstance(node, (ast.Assign, ast.AnnAssign))
             for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_texts_follow_the_current_language():
    before = texts._language_source
    try:
        texts.set_language_source(lambda: "zh")
        assert texts.TRAIN_TITLE == ZH["TRAIN_TITLE"]
        assert texts.PHASE_TITLES["generator"] == "生成器"
        assert texts.PRIOR_FIT_GOOD == 1.5                      # numbers are the same in both
        texts.set_language_source(lambda: "en")
        assert texts.TRAIN_TITLE == "Train an adversarial autoencoder"
        assert texts.text("TRAIN_TITLE", "zh") == ZH["TRAIN_TITLE"]
    finally:
        texts.set_language_source(before)


def test_outside_a_script_run_the_language_is_english():
    from ui import state
    assert state.language() == "en"
    assert texts.TRAIN_TITLE == EN["TRAIN_TITLE"]


def test_navigation_has_a_title_for_every_page():
    assert set(EN["NAV_TITLES"]) >= {p.stem for p in (ROOT / "pages").glob("*.py")}


# ------------------------------------------------------------------------------ hard-coded strings

VISIBLE_CALLS = {"title", "header", "subheader", "caption", "button", "markdown", "info", "warning", "error",
                 "success", "toast", "selectbox", "radio", "number_input", "select_slider", "slider", "toggle",
                 "checkbox", "text_input", "segmented_control", "popover", "expander", "download_button", "metric",
                 "multiselect", "pills", "form_submit_button", "link_button", "page_link"}
VISIBLE_KEYWORDS = {"help", "label", "placeholder", "caption", "title", "show_spinner"}
ENGLISH = re.compile(r"[A-Za-z]{3,}")
ICON = re.compile(r":material/\w+:")          # an icon's name is not text

# Visible literals not yet routed through the catalog, by file: each one still shows in English.
# Route one (texts.NAME in both catalogs) and delete its line here; a new literal fails the test.
NOT_YET_ROUTED: dict[str, set[str]] = {}


def _literal(node: ast.AST) -> str | None:
    """A string literal's text (an f-string's literal parts), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def visible_literals(path: Path) -> set[str]:
    """English literals shown by ``st.*`` calls in ``path``: their label (first argument) and their
    ``help=``, ``label=``, ``placeholder=``, ``caption=`` and ``title=``, the text of ``state.flash``,
    the message of an exception raised there, a spinner's text, and the ``"title"`` or ``"text"`` of a
    chart spec (first 70 characters)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            text = _literal(node.exc.args[0])   # the pages show the errors raised here in their message
            if text and ENGLISH.search(text):
                found.add(text[:70])
        if isinstance(node, ast.Dict):             # a chart's axis or legend title, a mark's text
            for k, v in zip(node.keys, node.values):
                text = _literal(v)
                if isinstance(k, ast.Constant) and k.value in ("title", "text") and text and ENGLISH.search(text):
                    found.add(text[:70])
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        shown = [node.args[0]] if name in VISIBLE_CALLS and node.args else []
        if name == "flash" and len(node.args) > 1:       # state.flash(kind, text): shown on the next run
            shown.append(node.args[1])
        shown += [kw.value for kw in node.keywords if kw.arg in VISIBLE_KEYWORDS]
        for arg in shown:
            text = _literal(arg)
            if text and ENGLISH.search(ICON.sub("", text)):
                found.add(text[:70])
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_hard_coded_visible_english(path):
    rel = str(path.relative_to(ROOT))
    assert visible_literals(path) - NOT_YET_ROUTED.get(rel, set()) == set(), \
        "visible text belongs in ui/texts.py and ui/texts_zh.py (texts.NAME)"


@pytest.mark.parametrize("path", sorted((ROOT / "ui").glob("*.py")), ids=lambda p: p.name)
def test_no_text_is_read_at_import_time(path):
    """``texts.NAME`` at module level, in a class body or as a default argument is read once, in
    the language of whoever imported the module first: texts must be read where they are shown."""
    tree = ast.parse(path.read_text())
    frozen = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                visit(default, False)
            for decorator in getattr(node, "decorator_list", []):
                visit(decorator, False)
            for child in (node.body if isinstance(node.body, list) else [node.body]):
                visit(child, True)
            return
        if (not in_function and isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "texts" and node.attr.isupper() and node.attr in EN):
            frozen.append(f"line {node.lineno}: texts.{node.attr}")
        for child in ast.iter_child_nodes(node):
            visit(child, in_function)

    visit(tree, False)
    assert frozen == []
