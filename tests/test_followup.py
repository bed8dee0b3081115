"""The reporter's follow-up session: it needs both halves (cookie and server record), it times out,
and a receipt opens its own report and nothing else."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from reporter import vault
from reporter.crypto import receipts
from reporter.extensions import db
from reporter.keyring import read_escrow_private_key
from reporter.models import AuditEvent, Report, Seal, UnlockedSession
from reporter.models import base as models_base
from reporter.web.intake import views
from tests import casework
from tests.conftest import Reporter

COOKIE = "__Host-session"
A_MARKER, B_MARKER = "REPORT-A-7c1e", "REPORT-B-2d9f"


class Clock:
    """Move the app's wall clock (cookie idle time and server record expiry) forward."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real_time, real_utcnow = time.time, models_base.utcnow
        monkeypatch.setattr(time, "time", lambda: real_time() + self.offset)
        monkeypatch.setattr(views, "utcnow", lambda: real_utcnow() + timedelta(seconds=self.offset))

    def advance(self, *, minutes: float = 0, seconds: float = 0) -> None:
        self.offset += minutes * 60 + seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


def _opened(reporter: Reporter, marker: str = A_MARKER) -> str:
    receipt = reporter.receipt_of(reporter.submit(description=f"What happened: {marker}"))
    assert reporter.follow_up(receipt).status_code == 302
    return receipt


def _case(client: Any) -> tuple[int, str]:
    response = client.get("/followup/case")
    return response.status_code, response.get_data(as_text=True)


def _is_closed(client: Any) -> bool:
    response = client.get("/followup/case")
    return response.status_code == 302 and response.headers["Location"].endswith("/followup")


def _cookie(app, client) -> dict[str, Any]:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return dict(app.session_interface.get_signing_serializer(app).loads(cookie.value))


def _set_cookie(app, client, data: dict[str, Any]) -> None:
    value = app.session_interface.get_signing_serializer(app).dumps(data)
    client.set_cookie(COOKIE, value, domain="localhost", secure=True)


def _count(app, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_copied_cookie_opens_the_case_only_while_the_server_record_lives(app, reporter):
    _opened(reporter)
    thief = app.test_client()
    _set_cookie(app, thief, _cookie(app, reporter.client))
    assert A_MARKER in _case(thief)[1]
    with app.app_context():
        db.session.execute(UnlockedSession.__table__.delete())
        db.session.commit()
    assert _is_closed(thief)
    assert _is_closed(reporter.client)


@pytest.mark.parametrize("forgery", ["random-key", "no-key", "empty-key", "not-base64", "other-sessions-key",
                                     "other-sessions-token", "no-token"])
def test_server_record_without_its_cookie_key_opens_nothing(app, reporter, forgery):
    _opened(reporter)
    other = Reporter(app.test_client())
    _opened(other, B_MARKER)
    mine, theirs = _cookie(app, reporter.client)["reporter"], _cookie(app, other.client)["reporter"]
    forged = {
        "random-key": {**mine, "k": base64.b64encode(bytes(32)).decode()},
        "no-key": {"t": mine["t"], "seen": mine["seen"]},
        "empty-key": {**mine, "k": ""},
        "not-base64": {**mine, "k": "%%%"},
        "other-sessions-key": {**mine, "k": theirs["k"]},
        "other-sessions-token": {**mine, "t": theirs["t"]},
        "no-token": {"k": mine["k"], "seen": mine["seen"]},
    }[forgery]
    attacker = app.test_client()
    _set_cookie(app, attacker, {"reporter": forged})
    status, page = _case(attacker)
    assert status == 302 and A_MARKER not in page and B_MARKER not in page


def test_server_record_holds_neither_the_token_nor_the_data_key(app, reporter, escrow_private_key_path):
    _opened(reporter)
    ticket = _cookie(app, reporter.client)["reporter"]
    escrow = read_escrow_private_key(escrow_private_key_path)
    with app.app_context():
        record = db.session.scalars(select(UnlockedSession)).one()
        seal = db.session.scalars(select(Seal).where(Seal.recipient_kind == "escrow")).one()
        data_key = vault.open_public_key_seal(seal, escrow.private)
    assert record.id == hashlib.sha256(ticket["t"].encode()).hexdigest()
    assert ticket["t"] not in record.id
    assert data_key not in record.wrapped_secret
    assert base64.b64decode(ticket["k"]) not in record.wrapped_secret


def test_cookie_holds_no_receipt_data_key_or_report_text(app, reporter, escrow_private_key_path):
    receipt = _opened(reporter)
    readable = json.dumps(_cookie(app, reporter.client))
    escrow = read_escrow_private_key(escrow_private_key_path)
    with app.app_context():
        seal = db.session.scalars(select(Seal).where(Seal.recipient_kind == "escrow")).one()
        data_key = vault.open_public_key_seal(seal, escrow.private)
    for secret in (receipt, receipt.replace("-", ""), A_MARKER, base64.b64encode(data_key).decode(),
                   data_key.hex()):
        assert secret not in readable


def test_wrong_receipt_opens_no_session(app, reporter):
    _opened(reporter)
    reporter.client.post("/followup/logout", data={"csrf_token": reporter.token("/followup")})
    assert reporter.follow_up("0000-0000-0000-0000-0000").status_code == 401
    assert _count(app, UnlockedSession) == 0
    assert _is_closed(reporter.client)
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_role == "reporter")
                                          .order_by(AuditEvent.seq)))
    assert actions == ["report.submitted", "followup.opened", "followup.denied"]


def test_idle_session_closes_after_the_configured_minutes(app_factory, clock):
    app = app_factory(REPORTER_FOLLOWUP_IDLE_MINUTES=5, REPORTER_FOLLOWUP_MAX_MINUTES=120)
    reporter = Reporter(app.test_client())
    _opened(reporter)
    clock.advance(minutes=4)
    assert _case(reporter.client)[0] == 200
    stale_copy = _cookie(app, reporter.client)
    clock.advance(minutes=4)
    assert _case(reporter.client)[0] == 200, "each visit restarts the idle time"
    clock.advance(minutes=5, seconds=1)
    assert _is_closed(reporter.client)
    replay = app.test_client()
    _set_cookie(app, replay, stale_copy)
    assert _is_closed(replay)


def test_idle_time_is_measured_from_the_last_visit(app_factory, clock):
    app = app_factory(REPORTER_FOLLOWUP_IDLE_MINUTES=5)
    reporter = Reporter(app.test_client())
    _opened(reporter)
    clock.advance(minutes=5, seconds=-1)
    assert _case(reporter.client)[0] == 200
    clock.advance(minutes=5, seconds=2)
    assert _is_closed(reporter.client)


def test_session_closes_at_the_absolute_limit_however_active(app_factory, clock):
    app = app_factory(REPORTER_FOLLOWUP_IDLE_MINUTES=20, REPORTER_FOLLOWUP_MAX_MINUTES=30)
    reporter = Reporter(app.test_client())
    _opened(reporter)
    with app.app_context():  # the record keeps hours only; the cookie's signed opening time counts
        record = db.session.scalars(select(UnlockedSession)).one()
        assert record.created_at.minute == record.created_at.second == record.created_at.microsecond == 0
        assert record.expires_at.minute == 0
        assert timedelta(minutes=60) <= record.expires_at - record.created_at <= timedelta(minutes=150)
    for _ in range(2):
        clock.advance(minutes=10)
        assert _case(reporter.client)[0] == 200
    clock.advance(minutes=9)
    assert _case(reporter.client)[0] == 200
    clock.advance(minutes=1, seconds=1)
    assert _is_closed(reporter.client)


def test_expired_records_are_purged_when_the_next_case_is_opened(app_factory, clock):
    app = app_factory(REPORTER_FOLLOWUP_MAX_MINUTES=30)
    first = Reporter(app.test_client())
    _opened(first)
    clock.advance(minutes=151)  # past the hour the record keeps as its expiry
    _opened(Reporter(app.test_client()), B_MARKER)
    assert _count(app, UnlockedSession) == 1


def test_a_receipt_shows_its_own_report_and_never_another(app, reporter):
    receipt_a = _opened(reporter, A_MARKER)
    other = Reporter(app.test_client())
    receipt_b = _opened(other, B_MARKER)
    with app.app_context():
        report_ids = db.session.scalars(select(Report.id)).all()
    assert len(report_ids) == 2
    status, page = _case(reporter.client)
    assert status == 200 and A_MARKER in page and B_MARKER not in page
    for report_id in report_ids:
        for path in (f"/followup/case?id={report_id}", f"/followup/case?report={report_id}"):
            response = reporter.client.get(path)
            assert B_MARKER not in response.get_data(as_text=True)
        assert reporter.client.get(f"/followup/case/{report_id}").status_code == 404
    assert reporter.follow_up(receipt_b).status_code == 302
    status, page = _case(reporter.client)
    assert status == 200 and B_MARKER in page and A_MARKER not in page
    assert receipt_a != receipt_b


def test_ciphertext_moved_to_another_report_opens_nothing(app, reporter):
    """An insider copies report A's description over report B's: B's receipt must not show A's words."""
    receipt_a = reporter.receipt_of(reporter.submit(description=f"What happened: {A_MARKER}"))
    receipt_b = reporter.receipt_of(reporter.submit(description=f"What happened: {B_MARKER}"))
    assert reporter.follow_up(receipt_a).status_code == 302
    assert A_MARKER in _case(reporter.client)[1]
    a, b, table = _report_of(app, receipt_a), _report_of(app, receipt_b), Report.__table__
    with app.app_context():
        moved = db.session.scalars(select(table.c.description_ct).where(table.c.id == a)).one()
        db.session.execute(table.update().where(table.c.id == b).values(description_ct=moved))
        db.session.commit()
    assert reporter.follow_up(receipt_b).status_code == 302
    status, page = _case(reporter.client)
    assert status >= 400
    assert A_MARKER not in page and B_MARKER not in page and "Traceback" not in page
    assert "Your report could not be opened safely" in page
    failures = casework.events(app, "case.integrity_failure", b)
    assert failures and failures[-1].actor_role == "reporter" and failures[-1].detail == '{"part":"content"}'


def test_swapped_receipt_lookups_open_neither_report(app, reporter):
    """An insider swaps two reports' receipt lookups: each receipt now finds a seal it cannot open."""
    receipt_a = reporter.receipt_of(reporter.submit(description=f"What happened: {A_MARKER}"))
    receipt_b = reporter.receipt_of(reporter.submit(description=f"What happened: {B_MARKER}"))
    a, b = _report_of(app, receipt_a), _report_of(app, receipt_b)
    table = Report.__table__
    with app.app_context():
        lookups = {row.id: row.receipt_lookup for row in db.session.execute(select(table))}
        db.session.execute(table.update().where(table.c.id == a).values(receipt_lookup="swap"))
        db.session.execute(table.update().where(table.c.id == b).values(receipt_lookup=lookups[a]))
        db.session.execute(table.update().where(table.c.id == a).values(receipt_lookup=lookups[b]))
        db.session.commit()
    for receipt in (receipt_a, receipt_b):
        assert reporter.follow_up(receipt).status_code == 401
    assert _count(app, UnlockedSession) == 0


def _report_of(app, receipt: str) -> str:
    keyring = app.extensions["reporter.keyring"]
    lookup = receipts.lookup_id(keyring.receipt_lookup_key, receipts.normalise(receipt))
    with app.app_context():
        return str(db.session.scalars(select(Report.id).where(Report.receipt_lookup == lookup)).one())
