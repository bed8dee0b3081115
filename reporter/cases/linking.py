"""Linking cases that name the same account, without decrypting any case and without storing a handle.

At submission every account handle and link of the (already normalised) online details becomes a blind
index: HMAC-SHA256 under the instance linking key of ``v1|platform|kind|value``. Equal handles on the
same platform give equal indexes; the database alone cannot tell which handle an index stands for,
because it never holds the key. A handle has little entropy, though: whoever holds the linking key
(the running server, or someone who stole the instance keys) can test guesses (see SECURITY.md).

Each row also carries a MAC under the directory key over (report, platform, kind, index). An index
cannot be computed for a chosen handle without the linking key, so the only forgery left to someone
writing to the database is copying an existing index to another report; that row fails its MAC and is
ignored, as if it did not exist.

What a person sees never goes beyond what they hold: other cases they hold are named; cases they do
not hold are only counted, and only when there are at least `MIN_UNHELD` of them, so nobody learns of
a single case they do not hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, func, insert, select
from sqlalchemy.orm import Session, aliased

from reporter.crypto.kdf import keyed_digest
from reporter.crypto.records import RecordKeys
from reporter.intake.online_details import OnlineDetail
from reporter.models import AccountLink, Report, Seal

VERSION = "v1"
#: Cases a person does not hold are counted only from this many on; below it nothing is said of them.
MIN_UNHELD = 2
#: The most linked accounts the coordinator's page lists.
TOP = 50
_INSERT = insert(AccountLink.__table__)  # type: ignore[arg-type]
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


@dataclass
class Elsewhere:
    """The other cases that name one account, as one person may learn of them."""

    index: str
    platform: str = ""
    held: set[str] = field(default_factory=set)
    unheld: set[str] = field(default_factory=set)

    @property
    def held_ids(self) -> list[str]:
        """Return the ids of the other cases the person holds, sorted."""
        return sorted(self.held)

    @property
    def count(self) -> int:
        """Return how many other cases the person is told of: the held ones, and the others if enough."""
        return told_of(self.held, self.unheld)

    @property
    def label(self) -> str:
        """Return an opaque name for the account: the start of its index, which tells nothing of it."""
        return self.index[:8]


def kind_of(value: str) -> str:
    """Return "url" for an http(s) address (profile or post) and "account" for a handle."""
    return "url" if value.startswith(("http://", "https://")) else "account"


def entries_of(details: Iterable[OnlineDetail]) -> set[tuple[str, str, str]]:
    """Return the (platform, kind, value) of every account and link of the rows, without repeats."""
    found: set[tuple[str, str, str]] = set()
    for detail in details:
        for value in (detail.account, *detail.links):
            if value:
                found.add((detail.platform, kind_of(value), value))
    return found


def blind_index(key: bytes, platform: str, kind: str, value: str) -> str:
    """Return the blind index (hex) of a normalised value; no part before the value can contain "|"."""
    return keyed_digest(key, "|".join((VERSION, platform, kind, value)).encode()).hex()


def link_message(report_id: str, platform: str, kind: str, index: str) -> bytes:
    """Return the message a row's directory MAC covers."""
    return _encode(["reporter/account-link/v1", report_id, platform, kind, index]).encode()


def record(session: Session, report_id: str, details: Sequence[OnlineDetail], *, linking_key: bytes,
           key_version: int, keys: RecordKeys, created_at: datetime) -> None:
    """Insert the blind indexes of a report's accounts and links, in the caller's transaction."""
    rows = []
    for platform, kind, value in sorted(entries_of(details)):
        index = blind_index(linking_key, platform, kind, value)
        rows.append({"report_id": report_id, "platform": platform, "kind": kind, "blind_index": index,
                     "key_version": key_version, "created_at": created_at,
                     "record_mac": keys.mac(link_message(report_id, platform, kind, index))})
    if rows:
        session.execute(_INSERT, rows)


def _authentic(keys: RecordKeys, report_id: str, platform: str, kind: str, index: str, mac: Any) -> bool:
    return keys.verify(link_message(report_id, platform, kind, index), mac)


def told_of(held: set[str], unheld: set[str]) -> int:
    """Return how many cases a person is told of: the ones they hold, and the others only if enough."""
    return len(held) + (len(unheld) if len(unheld) >= MIN_UNHELD else 0)


def held_seal(report_id: Any, person_id: str) -> Any:
    """Return the condition that the person holds a seal of the report (for an outer join)."""
    return and_(Seal.report_id == report_id, Seal.recipient_kind == "staff", Seal.recipient_id == person_id)


def seen_elsewhere(session: Session, report_id: str, person_id: str, *, keys: RecordKeys,
                   linking_key: bytes, details: Iterable[OnlineDetail]) -> dict[tuple[str, str], Elsewhere]:
    """Return, by (platform, value) of the case's details, the other cases that name the same account.

    One query: this case's rows joined to every other row with the same index, and to the person's
    seal of that other case if there is one. Rows that fail their MAC are left out on either side.
    """
    mine, other = aliased(AccountLink), aliased(AccountLink)
    query = (select(mine.platform, mine.kind, mine.blind_index, mine.record_mac, other.report_id,
                    other.record_mac, Seal.id)
             .join(other, and_(other.blind_index == mine.blind_index, other.platform == mine.platform,
                               other.kind == mine.kind, other.report_id != mine.report_id))
             .outerjoin(Seal, held_seal(other.report_id, person_id))
             .where(mine.report_id == report_id))
    found: dict[str, Elsewhere] = {}
    for platform, kind, index, mac, other_id, other_mac, seal in session.execute(query):
        if not (_authentic(keys, report_id, platform, kind, index, mac)
                and _authentic(keys, other_id, platform, kind, index, other_mac)):
            continue
        entry = found.setdefault(index, Elsewhere(index, platform))
        (entry.held if seal is not None else entry.unheld).add(other_id)
    wanted = {(p, v): blind_index(linking_key, p, k, v) for p, k, v in entries_of(details)}
    return {place: found[index] for place, index in wanted.items() if index in found and found[index].count}


def quarter_start(now: datetime) -> datetime:
    """Return the first moment of the calendar quarter `now` is in."""
    return datetime(now.year, 3 * ((now.month - 1) // 3) + 1, 1)


def most_linked(session: Session, region: str | None, person_id: str, *, keys: RecordKeys,
                now: datetime) -> list[Elsewhere]:
    """Return the accounts named in the most cases of a region this quarter, as a person may see them.

    The held cases are named; the others count only when at least `MIN_UNHELD`, as on a case page, and
    an account is listed only when it is counted in two cases or more. Nothing for a person without a
    region.
    """
    if not region:
        return []
    in_scope = and_(Report.country == region, Report.purged_at.is_(None),
                    AccountLink.created_at >= quarter_start(now))
    shared = (select(AccountLink.blind_index).join(Report, Report.id == AccountLink.report_id)
              .where(in_scope).group_by(AccountLink.blind_index)
              .having(func.count(distinct(AccountLink.report_id)) >= 2))
    query = (select(AccountLink.blind_index, AccountLink.platform, AccountLink.kind, AccountLink.report_id,
                    AccountLink.record_mac, Seal.id)
             .join(Report, Report.id == AccountLink.report_id)
             .outerjoin(Seal, held_seal(AccountLink.report_id, person_id))
             .where(in_scope, AccountLink.blind_index.in_(shared)))
    found: dict[str, Elsewhere] = {}
    for index, platform, kind, report_id, mac, seal in session.execute(query):
        if _authentic(keys, report_id, platform, kind, index, mac):
            entry = found.setdefault(index, Elsewhere(index, platform))
            (entry.held if seal is not None else entry.unheld).add(report_id)
    listed = [entry for entry in found.values() if entry.count >= 2]
    return sorted(listed, key=lambda e: (-e.count, e.index))[:TOP]
