"""Audit chain benchmark: append and verify throughput against plain inserts and reads.

Usage: python bench/audit.py [--events N] [--batch B] [--rounds R] [--database-url URL]

For each variant the same rows are written in transactions of B events:
  - append (1 process):   reporter.audit.record() per event (head lock, hash, checkpoint when due)
  - append (4 processes): the same from 4 processes at once, N/4 events each
  - baseline insert:      the same rows through the same ORM session into a table with the same columns
                          and secondary indexes as audit_events, without head lock or hashing
  - verify:               reporter.audit.verify_chain() over all N events (hashes and signatures),
                          in 1 process (workers=1), then with its default: from 50,000 events, one
                          process per CPU (the caller and CPUs - 1 workers, one seq range each)
  - baseline read:        the same columns in the same order through one SQLAlchemy Core query, without
                          hashing, in 1 process, then split as verify splits the chain (same ranges,
                          same kind of worker processes, the last range read by the caller)
  - raw chain read:       the chain's own rows (hashes included) fetched the way verify fetches them,
                          straight from the driver, without hashing, in 1 process: what verify costs
                          beyond reading is the hashing
The five read and verify variants run R rounds (default 3) in ABBA order; their medians are printed.
Targets: verify >= 200,000 events/s and >= 0.5 of the plain read; append <= 1.5x the plain insert time.
Runs on a temporary SQLite file by default; --database-url runs on a PostgreSQL database that the
benchmark empties first (never point it at a database you care about).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    select,
    text,
)
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fresh import fresh_instance  # noqa: E402

from reporter import create_app  # noqa: E402
from reporter.audit import chain, scan
from reporter.audit.rows import chain_rows
from reporter.database import make_engine  # noqa: E402
from reporter.extensions import db  # noqa: E402
from reporter.models.base import utcnow  # noqa: E402

# The same columns and the same secondary indexes as audit_events (reporter/models/audit.py: `at`, and
# (actor_id, seq), (action, seq), (object_id, seq) for the auditor's filters), so the baseline maintains
# what any table holding these rows for the workspace would; the chain adds prev_hash, hash, the head
# row and its lock.
PLAIN = Table(
    "bench_plain_audit", MetaData(),
    Column("seq", Integer, primary_key=True, autoincrement=False), Column("at", DateTime, index=True),
    Column("actor_id", String(64)), Column("actor_role", String(16)), Column("action", String(64)),
    Column("object_type", String(32)), Column("object_id", String(64)), Column("detail", Text),
    Index("ix_bench_plain_audit_actor_id_seq", "actor_id", "seq"),
    Index("ix_bench_plain_audit_action_seq", "action", "seq"),
    Index("ix_bench_plain_audit_object_id_seq", "object_id", "seq"),
)
PLAIN_INSERT = PLAIN.insert()
PLAIN_COLUMNS = ("seq", "at", "actor_id", "actor_role", "action", "object_type", "object_id", "detail")
PLAIN_READ = select(*(PLAIN.c[name] for name in PLAIN_COLUMNS)).order_by(PLAIN.c.seq)
ACTOR = chain.Actor("focal_point", "f" * 32)


def make_app(instance: str, url: str) -> Any:
    """Build the app on the benchmark's instance folder and database."""
    os.environ["REPORTER_INSTANCE_PATH"] = instance
    return create_app({"TESTING": True, "REPORTER_DATABASE_URL": url,
                       "REPORTER_KEYS_PATH": os.path.join(instance, "keys")})


def _with_retries(work: Any) -> int:
    """Run one transaction, again while SQLite says another writer held the lock too long."""
    for attempt in range(100):
        try:
            work()
            return attempt
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
    raise SystemExit("a transaction could not get the database lock 100 times in a row")


def append_events(instance: str, url: str, count: int, batch: int) -> None:
    """Append `count` chained events in transactions of `batch`."""
    app = make_app(instance, url)
    with app.app_context():
        done = 0
        while done < count:
            def transaction(done: int = done) -> None:
                with db.writing() as session:
                    for number in range(min(batch, count - done)):
                        chain.record(session, actor=ACTOR, action="case.viewed", object_type="report",
                                     object_id=f"{done + number:032x}", detail={"n": done + number})
                    session.commit()
            _with_retries(transaction)
            done += batch


def insert_plain(instance: str, url: str, count: int, batch: int, offset: int = 0) -> None:
    """Insert the same rows without head lock or hashing, through the same kind of session."""
    app = make_app(instance, url)
    with app.app_context():
        done = 0
        while done < count:
            def transaction(done: int = done) -> None:
                with db.writing() as session:
                    for number in range(min(batch, count - done)):
                        seq = offset + done + number + 1
                        session.execute(PLAIN_INSERT, {
                            "seq": seq, "at": utcnow(), "actor_id": ACTOR.id, "actor_role": ACTOR.role,
                            "action": "case.viewed", "object_type": "report", "object_id": f"{seq:032x}",
                            "detail": chain.encode_detail({"n": seq})})
                    session.commit()
            _with_retries(transaction)
            done += batch


def run_parallel(target: Any, processes: int, args: list[tuple[Any, ...]]) -> float:
    """Run `target` in `processes` processes at once and return the wall time."""
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=target, args=arg) for arg in args[:processes]]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise SystemExit(f"a worker failed with exit code {worker.exitcode}")
    return time.perf_counter() - start


def read_plain(connection: Any, after: int | None, upto: int | None) -> int:
    """Read the plain rows with after < seq <= upto (None: no bound) in seq order; return how many."""
    query = PLAIN_READ
    if after is not None:
        query = query.where(PLAIN.c.seq > after)
    if upto is not None:
        query = query.where(PLAIN.c.seq <= upto)
    return sum(1 for _ in connection.execute(query.execution_options(yield_per=10000)))


def read_plain_range(url: str, after: int | None, upto: int | None) -> int:
    """Read one range of the plain rows on a connection of this process's own."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = read_plain(connection, after, upto)
    engine.dispose()
    return rows


def read_plain_split(session: Any, url: str, processes: int, last: int) -> int:
    """Read the plain rows split as verify_chain splits the chain: the same ranges, the same kind of
    worker processes, the last range read by this process in its session."""
    if processes == 1:  # below the parallel threshold verify_chain reads in one process too
        return read_plain(session.connection(), None, None)
    cuts = [last * part // processes for part in range(1, processes)]
    ranges = list(zip([None, *cuts], [*cuts, None], strict=True))
    with scan.worker_pool(processes - 1) as pool:
        futures = [pool.submit(read_plain_range, url, after, upto) for after, upto in ranges[:-1]]
        rows = read_plain(session.connection(), ranges[-1][0], None)
        return rows + sum(future.result() for future in futures)


def read_chain_raw(session: Any) -> int:
    """Fetch every chain row as verify_chain does (driver cursor, same batches), hash nothing."""
    connection = session.connection()
    with chain_rows(connection.connection.driver_connection, connection.dialect, None, None) as fetched:
        return sum(map(len, fetched.batches))


def reset(url: str) -> None:
    """Empty the chain and the plain table."""
    engine = create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_checkpoints_no_delete"))
        connection.execute(text("DELETE FROM audit_events"))
        connection.execute(text("DELETE FROM audit_checkpoints"))
        connection.execute(text(f"DELETE FROM {PLAIN.name}"))
        connection.execute(text("UPDATE audit_head SET seq = 0, hash = :g, checkpoint_at = NULL"),
                           {"g": "0" * 64})
    engine.dispose()


def median_rates(variants: dict[str, Any], rounds: int) -> dict[str, float]:
    """Time each variant `rounds` times, in forward then reverse order (ABBA), so that other load on
    a shared machine falls on all of them alike; print and return the median events per second."""
    rates: dict[str, list[float]] = {label: [] for label in variants}
    events: dict[str, int] = {}
    for round_number in range(rounds):
        order = list(variants) if round_number % 2 == 0 else list(reversed(variants))
        for label in order:
            start = time.perf_counter()
            events[label] = variants[label]()
            rates[label].append(events[label] / (time.perf_counter() - start))
    medians = {label: statistics.median(values) for label, values in rates.items()}
    for label, rate in medians.items():
        spread = f"median of {rounds}: {min(rates[label]):,.0f}-{max(rates[label]):,.0f}"
        print(f"{label:<32} {events[label]:>9,} events {rate:>12,.0f} events/s ({spread})")
    return medians


def timed(label: str, events: int, seconds: float) -> float:
    """Print and return events per second."""
    rate = events / seconds
    print(f"{label:<32} {events:>9,} events {seconds:8.2f} s {rate:>12,.0f} events/s")
    return rate


def main() -> None:
    """Run every variant and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the read and verify variants")
    parser.add_argument("--database-url")
    options = parser.parse_args()
    count, batch, processes = options.events, options.batch, options.processes
    instance, url, engine = fresh_instance("reporter-bench-audit-", options.database_url)
    PLAIN.create(engine, checkfirst=True)
    engine.dispose()
    print(f"backend {engine.dialect.name}, {count:,} events, transactions of {batch}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")

    start = time.perf_counter()
    insert_plain(instance, url, count, batch)
    plain = timed("baseline insert (1 process)", count, time.perf_counter() - start)
    start = time.perf_counter()
    append_events(instance, url, count, batch)
    append = timed("append (1 process)", count, time.perf_counter() - start)

    app = make_app(instance, url)
    public_key = app.extensions["reporter.keyring"].audit_signing_key.public_key()
    # verify_chain's defaults: one process per CPU once the chain reaches PARALLEL_THRESHOLD events.
    split = (os.cpu_count() or 1) if count >= chain.PARALLEL_THRESHOLD else 1
    with app.app_context(), db.writing() as session:
        variants = {
            "baseline read (1 process)": lambda: read_plain(session.connection(), None, None),
            f"baseline read ({split} processes)": lambda: read_plain_split(session, url, split, count),
            "raw chain read (1 process)": lambda: read_chain_raw(session),
            "verify (1 process)": lambda: chain.verify_chain(session, public_key, workers=1).events,
            f"verify ({split} processes, default)": lambda: chain.verify_chain(session, public_key).events,
        }
        rates = median_rates(variants, options.rounds)
    read, read_split, raw_read, verify_one, verify = rates.values()

    reset(url)
    share = count // processes
    seconds = run_parallel(insert_plain, processes,
                           [(instance, url, share, batch, i * share) for i in range(processes)])
    plain_parallel = timed(f"baseline insert ({processes} processes)", share * processes, seconds)
    seconds = run_parallel(append_events, processes, [(instance, url, share, batch)] * processes)
    append_parallel = timed(f"append ({processes} processes)", share * processes, seconds)
    with app.app_context(), db.writing() as session:
        assert chain.verify_chain(session, public_key).events == share * processes

    print()
    ratios = [
        ("append time vs plain insert, 1 process:", f"{plain / append:5.2f}x (target <= 1.5x)"),
        (f"append time vs plain insert, {processes} processes:",
         f"{plain_parallel / append_parallel:5.2f}x (target <= 1.5x)"),
        (f"verify ({split} processes) vs plain read (1 process):", f"{verify / read:5.2f}  (target >= 0.5)"),
        (f"verify vs plain read, both in {split} processes:", f"{verify / read_split:5.2f}"),
        ("verify vs plain read, both in 1 process:", f"{verify_one / read:5.2f}"),
        ("verify vs raw chain read, both in 1 process:", f"{verify_one / raw_read:5.2f}"),
        (f"verify rate ({split} processes):", f"{verify:,.0f} events/s (target >= 200,000)"),
    ]
    for label, figure in ratios:
        print(f"{label:<52} {figure}")


if __name__ == "__main__":
    main()
