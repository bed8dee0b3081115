"""A 360 px wide phone: no sideways scrolling on any reporter page, the send button within reach."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.accessibility import AxeChecker
from tests.browser.journeys import enter_receipt, open_case, send_form, submit_report

pytestmark = pytest.mark.usefixtures("receives_reports")

PHONE_WIDTH = 360


def _scroll_width(page: Page) -> int:
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    return width


def _assert_submit_within_reach(page: Page) -> None:
    button = page.locator("form button[type=submit]")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None and button.is_visible() and button.is_enabled()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH, box
    assert box["width"] >= 24 and box["height"] >= 24, box  # WCAG 2.2 target size (minimum)
    top: str = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('button')?.type || 'covered'",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert top == "submit", "something covers the send button"


@pytest.mark.parametrize("language", ["en", "ru", "ka", "hy"])
def test_report_form_fits_a_360_px_phone(phone_page: Page, axe: AxeChecker, language: str) -> None:
    page = phone_page
    page.goto(f"/report?lang={language}")
    assert _scroll_width(page) <= PHONE_WIDTH
    _assert_submit_within_reach(page)
    axe.assert_clean(page)  # at this width too: wrapped header, target sizes

    page.fill("#description", "x" * 300)  # a long unbroken word must wrap, not widen the page
    send_form(page)
    assert page.is_visible(".error-summary")
    assert _scroll_width(page) <= PHONE_WIDTH
    _assert_submit_within_reach(page)


@pytest.mark.parametrize("language", ["en", "ru", "ka", "hy"])
def test_every_reporter_page_fits_a_360_px_phone(phone_page: Page, axe: AxeChecker, language: str) -> None:
    page = phone_page
    problems: dict[str, object] = {}

    def check(state: str) -> None:
        if (width := _scroll_width(page)) > PHONE_WIDTH:
            problems[state] = width
        elif found := axe.violations(page):  # at this width too: wrapped header, target sizes
            problems[state] = [violation["id"] for violation in found]

    page.goto(f"/?lang={language}")  # the choice is kept in the session for the pages that follow
    check("home")
    page.goto("/safety")
    check("how to report safely")
    receipt = submit_report(page, description="y" * 400)
    check("receipt")
    page.goto("/followup")
    check("follow-up")
    enter_receipt(page, "AAAA-BBBB-CCCC-DDDD-EEEE")
    check("wrong receipt")
    open_case(page, receipt)
    check("case")
    page.goto("/no-such-page")
    check("not found")
    assert not problems, f"at {PHONE_WIDTH} px: {problems}"
