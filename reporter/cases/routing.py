"""Routing: which staff members receive a case, and the seals that give them its data key.

Rules map (country, category or *, language or *) to focal points. For a report, the matching rules
are taken from the most specific level down (both fields named, then one, then none); the first level
that yields at least one active focal point with a key wins, and ties within a level go to every
person they name. A person the reporter excluded (conflict of interest) is never chosen.

The active coordinators of the report's country always receive the case. When the country has none,
every active coordinator does (the fallback pool), so that a report always reaches somebody able to
route it. When the installation has no active coordinator and no rule matches, there is no recipient
and the report is refused (NoRecipient): a case nobody can read is never stored as if it were received.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, select
from sqlalchemy.orm import Session

from reporter import vault
from reporter.audit import chain
from reporter.cases import notifications
from reporter.models import Report, RoutingRule, RoutingRuleMember, Seal, StaffMember
from reporter.models.routing import ANY

HOLDER_ROLES = ("focal_point", "coordinator")


class NoRecipient(Exception):
    """No active staff member could receive this report."""


class RoutingError(Exception):
    """A routing rule change was refused; `reason` names why in a word the interface translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Recipient:
    """A person a case is sealed to: their id and public key."""

    id: str
    role: str
    public_key: bytes
    suite: str


_HOLDER_COLUMNS = (StaffMember.id, StaffMember.role, StaffMember.public_key, StaffMember.key_suite)


def _eligible_focal_points(session: Session, country: str, category: str, language: str,
                           excluded: str | None) -> list[tuple[int, Recipient]]:
    """Return (rule specificity, person) for every active focal point with a key that a matching rule names.

    One statement of plain columns: this runs inside every submission.
    """
    specificity = (RoutingRule.category != ANY).cast(Integer) + (RoutingRule.language != ANY).cast(Integer)
    query = (
        select(specificity, *_HOLDER_COLUMNS)
        .join(RoutingRuleMember, RoutingRuleMember.rule_id == RoutingRule.id)
        .join(StaffMember, StaffMember.id == RoutingRuleMember.staff_id)
        .where(RoutingRule.country == country, RoutingRule.category.in_((category, ANY)),
               RoutingRule.language.in_((language, ANY)), StaffMember.role == "focal_point",
               StaffMember.state == "active", StaffMember.public_key.is_not(None))
        .order_by(StaffMember.id)
    )
    return [(int(level), Recipient(id=i, role=role, public_key=key or b"", suite=suite or ""))
            for level, i, role, key, suite in session.execute(query) if i != excluded]


def _coordinator_recipients(session: Session, country: str) -> list[Recipient]:
    query = select(*_HOLDER_COLUMNS, StaffMember.region).where(
        StaffMember.role == "coordinator", StaffMember.state == "active",
        StaffMember.public_key.is_not(None)).order_by(StaffMember.id)
    everyone = [(Recipient(id=i, role=role, public_key=key or b"", suite=suite or ""), region)
                for i, role, key, suite, region in session.execute(query)]
    regional = [person for person, region in everyone if region == country]
    return regional or [person for person, _ in everyone]


def coordinators_for(session: Session, country: str) -> list[Recipient]:
    """Return the active coordinators of `country`, or every active coordinator when it has none."""
    return _coordinator_recipients(session, country)


def choose_recipients(
    session: Session, *, country: str, category: str, language: str, excluded: str | None = None
) -> list[Recipient]:
    """Return everyone a new report of this kind is sealed to; raise NoRecipient if nobody."""
    named = _eligible_focal_points(session, country, category, language, excluded)
    best = max((level for level, _ in named), default=None)
    people = {person.id: person for level, person in named if level == best}
    for person in _coordinator_recipients(session, country):
        people.setdefault(person.id, person)
    if not people:
        raise NoRecipient()
    return list(people.values())


def seals_for(report: Report, data_key: bytes, recipients: Iterable[Recipient]) -> list[Seal]:
    """Return one seal of the report's data key per recipient."""
    return [vault.seal_to_public_key(report, data_key, kind="staff", recipient_id=r.id,
                                     public_key=r.public_key,
                                     suite=r.suite) for r in recipients]


def holders(session: Session, report_id: str) -> set[str]:
    """Return the ids of the staff members who hold a seal of this case."""
    return set(session.scalars(select(Seal.recipient_id).where(
        Seal.report_id == report_id, Seal.recipient_kind == "staff")))


def route_again(
    session: Session, report: Report, data_key: bytes, *, excluded: str | None, actor: chain.Actor
) -> list[str]:
    """Seal a case that waits for routing to everyone routing now chooses; flush. Return who was added."""
    held = holders(session, report.id)
    try:
        chosen = choose_recipients(session, country=report.country, category=report.category,
                                   language=report.language, excluded=excluded)
    except NoRecipient:
        chosen = []
    added = [r for r in chosen if r.id not in held]
    session.add_all(seals_for(report, data_key, added))
    report.needs_routing = False
    notifications.enqueue(session, [r.id for r in added], reason="routed")
    chain.record(session, actor=actor, action="case.routed", object_type="report", object_id=report.id,
                 detail={"added": sorted(r.id for r in added)})
    session.flush()
    return [r.id for r in added]


# Rules -------------------------------------------------------------------------------------------

def rules_of(session: Session, country: str) -> list[RoutingRule]:
    """Return the rules of one country, most specific first."""
    rules = session.scalars(select(RoutingRule).where(RoutingRule.country == country))
    return sorted(rules, key=lambda r: (-r.specificity, r.category, r.language))


def focal_points_of(session: Session, country: str) -> list[StaffMember]:
    """Return the active focal points of a country (who rules may name)."""
    query = select(StaffMember).where(StaffMember.role == "focal_point", StaffMember.state == "active",
                                      StaffMember.region == country)
    return list(session.scalars(query.order_by(StaffMember.display_name, StaffMember.email)))


def public_focal_points(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Return the active focal points who have a public name, by country: {code: [(id, name)]}.

    This is what a reporter sees when choosing a person to keep away from their case.
    """
    query = select(StaffMember.id, StaffMember.region, StaffMember.display_name).where(
        StaffMember.role == "focal_point", StaffMember.state == "active",
        StaffMember.display_name.is_not(None),
        StaffMember.region.is_not(None)).order_by(StaffMember.display_name)
    groups: dict[str, list[tuple[str, str]]] = {}
    for person_id, region, name in session.execute(query):
        groups.setdefault(region or "", []).append((person_id, name or ""))
    return groups


def save_rule(
    session: Session, *, coordinator: StaffMember, category: str, language: str, members: Sequence[str],
    categories: Sequence[str], languages: Sequence[str], now: datetime,
) -> RoutingRule:
    """Create or replace the rule (coordinator's country, category, language) -> members; commit."""
    country = coordinator.region
    if coordinator.role != "coordinator" or coordinator.state != "active" or not country:
        raise RoutingError("not_coordinator")
    if category != ANY and category not in categories:
        raise RoutingError("category")
    if language != ANY and language not in languages:
        raise RoutingError("language")
    allowed = {p.id for p in focal_points_of(session, country)}
    chosen = sorted(set(members))
    if not chosen or not set(chosen) <= allowed:
        raise RoutingError("members")
    rule = session.scalars(select(RoutingRule).where(
        RoutingRule.country == country, RoutingRule.category == category,
        RoutingRule.language == language)).first()
    if rule is None:
        rule = RoutingRule(country=country, category=category, language=language, created_by=coordinator.id,
                           created_at=now)
        session.add(rule)
        session.flush()
    rule.members = [RoutingRuleMember(rule_id=rule.id, staff_id=staff_id) for staff_id in chosen]
    chain.record(session, actor=chain.Actor.of(coordinator), action="routing.rule_saved",
                 object_type="routing_rule", object_id=rule.id,
                 detail={"country": country, "category": category, "language": language, "members": chosen})
    session.commit()
    return rule


def delete_rule(session: Session, rule_id: str, *, coordinator: StaffMember) -> None:
    """Delete one of the coordinator's country's rules; commit."""
    rule = session.get(RoutingRule, rule_id)
    if rule is None or coordinator.role != "coordinator" or rule.country != coordinator.region:
        raise RoutingError("not_found")
    chain.record(session, actor=chain.Actor.of(coordinator), action="routing.rule_deleted",
                 object_type="routing_rule", object_id=rule.id,
                 detail={"country": rule.country, "category": rule.category, "language": rule.language})
    session.delete(rule)
    session.commit()
