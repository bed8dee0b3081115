"""Helpers for the routing and triage tests: keys, rules, cases and raw storage, made the real way.

Staff come from tests.staffing (enrolled through the real flow); a person's private key is unwrapped
here from their password exactly as the login step does, so a test can open a seal with the key only
that person holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.orm import Session

from reporter import vault
from reporter.crypto import wrapping
from reporter.extensions import db
from reporter.models import AuditEvent, Report, RoutingRule, RoutingRuleMember, Seal, StaffMember
from reporter.models.base import utcnow
from reporter.models.routing import ANY
from tests.staffing import StaffAccount

RECEIPT_PATTERN = re.compile(r'id="receipt"[^>]*>([^<]+)<')


@contextmanager
def writing(app: Flask) -> Iterator[Session]:
    """Yield a write session of `app` outside any request."""
    with app.app_context(), db.writing() as session:
        yield session


def private_key_of(app: Flask, account: StaffAccount) -> bytes:
    """Return a person's private key, unwrapped from their password (what their login unlocks)."""
    with writing(app) as session:
        person = session.get(StaffMember, account.id)
        assert person is not None and person.key_pw_params and person.key_pw_salt and person.private_key_pw_ct
        params = wrapping.KdfParams.decode(person.key_pw_params)
        key = wrapping.password_key(account.password, salt=person.key_pw_salt, params=params)
        return wrapping.unwrap(key, person.private_key_pw_ct, staff_id=person.id,
                               column=wrapping.PASSWORD_COLUMN)


def _update_person(app: Flask, account: StaffAccount, **columns: str) -> None:
    with writing(app) as session:
        person = session.get(StaffMember, account.id)
        assert person is not None
        for name, value in columns.items():
            setattr(person, name, value)
        session.commit()


def set_display_name(app: Flask, account: StaffAccount, name: str) -> None:
    """Give a person the public name reporters see in the exclusion list."""
    _update_person(app, account, display_name=name)


def set_state(app: Flask, account: StaffAccount, state: str) -> None:
    """Put a person in `state` directly (suspension has no flow yet)."""
    _update_person(app, account, state=state)


def add_rule(app: Flask, country: str, members: list[StaffAccount], *, category: str = ANY,
             language: str = ANY) -> str:
    """Store a routing rule through the ORM, which signs it (save_rule's own checks are tested on their
    own); return its id."""
    with writing(app) as session:
        rule = RoutingRule(country=country, category=category, language=language, created_at=utcnow())
        session.add(rule)
        session.flush()
        rule.members = [RoutingRuleMember(rule_id=rule.id, staff_id=m.id) for m in members]
        session.commit()
        return rule.id


def add_member(app: Flask, rule_id: str, account: StaffAccount) -> None:
    """Add a person to a rule through the ORM, as saving the rule does (it is signed again)."""
    with writing(app) as session:
        rule = session.get(RoutingRule, rule_id)
        assert rule is not None
        rule.members = [*rule.members, RoutingRuleMember(rule_id=rule_id, staff_id=account.id)]
        session.commit()


def report_ids(app: Flask) -> set[str]:
    """Return the ids of every stored report."""
    with writing(app) as session:
        return set(session.scalars(select(Report.id)))


def submit(reporter: Any, **fields: Any) -> tuple[str, str]:
    """Submit the report form; return (receipt, report id) of the stored report."""
    before = report_ids(reporter.client.application)
    response = reporter.submit(**fields)
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    (report_id,) = report_ids(reporter.client.application) - before
    return reporter.receipt_of(response), report_id


def holders_of(app: Flask, report_id: str) -> set[str]:
    """Return the ids of the staff members holding a seal of the report."""
    with writing(app) as session:
        return set(session.scalars(select(Seal.recipient_id).where(
            Seal.report_id == report_id, Seal.recipient_kind == "staff")))


def open_fields(app: Flask, report_id: str, account: StaffAccount, private_key: bytes) -> dict[str, str]:
    """Open the person's own seal of a report with their private key and decrypt its fields."""
    with writing(app) as session:
        seal = session.scalars(select(Seal).where(Seal.report_id == report_id, Seal.recipient_kind == "staff",
                                                  Seal.recipient_id == account.id)).one()
        report = session.get(Report, report_id)
        assert report is not None
        return vault.open_report_fields(report, vault.open_public_key_seal(seal, private_key))


def events(app: Flask, action: str | None = None, object_id: str | None = None) -> list[AuditEvent]:
    """Return the audit events, oldest first, optionally of one action and object."""
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    with writing(app) as session:
        found = list(session.scalars(query))
        for event in found:
            session.expunge(event)
        return found


def count(app: Flask, model: Any) -> int:
    """Return how many rows a table holds."""
    with writing(app) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def report_row(app: Flask, report_id: str) -> Report:
    """Return a report's stored row (detached)."""
    with writing(app) as session:
        report = session.get(Report, report_id)
        assert report is not None
        session.expunge(report)
        return report


def update_report(app: Flask, report_id: str, **values: Any) -> None:
    """Change a report's columns directly (a test's shortcut to a state)."""
    with writing(app) as session:
        report = session.get(Report, report_id)
        assert report is not None
        for name, value in values.items():
            setattr(report, name, value)
        session.commit()


def _cell(value: object) -> bytes:
    return bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()


def raw_storage(backend: str, instance_path: Path, database_url: str) -> bytes:
    """Return everything the database keeps at rest, raw: the SQLite files, or every PostgreSQL cell."""
    if backend == "sqlite":
        return b"".join(path.read_bytes() for path in sorted(instance_path.glob("reporter.db*")))
    engine = create_engine(database_url)
    cells: list[bytes] = []
    try:
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - catalogue names
                    cells.extend(_cell(value) for value in row)
    finally:
        engine.dispose()
    return b"\n".join(cells)
