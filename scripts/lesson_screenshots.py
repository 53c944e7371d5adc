"""Screenshots of the Lesson for ``docs/lesson/``: every step in presenter mode at 1280 × 720, in
English and 简体中文, and the page its button opens with the step's model loaded (a student's path
through the Lesson). Uses the browser tests' server and Chromium helpers.

    .venv/bin/python scripts/lesson_screenshots.py [--out docs/lesson] [--lang en zh]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser import launch, serving, wait_for_app, wait_until  # noqa: E402

from ui import lesson, texts  # noqa: E402

# what shows that the page a step opened has drawn its model (the browser tests wait on the same)
DRAWN = {"pages/explorer.py": "[data-testid='aae-pad-canvas']", "pages/train.py": ".st-key-aae_latent .vega-embed",
         "pages/labelled.py": ".st-key-aae_latent .vega-embed", "pages/style.py": "img[data-grid='pad-row']",
         "pages/semi_supervised.py": ".st-key-semi_error_curve .vega-embed",
         "pages/clustering.py": ".st-key-cluster_error_curve .vega-embed"}
SETTLE_MS = 2500     # a live page's next redraws, so the picture shows some training


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "lesson")
    parser.add_argument("--lang", nargs="+", default=["en", "zh"], choices=["en", "zh"])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    steps = [s for s in lesson.steps() if s.available]
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:   # a worker may autosave as the server stops
        env = {"AAE_RUNS_DIR": str(Path(tmp) / "runs")}
        with serving(env, Path(tmp) / "server.log") as url, sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 720})   # one student: each step
            page.set_default_timeout(180_000)                                   # pauses the last one's run
            for lang in args.lang:
                for n, step in enumerate(steps, start=1):
                    page.goto(f"{url}/lesson?step={n}&present=1&lang={lang}")
                    wait_for_app(page)
                    page.locator(".st-key-lesson_go button").first.wait_for()
                    page.screenshot(path=str(args.out / f"step{n}-{lang}.png"))
                    page.locator(".st-key-lesson_go button").first.click()
                    drawn = page.locator(DRAWN[step.page]).first
                    wait_until(lambda: drawn.count() > 0 and drawn.is_visible(), 180, f"step {n}'s page")
                    waiting = [texts.text("STATUS_LABELS", lang)[s].split(": ")[-1] for s in ("queued", "loading")]
                    main = page.locator("[data-testid='stMain']").first
                    wait_until(lambda: not any(w in main.inner_text() for w in waiting), 180,
                               f"step {n}'s run past queued and loading")
                    page.wait_for_timeout(SETTLE_MS)
                    page.screenshot(path=str(args.out / f"step{n}-page-{lang}.png"))
                    print(f"step {n} ({step.name}, {lang}): step{n}-{lang}.png, step{n}-page-{lang}.png", flush=True)
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
