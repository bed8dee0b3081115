"""Notifications through a real SMTP server on loopback: who is told, that nothing of the case is in
the message, and that a failed or concurrent send neither loses nor duplicates a message.

Each test builds one app with REPORTER_SMTP_URL pointing at the loopback server and the sender
thread off; tests call reporter.web.notify.send_pending themselves.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from reporter.cases import notifications, routing, triage
from reporter.models import Notification, StaffMember
from reporter.models.base import utcnow
from reporter.web.notify import send_pending
from tests import casework
from tests.casework import add_rule, private_key_of, submit, writing
from tests.conftest import Reporter, csrf_token_of
from tests.servers import Mailbox, free_port
from tests.staffing import StaffDirectory, directory_of

INJECTION = "Help me\r\nBcc: attacker@evil.example\r\nSubject: LEAKED\r\n\r\nDESCRIPTION-CANARY-91b2"


@dataclass
class Mailing:
    """The app that mails, its staff directory and a reporter using it."""

    app: Any
    staff: StaffDirectory
    reporter: Reporter


def mailing_app(app_factory: Any, port: int, **settings: Any) -> Mailing:
    """Return an app that mails through `port`; notifications leave at once unless a test sets a delay."""
    settings.setdefault("REPORTER_NOTIFY_DELAY_MINUTES", "0")
    app = app_factory(REPORTER_SMTP_URL=f"smtp://127.0.0.1:{port}", REPORTER_NOTIFY_THREAD=False, **settings)
    return Mailing(app, directory_of(app), Reporter(app.test_client()))


@pytest.fixture
def mailing(app_factory, mailbox) -> Mailing:
    # The links name the public address; the test client itself speaks to localhost, a second trusted name.
    return mailing_app(app_factory, mailbox.port, REPORTER_BASE_URL="https://reports.example.org",
                       TRUSTED_HOSTS=["reports.example.org", "localhost"])


def outbox(app: Any) -> list[Notification]:
    with writing(app) as session:
        rows = list(session.scalars(select(Notification).order_by(Notification.id)))
        for row in rows:
            session.expunge(row)
        return rows


def emails_of(app: Any, *ids: str) -> list[str]:
    with writing(app) as session:
        return sorted(session.scalars(select(StaffMember.email).where(StaffMember.id.in_(ids))))


# Submission --------------------------------------------------------------------------------------

def test_each_recipient_gets_one_message_that_says_nothing_about_the_case(mailing, mailbox):
    focal_point = mailing.staff.make()
    coordinator = mailing.staff.coordinator
    add_rule(mailing.app, "GE", [focal_point])
    receipt, report_id = submit(mailing.reporter, description=INJECTION, perpetrator=INJECTION,
                                contact="evil@evil.example\r\nBcc: attacker@evil.example", category="doxxing")
    rows = outbox(mailing.app)
    assert sorted(r.staff_id for r in rows) == sorted([focal_point.id, coordinator.id])
    assert {r.reason for r in rows} == {"routed"} and all(r.sent_at is None for r in rows)

    assert send_pending(mailing.app) == 2
    assert mailbox.recipients() == sorted([focal_point.email, coordinator.email])
    assert all(len(rcpts) == 1 for _, rcpts, _ in mailbox.received)
    forbidden = [report_id, report_id[:8], receipt, "doxxing", "Doxxing", "Georgia", "DESCRIPTION-CANARY",
                 "evil", "attacker", "Bcc", "LEAKED", "Help me", "routed", "Signal"]
    for (_, _, raw), message in zip(mailbox.received, mailbox.messages(), strict=True):
        text = raw.decode("utf-8", "replace")
        for word in forbidden:
            assert word not in text, word
        assert not re.search(r"\bGE\b", text)
        headers = {name.lower() for name in message.keys()}
        assert headers <= {"from", "to", "subject", "content-type", "content-transfer-encoding",
                           "mime-version", "x-peer", "x-mailfrom", "x-rcptto"}
        assert "bcc" not in headers and "cc" not in headers
        assert message["Subject"] == notifications.SUBJECT
        assert message["From"] == "reporter@localhost"
        body = message.get_content().replace("\r\n", "\n")
        assert body == "A case is waiting for you.\n\nLog in to see it: https://reports.example.org/staff/cases\n"
    assert all(r.sent_at is not None and r.attempts == 1 for r in outbox(mailing.app))
    assert send_pending(mailing.app) == 0 and len(mailbox.received) == 2


def test_nothing_is_queued_when_smtp_is_not_configured(app, reporter, make_staff):
    add_rule(app, "GE", [make_staff()])
    submit(reporter)
    assert casework.count(app, Notification) == 0
    assert send_pending(app) == 0


def test_a_down_server_never_fails_the_submission_and_a_later_send_delivers(app_factory):
    box = Mailbox(port=free_port())  # nothing listens yet
    mailing = mailing_app(app_factory, box.port)
    _, report_id = submit(mailing.reporter)
    assert send_pending(mailing.app) == 0
    (row,) = outbox(mailing.app)
    assert (row.attempts, row.sent_at, row.last_error) == (1, None, "ConnectionRefusedError")
    assert row.next_attempt_at > utcnow() + timedelta(seconds=30)  # backed off, not retried at once
    box.start()
    try:
        assert send_pending(mailing.app) == 0  # still backing off
        assert box.received == []
        with writing(mailing.app) as session:
            session.execute(update(Notification).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            session.commit()
        assert send_pending(mailing.app) == 1
    finally:
        box.stop()
    assert box.recipients() == [mailing.staff.coordinator.email]
    (row,) = outbox(mailing.app)
    assert row.attempts == 2 and row.sent_at is not None and row.last_error is None
    assert casework.report_row(mailing.app, report_id).status == "new"


def test_a_row_is_given_up_after_the_configured_attempts(app_factory):
    mailing = mailing_app(app_factory, free_port(), REPORTER_NOTIFY_ATTEMPTS=2)
    submit(mailing.reporter)
    for _ in range(3):
        send_pending(mailing.app)
        with writing(mailing.app) as session:
            session.execute(update(Notification).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            session.commit()
    (row,) = outbox(mailing.app)
    assert row.attempts == 2 and row.sent_at is None


# Other reasons to notify -------------------------------------------------------------------------

def test_referral_notifies_the_target_only(mailing, mailbox):
    focal_point, colleague = mailing.staff.make(), mailing.staff.make(region="AM")
    add_rule(mailing.app, "GE", [focal_point])
    _, report_id = submit(mailing.reporter)
    assert send_pending(mailing.app) == 2
    key = private_key_of(mailing.app, focal_point)
    with writing(mailing.app) as session:
        routing.refer(session, report_id, person=session.get(StaffMember, focal_point.id), private_key=key,
                     to=colleague.id, reason="region", now=utcnow())
    waiting = [(r.staff_id, r.reason) for r in outbox(mailing.app) if r.sent_at is None]
    assert waiting == [(colleague.id, "referred")]
    assert send_pending(mailing.app) == 1
    assert mailbox.recipients().count(colleague.email) == 1 and len(mailbox.received) == 3


def test_reporter_message_notifies_every_holder(mailing, mailbox):
    focal_point = mailing.staff.make()
    add_rule(mailing.app, "GE", [focal_point])
    receipt, _ = submit(mailing.reporter)
    assert send_pending(mailing.app) == 2
    client = mailing.reporter.client
    assert mailing.reporter.follow_up(receipt).status_code == 302
    token = csrf_token_of(client.get("/followup/case").get_data(as_text=True))
    body = "REPLY-CANARY-3e1d\r\nBcc: attacker@evil.example"
    assert client.post("/followup/case/message", data={"body": body, "csrf_token": token}).status_code == 302
    waiting = [r for r in outbox(mailing.app) if r.sent_at is None]
    assert sorted((r.staff_id, r.reason) for r in waiting) == sorted(
        [(focal_point.id, "message"), (mailing.staff.coordinator.id, "message")])
    assert send_pending(mailing.app) == 2
    assert mailbox.recipients() == sorted([focal_point.email, mailing.staff.coordinator.email] * 2)
    for _, _, raw in mailbox.received:
        assert b"REPLY-CANARY" not in raw and b"evil" not in raw


def test_overdue_escalation_notifies_the_coordinators_who_hold_the_case(mailing, mailbox):
    focal_point = mailing.staff.make()
    add_rule(mailing.app, "GE", [focal_point])
    _, report_id = submit(mailing.reporter)
    send_pending(mailing.app)
    deadline = casework.report_row(mailing.app, report_id).deadline_at
    with writing(mailing.app) as session:
        assert triage.escalate_overdue(session, now=deadline + timedelta(minutes=1)) == [report_id]
    waiting = [(r.staff_id, r.reason) for r in outbox(mailing.app) if r.sent_at is None]
    assert waiting == [(mailing.staff.coordinator.id, "overdue")]


def test_deactivated_staff_are_not_mailed(mailing, mailbox):
    focal_point = mailing.staff.make()
    add_rule(mailing.app, "GE", [focal_point])
    submit(mailing.reporter)
    mailing.staff.deactivate(focal_point)
    assert send_pending(mailing.app) == 1
    assert mailbox.recipients() == [mailing.staff.coordinator.email]
    unsent = [r for r in outbox(mailing.app) if r.sent_at is None]
    assert [(r.staff_id, r.attempts) for r in unsent] == [(focal_point.id, 0)]


# Concurrent senders ------------------------------------------------------------------------------

def test_a_claimed_row_is_not_claimed_again(mailing):
    add_rule(mailing.app, "GE", [mailing.staff.make()])
    submit(mailing.reporter)
    now = utcnow()
    with writing(mailing.app) as first, writing(mailing.app) as second:
        claimed = notifications._claim(first, now, max_attempts=8)
        assert len(claimed) == 2
        assert notifications._claim(second, now, max_attempts=8) == []
        assert notifications._claim(second, now + timedelta(minutes=1), max_attempts=8) == []


def test_two_senders_at_once_send_each_message_exactly_once(mailing, mailbox):
    people = [mailing.staff.make() for _ in range(3)]
    add_rule(mailing.app, "GE", people)
    for _ in range(3):
        submit(mailing.reporter)
    rows = outbox(mailing.app)
    assert len(rows) == 12
    mailbox.delay = 0.02  # keep the first sender busy while the second tries
    start, sent, failures = threading.Barrier(2, timeout=10), [], []

    def sender() -> None:
        try:
            start.wait()
            sent.append(send_pending(mailing.app))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(repr(error))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sum(sent) == 12 and len(mailbox.received) == 12
    expected = emails_of(mailing.app, *(p.id for p in people), mailing.staff.coordinator.id)
    assert mailbox.recipients() == sorted(expected * 3)
    assert all(r.sent_at is not None and r.attempts == 1 for r in outbox(mailing.app))


def test_smtp_url_is_parsed_and_checked():
    settings = notifications.parse_smtp_url("smtps://user%40x:p%3Ass@mail.example.org?from=a@b.example",
                                            default_sender="reporter@localhost")
    assert (settings.host, settings.port, settings.use_ssl, settings.username, settings.password,
            settings.sender) == ("mail.example.org", 465, True, "user@x", "p:ss", "a@b.example")
    assert notifications.parse_smtp_url("smtp://h", default_sender="s@x").port == 25
    for bad in ("http://h", "smtp://", "mail.example.org"):
        with pytest.raises(ValueError):
            notifications.parse_smtp_url(bad, default_sender="s@x")


def test_message_for_refuses_header_injection_in_the_address():
    with pytest.raises(ValueError):
        notifications.message_for("a@b.example\r\nBcc: attacker@evil.example", sender="s@x", link=None)


def test_a_notification_leaves_at_a_random_moment_of_the_window_and_is_stored_to_the_hour(app_factory,
                                                                                            mailbox):
    mailing = mailing_app(app_factory, mailbox.port, REPORTER_NOTIFY_DELAY_MINUTES="5-15")
    mailing.staff.coordinator  # noqa: B018 - someone to receive the report
    submit(mailing.reporter)
    rows = outbox(mailing.app)
    assert rows
    for row in rows:
        assert row.created_at.minute == row.created_at.second == row.created_at.microsecond == 0
        delay = row.next_attempt_at - utcnow()
        assert timedelta(minutes=4) < delay <= timedelta(minutes=15)
    assert send_pending(mailing.app) == 0 and mailbox.received == []  # nothing leaves before its moment
