"""Retention purge benchmark: purge 10 % of N cases while submissions keep arriving.

Usage: python bench/retention.py [--cases N] [--expired-share 0.1] [--batch-size B] [--database-url URL]

1. Bulk-inserts N reports (default 100,000) with Core executemany: plaintext metadata, field ciphertexts of
   realistic size, and per report an escrow seal, a reporter seal and two staff seals of the real hybrid
   HPKE size, two notes and one attachment row per expired case, whose encrypted file (the chunked format's
   header and random bytes of a small photo's size) is written into the real attachment store. A share of
   the reports (default 10 %) is closed with a retention date in the past. Twenty more reports are
   submitted the real way (submit_report: real seals) and closed with a past date, so the purge also meets
   real seals and real audit events.
2. Purges every expired case with `reporter.lifecycle.purge.purge` (as `reporter retention purge` does)
   while a second thread writes a submission-like transaction every 20 ms (a report row with its seals and
   an audit event, one commit, as submit_report writes) and records how long each waited.
3. Prints the purge time, cases per second, the longest batch (how long one transaction held the write
   lock), the peak Python memory of the purge (tracemalloc: it follows the batch size, not N), the peak
   RSS of the process, and the submission latency during the purge against the same writes without it.

No assertions: figures only. Runs on a temporary SQLite file by default; --database-url runs on a
PostgreSQL database whose public schema the benchmark drops first (a database of its own).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import threading
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fresh import fresh_instance  # noqa: E402

from reporter import create_app  # noqa: E402
from reporter.audit import chain  # noqa: E402
from reporter.crypto import chunks, seals  # noqa: E402
from reporter.extensions import db  # noqa: E402
from reporter.intake.submission import submit_report  # noqa: E402
from reporter.intake.validation import ReportDraft  # noqa: E402
from reporter.lifecycle import purge  # noqa: E402
from reporter.models import Attachment, CaseEntry, Report, Seal  # noqa: E402
from reporter.models.base import new_id, utcnow  # noqa: E402
from reporter.models.report import CATEGORIES  # noqa: E402
from reporter.web import context  # noqa: E402
from tests.staffing import StaffDirectory  # noqa: E402

COUNTRIES = ("GE", "AM", "AZ", "UA", "MD", "BY", "KZ", "KG", "TJ", "UZ", "TM")
BATCH = 5_000
SEALED_KEY_BYTES = 1_088 + 32 + 48  # ML-KEM-768 + X25519 encapsulation + AES-GCM of a 32-byte key
FILE_BYTES = 24 * 1024
REAL_CASES = 20
WRITE_EVERY = 0.02


def _report_row(rng: random.Random, number: int, now: Any, expired: bool) -> dict[str, Any]:
    past = now - timedelta(days=rng.randint(400, 800))
    return {
        "id": f"{rng.getrandbits(128):032x}", "receipt_lookup": f"{rng.getrandbits(256):064x}",
        "created_hour": (past if expired else now - timedelta(hours=rng.randint(0, 24 * 365))).replace(
            minute=0, second=0, microsecond=0),
        "country": COUNTRIES[number % len(COUNTRIES)], "incident_kind": "online",
        "category": rng.choice(CATEGORIES), "language": "ru", "status": "closed" if expired else "assessing",
        "risk": "low", "closed_at": past + timedelta(days=10) if expired else None,
        "retention_until": past + timedelta(days=375) if expired else None, "key_version": 1,
        "needs_routing": False, "version": 1, "description_ct": os.urandom(540),
        "perpetrator_ct": os.urandom(60), "contact_ct": os.urandom(60), "occurred_on_ct": os.urandom(60),
        "submitted_at_ct": os.urandom(60), "excluded_ct": os.urandom(60),
    }


def _fill(engine: Engine, app: Any, count: int, share: float, escrow_id: str) -> int:
    """Bulk-insert `count` reports, `share` of them expired with notes and a file; return how many expired."""
    rng = random.Random(11)
    now = utcnow()
    store = context.attachment_store(app)
    every = max(1, round(1 / share)) if share > 0 else count + 1
    rows: dict[str, list[dict[str, Any]]] = {"reports": [], "seals": [], "entries": [], "files": []}
    expired_count = 0
    for number in range(count):
        expired = number % every == 0
        report = _report_row(rng, number, now, expired)
        rows["reports"].append(report)
        for kind, recipient, size in (("escrow", escrow_id, SEALED_KEY_BYTES), ("reporter", "receipt", 76),
                                      ("staff", f"{number % 200:032x}", SEALED_KEY_BYTES),
                                      ("staff", f"c{number % 11:031x}", SEALED_KEY_BYTES)):
            rows["seals"].append({"report_id": report["id"], "recipient_kind": kind,
                                  "recipient_id": recipient, "suite": seals.HYBRID, "key_version": 1,
                                  "salt": b"", "sealed_key": os.urandom(size), "created_at": now})
        if expired:
            expired_count += 1
            for seq in (1, 2):
                rows["entries"].append({"id": new_id(), "report_id": report["id"], "kind": "note",
                                        "created_at": now, "key_version": 1, "seq": seq, "format": 2,
                                        "body_ct": os.urandom(300)})
            file_id = new_id()
            with store.create(file_id) as sink:
                sink.write(chunks.MAGIC + os.urandom(FILE_BYTES))
            rows["files"].append({"id": file_id, "report_id": report["id"], "kind": "jpeg", "size_bucket": 1,
                                  "original_sha256_ct": os.urandom(92), "name_ct": os.urandom(60),
                                  "removed": "[]", "metadata_kept": False, "created_at": now,
                                  "key_version": 1})
        if len(rows["reports"]) == BATCH or number == count - 1:
            with engine.begin() as connection:
                for table, model in (("reports", Report), ("seals", Seal), ("entries", CaseEntry),
                                     ("files", Attachment)):
                    if rows[table]:
                        connection.execute(insert(model.__table__), rows[table])  # type: ignore[arg-type]
            rows = {name: [] for name in rows}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return expired_count


def _real_cases(app: Any) -> None:
    keyring = app.extensions["reporter.keyring"]
    past = utcnow() - timedelta(days=500)
    for number in range(REAL_CASES):
        with app.app_context(), db.writing() as session:
            report_id = submit_report(ReportDraft(incident_kind="online", category="doxxing", country="GE",
                                                  description=f"Benchmark case {number}: address published.",
                                                  perpetrator="", contact="", language="ru"),
                                      session=session, keyring=keyring).report_id
            report = session.get(Report, report_id)
            assert report is not None
            report.status, report.closed_at, report.retention_until = "closed", past, past
            session.commit()


class Writer(threading.Thread):
    """Writes one submission-like transaction every WRITE_EVERY seconds and records each one's latency."""

    def __init__(self, app: Any) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.latencies: list[float] = []
        self.running = True

    def run(self) -> None:
        rng = random.Random()  # noqa: S311 - ids of benchmark rows, not secrets
        while self.running:
            started = time.perf_counter()
            with self.app.app_context(), db.writing() as session:
                row = _report_row(rng, rng.randrange(11), utcnow(), False)
                session.execute(insert(Report.__table__), [row])  # type: ignore[arg-type]
                session.execute(insert(Seal.__table__), [  # type: ignore[arg-type]
                    {"report_id": row["id"], "recipient_kind": kind, "recipient_id": kind,
                     "suite": seals.HYBRID, "key_version": 1, "salt": b"",
                     "sealed_key": os.urandom(SEALED_KEY_BYTES), "created_at": utcnow()}
                    for kind in ("escrow", "reporter", "staff")])
                chain.record(session, actor=chain.REPORTER, action="report.submitted", object_type="report",
                             object_id=row["id"])
                session.commit()
            self.latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(max(0.0, WRITE_EVERY - (time.perf_counter() - started)))


def _latency(app: Any, seconds: float) -> list[float]:
    writer = Writer(app)
    writer.start()
    time.sleep(seconds)
    writer.running = False
    writer.join()
    return writer.latencies


def _describe(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{len(ordered)} writes, median {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, "
            f"max {ordered[-1]:.1f} ms")


def main() -> None:
    """Seed, purge the expired share under a stream of writes, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--expired-share", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=purge.BATCH_SIZE)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    instance, url, engine = fresh_instance("reporter-bench-retention-", options.database_url)
    os.environ["REPORTER_INSTANCE_PATH"] = instance
    app = create_app({"TESTING": True, "REPORTER_DATABASE_URL": url, "REPORTER_ARGON2_TEST_FAST": True,
                      "REPORTER_KEYS_PATH": os.path.join(instance, "keys")})
    keyring = app.extensions["reporter.keyring"]
    started = time.perf_counter()
    StaffDirectory(app).coordinator  # noqa: B018 - made on first use: the real cases need a recipient
    expired = _fill(engine, app, options.cases, options.expired_share, keyring.escrow_key_id)
    _real_cases(app)
    seeded = time.perf_counter() - started
    print(f"backend {engine.dialect.name}, {options.cases:,} cases seeded in {seeded:.1f} s "
          f"({expired + REAL_CASES:,} expired), {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")

    quiet = _latency(app, 5.0)
    print(f"submission-like writes, no purge:     {_describe(quiet)}")

    writer = Writer(app)
    writer.start()
    tracemalloc.start()
    started = time.perf_counter()
    with app.app_context(), db.writing() as session:
        run = purge.purge(session, context.attachment_store(app), utcnow(), batch_size=options.batch_size)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    writer.running = False
    writer.join()
    with app.app_context():
        assert db.engine is not None
        reclaimed = purge.reclaim(db.engine)
        left = db.session.scalar(select(func.count()).select_from(Report).where(Report.purged_at.is_(None),
                                                                               Report.status == "closed"))
    print(f"submission-like writes, during purge: {_describe(writer.latencies)}")
    print(f"purged {run.cases:,} cases in {elapsed:.1f} s ({run.cases / elapsed:,.0f} cases/s), "
          f"{run.batches} batches of up to {options.batch_size}, longest batch "
          f"{run.longest_batch_seconds * 1000:.0f} ms; {run.files_removed:,} files removed; {left} closed "
          f"case(s) left unpurged")
    print(f"peak Python memory during the purge (tracemalloc) {peak / 2**20:.1f} MiB; peak RSS of the "
          f"process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(reclaimed)


if __name__ == "__main__":
    main()
