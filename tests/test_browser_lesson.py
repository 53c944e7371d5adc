"""The Lesson in a real Chromium (issue 13): each step's one button lands on the page that shows
it, with the model or run the step is about, and the language switch turns the Lesson from English
to 简体中文 and back. One server and one browser context for the whole module (a class follows the
steps in one browser), so each step's run pauses the previous step's (``ui.lesson._press``)."""

from __future__ import annotations

import json

import pytest
from browser import exception_texts, url_param, wait_for_app, wait_until

from ui import lesson, state, texts

pytestmark = pytest.mark.browser

EN, ZH = texts.catalog("en"), texts.catalog("zh")
WAIT_S = 120                  # a run's first snapshot on a busy 2-core machine
STEPS = [s.name for s in lesson.steps()]
TITLE_OF_PAGE = {"pages/explorer.py": "EXPLORER_TITLE", "pages/train.py": "TRAIN_TITLE",
                 "pages/labelled.py": "LABELLED_TITLE", "pages/style.py": "STYLE_TITLE",
                 "pages/semi_supervised.py": "SEMI_TITLE", "pages/clustering.py": "CLUSTER_TITLE"}
SLOT_OF_PAGE = {"pages/train.py": "train", "pages/labelled.py": "labelled", "pages/style.py": "style",
                "pages/semi_supervised.py": "semi", "pages/clustering.py": "clustering"}


@pytest.fixture(scope="module")
def tab(browser, streamlit_server):
    """One browser tab for the module, as a teacher's."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_S * 1000)
    yield page
    # step 1 only selects a checkpoint, and its button pauses this browser's runs on other pages
    _open_step(page, streamlit_server, 1)
    _press(page)
    context.close()


def _open_step(page, server: str, n: int, query: str = "") -> None:
    page.goto(f"{server}/lesson?step={n}{query}")
    wait_for_app(page)
    page.locator(".st-key-lesson_go button").first.wait_for()


def _press(page) -> None:
    page.locator(".st-key-lesson_go button").first.click()


def _h1(page) -> str:
    return page.locator("h1").first.inner_text()


def _text(page, selector: str) -> str:
    loc = page.locator(selector)
    return loc.first.inner_text() if loc.count() else ""


def _chosen(page, key: str) -> str:
    """What a selectbox (keyed ``key``) shows as chosen: its combobox's value, or its text."""
    box = page.locator(f".st-key-{key} input")
    return (box.first.input_value() if box.count() else "") + " " + _text(page, f".st-key-{key}")


def _shipped_step(name: str) -> int | None:
    """The step count of the shipped checkpoint the Lesson step continues (None: it starts fresh)."""
    path = lesson.BY_NAME[name].shipped_path()
    return json.loads(path.read_text())["step"] if path is not None else None


def _model_shown(page, name: str) -> bool:
    """What the step is about is on the page it opened."""
    if name in ("gaps", "vae"):
        source = _chosen(page, state.K.EXP_SOURCE)
        return {"gaps": "ae — AE,", "vae": "vae-gaussian — VAE,"}[name] in source
    step = lesson.BY_NAME[name]
    slot_title = EN["SLOT_TITLES"][SLOT_OF_PAGE[step.page]]
    if f"{slot_title} run" not in _text(page, ".st-key-aae_status"):
        return False
    if name in ("aae", "shapes"):
        prior = {"aae": "Gaussian", "shapes": "Mixture of 10 Gaussians"}[name]
        counter = _text(page, ".st-key-aae_step").replace(",", "")
        digits = "".join(c for c in counter if c.isdigit())
        shipped = _shipped_step(name)
        chosen = _chosen(page, state.TRAIN.prior_key)
        return (prior in chosen and (name == "shapes" or "Mixture" not in chosen) and digits != ""
                and (shipped is None or int(digits) >= shipped))
    if name == "labels":
        return "Mixture of 10 Gaussians" in _chosen(page, state.LABELLED.prior_key)
    if name == "semi":
        return page.locator(".st-key-setup_semi_labels input[type='radio']").first.is_checked()   # 100, the first
    if name == "clustering":
        return page.locator(".st-key-setup_clustering_n input").first.input_value() == str(lesson.CLUSTERS)
    return True                 # style: its run in its slot is the model


@pytest.mark.parametrize("name", STEPS)
def test_each_steps_button_opens_its_page_with_its_model(tab, streamlit_server, name):
    n = STEPS.index(name) + 1
    step = lesson.BY_NAME[name]
    _open_step(tab, streamlit_server, n)
    assert tab.locator("h3").first.inner_text() == f"{n} · {EN['LESSON_STEP_TITLES'][name]}"
    _press(tab)
    title = EN[TITLE_OF_PAGE[step.page]]
    wait_until(lambda: _h1(tab) == title, WAIT_S, f"step {n} opens {step.page}")
    wait_until(lambda: _model_shown(tab, name), WAIT_S, f"step {n}: its model or run on {step.page}")
    assert not exception_texts(tab)
    if name == "aae":               # the run this step just started: no need to start another
        next_phase_leaves_ghosts_with_trails(tab)


def test_the_language_switch_turns_the_lesson_into_chinese_and_back(tab, streamlit_server):
    _open_step(tab, streamlit_server, 3)
    sidebar = tab.locator("[data-testid='stSidebar']")
    sidebar.get_by_text(texts.LANGUAGES["zh"], exact=True).click()
    # the page redraws top down: the title may be Chinese a moment before the step's heading is
    wait_until(lambda: _h1(tab) == ZH["LESSON_TITLE"]
               and tab.locator("h3").first.inner_text() == f"3 · {ZH['LESSON_STEP_TITLES']['aae']}",
               WAIT_S, "the Chinese lesson, at step 3")
    assert ZH["LESSON_QUESTIONS"]["aae"] in tab.inner_text("body")
    assert EN["LESSON_QUESTIONS"]["aae"] not in tab.inner_text("body")
    wait_until(lambda: url_param(tab, "lang") == "zh", WAIT_S, "?lang=zh in the address")
    sidebar.get_by_text(texts.LANGUAGES["en"], exact=True).click()
    wait_until(lambda: _h1(tab) == EN["LESSON_TITLE"]
               and tab.locator("h3").first.inner_text() == f"3 · {EN['LESSON_STEP_TITLES']['aae']}",
               WAIT_S, "the English lesson again, at step 3")
    assert not exception_texts(tab)


GHOSTS_JS = """() => {
    const root = document.querySelector('.st-key-aae_latent');
    if (!root) return null;
    return {rings: root.querySelectorAll('g[class*="ghost_rings"] path').length,
            trails: root.querySelectorAll('g[class*="ghost_trails"] line, g[class*="ghost_trails"] path').length};
}"""


def next_phase_leaves_ghosts_with_trails(tab) -> None:
    """On step 3's run (the Train page), one Next phase: the codes' previous places as rings with a
    trail to each dot; Play moves the training on and the ghosts go."""
    phase = tab.locator(".st-key-ctl_phase").get_by_role("button").first
    phase.wait_for()
    phase.click()
    ghosts = wait_until(lambda: (g := tab.evaluate(GHOSTS_JS)) and g["rings"] > 0 and g, WAIT_S, "ghost rings")
    assert ghosts["trails"] > 0
    caption = EN["GHOSTS_CAPTION"].split("(")[0].strip()     # drawn beside the rings, maybe a moment later
    wait_until(lambda: caption in _text(tab, ".st-key-aae_ghosts"), WAIT_S, "the ghosts' caption")
    tab.locator(".st-key-ctl_play").get_by_role("button").first.click()        # Play
    wait_until(lambda: (g := tab.evaluate(GHOSTS_JS)) is not None and g["rings"] == 0, WAIT_S, "the ghosts gone")
    tab.locator(".st-key-ctl_play").get_by_role("button").first.click()        # Pause again
    assert not exception_texts(tab)
