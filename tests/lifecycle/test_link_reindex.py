"""The linking key rotated, and older reports indexed, with the escrow key: the same cases stay linked."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from reporter.extensions import db
from reporter.lifecycle.link_index import REINDEXED
from reporter.models import AccountLink, AuditEvent, Report
from tests.lifecycle.installation import console
from tests.tampering import tamper

HANDLE = "@Smear_Desk_Tbilisi"


def _online(account: str) -> dict[str, str]:
    return {"incident_kind": "online", "online-0-platform": "telegram", "online-0-account": account}


@pytest.fixture
def linked(app, reporter, make_staff) -> list[str]:
    """Two reports naming the same account, one naming another; return their ids."""
    make_staff(role="coordinator", region="GE")
    for account in (HANDLE, HANDLE.lower(), "@someone_else"):
        assert reporter.submit(**_online(account)).status_code == 200
    with app.app_context():
        return list(db.session.scalars(select(Report.id)))


def _groups(rows: dict[str, set[tuple[str, int]]]) -> list[list[str]]:
    """Return the reports grouped by the indexes they share."""
    by_index: dict[str, list[str]] = {}
    for report_id, found in rows.items():
        for index, _ in found:
            by_index.setdefault(index, []).append(report_id)
    return sorted(sorted(ids) for ids in by_index.values())


def _rows(app) -> dict[str, set[tuple[str, int]]]:
    with app.app_context():
        found: dict[str, set[tuple[str, int]]] = {}
        for row in db.session.scalars(select(AccountLink)):
            found.setdefault(row.report_id, set()).add((row.blind_index, row.key_version))
        return found


def _url(app) -> str:
    return str(app.config["REPORTER_DATABASE_URL"])


def test_reports_stored_before_linking_are_indexed_from_their_sealed_details(
        app, linked, instance_path, escrow_private_key_path, backend):
    before = _rows(app)
    tamper(backend, "DELETE FROM account_links")  # as reports stored before linking existed
    done = console(instance_path, _url(app), "keys", "reindex-links", "--escrow-key",
                   str(escrow_private_key_path))
    assert done.exit_code == 0, done.output
    assert "indexed 3 case(s) again: 3 account and link index(es); 0 case(s) could not be opened" \
        in done.output
    assert _rows(app) == before
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == REINDEXED)).one()
        assert HANDLE.lower().lstrip("@") not in str(event.detail)


def test_a_linking_key_rotation_indexes_every_case_again_under_the_new_key(
        app, linked, instance_path, escrow_private_key_path):
    old = _rows(app)
    assert sorted(len(group) for group in _groups(old)) == [1, 2]
    refused = console(instance_path, _url(app), "keys", "rotate", "--key", "linking")
    assert refused.exit_code != 0 and "--escrow-key" in refused.output
    assert _rows(app) == old

    rotated = console(instance_path, _url(app), "keys", "rotate", "--key", "linking", "--escrow-key",
                      str(escrow_private_key_path))
    assert rotated.exit_code == 0, rotated.output
    assert "linking: now version 2" in rotated.output
    new = _rows(app)
    assert {version for rows in new.values() for _, version in rows} == {2}
    old_indexes = {index for rows in old.values() for index, _ in rows}
    assert not {index for rows in new.values() for index, _ in rows} & old_indexes
    assert _groups(new) == _groups(old)  # still linked, and only those two
    status = console(instance_path, _url(app), "keys", "status")
    assert "3 account link rows" in status.output, status.output


def test_rotating_every_key_leaves_the_linking_key_alone(app, linked, instance_path):
    old = _rows(app)
    rotated = console(instance_path, _url(app), "keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    assert "linking: now version" not in rotated.output
    assert _rows(app) == old


def test_a_case_whose_escrow_seal_does_not_open_keeps_its_rows_and_is_named(
        app, linked, instance_path, escrow_private_key_path, backend):
    first = linked[0]
    tamper(backend, "UPDATE seals SET sealed_key = :junk WHERE report_id = :id AND recipient_kind = 'escrow'",
           junk=os.urandom(1200), id=first)
    before = _rows(app)[first]
    done = console(instance_path, _url(app), "keys", "reindex-links", "--escrow-key",
                   str(escrow_private_key_path))
    assert done.exit_code == 0, done.output
    assert f"case {first}: its escrow seal does not open" in done.output
    assert _rows(app)[first] == before
