"""The entry chain of a case: its notes, messages and assessments, counted and in order.

Each entry's ciphertext is bound to its case, id and kind (and, from format 2 on, to its author, time
and position) by the AEAD's associated data. That alone does not show an entry that was deleted, nor
one moved in time or given another author by someone who can write to the database. So the entries
of a case form a hash chain in order of position (1, 2, 3...): each link hashes the previous link
and the entry's id, position, kind, author, time, format and the SHA-256 of its ciphertext. The
case's ``entries_mac`` is an HMAC under the instance directory key (`reporter.directory`) over the
number of entries and the last link. Opening a case recomputes both: a deleted, inserted, reordered,
re-authored or back-dated entry, or a case whose entry MAC is missing, is an integrity failure.

What it does not stop: someone who kept an earlier copy of the case's row and of its entries can put
that whole earlier state back (the newest entries disappear together with the MAC that counted
them). The audit log still records every entry that was written (`case.note_added`, ...).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from reporter.crypto import CiphertextInvalid
from reporter.crypto.records import RecordKeys
from reporter.models import CaseEntry

GENESIS = bytes(32)
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


class ChainInvalid(CiphertextInvalid):
    """The entries of a case are not the ones its entry MAC counts."""


def link(previous: bytes, report_id: str, entry: CaseEntry) -> bytes:
    """Return the chain link of `entry` after the link `previous`."""
    content = _encode(["reporter/case-entry/v1", report_id, entry.id, entry.seq, entry.kind, entry.author_id,
                       entry.created_at.isoformat(), entry.format, hashlib.sha256(entry.body_ct).hexdigest()])
    return hashlib.sha256(previous + content.encode()).digest()


def _head(report_id: str, entries: Sequence[CaseEntry]) -> bytes:
    head = GENESIS
    for position, entry in enumerate(sorted(entries, key=lambda e: e.seq or 0), start=1):
        if entry.seq != position:
            raise ChainInvalid(f"entry {position} of the case is missing")
        head = link(head, report_id, entry)
    return head


def _message(report_id: str, count: int, head: bytes) -> bytes:
    return _encode(["reporter/case-entries/v1", report_id, count, head.hex()]).encode()


def mac(keys: RecordKeys, report_id: str, entries: Sequence[CaseEntry]) -> bytes:
    """Return the entry MAC of a case whose entries are `entries` (any order)."""
    return keys.mac(_message(report_id, len(entries), _head(report_id, entries)))


def check(keys: RecordKeys, report_id: str, entries_mac: bytes | None, entries: Sequence[CaseEntry]) -> None:
    """Raise ChainInvalid unless `entries` are exactly the entries the case's MAC counts, in order."""
    if not keys.verify(_message(report_id, len(entries), _head(report_id, entries)), entries_mac):
        raise ChainInvalid("the entries of the case are not the ones it counts")
