"""/stats in real Chromium with the site's scripts off: axe-clean in English and Russian, and printable.

With REPORTER_SCREENSHOTS=1 the test also writes docs/screenshots/stats.png.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page
from sqlalchemy import select, update

from reporter.extensions import db, limiter
from reporter.models import Report
from reporter.models.base import utcnow
from reporter.stats import periods
from tests.browser.accessibility import AxeChecker
from tests.browser.conftest import LiveServer
from tests.browser.test_staff_pages import log_in
from tests.conftest import Reporter
from tests.staffing import directory_of

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
COUNTRIES = ("GE", "GE", "GE", "AM", "AM", "AZ")
CATEGORIES = ("threat", "hate_speech", "doxxing", "smear_campaign", "threat", "stalking", "hate_speech")
PLATFORMS = ("telegram", "facebook,telegram", "instagram", "telegram,x", "vk", None)
RISKS = ("low", "medium", "high", "medium", None, "critical", "low")


def _scriptless_page(new_page: Callable[..., Page]) -> Page:
    """Return a page where none of the site's scripts run, as Tor Browser's safest level (axe needs JS)."""
    page = new_page(viewport={"width": 1280, "height": 900})
    page.route("**/static/*.js", lambda route: route.abort())
    return page


def _seed(server: LiveServer, count: int) -> None:
    """Submit `count` consenting reports, then spread them over last month's countries and figures."""
    reporter = Reporter(server.app.test_client())
    reporter._needs_coordinator = False
    for _ in range(count):
        data = {"csrf_token": reporter.token(), "incident_kind": "online", "category": "threat",
                "country": "GE", "description": "Threats in a channel.", "consent": "y", "stats_consent": "y"}
        assert reporter.client.post("/report", data=data).status_code == 200
        with server.app.app_context():
            limiter.reset()  # one test client sending many reports is not what is under test
    hour = periods.closed("month", utcnow(), 1)[0].start.replace(day=4, hour=9)
    with server.app.app_context():
        ids = sorted(db.session.scalars(select(Report.id)))
        for n, report_id in enumerate(ids):
            risk = RISKS[n % len(RISKS)]
            db.session.execute(update(Report).where(Report.id == report_id).values(
                created_hour=hour, possible_flood=False, country=COUNTRIES[n % len(COUNTRIES)],
                category=CATEGORIES[n % len(CATEGORIES)], incident_kind=("online", "both", "offline")[n % 3],
                stats_platforms=PLATFORMS[n % len(PLATFORMS)], stats_first_risk=risk,
                stats_assess_hours=(n % 9) + 1 if risk else None, stats_ack_hours=n % 5,
                status="closed" if n % 3 == 0 else "assessing"))
        db.session.commit()


def test_statistics_page_is_accessible_without_javascript_and_prints_cleanly(
    live_server: LiveServer, new_page: Callable[..., Page], axe: AxeChecker
) -> None:
    _seed(live_server, 40)
    auditor = directory_of(live_server.app).make(role="auditor")
    page = _scriptless_page(new_page)
    log_in(page, auditor)
    for lang in ("en", "ru"):
        page.goto(f"/stats?lang={lang}")
        assert page.get_attribute("html", "lang") == lang
        assert page.locator("svg.chart title").count() == 5 and page.locator("svg.chart desc").count() == 5
        assert page.locator("table.stats-table").count() == 6
        axe.assert_clean(page)
    page.goto("/stats?lang=en")
    if os.environ.get("REPORTER_SCREENSHOTS") == "1":
        page.screenshot(path=SCREENSHOTS / "stats.png", full_page=True,
                        clip={"x": 0, "y": 0, "width": 1280, "height": 1500})
    page.emulate_media(media="print")
    assert not page.is_visible("nav.staff-nav") and not page.is_visible("form.stats-period")
    assert page.is_visible("#table-category")
    page.goto("/stats?period=1999-01&lang=ru")  # refused with the form: accessible too
    axe.assert_clean(page)


def test_a_coordinator_reads_their_region_only(
    live_server: LiveServer, new_page: Callable[..., Page], axe: AxeChecker
) -> None:
    _seed(live_server, 12)
    coordinator = directory_of(live_server.app).make(role="coordinator", region="AM")
    page = _scriptless_page(new_page)
    log_in(page, coordinator)
    page.goto("/stats?lang=ru")
    headers = page.locator("#table-category thead th").all_inner_texts()
    assert len(headers) == 2  # the figure and Armenia, nothing else
    axe.assert_clean(page)
    phone = new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    phone.route("**/static/*.js", lambda route: route.abort())
    log_in(phone, coordinator)
    phone.goto("/stats?lang=ru")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360  # nothing scrolls sideways
    axe.assert_clean(phone)
