"""Quick exit: a plain same-origin link without scripts (/exit forgets the case, then redirects to the
neutral site); with scripts it replaces the page in history, Escape too."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.conftest import LiveServer


def _history_length(page: Page) -> int:
    length: int = page.evaluate("() => history.length")
    return length


def test_quick_exit_is_a_plain_link_to_the_neutral_site_without_javascript(
    no_js_page: Page, live_server: LiveServer
) -> None:
    page = no_js_page
    page.goto("/report")
    link = page.locator("#quick-exit")
    assert link.evaluate("el => el.tagName") == "A"
    assert link.get_attribute("href") == "/exit"
    page.focus("#description")
    page.keyboard.press("Escape")  # nothing listens without scripts: the reporter stays
    assert page.url == live_server.url("/report")
    with page.expect_navigation():
        link.click()
    assert page.url == live_server.quick_exit_url


def test_escape_leaves_at_once_and_replaces_the_page_in_history(page: Page, live_server: LiveServer) -> None:
    page.goto("/")
    page.goto("/report")
    page.fill("#description", "half-written report")
    before = _history_length(page)
    with page.expect_navigation(url=live_server.quick_exit_url):
        page.keyboard.press("Escape")  # focus is still in the text field
    assert _history_length(page) == before
    page.go_back()
    assert page.url == live_server.url("/"), "Back must not return to the report form"


def test_clicking_quick_exit_replaces_the_page_in_history(page: Page, live_server: LiveServer) -> None:
    page.goto("/")
    page.goto("/followup")
    before = _history_length(page)
    with page.expect_navigation(url=live_server.quick_exit_url):
        page.click("#quick-exit")
    assert _history_length(page) == before
    page.go_back()
    assert page.url == live_server.url("/")
