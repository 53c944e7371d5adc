"""The categorical AAE's pages in a real Chromium against a real `streamlit run dashboard.py`: the
semi-supervised page draws its live error curves and classifies a drawn digit, the clustering page
shows its heads grid, the reduction page its map; no exception on any of them."""

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


def pause(page, key: str) -> None:
    """Pause the page's run (one left training would take a core from every test after it)."""
    control(page, key).click()
    wait_until(lambda: control(page, key).inner_text().strip().endswith("Resume"), 60, f"{key} to turn into Resume")


def count(page, selector: str) -> int:
    return page.locator(selector).count()


def test_semi_supervised_page_draws_live_error_curves_and_classifies_a_drawing(page, streamlit_server):
    open_page(page, streamlit_server, "semi_supervised", "Semi-supervised classification")
    assert page.get_by_text("Paper: full MNIST").count() == 1            # the results table's note
    control(page, "semi_play").click()
    # both curves (the AAE and the NN baseline) get points as the run measures itself
    wait_until(lambda: count(page, ".st-key-semi_error_curve svg g.mark-line path") >= 2, TRAIN_TIMEOUT_S,
               "two error curves")
    wait_until(lambda: count(page, ".st-key-semi_error_curve svg g.mark-symbol path") >= 4, TRAIN_TIMEOUT_S,
               "at least two measurements on each curve")
    wait_until(lambda: count(page, "img[data-grid='style']") == 1, TRAIN_TIMEOUT_S, "the style/content grid")

    canvas = page.locator("[data-testid='aae-draw-canvas']")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.mouse.move(*at(0.5, 0.15))
    page.mouse.down()
    page.mouse.move(*at(0.5, 0.85), steps=10)                                 # a "1"
    page.mouse.up()
    wait_until(lambda: page.get_by_text("The AAE says").count() > 0, 90, "the run's verdict on the drawing")
    pause(page, "semi_play")
    assert not exception_texts(page)


def test_clustering_page_shows_the_heads_grid(page, streamlit_server):
    open_page(page, streamlit_server, "clustering", "Unsupervised clustering")
    control(page, "clustering_step").click()
    wait_until(lambda: count(page, "img[data-grid='heads']") == 1, TRAIN_TIMEOUT_S, "the cluster heads grid")
    assert page.get_by_text("Label each cluster stands for").count() == 1
    control(page, "clustering_play").click()
    wait_until(lambda: count(page, ".st-key-cluster_error_curve svg g.mark-symbol path") >= 2, TRAIN_TIMEOUT_S,
               "the clustering error measured twice")
    pause(page, "clustering_play")
    assert not exception_texts(page)


def test_reduction_page_draws_its_map_beside_the_plain_aae(page, streamlit_server):
    open_page(page, streamlit_server, "reduction", "Dimensionality reduction")
    control(page, "reduction_step").click()
    wait_until(lambda: count(page, ".st-key-reduction_map svg g.mark-symbol path") > 10, TRAIN_TIMEOUT_S,
               "the run's map of held-out digits")
    wait_until(lambda: count(page, ".st-key-reduction_plain_map svg g.mark-symbol path") > 10, TRAIN_TIMEOUT_S,
               "the plain AAE's map of the same digits")
    assert not exception_texts(page)
