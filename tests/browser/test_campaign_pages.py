"""A campaign made and filled by hand, as a focal point and a coordinator do it in Chromium.

The focal point makes a campaign from one case's page, adds a second case by choosing it from the list,
and takes one out again; the coordinator of the region finds it, named, on the campaigns page. Every
page is checked with axe-core.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page
from sqlalchemy import select

from reporter.extensions import db
from reporter.models import Report
from tests.browser.accessibility import AxeChecker
from tests.browser.conftest import LiveServer
from tests.browser.journeys import submit_report
from tests.browser.test_staff_pages import log_in, submit
from tests.staffing import directory_of, route_georgia_to

NAME = "Smear wave against the Batumi mediators"


def test_a_focal_point_groups_two_cases_into_a_campaign_and_the_coordinator_finds_it(
    live_server: LiveServer, new_page: Callable[..., Page], axe: AxeChecker
) -> None:
    directory = directory_of(live_server.app)
    officer = directory.make(role="focal_point", region="GE")
    route_georgia_to(live_server.app, officer.id)
    coordinator = directory.make(role="coordinator", region="GE")
    reporter = new_page(viewport={"width": 1280, "height": 900})
    for description in ("A channel posts edited photos of me.", "The same lies about our group, again."):
        submit_report(reporter, description=description)
    with live_server.app.app_context():
        first, second = sorted(db.session.scalars(select(Report.id)))

    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, officer)
    page.goto(f"/staff/cases/{first}?lang=en")
    page.fill("#campaign-name", NAME)
    submit(page, "main form[action$='/campaigns']")
    assert page.is_visible("#done") and NAME in page.inner_text("#case-campaigns")
    axe.assert_clean(page)
    page.goto(f"/staff/cases/{second}?lang=en")
    page.select_option("#campaign-choice", label=NAME)
    submit(page, "main form[action$='/campaigns']")
    with page.expect_navigation():
        page.click("#case-campaigns a")
    assert page.inner_text("h1") == NAME and page.inner_text("#campaign-count") == "2"
    assert page.locator("#campaign-cases a").count() == 2
    axe.assert_clean(page)

    page.goto(f"/staff/cases/{second}?lang=en")
    submit(page, "#case-campaigns form")
    assert page.is_visible("#no-campaigns")
    axe.assert_clean(page)

    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, coordinator)
    page.goto("/staff/campaigns?lang=en")
    row = page.locator("#campaign-list tbody tr")
    assert row.count() == 1 and NAME in row.inner_text() and first[:8] in row.inner_text()
    axe.assert_clean(page)
