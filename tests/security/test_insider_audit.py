"""An insider rewrites the audit history with raw SQL, holding the database but not the audit key.

Checkpoints are required at the first event, every REPORTER_AUDIT_CHECKPOINT_EVERY events and every
hour with activity, so rewritten rows, deleted checkpoints or a long unsigned tail are "broken"
without any saved head; cutting back the newest events is caught against the heads pushed off the
server.
"""

from __future__ import annotations

import email
import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from reporter.audit import chain, heads
from reporter.cli import main
from reporter.config import ConfigError
from reporter.extensions import db
from reporter.models.base import utcnow
from reporter.web.notify import send_pending
from tests.tampering import forge, tamper
from tests.test_notifications import mailing_app

EVERY = 10


@pytest.fixture
def audited(app_factory: Any, tmp_path: Path) -> tuple[Any, Path]:
    """An app that checkpoints every 10 events and appends its heads to a file; 35 events recorded."""
    head_log = tmp_path / "pushed" / "heads.log"
    head_log.parent.mkdir()
    app = app_factory(REPORTER_AUDIT_CHECKPOINT_EVERY=EVERY, REPORTER_AUDIT_HEAD_LOG=str(head_log))
    with app.app_context(), db.writing() as session:
        for number in range(35):
            chain.record(session, actor=chain.SYSTEM, action="test.event", detail={"n": number})
            session.commit()
    return app, head_log


def verify(app: Any, *args: str) -> Any:
    """Run `reporter audit verify` at the console of this app's instance."""
    return CliRunner().invoke(main, ["audit", "verify", *args], env=console_environment(app))


def console_environment(app: Any) -> dict[str, str]:
    return {"REPORTER_INSTANCE_PATH": app.instance_path,
            "REPORTER_KEYS_PATH": app.config["REPORTER_KEYS_PATH"],
            "REPORTER_DATABASE_URL": app.config["REPORTER_DATABASE_URL"],
            "REPORTER_AUDIT_CHECKPOINT_EVERY": str(app.config["REPORTER_AUDIT_CHECKPOINT_EVERY"])}


def checkpoint_seqs(app: Any) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(text("SELECT seq FROM audit_checkpoints ORDER BY seq")))


def test_checkpoints_come_at_the_first_event_and_every_interval(audited):
    app, head_log = audited
    assert checkpoint_seqs(app) == [1, 10, 20, 30]
    result = verify(app)
    assert result.exit_code == 0 and "intact: 35 events" in result.output
    pushed = [json.loads(line)["seq"] for line in head_log.read_text().splitlines()]
    assert pushed == [1, 10, 20, 30]


def test_a_rewritten_event_with_the_later_checkpoints_deleted_is_broken(audited, backend):
    app, _ = audited
    with app.app_context():
        tamper(backend, "DELETE FROM audit_checkpoints WHERE seq >= 15")
        forge(backend, 15, '{"n":"rewritten"}')
    result = verify(app)
    assert result.exit_code == 1 and "broken at seq 20" in result.output


def test_a_deleted_checkpoint_in_the_middle_is_broken(audited, backend):
    app, _ = audited
    with app.app_context():
        tamper(backend, "DELETE FROM audit_checkpoints WHERE seq = 20")
    result = verify(app)
    assert result.exit_code == 1 and "broken at seq 20" in result.output
    assert "within 10 events" in result.output


def test_an_unsigned_tail_longer_than_the_interval_is_broken(audited, backend):
    app, _ = audited
    with app.app_context():
        tamper(backend, "DELETE FROM audit_checkpoints WHERE seq = 30")
    result = verify(app)
    assert result.exit_code == 1 and "broken at seq 30" in result.output


def test_an_hour_without_a_checkpoint_is_broken(app_factory, backend):
    app = app_factory(REPORTER_AUDIT_CHECKPOINT_EVERY=EVERY)
    start = utcnow() - timedelta(hours=3)
    with app.app_context(), db.writing() as session:
        for offset in (timedelta(0), timedelta(minutes=1), timedelta(hours=2), timedelta(hours=2, minutes=1)):
            chain.record(session, actor=chain.SYSTEM, action="test.event", at=start + offset)
            session.commit()
    assert checkpoint_seqs(app) == [1, 3]  # the event two hours later was signed at once
    with app.app_context():
        tamper(backend, "DELETE FROM audit_checkpoints WHERE seq = 3")
    result = verify(app)
    assert result.exit_code == 1 and "broken at seq 3" in result.output and "interval" in result.output


def test_a_tail_cut_back_to_a_checkpoint_is_caught_against_the_pushed_heads(audited, backend):
    app, head_log = audited
    with app.app_context():
        tamper(backend, "DELETE FROM audit_events WHERE seq > 20",
               "DELETE FROM audit_checkpoints WHERE seq > 20",
               "UPDATE audit_head SET seq = 20, hash = (SELECT hash FROM audit_events WHERE seq = 20)")
    assert verify(app).exit_code == 0  # the cut alone leaves a chain that is whole: the limit heads close
    result = verify(app, "--against", str(head_log.parent))
    assert result.exit_code == 1 and "broken at seq 30" in result.output and "cut back" in result.output


def test_against_a_folder_checks_every_saved_head(audited, tmp_path):
    app, head_log = audited
    (head_log.parent / "downloaded.json").write_text(json.dumps(_head(app)))
    result = verify(app, "--against", str(head_log.parent))
    # The four pushed, the export's own checkpoint (pushed as well) and the downloaded file.
    assert result.exit_code == 0 and "6 saved head(s) still in the log" in result.output


def _head(app: Any) -> dict[str, Any]:
    with app.app_context(), db.writing() as session:
        head = heads.export_head(session, app.extensions["reporter.keyring"].audit_signing_key,
                                 actor=chain.SYSTEM)
        session.commit()
        return head


def test_insert_or_replace_and_out_of_place_inserts_are_refused_with_the_triggers_in_place(audited, backend):
    app, _ = audited
    values = "(:seq, :at, NULL, 'system', 'forged', NULL, NULL, '{}', :prev, :hash)"
    columns = "(seq, at, actor_id, actor_role, action, object_type, object_id, detail, prev_hash, hash)"
    replace = (f"INSERT OR REPLACE INTO audit_events {columns} VALUES {values}"  # noqa: S608 - constants
               if backend == "sqlite" else
               f"INSERT INTO audit_events {columns} VALUES {values} "  # noqa: S608 - constants
               "ON CONFLICT (seq) DO UPDATE SET action = 'forged'")
    append = f"INSERT INTO audit_events {columns} VALUES {values}"  # noqa: S608 - constants
    for statement, seq in ((replace, 5), (append, 40)):
        with app.app_context(), pytest.raises(DBAPIError):
            assert db.engine is not None
            with db.engine.begin() as connection:
                connection.execute(text(statement), {"seq": seq, "at": utcnow(), "prev": "0" * 64,
                                                     "hash": "0" * 64})
    assert verify(app).exit_code == 0


def test_active_auditors_are_mailed_the_newest_signed_head_at_most_daily(app_factory, mailbox):
    mailing = mailing_app(app_factory, mailbox.port)
    auditor, focal_point = mailing.staff.make(role="auditor"), mailing.staff.make()
    assert send_pending(mailing.app) == 1
    (sender, to, raw_message), = mailbox.received
    message = email.message_from_bytes(raw_message)
    assert to == [auditor.email] and message["Subject"] == "Audit log head to keep"
    body = message.get_payload(decode=True).decode()
    head = json.loads(body[body.index("{"):])
    assert head["format"] == "reporter-audit-head/v1" and head["every_events"] == 100
    assert focal_point.email not in str(mailbox.received)
    with mailing.app.app_context(), db.writing() as session:
        heads.verify_against(session, head, mailing.app.extensions["reporter.keyring"].audit_signing_key
                             .public_key())
    assert send_pending(mailing.app) == 0  # the next one waits a day


def test_two_senders_at_once_queue_the_head_for_auditors_once(app_factory, mailbox):
    mailing = mailing_app(app_factory, mailbox.port)
    auditor = mailing.staff.make(role="auditor")
    start = threading.Barrier(2)
    queued: list[list[str]] = []

    def sender() -> None:
        with mailing.app.app_context():
            session = db.new_session(write=True)
            try:
                start.wait()
                queued.append(heads.mail_due(session, every_hours=24, now=utcnow()))
            finally:
                session.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(queued) == [[], [auditor.id]]


def test_the_head_log_may_not_live_inside_the_instance_folder(app_factory, instance_path):
    with pytest.raises(ConfigError, match="outside the instance folder"):
        app_factory(REPORTER_AUDIT_HEAD_LOG=str(instance_path / "heads.log"))
