"""Move records made under a retired directory or TOTP key to the current one, in resumable batches.

Re-signing a record means: verify it under the keys the installation has (the current one and the
retired ones), then sign it with the current key. A record that does not verify under any of them was
changed outside the application: it is left exactly as it is, so it keeps failing (a rotation must
never launder a forged record into a valid one), written to the audit log as an integrity failure and
listed for the operator. A record already under the current key is skipped, so a rerun after an
interruption continues where the last committed batch ended.

TOTP secrets are decrypted under any TOTP key and encrypted again under the current one (AES-GCM
decides which key opens them; one that opens under none is listed and left alone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import directory, unlock
from reporter.cases import campaigns, entry_chain, linking
from reporter.crypto import CiphertextInvalid
from reporter.crypto.records import RecordKeys
from reporter.models import (
    AccountLink,
    Campaign,
    CampaignCase,
    CaseEntry,
    Report,
    RoutingRule,
    StaffMember,
    UnlockedSession,
)
from reporter.staff import totp

BATCH = 500


@dataclass
class Resigned:
    """What a pass did: records signed again, and the records left failing (kind, id)."""

    signed: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: Resigned) -> None:
        """Add another pass's counts to these."""
        self.signed += other.signed
        self.refused.extend(other.refused)


def _batches(session: Session, model: Any) -> Iterator[list[Any]]:
    """Yield the rows of `model` in batches by id (keyset pages: memory stays flat)."""
    after = ""
    while True:
        rows = list(session.scalars(select(model).where(model.id > after).order_by(model.id).limit(BATCH)))
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _renew(session: Session, keys: RecordKeys, done: Resigned, kind: str, obj: Any, message: bytes,
           column: str = "record_mac", ident: str | None = None) -> None:
    mac = getattr(obj, column)
    if keys.is_current(mac):
        return
    if not keys.verify(message, mac):
        done.refused.append((kind, ident or obj.id))
        directory.note_failure(session, kind, ident or obj.id)
        return
    setattr(obj, column, keys.mac(message))
    done.signed += 1


def resign_directory(session: Session, keys: RecordKeys) -> Resigned:
    """Sign every staff record, routing rule, open session, case entry chain, account link and campaign
    row again.

    `keys` must be the session's record keys (the new key current, the old ones earlier). Commits
    after each batch.
    """
    session.info[directory.INFO_KEY] = keys
    done = Resigned()
    for people in _batches(session, StaffMember):
        for person in people:
            values = tuple(getattr(person, name) for name in directory.STAFF_FIELDS)
            _renew(session, keys, done, "staff", person, directory.staff_message(values))
        session.commit()
    for rules in _batches(session, RoutingRule):
        for rule in rules:
            values = (rule.id, rule.country, rule.category, rule.language, [m.staff_id for m in rule.members])
            _renew(session, keys, done, "routing_rule", rule, directory.rule_message(values))
        session.commit()
    for records in _batches(session, UnlockedSession):
        for record in records:
            _renew(session, keys, done, "session", record, unlock.session_message(record))
        session.commit()
    for reports in _batches(session, Report):
        _renew_entry_chains(session, keys, done, reports)
        _renew_links(session, keys, done, [report.id for report in reports])
        session.commit()
        session.expunge_all()
    for groups in _batches(session, Campaign):
        for group in groups:
            _renew(session, keys, done, "campaign", group, campaigns.campaign_message(
                group.id, group.region, group.created_by, group.created_at))
        _renew_memberships(session, keys, done, [group.id for group in groups])
        session.commit()
    return done


def _renew_memberships(session: Session, keys: RecordKeys, done: Resigned, campaign_ids: list[str]) -> None:
    """Sign again the membership rows of these campaigns (reporter.cases.campaigns); refuse forged ones."""
    for row in session.scalars(select(CampaignCase).where(CampaignCase.campaign_id.in_(campaign_ids))):
        message = campaigns.membership_message(row.campaign_id, row.report_id, row.added_by, row.added_at)
        _renew(session, keys, done, "campaign_case", row, message, ident=row.report_id)


def _renew_links(session: Session, keys: RecordKeys, done: Resigned, report_ids: list[str]) -> None:
    """Sign again the account link rows of these reports (reporter.cases.linking); refuse forged ones."""
    for row in session.scalars(select(AccountLink).where(AccountLink.report_id.in_(report_ids))):
        message = linking.link_message(row.report_id, row.platform, row.kind, row.blind_index)
        _renew(session, keys, done, "account_link", row, message, ident=row.report_id)


def _renew_entry_chains(session: Session, keys: RecordKeys, done: Resigned, reports: list[Report]) -> None:
    due = [report for report in reports if not keys.is_current(report.entries_mac)]
    if not due:
        return
    entries: dict[str, list[CaseEntry]] = defaultdict(list)
    query = select(CaseEntry).where(CaseEntry.report_id.in_([report.id for report in due]))
    for entry in session.scalars(query):
        entries[entry.report_id].append(entry)
    for report in due:
        try:
            entry_chain.check(keys, report.id, report.entries_mac, entries[report.id])
        except CiphertextInvalid:
            done.refused.append(("case_entries", report.id))
            directory.note_failure(session, "case_entries", report.id)
            continue
        report.entries_mac = entry_chain.mac(keys, report.id, entries[report.id])
        done.signed += 1


def reencrypt_totp(session: Session, current: bytes, retired: list[bytes]) -> Resigned:
    """Encrypt every staff TOTP secret again under the current TOTP key; commit after each batch."""
    done = Resigned()
    for people in _batches(session, StaffMember):
        for person in people:
            if person.totp_secret_ct is None or _opens(current, person):
                continue
            try:
                secret = totp.decrypt_secret_any(retired or [current], person.totp_secret_ct,
                                                 staff_id=person.id)
            except CiphertextInvalid:
                done.refused.append(("totp_secret", person.id))
                continue
            person.totp_secret_ct = totp.encrypt_secret(current, secret, staff_id=person.id)
            done.signed += 1
        session.commit()
    return done


def _opens(key: bytes, person: StaffMember) -> bool:
    assert person.totp_secret_ct is not None
    try:
        totp.decrypt_secret(key, person.totp_secret_ct, staff_id=person.id)
    except CiphertextInvalid:
        return False
    return True


def count_directory(session: Session, keys: RecordKeys) -> dict[str, dict[str, int]]:
    """Return {record kind: {key id (hex): count}} of the MACs stored, by the key that made them."""
    counted: dict[str, dict[str, int]] = {}
    columns = {"staff": StaffMember.record_mac, "routing_rule": RoutingRule.record_mac,
               "session": UnlockedSession.record_mac, "case_entries": Report.entries_mac,
               "account_links": AccountLink.record_mac, "campaigns": Campaign.record_mac,
               "campaign_cases": CampaignCase.record_mac}
    for kind, column in columns.items():
        tally: dict[str, int] = defaultdict(int)
        for mac in session.scalars(select(column).execution_options(yield_per=2000)):
            tally[bytes(mac or b"")[:8].hex() or "none"] += 1
        counted[kind] = dict(tally)
    return counted
