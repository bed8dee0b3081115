"""The audit chain resists an insider with database access: every tampering is named by seq."""

from __future__ import annotations

import json
import multiprocessing
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text

from reporter.audit import chain, heads
from reporter.audit.chain import Actor, ChainBroken
from reporter.extensions import db
from reporter.models import AuditCheckpoint, AuditEvent
from tests.tampering import forge, tamper

OFFICER = Actor("focal_point", "a" * 32)


def _append(app, count: int, **fields: Any) -> None:
    with app.app_context(), db.writing() as session:
        for number in range(count):
            chain.record(session, actor=OFFICER, action=fields.get("action", "case.viewed"),
                         object_type="report", object_id=f"r{number}", detail=fields.get("detail"))
        session.commit()


def _verify(app, saved: dict | None = None) -> chain.Verified:
    with app.app_context(), db.writing() as session:
        public_key = app.extensions["reporter.keyring"].audit_signing_key.public_key()
        result = chain.verify_chain(session, public_key)
        if saved is not None:
            heads.verify_against(session, saved, public_key)
        return result


def test_intact_chain_verifies_with_a_checkpoint_on_the_first_event(app):
    _append(app, 5)
    result = _verify(app)
    assert result.events == 5 and result.last_checkpoint == 1


def test_checkpoint_at_the_first_event_and_every_hundred(app):
    _append(app, 1001)
    with app.app_context(), db.writing() as session:
        assert sorted(session.scalars(select(AuditCheckpoint.seq))) == [1, *range(100, 1001, 100)]
    assert _verify(app).last_checkpoint == 1000


@pytest.mark.parametrize(
    ("statement", "broken_at"),
    [
        ("UPDATE audit_events SET detail = 'tampered' WHERE seq = 3", 3),
        ("UPDATE audit_events SET actor_id = 'someone-else' WHERE seq = 2", 2),
        ("UPDATE audit_events SET action = 'case.closed' WHERE seq = 4", 4),
        ("DELETE FROM audit_events WHERE seq = 3", 3),
    ],
    ids=["change-detail", "change-actor", "change-action", "delete-middle-row"],
)
def test_tampering_names_the_first_broken_seq(app, backend, statement, broken_at):
    _append(app, 6)
    tamper(backend, statement)
    with pytest.raises(ChainBroken) as broken:
        _verify(app)
    assert broken.value.seq == broken_at


def test_reordering_two_events_is_caught(app, backend):
    _append(app, 6)
    tamper(backend,
           "UPDATE audit_events SET seq = -1 WHERE seq = 2",
           "UPDATE audit_events SET seq = 2 WHERE seq = 3",
           "UPDATE audit_events SET seq = 3 WHERE seq = -1")
    with pytest.raises(ChainBroken) as broken:
        _verify(app)
    assert broken.value.seq == 2


def test_deleting_the_tail_after_a_checkpoint_is_caught(app, backend):
    _append(app, 1005)
    tamper(backend, "DELETE FROM audit_events WHERE seq > 990",
           "UPDATE audit_head SET seq = 990, hash = (SELECT hash FROM audit_events WHERE seq = 990)")
    with pytest.raises(ChainBroken) as broken:
        _verify(app)
    assert broken.value.seq == 991 and "checkpoint" in broken.value.reason


def test_forged_row_with_recomputed_hashes_is_caught_by_the_checkpoint(app, backend):
    _append(app, 1002)
    forge(backend, 450, '{"forged":true}')
    with pytest.raises(ChainBroken) as broken:
        _verify(app)
    assert broken.value.seq == 500 and "checkpoint" in broken.value.reason


def test_replaced_checkpoint_fails_its_signature(app, backend):
    _append(app, 3)
    tamper(backend, "UPDATE audit_checkpoints SET hash = :forged WHERE seq = 1", forged="f" * 64)
    with pytest.raises(ChainBroken) as broken:
        _verify(app)
    assert broken.value.seq == 1 and "signature" in broken.value.reason


def test_whole_tail_rewritten_and_resigned_with_a_stolen_key_is_caught_against_a_saved_head(app, backend):
    _append(app, 10)
    with app.app_context(), db.writing() as session:
        signer = app.extensions["reporter.keyring"].audit_signing_key
        saved = heads.export_head(session, signer, actor=chain.SYSTEM)
        session.commit()
    assert _verify(app, json.loads(json.dumps(saved))).events == 11
    # The insider deletes everything from seq 5 and appends a different history, signed with the
    # stolen instance key: the chain and its checkpoints verify, the saved head does not.
    tamper(backend, "DELETE FROM audit_checkpoints WHERE seq >= 5",
           "DELETE FROM audit_events WHERE seq >= 5",
           "UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_events WHERE seq = 4)")
    _append(app, 8, action="case.viewed", detail={"rewritten": True})
    with app.app_context(), db.writing() as session:
        newest = session.get(AuditEvent, 12)
        session.add(chain.sign_checkpoint(signer, newest))
        session.commit()
    assert _verify(app).events == 12
    with pytest.raises(ChainBroken) as broken:
        _verify(app, saved)
    assert broken.value.seq == saved["seq"] and "rewritten" in broken.value.reason


def test_saved_head_signed_by_another_key_is_refused(app):
    _append(app, 2)
    with app.app_context(), db.writing() as session:
        forged = heads.export_head(session, Ed25519PrivateKey.generate(), actor=chain.SYSTEM)
        session.rollback()
    with pytest.raises(ChainBroken, match="signature"):
        _verify(app, forged)


@pytest.mark.parametrize("value", ["line\nbreak\r\n", "\x1b[31mred\x1b[0m", '"}, {"action":"login_ok'])
def test_log_injection_is_stored_canonically_and_still_verifies(app, value):
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=Actor("admin", value), action="staff.login_failed",
                     detail={"reason": value})
        session.commit()
        stored = session.scalars(select(AuditEvent)).one()
        assert stored.actor_id == value and json.loads(stored.detail) == {"reason": value}
        assert "\n" not in stored.detail and "\x1b" not in stored.detail
    assert _verify(app).events == 1


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"])
def test_database_refuses_update_and_delete_of_audit_rows(app, statement):
    _append(app, 2)
    assert db.engine is not None
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as connection:
        connection.execute(text(statement))


def test_orm_refuses_to_change_an_audit_event(app):
    _append(app, 1)
    with app.app_context(), db.writing() as session:
        event = session.scalars(select(AuditEvent)).one()
        event.action = "changed"
        with pytest.raises(PermissionError):
            session.flush()


def test_event_and_action_commit_together_or_not_at_all(app):
    with app.app_context(), db.writing() as session:
        chain.record(session, actor=OFFICER, action="case.viewed")
        session.rollback()
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def _worker(instance: str, database_url: str, count: int) -> None:
    os.environ["REPORTER_INSTANCE_PATH"] = instance
    from reporter import create_app

    app = create_app({"TESTING": True, "REPORTER_DATABASE_URL": database_url,
                      "REPORTER_KEYS_PATH": os.path.join(instance, "keys")})
    for number in range(count):
        with app.app_context(), db.writing() as session:
            chain.record(session, actor=Actor("system"), action="concurrency.test",
                         detail={"pid": os.getpid(), "n": number})
            session.commit()


def test_four_processes_appending_concurrently_never_fork_the_chain(app, instance_path, database_url):
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_worker, args=(str(instance_path), database_url, 250)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    result = _verify(app)
    assert result.events == 1000 and result.last_checkpoint == 1000
