"""How record() builds the chain and its canonical form; tampering by insiders is in test_audit_chain.py."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from reporter.audit import chain
from reporter.audit.chain import Actor, ChainBroken
from reporter.extensions import db
from reporter.models import AuditEvent, AuditHead

OFFICER = Actor("focal_point", "f" * 32)
INJECTIONS = [
    "line\nbreak",
    "carriage\rreturn\r\n",
    "\x1b[2J\x1b[31mred\x1b[0m",
    '"}, {"action":"login_ok',
    '"],["reporter/audit/v1",2,"x"]',
    "nul\x00byte",
    "line\u2028separator\u2029",
    "Пётр <script>",
]


def _record(app, *events: dict[str, Any]) -> None:
    with app.app_context(), db.writing() as session:
        for fields in events:
            chain.record(session, **{"actor": OFFICER, "action": "case.viewed", **fields})
        session.commit()


def _stored(app) -> list[AuditEvent]:
    with app.app_context(), db.writing() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _verify(app) -> chain.Verified:
    with app.app_context(), db.writing() as session:
        return chain.verify_chain(session, app.extensions["reporter.keyring"].audit_signing_key.public_key())


def test_empty_chain_verifies_with_no_events(app):
    assert _verify(app) == chain.Verified(events=0, last_checkpoint=0)


def test_each_event_hashes_its_predecessor_from_genesis(app):
    _record(app, *({"object_type": "report", "object_id": f"r{n}", "detail": {"n": n}} for n in range(4)))
    events = _stored(app)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    previous = chain.GENESIS_HASH
    for event in events:
        assert event.prev_hash == previous
        assert event.hash == chain.chain_hash(previous, chain.content_of(event))
        previous = event.hash
    with app.app_context(), db.writing() as session:
        head = session.get(AuditHead, 1)
        assert head is not None and (head.seq, head.hash) == (4, previous)


def test_recorded_fields_are_stored_as_given(app):
    at = datetime(2026, 3, 8, 9, 30, 15, 123456)
    _record(app, {"action": "case.triaged", "object_type": "report", "object_id": "r1",
                  "detail": {"status": "assessing", "risk": "high"}, "at": at})
    event = _stored(app)[0]
    assert (event.at, event.actor_id, event.actor_role) == (at, "f" * 32, "focal_point")
    assert event.action == "case.triaged"
    assert (event.object_type, event.object_id) == ("report", "r1")
    assert event.detail == '{"risk":"high","status":"assessing"}'


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor_role", "auditor"), ("object_type", "staff"), ("object_id", "r9"), ("at", "2020-01-01 00:00:00")],
)
def test_changing_any_other_column_breaks_the_chain_at_that_event(app, backend, column, value):
    _record(app, *({"object_type": "report", "object_id": f"r{n}"} for n in range(3)))
    assert db.engine is not None
    with db.engine.begin() as connection:
        if backend == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
        statement = f"UPDATE audit_events SET {column} = :value WHERE seq = 2"  # noqa: S608 - a fixed column
        connection.execute(text(statement), {"value": value})
    with pytest.raises(ChainBroken) as broken:
        _verify(app)
    assert broken.value.seq == 2


def test_head_that_no_longer_matches_the_last_event_is_caught(app):
    _record(app, {}, {})
    assert db.engine is not None
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_head SET seq = 3"))
    with pytest.raises(ChainBroken) as broken:
        _verify(app)
    assert broken.value.seq == 3


@pytest.mark.parametrize("value", INJECTIONS)
def test_injected_detail_is_stored_as_escaped_ascii_and_verifies(app, value):
    _record(app, {"action": "staff.login_failed", "detail": {"email": value, value: "key"}})
    event = _stored(app)[0]
    assert event.detail.isascii() and event.detail.isprintable()
    assert json.loads(event.detail) == {"email": value, value: "key"}
    assert _verify(app).events == 1


@pytest.mark.parametrize("value", [v for v in INJECTIONS if "\x00" not in v])
def test_injected_actor_and_object_ids_are_data_and_verify(app, value):
    _record(app, {"actor": Actor("admin", value), "object_type": "staff", "object_id": value})
    event = _stored(app)[0]
    assert (event.actor_id, event.object_id) == (value, value)
    content = chain.content_of(event)
    assert content.isascii() and b"\n" not in content and b"\x1b" not in content
    assert _verify(app).events == 1


def test_canonical_form_cannot_be_forged_by_shifting_text_between_fields():
    at = datetime(2026, 1, 1)
    honest = chain.canonical(1, at, "a", "admin", "login", None, None, "{}")
    shifted = chain.canonical(1, at, 'a","admin', "login", None, None, None, "{}")
    assert honest != shifted
    assert json.loads(honest)[3:6] == ["a", "admin", "login"]


def test_an_event_whose_transaction_rolls_back_leaves_the_head_untouched(app):
    _record(app, {})
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=OFFICER, action="case.viewed")
        session.rollback()
    _record(app, {})
    assert [e.seq for e in _stored(app)] == [1, 2]
    assert _verify(app).events == 2
