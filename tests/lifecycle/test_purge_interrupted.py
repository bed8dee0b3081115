"""A purge killed with SIGKILL halfway leaves every case whole or fully purged, and a rerun finishes it."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from reporter import vault
from reporter.keyring import read_escrow_private_key
from reporter.models import Attachment, AuditEvent, CaseEntry, Report, Seal
from reporter.models.base import utcnow
from reporter.web import context
from tests.casework import submit, update_report
from tests.conftest import Reporter
from tests.lifecycle.shredding import store_ids_of

CASES = 60


def _command(instance_path: Path, database_url: str, *args: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "REPORTER_INSTANCE_PATH": str(instance_path),
                   "REPORTER_DATABASE_URL": database_url}
    return subprocess.Popen([sys.executable, "-m", "reporter.cli", *args], env=environment, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=instance_path.parent)


def _purged(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Report).where(
            Report.purged_at.is_not(None))) or 0)


def _state(engine: Engine, report_id: str) -> tuple[object, ...]:
    with engine.connect() as connection:
        def count(model: type, column: object) -> int:
            counted = select(func.count()).select_from(model).where(column == report_id)
            return int(connection.scalar(counted) or 0)
        purged = connection.scalar(select(Report.purged_at).where(Report.id == report_id))
        return (purged is not None, count(Seal, Seal.report_id), count(CaseEntry, CaseEntry.report_id),
                count(Attachment, Attachment.report_id), count(AuditEvent, AuditEvent.object_id) and
                int(connection.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.object_id == report_id, AuditEvent.action == "case.purged")) or 0))


def _opens_with_escrow(app, engine: Engine, report_id: str, escrow_private: bytes) -> bool:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        seal = session.scalars(select(Seal).where(Seal.report_id == report_id,
                                                  Seal.recipient_kind == "escrow")).one()
        report = session.get(Report, report_id)
        data_key = vault.open_public_key_seal(seal, escrow_private)
        fields = vault.open_report_fields(report, data_key)
        store = context.attachment_store(app)
        for store_id in store_ids_of(app, report_id):
            with store.open(store_id) as source:
                vault.verify_attachment(source, store_id, data_key)
        return fields["description"].startswith("interrupted canary")


def test_a_killed_purge_leaves_each_case_whole_or_purged_and_a_rerun_finishes(
        app_factory, instance_path, database_url, escrow_private_key_path):
    app = app_factory(REPORTER_SUBMIT_LIMIT="1000 per minute", REPORTER_SUBMIT_FLOOD_LIMIT="1000 per hour")
    reporter = Reporter(app.test_client())
    ids = []
    for number in range(CASES):
        files = [(io.BytesIO(f"interrupted canary file {number}\n".encode()), "e.txt")]
        ids.append(submit(reporter, description=f"interrupted canary {number}", attachments=files)[1])
    past = utcnow() - timedelta(days=400)
    for report_id in ids:
        update_report(app, report_id, status="closed", closed_at=past, retention_until=past)
    whole = {report_id: _state(create_engine(database_url), report_id) for report_id in ids[:1]}[ids[0]]
    files = {report_id: store_ids_of(app, report_id) for report_id in ids}
    engine = create_engine(database_url)
    escrow = read_escrow_private_key(escrow_private_key_path)
    try:
        child = _command(instance_path, database_url, "retention", "purge", "--batch-size", "1")
        deadline = time.monotonic() + 120
        while _purged(engine) < 3 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        done = _purged(engine)
        assert 0 < done < CASES, f"the purge was not caught halfway ({done} of {CASES})"
        for report_id in ids:
            state = _state(engine, report_id)
            if state[0]:
                assert state == (True, 0, 0, 0, 1), report_id
            else:
                assert state == whole, report_id
                assert _opens_with_escrow(app, engine, report_id, escrow.private)
        rerun = _command(instance_path, database_url, "retention", "purge")
        output, errors = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, errors
        assert f"purged {CASES - done} case(s)" in output
        assert all(_state(engine, report_id) == (True, 0, 0, 0, 1) for report_id in ids)
        store = context.attachment_store(app)
        assert not any(store.exists(f) for each in files.values() for f in each)
        checked = _command(instance_path, database_url, "vault", "check")
        assert checked.wait(timeout=120) == 0
        verified = _command(instance_path, database_url, "audit", "verify")
        assert verified.wait(timeout=120) == 0
    finally:
        engine.dispose()
