"""The Train page in a real Chromium against a real `streamlit run dashboard.py`: live training
(with the latent plot's D(z) layer on: tests/test_browser_charts.py), pause, single steps, single
phases, reloading, watchers who never control a run, handing control over with a control link (no
page shows an exception: tests/test_browser_deeplinks.py opens every page of the navigation). Runs share one server; each test opens a fresh browser context (a new
browser: a fresh session, no cookies, so a fresh run) and follows its run through one story (a
run's first batch is the slow part, so tests share one where they can)."""

from __future__ import annotations

import re

import pytest
from browser import address, exception_texts, unchanged_after_redraws, url_param, wait_for_app, wait_until
from test_browser_charts import assert_square_with_the_discriminator_layer

pytestmark = pytest.mark.browser

TRAIN_TIMEOUT_S = 180       # a run's first steps on a busy 2-core machine (loading included): a ceiling
VIEWPORT = {"width": 1400, "height": 1000}


def open_train_page(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("heading", name="Train an adversarial autoencoder").wait_for()


def control(page, key: str):
    return page.locator(f".st-key-{key}").get_by_role("button").first


def has_control(page, key: str) -> bool:
    return page.locator(f".st-key-{key}").count() > 0


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
    """The Train run's id in the address bar (the run may have just been created: waits for it)."""
    return wait_until(lambda: url_param(page, "run"), 60, "?run= in the address bar")


def choose_prior(page, label: str) -> None:
    page.locator(".st-key-setup_prior input[role='combobox']").click()
    page.get_by_role("option", name=label, exact=True).click()
    wait_for_app(page)


def status_text(page) -> str:
    return page.locator(".st-key-aae_status").inner_text()


def new_browser(browser):
    """Another browser (its own context: no cookies), as a student's laptop would be."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    return pg


def test_live_training_moves_the_codes_draws_a_square_d_layer_and_pause_stops_it(page, streamlit_server):
    open_train_page(page, streamlit_server)
    choose_prior(page, "Swiss roll")
    control(page, "ctl_play").click()
    first = wait_for_step(page, lambda s: s >= 2, "the step counter to rise")
    before = wait_until(lambda: scatter_data(page), 90, "the q(z) scatter")
    wait_until(lambda: (d := scatter_data(page)) is not None and d != before, 60,
               "the scatter's data to change between two refreshes")
    wait_for_step(page, lambda s: s > first, "the counter to keep rising")
    assert "training" in status_text(page)
    assert page.locator(".st-key-setup_prior input[role='combobox']").input_value() == "Swiss roll"
    assert_square_with_the_discriminator_layer(page)                            # tests/test_browser_charts.py

    control(page, "ctl_play").click()                                           # Pause
    wait_until(lambda: control(page, "ctl_play").inner_text().strip().endswith("Resume"), 60,
               "the Pause button to turn into Resume")
    wait_for_app(page)
    paused_at = wait_for_step(page, lambda s: True, "the paused counter")
    unchanged_after_redraws(page, lambda: step_count(page), paused_at, what="the paused run's counter")
    assert "paused" in status_text(page)
    assert not exception_texts(page)


def test_steps_and_phases_advance_one_batch_a_reload_keeps_the_run_and_a_control_link_hands_it_over(
        page, browser, streamlit_server):
    """One run's story (its first batch is the slow part): single steps and phases, a reload, then a
    watcher who sees it live and a helper who steps it through a control link."""
    open_train_page(page, streamlit_server)
    control(page, "ctl_step").click()                                           # creates a paused run
    wait_for_step(page, lambda s: s == 1, "step 1")
    run_id = run_id_in_url(page)
    assert phase_strip(page) == {"last": "", "next": "reconstruction"}

    control(page, "ctl_phase").click()
    wait_until(lambda: phase_strip(page)["last"] == "reconstruction", 90, "the reconstruction phase")
    assert phase_strip(page)["next"] == "discriminator"
    assert step_count(page) == 1, "a single phase must not count as a step"
    assert "Reconstruction phase just ran" in page.locator("[data-testid='stMainBlockContainer']").inner_text()
    control(page, "ctl_phase").click()
    wait_until(lambda: phase_strip(page)["last"] == "discriminator", 90, "the discriminator phase")
    assert step_count(page) == 1
    control(page, "ctl_phase").click()
    wait_until(lambda: phase_strip(page)["last"] == "generator", 90, "the generator phase")
    wait_for_step(page, lambda s: s == 2, "the batch to complete", timeout=10)
    assert phase_strip(page)["next"] == "reconstruction"

    control(page, "ctl_step").click()                                           # one more batch
    wait_for_step(page, lambda s: s >= 3, "step 3", timeout=90)
    page.reload()                               # a new session, the same browser (its cookie)
    wait_for_app(page)
    assert wait_for_step(page, lambda s: True, "the same run's counter after the reload", timeout=90) == 3
    assert run_id_in_url(page) == run_id
    assert run_id in status_text(page) and "paused" in status_text(page)
    assert "Watching" not in page.locator("[data-testid='stSidebar']").inner_text()
    assert has_control(page, "ctl_step") and has_control(page, "ctl_reset")
    unchanged_after_redraws(page, lambda: step_count(page), 3, redraws=1, what="the counter after one more batch")
    assert not exception_texts(page)

    # the same paused run, at step 3: a watcher sees it live, a control link hands control over
    watcher, helper = new_browser(browser), new_browser(browser)
    try:
        watcher.goto(f"{streamlit_server}/?run={run_id}")
        wait_for_app(watcher)
        wait_for_step(watcher, lambda s: s == 3, "the watched run's counter", timeout=90)
        watcher.locator(".st-key-ctl_watching").get_by_text("Watching").wait_for()
        for key in ("ctl_step", "ctl_phase", "ctl_reset", "ctl_save"):
            assert not has_control(watcher, key), f"a watcher has {key}"
        assert control(watcher, "ctl_play").inner_text().strip().endswith("Start my own run")

        page.get_by_role("button", name=re.compile("Hand over control")).click()   # the owner hands it over
        link = page.locator("[data-testid='stPopoverBody'] code").first.inner_text().strip()
        assert f"run={run_id}" in link and "control=" in link
        helper.goto(link)
        wait_for_app(helper)
        wait_for_step(helper, lambda s: s == 3, "the helper sees the run", timeout=90)
        assert "control=" not in address(helper), "the secret stays out of the address bar"
        assert has_control(helper, "ctl_step")
        control(helper, "ctl_step").click()                                     # the helper steps...
        wait_for_step(helper, lambda s: s == 4, "the helper's step", timeout=90)
        wait_for_step(watcher, lambda s: s == 4, "the watcher to see the step", timeout=90)
        page.reload()
        wait_for_app(page)
        wait_for_step(page, lambda s: s == 4, "the owner sees the helper's step", timeout=90)

        control(watcher, "ctl_play").click()                                    # ...the watcher starts its own
        wait_until(lambda: url_param(watcher, "run") not in (None, run_id), TRAIN_TIMEOUT_S,
                   "the watcher's own run in its address bar")
        wait_for_app(page)
        page.reload()
        wait_for_app(page)
        wait_for_step(page, lambda s: s == 4, "the owner's run, untouched", timeout=90)
        assert "paused" in status_text(page) and run_id in status_text(page)
        wait_until(lambda: control(watcher, "ctl_play").inner_text().strip().endswith("Pause"), 60,
                   "the watcher's own run to train")
        control(watcher, "ctl_play").click()                                    # pause the watcher's run
        assert not exception_texts(watcher) and not exception_texts(helper)
    finally:
        watcher.context.close()
        helper.context.close()
