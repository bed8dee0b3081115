"""State changes only by POST with a valid CSRF token from this site (ATTACKS.md B08, B09).

Both tests walk ``app.url_map``: a new route is covered without editing this file.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from reporter.extensions import db
from reporter.models import Base
from tests.security.test_authorization_matrix import (
    MATRIX,
    OK,
    ROLES,
    _path,
    _registered_rules,
    browser_as,
)

#: The one GET that changes a row: quick exit forgets the reporter's own unlocked case, like a logout
#: (a link from another site carries no SameSite=Strict cookie, so it can forget nothing). Tested in
#: tests/security/test_small_holes.py.
ENDS_ACCESS_ONLY = {"intake.quick_exit"}
#: The chain: events, its head, and the checkpoints that signing an event (/audit/head) inserts.
AUDIT_TABLES = ("audit_events", "audit_head", "audit_checkpoints")
UNAUDITED = [table for table in Base.metadata.sorted_tables if table.name not in AUDIT_TABLES]


def snapshot(app: Any) -> dict[str, list[str]]:
    """Return every row of every table but the audit chain, as comparable text."""
    with app.app_context():
        return {table.name: sorted(repr(tuple(row)) for row in db.session.execute(select(table)))
                for table in UNAUDITED}


def audit_rows(app: Any) -> list[str]:
    """Return the audit chain as comparable text, in order."""
    from reporter.models import AuditEvent

    with app.app_context():
        return [f"{e.seq}:{e.hash}" for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def checkpoint_rows(app: Any) -> list[str]:
    """Return the signed checkpoints as comparable text, in order."""
    from reporter.models import AuditCheckpoint

    with app.app_context():
        return [f"{c.seq}:{c.hash}:{c.signature.hex()}"
                for c in db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))]


def _post_rules() -> list[tuple[str, str]]:
    return [(endpoint, rule) for endpoint, rule in _registered_rules()
            if any(outcome == OK for outcome in MATRIX.get((endpoint, "POST"), {}).values())]


def _allowed_role(endpoint: str) -> str:
    outcomes = MATRIX[(endpoint, "POST")]
    return next(role for role in ("admin", "coordinator", "focal_point", "reporter", "anonymous")
                if outcomes[role] == OK)


@pytest.mark.parametrize(("endpoint", "rule"), _post_rules(), ids=[rule for _, rule in _post_rules()])
@pytest.mark.parametrize("attack", ["no token", "forged token", "cross-site origin"])
def test_every_post_refuses_missing_forged_or_cross_site_csrf(
        endpoint, rule, attack, app, reporter, make_report, make_staff, login, staff_directory):
    role = _allowed_role(endpoint)
    client = browser_as(role, app, reporter, make_report, make_staff, login, staff_directory)
    target = make_staff(role="focal_point", state="enrolled").id if "<person_id>" in rule else ""
    before, chain = snapshot(app), audit_rows(app)
    data: dict[str, str] = {"decision": "approve", "email": "x@example.org", "role": "auditor"}
    headers: dict[str, str] = {}
    if attack == "forged token":
        data["csrf_token"] = "IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAi.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"
    elif attack == "cross-site origin":
        from tests.staffing import csrf_of

        data["csrf_token"] = csrf_of(client, "/report")
        headers = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    response = client.post(_path(rule, target), data=data, headers=headers)
    assert response.status_code == (403 if attack == "cross-site origin" else 400)
    assert snapshot(app) == before and audit_rows(app) == chain


@pytest.mark.parametrize("role", ROLES)
def test_get_requests_change_no_row_except_audit_inserts(role, app, reporter, make_report, make_staff, login,
                                                         staff_directory):
    client = browser_as(role, app, reporter, make_report, make_staff, login, staff_directory)
    target = make_staff(role="focal_point", state="enrolled").id
    before, chain, checkpoints = snapshot(app), audit_rows(app), checkpoint_rows(app)
    for endpoint, rule in _registered_rules():
        if endpoint not in ENDS_ACCESS_ONLY:
            client.get(_path(rule, target))
    assert snapshot(app) == before
    assert audit_rows(app)[: len(chain)] == chain  # appended to, never changed
    assert checkpoint_rows(app)[: len(checkpoints)] == checkpoints
