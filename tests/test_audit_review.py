"""Auditors find events by actor, action, object and time, page through them, and export them."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from reporter.audit import chain, review
from reporter.audit.chain import Actor
from reporter.audit.review import EventFilter
from reporter.extensions import db

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


def test_csv_export_neutralises_spreadsheet_formulas(app):
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=Actor("admin", "=HYPERLINK(\"http://evil\")"),
                     action="staff.login_failed", detail={"note": "+cmd"})
        session.commit()
        text = "".join(review.to_csv(review.iter_events(session, EventFilter())))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(review.CSV_COLUMNS)
    assert rows[1][2].startswith("'=")
