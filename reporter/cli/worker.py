"""`reporter worker`: the background jobs in one long-running process, for a service manager to keep up.

Every `--interval` seconds it escalates overdue cases and sends the notifications that are due (when
SMTP is configured); once a day it runs the retention purge. Each job is the function its own command
calls (`reporter cases escalate`, `reporter notify send`, `reporter retention purge`), in its own
try/except: a database that is away or an SMTP server that refuses is logged, and the next job and the
next tick run as usual. SIGTERM (systemd's stop) and SIGINT end the loop between two jobs, never inside
one, so a purge batch or an escalation is either committed or not started.

Several hosts may each run a worker against the same database: escalation locks the overdue cases
(`FOR UPDATE`, in id order, and a case escalated by another worker no longer matches once its lock is
released), notifications are claimed one by one with a compare-and-set on their next attempt, and the
purge takes its cases with `SKIP LOCKED`. On SQLite every write transaction takes the single writer
lock at BEGIN, so two workers simply take turns.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from reporter.audit import chain
from reporter.cases import triage
from reporter.extensions import db
from reporter.lifecycle import purge
from reporter.models.base import utcnow
from reporter.web import context
from reporter.web.notify import send_pending

log = logging.getLogger("reporter.worker")
PURGE_EVERY_SECONDS = 24 * 3600


def escalate(app: Flask) -> str:
    """Escalate every open case past its deadline (the work of `reporter cases escalate`)."""
    with db.writing() as session:
        escalated = triage.escalate_overdue(session, now=utcnow())
    return f"escalated {len(escalated)} overdue case(s)"


def notify(app: Flask) -> str:
    """Send the notifications that are due (the work of `reporter notify send`); nothing without SMTP."""
    if not app.config["REPORTER_SMTP_URL"]:
        return "notifications are off (no REPORTER_SMTP_URL)"
    return f"sent {send_pending(app)} notification(s)"


def purge_expired(app: Flask) -> str:
    """Crypto-shred the cases past their retention date (the work of `reporter retention purge`)."""
    with db.writing() as session:
        run = purge.purge(session, context.attachment_store(app), utcnow(), actor=chain.SYSTEM)
    if run.cases:
        assert db.engine is not None
        purge.reclaim(db.engine)
    return f"purged {run.cases} case(s), removed {run.files_removed} attachment file(s)"


Job = Callable[[Flask], str]


class Worker:
    """The loop: jobs in order each tick, the purge when a day has passed since the last one."""

    def __init__(self, app: Flask, interval: float) -> None:
        self.app = app
        self.interval = interval
        self.stopping = threading.Event()
        self.last_purge: float | None = None
        self.failures = 0

    def stop(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler: finish the job under way, then leave."""
        log.info("signal %d: stopping after the current job", signum)
        self.stopping.set()

    def run_job(self, name: str, job: Job) -> None:
        """Run one job; a failure is logged with its traceback and counted, and the loop goes on."""
        try:
            log.info("%s: %s", name, job(self.app))
        except Exception:  # noqa: BLE001 - one failing job must not stop the others or the loop
            self.failures += 1
            # Statement parameters are never in the message: the engine hides them (reporter.database).
            log.exception("%s failed; it runs again at the next tick", name)
            if db.engine is not None:
                db.engine.dispose()  # a broken connection is not handed to the next job

    def tick(self) -> None:
        """Run every job that is due, checking between jobs whether a stop was asked for."""
        jobs: list[tuple[str, Job]] = [("escalate", escalate), ("notify", notify)]
        now = time.monotonic()
        if self.last_purge is None or now - self.last_purge >= PURGE_EVERY_SECONDS:
            jobs.append(("purge", purge_expired))
            self.last_purge = now
        for name, job in jobs:
            if self.stopping.is_set():
                return
            self.run_job(name, job)

    def loop(self) -> None:
        """Tick every `interval` seconds until stopped."""
        while not self.stopping.is_set():
            self.tick()
            self.stopping.wait(self.interval)


@click.command("worker")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(min=1),
              help="Seconds between two runs of the jobs.")
@click.option("--once", is_flag=True,
              help="Run every job once (the purge included) and exit; the status is 1 if a job failed.")
@with_appcontext
def worker_command(interval: float, once: bool) -> None:
    """Run the background jobs: escalation and notifications every interval, the retention purge daily."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    app.config["REPORTER_NOTIFY_THREAD"] = False  # this process sends at each tick itself
    worker = Worker(app, interval)
    if once:
        worker.tick()
        if worker.failures:
            raise click.ClickException(f"{worker.failures} job(s) failed; see the log above")
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, worker.stop)
    log.info("worker started: every %.0f s; the retention purge once a day", interval)
    worker.loop()
    log.info("worker stopped")
