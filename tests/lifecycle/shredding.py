"""Helpers for the retention tests: cases made the real way, closed, and looked at as an attacker would.

An attacker who holds the database after a purge has every key the installation ever had (the escrow
private key, the reporter's receipt, each staff key) and reads the files raw. The helpers collect every
ciphertext a case had before the purge, so a test can search the raw storage for each of them after it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reporter.cases import entries, triage
from reporter.evidence.store import AttachmentStore
from reporter.extensions import db
from reporter.intake import followup
from reporter.lifecycle import purge
from reporter.models import Attachment, CaseEntry, Report, Seal, StaffMember, UnlockedSession
from reporter.models.base import utcnow
from reporter.models.report import SEALED_FIELDS
from reporter.web import context
from tests.casework import add_rule, private_key_of, submit, writing
from tests.staffing import StaffAccount

HOURS = {"critical": 1, "high": 5, "medium": 10, "low": 20, "unknown": 30}
#: The retention period of the test app (REPORTER_RETENTION_DAYS default).
DAYS = 365


@dataclass
class ShreddableCase:
    """A routed case with a note, messages both ways and files; who holds it; its secrets."""

    app: Any
    report_id: str
    receipt: str
    focal_point: StaffAccount
    coordinator: StaffAccount
    canary: str
    keys: dict[str, bytes] = field(default_factory=dict)

    def key(self, account: StaffAccount) -> bytes:
        """Return (and cache) a person's private key, unwrapped from their password."""
        if account.id not in self.keys:
            self.keys[account.id] = private_key_of(self.app, account)
        return self.keys[account.id]

    def person(self, session: Any, account: StaffAccount) -> StaffMember:
        """Return a person's row in `session`."""
        person = session.get(StaffMember, account.id)
        assert person is not None
        return person

    def close(self, now: datetime) -> None:
        """Close the case as its focal point at `now` (sets the retention date)."""
        key = self.key(self.focal_point)
        with writing(self.app) as session:
            person = self.person(session, self.focal_point)
            triage.triage(session, self.report_id, person=person, private_key=key, status="closed", risk=None,
                          expected_version=None, now=now, hours=HOURS)

    def reopen(self, now: datetime) -> None:
        """Reopen the case for assessment at `now`."""
        key = self.key(self.focal_point)
        with writing(self.app) as session:
            person = self.person(session, self.focal_point)
            triage.triage(session, self.report_id, person=person, private_key=key, status="assessing",
                          risk=None, expected_version=None, now=now, hours=HOURS)

    def reporter_writes(self, body: str, now: datetime) -> None:
        """Send a reporter's message with the receipt, as the follow-up page does."""
        with writing(self.app) as session:
            ticket = followup.start_followup(self.receipt, session=session, keyring=context.keyring(self.app),
                                             now=now, lifetime=timedelta(minutes=30))
            followup.reply(ticket, body, session=session, now=now)

    def row(self) -> Report:
        """Return the stored report (detached)."""
        with writing(self.app) as session:
            report = session.get(Report, self.report_id)
            assert report is not None
            session.expunge(report)
            return report


def make_case(app: Any, reporter: Any, focal_point: StaffAccount, coordinator: StaffAccount, *,
              country: str = "GE", canary: str = "retention canary") -> ShreddableCase:
    """Submit a report with two files (one original kept), then add a note and messages both ways."""
    files = [(io.BytesIO(f"{canary} evidence file\n".encode()), "evidence.txt"),
             (io.BytesIO(f"{canary} second file\n".encode()), "more.txt")]
    receipt, report_id = submit(reporter, country=country, description=f"{canary}: my address was published.",
                                attachments=files, keep_originals="y")
    case = ShreddableCase(app, report_id, receipt, focal_point, coordinator, canary)
    key = case.key(focal_point)
    with writing(app) as session:
        person = case.person(session, focal_point)
        entries.add_note(session, report_id, person=person, private_key=key, body=f"{canary} note",
                         now=utcnow())
        entries.send_message(session, report_id, person=person, private_key=key, body=f"{canary} question",
                             now=utcnow())
    with writing(app) as session:  # a follow-up session that stays open: its record wraps the data key
        followup.start_followup(receipt, session=session, keyring=context.keyring(app), now=utcnow(),
                                lifetime=timedelta(hours=1))
    return case


def routed_people(app: Any, make_staff: Any, staff_directory: Any, country: str = "GE") -> tuple[Any, Any]:
    """Return a focal point named in a rule for `country`, and the bootstrap coordinator."""
    focal_point = make_staff(region=country)
    add_rule(app, country, [focal_point])
    return focal_point, staff_directory.coordinator


def ciphertexts_of(app: Any, report_id: str) -> list[bytes]:
    """Return every ciphertext stored for a case: columns, seals, entries, attachment rows and files."""
    blobs: list[bytes] = []
    with writing(app) as session:
        report = session.get(Report, report_id)
        assert report is not None
        blobs += [getattr(report, f"{name}_ct") for name in SEALED_FIELDS]
        blobs += list(session.scalars(select(Seal.sealed_key).where(Seal.report_id == report_id)))
        blobs += list(session.scalars(select(CaseEntry.body_ct).where(CaseEntry.report_id == report_id)))
        for row in session.scalars(select(Attachment).where(Attachment.report_id == report_id)):
            blobs += [row.name_ct, row.original_sha256_ct]
        blobs += list(session.scalars(select(UnlockedSession.wrapped_secret).where(
            UnlockedSession.subject_id == report_id)))
    store = context.attachment_store(app)
    for store_id in store_ids_of(app, report_id):
        with store.open(store_id) as source:
            blobs.append(source.read())
    return [bytes(blob) for blob in blobs if blob]


def store_ids_of(app: Any, report_id: str) -> list[str]:
    """Return the store ids of a case's files (scrubbed copies and kept originals)."""
    with writing(app) as session:
        ids = []
        for attachment_id, original_id in session.execute(
                select(Attachment.id, Attachment.original_id).where(Attachment.report_id == report_id)):
            ids += [attachment_id, *([original_id] if original_id else [])]
        return ids


def raw_files(store: AttachmentStore) -> bytes:
    """Return the bytes of every file in the attachment folder, raw."""
    root = Path(store.root)
    return b"".join(path.read_bytes() for path in sorted(root.iterdir()) if path.is_file()) if root.is_dir() \
        else b""


def run_purge(app: Any, now: datetime, **options: Any) -> purge.PurgeRun:
    """Run the purge at `now` as the command does, and reclaim the database's old copies."""
    with app.app_context(), db.writing() as session:
        done = purge.purge(session, context.attachment_store(app), now, **options)
        assert db.engine is not None
        purge.reclaim(db.engine)
    return done
