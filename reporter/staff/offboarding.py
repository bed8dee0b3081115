"""Offboarding by four eyes, so that no case is orphaned; suspension by one, so that nothing waits.

    admin asks (request_offboarding) --> a coordinator confirms (confirm_offboarding) --> offboarded
    admin suspends (suspend) --> suspended --> a coordinator reinstates (reinstate) --> active

One admin alone could otherwise empty a country: offboard its coordinator and focal points, leave
their cases readable only with the offline escrow key, and send the country's next reports to another
region's coordinator the same admin invited. So offboarding takes a second person, a coordinator who
is not the one who asked. On confirmation, before the person's seals are deleted, every open case
they held is sealed again to whoever routing now chooses, by the confirming coordinator, who opens it
with their own key; a case the coordinator does not hold but someone else still does waits for its
own coordinator to route it again; a case nobody else holds stops the confirmation until a
coordinator who holds it confirms. The last active coordinator of a country cannot be offboarded
until another is active. A person who must be stopped at once is suspended by an admin alone: their
sessions end and no new seal is made to them, but nothing is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from reporter import access, directory, unlock
from reporter.audit import chain
from reporter.cases import holding, routing
from reporter.models import CampaignSeal, Report, Seal, StaffMember
from reporter.staff.lifecycle import PENDING_KIND, SESSION_KIND, StaffError, retire


@dataclass(frozen=True)
class Offboarded:
    """What a confirmed offboarding did to the person's open cases."""

    person: StaffMember
    resealed: tuple[str, ...]
    flagged: tuple[str, ...]


def _target(session: Session, person_id: str, actor: StaffMember) -> StaffMember:
    person = session.get(StaffMember, person_id) if isinstance(person_id, str) else None
    if person is None:
        raise StaffError("not_found")
    if person.id == actor.id:
        raise StaffError("self")
    if person.state == "offboarded":
        raise StaffError("state")
    if not directory.person_verifies(session, person):
        session.commit()  # the integrity failure event
        raise StaffError("integrity")
    return person


def _acting(actor: StaffMember, permission: str, reason: str) -> None:
    if not access.may(actor.role, permission) or actor.state != "active":
        raise StaffError(reason)


def is_last_coordinator(session: Session, person: StaffMember) -> bool:
    """Tell whether `person` is the only active coordinator of their country."""
    if not access.may(person.role, access.OVERSEES_REGION) or person.state != "active":
        return False
    others = session.scalars(select(StaffMember).where(
        StaffMember.role.in_(access.roles_with(access.OVERSEES_REGION)), StaffMember.state == "active",
        StaffMember.region == person.region, StaffMember.id != person.id))
    return not any(directory.person_verifies(session, other) for other in others)


def request_offboarding(person_id: str, *, session: Session, admin: StaffMember,
                        now: datetime) -> StaffMember:
    """Ask for a person to be offboarded (admin); a coordinator must confirm it; commit."""
    _acting(admin, access.MANAGE_USERS, "not_admin")
    person = _target(session, person_id, admin)
    if person.offboarding_requested_by is not None:
        raise StaffError("already_requested")
    if is_last_coordinator(session, person):
        raise StaffError("last_coordinator")
    person.offboarding_requested_by, person.offboarding_requested_at = admin.id, now
    chain.record(session, actor=chain.Actor.of(admin), action="staff.offboarding_requested",
                 object_type="staff", object_id=person.id)
    session.commit()
    return person


def pending_offboarding(session: Session, *, coordinator: StaffMember) -> list[StaffMember]:
    """Return the offboarding requests this coordinator may confirm (not their own, not themselves)."""
    query = select(StaffMember).where(StaffMember.offboarding_requested_by.is_not(None),
                                      StaffMember.state != "offboarded", StaffMember.id != coordinator.id,
                                      StaffMember.offboarding_requested_by != coordinator.id)
    return list(session.scalars(query.order_by(StaffMember.offboarding_requested_at)))


def _open_cases_held(session: Session, person: StaffMember) -> list[str]:
    held = select(Seal.report_id).where(Seal.recipient_kind == "staff", Seal.recipient_id == person.id)
    return sorted(session.scalars(select(Report.id).where(Report.id.in_(held), Report.status != "closed")))


def _reseal(session: Session, report_id: str, leaving: StaffMember, coordinator: StaffMember,
            private_key: bytes) -> None:
    """Seal a case the coordinator holds to everyone routing now chooses, except the person leaving."""
    report, data_key = holding.unseal(session, report_id, coordinator, private_key)
    added = routing.seal_to_routing_choice(session, report, data_key, person=coordinator, leaving=leaving.id)
    chain.record(session, actor=chain.Actor.of(coordinator), action="case.routed", object_type="report",
                 object_id=report.id,
                 detail={"added": sorted(r.id for r in added), "reason": "holder offboarded"})


def confirm_offboarding(person_id: str, *, session: Session, coordinator: StaffMember, private_key: bytes,
                        now: datetime) -> Offboarded:
    """Confirm an admin's request: re-seal the person's open cases, then offboard them; commit.

    StaffError names a refusal: "orphans" when an open case they hold has no other holder and the
    coordinator does not hold it either, "last_coordinator", "not_requested", "own_request".
    """
    _acting(coordinator, access.CONFIRM_OFFBOARDING, "not_coordinator")
    person = _target(session, person_id, coordinator)
    if person.offboarding_requested_by is None:
        raise StaffError("not_requested")
    if person.offboarding_requested_by == coordinator.id:
        raise StaffError("own_request")
    if is_last_coordinator(session, person):
        raise StaffError("last_coordinator")
    resealed, flagged, orphans = [], [], []
    try:
        for report_id in _open_cases_held(session, person):
            others = holding.holders(session, report_id) - {person.id}
            if coordinator.id in others:
                _reseal(session, report_id, person, coordinator, private_key)
                resealed.append(report_id)
            elif others:
                flagged.append(report_id)
            else:
                orphans.append(report_id)
    except (holding.CaseNotFound, holding.IntegrityFailure):
        session.rollback()
        raise StaffError("integrity") from None
    if orphans:
        session.rollback()
        raise StaffError("orphans")
    session.execute(delete(Seal).where(Seal.recipient_kind == "staff", Seal.recipient_id == person.id))
    session.execute(delete(CampaignSeal).where(CampaignSeal.recipient_kind == "staff",
                                               CampaignSeal.recipient_id == person.id))
    if flagged:
        session.execute(update(Report).where(Report.id.in_(flagged))
                        .values(needs_routing=True, version=Report.version + 1)
                        .execution_options(synchronize_session=False))
    for report_id in flagged:
        chain.record(session, actor=chain.SYSTEM, action="report.needs_routing", object_type="report",
                     object_id=report_id, detail={"reason": "holder offboarded"})
    retire(session, person, now=now)
    chain.record(session, actor=chain.Actor.of(coordinator), action="staff.offboarded", object_type="staff",
                 object_id=person.id, detail={"requested_by": person.offboarding_requested_by,
                                              "cases_resealed": len(resealed), "cases_flagged": len(flagged)})
    session.commit()
    return Offboarded(person=person, resealed=tuple(resealed), flagged=tuple(flagged))


def suspend(person_id: str, *, session: Session, admin: StaffMember, now: datetime) -> StaffMember:
    """Stop a person at once (admin alone): sessions end, no new seals; nothing is deleted; commit."""
    _acting(admin, access.MANAGE_USERS, "not_admin")
    person = _target(session, person_id, admin)
    if person.state != "active":
        raise StaffError("state")
    for kind in (SESSION_KIND, PENDING_KIND):
        unlock.close_sessions_of(session, kind=kind, subject_id=person.id)
    person.state = "suspended"
    chain.record(session, actor=chain.Actor.of(admin), action="staff.suspended", object_type="staff",
                 object_id=person.id)
    session.commit()
    return person


def reinstate(person_id: str, *, session: Session, coordinator: StaffMember, now: datetime) -> StaffMember:
    """Make a suspended person active again (a coordinator); commit."""
    _acting(coordinator, access.CONFIRM_OFFBOARDING, "not_coordinator")
    person = _target(session, person_id, coordinator)
    if person.state != "suspended":
        raise StaffError("state")
    person.state = "active"
    chain.record(session, actor=chain.Actor.of(coordinator), action="staff.reinstated", object_type="staff",
                 object_id=person.id, at=now)
    session.commit()
    return person


def suspended(session: Session) -> list[StaffMember]:
    """Return the suspended people (a coordinator may reinstate them)."""
    return list(session.scalars(select(StaffMember).where(StaffMember.state == "suspended")
                                .order_by(StaffMember.email)))


def active_coordinators(session: Session) -> int:
    """Return how many coordinators are active: with none, every report is refused."""
    overseers = access.roles_with(access.OVERSEES_REGION)
    return session.scalar(select(func.count()).select_from(StaffMember).where(
        StaffMember.role.in_(overseers), StaffMember.state == "active")) or 0
