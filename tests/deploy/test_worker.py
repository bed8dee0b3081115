"""`reporter worker`: one tick escalates, sends and purges; a failing job leaves the others running;
SIGTERM ends the loop cleanly. On SQLite and PostgreSQL, like every database test."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from reporter.cli import worker
from tests import casework
from tests.casework import submit, update_report
from tests.test_notifications import mailing_app, outbox


def _overdue_and_expired(app: Flask, reporter) -> tuple[str, str]:
    """Submit two reports: one past its deadline, one closed and past its retention date."""
    _, overdue = submit(reporter)
    _, expired = submit(reporter, description="expired canary")
    past = casework.report_row(app, overdue).deadline_at - timedelta(days=400)
    update_report(app, overdue, deadline_at=past)
    update_report(app, expired, status="closed", closed_at=past, retention_until=past)
    return overdue, expired


def test_one_tick_escalates_sends_and_purges(app_factory, mailbox):
    mailing = mailing_app(app_factory, mailbox.port)
    overdue, expired = _overdue_and_expired(mailing.app, mailing.reporter)

    result = mailing.app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert [e.object_id for e in casework.events(mailing.app, "case.escalated")] == [overdue]
    assert casework.report_row(mailing.app, expired).purged_at is not None
    assert casework.report_row(mailing.app, overdue).purged_at is None
    # The two submissions' notifications and the escalation's went out, each once.
    rows = outbox(mailing.app)
    assert {row.reason for row in rows} >= {"overdue"} and len(mailbox.received) == len(rows) == 3
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows)
    again = mailing.app.test_cli_runner().invoke(args=["worker", "--once"])
    assert again.exit_code == 0 and len(casework.events(mailing.app, "case.escalated")) == 1


def test_a_failing_job_is_logged_and_the_others_still_run(app_factory, mailbox, monkeypatch, caplog):
    mailing = mailing_app(app_factory, mailbox.port)
    overdue, expired = _overdue_and_expired(mailing.app, mailing.reporter)

    def broken(app: Flask) -> str:
        raise RuntimeError("escalation is broken")

    monkeypatch.setattr(worker, "escalate", broken)
    with caplog.at_level(logging.INFO, logger="reporter.worker"):
        result = mailing.app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code != 0 and "1 job(s) failed" in result.output
    assert any("escalate failed" in r.getMessage() for r in caplog.records)
    assert casework.events(mailing.app, "case.escalated") == []
    assert casework.report_row(mailing.app, expired).purged_at is not None  # the purge ran after it
    assert mailbox.received  # and so did the notifications


def test_without_smtp_the_tick_says_notifications_are_off(app, caplog):
    with caplog.at_level(logging.INFO, logger="reporter.worker"):
        result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert any("notifications are off" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(sys.platform != "linux", reason="signals as systemd sends them")
def test_sigterm_ends_the_loop_cleanly(instance_path: Path, database_url: str):
    environment = {**os.environ, "REPORTER_INSTANCE_PATH": str(instance_path),
                   "REPORTER_DATABASE_URL": database_url}
    process = subprocess.Popen([sys.executable, "-m", "reporter.cli", "worker", "--interval", "3600"],
                               env=environment, cwd=instance_path.parent, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while not any("purge: purged" in line for line in seen):  # the first tick is over
            line = process.stdout.readline()
            assert line or process.poll() is None, "".join(seen)
            seen.append(line)
            assert time.monotonic() < deadline, "".join(seen)
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, "".join(seen) + rest
    assert "worker stopped" in rest and "Traceback" not in "".join(seen) + rest
