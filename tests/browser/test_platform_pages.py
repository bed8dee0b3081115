"""What the platforms did, in the browser: the groups on the report form, at follow-up, on the case page
and the statistics table pass axe in every script of the region, opened and in their error states."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext
from sqlalchemy import select, update

from reporter.models import Report
from reporter.models.base import utcnow
from reporter.stats import periods
from tests.browser.accessibility import AxeChecker
from tests.browser.conftest import LiveServer
from tests.browser.journeys import open_case
from tests.browser.test_every_staff_page import Walk
from tests.browser.test_staff_pages import submit
from tests.casework import writing
from tests.staffing import directory_of, route_georgia_to


def _submitted(live_server: LiveServer) -> tuple[str, str]:
    """Submit one consenting report whose detail was reported last month; return (receipt, report id)."""
    from tests.conftest import Reporter

    day = periods.closed("month", utcnow(), 1)[0].start.date() + timedelta(days=2)
    reporter = Reporter(live_server.app.test_client())
    response = reporter.submit(stats_consent="y", incident_kind="online", **{
        "online-0-platform": "telegram", "online-0-reported_to_platform": "yes",
        "online-0-outcome": "pending", "online-0-reported_on": day.isoformat()})
    assert response.status_code == 200
    with writing(live_server.app) as session:
        session.execute(update(Report).values(possible_flood=False))
        session.commit()
        report_id = session.scalars(select(Report.id)).one()
    return reporter.receipt_of(response), report_id


@pytest.mark.parametrize("scripts", [True, False], ids=["scripts-on", "scripts-off"])
@pytest.mark.parametrize("lang", ["en", "ru", "ka", "hy"])  # the scripts of the region differ
def test_platform_response_forms_and_table_pass_axe(
    new_context: Callable[..., BrowserContext], live_server: LiveServer, axe: AxeChecker, lang: str,
    scripts: bool,
) -> None:
    directory = directory_of(live_server.app)
    officer = directory.make(role="focal_point", region="GE")
    route_georgia_to(live_server.app, officer.id)
    receipt, report_id = _submitted(live_server)
    walk = Walk(new_context, axe, lang, scripts)

    page = walk.as_person(officer)
    walk.visit(page, f"/staff/cases/{report_id}?done=platform")
    page.click("#platform-0 summary")
    page.fill("#platform-0-outcome_on", "2999-01-01")
    submit(page, "#platform-0 form")
    assert page.is_visible("#platform-0-outcome_on-error")
    walk.check(page, "case page: a refused platform response")

    page = walk.as_person(directory.make(role="auditor"))
    walk.visit(page, "/stats")
    assert page.is_visible("#table-platform-responses")

    viewport = {"width": 1280, "height": 900} if scripts else {"width": 360, "height": 740}
    page = new_context(viewport=viewport, is_mobile=not scripts).new_page()
    if not scripts:
        page.route("**/static/*.js", lambda route: route.abort())
    page.goto(f"/report?lang={lang}")
    page.click("#online-wrap summary")
    page.click(".online-row details.platform-response summary")
    walk.check(page, "report form: the platform group opened")
    open_case(page, receipt)
    page.click("#platform-0 summary")
    walk.check(page, "follow-up: the platform group opened")
    assert not walk.problems, "\n".join(walk.problems)
