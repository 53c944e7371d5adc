"""Deep links in a real Chromium: every page opened fresh by its URL — by the first visitor of a
fresh server, with and without ``?run=`` / ``?compare=`` — shows the app's own navigation and wide
frame on the first load, with no exception and no script error, and attaches the run; each share
link is opened in a new browser context. Train, the default page, lives at the root; ``/train``
(typed, or an old link) lands there with its query."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from browser import address, exception_texts, serving, url_param, wait_for_app, wait_until

pytestmark = pytest.mark.browser

NAV_TITLES = ("Train", "Compare AE · VAE · AAE", "Latent explorer")
WIDE_PX = 900                # the main column at a 1400-px viewport: wide ≈ 1100 px with the sidebar, narrow ≈ 736


@pytest.fixture(scope="module")
def fresh_server(server_env, tmp_path_factory):
    """A server nobody has visited yet: its first visitor comes through a deep link."""
    with serving(server_env, tmp_path_factory.mktemp("fresh-server") / "streamlit.log") as url:
        yield url


def open_fresh(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    wait_for_app(page)
    page.locator("h1").first.wait_for()
    return page


def assert_frame(page, title: str) -> None:
    """The app's navigation (not Streamlit's file list), the wide layout, the page's own title and no
    dialog over it (Streamlit's "page not found" leaves the page inert)."""
    nav = page.locator("[data-testid='stSidebarNav']")
    nav.first.wait_for()
    text = nav.inner_text()
    assert all(t in text for t in NAV_TITLES), text
    assert "dashboard" not in text.lower(), f"Streamlit's file list: {text!r}"
    width = page.evaluate("() => document.querySelector(\"[data-testid='stMainBlockContainer']\")"
                          ".getBoundingClientRect().width")
    assert width > WIDE_PX, f"narrow page: {width} px"
    assert title in page.locator("h1").first.inner_text()
    assert page.locator("[role='dialog']").count() == 0, page.locator("[role='dialog']").first.inner_text()
    assert not exception_texts(page)


def assert_at_root(page, query: dict[str, str]) -> None:
    """Train's own address: the root, with ``query`` kept."""
    wait_until(lambda: urlsplit(address(page)).path == "/", 60, f"the root address, not {address(page)}")
    for name, v in query.items():
        assert url_param(page, name) == v, address(page)


def test_first_visitor_on_a_deep_link_gets_the_frame(browser, fresh_server):
    page = open_fresh(browser, f"{fresh_server}/compare")
    try:
        assert_frame(page, "AE vs VAE vs AAE")
    finally:
        page.context.close()


PAGES = [("/", "Train an adversarial"), ("/train", "Train an adversarial"), ("/lesson", "Lesson"),
         ("/compare", "AE vs VAE vs AAE"), ("/explorer", "Latent explorer")]


def test_every_page_opened_by_its_url_shows_the_frame_and_no_error(browser, fresh_server):
    """Each page of the navigation (the ones above with their titles, and every other one listed),
    opened by its address: a new page load, so a new Streamlit session that starts on that page.
    One browser for all of them (each new browser costs a cold load of Streamlit's scripts); the
    first load of a fresh browser is the test above and the share links' below."""
    page = open_fresh(browser, fresh_server + PAGES[0][0])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        links = page.locator("[data-testid='stSidebarNav'] a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        paths = [urlsplit(h).path or "/" for h in hrefs]
        assert len(paths) >= 3 and {"/lesson", "/compare", "/explorer"} <= set(paths), hrefs
        todo = PAGES + [(p, None) for p in paths if p not in {path for path, _ in PAGES}]
        for i, (path, title) in enumerate(todo):
            if i:
                page.goto(fresh_server + path)
                wait_for_app(page)
                page.locator("h1").first.wait_for()
            assert_frame(page, title or "")
            if path == "/train":
                assert_at_root(page, {})
            assert not errors, (path, errors)
    finally:
        page.context.close()


def test_share_links_attach_their_runs_on_the_first_load(browser, fresh_server):
    owner = open_fresh(browser, f"{fresh_server}/")          # Train is the default page: its address is the root
    try:
        owner.locator(".st-key-ctl_step").get_by_role("button").click()
        run_id = wait_until(lambda: url_param(owner, "run"), 180, "a Train run in the address bar")
        owner.goto(f"{fresh_server}/compare?run={run_id}")
        wait_for_app(owner)
        owner.locator(".st-key-cmp_step").get_by_role("button").click()
        compare_id = wait_until(lambda: url_param(owner, "compare"), 180, "a Compare run in the address bar")
        links = [(f"/?run={run_id}", "Train an adversarial", run_id),
                 (f"/train?run={run_id}", "Train an adversarial", run_id),
                 (f"/compare?compare={compare_id}", "AE vs VAE vs AAE", compare_id),
                 (f"/explorer?run={run_id}&compare={compare_id}", "Latent explorer", compare_id)]
        for link, title, shown in links:
            page = open_fresh(browser, fresh_server + link)
            try:
                assert_frame(page, title)
                wait_until(lambda: shown in page.locator(".st-key-aae_status").inner_text(), 90,
                           f"{link}: the sidebar reports run {shown}")
                assert "Watching" in page.locator("[data-testid='stSidebar']").inner_text()
                if link.startswith("/train"):
                    assert_at_root(page, {"run": run_id})
            finally:
                page.context.close()
        # the Step's script run ends after the first batch (the URL has the id as soon as the run exists)
        status = wait_until(lambda: (t := owner.locator(".st-key-aae_status").inner_text()) and compare_id in t and t,
                            180, "the owner's sidebar to list the Compare run")
        assert "Train run" in status and run_id in status and "Compare run" in status
    finally:
        owner.context.close()
