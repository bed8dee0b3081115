"""Linked cases and what platforms did, as a focal point and a coordinator see them in Chromium.

Two reporters name the same account on the form; the focal point who holds both sees each case link to
the other, and the coordinator sees the account, as an opaque label, among the most linked of the
quarter. The platform responses table of /stats shows the consenting reports' outcomes. With
REPORTER_SCREENSHOTS=1 the test writes docs/screenshots/linked-case.png and platform-responses.png.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from playwright.sync_api import Page
from sqlalchemy import select

from reporter.extensions import db
from reporter.models import Report
from reporter.models.base import utcnow
from reporter.models.platform_response import PlatformResponseStat
from reporter.stats import periods
from tests.browser.accessibility import AxeChecker
from tests.browser.conftest import LiveServer
from tests.browser.journeys import fill_report, send_form
from tests.browser.test_staff_pages import log_in
from tests.browser.test_stats_page import SCREENSHOTS, _seed
from tests.staffing import directory_of, route_georgia_to

ACCOUNT = "@Smear_Desk_Tbilisi"
#: (platform, outcome, how many): enough consenting reports per cell that most figures are shown.
RESPONSES = (("telegram", "removed", 6), ("telegram", "no_action", 7), ("telegram", "no_answer", 5),
             ("facebook", "no_action", 8), ("facebook", "restricted", 5), ("facebook", "pending", 5),
             ("instagram", "no_answer", 4))


def _report_naming(page: Page, account: str, description: str) -> None:
    """Send the report form in the browser, naming `account` on Telegram."""
    page.goto("/report?lang=en")
    fill_report(page, description=description)
    if page.get_attribute("#online-wrap", "open") is None:  # the form's script opens it for online incidents
        page.click("#online-wrap summary")
    page.select_option("#online-0-platform", "telegram")
    page.fill("#online-0-account", account)
    send_form(page)
    assert page.is_visible("#receipt")


def test_a_focal_point_sees_two_reports_of_one_account_linked(
    live_server: LiveServer, new_page: Callable[..., Page], axe: AxeChecker
) -> None:
    directory = directory_of(live_server.app)
    officer = directory.make(role="focal_point", region="GE")
    route_georgia_to(live_server.app, officer.id)
    coordinator = directory.make(role="coordinator", region="GE")
    reporter = new_page(viewport={"width": 1280, "height": 900})
    _report_naming(reporter, ACCOUNT, "The same channel posts my address every day.")
    _report_naming(reporter, ACCOUNT.lower().lstrip("@"), "A channel calls people to come to our office.")
    with live_server.app.app_context():
        first, second = (report.id for report in db.session.scalars(
            select(Report).order_by(Report.created_hour, Report.id)))

    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, officer)
    page.goto(f"/staff/cases/{first}")
    linked = page.locator(".linked-cases")
    assert "Also named in other cases: 1" in linked.inner_text()
    assert linked.locator(f"a[href$='/staff/cases/{second}']").count() == 1
    assert ACCOUNT not in linked.inner_text()
    axe.assert_clean(page)
    if os.environ.get("REPORTER_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "linked-case.png", full_page=True,
                        clip={"x": 0, "y": 0, "width": 1280, "height": 1250})

    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, coordinator)
    page.goto("/staff/linked-accounts")
    assert ACCOUNT.lower().lstrip("@") not in page.content().lower()
    assert page.locator("table tbody tr").count() == 1
    axe.assert_clean(page)


def test_the_statistics_show_what_platforms_did(
    live_server: LiveServer, new_page: Callable[..., Page], axe: AxeChecker
) -> None:
    _seed(live_server, 40)
    month = periods.closed("month", utcnow(), 1)[0].start
    with live_server.app.app_context():
        ids = sorted(db.session.scalars(select(Report.id)))
        answers = [(platform, outcome) for platform, outcome, count in RESPONSES for _ in range(count)]
        for report_id, (platform, outcome) in zip(ids, answers, strict=True):
            decided = None if outcome in ("pending", "no_answer") else month
            db.session.add(PlatformResponseStat(report_id=report_id, position=0, platform=platform,
                                                outcome=outcome, reported_month=month, outcome_month=decided))
        db.session.commit()
    auditor = directory_of(live_server.app).make(role="auditor")
    page = new_page(viewport={"width": 1280, "height": 900})
    page.route("**/static/*.js", lambda route: route.abort())
    log_in(page, auditor)
    page.goto(f"/stats?period={month:%Y-%m}&lang=en")
    table = page.locator("#table-platform-responses")
    assert table.is_visible()
    assert "Telegram" in table.inner_text() and "Facebook" in table.inner_text()
    axe.assert_clean(page)
    if os.environ.get("REPORTER_SCREENSHOTS") == "1":
        top, height = table.evaluate("t => [t.getBoundingClientRect().top + window.scrollY, t.offsetHeight]")
        page.screenshot(path=SCREENSHOTS / "platform-responses.png", full_page=True,
                        clip={"x": 0, "y": max(0, top - 90), "width": 1280, "height": height + 110})
