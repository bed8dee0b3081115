"""Escrow key rotation at scale: seal every case's data key to a new escrow key, in batches.

Seeds N reports, each with a real escrow seal (HPKE, the installation's suite) of its own random data
key, then runs the escrow rotation as `reporter keys rotate --escrow` does (first pass, promotion,
second pass, removal of the old seals) and prints the time, the rate, and the peak memory the run
allocated (tracemalloc) next to the size of the data, so one can see memory stays flat as N grows.

    .venv/bin/python bench/rotation.py --cases 2000
    .venv/bin/python bench/rotation.py                      # 100,000 cases
    .venv/bin/python bench/rotation.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fresh import fresh_instance  # noqa: E402
from reporter import create_app  # noqa: E402
from reporter.crypto import aead, seals  # noqa: E402
from reporter.extensions import db  # noqa: E402
from reporter.lifecycle import escrow_rotation  # noqa: E402
from reporter.models import Report, Seal  # noqa: E402
from reporter.models.base import utcnow  # noqa: E402
from reporter.web import context  # noqa: E402

SEED_BATCH = 2_000


def _seed(engine: Any, count: int, escrow_id: str, public: bytes, suite: str) -> None:
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    report_rows: list[dict[str, Any]] = []
    seal_rows: list[dict[str, Any]] = []
    for number in range(count):
        report_id = os.urandom(16).hex()
        report_rows.append({
            "id": report_id, "receipt_lookup": os.urandom(32).hex(), "created_hour": now, "country": "GE",
            "incident_kind": "online", "category": "doxxing", "language": "en", "status": "new",
            "risk": "unknown", "key_version": 1, "needs_routing": False, "version": 1,
            "description_ct": os.urandom(540), "perpetrator_ct": os.urandom(60), "contact_ct": os.urandom(60),
            "occurred_on_ct": os.urandom(60), "submitted_at_ct": os.urandom(60),
        })
        info = seals.seal_info(report_id, escrow_id, 1)
        seal_rows.append({"report_id": report_id, "recipient_kind": "escrow", "recipient_id": escrow_id,
                          "suite": suite, "key_version": 1, "salt": b"", "created_at": now,
                          "sealed_key": seals.seal(aead.new_key(), public, info=info, suite=suite)})
        if len(report_rows) == SEED_BATCH or number == count - 1:
            with engine.begin() as connection:
                connection.execute(insert(Report.__table__), report_rows)
                connection.execute(insert(Seal.__table__), seal_rows)
            report_rows, seal_rows = [], []


def main() -> None:
    """Seed the cases, rotate the escrow key, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--trace-memory", action="store_true",
                        help="measure the peak with tracemalloc (exact, but several times slower)")
    parser.add_argument("--database-url")
    options = parser.parse_args()
    instance, url, engine = fresh_instance("reporter-rotation-bench-", options.database_url)
    os.environ["REPORTER_INSTANCE_PATH"] = instance
    keys = Path(instance) / "keys"
    app = create_app({"TESTING": True, "REPORTER_DATABASE_URL": url, "REPORTER_KEYS_PATH": str(keys)})
    old_private = Path(instance).parent / "escrow.key"
    with app.app_context():
        keyring = context.keyring()
        start = time.perf_counter()
        _seed(engine, options.cases, keyring.escrow_key_id, keyring.escrow_public_key, keyring.escrow_suite)
        seeded = time.perf_counter() - start
        print(f"backend {engine.dialect.name}, {options.cases:,} cases seeded in {seeded:.1f} s, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
        if options.trace_memory:
            tracemalloc.start()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        done = escrow_rotation.Resealed()
        with db.writing() as session:
            rotation_keys = escrow_rotation.prepare(keys, old_private)
            escrow_rotation.reseal_pass(session, rotation_keys, done)
            escrow_rotation.promote(keys)
            escrow_rotation.reseal_pass(session, rotation_keys, done)
            escrow_rotation.remove_old_seals(session, rotation_keys, done)
            escrow_rotation.finish(session, keys, rotation_keys, done)
            left = session.scalar(select(func.count()).select_from(Seal).where(
                Seal.recipient_kind == "escrow", Seal.recipient_id == rotation_keys.old_id))
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert done.sealed == options.cases and done.removed == options.cases and left == 0 and not done.unopened
    print(f"escrow re-seal of {options.cases:,} cases: {elapsed:.1f} s "
          f"({options.cases / elapsed:,.0f} cases/s, {elapsed / options.cases * 1000:.2f} ms per case), "
          f"batch {escrow_rotation.BATCH}")
    traced = f"peak allocated (tracemalloc) {peak / 2**20:.1f} MiB; " if options.trace_memory else ""
    grew = (rss_after - rss_before) / 1024
    print(f"memory: {traced}peak RSS {rss_after / 1024:.0f} MiB, grew by {grew:.1f} MiB during the rotation "
          f"(the sealed keys alone are {options.cases * 1168 / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
