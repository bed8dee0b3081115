"""Staff intake: a report entered for someone who called or came in, through the reporter's pipeline."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from reporter.models import Report, Seal
from tests.casework import events, holders_of, open_fields, private_key_of, raw_storage, report_ids, writing
from tests.conftest import VALID_REPORT, Reporter, csrf_token_of
from tests.staffing import StaffAccount

CANARY = "Called the office: CANARY-INTAKE-5f1e was shouted at her outside the court."
NAME = "Nino Officer"


def enter(client: Any, **fields: Any) -> Any:
    """Post the staff intake form with VALID_REPORT overridden by `fields` (None removes a field)."""
    token = csrf_token_of(client.get("/staff/intake").get_data(as_text=True))
    data = {**VALID_REPORT, "description": CANARY, **fields, "csrf_token": token}
    return client.post("/staff/intake", data={k: v for k, v in data.items() if v is not None})


def entered(app: Any, client: Any, **fields: Any) -> tuple[str, str, str]:
    """Enter a report; return (receipt, report id, the receipt page)."""
    before = report_ids(app)
    response = enter(client, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:800]
    (report_id,) = report_ids(app) - before
    match = re.search(r'id="receipt"[^>]*>([^<]+)<', page)
    assert match
    return match.group(1).strip(), report_id, page


def staff_client(app: Any, login: Any, person: StaffAccount) -> Any:
    client = app.test_client()
    assert login(client, person).status_code == 302
    return client


def officer_of(app: Any, make_staff: Any) -> StaffAccount:
    from tests.casework import set_display_name

    officer = make_staff()
    set_display_name(app, officer, NAME)
    return officer


def test_an_officer_enters_a_report_through_the_same_pipeline(app, make_staff, staff_directory, login):
    officer = officer_of(app, make_staff)
    client = staff_client(app, login, officer)
    form = client.get("/staff/intake")
    assert form.status_code == 200
    assert "Ask the person and tick only what they agreed to." in form.get_data(as_text=True)
    receipt, report_id, page = entered(app, client)
    coordinator = staff_directory.coordinator
    # Routed as a reporter's report (the coordinator), and held by the officer who entered it.
    assert holders_of(app, report_id) == {coordinator.id, officer.id}
    with writing(app) as session:
        kinds = sorted(session.scalars(select(Seal.recipient_kind).where(Seal.report_id == report_id)))
        report = session.get(Report, report_id)
        assert report is not None
        assert (report.entered_by, report.possible_flood) == (officer.id, False) and report.deadline_at
    assert kinds == ["escrow", "reporter", "staff", "staff"]
    (submitted,) = events(app, "report.submitted", report_id)
    (marked,) = events(app, "report.entered_by_staff", report_id)
    assert submitted.detail and coordinator.id in submitted.detail and officer.id not in submitted.detail
    assert (marked.actor_role, marked.actor_id, marked.seq) == ("focal_point", officer.id, submitted.seq + 1)
    assert "CANARY" not in (marked.detail or "") and "CANARY" not in (submitted.detail or "")
    assert f'href="/staff/cases/{report_id}"' in page and 'id="handed-over"' in page
    fields = open_fields(app, report_id, officer, private_key_of(app, officer))
    assert fields["description"] == CANARY
    case = client.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    assert f"Entered by staff ({NAME})" in case and CANARY in case
    assert f"Entered by staff ({NAME})" in client.get("/staff/cases").get_data(as_text=True)
    other = staff_client(app, login, coordinator).get(f"/staff/cases/{report_id}").get_data(as_text=True)
    assert f"Entered by staff ({NAME})" in other


def test_the_receipt_is_shown_once_and_opens_the_case_for_the_person(app, make_staff, login, client):
    officer = make_staff()
    receipt, report_id, _ = entered(app, staff_client(app, login, officer))
    reporter = Reporter(client)
    assert reporter.follow_up(receipt).status_code == 302
    assert CANARY in client.get("/followup/case").get_data(as_text=True)


def test_the_receipt_page_is_not_cached_and_nothing_is_stored_in_plaintext(
        app, make_staff, login, backend, instance_path, database_url):
    response = enter(staff_client(app, login, make_staff()))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    receipt = re.search(r'id="receipt"[^>]*>([^<]+)<', response.get_data(as_text=True)).group(1).strip()
    stored = raw_storage(backend, instance_path, database_url)
    assert b"CANARY-INTAKE" not in stored and receipt.encode() not in stored
    assert receipt.replace("-", "").encode() not in stored


def test_the_persons_consent_is_stored_as_ticked(app, make_staff, login):
    client = staff_client(app, login, make_staff())
    _, counted, _ = entered(app, client, stats_consent="y")
    _, not_counted, _ = entered(app, client)
    with writing(app) as session:
        consent = dict(session.execute(select(Report.id, Report.stats_consent)).all())
    assert consent[counted] is True and consent[not_counted] is False
    refused = enter(client, consent=None)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Please confirm that the protection team may read" in text


def test_bad_input_gets_the_forms_errors_and_stores_nothing(app, make_staff, login):
    client = staff_client(app, login, make_staff())
    before = report_ids(app)
    empty = client.post("/staff/intake", data={"csrf_token": csrf_token_of(
        client.get("/staff/intake").get_data(as_text=True))})
    assert empty.status_code == 400 and "Please describe what happened." in empty.get_data(as_text=True)
    assert "Enter a report for someone" in empty.get_data(as_text=True)
    link = enter(client, incident_kind="online", **{"online-0-platform": "telegram",
                                                    "online-0-links": "javascript:alert(1)"})
    assert link.status_code == 400 and "start with http:// or https://" in link.get_data(as_text=True)
    assert enter(client, country="ZZ").status_code == 400
    assert enter(client, exclude="not-a-person").status_code == 400
    added = enter(client, add_online_row="1")
    assert added.status_code == 200 and 'id="online-1-platform"' in added.get_data(as_text=True)
    assert report_ids(app) == before and events(app, "report.entered_by_staff") == []


def test_an_officer_the_person_keeps_away_does_not_hold_the_case(app, make_staff, login):
    from tests.casework import add_rule

    officer = make_staff()
    add_rule(app, "GE", [officer])  # a focal point of Georgia: one the person may keep away
    client = staff_client(app, login, officer)
    _, report_id, page = entered(app, client, exclude=officer.id)
    assert officer.id not in holders_of(app, report_id)
    assert "does not open for you" in page and 'href="/staff/cases"' in page
    (marked,) = events(app, "report.entered_by_staff", report_id)
    assert marked.detail is not None and '"holds":false' in marked.detail.replace(" ", "")


def test_staff_are_not_held_to_the_reporters_flood_limits_but_to_their_own(app_factory, login):
    from tests.staffing import directory_of

    app = app_factory(REPORTER_SUBMIT_FLOOD_LIMIT="1 per hour", REPORTER_SUBMIT_GLOBAL_LIMIT="1 per hour",
                      REPORTER_STAFF_INTAKE_LIMIT="3 per hour")
    officer = directory_of(app).make()
    client = staff_client(app, login, officer)
    stored = [entered(app, client)[1] for _ in range(3)]
    with writing(app) as session:
        floods = set(session.scalars(select(Report.possible_flood).where(Report.id.in_(stored))))
    assert floods == {False}
    assert enter(client).status_code == 429
    other = staff_client(app, login, directory_of(app).make())
    assert enter(other).status_code == 200  # each person has a budget of their own


def test_an_insider_who_writes_entered_by_grants_nobody_the_case(app, make_staff, login):
    from sqlalchemy import text

    author, outsider = make_staff(), make_staff()
    _, report_id, _ = entered(app, staff_client(app, login, author))
    with writing(app) as session:  # an insider with SQL access names someone else as the entrant
        session.execute(text("UPDATE reports SET entered_by = :who WHERE id = :id"),
                        {"who": outsider.id, "id": report_id})
        session.commit()
    assert staff_client(app, login, outsider).get(f"/staff/cases/{report_id}").status_code == 404
    (marked,) = events(app, "report.entered_by_staff", report_id)
    assert marked.actor_id == author.id  # the hash-chained event keeps who really entered it
