"""Who an actor id in the audit log is: their public name, e-mail and role from the staff directory.

Names are staff data, not case content, so auditors may read them. Only records whose directory MAC
verifies are used: someone who can write to the database but holds no instance key must not be able
to put a name beside another person's events. A record that does not verify is reported as such.

Reading the log never writes (a GET changes nothing, and viewing writes no audit event), so this
checks the MAC without `reporter.directory.row_verifies`, which appends a
``directory.integrity_failure`` event: the auditor reading the page is shown the failure instead,
and every place that acts on a staff record still notes it in the chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import directory
from reporter.models import StaffMember

#: Ids looked up per query; the ids of one page of the log fit in one.
_BATCH = 500


@dataclass(frozen=True, slots=True)
class Person:
    """A staff member as the directory names them; `verified` False means their record was tampered with."""

    id: str
    verified: bool
    name: str | None = None
    email: str | None = None
    role: str | None = None

    @property
    def label(self) -> str | None:
        """Return the public name, else the e-mail address (None for a record that does not verify)."""
        return (self.name or self.email) if self.verified else None


def _person(session: Session, row: tuple[Any, ...]) -> Person:
    fields, mac = row[:len(directory.STAFF_FIELDS)], row[len(directory.STAFF_FIELDS)]
    if not directory.keys_of(session).verify(directory.staff_message(fields), mac):
        return Person(id=str(row[0]), verified=False)
    values = dict(zip(directory.STAFF_FIELDS, fields, strict=True))
    return Person(id=values["id"], verified=True, name=values["display_name"], email=values["email"],
                  role=values["role"])


def people_named(session: Session, ids: Iterable[str | None]) -> dict[str, Person]:
    """Return the directory's verified record of each of `ids` that names a staff member."""
    wanted = sorted({person_id for person_id in ids if person_id})
    found: dict[str, Person] = {}
    for start in range(0, len(wanted), _BATCH):
        query = select(*directory.STAFF_COLUMNS).where(StaffMember.id.in_(wanted[start:start + _BATCH]))
        for row in session.execute(query):
            person = _person(session, tuple(row))
            found[person.id] = person
    return found


def everyone(session: Session) -> dict[str, Person]:
    """Return every staff member's record (for exports that may name any of them)."""
    return {person.id: person for person in (_person(session, tuple(row))
                                             for row in session.execute(select(*directory.STAFF_COLUMNS)))}
