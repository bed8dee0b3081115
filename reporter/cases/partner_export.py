"""Referring a case to a partner organisation: one file of chosen fields and files, sealed to its key.

Only a holder exports, only with the reporter's authentic referral consent (reporter.intake.consent)
and only to a usable partner (reporter.cases.partners). The case is decrypted here and nowhere else
for an export, in the transaction that writes its `case.referred_to_partner` event (the partner, the
field names and the number of files; no content) and the referral row the reporter is shown at
follow-up. The file is built in memory and handed back: nothing of it is written on the server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import directory, vault
from reporter.audit import chain
from reporter.cases import holding, partners
from reporter.crypto import CiphertextInvalid, partner_files
from reporter.evidence.kinds import KINDS
from reporter.evidence.store import AttachmentIdInvalid, AttachmentStore
from reporter.intake import consent
from reporter.models import Attachment, Partner, PartnerReferral, StaffMember
from reporter.models.base import new_id, to_the_hour

#: The fields a holder may choose to send, in the order the file lists them.
EXPORTABLE = ("description", "perpetrator", "contact", "occurred_on", "online_details")
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


@dataclass(frozen=True)
class Exported:
    """An export ready to send: a name that tells nothing of the case, and the sealed bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Referral:
    """A verified referral, as the reporter and the case's holders see it."""

    partner_name: str
    day: datetime


def message(row: PartnerReferral) -> bytes:
    """Return the message a referral row's MAC covers."""
    return _encode(["reporter/partner-referral/v1", row.id, row.report_id, row.partner_id,
                    row.created_hour.isoformat(), row.created_by]).encode()


def referrals(session: Session, report_id: str) -> list[Referral]:
    """Return the authentic referrals of a case to authentic partners, oldest first."""
    rows = list(session.scalars(select(PartnerReferral).where(PartnerReferral.report_id == report_id)
                                .order_by(PartnerReferral.created_hour, PartnerReferral.id)))
    keys = directory.keys_of(session)
    authentic = []
    for row in rows:
        if keys.verify(message(row), row.record_mac):
            authentic.append(row)
        else:
            directory.note_failure(session, "partner_referral", row.id)
    names = partners.public_names(session, {row.partner_id for row in authentic})
    return [Referral(names[row.partner_id].public_name, row.created_hour)
            for row in authentic if row.partner_id in names]


def _files(session: Session, report_id: str, wanted: Sequence[str], data_key: bytes, store: AttachmentStore,
           person: StaffMember) -> list[tuple[dict[str, Any], bytes]]:
    query = select(Attachment).where(Attachment.report_id == report_id)
    rows = {row.id: row for row in session.scalars(query)}
    if any(attachment_id not in rows for attachment_id in wanted):
        raise holding.ActionRefused("choice")
    chosen = []
    for attachment_id in sorted(set(wanted)):
        row = rows[attachment_id]
        try:
            name = vault.open_attachment_name(data_key, row.id, row.name_ct)
            body = b"".join(vault.open_attachment_file(store, row.id, data_key))
        except (CiphertextInvalid, FileNotFoundError, AttachmentIdInvalid):
            raise holding.integrity_failure(session, report_id, person, "attachment") from None
        kind = KINDS[row.kind]
        chosen.append(({"name": name, "kind": row.kind, "media_type": kind.media_type,
                        "extension": kind.extension}, body))
    return chosen


def _fields(session: Session, report: Any, data_key: bytes, names: Sequence[str],
            person: StaffMember) -> dict[str, Any]:
    opened = holding.open_fields(session, report, data_key, person=person)
    fields: dict[str, Any] = {name: opened.get(name, "") for name in EXPORTABLE if name in names}
    if "online_details" in fields:
        fields["online_details"] = json.loads(fields["online_details"] or "[]")
    return fields


def _checked(session: Session, report: Any, partner_id: str, names: Sequence[str],
             files: Sequence[str]) -> Partner:
    if not consent.referral_allowed(session, report):
        session.commit()  # an integrity failure of the consent is kept
        raise holding.ActionRefused("no_consent")
    if any(name not in EXPORTABLE for name in names):
        raise holding.ActionRefused("choice")
    if not names and not files:
        raise holding.ActionRefused("nothing_chosen")
    try:
        return partners.usable_one(session, partner_id)
    except partners.PartnerRefused:
        session.commit()
        raise holding.ActionRefused("partner") from None


def export_case(session: Session, report_id: str, *, person: StaffMember, private_key: bytes,
                partner_id: str, fields: Sequence[str], files: Sequence[str], store: AttachmentStore,
                now: datetime) -> Exported:
    """Seal the chosen fields and files of a held case to a partner; record and audit it; commit.

    Raises CaseNotFound for a case not held, ActionRefused("no_consent" | "partner" | "choice" |
    "nothing_chosen"), IntegrityFailure (audited) for damaged content.
    """
    report, data_key = holding.unseal(session, report_id, person, private_key)
    partner = _checked(session, report, partner_id, fields, files)
    payload_fields = _fields(session, report, data_key, fields, person)
    payload_files = _files(session, report.id, files, data_key, store, person)
    row = PartnerReferral(id=new_id(), report_id=report.id, partner_id=partner.id,
                          created_hour=to_the_hour(now), created_by=person.id)
    row.record_mac = directory.keys_of(session).mac(message(row))
    data = partner_files.seal_export(export_id=row.id, partner_public=bytes(partner.public_key),
                                     suite=partner.suite, created=now.date().isoformat(),
                                     fields=payload_fields, files=payload_files)
    session.add(row)
    chain.record(session, actor=chain.Actor.of(person), action="case.referred_to_partner",
                 object_type="report", object_id=report.id, detail={"partner": partner.id, "export": row.id,
                                              "fields": sorted(payload_fields), "files": len(payload_files)})
    session.commit()
    return Exported(filename=f"referral-{row.id[:12]}.reporter-export", data=data)
