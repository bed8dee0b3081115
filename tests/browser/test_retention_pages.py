"""Retention pages in real Chromium, checked with axe-core: the markers, the extension form and its error,
and the page a purged case's receipt opens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from reporter.extensions import db
from reporter.models import Report
from reporter.models.base import utcnow
from tests.browser.accessibility import AxeChecker
from tests.browser.conftest import LiveServer
from tests.browser.journeys import enter_receipt, send_form, submit_report
from tests.casework import update_report
from tests.lifecycle.shredding import run_purge
from tests.staffing import directory_of


def _only_case(live_server: LiveServer) -> str:
    with live_server.app.app_context():
        return db.session.scalars(select(Report.id)).one()


def _log_in(page: Page, live_server: LiveServer) -> None:
    account = directory_of(live_server.app).coordinator
    page.goto("/staff/login")
    page.fill("#email", account.email)
    page.fill("#password", account.password)
    send_form(page)
    page.fill("#code", account.code())
    send_form(page)
    assert page.url.endswith("/staff/"), page.url


@pytest.mark.parametrize("lang", ["en", "ka"])
def test_the_retention_marker_and_extension_pass_axe(live_server: LiveServer, new_page: Callable[..., Page],
                                                     axe: AxeChecker, lang: str) -> None:
    reporter_page = new_page()
    submit_report(reporter_page)
    report_id = _only_case(live_server)
    update_report(live_server.app, report_id, status="closed", closed_at=utcnow() - timedelta(days=340),
                  retention_until=utcnow() + timedelta(days=20))
    page = new_page()
    _log_in(page, live_server)
    page.goto(f"/staff/cases?lang={lang}")
    assert page.is_visible(".purge-soon")
    axe.assert_clean(page)
    page.goto(f"/staff/cases/{report_id}")
    assert page.is_visible("#purge-notice") and page.is_visible("#extend-reason")
    axe.assert_clean(page)
    page.fill("#extend-reason", "   ")
    send_form_of(page, "#extend-reason")  # nothing but spaces: refused beside the form
    assert page.is_visible("#problem")
    axe.assert_clean(page)
    page.fill("#extend-reason", "Needed for a court hearing next year.")
    send_form_of(page, "#extend-reason")
    assert page.is_visible("#retention-extended")
    axe.assert_clean(page)


def send_form_of(page: Page, field: str) -> None:
    """Press the submit button of the form holding `field` and wait for the answer."""
    with page.expect_navigation():
        page.locator("form", has=page.locator(field)).locator("button[type=submit]").click()


@pytest.mark.parametrize("lang", ["en", "ru", "hy"])
def test_the_purged_receipt_page_passes_axe(live_server: LiveServer, new_page: Callable[..., Page],
                                            axe: AxeChecker, lang: str) -> None:
    page = new_page()
    receipt = submit_report(page)
    report_id = _only_case(live_server)
    update_report(live_server.app, report_id, status="closed", closed_at=utcnow(), retention_until=utcnow())
    run_purge(live_server.app, utcnow() + timedelta(hours=1))
    page.goto(f"/followup?lang={lang}")
    enter_receipt(page, receipt)
    assert page.is_visible("#case-purged")
    axe.assert_clean(page)
