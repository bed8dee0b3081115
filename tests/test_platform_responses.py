"""What the platforms did: recorded on the form, at follow-up and on the case, sealed; counted only with
consent, in months, through the statistics' suppression."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from reporter.extensions import db
from reporter.intake import online_details
from reporter.intake.platform_reports import clean_response
from reporter.models import PlatformResponseStat, Report
from reporter.models.base import utcnow
from reporter.stats import periods
from tests import casework
from tests.casework import events, open_fields, private_key_of, submit
from tests.conftest import csrf_token_of

REFERENCE = "TICKET-7731-zq"


def _last_month() -> periods.Period:
    return periods.closed("month", utcnow(), 1)[0]


def _reported(index: int = 0, **values: str) -> dict[str, str]:
    day = _last_month().start.date() + timedelta(days=2)
    given = {"platform": "telegram", "account": "@someone", "reported_to_platform": "yes",
             "platform_reference": REFERENCE, "outcome": "removed", "reported_on": day.isoformat(),
             "outcome_on": (day + timedelta(days=3)).isoformat(), **values}
    return {f"online-{index}-{name}": value for name, value in given.items()}


def _stat_rows(app) -> list[PlatformResponseStat]:
    with casework.writing(app) as session:
        rows = list(session.scalars(select(PlatformResponseStat)))
        for row in rows:
            session.expunge(row)
        return rows


def _details(app, report_id, account, key) -> list[online_details.OnlineDetail]:
    return online_details.from_json(open_fields(app, report_id, account, key)["online_details"])


def test_the_form_seals_the_response_and_keeps_only_months_with_consent(
        app, reporter, staff_directory, backend, instance_path, database_url):
    _, report_id = submit(reporter, stats_consent="y", **_reported())
    _, silent_id = submit(reporter, **_reported(platform="vk"))
    key = private_key_of(app, staff_directory.coordinator)
    (detail,) = _details(app, report_id, staff_directory.coordinator, key)
    assert (detail.response.outcome, detail.response.platform_reference) == ("removed", REFERENCE)
    (row,) = _stat_rows(app)  # the report without consent keeps nothing in plaintext
    assert (row.report_id, row.platform, row.outcome) == (report_id, "telegram", "removed")
    assert row.reported_month == _last_month().start and row.reported_month.day == 1
    assert _details(app, silent_id, staff_directory.coordinator, key)[0].response.outcome == "removed"
    assert REFERENCE.encode() not in casework.raw_storage(backend, instance_path, database_url)


def test_a_row_without_platform_fields_reads_back_empty(app, reporter, staff_directory):
    _, report_id = submit(reporter, stats_consent="y", **{"online-0-platform": "vk", "online-0-account": "x"})
    key = private_key_of(app, staff_directory.coordinator)
    (detail,) = _details(app, report_id, staff_directory.coordinator, key)
    assert detail.response.is_empty() and _stat_rows(app) == []
    older = json.dumps([{"platform": "vk", "account": "x", "links": [], "approximate_time": ""}])
    assert online_details.from_json(older)[0].response.is_empty()


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"reported_on": "2999-01-01"}, "reported_on", "This date is in the future."),
    ({"reported_on": "2026-05-10", "outcome_on": "2026-05-01"}, "outcome_on", "cannot come before"),
    ({"outcome": "vanished"}, "outcome", "Please choose one of the options."),
    ({"reported_on": "yesterday"}, "reported_on", "year-month-day"),
    ({"platform_reference": "x" * 201}, "platform_reference", "200 characters"),
])
def test_bad_platform_fields_come_back_with_a_clear_error(reporter, values, field, message):
    response = reporter.submit(description="Kept", **_reported(**values))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and f'id="online-0-{field}-error"' in page
    assert message in page and "Kept" in page and 'id="receipt"' not in page


def test_dates_and_choices_are_checked():
    today = utcnow().date()
    _, problems = clean_response({"reported_to_platform": "maybe", "outcome_on": "2026-02-30"}, today=today)
    assert problems == {"reported_to_platform": "choice", "outcome_on": "date"}
    response, problems = clean_response({"platform_reference": "  ref\u200b 1 "}, today=today)
    assert problems == {} and response.platform_reference.startswith("ref")


def _case_token(client, report_id: str) -> str:
    return csrf_token_of(client.get(f"/staff/cases/{report_id}").get_data(as_text=True))


def test_a_holder_records_the_outcome_sealed_and_audited(app, reporter, staff_directory, login, client,
                                                         backend, instance_path, database_url):
    _, report_id = submit(reporter, stats_consent="y", **_reported(outcome="pending", outcome_on=""))
    login(client, staff_directory.coordinator)
    page = client.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    assert "What the platforms did" in page and "Waiting for the platform's decision" in page
    data = {"csrf_token": _case_token(client, report_id), "reported_to_platform": "yes",
            "platform_reference": "NEW-REF-88", "outcome": "restricted",
            "reported_on": _last_month().start.date().isoformat(), "outcome_on": utcnow().date().isoformat()}
    response = client.post(f"/staff/cases/{report_id}/platforms/0", data=data)
    assert response.status_code == 302 and "done=platform" in response.headers["Location"]
    key = private_key_of(app, staff_directory.coordinator)
    response_now = _details(app, report_id, staff_directory.coordinator, key)[0].response
    assert (response_now.outcome, response_now.platform_reference) == ("restricted", "NEW-REF-88")
    (event,) = events(app, "case.platform_response_recorded", report_id)
    assert event.actor_id == staff_directory.coordinator.id and "NEW-REF" not in (event.detail or "")
    (row,) = _stat_rows(app)
    assert row.outcome == "restricted" and row.outcome_month is not None and row.outcome_month.day == 1
    assert "Restricted or hidden" in client.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    assert b"NEW-REF-88" not in casework.raw_storage(backend, instance_path, database_url)


def test_a_holder_gets_a_clear_error_and_nothing_changes(app, reporter, staff_directory, login, client):
    _, report_id = submit(reporter, **_reported())
    login(client, staff_directory.coordinator)
    token = _case_token(client, report_id)
    refused = client.post(f"/staff/cases/{report_id}/platforms/0",
                          data={"csrf_token": token, "outcome_on": "2999-01-01"})
    assert refused.status_code == 400 and "This date is in the future." in refused.get_data(as_text=True)
    missing = client.post(f"/staff/cases/{report_id}/platforms/5",
                          data={"csrf_token": token, "outcome": "removed"})
    assert missing.status_code == 400 and "out of date" in missing.get_data(as_text=True)
    assert events(app, "case.platform_response_recorded") == []


def test_the_reporter_updates_the_outcome_at_follow_up(app, reporter, staff_directory):
    receipt, report_id = submit(reporter, stats_consent="y", **_reported(outcome="pending", outcome_on=""))
    assert reporter.follow_up(receipt).status_code == 302
    page = reporter.client.get("/followup/case").get_data(as_text=True)
    assert "Did you report it to the platform?" in page and REFERENCE in page
    token = csrf_token_of(page)
    bad = reporter.client.post("/followup/case/platforms/0", data={"csrf_token": token, "outcome": "gone"})
    assert bad.status_code == 400 and "Please choose one of the options." in bad.get_data(as_text=True)
    response = reporter.client.post("/followup/case/platforms/0", data={
        "csrf_token": token, "reported_to_platform": "yes", "outcome": "no_action",
        "platform_reference": REFERENCE})
    assert response.status_code == 302
    key = private_key_of(app, staff_directory.coordinator)
    assert _details(app, report_id, staff_directory.coordinator, key)[0].response.outcome == "no_action"
    (event,) = events(app, "followup.platform_response_recorded", report_id)
    assert event.actor_role == "reporter" and event.actor_id is None
    (row,) = _stat_rows(app)
    assert row.outcome == "no_action" and row.reported_month == utcnow().replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)  # no date any more: the report's month


def _seed(app, reporter, outcomes: dict[tuple[str, str, bool], int]) -> None:
    for (platform, outcome, consent), number in outcomes.items():
        for _ in range(number):
            reporter.submit(stats_consent="y" if consent else None,
                            **_reported(platform=platform, outcome=outcome))
    with app.app_context():
        db.session.execute(update(Report).values(possible_flood=False))  # one client looks like a flood
        db.session.commit()


def test_statistics_count_consenting_reports_and_hide_small_cells(app, reporter, client, make_staff, login):
    _seed(app, reporter, {("telegram", "removed", True): 5, ("telegram", "pending", True): 5,
                          ("telegram", "removed", False): 3, ("vk", "removed", True): 2})
    login(client, make_staff(role="auditor"))
    rows = list(csv.DictReader(io.StringIO(client.get("/stats/export.csv").get_data(as_text=True))))
    cell = {(r["figure"], r["row"], r["column"]): r["value"] for r in rows}
    assert cell[("platform_responses_telegram", "removed", "GE")] == "5"  # not the 3 without consent
    assert cell[("platform_responses_telegram", "total", "total")] == "10"
    assert cell[("platform_responses_vk", "removed", "GE")] == "suppressed"
    assert cell[("platform_responses_vk", "total", "total")] == "suppressed"
    page = client.get("/stats").get_data(as_text=True)
    table = page.split('id="table-platform-responses"')[1].split("</table>")[0]
    assert "Telegram" in table and "50 %" in table and "<td>10</td>" in table
    assert "VK" in table and "<td>2</td>" not in table
