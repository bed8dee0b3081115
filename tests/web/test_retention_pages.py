"""Retention on the web: the markers staff see, the extension form, and a purged case's receipt page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from reporter.models.base import utcnow
from tests.casework import events, report_row, submit, update_report
from tests.lifecycle.shredding import make_case, routed_people, run_purge
from tests.staffing import csrf_of

LATER = timedelta(days=366)


@pytest.fixture
def people(app, make_staff, staff_directory):
    """A focal point routed Georgian cases, and the coordinator."""
    return routed_people(app, make_staff, staff_directory)


def _closed(app, reporter, *, purged_in: timedelta) -> str:
    _receipt, report_id = submit(reporter)
    update_report(app, report_id, status="closed", closed_at=utcnow() - timedelta(days=300),
                  retention_until=utcnow() + purged_in)
    return report_id


def _extend(browser, report_id: str, reason: str):
    token = csrf_of(browser, "/staff/cases")
    return browser.post(f"/staff/cases/{report_id}/retention", data={"reason": reason, "csrf_token": token})


def _row_of(page: str, report_id: str) -> str:
    (row,) = [row for row in page.split("<tr") if report_id in row]
    return row


def test_the_queue_marks_the_cases_purged_within_thirty_days_with_their_date(app, reporter, login,
                                                                               staff_directory):
    soon = _closed(app, reporter, purged_in=timedelta(days=12))
    later = _closed(app, reporter, purged_in=timedelta(days=45))
    _open_receipt, open_case = submit(reporter)
    browser = app.test_client()
    login(browser, staff_directory.coordinator)
    page = browser.get("/staff/cases").get_data(as_text=True)
    date = report_row(app, soon).retention_until.strftime("%Y-%m-%d")
    assert f'data-purge-on="{date}"' in _row_of(page, soon) and f"Deleted on {date}" in _row_of(page, soon)
    assert "purge-soon" not in _row_of(page, later) and "purge-soon" not in _row_of(page, open_case)


def test_the_case_page_shows_the_date_and_a_coordinator_extends_once(app, reporter, login, staff_directory):
    report_id = _closed(app, reporter, purged_in=timedelta(days=5))
    before = report_row(app, report_id).retention_until
    browser = app.test_client()
    login(browser, staff_directory.coordinator)
    page = browser.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    assert 'id="purge-notice"' in page and before.strftime("%Y-%m-%d") in page
    assert f'action="/staff/cases/{report_id}/retention"' in page
    reason = "Extension canary: the court asked for the evidence"
    answer = _extend(browser, report_id, reason)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("#retention")
    assert report_row(app, report_id).retention_until == before + timedelta(days=365)
    page = browser.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    assert 'id="purge-notice"' not in page and 'id="retention-extended"' in page
    assert reason in page and "The retention of the case was extended." in page  # the note and the history
    assert f'action="/staff/cases/{report_id}/retention"' not in page
    again = _extend(browser, report_id, "again")
    assert again.status_code == 400 and "already extended once" in again.get_data(as_text=True)
    assert len(events(app, "case.retention_extended", report_id)) == 1


def test_an_empty_reason_is_refused_beside_the_form(app, reporter, login, staff_directory):
    report_id = _closed(app, reporter, purged_in=timedelta(days=5))
    browser = app.test_client()
    login(browser, staff_directory.coordinator)
    answer = _extend(browser, report_id, " ")
    assert answer.status_code == 400 and "Please write something first." in answer.get_data(as_text=True)
    assert report_row(app, report_id).retention_extended_at is None


def test_a_focal_point_sees_the_date_but_cannot_extend(app, reporter, login, people):
    focal_point, _coordinator = people
    report_id = _closed(app, reporter, purged_in=timedelta(days=5))
    browser = app.test_client()
    login(browser, focal_point)
    page = browser.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    assert 'id="purge-notice"' in page and "/retention\"" not in page
    answer = _extend(browser, report_id, "x")
    assert answer.status_code == 403 and report_row(app, report_id).retention_extended_at is None


def test_extending_a_case_someone_does_not_hold_is_404_and_audited(app, reporter, login, make_staff):
    report_id = _closed(app, reporter, purged_in=timedelta(days=5))
    other = make_staff(role="coordinator", region="AM")
    browser = app.test_client()
    login(browser, other)
    answer = browser.post(f"/staff/cases/{report_id}/retention",
                          data={"reason": "x", "csrf_token": csrf_of(browser, "/staff/cases")})
    assert answer.status_code == 404
    (denied,) = events(app, "case.access_denied", report_id)
    assert denied.detail == '{"attempted":"extend_retention"}'


def test_the_receipt_of_a_purged_case_says_it_was_deleted_and_when(app, reporter, people):
    case = make_case(app, reporter, *people)
    case.close(utcnow())
    run_purge(app, utcnow() + LATER)
    purged_on = report_row(app, case.report_id).purged_at.date().isoformat()
    answer = reporter.follow_up(case.receipt.lower().replace("-", " "))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="case-purged"' in page
    assert re.search(rf"content was deleted on {purged_on}\.", page) and "This report was closed" in page
    assert case.canary not in page and "GE" not in page.split("<main", 1)[-1]
    assert reporter.client.get("/followup/case").status_code == 302  # nothing was unlocked
    assert len(events(app, "followup.purged_case", case.report_id)) == 1


def test_a_reporter_session_open_during_the_purge_ends(app, reporter, people):
    case = make_case(app, reporter, *people)
    assert reporter.follow_up(case.receipt).status_code == 302
    assert reporter.client.get("/followup/case").status_code == 200
    case.close(utcnow())
    run_purge(app, utcnow() + LATER)
    answer = reporter.client.get("/followup/case")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/followup")


def test_a_wrong_receipt_still_gets_the_one_message(app, reporter, people):
    case = make_case(app, reporter, *people)
    case.close(utcnow())
    run_purge(app, utcnow() + LATER)
    answer = reporter.follow_up("ABCD-EFGH-JKMN-PQRS-TVWX")
    assert answer.status_code == 401 and 'id="case-purged"' not in answer.get_data(as_text=True)
