"""Case queue benchmark: /staff/cases at 100,000 reports against the bare SQL query, and one case view.

Usage: python bench/case_queue.py [--reports N] [--repeat R] [--database-url URL]

(Not bench/queue.py: a file of that name in this folder would shadow Python's standard `queue` module
for every script here, and redis, psycopg and multiprocessing import it.)

1. Enrols the measured focal point and the coordinator of Georgia the real way (tests/staffing.py),
   adds 199 more focal points and 10 more coordinators (one per country) as bare rows with real key
   pairs, and bulk-inserts N reports across 11 countries with Core executemany: plaintext metadata,
   field ciphertexts of realistic size, and per report an escrow seal, a reporter seal and two staff
   seals (one focal point, the country's coordinator) of the real hybrid HPKE size. The measured focal
   point holds 5% of the reports (about 5,000 at the default N); the others share the rest.
2. Submits one real report routed to the measured focal point (real seals) for the case view.
3. Times, R times each after a warm-up, the whole request (session check, queries, template) of the
   first queue page, a filtered page (risk=high) and the deadline-sorted overdue filter, against the
   bare SQL statements that fetch the same rows and the count; then the case view page, and the
   crypto of the case view alone (open the HPKE seal, decrypt the fields).
Targets (issue): queue page within 3x of the bare query and under 100 ms median; case view crypto
under 5 ms.

Runs on a temporary SQLite file by default; --database-url runs on a PostgreSQL database whose public
schema the benchmark drops first (use a database of its own, never one you care about).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fresh import fresh_instance, median_ms  # noqa: E402

from reporter import create_app, vault  # noqa: E402
from reporter.cases import casefile
from reporter.crypto import seals  # noqa: E402
from reporter.extensions import db  # noqa: E402
from reporter.intake.submission import submit_report  # noqa: E402
from reporter.intake.validation import ReportDraft  # noqa: E402
from reporter.models import Report, RoutingRule, RoutingRuleMember, Seal, StaffMember  # noqa: E402
from reporter.models.base import new_id, utcnow  # noqa: E402
from reporter.models.report import CATEGORIES, RISKS, STATUSES  # noqa: E402
from tests.conftest import HttpsClient  # noqa: E402
from tests.staffing import StaffDirectory, login  # noqa: E402

COUNTRIES = ("GE", "AM", "AZ", "UA", "MD", "BY", "KZ", "KG", "TJ", "UZ", "TM")
FOCAL_POINTS = 200
BATCH = 5_000
SEALED_KEY_BYTES = 1_088 + 32 + 48  # ML-KEM-768 + X25519 encapsulation + AES-GCM of a 32-byte key


def _fill(engine: Engine, count: int, measured: str, focal_points: list[str],
          coordinators: dict[str, str], escrow_id: str) -> None:
    rng = random.Random(7)
    now = utcnow()
    reports: Any = Report.__table__
    seal_table: Any = Seal.__table__
    report_rows: list[dict[str, Any]] = []
    seal_rows: list[dict[str, Any]] = []
    for number in range(count):
        report_id = f"{rng.getrandbits(128):032x}"
        country = COUNTRIES[number % len(COUNTRIES)]
        holder = measured if number % 20 == 0 else focal_points[number % len(focal_points)]
        status = rng.choice(STATUSES)
        hours = rng.randint(-48, 200)
        deadline = None if status in ("supporting", "closed") else now + timedelta(hours=hours)
        report_rows.append({
            "id": report_id, "receipt_lookup": f"{rng.getrandbits(256):064x}",
            "created_hour": (now - timedelta(hours=rng.randint(0, 24 * 365))).replace(minute=0, second=0,
                                                                                     microsecond=0),
            "country": country, "incident_kind": "online", "category": rng.choice(CATEGORIES),
            "language": rng.choice(("en", "ru")), "status": status, "risk": rng.choice(RISKS),
            "deadline_at": deadline, "key_version": 1, "needs_routing": False, "version": 1,
            "description_ct": os.urandom(540), "perpetrator_ct": os.urandom(60), "contact_ct": os.urandom(60),
            "occurred_on_ct": os.urandom(60), "submitted_at_ct": os.urandom(60),
            "excluded_ct": os.urandom(60),
        })
        for kind, recipient, size in (("escrow", escrow_id, SEALED_KEY_BYTES), ("reporter", "receipt", 76),
                                      ("staff", holder, SEALED_KEY_BYTES),
                                      ("staff", coordinators[country], SEALED_KEY_BYTES)):
            seal_rows.append({"report_id": report_id, "recipient_kind": kind, "recipient_id": recipient,
                              "suite": seals.HYBRID, "key_version": 1, "salt": b"",
                              "sealed_key": os.urandom(size),
                              "created_at": now})
        if len(report_rows) == BATCH or number == count - 1:
            with engine.begin() as connection:
                connection.execute(insert(reports), report_rows)
                connection.execute(insert(seal_table), seal_rows)
            report_rows, seal_rows = [], []
    # A settled database, as autovacuum keeps it: statistics, and on PostgreSQL a visibility map, so
    # the queue's covering index on seals is read without visiting the table.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def _bare_queue(person: str, where: str = "") -> tuple[str, str]:
    """Return the bare SQL of one queue page and of its count, as the page runs them."""
    joined = ("FROM reports JOIN seals ON seals.report_id = reports.id "
              f"WHERE seals.recipient_kind = 'staff' AND seals.recipient_id = '{person}'{where}")
    rows = ("SELECT reports.id, reports.created_hour, reports.country, reports.category, reports.language, "
            "reports.status, reports.risk, reports.deadline_at, reports.needs_routing, reports.escalated_at "
            f"{joined} ORDER BY reports.deadline_at IS NULL, reports.deadline_at, reports.created_hour DESC, "
            "reports.id LIMIT 50 OFFSET 0")
    return rows, f"SELECT count(*) {joined}"


def seed_staff(app: Any, directory: StaffDirectory) -> tuple[Any, Any, dict[str, str], list[str]]:
    """Enrol Georgia's coordinator and the measured focal point the real way, add a coordinator per other
    country and 199 more focal points as bare rows with real key pairs, and route Georgia to the measured
    one; return (coordinator, focal point, coordinator id per country, the other focal points' ids)."""
    coordinator = directory.coordinator
    officer = directory.make(role="focal_point", region="GE")
    coordinators = {"GE": coordinator.id}
    others: list[str] = []
    with app.app_context():
        for country in COUNTRIES[1:]:
            pair = seals.generate_keypair()
            person = StaffMember(id=new_id(), email=f"coordinator.{country.lower()}@bench.invalid",
                                 role="coordinator", region=country, state="active", public_key=pair.public,
                                 key_suite=pair.suite)
            db.session.add(person)
            coordinators[country] = person.id
        for number in range(FOCAL_POINTS - 1):
            pair = seals.generate_keypair()
            person = StaffMember(id=new_id(), email=f"fp.{number}@bench.invalid", role="focal_point",
                                 region=COUNTRIES[number % len(COUNTRIES)], state="active",
                                 public_key=pair.public, key_suite=pair.suite)
            db.session.add(person)
            others.append(person.id)
        rule = RoutingRule(country="GE", category="*", language="*")
        db.session.add(rule)
        db.session.flush()
        rule.members = [RoutingRuleMember(rule_id=rule.id, staff_id=officer.id)]
        db.session.commit()
    return coordinator, officer, coordinators, others


def main() -> None:
    """Seed, log in as a focal point, and print page and baseline medians."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    instance, url, engine = fresh_instance("reporter-bench-queue-", options.database_url)
    os.environ["REPORTER_INSTANCE_PATH"] = instance
    app = create_app({"TESTING": True, "REPORTER_DATABASE_URL": url, "REPORTER_ARGON2_TEST_FAST": True,
                      "REPORTER_KEYS_PATH": os.path.join(instance, "keys")})
    app.test_client_class = HttpsClient
    keyring = app.extensions["reporter.keyring"]

    coordinator, officer, coordinators, others = seed_staff(app, StaffDirectory(app))

    start = time.perf_counter()
    _fill(engine, options.reports, officer.id, others, coordinators, keyring.escrow_key_id)
    with app.app_context(), db.writing() as session:
        real = submit_report(ReportDraft(incident_kind="online", category="doxxing", country="GE",
                                         description="Benchmark case: my address was published. " * 20,
                                         perpetrator="a channel", contact="Signal", language="en"),
                             session=session, keyring=keyring).report_id
    seeded = time.perf_counter() - start
    print(f"backend {engine.dialect.name}, {options.reports:,} reports seeded in {seeded:.1f} s, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")

    client = app.test_client()
    assert login(client, officer).status_code == 302
    cases = [
        ("queue, first page", "/staff/cases", ""),
        ("queue, risk=high", "/staff/cases?risk=high", " AND reports.risk = 'high'"),
        ("queue, status=assessing", "/staff/cases?status=assessing", " AND reports.status = 'assessing'"),
    ]
    print(f"{'page':<26} {'visible':>8} {'page ms':>9} {'SQL ms':>8} {'ratio':>7}")
    with engine.connect() as connection:
        for label, path, where in cases:
            assert client.get(path).status_code == 200
            rows_sql, count_sql = _bare_queue(officer.id, where)
            visible = connection.execute(text(count_sql)).scalar()
            page = median_ms(lambda path=path: client.get(path).get_data(), options.repeat)

            def bare(rows_sql: str = rows_sql, count_sql: str = count_sql) -> None:
                connection.execute(text(rows_sql)).all()
                connection.execute(text(count_sql)).scalar()

            sql = median_ms(bare, options.repeat)
            print(f"{label:<26} {visible:>8,} {page:>9.2f} {sql:>8.2f} {page / sql:>6.1f}x")
        plan_prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        print("plan of the first page:")
        for line in connection.execute(text(plan_prefix + _bare_queue(officer.id)[0])).all():
            print("   ", " | ".join(str(part) for part in line))

    view = median_ms(lambda: client.get(f"/staff/cases/{real}").get_data(), options.repeat)
    from reporter.keyring import unwrap_with_password

    with app.app_context():
        person = db.session.get(StaffMember, officer.id)
        assert person is not None
        private_key = unwrap_with_password(person, officer.password)
        report = db.session.get(Report, real)
        seal = db.session.scalars(select(Seal).where(Seal.report_id == real,
                                                     Seal.recipient_id == officer.id)).one()

        def crypto() -> None:
            vault.open_report_fields(report, vault.open_public_key_seal(seal, private_key))

        crypto_ms = median_ms(crypto, options.repeat)
        opened = casefile.open_case(db.session, real, person=person, private_key=private_key)
        assert opened.fields["description"].startswith("Benchmark case")
    print(f"case view page: {view:.2f} ms median; "
          f"its crypto (open seal + decrypt fields): {crypto_ms:.3f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
