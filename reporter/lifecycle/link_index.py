"""The blind indexes of accounts and links made again from the sealed cases, with the escrow key.

An index row (reporter.cases.linking) is an HMAC of a handle under the linking key, and the handle is
sealed in its case. So new indexes need every case opened: after the linking key is rotated
(`reporter keys rotate --key linking --escrow-key FILE`), and for reports stored before linking
existed (`reporter keys reindex-links --escrow-key FILE`). The escrow private key comes in from
offline storage for the run only, as for `reporter keys recover`.

Reports are taken in batches by id, with a commit after each: a report's rows are deleted and written
again under the current key in one transaction, so a run killed half way leaves every report either
as it was or done, and a rerun finishes the work. Purged reports and reports without online details
are left alone (a purge deleted their rows). A report whose escrow seal does not open (sealed to
another escrow key, or damaged) keeps its rows and is listed for the operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.orm import Session

from reporter import directory, vault
from reporter.audit import chain
from reporter.cases import linking
from reporter.crypto import CiphertextInvalid
from reporter.crypto.seals import KeyPair
from reporter.database import SIGNER_INFO_KEY
from reporter.intake import online_details
from reporter.keyring import LINKING, Keyring, escrow_key_id
from reporter.models import AccountLink, Report, Seal

BATCH = 200
REINDEXED = "keys.links_reindexed"


@dataclass
class Reindexed:
    """What a run did: reports indexed again, index rows written, reports whose escrow seal did not open."""

    reports: int = 0
    rows: int = 0
    unopened: list[str] = field(default_factory=list)


def _escrow_seal(escrow_id: str) -> ColumnElement[bool]:
    return and_(Seal.report_id == Report.id, Seal.recipient_kind == "escrow", Seal.recipient_id == escrow_id)


def _batch(session: Session, after: str, escrow_id: str) -> list[tuple[Report, Seal | None]]:
    query = (select(Report, Seal).outerjoin(Seal, _escrow_seal(escrow_id))
             .where(Report.id > after, Report.purged_at.is_(None), Report.online_details_ct.is_not(None))
             .order_by(Report.id).limit(BATCH))
    return [(report, seal) for report, seal in session.execute(query)]


def _details(report: Report, seal: Seal | None, escrow: KeyPair) -> list[online_details.OnlineDetail] | None:
    if seal is None:
        return None
    try:
        data_key = vault.open_public_key_seal(seal, escrow.private)
        return online_details.from_json(vault.open_report_fields(report, data_key)["online_details"])
    except (CiphertextInvalid, ValueError, KeyError):
        return None


def reindex(session: Session, keyring: Keyring, escrow: KeyPair, *,
            progress: Callable[[Reindexed], None] | None = None) -> Reindexed:
    """Write every report's index rows again under the current linking key; commit per batch."""
    session.info[SIGNER_INFO_KEY] = keyring.audit_signing_key
    escrow_id, keys = escrow_key_id(escrow.public), directory.keys_of(session)
    version = keyring.version(LINKING)
    done, after = Reindexed(), ""
    while batch := _batch(session, after, escrow_id):
        for report, seal in batch:
            details = _details(report, seal, escrow)
            if details is None:
                done.unopened.append(report.id)
                continue
            session.execute(delete(AccountLink).where(AccountLink.report_id == report.id))
            done.rows += len(linking.entries_of(details))
            linking.record(session, report.id, details, linking_key=keyring.linking_key, key_version=version,
                           keys=keys, created_at=report.created_hour)
            done.reports += 1
        session.commit()
        after = batch[-1][0].id
        if progress is not None:
            progress(done)
    chain.record(session, actor=chain.CONSOLE, action=REINDEXED, object_type="key", object_id=LINKING.stem,
                 detail={"version": version, "reports": done.reports, "unopened": len(done.unopened)})
    session.commit()
    return done
