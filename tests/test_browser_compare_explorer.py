"""Browser tests of the Compare and Explorer pages: a real ``streamlit run dashboard.py`` driven by
Playwright + Debian's Chromium.

* Explorer: dragging the pad from (0, 0) to about (2, 1) changes the shown coordinates and the
  digit, and the browser's final image equals Python's decode of the z the pad reported (the
  server's reference image, and PyTorch's decode of that z); then, on the same page, a pen stroke
  puts the drawing's code on the map.
* Compare: three live panels and the metrics table while AE, VAE and AAE train.

(No page shows an exception: tests/test_browser_deeplinks.py opens every page of the navigation.)

The components render into open shadow roots; Playwright's CSS locators pierce them.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aae.checkpoints import load_checkpoint
from browser import exception_texts, wait_for_app, wait_until
from tests.test_app_compare_explorer import make_checkpoints

pytestmark = pytest.mark.browser

PREFIX = "cmpexp-"                                         # test checkpoints: cmpexp-ae, cmpexp-aae-gaussian …
TEST_SOURCE = f"{PREFIX}aae-gaussian — AAE, Gaussian, synthetic"   # its label in the Model list
DRAWING_RGB = (214, 39, 40)                                # ui/explorer.py DRAWING_COLOR, #d62728


# --------------------------------------------------------------------------------------------
# Fixtures (the server, browser and page come from conftest.py)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoints(server_dirs) -> dict[str, Path]:
    """Test checkpoints in the server's extra checkpoint folder (listed by the Explorer)."""
    return make_checkpoints(server_dirs["checkpoints"], prefix=PREFIX)


@pytest.fixture
def app(page, streamlit_server, checkpoints):
    """A fresh session on the default page; page errors are collected in ``page.errors``."""
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.set_viewport_size({"width": 1400, "height": 1300})
    page.goto(streamlit_server)
    settle(page)
    return page


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def settle(page) -> None:
    wait_for_app(page)


def wait_for(check: Callable[[], object], what: str, timeout: float = 60.0):
    return wait_until(check, timeout, what)


def go(page, title: str) -> None:
    """Switch pages through the navigation (keeps the session, as a student would)."""
    page.locator("[data-testid='stSidebarNav']").get_by_text(title, exact=True).click()
    settle(page)


def choose(page, label: str, option: str) -> None:
    """Pick the first option containing ``option`` in the selectbox labelled ``label``."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    box.fill(option)                                       # the list filters as one types
    page.get_by_role("option").filter(has_text=option).first.click()
    settle(page)


def no_exception(page) -> bool:
    return not exception_texts(page)


def pad_canvas(page):
    return page.locator("[data-testid='aae-pad-canvas']")


def coords_text(page) -> tuple[float, float]:
    text = page.locator("[data-testid='aae-pad-coords']").text_content()
    x, y = re.fullmatch(r"z = \((-?[\d.]+), (-?[\d.]+)\)", text.strip()).groups()
    return float(x), float(y)


def decoded_pixels(page) -> np.ndarray:
    """The pad's own decoded 28x28 digit as grey levels (255 = white paper, 0 = ink)."""
    rgba = page.locator("[data-testid='aae-pad-decoded']").evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data)")
    rgba = np.asarray(rgba, dtype=np.uint8).reshape(28, 28, 4)
    return np.where(rgba[..., 3] == 0, 255, rgba[..., 0]).astype(np.int16)


def server_z(page) -> tuple[float, float] | None:
    box = page.locator(".st-key-explorer_server [data-testid='stCaptionContainer']")
    if not box.count():
        return None
    match = re.search(r"z = \((-?[\d.]+), (-?[\d.]+)\)", box.first.text_content() or "")
    return (float(match[1]), float(match[2])) if match else None


def server_pixels(page, base_url: str) -> np.ndarray:
    """Python's decoded image as the page shows it, back at 28x28 grey levels."""
    src = page.locator(".st-key-explorer_server img").first.get_attribute("src")
    if src.startswith("data:"):
        data = base64.b64decode(src.split(",", 1)[1])
    else:
        data = page.request.get(src if src.startswith("http") else base_url + src).body()
    img = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.int16)
    scale = img.shape[0] // 28
    return img[::scale, ::scale]


def z_to_screen(page, z: tuple[float, float]) -> tuple[float, float]:
    canvas = pad_canvas(page)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    geo = canvas.evaluate("(c) => ({...c.dataset})")
    lo, hi, size = float(geo["lo"]), float(geo["hi"]), float(geo["plotSize"])
    x = box["x"] + float(geo["plotLeft"]) + (z[0] - lo) / (hi - lo) * size
    y = box["y"] + float(geo["plotTop"]) + (hi - z[1]) / (hi - lo) * size
    return x, y


def near(a, b, tol: float) -> bool:
    return a is not None and abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol


def open_explorer_on_test_checkpoint(page) -> None:
    go(page, "Latent explorer")
    choose(page, "Model", TEST_SOURCE)
    wait_for(lambda: decoded_pixels(page).min() < 250, "the pad decodes a digit")
    wait_for(lambda: server_z(page) is not None, "Python's decode shows")


# --------------------------------------------------------------------------------------------
# Explorer
# --------------------------------------------------------------------------------------------


def test_drag_matches_python_and_a_pen_stroke_places_the_drawing(app, streamlit_server, checkpoints):
    page = app
    open_explorer_on_test_checkpoint(page)
    assert coords_text(page) == (0.0, 0.0)
    assert server_z(page) == (0.0, 0.0)
    before = decoded_pixels(page)

    start, end = z_to_screen(page, (0.0, 0.0)), z_to_screen(page, (2.0, 1.0))
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=15)
    page.mouse.up()

    wait_for(lambda: near(coords_text(page), (2.0, 1.0), 0.06), "the coordinates read about (2, 1)")
    wait_for(lambda: not np.array_equal(decoded_pixels(page), before), "the digit is redrawn")
    shown = coords_text(page)
    wait_for(lambda: near(server_z(page), shown, 0.006), "Python decodes the released z")
    settle(page)
    reported = server_z(page)
    browser_digit = decoded_pixels(page)
    assert np.abs(browser_digit - before).max() > 20                     # the digit really changed

    # Python's reference image on the page is the browser's image ...
    assert np.abs(server_pixels(page, streamlit_server) - browser_digit).max() <= 2
    # ... and both are the model's own decode of the reported z
    model = load_checkpoint(checkpoints["aae-gaussian"]).model
    with torch.no_grad():
        expected = model.decode(torch.tensor([reported], dtype=torch.float32))[0].numpy()
    assert np.abs(np.round(255 * (1 - expected)) - browser_digit).max() <= 2
    assert no_exception(page) and not page.errors
    a_pen_stroke_places_the_drawing_on_the_map(page)


def a_pen_stroke_places_the_drawing_on_the_map(page) -> None:
    """On the Explorer page (the probe anywhere): a drawn "7" is encoded, its diamond drawn at its
    code in the drawing's colour, and "Move the probe here" sends the probe there."""
    canvas = page.locator("[data-testid='aae-draw-canvas']")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.mouse.move(*at(0.3, 0.15))
    page.mouse.down()
    page.mouse.move(*at(0.7, 0.15), steps=8)
    page.mouse.move(*at(0.45, 0.85), steps=8)
    page.mouse.up()

    def drawing_z():
        caption = page.locator(".st-key-explorer_drawing").text_content() if \
            page.locator(".st-key-explorer_drawing").count() else ""
        match = re.search(r"reconstruction · z = \((-?[\d.]+), (-?[\d.]+)\)", caption or "")
        return (float(match[1]), float(match[2])) if match else None

    z = wait_for(drawing_z, "the drawing is encoded")
    settle(page)
    px, py = z_to_screen(page, z)
    box = pad_canvas(page).bounding_box()
    # the drawing's diamond, in its own colour, sits where its code is
    found = pad_canvas(page).evaluate("""(c, [x, y, rgb]) => {
        const dpr = c.width / c.getBoundingClientRect().width;
        const ctx = c.getContext('2d');
        const r = Math.round(6 * dpr);
        const d = ctx.getImageData(Math.round(x * dpr) - r, Math.round(y * dpr) - r, 2 * r + 1, 2 * r + 1).data;
        let hits = 0;
        for (let i = 0; i < d.length; i += 4) {
            const close = (k) => Math.abs(d[i + k] - rgb[k]) < 12;
            if (close(0) && close(1) && close(2)) hits++;
        }
        return hits;
    }""", [px - box["x"], py - box["y"], list(DRAWING_RGB)])
    assert found > 10
    page.get_by_role("button", name=re.compile("Move the probe here")).click()
    wait_for(lambda: near(coords_text(page), z, 0.011), "the probe jumps to the drawing")
    assert no_exception(page) and not page.errors


# --------------------------------------------------------------------------------------------
# Compare
# --------------------------------------------------------------------------------------------


def test_compare_shows_three_live_panels_and_the_table(app):
    page = app
    go(page, "Compare AE · VAE · AAE")
    page.get_by_role("button", name=re.compile("Train all three")).click()
    settle(page)
    for kind in ("ae", "vae", "aae"):
        page.locator(f".st-key-cmp_panel_{kind} [data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)
    page.locator(".st-key-cmp_table [data-testid='stDataFrame']").first.wait_for(timeout=30_000)

    def step() -> int:
        text = page.locator(".st-key-cmp_status").text_content() or ""
        return int(re.search(r"step ([\d,]+)", text)[1].replace(",", ""))

    first = wait_for(step, "a step count")
    wait_for(lambda: step() > first, "the panels refresh while training", timeout=60)
    for kind in ("ae", "vae", "aae"):
        assert page.locator(f".st-key-cmp_probe_{kind} img").count() >= 1       # one probe, three decoders
    page.get_by_role("button", name=re.compile("Pause")).click()
    settle(page)
    assert no_exception(page) and not page.errors
