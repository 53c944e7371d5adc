"""The latent plot as Chromium draws it on the Train page: square with the D(z) layer on (it once
squashed the window into about 360 × 205 px), and the outside-the-window caption clear of the
axis ticks and title.

The check runs inside the Train page's live-training test (tests/test_browser_train.py), on the
run that test trains: a run of its own would cost another first batch on the shared server."""

from __future__ import annotations

from browser import wait_until

TRAIN_TIMEOUT_S = 90        # a run's first D(z) grid on a busy 2-core machine
PLOT = ".st-key-aae_latent"

GEOMETRY_JS = """(plot) => {
    const box = e => { const r = e.getBoundingClientRect();
                       return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
    const root = document.querySelector(plot);
    if (!root) return null;
    const image = root.querySelector('g.mark-image image');
    const legends = Array.from(root.querySelectorAll('g.role-legend-title text'), t => t.textContent);
    const note = Array.from(root.querySelectorAll('g.mark-text text'))
        .find(t => t.textContent.includes('outside the window') || t.textContent === '\\u00a0');
    const axis = Array.from(root.querySelectorAll('g.role-axis-label text, g.role-axis-title text'), box);
    const dCells = root.querySelectorAll('g.mark-rect path').length;
    return {image: image && box(image), legends, note: note && box(note), axis, d_cells: dCells};
}"""


def overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def assert_square_with_the_discriminator_layer(page) -> None:
    """On a Train page whose run has drawn its scatter: turn the D(z) layer on and measure the plot."""
    page.locator("[data-testid='stButtonGroup'] button", has_text="D(z)").first.click()
    geometry = wait_until(lambda: (g := page.evaluate(GEOMETRY_JS, PLOT)) and g["d_cells"] > 0
                          and g["image"] and g["note"] and g, TRAIN_TIMEOUT_S, "the D(z) layer")
    assert any(title.startswith("D(z)") for title in geometry["legends"])
    image = geometry["image"]              # the p(z) picture covers the plot area exactly
    width, height = image["right"] - image["left"], image["bottom"] - image["top"]
    assert width > 200
    assert abs(width - height) <= 2, f"the plot is {width:.0f} × {height:.0f} px"
    assert geometry["note"]["top"] > image["bottom"]
    assert not [a for a in geometry["axis"] if overlaps(a, geometry["note"])], "the caption covers the axis"
