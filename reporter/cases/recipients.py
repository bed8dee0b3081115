"""Who receives a new case, and the seals that give them its data key.

Rules map (country, category or *, language or *) to focal points. For a report, the matching rules
are taken from the most specific level down (both fields named, then one, then none); the first level
that yields at least one active focal point with a key wins, and ties within a level go to every
person they name. A person the reporter excluded (conflict of interest) is never chosen.

The active coordinators of the report's country always receive the case. When the country has none,
every active coordinator does (the fallback pool), so that a report always reaches somebody able to
route it. When the installation has no active coordinator and no rule matches, there is no recipient
and the report is refused (NoRecipient): a case nobody can read is never stored as if it were received.
Which roles play which part comes from `access` (ROUTED_BY_RULE, OVERSEES_REGION).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Integer, select
from sqlalchemy.orm import Session

from reporter import access, vault
from reporter.models import Report, RoutingRule, RoutingRuleMember, Seal, StaffMember
from reporter.models.routing import ANY


class NoRecipient(Exception):
    """No active staff member could receive this report."""


@dataclass(frozen=True)
class Recipient:
    """A person a case is sealed to: their id and public key."""

    id: str
    role: str
    public_key: bytes
    suite: str

    @classmethod
    def of(cls, person: StaffMember) -> Recipient:
        """Return the recipient a staff member with a key is."""
        return cls(id=person.id, role=person.role, public_key=person.public_key or b"",
                   suite=person.key_suite or "")


_HOLDER_COLUMNS = (StaffMember.id, StaffMember.role, StaffMember.public_key, StaffMember.key_suite)


def _eligible_focal_points(session: Session, country: str, category: str, language: str,
                           excluded: str | None) -> list[tuple[int, Recipient]]:
    """Return (rule specificity, person) for every active person with a key that a matching rule names.

    One statement of plain columns: this runs inside every submission.
    """
    specificity = (RoutingRule.category != ANY).cast(Integer) + (RoutingRule.language != ANY).cast(Integer)
    query = (
        select(specificity, *_HOLDER_COLUMNS)
        .join(RoutingRuleMember, RoutingRuleMember.rule_id == RoutingRule.id)
        .join(StaffMember, StaffMember.id == RoutingRuleMember.staff_id)
        .where(RoutingRule.country == country, RoutingRule.category.in_((category, ANY)),
               RoutingRule.language.in_((language, ANY)),
               StaffMember.role.in_(access.roles_with(access.ROUTED_BY_RULE)),
               StaffMember.state == "active", StaffMember.public_key.is_not(None))
        .order_by(StaffMember.id)
    )
    return [(int(level), Recipient(id=i, role=role, public_key=key or b"", suite=suite or ""))
            for level, i, role, key, suite in session.execute(query) if i != excluded]


def coordinators_for(session: Session, country: str) -> list[Recipient]:
    """Return the active coordinators of `country`, or every active coordinator when it has none."""
    query = select(*_HOLDER_COLUMNS, StaffMember.region).where(
        StaffMember.role.in_(access.roles_with(access.OVERSEES_REGION)), StaffMember.state == "active",
        StaffMember.public_key.is_not(None)).order_by(StaffMember.id)
    everyone = [(Recipient(id=i, role=role, public_key=key or b"", suite=suite or ""), region)
                for i, role, key, suite, region in session.execute(query)]
    regional = [person for person, region in everyone if region == country]
    return regional or [person for person, _ in everyone]


def choose_recipients(
    session: Session, *, country: str, category: str, language: str, excluded: str | None = None
) -> list[Recipient]:
    """Return everyone a new report of this kind is sealed to; raise NoRecipient if nobody."""
    named = _eligible_focal_points(session, country, category, language, excluded)
    best = max((level for level, _ in named), default=None)
    people = {person.id: person for level, person in named if level == best}
    for person in coordinators_for(session, country):
        people.setdefault(person.id, person)
    if not people:
        raise NoRecipient()
    return list(people.values())


def seals_for(report: Report, data_key: bytes, recipients: Iterable[Recipient]) -> list[Seal]:
    """Return one seal of the report's data key per recipient."""
    return [vault.seal_to_public_key(report, data_key, kind="staff", recipient_id=r.id,
                                     public_key=r.public_key,
                                     suite=r.suite) for r in recipients]


def focal_points_of(session: Session, country: str) -> list[StaffMember]:
    """Return the active focal points of a country (who rules may name)."""
    query = select(StaffMember).where(StaffMember.role.in_(access.roles_with(access.ROUTED_BY_RULE)),
                                      StaffMember.state == "active", StaffMember.region == country)
    return list(session.scalars(query.order_by(StaffMember.display_name, StaffMember.email)))


def public_focal_points(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Return the active focal points who have a public name, by country: {code: [(id, name)]}.

    This is what a reporter sees when choosing a person to keep away from their case.
    """
    query = select(StaffMember.id, StaffMember.region, StaffMember.display_name).where(
        StaffMember.role.in_(access.roles_with(access.ROUTED_BY_RULE)), StaffMember.state == "active",
        StaffMember.display_name.is_not(None),
        StaffMember.region.is_not(None)).order_by(StaffMember.display_name)
    groups: dict[str, list[tuple[str, str]]] = {}
    for person_id, region, name in session.execute(query):
        groups.setdefault(region or "", []).append((person_id, name or ""))
    return groups
