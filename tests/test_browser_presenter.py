"""Presenter mode in a real Chromium at 1280 × 720, in Chinese (issue 13): for each Lesson step's
page, with the step's model loaded, the main picture and its key numbers end inside the window
without scrolling, the run controls sit in the top bar, the sidebar is gone and the type is larger.
Compare too, with its shipped models. One server and one browser context for the module, as a
class follows the steps."""

from __future__ import annotations

import pytest
from browser import exception_texts, wait_for_app, wait_until

from ui import presenter

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1280, 720
WAIT_S = 120
# step name -> what must be inside the window on its page: the main picture, then its key numbers
MUST_FIT = {
    "gaps": ["[data-testid='aae-pad-canvas']"],
    "aae": [".st-key-aae_latent", ".st-key-aae_fit"],
    "labels": [".st-key-aae_latent", ".st-key-aae_own_component"],
    "style": ["img[data-grid='style-grid']", "img[data-grid='pad-row']"],
    "semi": [".st-key-semi_error_curve"],
    "clustering": [".st-key-cluster_error_curve"],
}
STEP_NUMBER = {"gaps": 1, "aae": 3, "labels": 5, "style": 6, "semi": 7, "clustering": 8}


@pytest.fixture(scope="module")
def tab(browser, streamlit_server):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    page.set_default_timeout(WAIT_S * 1000)
    yield page
    page.goto(f"{streamlit_server}/lesson?step=1&present=1&lang=zh")     # pauses this browser's runs
    wait_for_app(page)
    page.locator(".st-key-lesson_go button").first.click()
    context.close()


def _box(page, selector: str) -> dict | None:
    loc = page.locator(selector)
    return loc.first.bounding_box() if loc.count() and loc.first.is_visible() else None


@pytest.mark.parametrize("name", list(MUST_FIT))
def test_each_lesson_page_fits_a_projector_in_presenter_mode(tab, streamlit_server, name):
    tab.goto(f"{streamlit_server}/lesson?step={STEP_NUMBER[name]}&present=1&lang=zh")
    wait_for_app(tab)
    tab.locator(".st-key-lesson_go button").first.click()
    for selector in MUST_FIT[name]:
        wait_until(lambda: (b := _box(tab, selector)) is not None and b["height"] > 50, WAIT_S,
                   f"{selector} drawn on step {name}'s page")
    scroller = tab.locator("[data-testid='stMain']").first.evaluate("e => e.scrollTop")
    assert scroller == 0
    for selector in MUST_FIT[name]:  # a live page may be swapping the element for its next draw
        box = wait_until(lambda: _box(tab, selector), WAIT_S, f"{selector} on step {name}'s page")
        assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT + 1, (selector, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 1, (selector, box)
    assert _box(tab, "section[data-testid='stSidebar']") is None
    if name != "gaps":                       # the Explorer has no run to control
        controls = _box(tab, ".st-key-aae_present_controls button")
        assert controls is not None and controls["y"] + controls["height"] <= 80, controls
    size = tab.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer'] p").first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 16 * presenter.FONT_SCALE - 0.5
    values = tab.locator("[data-testid='stMain'] [data-testid='stMetricValue'] p")
    if values.count():                       # a key number reads larger than the text, not smaller
        # a live page redraws its numbers: an element just replaced has no computed size (NaN)
        value = wait_until(lambda: (v := values.first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
                           == v and v, 30, "a metric value's type size")
        assert value >= 36 * presenter.FONT_SCALE - 0.5, value
    if name == "gaps":                       # the Lesson's step chooser was left at 14 px
        tab.goto(f"{streamlit_server}/lesson?step=1&present=1&lang=zh")
        wait_for_app(tab)
        chooser = tab.locator("[data-testid='stMain'] .stSelectbox input[role='combobox']").first
        assert chooser.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 14 * presenter.FONT_SCALE - 0.5
    assert not exception_texts(tab)


def test_compare_fits_a_projector_with_its_three_panels_side_by_side(tab, streamlit_server):
    tab.goto(f"{streamlit_server}/compare?present=1&lang=zh")
    wait_for_app(tab)
    tab.locator(".st-key-aae_present_controls button").first.click()
    tab.locator(".st-key-cmp_shipped button").first.click()
    tab.keyboard.press("Escape")
    panels = [f".st-key-cmp_panel_{kind}" for kind in ("ae", "vae", "aae")]
    for selector in panels:
        wait_until(lambda: (b := _box(tab, f"{selector} .vega-embed")) is not None and b["height"] > 150,
                   WAIT_S, f"{selector}'s chart")
    boxes = [_box(tab, f"{s} .vega-embed") for s in panels]
    assert all(b["y"] + b["height"] <= HEIGHT + 1 for b in boxes), boxes
    assert abs(boxes[0]["y"] - boxes[2]["y"]) < 5 and boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"], boxes
    assert min(b["width"] for b in boxes) >= 240, boxes          # a readable size, not 190 px
    assert not exception_texts(tab)
