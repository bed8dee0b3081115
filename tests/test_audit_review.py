"""Auditors find events by actor, action, object and time, page through them, and export them."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from reporter.audit import chain, people, review
from reporter.audit.chain import Actor
from reporter.audit.review import EventFilter
from reporter.extensions import db
from reporter.models import AuditEvent, StaffMember

ALICE = Actor("focal_point", "alice")
BOB = Actor("coordinator", "bob")
START = datetime(2026, 1, 1, 12, 0)


def _seed(app) -> None:
    with app.app_context(), db.writing() as session:
        for number in range(120):
            actor = ALICE if number % 2 else BOB
            action = "case.viewed" if number % 3 else "case.status_changed"
            chain.record(session, actor=actor, action=action, object_type="report",
                         object_id=f"case-{number % 4}", at=START + timedelta(minutes=number))
        session.commit()


def test_pages_are_newest_first_and_chain_without_gaps(app):
    _seed(app)
    with app.app_context(), db.writing() as session:
        seen, before = [], None
        while page := review.find_events(session, EventFilter(), before_seq=before, limit=50):
            seen.extend(event.seq for event in page)
            before = page[-1].seq
    assert seen == list(range(120, 0, -1))


def test_filters_combine(app):
    _seed(app)
    flt = EventFilter(actor="alice", action="case.viewed", object_id="case-1",
                      since=START + timedelta(minutes=10), until=START + timedelta(minutes=60))
    with app.app_context(), db.writing() as session:
        events = review.find_events(session, flt, limit=1000)
    assert events
    for event in events:
        assert (event.actor_id, event.action, event.object_id) == ("alice", "case.viewed", "case-1")
        assert START + timedelta(minutes=10) <= event.at < START + timedelta(minutes=60)


def test_access_report_lists_every_event_of_one_case_in_order(app):
    _seed(app)
    with app.app_context(), db.writing() as session:
        events = review.access_report(session, "case-2")
    assert [event.seq for event in events] == sorted(event.seq for event in events)
    assert len(events) == 30 and {event.object_id for event in events} == {"case-2"}


FORMULAS = ("=HYPERLINK(\"http://evil\")", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx")


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_export_neutralises_spreadsheet_formulas(app, formula):
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=Actor("admin", formula), action=formula, object_id=formula,
                     detail={"note": "+cmd"})
        session.commit()
        text = "".join(review.to_csv(review.iter_events(session, EventFilter())))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(review.CSV_COLUMNS)
    columns = list(review.CSV_COLUMNS)
    for name in ("actor_id", "action", "object_id"):
        assert rows[1][columns.index(name)] == "'" + formula


@pytest.mark.parametrize("formula", FORMULAS)
def test_readable_csv_columns_sit_beside_the_raw_ones_and_are_neutralised_too(app, formula):
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=ALICE, action="case.viewed", object_type="report", object_id="case-1")
        session.commit()
        events = list(review.iter_events(session, EventFilter()))
    lines = "".join(review.to_csv(events, lambda event: [formula, "plain", event.action, "x: 1"]))
    rows = list(csv.reader(io.StringIO(lines, newline="")))
    assert rows[0] == [*review.CSV_COLUMNS, *review.READABLE_COLUMNS]
    readable = dict(zip(rows[0], rows[1], strict=True))
    assert readable["actor_name"] == "'" + formula and readable["actor_role_name"] == "plain"
    assert readable["action_sentence"] == "case.viewed" and readable["action"] == "case.viewed"


def test_the_action_list_holds_each_action_in_the_log_once(app):
    _seed(app)
    with app.app_context(), db.writing() as session:
        assert review.actions_in_log(session) == ["case.status_changed", "case.viewed"]
        chain.record(session, actor=BOB, action="audit.exported")
        session.commit()
        assert review.actions_in_log(session) == ["audit.exported", "case.status_changed", "case.viewed"]


def test_an_empty_log_has_no_actions(app):
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        actions = review.actions_in_log(db.session)
    assert set(actions) <= {"instance.initialised"}  # whatever setting up the test database wrote


def test_people_are_named_only_from_records_that_verify_and_reading_writes_nothing(app, make_staff):
    honest, tampered = make_staff(role="coordinator"), make_staff(role="focal_point")
    with app.app_context(), db.writing() as session:
        person = session.get(StaffMember, honest.id)
        person.display_name = "Nino Beridze"
        session.commit()
    with app.app_context():
        assert db.engine is not None
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE staff_members SET display_name = 'Trusted Name', "
                                    "role = 'auditor' WHERE id = :id"), {"id": tampered.id})
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        found = people.people_named(db.session, [honest.id, tampered.id, "not-staff", None])
        everyone = people.everyone(db.session)
        after = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert found[honest.id] == people.Person(honest.id, True, "Nino Beridze", honest.email, "coordinator")
    assert found[honest.id].label == "Nino Beridze"
    assert found[tampered.id] == people.Person(tampered.id, False)
    assert found[tampered.id].label is None
    assert "not-staff" not in found
    assert everyone[honest.id] == found[honest.id] and everyone[tampered.id] == found[tampered.id]
    assert before == after


def test_a_person_without_a_public_name_is_named_by_e_mail(app, make_staff):
    account = make_staff(role="auditor")
    with app.app_context():
        assert people.people_named(db.session, [account.id])[account.id].label == account.email
