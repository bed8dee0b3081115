"""Statistics benchmark: /stats and its CSV at 100,000 reports against the bare SQL aggregates.

Usage: python bench/stats.py [--reports N] [--repeat R] [--database-url URL]

1. Enrols the coordinator of Georgia and an auditor the real way (tests/staffing.py) and bulk-inserts
   N reports spread evenly over the last twelve months and 11 countries with Core executemany:
   plaintext metadata, field ciphertexts of realistic size (no seals: statistics never read them);
   70 % consented to statistics and carry platforms, a first risk and hours.
2. Times, R times each after a warm-up, the whole request (session check, aggregates, suppression,
   audit event, template) of /stats for last month as the coordinator (one region) and as the auditor
   (all regions), /stats for last quarter as the auditor, and /stats/export.csv, against the bare SQL
   aggregate statements the page runs (the same GROUP BYs, without suppression or rendering).
Goal (issue): /stats under 300 ms for a region and for all regions.

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

from sqlalchemy import Engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fresh import fresh_instance, median_ms  # noqa: E402

from reporter import create_app  # noqa: E402
from reporter.intake.online_details import PLATFORMS  # noqa: E402
from reporter.models import Report  # noqa: E402
from reporter.models.base import utcnow  # noqa: E402
from reporter.models.report import CATEGORIES, INCIDENT_KINDS, STATUSES  # noqa: E402
from reporter.stats import periods  # noqa: E402
from tests.conftest import HttpsClient  # noqa: E402
from tests.staffing import StaffDirectory, login  # noqa: E402

COUNTRIES = ("GE", "AM", "AZ", "UA", "MD", "BY", "KZ", "KG", "TJ", "UZ", "TM")
BATCH = 5_000


def _fill(engine: Engine, count: int) -> None:
    rng = random.Random(11)
    start = periods.closed("month", utcnow(), 12)[-1].start
    span_hours = int((utcnow() - start).total_seconds() // 3600)
    table: Any = Report.__table__
    rows: list[dict[str, Any]] = []
    for number in range(count):
        consent = rng.random() < 0.7
        assessed = consent and rng.random() < 0.8
        rows.append({
            "id": f"{rng.getrandbits(128):032x}", "receipt_lookup": f"{rng.getrandbits(256):064x}",
            "created_hour": start + timedelta(hours=rng.randint(0, span_hours - 1)),
            "country": COUNTRIES[number % len(COUNTRIES)], "incident_kind": rng.choice(INCIDENT_KINDS),
            "category": rng.choice(CATEGORIES), "language": "ru", "status": rng.choice(STATUSES),
            "risk": "medium", "key_version": 1, "needs_routing": False, "version": 1, "possible_flood": False,
            "description_ct": os.urandom(540), "perpetrator_ct": os.urandom(60), "contact_ct": os.urandom(60),
            "occurred_on_ct": os.urandom(60), "submitted_at_ct": os.urandom(60),
            "stats_consent": consent,
            "stats_platforms": ",".join(sorted(rng.sample(PLATFORMS, rng.randint(1, 2)))) if consent
            else None,
            "stats_first_risk": rng.choice(("low", "medium", "high", "critical")) if assessed else None,
            "stats_ack_hours": rng.randint(0, 72) if consent else None,
            "stats_assess_hours": rng.randint(1, 120) if assessed else None,
        })
        if len(rows) == BATCH or number == count - 1:
            with engine.begin() as connection:
                connection.execute(insert(table), rows)
            rows = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def _bare(period: periods.Period) -> list[str]:
    """Return the page's aggregate statements as plain SQL over the same rows."""
    where = (f"created_hour >= '{period.start:%Y-%m-%d %H:%M:%S}' AND created_hour < "  # noqa: S608
             f"'{period.end:%Y-%m-%d %H:%M:%S}' AND possible_flood = false")
    consenting = where + " AND stats_consent = true"
    return [
        "SELECT country, category, incident_kind, coalesce(stats_first_risk, 'unassessed'), "
        f"status = 'closed', count(*) FROM reports WHERE {consenting} GROUP BY 1, 2, 3, 4, 5",  # noqa: S608
        f"SELECT country, stats_platforms, count(*) FROM reports WHERE {consenting} "  # noqa: S608
        "AND stats_platforms IS NOT NULL GROUP BY 1, 2",
        f"SELECT country, count(*) FROM reports WHERE {where} GROUP BY 1",  # noqa: S608
        f"SELECT country, stats_ack_hours, stats_assess_hours FROM reports WHERE {consenting} "  # noqa: S608
        "AND (stats_ack_hours IS NOT NULL OR stats_assess_hours IS NOT NULL)",
    ]


def main() -> None:
    """Seed, log in as a coordinator and an auditor, and print page, CSV and baseline medians."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    instance, url, engine = fresh_instance("reporter-bench-stats-", options.database_url)
    os.environ["REPORTER_INSTANCE_PATH"] = instance
    app = create_app({"TESTING": True, "REPORTER_DATABASE_URL": url, "REPORTER_ARGON2_TEST_FAST": True,
                      "REPORTER_KEYS_PATH": os.path.join(instance, "keys")})
    app.test_client_class = HttpsClient
    directory = StaffDirectory(app)
    coordinator, auditor = directory.coordinator, directory.make(role="auditor")
    started = time.perf_counter()
    _fill(engine, options.reports)
    month, quarter = periods.closed("month", utcnow(), 1)[0], periods.closed("quarter", utcnow(), 1)[0]
    print(f"backend {engine.dialect.name}, {options.reports:,} reports seeded in "
          f"{time.perf_counter() - started:.1f} s, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    regional, everyone = app.test_client(), app.test_client()
    assert login(regional, coordinator).status_code == 302 and login(everyone, auditor).status_code == 302
    cases = [(f"/stats {month.label}, region GE", regional, f"/stats?period={month.label}", month),
             (f"/stats {month.label}, all regions", everyone, f"/stats?period={month.label}", month),
             (f"/stats {quarter.label}, all regions", everyone, f"/stats?period={quarter.label}", quarter),
             (f"CSV {month.label}, all regions", everyone, f"/stats/export.csv?period={month.label}", month)]
    print(f"{'request':<34} {'counted':>8} {'page ms':>9} {'SQL ms':>8} {'ratio':>7}")
    with engine.connect() as connection:
        for label, client, path, period in cases:
            assert client.get(path).status_code == 200
            statements = _bare(period)
            counted = connection.execute(text(f"SELECT count(*) FROM reports WHERE stats_consent = true "  # noqa: S608
                                              f"AND created_hour >= '{period.start:%Y-%m-%d %H:%M:%S}' AND "
                                              f"created_hour < '{period.end:%Y-%m-%d %H:%M:%S}'")).scalar()
            page = median_ms(lambda client=client, path=path: client.get(path).get_data(), options.repeat)

            def bare(statements: list[str] = statements) -> None:
                for statement in statements:
                    connection.execute(text(statement)).all()

            sql = median_ms(bare, options.repeat)
            print(f"{label:<34} {counted:>8,} {page:>9.2f} {sql:>8.2f} {page / sql:>6.1f}x")
    engine.dispose()


if __name__ == "__main__":
    main()
