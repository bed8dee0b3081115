"""Linked accounts at 100,000 reports: the case view with its links and the coordinator's page.

Usage: python bench/linking.py [--reports N] [--repeat R] [--database-url URL]

1. Seeds N reports as bench/case_queue.py does (11 countries, 200 focal points, realistic ciphertext and
   seal sizes), and gives each report one account and one link as blind-index rows (real HMACs under the
   instance linking key, real directory-key MACs), drawn from a pool where a few accounts appear in many
   reports, as a campaign does: the heaviest account is named in about 1 % of all reports.
2. Submits one real report routed to the measured focal point that names the heaviest account.
3. Times, R times each after a warm-up: the focal point's case view of that report (the whole request,
   its links included) against the bare SQL of the case's linking query; and the Georgian coordinator's
   /staff/linked-accounts against the bare SQL of its query.
Targets: case view with its links under 50 ms; the coordinator's page under 300 ms (the case view without
links is held to the same 50 ms). Each line says whether its target is met, with the page's median, the
bare SQL's median in the same run and their ratio; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from case_queue import _fill, seed_staff  # noqa: E402
from fresh import fresh_instance, median_ms  # noqa: E402

from reporter import create_app  # noqa: E402
from reporter.cases import linking  # noqa: E402
from reporter.extensions import db  # noqa: E402
from reporter.intake.online_details import OnlineDetail  # noqa: E402
from reporter.intake.submission import submit_report  # noqa: E402
from reporter.intake.validation import ReportDraft  # noqa: E402
from reporter.models import AccountLink  # noqa: E402
from reporter.models.base import to_the_hour, utcnow  # noqa: E402
from tests.conftest import HttpsClient  # noqa: E402
from tests.staffing import StaffDirectory, login  # noqa: E402

POOL = 20_000
CAMPAIGNS = 50
HEAVY = "campaign_account_0"
BATCH = 5_000


def _account(rng: random.Random) -> str:
    """Return an account of the pool: one report in twenty names one of 50 campaign accounts (log-uniform,
    so the heaviest is named in about 1 % of all reports); the others name one of the rest at random."""
    if rng.random() < 0.05:
        return f"campaign_account_{int(CAMPAIGNS ** rng.random()) - 1}"
    return f"campaign_account_{rng.randrange(CAMPAIGNS, POOL)}"


def _links(engine: Engine, keys: Any, linking_key: bytes) -> int:
    """Give every report one account and one link as blind-index rows; return how many rows."""
    rng = random.Random(11)
    now = to_the_hour(utcnow())
    table: Any = AccountLink.__table__
    with engine.connect() as connection:
        report_ids = [row[0] for row in connection.execute(text("SELECT id FROM reports"))]
    rows: list[dict[str, Any]] = []
    total = 0
    for report_id in report_ids:
        account = _account(rng)
        for platform, kind, value in (("telegram", "account", account),
                                      ("telegram", "url", f"https://t.me/{account}/{rng.randint(1, 999)}")):
            index = linking.blind_index(linking_key, platform, kind, value)
            rows.append({"report_id": report_id, "platform": platform, "kind": kind, "blind_index": index,
                         "key_version": 1, "created_at": now,
                         "record_mac": keys.mac(linking.link_message(report_id, platform, kind, index))})
        if len(rows) >= BATCH:
            with engine.begin() as connection:
                connection.execute(insert(table), rows)
            total, rows = total + len(rows), []
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(table), rows)
        total += len(rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return total


def _bare_case(report_id: str, person: str) -> str:
    return ("SELECT mine.platform, mine.kind, mine.blind_index, mine.record_mac, other.report_id, "
            "other.record_mac, seals.id FROM account_links AS mine JOIN account_links AS other "
            "ON other.blind_index = mine.blind_index AND other.platform = mine.platform "
            "AND other.kind = mine.kind AND other.report_id != mine.report_id "
            "LEFT OUTER JOIN seals ON seals.report_id = other.report_id AND seals.recipient_kind = 'staff' "
            f"AND seals.recipient_id = '{person}' WHERE mine.report_id = '{report_id}'")


def _bare_region(region: str, person: str, since: str) -> str:
    scope = (f"reports.country = '{region}' AND reports.purged_at IS NULL "
             f"AND account_links.created_at >= '{since}'")
    shared = ("SELECT account_links.blind_index FROM account_links JOIN reports "
              f"ON reports.id = account_links.report_id WHERE {scope} GROUP BY account_links.blind_index "
              "HAVING count(DISTINCT account_links.report_id) >= 2")
    return ("SELECT account_links.blind_index, account_links.platform, account_links.kind, "
            "account_links.report_id, account_links.record_mac, seals.id FROM account_links JOIN reports "
            "ON reports.id = account_links.report_id LEFT OUTER JOIN seals ON seals.report_id = "
            "account_links.report_id AND seals.recipient_kind = 'staff' "
            f"AND seals.recipient_id = '{person}' WHERE {scope} AND account_links.blind_index IN ({shared})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    instance, url, engine = fresh_instance("reporter-bench-linking-", options.database_url)
    os.environ["REPORTER_INSTANCE_PATH"] = instance
    app = create_app({"TESTING": True, "REPORTER_DATABASE_URL": url, "REPORTER_ARGON2_TEST_FAST": True,
                      "REPORTER_KEYS_PATH": os.path.join(instance, "keys")})
    app.test_client_class = HttpsClient
    keyring = app.extensions["reporter.keyring"]
    coordinator, officer, coordinators, others = seed_staff(app, StaffDirectory(app))

    start = time.perf_counter()
    _fill(engine, options.reports, officer.id, others, coordinators, keyring.escrow_key_id)
    rows = _links(engine, keyring.record_keys(), keyring.linking_key)
    with app.app_context(), db.writing() as session:
        detail = OnlineDetail(platform="telegram", account=HEAVY, links=(f"https://t.me/{HEAVY}/1",))
        real = submit_report(ReportDraft(incident_kind="online", category="doxxing", country="GE",
                                         description="Benchmark case: a channel publishes my address. " * 10,
                                         perpetrator="a channel", contact="Signal", language="en",
                                         online_details=(detail,)),
                             session=session, keyring=keyring).report_id
        plain = submit_report(ReportDraft(incident_kind="online", category="doxxing", country="GE",
                                          description="Benchmark case: a channel publishes my address. " * 10,
                                          perpetrator="a channel", contact="Signal", language="en"),
                              session=session, keyring=keyring).report_id
    with engine.connect() as connection:
        named = connection.execute(text(
            "SELECT count(*) FROM account_links WHERE blind_index = :index"),
            {"index": linking.blind_index(keyring.linking_key, "telegram", "account", HEAVY)}).scalar()
    print(f"backend {engine.dialect.name}, {options.reports:,} reports and {rows:,} link rows seeded in "
          f"{time.perf_counter() - start:.1f} s; the measured case's account is named in {named:,} reports; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")

    since = linking.quarter_start(utcnow()).isoformat(sep=" ")
    measured = [("case view without links", officer, f"/staff/cases/{plain}", _bare_case(plain, officer.id)),
                ("case view with its links", officer, f"/staff/cases/{real}", _bare_case(real, officer.id)),
                ("coordinator's linked accounts", coordinator, "/staff/linked-accounts",
                 _bare_region("GE", coordinator.id, since))]
    print(f"{'page':<32} {'page ms':>9} {'SQL ms':>8} {'ratio':>7}  target")
    missed = []
    with engine.connect() as connection:
        for (label, person, path, sql), target in zip(measured, (50, 50, 300), strict=True):
            client = app.test_client()
            assert login(client, person).status_code == 302
            page = client.get(path)
            assert page.status_code == 200, page.status_code
            page_ms = median_ms(lambda client=client, path=path: client.get(path).get_data(), options.repeat)
            sql_ms = median_ms(lambda sql=sql: connection.execute(text(sql)).all(), options.repeat)
            verdict = "met" if page_ms < target else "MISSED"
            if page_ms >= target:
                missed.append(label)
            print(f"{label:<32} {page_ms:>9.2f} {sql_ms:>8.2f} {page_ms / sql_ms:>6.1f}x  "
                  f"< {target} ms {verdict}")
    engine.dispose()
    print(f"load {os.getloadavg()[0]:.2f} at the end; "
          + (f"targets missed: {', '.join(missed)}" if missed else "every target met"))


if __name__ == "__main__":
    main()
