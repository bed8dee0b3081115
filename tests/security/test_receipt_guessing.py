"""Receipt guessing on /followup is slowed, never turned against the reporter who holds the right
receipt (issue 13, section 2).

Before the fix the follow-up limits were keyed by client address, and behind a proxy or an onion
service every reporter has the same address: seven guessers made the right receipt answer 429, and
every wrong receipt wrote its own audit row.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from reporter.crypto import receipts
from reporter.extensions import db
from reporter.models import AuditEvent
from tests.conftest import Reporter

PROXY = "10.0.0.1"


def _wrong_receipt() -> str:
    return receipts.display(receipts.new_receipt())


def _reporter(app, *, forwarded: str | None = None, address: str = "127.0.0.1") -> Reporter:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PROXY if forwarded else address
    if forwarded:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    return Reporter(client)


def _receipt(app) -> str:
    reporter = Reporter(app.test_client())
    return reporter.receipt_of(reporter.submit())


def _audited(app, action: str) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == action)) or 0)


@pytest.fixture
def clock(monkeypatch):
    """Move the wall clock (cookies, limit windows, the slowdown) forward: clock(seconds)."""
    offset = [0.0]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def test_behind_a_proxy_seven_guessers_do_not_stop_the_right_receipt(app_factory):
    app = app_factory(REPORTER_TRUSTED_PROXIES=1)
    receipt = _receipt(app)
    for number in range(7):
        guesser = _reporter(app, forwarded=f"203.0.113.{number}")
        assert [guesser.follow_up(_wrong_receipt()).status_code for _ in range(11)] == [401] * 10 + [429]
    assert _reporter(app, forwarded="198.51.100.7").follow_up(receipt).status_code == 302


def test_onion_service_a_guesser_who_drops_cookies_never_stops_the_right_receipt(app_factory):
    app = app_factory(REPORTER_ONION=True)
    receipt = _receipt(app)
    statuses = {_reporter(app).follow_up(_wrong_receipt()).status_code for _ in range(40)}
    assert statuses == {401}
    assert _reporter(app).follow_up(receipt).status_code == 302


def test_a_session_that_spent_its_budget_waits_whatever_it_sends(app_factory):
    app = app_factory(REPORTER_ONION=True, REPORTER_FOLLOWUP_LIMIT="3 per minute")
    receipt = _receipt(app)
    guesser = _reporter(app)
    assert [guesser.follow_up(_wrong_receipt()).status_code for _ in range(3)] == [401] * 3
    waiting = guesser.follow_up(receipt)
    assert waiting.status_code == 429, "the answer must not tell a right receipt from a wrong one"
    assert 1 <= int(waiting.headers["Retry-After"]) <= 60
    assert "Too many attempts" in waiting.get_data(as_text=True)
    assert _reporter(app).follow_up(receipt).status_code == 302, "other sessions are not affected"


def test_a_flood_slows_every_session_but_refuses_no_reporter_for_good(app_factory, clock):
    app = app_factory(REPORTER_FOLLOWUP_GLOBAL_LIMIT="20 per minute", REPORTER_FOLLOWUP_SLOWDOWN_SECONDS=10)
    receipt = _receipt(app)
    patient = _reporter(app)
    token = patient.token("/followup")  # the form is open while the flood starts
    statuses = [_reporter(app).follow_up(_wrong_receipt()).status_code for _ in range(25)]
    assert statuses == [401] * 20 + [429] * 5, "beyond the global rate each new form must wait"
    clock(10)
    typed = patient.client.post("/followup", data={"receipt": receipt, "csrf_token": token})
    assert typed.status_code == 302, "a reporter who took the time to type gets in at once"
    hurried = _reporter(app)
    early = hurried.follow_up(receipt)
    assert early.status_code == 429 and 1 <= int(early.headers["Retry-After"]) <= 10
    assert "send your receipt again" in early.get_data(as_text=True)
    clock(int(early.headers["Retry-After"]))
    assert hurried.follow_up(receipt).status_code == 302


def test_sixty_wrong_receipts_write_one_audit_row_per_client_and_hour(app_factory):
    app = app_factory()
    guesser = _reporter(app, address="203.0.113.9")
    statuses = [guesser.follow_up(_wrong_receipt()).status_code for _ in range(60)]
    assert statuses == [401] * 10 + [429] * 50
    assert (_audited(app, "followup.denied"), _audited(app, "followup.throttled")) == (1, 1)
    assert _reporter(app, address="198.51.100.7").follow_up(_wrong_receipt()).status_code == 401
    assert _audited(app, "followup.denied") == 2, "another client is recorded once too"


def test_onion_service_posts_without_a_case_use_up_nobodys_replies(app_factory):
    app = app_factory(REPORTER_ONION=True, REPORTER_SUBMIT_LIMIT="5 per minute")
    receipt = _receipt(app)
    attacker = _reporter(app)
    token = attacker.token("/followup")
    statuses = {attacker.client.post("/followup/case/message", data={"body": "spam", "csrf_token": token})
                .status_code for _ in range(10)}
    assert statuses == {302}, "sent back to /followup, and counted against no one"
    reporter = _reporter(app)
    assert reporter.follow_up(receipt).status_code == 302
    token = reporter.token("/followup")
    replies = [reporter.client.post("/followup/case/message",
                                    data={"body": f"reply {n}", "csrf_token": token}).status_code
               for n in range(6)]
    assert replies == [302] * 5 + [429], "the limit is the case's own"
