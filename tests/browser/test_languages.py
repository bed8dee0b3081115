"""The reporter's whole path in every language, without JavaScript: submit, receipt, follow-up, reply."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from reporter import languages
from tests.browser.journeys import open_case, send_form, submit_report

pytestmark = pytest.mark.usefixtures("receives_reports")


@pytest.mark.parametrize("language", languages.SHIPPED)
def test_the_reporter_path_reads_in_every_language_without_javascript(no_js_page: Page,
                                                                      language: str) -> None:
    page = no_js_page
    page.goto(f"/?lang={language}")  # kept in the session for every page that follows
    assert page.get_attribute("html", "lang") == language
    receipt = submit_report(page)
    assert page.get_attribute("html", "lang") == language
    open_case(page, receipt)
    status = page.locator("#case-status")
    assert status.get_attribute("data-status") == "new"
    if language != "en":
        assert status.inner_text().strip() not in ("", "Received", "new")
    page.fill("#body", "They wrote to me again tonight.")
    send_form(page)
    assert "/followup/case" in page.url, page.url
    assert "They wrote to me again tonight." in page.inner_text(".thread")
    assert page.get_attribute("html", "lang") == language
