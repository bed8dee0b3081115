"""Routing after submission: the rules coordinators set, referral to another person, routing again.

Rules map (country, category or *, language or *) to focal points of the coordinator's own region;
`recipients` applies them to each new report. A holder may refer a case to any active person who may
hold cases, in any region, with a reason: the case is sealed to them and moves to "referred" through
the same status change as every other (`triage.set_status`). When a holder leaves, their open cases
wait for routing, and a coordinator routes each again: it is sealed to whoever routing now chooses.
A person the reporter excluded is never chosen, by rule, referral or routing again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import access, directory
from reporter.audit import chain
from reporter.cases import holding, notifications, recipients, triage, verified_routing
from reporter.cases.holding import ActionRefused
from reporter.models import Report, RoutingRule, RoutingRuleMember, StaffMember
from reporter.models.routing import ANY

REFERRAL_REASONS = ("expertise", "language", "region", "workload", "conflict_of_interest", "other")


class RoutingError(Exception):
    """A routing rule change was refused; `reason` names why in a word the interface translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Referral and routing again ------------------------------------------------------------------------

def referral_candidates(session: Session, report_id: str, *, person: StaffMember) -> list[Any]:
    """Return the active focal points and coordinators (any region) a holder may refer a case to.

    Rows of `directory.STAFF_COLUMNS` (id, email, role, display_name, region, ...), ordered by region and
    name; the records are verified once per directory version (`verified_routing`), and the chosen
    target's record is verified again when the case is referred.
    """
    def load() -> list[Any]:
        query = select(*directory.STAFF_COLUMNS).where(StaffMember.state == "active",
                                                       StaffMember.role.in_(access.HOLDER_ROLES),
                                                       StaffMember.public_key.is_not(None))
        ordered = query.order_by(StaffMember.region, StaffMember.display_name, StaffMember.email)
        return [row for row in session.execute(ordered) if directory.row_verifies(session, row)]
    held = holding.holders(session, report_id)
    everyone = verified_routing.current(session).get(("referral_candidates",), load)
    return [row for row in everyone if row.id not in held and row.id != person.id]


def _referral_target(session: Session, to: str, person: StaffMember, report_id: str) -> StaffMember:
    target = session.get(StaffMember, to) if isinstance(to, str) and len(to) <= 64 else None
    if target is None or target.id == person.id:
        raise ActionRefused("target")
    may_hold = access.may(target.role, access.HANDLE_CASES)
    if target.state != "active" or not may_hold or target.public_key is None:
        raise ActionRefused("target_inactive")
    if not directory.person_verifies(session, target):
        session.commit()  # the integrity failure event; nothing else has changed yet
        raise ActionRefused("target_inactive")
    if target.id in holding.holders(session, report_id):
        raise ActionRefused("already_holds")
    return target


def refer(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, to: str, reason: str,
    now: datetime,
) -> StaffMember:
    """Seal a case to another active focal point or coordinator, with a reason code; commit."""
    if reason not in REFERRAL_REASONS:
        raise ActionRefused("reason")
    with holding.changing(session):
        report, data_key = holding.unseal(session, report_id, person, private_key)
        target = _referral_target(session, to, person, report.id)
        excluded = holding.open_fields(session, report, data_key, person=person)["excluded"]
        if excluded and excluded == target.id:
            raise ActionRefused("excluded")
        session.add_all(recipients.seals_for(report, data_key, [recipients.Recipient.of(target)]))
        # The case changes before the referral's own event: its row is locked before the audit chain,
        # in the order every other action takes them (the other order deadlocks with a concurrent triage).
        if report.status not in triage.REFERRAL_KEEPS:
            triage.set_status(session, report, "referred", person=person, now=now)
        chain.record(session, actor=chain.Actor.of(person), action="case.referred", object_type="report",
                     object_id=report.id, detail={"to": target.id, "reason": reason}, at=now)
        notifications.enqueue(session, [target.id], reason="referred", now=now)
    return target


def seal_to_routing_choice(session: Session, report: Report, data_key: bytes, *, person: StaffMember,
                           leaving: str | None = None) -> list[recipients.Recipient]:
    """Seal an opened case to everyone routing now chooses who does not hold it yet; return them.

    Never the person the reporter excluded, nor `leaving` (someone being offboarded). No commit.
    """
    excluded = holding.open_fields(session, report, data_key, person=person)["excluded"] or None
    held = holding.holders(session, report.id)
    try:
        chosen = recipients.choose_recipients(session, country=report.country, category=report.category,
                                              language=report.language, excluded=excluded)
    except recipients.NoRecipient:
        chosen = []
    added = [r for r in chosen if r.id not in held and r.id != leaving]
    session.add_all(recipients.seals_for(report, data_key, added))
    return added


def route_again(session: Session, report_id: str, *, person: StaffMember, private_key: bytes) -> list[str]:
    """Seal a case that waits for routing (its holder left) to everyone routing now chooses; commit.

    Return the ids of the people added.
    """
    with holding.changing(session):
        report, data_key = holding.unseal(session, report_id, person, private_key)
        if not report.needs_routing:
            raise ActionRefused("not_waiting")
        added = seal_to_routing_choice(session, report, data_key, person=person)
        report.needs_routing = False
        notifications.enqueue(session, [r.id for r in added], reason="routed")
        chain.record(session, actor=chain.Actor.of(person), action="case.routed", object_type="report",
                     object_id=report.id, detail={"added": sorted(r.id for r in added)})
    return [r.id for r in added]


# Rules -------------------------------------------------------------------------------------------

def rules_of(session: Session, country: str) -> list[RoutingRule]:
    """Return the rules of one country, most specific first."""
    rules = session.scalars(select(RoutingRule).where(RoutingRule.country == country))
    return sorted(rules, key=lambda r: (-r.specificity, r.category, r.language))


def _may_set_rules(coordinator: StaffMember) -> bool:
    return access.may(coordinator.role, access.MANAGE_ROUTING) and coordinator.state == "active"


def save_rule(
    session: Session, *, coordinator: StaffMember, category: str, language: str, members: Sequence[str],
    categories: Sequence[str], languages: Sequence[str], now: datetime,
) -> RoutingRule:
    """Create or replace the rule (coordinator's country, category, language) -> members; commit."""
    country = coordinator.region
    if not _may_set_rules(coordinator) or not country:
        raise RoutingError("not_coordinator")
    if category != ANY and category not in categories:
        raise RoutingError("category")
    if language != ANY and language not in languages:
        raise RoutingError("language")
    allowed = {p.id for p in recipients.focal_points_of(session, country)}
    chosen = sorted(set(members))
    if not chosen or not set(chosen) <= allowed:
        raise RoutingError("members")
    rule = session.scalars(select(RoutingRule).where(
        RoutingRule.country == country, RoutingRule.category == category,
        RoutingRule.language == language)).first()
    if rule is not None and not directory.rule_verifies(session, rule):
        # Changed outside the application (the failure is now in the audit log): replaced whole.
        session.delete(rule)
        session.flush()
        rule = None
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
    may_delete = access.may(coordinator.role, access.MANAGE_ROUTING)
    if rule is None or not may_delete or rule.country != coordinator.region:
        raise RoutingError("not_found")
    chain.record(session, actor=chain.Actor.of(coordinator), action="routing.rule_deleted",
                 object_type="routing_rule", object_id=rule.id,
                 detail={"country": rule.country, "category": rule.category, "language": rule.language})
    session.delete(rule)
    session.commit()
