"""Auditor's workspace benchmark: /audit pages at 1,000,000 events against the bare SQL query.

Usage: python bench/audit_workspace.py [--events N] [--repeat R] [--database-url URL]

1. Bulk-inserts a valid chain of N events (hashes from reporter.audit.canonical/chain_hash, a signed
   checkpoint every 100 events, the audit_head row matching the last event) with Core executemany.
   Events come from 100 actors in turn, so an actor filter matches 1% of them.
2. Enrols an auditor the real way (tests/staffing.py) and logs in through the Flask test client.
3. Times, R times each after a warm-up, the whole request (login check, query, template) for:
   the first page of /audit, a deep page (before=N/2), a page filtered by one actor (1%), and one
   case's access report; and, as the baseline, the bare SQL query that fetches the same rows.
   Prints the median in ms of each and the ratio. The staff home page, which reads no audit event,
   shows what any logged-in page costs (session check, template) apart from the audit query.

Runs on a temporary SQLite file by default; --database-url runs on a PostgreSQL database whose public
schema the benchmark drops first (use a database of its own, never one you care about).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fresh import fresh_instance, median_ms  # noqa: E402

from reporter import create_app  # noqa: E402
from reporter.audit import chain, review  # noqa: E402
from reporter.audit.checkpoints import DEFAULT_EVERY  # noqa: E402
from reporter.models import AuditCheckpoint, AuditEvent, AuditHead  # noqa: E402
from tests.conftest import HttpsClient  # noqa: E402
from tests.staffing import StaffDirectory, login  # noqa: E402

ACTORS = 100
ACTIONS = ("case.viewed", "case.status_changed", "case.note_added", "attachment.downloaded",
           "staff.login", "staff.logout", "report.submitted", "followup.accessed")
START = datetime(2026, 1, 1)
BATCH = 10_000
#: The checkpoint interval the application uses by default (events, seconds).
EVERY = DEFAULT_EVERY


def actor_id(number: int) -> str:
    """Return the id of the benchmark's actor `number`."""
    return f"{number:032x}"


def case_id(seq: int) -> str:
    """Return the case an event is about: 10,000 cases, about 100 events each."""
    return f"{(seq * 7919) % 10_000:032x}"


def fill_chain(engine: Engine, count: int, signer: Any) -> None:
    """Insert a valid chain of `count` events, checkpoints as the application signs them, and its head."""
    events: Any = AuditEvent.__table__
    checkpoints: Any = AuditCheckpoint.__table__
    head: Any = AuditHead.__table__
    key = chain.key_id(signer.public_key())
    prev, at = chain.GENESIS_HASH, START
    rows: list[dict[str, Any]] = []
    signed: list[dict[str, Any]] = []
    for seq in range(1, count + 1):
        at = START + timedelta(seconds=seq)
        who, action, case = actor_id(seq % ACTORS), ACTIONS[seq % len(ACTIONS)], case_id(seq)
        detail = chain.encode_detail({"n": seq})
        content = chain.canonical(seq, at, who, "focal_point", action, "report", case, detail)
        event_hash = chain.chain_hash(prev, content)
        rows.append({"seq": seq, "at": at, "actor_id": who, "actor_role": "focal_point", "action": action,
                     "object_type": "report", "object_id": case, "detail": detail, "prev_hash": prev,
                     "hash": event_hash})
        prev = event_hash
        if seq == 1 or seq % EVERY[0] == 0 or seq == count:
            signed.append({"seq": seq, "hash": event_hash, "at": at, "key_id": key,
                           "signature": signer.sign(chain.checkpoint_message(seq, event_hash, at, EVERY)),
                           "every_events": EVERY[0], "every_seconds": EVERY[1]})
        if len(rows) == BATCH or seq == count:
            with engine.begin() as connection:
                connection.execute(insert(events), rows)
                if signed:
                    connection.execute(insert(checkpoints), signed)
            rows, signed = [], []
    with engine.begin() as connection:
        connection.execute(update(head).where(head.c.id == 1).values(seq=count, hash=prev, checkpoint_at=at))
        connection.execute(text("ANALYZE"))


def main() -> None:
    """Fill the chain, log in as an auditor, and print page and baseline medians."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    count = options.events
    instance, url, engine = fresh_instance("reporter-bench-audit-ws-", options.database_url)

    os.environ["REPORTER_INSTANCE_PATH"] = instance
    app = create_app({"TESTING": True, "REPORTER_DATABASE_URL": url, "REPORTER_ARGON2_TEST_FAST": True,
                      "REPORTER_KEYS_PATH": os.path.join(instance, "keys")})
    app.test_client_class = HttpsClient
    start = time.perf_counter()
    fill_chain(engine, count, app.extensions["reporter.keyring"].audit_signing_key)
    print(f"backend {engine.dialect.name}, {count:,} events inserted in {time.perf_counter() - start:.1f} s, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")

    client = app.test_client()
    assert login(client, StaffDirectory(app).make(role="auditor")).status_code == 302
    one_actor, one_case = actor_id(7), case_id(7)
    columns = "seq, at, actor_id, actor_role, action, object_type, object_id, detail, prev_hash, hash"
    newest = f"SELECT {columns} FROM audit_events"
    cases = [
        ("staff home (no audit query)", "/staff/", "SELECT 1", {}),
        ("first page", "/audit", f"{newest} ORDER BY seq DESC LIMIT 51", {}),
        (f"deep page (before={count // 2})", f"/audit?before={count // 2}",
         f"{newest} WHERE seq < :b ORDER BY seq DESC LIMIT 51", {"b": count // 2}),
        ("actor filter (1%)", f"/audit?actor={one_actor}",
         f"{newest} WHERE actor_id = :a ORDER BY seq DESC LIMIT 51", {"a": one_actor}),
        ("case access report", f"/audit/cases/{one_case}",
         f"{newest} WHERE object_type = 'report' AND object_id = :o ORDER BY seq", {"o": one_case}),
    ]
    print(f"{'page':<28} {'rows':>5} {'page ms':>9} {'SQL ms':>8} {'ratio':>7}")
    with engine.connect() as connection:
        for label, path, sql, params in cases:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            rows = len(connection.execute(text(sql), params).all())
            page = median_ms(lambda path=path: client.get(path).get_data(), options.repeat)
            bare = median_ms(lambda sql=sql, params=params: connection.execute(text(sql), params).all(),
                             options.repeat)
            print(f"{label:<28} {rows:>5} {page:>9.2f} {bare:>8.2f} {page / bare:>6.1f}x")
    readable_costs(engine, client, one_actor, options.repeat)
    engine.dispose()


def readable_costs(engine: Engine, client: Any, one_actor: str, repeat: int) -> None:
    """Print what reading the log costs: the action list, a CSV export with and without readable columns."""
    distinct_sql = text("SELECT DISTINCT action FROM audit_events")
    with Session(engine) as session, engine.connect() as connection:
        loose = median_ms(lambda: review.actions_in_log(session), repeat)
        distinct = median_ms(lambda: connection.execute(distinct_sql).all(), repeat)
        count = len(review.actions_in_log(session))
        print(f"action list ({count} actions): loose index scan {loose:.2f} ms, "
              f"SELECT DISTINCT {distinct:.2f} ms")
        flt = review.EventFilter(actor=one_actor)
        rows = sum(1 for _ in review.iter_events(session, flt))
        raw = median_ms(lambda: sum(map(len, review.to_csv(review.iter_events(session, flt)))), 3)
    web = median_ms(lambda: client.get(f"/audit/export.csv?actor={one_actor}").get_data(), 3)
    print(f"CSV export of {rows:,} events: raw columns only {raw:.0f} ms, "
          f"/audit/export.csv with readable columns {web:.0f} ms ({web / raw:.1f}x)")


if __name__ == "__main__":
    main()
