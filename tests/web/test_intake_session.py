"""The reporter's half of the browser session: what it keeps, when it goes idle, what it refuses."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask, session

from reporter import unlock
from reporter.web.intake import session as reporter_session

TICKET = unlock.Ticket(token="token-1", cookie_key=bytes(range(32)))
KEY = TICKET.to_cookie()["k"]
NOW = 1_800_000_000


class Clock:
    """Hold the wall clock still, and move it on when asked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = float(NOW)
        monkeypatch.setattr(time, "time", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def test_start_keeps_only_the_ticket_and_the_opening_and_last_seen_times(app: Flask, clock: Clock) -> None:
    with app.test_request_context():
        session["lang"] = "ka"
        session["staff"] = {"t": "staff-token"}
        reporter_session.start(TICKET)
        assert reporter_session.current() == TICKET
        assert session["reporter"] == {**TICKET.to_cookie(), "born": int(clock.now), "seen": int(clock.now)}
        assert session["staff"] == {"t": "staff-token"} and session["lang"] == "ka"


def test_current_is_none_without_a_reporter_session(app: Flask) -> None:
    with app.test_request_context():
        session["staff"] = {**TICKET.to_cookie(), "seen": int(time.time())}
        assert reporter_session.current() is None


def test_idle_after_the_limit_and_touch_starts_it_again(app_factory: Any, clock: Clock) -> None:
    app = app_factory(REPORTER_FOLLOWUP_IDLE_MINUTES=5)
    with app.test_request_context():
        reporter_session.start(TICKET)
        clock.advance(5 * 60)
        assert reporter_session.current() == TICKET, "exactly the limit is not yet idle"
        reporter_session.touch()
        assert session["reporter"]["seen"] == int(clock.now)
        clock.advance(5 * 60 + 1)
        assert reporter_session.current() is None


def test_touch_without_a_reporter_session_writes_nothing(app: Flask) -> None:
    with app.test_request_context():
        reporter_session.touch()
        assert "reporter" not in session


@pytest.mark.parametrize("value", [
    "not-a-dict",
    ["t", "k"],
    {"t": "token-1", "seen": NOW},
    {"k": KEY, "seen": NOW},
    {"t": "token-1", "k": "%%%", "seen": NOW},
    {"t": "token-1", "k": KEY, "seen": "soon"},
    {"t": "token-1", "k": KEY, "seen": None},
    {"t": "token-1", "k": KEY},
], ids=["string", "list", "no-key", "no-token", "not-base64", "seen-not-a-time", "seen-null", "no-seen"])
def test_malformed_cookie_values_give_none(app: Flask, clock: Clock, value: object) -> None:
    with app.test_request_context():
        session["reporter"] = value
        assert reporter_session.current() is None


def test_forget_drops_the_reporter_values_and_returns_the_token(app: Flask) -> None:
    with app.test_request_context():
        session["lang"] = "ru"
        reporter_session.start(TICKET)
        assert reporter_session.forget() == TICKET.token
        assert "reporter" not in session and session["lang"] == "ru"
        assert reporter_session.current() is None
        assert reporter_session.forget() is None


def test_forget_returns_no_token_from_malformed_values(app: Flask) -> None:
    with app.test_request_context():
        session["reporter"] = {"t": 7}
        assert reporter_session.forget() is None
        assert "reporter" not in session


@pytest.mark.parametrize(("seen", "idle"), [(1000, False), (700, False), (699, True), (None, True),
                                            ("1000", False), ("later", True), ([], True)])
def test_the_shared_idle_rule(seen: object, idle: bool) -> None:
    assert unlock.is_idle(seen, 1000, 300) is idle
