"""Fast verification gives the same verdict as one pass from genesis, also split across processes."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from datetime import datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from reporter.audit import chain as audit
from reporter.audit import rows
from reporter.audit import scan as audit_scan
from reporter.audit.chain import Actor, ChainBroken
from reporter.audit.scan import RangeScan
from reporter.extensions import db
from tests.tampering import forge, tamper

OFFICER = Actor("focal_point", "a" * 32)
EVENTS = 3000
# Three ranges: seq <= 1000 and 1000 < seq <= 2000 in worker processes, seq > 2000 in the caller.
PARALLEL = {"workers": 3, "parallel_threshold": 100}
SERIAL = {"workers": 1}
HASH_BROKEN = "hash does not match the event's content"
PREV_BROKEN = "prev_hash does not match the previous event"
VALUES = [None, "", "plain", "line\nbreak", '"], ["forged', "back\\slash", "\x00\x1f\x7f", "Пётр",
          "\U0001f600 emoji", "\u2028"]


def _append(app, count: int) -> None:
    with app.app_context(), db.writing() as session:
        for number in range(count):
            audit.record(session, actor=OFFICER, action="case.viewed", object_type="report",
                         object_id=f"r{number}", detail={"n": number})
        session.commit()


def _outcome(app, **options: Any) -> audit.Verified | tuple[int, str]:
    """Return what verify_chain says: the result, or the seq and reason of the first break."""
    public_key = app.extensions["reporter.keyring"].audit_signing_key.public_key()
    with app.app_context(), db.writing() as session:
        try:
            return audit.verify_chain(session, public_key, **options)
        except ChainBroken as broken:
            return broken.seq, broken.reason


@pytest.fixture
def chain(app):
    """Return the app with a chain of EVENTS events (checkpoints at 1, 1000, 2000 and 3000)."""
    _append(app, EVENTS)
    return app


# Events and the hashes the chain stored for them before verification was rewritten: the stored
# format must never change. Each: the event's content, its time as SQLite stores it, prev_hash, hash.
KNOWN = [
    ((1, datetime(2026, 1, 1, 12, 0, 0, 5), "a" * 32, "focal_point", "case.viewed", "report", "r1",
      '{"n":1}'),
     "2026-01-01 12:00:00.000005", audit_scan.GENESIS_HASH,
     "4e989f8862fcd0944f980bb8f5b1996298e55db3f3ec85e28cc4fb48cbe84e46"),
    ((2, datetime(2026, 1, 1), None, "reporter", "report.submitted", None, None, r'{"q":"\u00e9\n\""}'),
     "2026-01-01 00:00:00.000000", "ab" * 32,
     "f10ac04c70c4e769675a069476ee80e9f125fdda28d89cc1d19139e2c7c09161"),
]


@pytest.mark.parametrize(("content", "sqlite_at", "prev", "stored"), KNOWN)
def test_hashes_stored_before_stay_the_same_on_every_path(content, sqlite_at, prev, stored):
    assert audit.chain_hash(prev, audit.canonical(*content)) == stored
    row = (*content, prev, stored)
    assert audit_scan.scan([[row]], {}) == RangeScan(content[0], prev, content[0], stored, None)
    sqlite_row = (content[0], sqlite_at, *row[2:])
    assert audit_scan.scan([[sqlite_row]], {}, rows.sqlite_at_text) == RangeScan(
        content[0], prev, content[0], stored, None)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("slot", range(3, 9))
def test_canonical_text_is_the_json_array_for_any_value_in_any_field(slot, value):
    fields: list[Any] = ["reporter/audit/v1", 7, "2026-03-08T09:30:15.123456", "a", "admin", "login",
                         "report", "r1", "{}"]
    fields[slot] = value
    expected = json.dumps(fields, ensure_ascii=True, separators=(",", ":"))
    assert audit_scan.canonical_text(*fields[1:]) == expected


@pytest.mark.parametrize("moment", [datetime(2026, 3, 8, 9, 30, 15, 123456), datetime(2026, 1, 1, 0, 0, 0, 1),
                                    datetime(2026, 12, 31, 23, 59, 59, 999999)])
def test_sqlite_time_text_reads_as_sqlalchemy_reads_it(moment):
    stored = moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy writes DateTime to SQLite
    read_by_sqlalchemy = datetime.fromisoformat(stored).isoformat()
    assert rows.sqlite_at_text(stored) == read_by_sqlalchemy == moment.isoformat()


@pytest.mark.parametrize("microsecond", [0, 1, 120000, 300000, 999999, 100])
def test_postgresql_time_text_reads_as_psycopg_reads_it(microsecond):
    moment = datetime(2026, 3, 8, 9, 30, 15, microsecond)
    fraction = f".{microsecond:06d}".rstrip("0") if microsecond else ""
    printed = moment.strftime("%Y-%m-%d %H:%M:%S") + fraction  # PostgreSQL's output, DateStyle ISO
    assert rows.postgresql_at_text(printed) == moment.isoformat()


@pytest.mark.parametrize("microsecond", [0, 1, 120000, 999999])
def test_events_at_any_fraction_of_a_second_verify(app, microsecond):
    with app.app_context(), db.writing() as session:
        for _ in range(3):
            audit.record(session, actor=OFFICER, action="case.viewed",
                         at=datetime(2026, 3, 8, 9, 30, 15, microsecond))
        session.commit()
    assert _outcome(app, **SERIAL) == audit.Verified(events=3, last_checkpoint=1)


def test_postgresql_with_another_date_style_verifies_from_datetimes(app, backend):
    if backend != "postgresql":
        pytest.skip("a PostgreSQL setting")
    _append(app, 3)
    public_key = app.extensions["reporter.keyring"].audit_signing_key.public_key()
    with app.app_context(), db.writing() as session:
        session.execute(text("SET DateStyle = 'SQL, DMY'"))
        result = audit.verify_chain(session, public_key, **SERIAL)
    assert result == audit.Verified(events=3, last_checkpoint=1)
    tamper(backend, "UPDATE audit_events SET detail = 'tampered' WHERE seq = 2")
    with app.app_context(), db.writing() as session, pytest.raises(ChainBroken) as broken:
        session.execute(text("SET DateStyle = 'SQL, DMY'"))
        audit.verify_chain(session, public_key, **SERIAL)
    assert (broken.value.seq, broken.value.reason) == (2, HASH_BROKEN)


def test_a_time_that_cannot_be_read_breaks_the_chain_instead_of_failing():
    at = datetime(2026, 1, 1)
    content = audit.canonical(1, at, None, "system", "x", None, None, "{}")
    row = (1, at, None, "system", "x", None, None, "{}", audit.GENESIS_HASH,
           audit.chain_hash(audit.GENESIS_HASH, content))
    assert audit.verify_rows([row]) == 1
    with pytest.raises(ChainBroken) as broken:
        audit.verify_rows([(1, 20260101, *row[2:])])
    assert (broken.value.seq, broken.value.reason) == (1, HASH_BROKEN)


def test_ranges_join_from_genesis_across_an_empty_range():
    first = RangeScan(1, audit.GENESIS_HASH, 10, "h10", None)
    third = RangeScan(21, "h20", 30, "h30", None)
    assert audit_scan.join([first, None, third]) == (10, (11, "event 11 is missing (found 21 next)"))
    assert audit_scan.join([first, RangeScan(11, "h10", 20, "h20", None), third]) == (30, None)
    assert audit_scan.join([RangeScan(1, "f" * 64, 10, "h10", None)])[1] == (1, PREV_BROKEN)


def test_intact_chain_verifies_the_same_in_parallel_and_in_one_pass(chain):
    expected = audit.Verified(events=EVENTS, last_checkpoint=EVENTS)
    assert _outcome(chain, **PARALLEL) == _outcome(chain, **SERIAL) == expected


def test_workers_start_as_fresh_interpreters_while_other_threads_run(chain, monkeypatch):
    # Forking a process with other threads could copy a lock they hold: the workers are spawned then.
    methods: list[str] = []
    get_context = multiprocessing.get_context

    def spy(method: str) -> Any:
        methods.append(method)
        return get_context(method)

    monkeypatch.setattr(multiprocessing, "get_context", spy)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        result = _outcome(chain, **PARALLEL)
    finally:
        stop.set()
        other.join()
    assert result == audit.Verified(events=EVENTS, last_checkpoint=EVENTS)
    assert methods == ["spawn"]


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (["UPDATE audit_events SET detail = 'tampered' WHERE seq = 1500"], (1500, HASH_BROKEN)),
        (["UPDATE audit_events SET actor_id = 'someone' WHERE seq IN (1200, 2500)"], (1200, HASH_BROKEN)),
        (["UPDATE audit_events SET detail = 'tampered' WHERE seq = 1001"], (1001, HASH_BROKEN)),
        (["UPDATE audit_events SET hash = :forged WHERE seq = 1000"], (1000, HASH_BROKEN)),
        (["UPDATE audit_events SET prev_hash = :forged WHERE seq = 2001"], (2001, PREV_BROKEN)),
        (["DELETE FROM audit_events WHERE seq = 1000"], (1000, "event 1000 is missing (found 1001 next)")),
        (["DELETE FROM audit_events WHERE seq = 1001"], (1001, "event 1001 is missing (found 1002 next)")),
        (["DELETE FROM audit_events WHERE seq > 1000 AND seq <= 2000"],
         (1001, "event 1001 is missing (found 2001 next)")),
        (["UPDATE audit_events SET seq = -1 WHERE seq = 1000",
          "UPDATE audit_events SET seq = 1000 WHERE seq = 1001",
          "UPDATE audit_events SET seq = 1001 WHERE seq = -1"], (1000, PREV_BROKEN)),
        (["DELETE FROM audit_events WHERE seq > 2500",
          "UPDATE audit_head SET seq = 2500, hash = (SELECT hash FROM audit_events WHERE seq = 2500)"],
         (2501, "events after 2500 are missing; a checkpoint signed seq 3000")),
    ],
    ids=["change-2nd-range", "two-changes", "change-first-of-range", "hash-last-of-range",
         "prev-hash-first-of-range", "delete-last-of-range", "delete-first-of-range", "delete-whole-range",
         "swap-across-boundary", "delete-tail"],
)
def test_parallel_verification_names_the_first_broken_seq_as_one_pass_does(chain, backend, statements,
                                                                            expected):
    tamper(backend, *statements, forged="f" * 64)
    assert _outcome(chain, **PARALLEL) == expected
    assert _outcome(chain, **SERIAL) == expected


def test_forged_second_range_with_recomputed_hashes_is_caught_by_its_checkpoint(chain, backend):
    forge(backend, 1450, '{"forged":true}')
    expected = (1500, "event differs from its signed checkpoint")
    assert _outcome(chain, **PARALLEL) == _outcome(chain, **SERIAL) == expected


def test_a_worker_that_cannot_read_the_chain_raises_its_error(chain, database_url, backend):
    # This process reads the real database; the URL the workers get names a database that is not there.
    url = make_url(database_url)
    if backend == "sqlite":
        assert url.database is not None
        real = url.database
        missing = url.set(database=f"{real}-missing/reporter.db")
        engine = create_engine(missing, creator=lambda: sqlite3.connect(real, check_same_thread=False))
    else:
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        missing = url.set(database="reporter_missing_database")
        engine = create_engine(missing, creator=lambda: psycopg.connect(conninfo))
    with Session(engine) as session, pytest.raises(OperationalError):
        audit.verify_chain(session, **PARALLEL)
    engine.dispose()
