"""Content-free e-mail notifications: "a case is waiting", and a link to the staff area.

A notification row is written in the same transaction as the action that causes it (routing, referral,
an overdue deadline, a reporter's message), then sent after commit by a background thread or by
`reporter notify send`. A failure never reaches the reporter or the officer who acted: the row is
retried with a growing back-off until it is sent or REPORTER_NOTIFY_ATTEMPTS is used up.

The message says nothing about the case: no id, no country, no category, no reason, no reporter text
(so nothing a reporter typed can inject headers or content), only that something is waiting.
"""

from __future__ import annotations

import logging
import random
import smtplib
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reporter.database import NOTIFY_DELAY_INFO_KEY, NOTIFY_INFO_KEY
from reporter.models import Notification, StaffMember
from reporter.models.base import to_the_hour, utcnow
from reporter.models.notification import REASONS

log = logging.getLogger(__name__)
SUBJECT = "A case is waiting"
HEAD_SUBJECT = "Audit log head to keep"
#: How long a sending worker owns a row it claimed before another may retry it.
CLAIM = timedelta(minutes=5)
BATCH = 50
_random = random.SystemRandom()


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: parsed from REPORTER_SMTP_URL."""

    host: str
    port: int
    use_ssl: bool
    starttls: bool
    username: str | None
    password: str | None
    sender: str


def parse_smtp_url(url: str, *, default_sender: str) -> SmtpSettings:
    """Parse smtp://[user:pass@]host[:port][?from=a@b&starttls=1] or smtps://...; raise ValueError."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("REPORTER_SMTP_URL must look like smtp://host:port or smtps://host:port")
    query = parse_qs(parts.query)
    use_ssl = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or (465 if use_ssl else 25),
        use_ssl=use_ssl,
        starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=query.get("from", [default_sender])[0],
    )


def enqueue(session: Session, staff_ids: Iterable[str], *, reason: str, now: datetime | None = None) -> None:
    """Add one notification per person to the outbox of this transaction (when sending is configured).

    Each is sent at a random moment of the delay window (REPORTER_NOTIFY_DELAY_MINUTES, 5 to 15 by
    default) and stored with the hour only, so neither the mail provider nor the database can time the
    submission or message that caused it. Only the audit heads for auditors leave at once.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown notification reason {reason!r}")
    if not session.info.get(NOTIFY_INFO_KEY):
        return
    now = now or utcnow()
    low, high = session.info.get(NOTIFY_DELAY_INFO_KEY) or (0, 0)
    for staff_id in sorted(set(staff_ids)):
        delay = 0 if reason == "audit_head" else _random.uniform(low * 60, high * 60)
        session.add(Notification(staff_id=staff_id, reason=reason, created_at=to_the_hour(now),
                                 next_attempt_at=now + timedelta(seconds=delay), attempts=0))


def message_for(email: str, *, sender: str, link: str | None, head: str | None = None) -> EmailMessage:
    """Return the message a notification sends: "a case is waiting", or, given `head`, a signed audit head."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email
    if head is not None:
        message["Subject"] = HEAD_SUBJECT
        message.set_content("The newest signed head of the audit log. Keep this message: `reporter audit "
                            "verify --against` proves the log still holds it.\n\n" + head + "\n")
        return message
    message["Subject"] = SUBJECT
    where = f"Log in to see it: {link}" if link else "Log in to the staff area to see it."
    message.set_content(f"A case is waiting for you.\n\n{where}\n")
    return message


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next try after `attempts` failures: 1, 2, 4 ... minutes, at most 6 h."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _claim(session: Session, now: datetime, max_attempts: int) -> list[tuple[int, str, int, str]]:
    due = session.execute(
        select(Notification.id, StaffMember.email, Notification.attempts, Notification.next_attempt_at,
               Notification.reason)
        .join(StaffMember, StaffMember.id == Notification.staff_id)
        .where(Notification.sent_at.is_(None), Notification.attempts < max_attempts,
               Notification.next_attempt_at <= now, StaffMember.state == "active")
        .order_by(Notification.id).limit(BATCH)
    ).all()
    claimed = []
    for row_id, email, attempts, not_before, reason in due:
        won = session.execute(
            update(Notification).where(Notification.id == row_id, Notification.next_attempt_at == not_before,
                                       Notification.sent_at.is_(None))
            .values(next_attempt_at=now + CLAIM, attempts=attempts + 1)
        )
        if won.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append((row_id, email, attempts + 1, reason))
    session.commit()
    return claimed


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if settings.use_ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=20, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=20)
        if settings.starttls:
            smtp.starttls(context=context)
    if settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def deliver_pending(
    session: Session, settings: SmtpSettings, *, link: str | None, max_attempts: int,
    now: datetime | None = None, head: str | None = None,
) -> int:
    """Send every due notification; return how many were sent. Failures are kept for a later try.

    `head` is the newest signed audit head (JSON), the text of "audit_head" notifications.
    """
    now = now or utcnow()
    claimed = _claim(session, now, max_attempts)
    if not claimed:
        return 0
    sent: list[int] = []
    failed: dict[int, tuple[int, str]] = {}
    smtp: smtplib.SMTP | None = None
    try:
        smtp = _connect(settings)
        for row_id, email, attempts, reason in claimed:
            try:
                text = (head or "(no signed head yet)") if reason == "audit_head" else None
                smtp.send_message(message_for(email, sender=settings.sender, link=link, head=text))
                sent.append(row_id)
            except (smtplib.SMTPException, OSError) as exc:
                failed[row_id] = (attempts, type(exc).__name__)
    except (smtplib.SMTPException, OSError) as exc:
        failed.update({row_id: (attempts, type(exc).__name__) for row_id, _, attempts, _ in claimed
                       if row_id not in sent})
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
    if sent:
        session.execute(update(Notification).where(Notification.id.in_(sent))
                        .values(sent_at=now, last_error=None))
    for row_id, (attempts, error) in failed.items():
        session.execute(update(Notification).where(Notification.id == row_id)
                        .values(next_attempt_at=now + backoff(attempts), last_error=error[:64]))
    session.commit()
    if failed:
        log.warning("notifications: %d sent, %d failed and kept for retry", len(sent), len(failed))
    return len(sent)


class Notifier:
    """A background thread that sends the outbox: woken after each commit that queued something,
    and every minute for retries. Started on first use, so it runs in each server worker process."""

    def __init__(self, send: Callable[[], int], interval: float = 60.0) -> None:
        self._send = send
        self._interval = interval
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def kick(self) -> None:
        """Ask the thread to send now (starting it if needed)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="reporter-notifier", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._send()
            except Exception as exc:  # noqa: BLE001 - the thread must outlive a database or network failure
                log.warning("notifications: sending failed (%s); will retry", type(exc).__name__)
