"""The statistics pages: who sees which region, what is hidden, the CSV, and the audit trail."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, update

from reporter.extensions import db
from reporter.models import AuditEvent, Report
from reporter.models.base import utcnow
from reporter.stats import periods


def _last_month() -> periods.Period:
    return periods.closed("month", utcnow(), 1)[0]


def _seed(app, make_report, spread: dict[tuple[str, str], int]) -> None:
    """Submit consenting reports through the form, then move them to last month and their countries."""
    for (country, category), number in spread.items():
        for _ in range(number):
            make_report(category=category, stats_consent="y", **{"online-0-platform": "telegram"})
        with app.app_context():
            fresh = select(Report.id).where(Report.country == "GE", Report.category == category,
                                            Report.language != "moved")
            ids = list(db.session.scalars(fresh))
            db.session.execute(update(Report).where(Report.id.in_(ids)).values(
                country=country, created_hour=_last_month().start.replace(day=3, hour=10), language="moved",
                possible_flood=False))  # many reports from one test client look like a flood
            db.session.commit()


@pytest.fixture
def seeded(app, make_report):
    _seed(app, make_report, {("GE", "threat"): 6, ("GE", "doxxing"): 2, ("AM", "threat"): 5,
                             ("AM", "stalking"): 1})
    return app


def test_consent_is_off_by_default_and_only_consenting_reports_keep_figures(app, make_report):
    make_report(**{"online-0-platform": "telegram"})
    make_report(stats_consent="y", **{"online-0-platform": "vk", "online-1-platform": "telegram"})
    with app.app_context():
        rows = {r.stats_consent: r for r in db.session.scalars(select(Report))}
    assert rows[False].stats_platforms is None
    assert rows[True].stats_platforms == "telegram,vk"


def test_the_report_form_explains_the_statistics_box_unticked(reporter):
    page = reporter.client.get("/report").get_data(as_text=True)
    assert 'name="stats_consent"' in page and "anonymous statistics" in page
    assert 'id="stats_consent" name="stats_consent" value="y" aria' in page  # not checked


def test_coordinator_sees_only_their_region(seeded, client, make_staff, login):
    login(client, make_staff(role="coordinator", region="GE"))
    page = client.get("/stats").get_data(as_text=True)
    assert "Georgia" in page and "Armenia" not in page
    table = page.split('id="table-category"')[1].split("</table>")[0]
    assert "<td>2</td>" not in table and "×" in table  # two doxxing reports: hidden


def test_auditor_sees_every_region(seeded, client, make_staff, login):
    login(client, make_staff(role="auditor"))
    page = client.get(f"/stats?period={_last_month().label}").get_data(as_text=True)
    assert "Georgia" in page and "Armenia" in page
    assert 'id="consent-share"' in page and "<svg" in page and "<title id=" in page


@pytest.mark.parametrize("role", ["focal_point", "admin"])
def test_other_staff_are_refused(role, seeded, client, make_staff, login):
    login(client, make_staff(role=role))
    assert client.get("/stats").status_code == 403
    assert client.get("/stats/export.csv").status_code == 403


def test_a_running_or_malformed_period_is_refused(seeded, client, make_staff, login):
    login(client, make_staff(role="auditor"))
    running = periods.containing(utcnow(), "month").label
    for period in (running, "2026-13", "=1+1", "x" * 300):
        response = client.get(f"/stats?period={period}")
        assert response.status_code == 400
        assert "Please choose a month or a quarter that is over." in response.get_data(as_text=True)


def test_views_and_exports_are_audit_events(seeded, client, make_staff, login):
    person = make_staff(role="coordinator", region="GE")
    login(client, person)
    client.get("/stats")
    client.get("/stats/export.csv")
    with seeded.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("stats.%"))
                                         .order_by(AuditEvent.seq)))
    assert [e.action for e in events] == ["stats.viewed", "stats.exported"]
    assert all(e.actor_id == person.id for e in events)
    assert f'"period":"{_last_month().label}"' in events[0].detail and '"region":"GE"' in events[0].detail


def test_the_csv_publishes_what_the_page_publishes(seeded, client, make_staff, login):
    login(client, make_staff(role="auditor"))
    response = client.get("/stats/export.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    cell = {(r["figure"], r["row"], r["column"]): r["value"] for r in rows}
    assert cell[("category", "total", "total")] == "14"
    assert cell[("category", "hate_speech", "GE")] == "0"
    assert cell[("category", "doxxing", "GE")] == "suppressed"
    assert cell[("category", "stalking", "AM")] == "suppressed"
    assert all(r["value"] == "suppressed" or int(r["value"]) == 0 or int(r["value"]) >= 5 for r in rows
               if not r["figure"].endswith("percent") and not r["figure"].startswith("median"))
