"""What a reporter does in the browser, step by step, for tests that need a page in a given state."""

from __future__ import annotations

from playwright.sync_api import Page

DESCRIPTION = "Someone published my home address in a Telegram channel."


def fill_report(page: Page, *, description: str = DESCRIPTION) -> None:
    """Fill the open report form with a valid report, as a mouse or touch user would."""
    page.check("#incident_kind-0")
    page.select_option("#category", "doxxing")
    page.select_option("#country", "GE")
    page.fill("#occurred_on", "2026-03-08")
    page.fill("#description", description)
    page.fill("#perpetrator", "An anonymous channel")
    page.fill("#contact", "Signal +995 555 000 000")
    page.check("#consent")


def send_form(page: Page) -> None:
    """Press the form's submit button and wait for the answer to load."""
    with page.expect_navigation():
        page.click("form button[type=submit]")


def submit_report(page: Page, *, description: str = DESCRIPTION) -> str:
    """Send a valid report through /report and return the receipt the page shows."""
    page.goto("/report")
    fill_report(page, description=description)
    send_form(page)
    receipt = page.inner_text("#receipt").strip()
    assert len(receipt) == 24, receipt
    return receipt


def enter_receipt(page: Page, receipt: str) -> None:
    """Type `receipt` into /followup and send it."""
    page.goto("/followup")
    page.fill("#receipt", receipt)
    send_form(page)


def open_case(page: Page, receipt: str) -> None:
    """Unlock the case of `receipt` and land on /followup/case."""
    enter_receipt(page, receipt)
    assert page.url.endswith("/followup/case"), page.url
