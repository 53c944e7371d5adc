"""Browser tests of the Components-v2 widgets (Playwright + Debian's Chromium).

Two groups:

* the JavaScript alone, in a blank page (no Streamlit server, fast): the pad's decoder against
  PyTorch for both presets, the float16 wire format, and the drawing canvas's MNIST preprocessing;
* the widgets inside a real ``streamlit run ui/components/_demo_app.py``: dragging, keys, the
  ``z`` argument, drawing and clearing, the weights being shipped once, and narrow columns.

The components render into an open shadow root (``isolate_styles=True``); Playwright's CSS
locators pierce open shadow roots, so ``[data-testid=...]`` selectors reach inside.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from browser import serving, wait_for_app, wait_until
from ui.components.latent_pad import encode_decoder_weights

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
DEMO_APP = ROOT / "ui" / "components" / "_demo_app.py"
PAD_JS = (ROOT / "ui" / "components" / "latent_pad" / "pad.js").read_text(encoding="utf-8")
DRAW_JS = (ROOT / "ui" / "components" / "draw_canvas" / "draw.js").read_text(encoding="utf-8")
PRESETS = {"small": (2, 256, 512, 784), "paper": (2, 1000, 1000, 784)}  # DESIGN.md §3 decoders


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture
def blank_page(browser):
    page = browser.new_page()
    page.set_content("<!doctype html><html><body></body></html>")
    yield page
    page.close()


@pytest.fixture(scope="module")
def demo_url(browser, tmp_path_factory) -> Iterator[str]:
    with serving({}, tmp_path_factory.mktemp("streamlit") / "server.log", app=DEMO_APP) as url:
        yield url


@pytest.fixture
def app_page(browser, demo_url):
    """A fresh session of the demo app (one browser context = one Streamlit session)."""
    context = browser.new_context(viewport={"width": 1000, "height": 1200})
    page = context.new_page()
    page.frames_received = []  # sizes of the websocket frames the browser received
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: page.frames_received.append(len(payload))))
    page.goto(demo_url)
    settle(page)
    wait_for(lambda: decoded_pixels(page).min() < 250, "the browser decodes a digit")
    settle(page)
    yield page
    context.close()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def settle(page) -> None:
    wait_for_app(page)


def wait_for(check: Callable[[], object], what: str, timeout: float = 20.0):
    return wait_until(check, timeout, what)


def torch_decoder(sizes: tuple[int, ...], seed: int) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def weights_of(mlp: torch.nn.Sequential) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(m.weight.detach().numpy(), m.bias.detach().numpy())
            for m in mlp if isinstance(m, torch.nn.Linear)]


def latent_points(seed: int = 1, n: int = 20) -> np.ndarray:
    """Latent points inside and well outside the usual bounds (large |z| gives large logits)."""
    rng = np.random.default_rng(seed)
    return np.concatenate([[[0.0, 0.0], [4.0, -4.0], [-12.0, 9.0]],
                           rng.uniform(-5, 5, (n - 3, 2))]).astype(np.float32)


def js_decode(page, payload: dict, points: np.ndarray) -> np.ndarray:
    page.add_script_tag(content=PAD_JS, type="module")
    page.wait_for_function("typeof window.__aaeDecode === 'function'")
    out = page.evaluate("([p, zs]) => zs.map((z) => window.__aaeDecode(p, z))", [payload, points.tolist()])
    return np.asarray(out, dtype=np.float64)


def pad_canvas(page):
    return page.locator("[data-testid='aae-pad-canvas']")


def coords_text(page) -> tuple[float, float]:
    text = page.locator("[data-testid='aae-pad-coords']").text_content()
    x, y = re.fullmatch(r"z = \((-?[\d.]+), (-?[\d.]+)\)", text.strip()).groups()
    return float(x), float(y)


def python_text(page, prefix: str) -> str | None:
    for text in page.locator("[data-testid='stText']").all_text_contents():
        if text.startswith(prefix):
            return text
    return None


def python_z(page) -> tuple[float, float] | None:
    text = python_text(page, "python z = ")
    match = text and re.fullmatch(r"python z = \((-?[\d.]+), (-?[\d.]+)\)", text)
    return (float(match[1]), float(match[2])) if match else None


def decoded_pixels(page) -> np.ndarray:
    """The decoded 28x28 canvas as grey levels (255 = white paper, 0 = ink)."""
    rgba = page.locator("[data-testid='aae-pad-decoded']").evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data)")
    rgba = np.asarray(rgba, dtype=np.uint8).reshape(28, 28, 4)
    return np.where(rgba[..., 3] == 0, 255, rgba[..., 0])


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


# --------------------------------------------------------------------------------------------
# The JavaScript alone
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", list(PRESETS))
def test_js_decoder_matches_pytorch_float32(blank_page, preset):
    mlp = torch_decoder(PRESETS[preset], seed=0)
    points = latent_points()
    with torch.no_grad():
        expected = torch.sigmoid(mlp(torch.from_numpy(points))).double().numpy()
    got = js_decode(blank_page, encode_decoder_weights(weights_of(mlp), dtype="float32"), points)
    assert got.shape == (len(points), 784)
    assert np.abs(got - expected).max() <= 1e-5


@pytest.mark.parametrize("preset", list(PRESETS))
def test_js_decoder_float16_payload_is_close(blank_page, preset):
    mlp = torch_decoder(PRESETS[preset], seed=1)
    points = latent_points(seed=2)
    with torch.no_grad():
        expected = torch.sigmoid(mlp(torch.from_numpy(points))).double().numpy()
    payload = encode_decoder_weights(weights_of(mlp), dtype="float16")
    assert len(payload["layers"][1]["w"]) < 0.6 * len(
        encode_decoder_weights(weights_of(mlp), dtype="float32")["layers"][1]["w"])
    got = js_decode(blank_page, payload, points)
    assert np.abs(got - expected).max() <= 1e-2


def test_js_decoder_rejects_a_mismatched_payload(blank_page):
    payload = encode_decoder_weights(weights_of(torch_decoder(PRESETS["small"], seed=0)), dtype="float32")
    payload["layers"][1]["shape"] = [512, 300]
    with pytest.raises(Exception, match="inputs"):
        js_decode(blank_page, payload, latent_points(n=4))


def test_draw_preprocessing_is_mnist_like(blank_page):
    """An off-centre bar comes back scaled into a 20x20 box, centre of mass at the centre."""
    url = blank_page.evaluate(
        "(src) => URL.createObjectURL(new Blob([src], {type: 'text/javascript'}))", DRAW_JS)
    image = blank_page.evaluate("""async (url) => {
        const { toMnist } = await import(url);
        const w = 200, h = 200, alpha = new Float32Array(w * h);
        for (let y = 10; y < 90; y++) for (let x = 140; x < 160; x++) alpha[y * w + x] = 1;
        return Array.from(toMnist(alpha, w, h));
    }""", url)
    image = np.asarray(image).reshape(28, 28)
    rows, cols = np.nonzero(image > 0.5)
    assert rows.max() - rows.min() + 1 == 20  # the bar's long side fills MNIST's 20-px box
    assert 4 <= cols.max() - cols.min() + 1 <= 6
    ys, xs = np.mgrid[0:28, 0:28] + 0.5
    mass = image.sum()
    assert abs((image * xs).sum() / mass - 14) <= 0.5
    assert abs((image * ys).sum() / mass - 14) <= 0.5
    assert blank_page.evaluate(
        "async (url) => (await import(url)).toMnist(new Float32Array(100), 10, 10)", url) is None


# --------------------------------------------------------------------------------------------
# Inside a running Streamlit app
# --------------------------------------------------------------------------------------------


def test_drag_moves_probe_redraws_digit_and_reports_z(app_page):
    page = app_page
    assert coords_text(page) == (0.0, 0.0)
    assert python_z(page) == (0.0, 0.0)
    before = decoded_pixels(page)
    sent_before = len(page.frames_received)

    start, end = z_to_screen(page, (0.0, 0.0)), z_to_screen(page, (2.0, 1.0))
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    page.mouse.up()

    wait_for(lambda: near(coords_text(page), (2.0, 1.0), 0.05), "the coordinates read about (2, 1)")
    wait_for(lambda: not np.array_equal(decoded_pixels(page), before), "the digit is redrawn")
    wait_for(lambda: near(python_z(page), (2.0, 1.0), 0.05), "Python receives z near (2, 1)")
    settle(page)
    # The browser acknowledged the weights, so the drag's reruns ship no weights (1.4 MB here).
    assert max(page.frames_received[sent_before:], default=0) < 200_000


def test_click_and_arrow_keys_move_the_probe(app_page):
    page = app_page
    x, y = z_to_screen(page, (-2.0, -3.0))
    page.mouse.click(x, y)
    wait_for(lambda: near(coords_text(page), (-2.0, -3.0), 0.05), "the probe jumps to the click")
    wait_for(lambda: near(python_z(page), (-2.0, -3.0), 0.05), "Python receives the clicked z")

    start = coords_text(page)
    pad_canvas(page).press("ArrowRight")
    pad_canvas(page).press("ArrowRight")
    pad_canvas(page).press("Shift+ArrowUp")
    expected = (start[0] + 2 * 0.16, start[1] + 0.8)  # 2 % and 10 % of the 8-wide range
    wait_for(lambda: near(coords_text(page), expected, 0.011), "the keys move the probe")
    wait_for(lambda: near(python_z(page), expected, 0.011), "Python receives the keyed z")


def test_new_z_argument_moves_the_probe(app_page):
    page = app_page
    page.get_by_text("Start the probe at class 0").click()
    wait_for(lambda: near(coords_text(page), (2.5, 0.0), 1e-9), "the probe jumps to the new z")
    wait_for(lambda: python_z(page) == (2.5, 0.0), "Python returns the new z")
    settle(page)
    assert python_z(page) == (2.5, 0.0)


def test_new_weights_version_ships_new_weights(app_page):
    page = app_page
    before = decoded_pixels(page)
    sent_before = len(page.frames_received)
    page.get_by_text("paper", exact=True).click()
    wait_for(lambda: not np.array_equal(decoded_pixels(page), before), "the paper decoder draws")
    settle(page)
    big = [n for n in page.frames_received[sent_before:] if n > 1_000_000]
    assert len(big) == 1  # the paper preset's weights, once (~4.8 MB as float16 base64)


def test_drawing_a_stroke_returns_an_image_and_clear_resets(app_page):
    page = app_page
    canvas = page.locator("[data-testid='aae-draw-canvas']")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.mouse.move(*at(0.25, 0.2))
    page.mouse.down()
    page.mouse.move(*at(0.75, 0.2), steps=8)
    page.mouse.move(*at(0.45, 0.85), steps=8)
    page.mouse.up()
    text = wait_for(lambda: python_text(page, "python drawing = 28x28"), "Python receives the drawing")
    ink = float(re.search(r"ink=([\d.]+)", text)[1])
    assert 10 < ink < 400
    assert float(re.search(r"max=([\d.]+)", text)[1]) > 0.9

    page.locator("[data-testid='aae-draw-clear']").click()
    wait_for(lambda: python_text(page, "python drawing = none"), "Clear empties the drawing")


@pytest.mark.parametrize("width", [340, 520, 760])
def test_no_horizontal_overflow_in_narrow_columns(browser, demo_url, width):
    context = browser.new_context(viewport={"width": width, "height": 1400})
    page = context.new_page()
    try:
        page.goto(demo_url)
        settle(page)
        for testid in ("aae-latent-pad", "aae-draw"):
            root = page.locator(f"[data-testid='{testid}']")
            root.wait_for()
            fits = root.evaluate("""(el) => {
                const box = el.getBoundingClientRect();
                return el.scrollWidth <= el.clientWidth + 1
                    && [...el.querySelectorAll('*')].every(
                        (c) => c.getBoundingClientRect().right <= box.right + 1);
            }""")
            assert fits, f"{testid} overflows at a {width}px-wide window"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()

