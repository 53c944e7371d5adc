"""The label pages in a real Chromium against a real `streamlit run dashboard.py`: "Labels in the
game" updates its scatter, fit numbers and Fig. 3's walks live while it trains; "Style and content"
draws its style grid, redraws the ten digits when the style is dragged on the pad, and re-draws a
drawn digit's style as all ten; no exception on either page."""

from __future__ import annotations

import pytest
from browser import exception_texts, wait_for_app, wait_until

pytestmark = pytest.mark.browser

TRAIN_TIMEOUT_S = 240       # a run's first measured steps on a busy 2-core machine (loading included): a ceiling


def open_page(page, url: str, path: str, heading: str) -> None:
    page.goto(f"{url}/{path}")
    wait_for_app(page)
    page.get_by_role("heading", name=heading).wait_for()


def control(page, key: str):
    return page.locator(f".st-key-{key}").get_by_role("button").first


def grid_src(page, name: str) -> str | None:
    """The data URI of the image grid ``name`` (None while it is not on the page)."""
    img = page.locator(f"img[data-grid='{name}']")
    return img.first.get_attribute("src") if img.count() else None


def metric_text(page, key: str) -> str | None:
    value = page.locator(f".st-key-{key} [data-testid='stMetricValue']")
    return value.first.inner_text() if value.count() else None


def drag(page, selector: str, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A mouse stroke across the element from ``start`` to ``end`` (fractions of its box)."""
    target = page.locator(selector)
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.mouse.move(*at(*start))
    page.mouse.down()
    page.mouse.move(*at(*end), steps=10)
    page.mouse.up()


def test_the_labels_page_updates_its_scatter_numbers_and_walks_live(page, streamlit_server):
    open_page(page, streamlit_server, "labelled", "Labels in the game")
    control(page, "lab_play").click()
    wait_until(lambda: (metric_text(page, "aae_own_component") or "").endswith("%"), TRAIN_TIMEOUT_S,
               "the own-component rate")
    wait_until(lambda: page.locator(".st-key-aae_latent svg g.mark-symbol path").count() > 100, TRAIN_TIMEOUT_S,
               "the held-out codes on the plot")
    first = wait_until(lambda: grid_src(page, "walk-petals"), TRAIN_TIMEOUT_S, "Fig. 3's petal walks")
    wait_until(lambda: (src := grid_src(page, "walk-petals")) is not None and src != first, TRAIN_TIMEOUT_S,
               "the walks redrawn by the training decoder")
    assert page.get_by_text("What changed from Train").count() == 1
    control(page, "lab_play").click()                                      # pause
    assert not exception_texts(page)


def test_the_style_page_draws_the_grid_follows_the_pad_and_restyles_a_drawing(page, streamlit_server):
    open_page(page, streamlit_server, "style", "Style and content")
    control(page, "sty_step").click()
    wait_until(lambda: grid_src(page, "style-grid"), TRAIN_TIMEOUT_S, "the style grid")
    drawn = page.locator("img[data-grid='style-grid']").first.evaluate(
        """e => { const r = e.getBoundingClientRect(), c = getComputedStyle(e);
                  return {fit: c.objectFit, drawn: Math.min(r.width / e.naturalWidth, r.height / e.naturalHeight),
                          box: e.parentElement.getBoundingClientRect().width, width: r.width}; }""")
    # the picture itself fills its column (Streamlit's "scale-down" drew it at its 300 px natural size)
    assert drawn["fit"] != "scale-down" and drawn["drawn"] > 1.2 and drawn["width"] > 0.9 * drawn["box"], drawn
    before = wait_until(lambda: grid_src(page, "pad-row"), TRAIN_TIMEOUT_S, "the pad's ten digits")
    drag(page, "[data-testid='aae-pad-canvas']", (0.5, 0.5), (0.85, 0.2))
    wait_until(lambda: (src := grid_src(page, "pad-row")) is not None and src != before, 90,
               "the ten digits redrawn in the dragged style")
    drag(page, "[data-testid='aae-draw-canvas']", (0.5, 0.15), (0.5, 0.85))   # a "1"
    wait_until(lambda: grid_src(page, "draw-row"), 90, "the drawing's style as every digit")
    assert not exception_texts(page)
