"""The auditor's workspace over HTTP: the log, its filters, verification, exports, access reports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from reporter.audit import chain
from reporter.audit.chain import Actor
from reporter.cli import main
from reporter.extensions import db
from reporter.models import AuditEvent, StaffMember

ALICE = Actor("focal_point", "a" * 32)
BOB = Actor("coordinator", "b" * 32)
START = datetime(2026, 3, 1, 12, 0)
ROW_SEQ = re.compile(r'<th scope="row">(\d+)</th>')
CASE = "c" * 32
FAKE_JSON = '"},{"forged":true}\n\x1b[31m<script>x</script>'



def seed(app, count: int = 120) -> None:
    """Append `count` test events a minute apart: alternating actors, every third about CASE."""
    with app.app_context(), db.writing() as session:
        for number in range(count):
            chain.record(session, actor=ALICE if number % 2 else BOB, action="test.poked",
                         object_type="report", object_id=CASE if number % 3 == 0 else f"other-{number}",
                         detail={"n": number}, at=START + timedelta(minutes=number))
        session.commit()


def seqs(response) -> list[int]:
    """Return the seq of every event row on a page, in page order."""
    return [int(seq) for seq in ROW_SEQ.findall(response.get_data(as_text=True))]


def rewrite_detail(app, backend: str, seq: int, detail: str = '{"rewritten":true}') -> None:
    """Change one event's detail with raw SQL as an insider would, the append-only trigger off."""
    with app.app_context():
        assert db.engine is not None
        with db.engine.begin() as connection:
            if backend == "postgresql":
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                connection.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            connection.execute(text("UPDATE audit_events SET detail = :detail WHERE seq = :seq"),
                               {"detail": detail, "seq": seq})


@pytest.fixture
def auditor(app, client, make_staff, login):
    """Return a client logged in as an auditor (after the staff the directory makes)."""
    person = make_staff(role="auditor")
    login(client, person)
    client.person = person
    return client


def test_auditor_sees_events_newest_first_fifty_a_page_with_keyset_paging(app, auditor):
    seed(app)
    first = auditor.get("/audit?action=test.poked")
    assert first.status_code == 200
    page = seqs(first)
    assert len(page) == 50 and page == sorted(page, reverse=True)
    seen = page
    next_link = re.search(r'href="([^"]+)" rel="next"', first.get_data(as_text=True))
    while next_link:
        assert "before=" in next_link.group(1) and "action=test.poked" in next_link.group(1)
        response = auditor.get(next_link.group(1).replace("&amp;", "&"))
        assert response.status_code == 200
        seen += seqs(response)
        next_link = re.search(r'href="([^"]+)" rel="next"', response.get_data(as_text=True))
    assert len(seen) == 120 and seen == sorted(seen, reverse=True) and len(set(seen)) == 120


def test_unfiltered_first_page_starts_with_the_newest_event(app, auditor):
    seed(app, 10)
    with app.app_context():
        newest = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())).first()
    assert seqs(auditor.get("/audit"))[0] == newest


@pytest.mark.parametrize(("query", "expected"), [
    (f"actor={ALICE.id}", 60),
    ("action=test.poked", 120),
    (f"object={CASE}", 40),
    ("action=test.poked&since=2026-03-01T13:00", 60),  # minutes 60..119
    ("action=test.poked&until=2026-03-01T12:09", 10),  # minutes 0..9: the minute named is included
    ("action=test.poked&since=2026-03-01&until=2026-03-01", 120),  # the whole day
    ("action=test.poked&until=2026-02-28", 0),
    (f"actor={ALICE.id}&object={CASE}&since=2026-03-01T12:30", 15),
    ("action=no.such.action", 0),
])
def test_each_filter_narrows_the_events(app, auditor, query, expected):
    seed(app)
    matched = []
    url: str | None = "/audit?" + query
    while url:
        response = auditor.get(url)
        assert response.status_code == 200
        matched += seqs(response)
        link = re.search(r'href="([^"]+)" rel="next"', response.get_data(as_text=True))
        url = link.group(1).replace("&amp;", "&") if link else None
    assert len(matched) == expected
    if expected == 0:
        assert "No events match these filters." in response.get_data(as_text=True)


@pytest.mark.parametrize(("query", "message"), [
    ("since=yesterday", "YYYY-MM-DD"),
    ("since=2026-13-01", "YYYY-MM-DD"),
    ("until=2026-02-30", "YYYY-MM-DD"),
    ("until=9999-12-31", "YYYY-MM-DD"),  # the day after does not exist
    ("since=2026-3-1", "YYYY-MM-DD"),
    ("since=2026-03-01T25:00", "YYYY-MM-DD"),
    ("since=2026-03-02&until=2026-03-01", "must come after its start"),
    ("before=abc", "page link is not valid"),
    ("before=-5", "page link is not valid"),
    ("actor=%00", "control characters"),
    ("object=a%0Ab", "control characters"),
    ("action=" + "x" * 65, "at most 64 characters"),
])
@pytest.mark.parametrize("path", ["/audit", "/audit/export.csv"])
def test_malformed_filters_answer_400_with_a_message(app, auditor, path, query, message):
    response = auditor.get(f"{path}?{query}")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'id="filter-errors"' in body and message in body
    assert response.mimetype == "text/html"


def test_hostile_values_are_shown_escaped_and_never_break_the_table(app, auditor):
    hostile = Actor("focal_point", 'x\n<script>alert(1)</script>\x1b[2J"}')
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=hostile, action="test.hostile\r\nstaff.login", object_type="report",
                     object_id="<b>c</b>\u202e", detail={"note": FAKE_JSON})
        session.commit()
    response = auditor.get("/audit")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>" not in body and "<b>" not in body and "\x1b" not in body and "\u202e" not in body
    assert "x\\n&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J&#34;}" in body  # the actor, repr-like
    assert "test.hostile\\r\\nstaff.login" in body
    assert "&lt;b&gt;c&lt;/b&gt;\\u202e" in body
    detail = chain.encode_detail({"note": FAKE_JSON})
    assert "\\n" in detail and "\\u001b" in detail
    assert detail.replace('"', "&#34;").replace("<", "&lt;").replace(">", "&gt;") in body
    table = body[body.index('id="audit-events"'):body.index("</table>")]
    assert table.count("<tr>") == len(seqs(response)) + 1  # the header row, then one row per event
    hostile_row = table.split("<tbody>")[1].split("</tr>")[0]
    assert hostile_row.count("<td") == 6 and hostile_row.count("</td>") == 6  # seq header + six cells


def test_verify_shows_intact_then_broken_at_the_tampered_seq(app, auditor, backend):
    seed(app, 6)
    page = auditor.get("/audit/verify").get_data(as_text=True)
    assert re.search(r'id="chain-status"[^>]*>intact<', page)
    with app.app_context():
        key = app.extensions["reporter.keyring"].audit_signing_key.public_key()
        count = chain.verify_chain(db.session, key).events
    assert f'id="event-count">{count}<' in page and chain.key_id(key) in page
    assert 'id="last-checkpoint">1<' in page
    target = count - 2
    rewrite_detail(app, backend, target)
    response = auditor.get("/audit/verify")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(rf'id="chain-status"[^>]*>broken at {target}<', page)
    assert "hash does not match" in page


def test_csv_export_is_audited_before_it_streams_and_neutralises_formulas(app, auditor):
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=ALICE, action="test.formula", object_type="report",
                     object_id="=HYPERLINK(\"http://evil\")", detail={"x": 1})
        session.commit()
    response = auditor.get("/audit/export.csv")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="audit-\d{8}T\d{6}Z\.csv"', disposition)
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    formula = next(row for row in rows if row["action"] == "test.formula")
    assert formula["object_id"] == "'=HYPERLINK(\"http://evil\")"
    exported = rows[-1]  # committed before the body streamed, so an unfiltered export includes itself
    assert exported["action"] == "audit.exported" and exported["actor_id"] == auditor.person.id
    assert json.loads(exported["detail"]) == {"actor": None, "action": None, "object_id": None, "since": None,
                                              "until": None}
    assert [int(row["seq"]) for row in rows] == sorted(int(row["seq"]) for row in rows)


def test_filtered_csv_export_records_the_filter_and_holds_only_matches(app, auditor):
    seed(app, 30)
    response = auditor.get(f"/audit/export.csv?object={CASE}&since=2026-03-01T12:10&until=2026-03-01")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows and {row["object_id"] for row in rows} == {CASE}
    assert [row["at"][11:16] for row in rows] == ["12:12", "12:15", "12:18", "12:21", "12:24", "12:27"]
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.exported")).one()
    assert event.actor_id == auditor.person.id and event.actor_role == "auditor"
    assert json.loads(event.detail) == {"actor": None, "action": None, "object_id": CASE,
                                        "since": "2026-03-01T12:10:00", "until": "2026-03-02T00:00:00"}


def test_head_download_round_trips_through_the_cli(app, auditor, tmp_path, instance_path, database_url,
                                                   backend):
    seed(app, 5)
    response = auditor.get("/audit/head")
    assert response.status_code == 200 and response.mimetype == "application/json"
    head = json.loads(response.get_data(as_text=True))
    assert response.headers["Content-Disposition"] == f'attachment; filename="audit-head-{head["seq"]}.json"'
    with app.app_context():
        event = db.session.get(AuditEvent, head["seq"])
        assert event is not None and event.action == "audit.head_exported"
        assert event.actor_id == auditor.person.id
    saved = tmp_path / "head.json"
    saved.write_bytes(response.get_data())
    environment = {"REPORTER_INSTANCE_PATH": str(instance_path), "REPORTER_DATABASE_URL": database_url}
    seed(app, 3)  # the log grows after the saved head: still fine
    result = CliRunner().invoke(main, ["audit", "verify", "--against", str(saved)], env=environment)
    assert result.exit_code == 0, result.output
    assert "1 saved head(s) still in the log" in result.output
    rewrite_detail(app, backend, head["seq"])
    result = CliRunner().invoke(main, ["audit", "verify", "--against", str(saved)], env=environment)
    assert result.exit_code == 1 and f"broken at seq {head['seq']}" in result.output


def test_access_report_lists_every_event_about_one_case_and_nothing_else(app, auditor):
    seed(app, 12)
    response = auditor.get(f"/audit/cases/{CASE}")
    assert response.status_code == 200
    assert len(seqs(response)) == 4
    body = response.get_data(as_text=True)
    assert "other-" not in body and ALICE.id in body and BOB.id in body
    assert seqs(response) == sorted(seqs(response))  # oldest first: the story of the case


def test_each_report_row_of_the_log_links_to_its_access_report(app, auditor):
    seed(app, 3)
    body = auditor.get("/audit?action=test.poked").get_data(as_text=True)
    assert body.count(f'href="/audit/cases/{CASE}"') == 1
    assert 'href="/audit/cases/other-1"' in body


@pytest.mark.parametrize("report_id", ["0" * 32, "no-such-case"])
def test_an_id_without_events_shows_an_empty_report(auditor, report_id):
    response = auditor.get(f"/audit/cases/{report_id}")
    assert response.status_code == 200 and 'id="no-events"' in response.get_data(as_text=True)


@pytest.mark.parametrize("report_id", ["x" * 65, "a%00b", "a%1Bb"])
def test_an_id_that_cannot_name_a_case_is_not_found(auditor, report_id):
    assert auditor.get(f"/audit/cases/{report_id}").status_code == 404


def test_staff_home_links_auditors_to_the_audit_log(auditor):
    body = auditor.get("/staff/").get_data(as_text=True)
    assert 'id="audit-workspace"' in body and 'href="/audit"' in body


@pytest.mark.parametrize("role", ["focal_point", "coordinator", "admin"])
def test_other_roles_get_403_on_every_audit_page_and_no_link(client, make_staff, login, role):
    login(client, make_staff(role=role))
    for path in ("/audit", "/audit/verify", "/audit/export.csv", "/audit/head", f"/audit/cases/{CASE}"):
        assert client.get(path).status_code == 403, path
    assert 'href="/audit"' not in client.get("/staff/").get_data(as_text=True)


def test_auditors_get_403_on_staff_administration(auditor, make_staff):
    target = make_staff(role="focal_point", state="enrolled")
    assert auditor.get("/staff/users").status_code == 403
    assert auditor.get(f"/staff/users/{target.id}/vet").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/audit/export.csv")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login?next=")


def test_viewing_the_log_writes_no_event(app, auditor):
    seed(app, 3)
    with app.app_context():
        before = db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    for path in ("/audit", "/audit/verify", f"/audit/cases/{CASE}"):
        auditor.get(path)
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) == before


# Reading the log: names, sentences, labelled details, the action list, one person's events ----------

def name_person(app, account, name: str) -> None:
    """Give a staff member a public name through the application (their record is signed again)."""
    with app.app_context(), db.writing() as session:
        session.get(StaffMember, account.id).display_name = name
        session.commit()


def test_names_and_roles_stand_next_to_ids_and_link_to_the_person(app, auditor, make_staff):
    officer = make_staff(role="focal_point")
    name_person(app, officer, "Nino Beridze")
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=Actor("focal_point", officer.id), action="case.viewed",
                     object_type="report", object_id=CASE)
        session.commit()
    body = auditor.get("/audit?action=case.viewed").get_data(as_text=True)
    row = body.split("<tbody>")[1].split("</tr>")[0]
    assert f'href="/audit?actor={officer.id}">Nino Beridze</a>' in row
    assert f'title="{officer.id}">{officer.id[:8]}…</code>' in row and "Focal point" in row
    assert f"Opened case {CASE[:8]}…" in row


def test_each_written_action_reads_as_its_sentence_and_an_unknown_one_as_its_code(app, auditor):
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=ALICE, action="case.status_changed", object_type="report", object_id=CASE,
                     detail={"from": "new", "to": "assessing"})
        chain.record(session, actor=ALICE, action="staff.login", object_type="staff", object_id=ALICE.id)
        chain.record(session, actor=BOB, action="case.referred", object_type="report", object_id=CASE,
                     detail={"to": ALICE.id, "reason": "language"})
        chain.record(session, actor=BOB, action="made.up_action")
        session.commit()
    body = auditor.get("/audit").get_data(as_text=True)
    assert f"Changed the status of case {CASE[:8]}… from New to Assessing" in body
    assert "<td>Logged in</td>" in body
    assert f"Re-sealed case {CASE[:8]}… to {ALICE.id[:8]}…" in body
    assert "<td><code>made.up_action</code></td>" in body
    assert "Not in the staff directory" in body


def test_the_detail_is_a_list_of_labelled_values_with_the_stored_event_beside_it(app, auditor):
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=BOB, action="case.routed", object_type="report", object_id=CASE,
                     detail={"added": [ALICE.id, BOB.id], "reason": "holder offboarded", "odd_key": True})
        session.commit()
    body = auditor.get("/audit?action=case.routed").get_data(as_text=True)
    cell = body.split("<tbody>")[1].split("</tr>")[0]
    listing = cell[cell.index('<dl class="detail-list">'):cell.index("</dl>")]
    assert "<dt>Sealed to</dt>" in listing and "<dt>Reason</dt>" in listing
    assert "<dt><code>odd_key</code></dt>" in listing and "<dd>Yes</dd>" in listing
    assert f'title="{ALICE.id}">{ALICE.id[:8]}…</code>, <code class="id" title="{BOB.id}">' in listing
    assert "{" not in listing  # no JSON in the readable part
    stored = cell[cell.index('<details class="stored">'):]
    assert "&#34;added&#34;" in stored and ALICE.id in stored


def test_a_detail_that_is_not_json_is_said_to_be_so(app, auditor, backend):
    seed(app, 2)
    with app.app_context():
        seq = db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    rewrite_detail(app, backend, seq, "not json")
    body = auditor.get("/audit").get_data(as_text=True)
    assert "The detail is not readable JSON." in body and "not json" in body


def test_the_action_filter_is_a_list_of_the_actions_in_the_log(app, auditor):
    seed(app, 3)
    body = auditor.get("/audit?action=case.viewed").get_data(as_text=True)
    select_html = body[body.index('<select id="action" name="action">'):body.index("</select>")]
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select_html)
    values = [value for value, _selected, _label in options]
    assert values[0] == "" and "test.poked" in values and "staff.login" in values
    assert ("case.viewed", " selected", "Opened case …") in options  # chosen, though not in the log
    assert ("staff.login", "", "Logged in") in options
    assert len(values) == len(set(values))


def test_the_per_person_view_shows_everything_one_person_did_in_a_period(app, auditor, make_staff):
    officer = make_staff(role="coordinator")
    name_person(app, officer, "Ani Petrosyan")
    with app.app_context(), db.writing() as session:
        for minute in range(6):
            chain.record(session, actor=Actor("coordinator", officer.id), action="case.viewed",
                         object_type="report", object_id=CASE, at=START + timedelta(minutes=minute))
        session.commit()
    seed(app, 4)
    response = auditor.get(f"/audit?actor={officer.id}&since=2026-03-01T12:02&until=2026-03-01T12:04")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<h2 id="person-heading">Everything Ani Petrosyan did</h2>' in body
    assert 'id="person-role">Coordinator<' in body and f'id="person-email">{officer.email}<' in body
    assert 'id="person-period">2026-03-01T12:02 – 2026-03-01T12:04<' in body
    assert len(seqs(response)) == 3
    assert f'href="/audit?actor={officer.id}&amp;since=2026-03-01T12:02&amp;until=2026-03-01T12:04"' in body


def test_a_tampered_staff_record_is_shown_as_such_and_never_names_anyone(app, auditor, make_staff):
    officer = make_staff(role="focal_point")
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=Actor("focal_point", officer.id), action="case.viewed",
                     object_type="report", object_id=CASE)
        session.commit()
    with app.app_context():
        assert db.engine is not None
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE staff_members SET display_name = 'Someone Else' WHERE id = :id"),
                               {"id": officer.id})
        before = db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    log = auditor.get("/audit?action=case.viewed").get_data(as_text=True)
    person = auditor.get(f"/audit?actor={officer.id}").get_data(as_text=True)
    for body in (log, person):
        assert "Someone Else" not in body and officer.email not in body
    assert "Staff record does not verify" in log
    assert 'id="person-record" class="flag">This staff record does not verify' in person
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) == before


def test_the_csv_export_holds_readable_columns_beside_the_raw_ones(app, auditor, make_staff):
    officer = make_staff(role="focal_point")
    name_person(app, officer, '=HYPERLINK("http://evil")')
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=Actor("focal_point", officer.id), action="case.risk_changed",
                     object_type="report", object_id=CASE, detail={"from": "unknown", "to": "high"})
        session.commit()
    response = auditor.get("/audit/export.csv?action=case.risk_changed")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert len(rows) == 1
    row = rows[0]
    assert row["actor_id"] == officer.id and row["action"] == "case.risk_changed"
    assert row["actor_name"] == "'=HYPERLINK(\"http://evil\")" and row["actor_role_name"] == "Focal point"
    assert row["action_sentence"] == f"Changed the risk of case {CASE[:8]}… from Not assessed to High"
    assert row["detail_text"] == "From: Not assessed; To: High"
    assert json.loads(row["detail"]) == {"from": "unknown", "to": "high"}
