"""The whole reporter path with JavaScript off and only the keyboard, as on Tor Browser's safest level."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.keyboard import focused, tab_to

pytestmark = pytest.mark.usefixtures("receives_reports")


def test_report_and_follow_up_work_without_javascript_by_keyboard_alone(no_js_page: Page) -> None:
    page = no_js_page
    description = "They followed me home from the office twice this week."
    page.goto("/report")

    tab_to(page, "#incident_kind-0")
    page.keyboard.press("ArrowDown")  # arrows move within a radio group and select
    assert focused(page) == "#incident_kind-1"
    tab_to(page, "#category")
    page.keyboard.type("Stalk")  # type-ahead picks the option in a closed select
    tab_to(page, "#country")
    page.keyboard.type("Georgia")
    tab_to(page, "#occurred_on")
    page.keyboard.type("03082026")  # month, day, year segments in the en-US browser locale
    tab_to(page, "#description")
    page.keyboard.type(description)
    tab_to(page, "#perpetrator")
    page.keyboard.type("Two men in a grey car")
    tab_to(page, "#contact")
    page.keyboard.type("Signal +995 555 000 000")
    tab_to(page, "#consent", limit=20)  # past the optional online details and files
    page.keyboard.press("Space")
    tab_to(page, "submit")

    assert page.is_checked("#incident_kind-1")
    assert page.input_value("#category") == "stalking"
    assert page.input_value("#country") == "GE"
    assert page.input_value("#occurred_on") == "2026-03-08"
    assert page.is_checked("#consent")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    receipt = page.inner_text("#receipt").strip()
    assert len(receipt) == 24 and receipt.count("-") == 4, receipt

    page.goto("/followup")
    tab_to(page, "#receipt")
    page.keyboard.type(" ".join(receipt.replace("-", "").lower()))
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.url.endswith("/followup/case"), page.url
    assert page.inner_text("#case-status").strip() == "Received"
    assert description in page.inner_text("main")
