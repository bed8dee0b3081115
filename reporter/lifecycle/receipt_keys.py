"""Receipt lookups under every version of the receipt lookup key, and their move to the newest.

A report's lookup id is HMAC(receipt lookup key, receipt), and the server never holds the receipt, so
a rotation cannot recompute old lookup ids: each report keeps the version of the key that made its
lookup id (``reports.receipt_key_version``). A follow-up computes the lookup id under every version
the keyring holds and asks for all of them in one query (the same work whether the case is old or
new). Once the receipt has opened the reporter's seal, a lookup made under a retired version is made
again under the current one: retired versions drain as reporters come back, and ``reporter keys
status`` counts the reports still waiting.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reporter.crypto import receipts
from reporter.keyring import Keyring
from reporter.models import Report


def find_report(session: Session, keyring: Keyring, receipt: str) -> Report | None:
    """Return the report whose lookup id matches `receipt` under the key version it was made with."""
    wanted = {receipts.lookup_id(key, receipt): version for version, key in keyring.receipt_lookup_keys()}
    found = session.scalars(select(Report).where(Report.receipt_lookup.in_(list(wanted)))).all()
    for report in found:
        if wanted[report.receipt_lookup] == report.receipt_key_version:
            return report
    return None


def renew_lookup(report: Report, keyring: Keyring, receipt: str) -> bool:
    """Make a report's lookup id again under the current key (the receipt opened it); no commit.

    Return whether it changed.
    """
    if report.receipt_key_version == keyring.receipt_key_version:
        return False
    report.receipt_lookup = receipts.lookup_id(keyring.receipt_lookup_key, receipt)
    report.receipt_key_version = keyring.receipt_key_version
    return True


def lookups_by_version(session: Session) -> dict[int, int]:
    """Return {key version: number of reports whose lookup id was made with it}."""
    query = select(Report.receipt_key_version, func.count()).group_by(Report.receipt_key_version)
    return {int(version): int(count) for version, count in session.execute(query)}
