"""The routing state each process has verified, kept until the directory changes.

Every submission needs the same few records: the rules of its country, the people they name, the
coordinators. Reading them costs two statements and verifying them a MAC each; between two changes of
the directory the answer is always the same. So each process keeps what it read and verified, under
the directory version: a random token that database triggers replace on every insert, delete and
update of a signed column of staff_members, routing_rules and routing_rule_members (migration 0014).
A submission then reads one row by its primary key; the state is read and verified again after any
change, in the same process, whoever made it.

Why this holds against someone who can write to the database but holds no instance key:

- only what passed its MAC check is kept, and whatever is read after a change is checked again, so a
  forged or edited record is refused (and noted, `directory.integrity_failure`) as before;
- an edit that leaves the token as it was (triggers switched off, the old token written back) leaves
  the process using the state it verified before; replaying old signed rows gives them no more.

The token is random, never a counter: a transaction that changed the directory, routed a case and then
rolled back leaves its state cached under a token no committed state will ever have. Pending changes
are flushed before the token is read, so the state read is never older than the token it is kept under.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import directory
from reporter.models import DirectoryVersion

T = TypeVar("T")
_VERSION: Any = DirectoryVersion.__table__
_TOKEN = select(_VERSION.c.token).where(_VERSION.c.id == 1)
#: Databases remembered per process (a deployment has one; the test suite makes many).
_LIMIT = 8


@dataclass
class Snapshot:
    """What one process verified of one database under one token and one set of record keys."""

    bind: object
    keys: object
    token: str | None
    values: dict[tuple[str, ...], Any] = field(default_factory=dict)

    def get(self, key: tuple[str, ...], load: Callable[[], T]) -> T:
        """Return the value kept under `key`, loading (and verifying) it the first time."""
        if self.token is None:  # no version row: nothing can tell when to forget, so nothing is kept
            return load()
        try:
            return self.values[key]
        except KeyError:
            value = self.values[key] = load()
            return value


_snapshots: dict[object, Snapshot] = {}


def _database(bind: Any) -> object:
    """Return what names the session's database: its engine's pool, which the engines that only add
    execution options (a case view's BEGIN IMMEDIATE) share with the engine they derive from."""
    engine = getattr(bind, "engine", bind)
    return getattr(engine, "pool", engine)


def current(session: Session) -> Snapshot:
    """Return the verified state of the session's database as of its directory version now."""
    session.flush()
    token = session.execute(_TOKEN).scalar()
    bind = _database(session.get_bind())
    keys = directory.keys_of(session)
    found = _snapshots.get(bind)
    if found is not None and found.token == token and found.keys is keys and token is not None:
        return found
    if len(_snapshots) >= _LIMIT:
        _snapshots.clear()
    fresh = Snapshot(bind=bind, keys=keys, token=token)
    _snapshots[bind] = fresh
    return fresh
