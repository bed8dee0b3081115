"""Backup benchmark: `reporter backup create` and `restore` at two sizes, time and peak memory of each.

Usage: python bench/backup.py [--cases N] [--database-url URL --restore-database-url URL2]

1. For N/10 and N cases (default N = 100,000) makes a fresh instance (keys, migrated database) and
   bulk-inserts N reports with Core executemany: plaintext metadata and field ciphertexts of realistic
   size, three seals each (escrow and a staff member of the real hybrid HPKE size, the reporter's),
   one audit event per report appended through the real chain (hashes and signed checkpoints), and
   one attachment per 100 reports (a real encrypted file of 64 KiB in the store).
2. Runs `reporter backup create` and then `reporter backup restore` onto an empty instance, each as
   the operator would, in a process of its own, and reads that process's peak resident memory
   (ru_maxrss from wait4) and wall time.
3. Prints, per size, rows, backup file size, the times and the peak memory of each command, and the
   ratio of peak memory at N to N/10: close to 1 means memory does not grow with the number of cases
   (rows and files are streamed; only the import of the application and one batch are in memory).

Runs on temporary SQLite files by default; with --database-url and --restore-database-url the source
and target are PostgreSQL databases whose public schemas are dropped first (databases of their own).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fresh import fresh_instance  # noqa: E402

from reporter import database  # noqa: E402
from reporter.audit import chain  # noqa: E402
from reporter.crypto import chunks, seals  # noqa: E402
from reporter.evidence.store import AttachmentStore, FolderStore  # noqa: E402
from reporter.keyring import load_keyring  # noqa: E402
from reporter.lifecycle import backup_keys  # noqa: E402
from reporter.models import Attachment, Report, Seal  # noqa: E402
from reporter.models.base import utcnow  # noqa: E402
from reporter.models.report import CATEGORIES, RISKS, STATUSES  # noqa: E402

BATCH = 2_000
SEALED_KEY_BYTES = 1_088 + 32 + 48  # ML-KEM-768 + X25519 encapsulation + AES-GCM of a 32-byte key
FILE_EVERY = 100


def _reports(rng: random.Random, count: int, escrow_id: str) -> Any:
    now = utcnow()
    for _ in range(count):
        report_id = f"{rng.getrandbits(128):032x}"
        report = {
            "id": report_id, "receipt_lookup": f"{rng.getrandbits(256):064x}",
            "created_hour": (now - timedelta(hours=rng.randint(0, 24 * 365))).replace(minute=0, second=0,
                                                                                     microsecond=0),
            "country": rng.choice(("GE", "AM", "UA", "KZ")), "incident_kind": "online",
            "category": rng.choice(CATEGORIES), "language": "en", "status": rng.choice(STATUSES),
            "risk": rng.choice(RISKS), "key_version": 1, "needs_routing": False, "version": 1,
            "description_ct": os.urandom(540), "perpetrator_ct": os.urandom(60), "contact_ct": os.urandom(60),
            "occurred_on_ct": os.urandom(60), "submitted_at_ct": os.urandom(60),
        }
        recipients = (("escrow", escrow_id, SEALED_KEY_BYTES), ("reporter", "receipt", 76),
                      ("staff", f"{rng.getrandbits(128):032x}", SEALED_KEY_BYTES))
        sealed = [{"report_id": report_id, "recipient_kind": kind, "recipient_id": recipient,
                   "suite": seals.HYBRID, "key_version": 1, "salt": b"", "sealed_key": os.urandom(size),
                   "created_at": now} for kind, recipient, size in recipients]
        yield report, sealed


def populate(instance: str, url: str, count: int) -> None:
    """Fill a fresh instance with `count` reports, their seals, audit events and some attachment files."""
    keyring = load_keyring(Path(instance) / "keys")
    engine = create_engine(url)
    store = FolderStore.in_instance(instance)
    rng = random.Random(count)
    info = {database.SIGNER_INFO_KEY: keyring.audit_signing_key, database.CHECKPOINT_INFO_KEY: (100, 3600)}
    reports, seal_rows, files = [], [], []
    for number, (report, sealed) in enumerate(_reports(rng, count, keyring.escrow_key_id)):
        reports.append(report)
        seal_rows.extend(sealed)
        if number % FILE_EVERY == 0:
            files.append(_attachment(store, report["id"]))
        if len(reports) == BATCH or number == count - 1:
            with engine.connect() as connection, connection.begin():
                connection.execute(insert(Report.__table__), reports)
                connection.execute(insert(Seal.__table__), seal_rows)
                if files:
                    connection.execute(insert(Attachment.__table__), files)
                with Session(bind=connection, info=info) as session:
                    for row in reports:
                        chain.record(session, actor=chain.REPORTER, action="report.submitted",
                                     object_type="report", object_id=row["id"])
            reports, seal_rows, files = [], [], []
    engine.dispose()


def _attachment(store: AttachmentStore, report_id: str) -> dict[str, Any]:
    attachment_id = os.urandom(16).hex()
    with store.create(attachment_id) as sink, \
            chunks.EncryptingWriter(sink, os.urandom(32), file_id=attachment_id) as writer:
        writer.write(os.urandom(60_000))
    return {"id": attachment_id, "report_id": report_id, "entry_id": None, "kind": "jpeg", "size_bucket": 1,
            "original_sha256_ct": os.urandom(80), "name_ct": os.urandom(300), "removed": "exif,gps",
            "metadata_kept": False, "original_id": None, "created_at": utcnow(), "key_version": 1}


def run(instance: str, url: str, *args: str) -> tuple[float, int]:
    """Run `reporter ARGS` in a process of its own; return (seconds, peak resident memory in MiB)."""
    environment = {**os.environ, "REPORTER_INSTANCE_PATH": instance, "REPORTER_DATABASE_URL": url,
                   "REPORTER_KEYS_PATH": str(Path(instance) / "keys")}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "reporter.cli", *args], env=environment,  # noqa: S603
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        assert process.stdout is not None and process.stderr is not None
        output = (process.stdout.read() + process.stderr.read()).decode()
        raise SystemExit(f"reporter {' '.join(args)} failed:\n{output}")
    return elapsed, usage.ru_maxrss // 1024


def _empty_database(url: str | None, folder: str) -> str:
    if not url:
        return f"sqlite:///{folder}/reporter.db"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def measure(count: int, source_url: str | None, target_url: str | None) -> dict[str, Any]:
    """Populate, back up and restore one installation of `count` cases; return the figures."""
    fresh = fresh_instance("bench-backup-", source_url)
    fresh.engine.dispose()
    started = time.perf_counter()
    populate(fresh.instance, fresh.url, count)
    populated = time.perf_counter() - started
    private = Path(fresh.instance).parent / "backup-private.key"
    backup_keys.create_backup_keys(Path(fresh.instance) / "keys", private)
    backup = Path(fresh.instance).parent / "site.backup"
    create_s, create_mib = run(fresh.instance, fresh.url, "backup", "create", "--to", str(backup))
    target = tempfile.mkdtemp(prefix="bench-restore-")
    restore_s, restore_mib = run(target, _empty_database(target_url, target), "backup", "restore",
                                 str(backup), "--backup-key", str(private))
    return {"cases": count, "populate_s": populated, "bytes": backup.stat().st_size, "create_s": create_s,
            "create_mib": create_mib, "restore_s": restore_s, "restore_mib": restore_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--restore-database-url", default=None)
    options = parser.parse_args()
    if bool(options.database_url) != bool(options.restore_database_url):
        raise SystemExit("give both --database-url and --restore-database-url, or neither")
    sizes = (max(options.cases // 10, 1), options.cases)
    results = [measure(n, options.database_url, options.restore_database_url) for n in sizes]
    backend = "PostgreSQL" if options.database_url else "SQLite"
    print(f"backup create / restore ({backend}); each command in its own process, peak RSS from wait4")
    print(f"{'cases':>9} {'file MiB':>9} {'create s':>9} {'create MiB':>11} {'restore s':>10} "
          f"{'restore MiB':>12}")
    for r in results:
        print(f"{r['cases']:>9,} {r['bytes'] / 2**20:>9.1f} {r['create_s']:>9.1f} {r['create_mib']:>11} "
              f"{r['restore_s']:>10.1f} {r['restore_mib']:>12}")
    small, large = results
    print(f"peak memory at {large['cases']:,} / at {small['cases']:,} cases: create "
          f"{large['create_mib'] / small['create_mib']:.2f}x, restore "
          f"{large['restore_mib'] / small['restore_mib']:.2f}x "
          f"(cases {large['cases'] / small['cases']:.0f}x)")
    print(f"throughput at {large['cases']:,}: create {large['cases'] / large['create_s']:,.0f} cases/s, "
          f"restore {large['cases'] / large['restore_s']:,.0f} cases/s")


if __name__ == "__main__":
    main()
