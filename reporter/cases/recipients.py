"""Who receives a new case, and the seals that give them its data key.

Rules map (country, category or *, language or *) to focal points. For a report, the matching rules
are taken from the most specific level down (both fields named, then one, then none); the first level
that yields at least one active focal point with a key wins, and ties within a level go to every
person they name. A person the reporter excluded (conflict of interest) is never chosen.

The active coordinators of the report's country always receive the case. When the country never had
one (none active or suspended), every active coordinator does (the fallback pool), so that a report
always reaches somebody able to route it; a country whose coordinator is suspended does not fall back.
Every rule and person is used only if their record verifies under the instance directory key
(`reporter.directory`): an inserted rule or an edited person is treated as if it did not exist.
When the installation has no active coordinator and no rule matches, there is no recipient
and the report is refused (NoRecipient): a case nobody can read is never stored as if it were received.
Which roles play which part comes from `access` (ROUTED_BY_RULE, OVERSEES_REGION).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import access, directory, vault
from reporter.cases import verified_routing
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


_FIELD = {name: index for index, name in enumerate(directory.STAFF_FIELDS)}
#: States in which a coordinator still counts as their country's: a suspended one is not replaced by
#: other regions' coordinators (so suspending someone cannot send a country's reports elsewhere).
_COORDINATOR_STATES = ("active", "suspended")
_OVERSEERS = access.roles_with(access.OVERSEES_REGION)


def _recipient(row: Sequence[Any]) -> Recipient:
    return Recipient(id=row[_FIELD["id"]], role=row[_FIELD["role"]],
                     public_key=row[_FIELD["public_key"]] or b"",
                     suite=row[_FIELD["key_suite"]] or "")


_RULE_COLUMNS = (RoutingRule.id, RoutingRule.country, RoutingRule.category, RoutingRule.language,
                 RoutingRule.record_mac, RoutingRuleMember.staff_id)
_NAMED = access.roles_with(access.ROUTED_BY_RULE)


def _eligible_focal_points(snapshot: verified_routing.Snapshot, session: Session, country: str,
                           category: str, language: str, excluded: str | None) -> list[tuple[int, Recipient]]:
    """Return (rule specificity, person) for each active, authentic person a matching, authentic rule
    names, but the excluded one; verified once per directory version (`verified_routing`)."""
    named = snapshot.get(("rules", country, category, language),
                         lambda: _load_eligible(session, country, category, language))
    return [(level, person) for level, person in named if person.id != excluded]


def _load_eligible(session: Session, country: str, category: str,
                   language: str) -> list[tuple[int, Recipient]]:
    """Read and verify what `_eligible_focal_points` returns.

    One statement: each matching rule with every member and the member's record. A rule verifies over
    all its members, active or not; then each member must be active, routed by rules, hold a key and
    have an authentic record.
    """
    query = (select(*_RULE_COLUMNS, *directory.STAFF_COLUMNS).select_from(RoutingRule)
             .outerjoin(RoutingRuleMember, RoutingRuleMember.rule_id == RoutingRule.id)
             .outerjoin(StaffMember, StaffMember.id == RoutingRuleMember.staff_id)
             .where(RoutingRule.country == country, RoutingRule.category.in_((category, ANY)),
                    RoutingRule.language.in_((language, ANY)))
             .order_by(RoutingRule.id, RoutingRuleMember.staff_id))
    rules: dict[str, list[Any]] = {}
    for row in session.execute(query):
        rules.setdefault(row[0], []).append(row)
    chosen: list[tuple[int, Recipient]] = []
    for rule_id, rows in rules.items():
        first = rows[0]
        members = [row[5] for row in rows if row[5] is not None]
        values = (rule_id, first[1], first[2], first[3], members)
        if not directory.rule_row_verifies(session, values, first[4]):
            continue
        level = (first[2] != ANY) + (first[3] != ANY)
        for row in rows:
            person = row[len(_RULE_COLUMNS):]
            usable = person[0] is not None and person[_FIELD["role"]] in _NAMED \
                and person[_FIELD["state"]] == "active" and person[_FIELD["public_key"]] is not None
            if usable and directory.row_verifies(session, person):
                chosen.append((level, _recipient(person)))
    return chosen


def _coordinator_rows(session: Session, snapshot: verified_routing.Snapshot | None = None) -> list[Any]:
    """Return the authentic records of the coordinators who count for their country (active or
    suspended); verified once per directory version."""
    def load() -> list[Any]:
        query = select(*directory.STAFF_COLUMNS).where(
            StaffMember.role.in_(_OVERSEERS), StaffMember.state.in_(_COORDINATOR_STATES),
            StaffMember.public_key.is_not(None)).order_by(StaffMember.id)
        return [tuple(row) for row in session.execute(query) if directory.row_verifies(session, row)]
    return (snapshot or verified_routing.current(session)).get(("coordinators",), load)


def coordinators_for(session: Session, country: str,
                     snapshot: verified_routing.Snapshot | None = None) -> list[Recipient]:
    """Return the active coordinators of `country`, or every active coordinator when it never had one.

    A country "has" a coordinator while one is active or suspended: only a country with neither falls
    back to every active coordinator. Only authentic records count.
    """
    everyone = _coordinator_rows(session, snapshot)
    regional = [row for row in everyone if row[_FIELD["region"]] == country]
    pool = regional or everyone
    return [_recipient(row) for row in pool if row[_FIELD["state"]] == "active"]


def countries_without_coordinator(session: Session, countries: Iterable[str]) -> list[str]:
    """Return which of `countries` have no coordinator (their reports go to every active coordinator)."""
    covered = {row[_FIELD["region"]] for row in _coordinator_rows(session)}
    return [country for country in countries if country not in covered]


def choose_recipients(
    session: Session, *, country: str, category: str, language: str, excluded: str | None = None
) -> list[Recipient]:
    """Return everyone a new report of this kind is sealed to; raise NoRecipient if nobody."""
    snapshot = verified_routing.current(session)
    named = _eligible_focal_points(snapshot, session, country, category, language, excluded)
    best = max((level for level, _ in named), default=None)
    people = {person.id: person for level, person in named if level == best}
    for person in coordinators_for(session, country, snapshot):
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
    """Return the active focal points of a country whose records verify (who rules may name)."""
    query = select(StaffMember).where(StaffMember.role.in_(access.roles_with(access.ROUTED_BY_RULE)),
                                      StaffMember.state == "active", StaffMember.region == country)
    return directory.verified_people(
        session, list(session.scalars(query.order_by(StaffMember.display_name, StaffMember.email))))


def is_focal_point_of(session: Session, country: str, staff_id: str) -> bool:
    """Tell whether `staff_id` is one of `focal_points_of(country)`; verified once per directory version."""
    def load() -> frozenset[str]:
        query = select(*directory.STAFF_COLUMNS).where(StaffMember.role.in_(_NAMED),
                                                       StaffMember.state == "active",
                                                       StaffMember.region == country)
        return frozenset(row[0] for row in session.execute(query) if directory.row_verifies(session, row))
    return staff_id in verified_routing.current(session).get(("focal_points", country), load)


def public_focal_points(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Return the active focal points who have a public name, by country: {code: [(id, name)]}.

    This is what a reporter sees when choosing a person to keep away from their case.
    """
    query = select(*directory.STAFF_COLUMNS).where(
        StaffMember.role.in_(access.roles_with(access.ROUTED_BY_RULE)), StaffMember.state == "active",
        StaffMember.display_name.is_not(None),
        StaffMember.region.is_not(None)).order_by(StaffMember.display_name)
    groups: dict[str, list[tuple[str, str]]] = {}
    for row in session.execute(query):
        if directory.row_verifies(session, row):
            name = row[_FIELD["display_name"]] or ""
            groups.setdefault(row[_FIELD["region"]] or "", []).append((row[0], name))
    return groups
