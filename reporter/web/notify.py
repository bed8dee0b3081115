"""Wires the notification outbox to the app: a sender per worker process, woken after commits."""

from __future__ import annotations

import json

from flask import Flask, current_app

from reporter.audit import heads
from reporter.cases import notifications
from reporter.extensions import db
from reporter.models.base import utcnow
from reporter.web import context

EXTENSION = "reporter.notifier"


def send_pending(app: Flask) -> int:
    """Send every due notification of `app` now; return how many went out (0 when not configured)."""
    url = app.config["REPORTER_SMTP_URL"]
    if not url:
        return 0
    settings = notifications.parse_smtp_url(url, default_sender=app.config["REPORTER_SMTP_FROM"])
    base = (app.config.get("REPORTER_BASE_URL") or "").rstrip("/")
    with app.app_context():
        session = db.new_session(write=True)
        try:
            every_hours = int(app.config["REPORTER_AUDIT_HEAD_MAIL_HOURS"])
            heads.mail_due(session, every_hours=every_hours, now=utcnow())
            head = heads.signed_head(session, context.keyring(app).audit_signing_key.public_key())
            return notifications.deliver_pending(session, settings,
                                                 link=f"{base}/staff/cases" if base else None,
                                                 max_attempts=int(app.config["REPORTER_NOTIFY_ATTEMPTS"]),
                                                 head=json.dumps(head, indent=2) if head else None)
        finally:
            session.close()


def init_app(app: Flask) -> None:
    """Check the SMTP setting at start-up and prepare the sender thread (started on first use)."""
    url = app.config["REPORTER_SMTP_URL"]
    if url:
        notifications.parse_smtp_url(url, default_sender=app.config["REPORTER_SMTP_FROM"])
        app.extensions[EXTENSION] = notifications.Notifier(lambda: send_pending(app))


def after_commit() -> None:
    """Wake the sender after a commit that may have queued notifications (never blocks the request)."""
    notifier = current_app.extensions.get(EXTENSION)
    if notifier is not None and current_app.config["REPORTER_NOTIFY_THREAD"]:
        notifier.kick()
