"""Both languages in a real Chromium: ``?lang=zh`` opened fresh (the home page and a deep link of
another page, each in a new browser context) shows the Chinese titles and navigation and no English
title; the sidebar switch changes the page's language and the URL keeps it across a page switch."""

from __future__ import annotations

import re

import pytest
from browser import exception_texts, url_param, wait_for_app, wait_until

from ui import texts

pytestmark = pytest.mark.browser

EN, ZH = texts.catalog("en"), texts.catalog("zh")
WAIT_S = 90                  # a busy 2-core machine: a rerun can take tens of seconds
CJK = re.compile(r"[\u4e00-\u9fff]")


def open_fresh(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    wait_for_app(page)
    page.locator("h1").first.wait_for()
    return page


def h1(page) -> str:
    return page.locator("h1").first.inner_text()


def nav(page) -> str:
    return page.locator("[data-testid='stSidebarNav']").inner_text()


def switch(page, language: str) -> None:
    """Choose ``language`` in the sidebar's language switch."""
    page.locator("[data-testid='stSidebar']").get_by_text(texts.LANGUAGES[language], exact=True).click(
        timeout=WAIT_S * 1000)


@pytest.mark.parametrize("path, title", [("/", None), ("/compare", "COMPARE_TITLE")])
def test_a_chinese_link_opens_in_chinese(browser, streamlit_server, path, title):
    """The home page (whichever page comes first) and a deep link of another page."""
    page = open_fresh(browser, f"{streamlit_server}{path}?lang=zh")
    try:
        if title is None:
            wait_until(lambda: CJK.search(h1(page)), WAIT_S, "a Chinese title")
            assert not any(t in page.inner_text("body") for t in EN["NAV_TITLES"].values() if len(t) > 8)
        else:
            wait_until(lambda: ZH[title] in h1(page), WAIT_S, "the Chinese title")
            assert EN[title] not in page.inner_text("body")
        assert ZH["NAV_TITLES"]["explorer"] in nav(page)
        assert EN["NAV_TITLES"]["explorer"] not in nav(page)
        assert not exception_texts(page)
    finally:
        page.context.close()


def test_the_sidebar_switch_changes_the_language_and_the_url_keeps_it(browser, streamlit_server):
    page = open_fresh(browser, f"{streamlit_server}/")      # Train is the default page: its address is the root
    try:
        assert EN["TRAIN_TITLE"] in h1(page)
        wait_for_app(page, WAIT_S)
        switch(page, "zh")
        wait_until(lambda: ZH["TRAIN_TITLE"] in h1(page), WAIT_S, "the Chinese title after the switch")
        wait_until(lambda: url_param(page, "lang") == "zh", WAIT_S, "?lang=zh in the URL")
        wait_for_app(page, WAIT_S)
        page.locator("[data-testid='stSidebarNav']").get_by_text(ZH["NAV_TITLES"]["explorer"]).click()
        wait_until(lambda: ZH["EXPLORER_TITLE"] in h1(page), WAIT_S, "the Explorer in Chinese")
        wait_until(lambda: url_param(page, "lang") == "zh", WAIT_S, "?lang=zh kept after the page switch")
        wait_for_app(page, WAIT_S)
        switch(page, "en")
        wait_until(lambda: EN["EXPLORER_TITLE"] in h1(page), WAIT_S, "the English title after switching back")
        wait_until(lambda: url_param(page, "lang") is None, WAIT_S, "English leaves the URL clean")
        assert not exception_texts(page)
    finally:
        page.context.close()


def test_the_explorers_pad_speaks_the_pages_language(browser, streamlit_server):
    """The pad is a component drawn by its own script: its caption comes from the page's catalog."""
    page = open_fresh(browser, f"{streamlit_server}/explorer?lang=zh")
    try:
        caption = page.locator(".aae-pad-caption").first
        wait_until(lambda: caption.count() and caption.text_content() == ZH["PAD_DECODED_CAPTION"], WAIT_S,
                   "the pad's caption in Chinese")
        assert ZH["PAD_DECODED_CAPTION"] != EN["PAD_DECODED_CAPTION"]
    finally:
        page.context.close()
