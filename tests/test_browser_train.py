"""The Train page in a real Chromium against a real `streamlit run dashboard.py`: live training,
pause, single steps, single phases, reloading, watching from a second tab, and no exception on any
page. Runs share one server; each test opens a fresh browser session (so, a fresh run)."""

from __future__ import annotations

import re
import time

import pytest
from conftest import exception_texts, wait_for_app

pytestmark = pytest.mark.browser

TRAIN_TIMEOUT_S = 90        # a run's first steps on a busy 2-core machine (loading included)


def wait_until(condition, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def open_train_page(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("heading", name="Train an adversarial autoencoder").wait_for()


def control(page, key: str):
    return page.locator(f".st-key-{key}").get_by_role("button").first


def step_count(page) -> int | None:
    """The Step counter (None while the page has none)."""
    value = page.locator(".st-key-aae_step [data-testid='stMetricValue']")
    if value.count() == 0:
        return None
    try:
        return int(value.first.inner_text(timeout=2000).replace(",", ""))
    except Exception:  # noqa: BLE001 — the fragment may be redrawing it right now
        return None


def wait_for_step(page, predicate, what: str, timeout: float = TRAIN_TIMEOUT_S) -> int:
    return wait_until(lambda: (lambda s: s if s is not None and predicate(s) else None)(step_count(page)),
                      timeout, what)


def scatter_data(page) -> str | None:
    """Where the q(z) scatter's dots are drawn: the positions of the code marks in the chart's SVG."""
    return page.evaluate("""() => {
        const dots = document.querySelectorAll('.st-key-aae_latent svg g.mark-symbol path');
        if (!dots.length) return null;
        return Array.from(dots, d => d.getAttribute('transform')).join(';');
    }""")


def phase_strip(page) -> dict[str, str]:
    strip = page.locator(".aae-phases").first
    return {"last": strip.get_attribute("data-last-phase"), "next": strip.get_attribute("data-next-phase")}


def run_id_in_url(page) -> str:
    match = re.search(r"[?&]run=([\w-]+)", page.url)
    assert match, f"no ?run= in {page.url}"
    return match.group(1)


def choose_prior(page, label: str) -> None:
    page.locator(".st-key-setup_prior input[role='combobox']").click()
    page.get_by_role("option", name=label, exact=True).click()
    wait_for_app(page)


def test_live_training_moves_the_codes_and_pause_stops_it(page, streamlit_server):
    open_train_page(page, streamlit_server)
    choose_prior(page, "Swiss roll")
    control(page, "ctl_play").click()
    first = wait_for_step(page, lambda s: s >= 2, "the step counter to rise")
    before = wait_until(lambda: scatter_data(page), 30, "the q(z) scatter")
    wait_until(lambda: (d := scatter_data(page)) is not None and d != before, 20,
               "the scatter's data to change between two refreshes")
    wait_for_step(page, lambda s: s > first, "the counter to keep rising")
    assert "training" in page.locator(".st-key-aae_status").inner_text()
    assert page.locator(".st-key-setup_prior input[role='combobox']").input_value() == "Swiss roll"

    control(page, "ctl_play").click()                                           # Pause
    wait_until(lambda: control(page, "ctl_play").inner_text().strip().endswith("Resume"), 15,
               "the Pause button to turn into Resume")
    wait_for_app(page)
    paused_at = step_count(page)
    frozen = scatter_data(page)
    time.sleep(2.5)
    assert step_count(page) == paused_at, "the counter moved while paused"
    assert scatter_data(page) == frozen, "the scatter changed while paused"
    assert not exception_texts(page)


def test_step_advances_exactly_one_batch(page, streamlit_server):
    open_train_page(page, streamlit_server)
    control(page, "ctl_step").click()                                           # creates a paused run
    wait_for_step(page, lambda s: s == 1, "step 1")
    control(page, "ctl_step").click()
    wait_for_step(page, lambda s: s >= 2, "step 2", timeout=30)
    time.sleep(1.5)
    assert step_count(page) == 2
    assert not exception_texts(page)


def test_a_phase_step_runs_only_that_phase(page, streamlit_server):
    open_train_page(page, streamlit_server)
    control(page, "ctl_step").click()
    wait_for_step(page, lambda s: s == 1, "step 1")
    assert phase_strip(page) == {"last": "", "next": "reconstruction"}

    control(page, "ctl_phase").click()
    wait_until(lambda: phase_strip(page)["last"] == "reconstruction", 30, "the reconstruction phase")
    assert phase_strip(page)["next"] == "discriminator"
    assert step_count(page) == 1, "a single phase must not count as a step"
    assert "Reconstruction phase just ran" in page.locator("[data-testid='stMainBlockContainer']").inner_text()

    control(page, "ctl_phase").click()
    wait_until(lambda: phase_strip(page)["last"] == "discriminator", 30, "the discriminator phase")
    assert step_count(page) == 1
    control(page, "ctl_phase").click()
    wait_until(lambda: phase_strip(page)["last"] == "generator", 30, "the generator phase")
    wait_for_step(page, lambda s: s == 2, "the batch to complete", timeout=10)
    assert phase_strip(page)["next"] == "reconstruction"
    assert not exception_texts(page)


def test_reloading_shows_the_same_run(page, streamlit_server):
    open_train_page(page, streamlit_server)
    control(page, "ctl_step").click()
    wait_for_step(page, lambda s: s == 1, "step 1")
    run_id = run_id_in_url(page)

    page.reload()
    wait_for_app(page)
    wait_for_step(page, lambda s: s == 1, "the same run's counter after the reload", timeout=30)
    assert run_id_in_url(page) == run_id
    status = page.locator(".st-key-aae_status").inner_text()
    assert run_id in status and "paused" in status
    assert "Watching" not in page.locator("[data-testid='stSidebar']").inner_text()
    assert not exception_texts(page)


def test_a_second_tab_with_the_link_watches_and_survives_a_stop(page, browser, streamlit_server):
    open_train_page(page, streamlit_server)
    control(page, "ctl_step").click()
    wait_for_step(page, lambda s: s == 1, "step 1")
    run_id = run_id_in_url(page)

    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        other.goto(f"{streamlit_server}/?run={run_id}")
        wait_for_app(other)
        wait_for_step(other, lambda s: s == 1, "the watched run's counter", timeout=30)
        other.get_by_text("Watching a run started in another tab").wait_for()

        control(page, "ctl_step").click()                                       # the owner steps...
        wait_for_step(other, lambda s: s == 2, "the watcher to see the step", timeout=30)

        control(page, "ctl_reset").click()                                      # ...then stops it
        wait_until(lambda: "stopped" in other.locator(".st-key-aae_status").inner_text(), 30,
                   "the watcher to see the run stopped")
        wait_for_app(other)
        assert control(other, "ctl_play").inner_text().strip().endswith("Start a new run")
        assert not exception_texts(other)
        assert run_id_in_url(page) != run_id                                    # the owner got a new run
    finally:
        other.context.close()


def test_no_streamlit_exception_on_any_page(page, streamlit_server):
    open_train_page(page, streamlit_server)
    links = page.locator("[data-testid='stSidebarNav'] a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())] or [streamlit_server]
    for href in hrefs:
        target = href if href.startswith("http") else f"{streamlit_server}/{href.lstrip('/')}"
        page.goto(target)
        wait_for_app(page)
        time.sleep(1.0)                                                         # let live parts draw once
        assert not exception_texts(page), f"exception on {target}: {exception_texts(page)}"
