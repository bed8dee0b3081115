"""Whoever copies the database, its WAL, the key folder or a backup finds no report text and no receipt."""

from __future__ import annotations

import hashlib
import io
import re

from sqlalchemy import select

from reporter.extensions import db
from reporter.models import Report

DESCRIPTION_MARKER = "DESCRIPTION-MARKER-5c1d"
CYRILLIC_MARKER = "МАРКЕР-ОПИСАНИЯ-Жщ"
PERPETRATOR_MARKER = "PERPETRATOR-MARKER-8e2f"
CONTACT_MARKER = "CONTACT-MARKER-3a9b"
DATE_MARKER = "1987-06-05"
MARKERS = [DESCRIPTION_MARKER, CYRILLIC_MARKER, PERPETRATOR_MARKER, CONTACT_MARKER, DATE_MARKER]
FIELDS = {
    "description": f"They followed me home. {DESCRIPTION_MARKER} Потом {CYRILLIC_MARKER} звонили ночью.",
    "perpetrator": f"A man called {PERPETRATOR_MARKER}",
    "contact": f"Signal {CONTACT_MARKER}",
    "occurred_on": DATE_MARKER,
}


def _submit_and_follow_up(reporter) -> str:
    rejected = reporter.submit(consent=None, **FIELDS)
    assert rejected.status_code == 400
    accepted = reporter.submit(**FIELDS)
    assert accepted.status_code == 200
    receipt = reporter.receipt_of(accepted)
    assert reporter.follow_up(receipt).status_code == 302
    page = reporter.client.get("/followup/case").get_data(as_text=True)
    assert all(marker in page for marker in MARKERS), "the case page should show what was stored"
    return receipt


def test_no_field_of_a_report_is_stored_in_plaintext(reporter, find_at_rest):
    _submit_and_follow_up(reporter)
    assert find_at_rest(MARKERS) == []


def test_the_receipt_is_never_stored(reporter, find_at_rest):
    receipt = _submit_and_follow_up(reporter)
    compact = receipt.replace("-", "")
    assert re.fullmatch(r"[0-9A-Z]{20}", compact)
    assert find_at_rest([receipt, compact, compact.lower(), " ".join(receipt.split("-"))]) == []


def test_the_dump_does_see_what_is_meant_to_be_plaintext(app, reporter, find_at_rest):
    """Guard against a dump that reads nothing: the report id and the country are plaintext by design."""
    _submit_and_follow_up(reporter)
    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        plaintext = [report.id, report.receipt_lookup, "report.submitted", "followup.opened"]
    missing = [value for value in plaintext if not find_at_rest([value.encode()])]
    assert missing == []


FILE_MARKER = "FILE-CONTENT-MARKER-71c4"
NAME_MARKER = "FILE-NAME-MARKER-0d3e"


def test_no_attachment_content_name_or_original_hash_is_stored_in_plaintext(reporter, find_at_rest,
                                                                            instance_path):
    content = f"Screenshot transcript: {FILE_MARKER}\n".encode() * 50
    original_digest = hashlib.sha256(content).hexdigest()
    response = reporter.submit(keep_originals="y",
                               attachments=[(io.BytesIO(content), f"{NAME_MARKER}.txt")])
    assert response.status_code == 200
    assert len(list((instance_path / "attachments").iterdir())) == 2  # the scrubbed copy and the original
    assert find_at_rest([FILE_MARKER, NAME_MARKER, original_digest, content[:64]]) == []
