"""Floods of junk reports: a site-wide ceiling answers 503 and keeps the form; a client beyond its
threshold has its reports kept but marked, with no deadline and no e-mail of their own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reporter.models import Notification, Report
from tests import casework
from tests.conftest import Reporter
from tests.staffing import directory_of, login

TYPED = "A flood test: somebody wrote this by hand and must not lose it."


def _reporter_from(app: Any, address: str) -> Reporter:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Reporter(client)


def test_beyond_the_site_ceiling_the_form_answers_503_with_retry_after_and_keeps_the_typed_text(app_factory):
    app = app_factory(REPORTER_SUBMIT_GLOBAL_LIMIT="3 per hour", REPORTER_SUBMIT_FLOOD_LIMIT="100 per hour")
    for number in range(3):  # three different clients: the ceiling is for the whole site
        assert _reporter_from(app, f"198.51.100.{number + 1}").submit().status_code == 200
    stored = casework.count(app, Report)
    response = _reporter_from(app, "203.0.113.9").submit(description=TYPED)
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and 0 < int(response.headers["Retry-After"]) <= 3600
    assert 'id="busy"' in page and TYPED in page
    assert casework.count(app, Report) == stored


def test_a_client_beyond_its_threshold_is_kept_but_marked_and_sends_no_mail(app_factory):
    app = app_factory(REPORTER_SUBMIT_FLOOD_LIMIT="2 per hour", REPORTER_SMTP_URL="smtp://127.0.0.1:9",
                      REPORTER_NOTIFY_THREAD=False)
    flooder = _reporter_from(app, "198.51.100.7")
    for _ in range(4):
        response = flooder.submit()
        assert response.status_code == 200 and 'id="receipt"' in response.get_data(as_text=True)
    assert _reporter_from(app, "203.0.113.20").submit().status_code == 200  # another client: not marked
    with casework.writing(app) as session:
        reports = list(session.scalars(select(Report)))
        notified = session.scalars(select(Notification)).all()
    marked = [report for report in reports if report.possible_flood]
    assert len(reports) == 5 and len(marked) == 2
    assert all(report.deadline_at is None for report in marked)
    assert all(report.deadline_at is not None for report in reports if not report.possible_flood)
    assert len(notified) == 3  # one per unmarked report (to the coordinator), none for the marked ones

    coordinator = app.test_client()
    login(coordinator, directory_of(app).coordinator)
    page = coordinator.get("/staff/cases").get_data(as_text=True)
    assert 'id="flood-notice"' in page and "Possible flood" in page
    only = coordinator.get("/staff/cases?flood=1").get_data(as_text=True)
    assert only.count("Possible flood</strong>") == 2


def test_as_an_onion_service_one_flooder_cannot_lock_every_reporter_out(app_factory):
    app = app_factory(REPORTER_ONION=True, REPORTER_SUBMIT_LIMIT="3 per minute",
                      REPORTER_SUBMIT_FLOOD_LIMIT="3 per hour")
    flooder, reporter = Reporter(app.test_client()), Reporter(app.test_client())
    for _ in range(5):  # beyond the per-client limit, which would be everyone's limit here
        assert flooder.submit().status_code == 200
    response = reporter.submit(description=TYPED)
    assert response.status_code == 200 and 'id="receipt"' in response.get_data(as_text=True)
    with casework.writing(app) as session:
        marked = [r.possible_flood for r in session.scalars(select(Report).order_by(Report.created_hour))]
    assert sum(marked) == 3  # counted together: everything beyond the threshold is marked, none refused
