"""User management: admins invite, ask for offboarding, suspend; coordinators vet, confirm, reinstate."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from reporter.access import CONFIRM_OFFBOARDING, MANAGE_USERS, VET_STAFF, require
from reporter.cases import recipients
from reporter.countries import country_choices
from reporter.extensions import db
from reporter.lifecycle import staff_keys
from reporter.models import StaffMember
from reporter.models.base import utcnow
from reporter.models.staff import ROLES
from reporter.staff import lifecycle, offboarding
from reporter.web.i18n import select_locale
from reporter.web.labels import ROLE_LABELS, STATE_LABELS
from reporter.web.security import public_url
from reporter.web.staff import bp
from reporter.web.staff import session as staff_session
from reporter.web.staff.forms import (
    STAFF_PROBLEMS,
    EmptyForm,
    InviteForm,
    VetForm,
)
from reporter.web.staff.session import private_key

Page = tuple[str, int] | Response
#: How a refusal from reporter.staff answers over HTTP.
REFUSAL_STATUS = {"not_found": 404, "self": 403, "own_invitee": 403, "not_admin": 403, "not_coordinator": 403,
                  "own_request": 403}


def _users_page(form: InviteForm, status: int, **extra: object) -> Page:
    people = db.session.scalars(select(StaffMember).order_by(StaffMember.state, StaffMember.email)).all()
    region, others = country_choices(select_locale())
    fallback = recipients.countries_without_coordinator(db.session, [code for code, _ in region])
    return render_template("staff/users.html", form=form, people=people, roles=ROLES, role_labels=ROLE_LABELS,
                           state_labels=STATE_LABELS, countries=region + others, action_form=EmptyForm(),
                           fallback=[name for code, name in region if code in fallback], **extra), status


@bp.route("/users", methods=["GET", "POST"])
@require(MANAGE_USERS)
def users() -> Page:
    """List staff; invite a person and show their enrolment link once."""
    form = InviteForm()
    if request.method == "GET" or not form.validate():
        return _users_page(form, 200 if request.method == "GET" else 400)
    try:
        invitation = lifecycle.invite(form.email.data or "", form.role.data or "", form.region.data,
                                  session=db.session, invited_by=current_user._get_current_object(),
                                  now=utcnow(), lifetime=staff_session.enrolment_lifetime(),
                                  display_name=form.display_name.data)
    except lifecycle.StaffError as refused:
        return _users_page(form, 400, problem=STAFF_PROBLEMS[refused.reason])
    link = public_url(url_for("staff.enroll", token=invitation.token))
    return _users_page(InviteForm(formdata=None), 200, invited=invitation.person, link=link)


@bp.route("/users/<person_id>/vet", methods=["GET", "POST"])
@require(VET_STAFF)
def vet(person_id: str) -> Page:
    """Show an enrolled person to a coordinator, and record the approve or reject decision."""
    me, person = current_user._get_current_object(), db.session.get(StaffMember, person_id)
    if person is None:
        abort(404)
    if person.id == me.id or person.invited_by == me.id:
        abort(403)
    form = VetForm()
    if request.method == "POST":
        try:
            lifecycle.vet(person_id, form.decision.data or "", session=db.session, vetter=me, now=utcnow())
        except lifecycle.StaffError as refused:
            if refused.reason in REFUSAL_STATUS:
                abort(REFUSAL_STATUS[refused.reason])
            return render_template("staff/vet.html", person=person, form=form, role_labels=ROLE_LABELS,
                                   state_labels=STATE_LABELS, problem=STAFF_PROBLEMS[refused.reason]), 400
        return redirect(url_for("staff.home", done=f"vet_{form.decision.data}"))
    inviter = db.session.get(StaffMember, person.invited_by) if person.invited_by else None
    return render_template("staff/vet.html", person=person, inviter=inviter, form=form,
                           role_labels=ROLE_LABELS, state_labels=STATE_LABELS), 200


def _admin_action(action: Callable[..., StaffMember], person_id: str, done: str) -> Page:
    EmptyForm().validate_on_submit()  # CSRFProtect has already checked the token
    try:
        person = action(person_id, session=db.session, admin=current_user._get_current_object(), now=utcnow())
    except lifecycle.StaffError as refused:
        if refused.reason in REFUSAL_STATUS:
            abort(REFUSAL_STATUS[refused.reason])
        return _users_page(InviteForm(formdata=None), 400, problem=STAFF_PROBLEMS[refused.reason])
    return _users_page(InviteForm(formdata=None), 200, **{done: person})


@bp.post("/users/<person_id>/deactivate")
@require(MANAGE_USERS)
def deactivate(person_id: str) -> Page:
    """Ask for a person to be offboarded; a coordinator confirms it (see confirm_offboarding)."""
    return _admin_action(offboarding.request_offboarding, person_id, "requested")


@bp.post("/users/<person_id>/suspend")
@require(MANAGE_USERS)
def suspend(person_id: str) -> Page:
    """Stop a person at once: sessions end, no new seals, nothing deleted."""
    return _admin_action(offboarding.suspend, person_id, "suspended")


@bp.post("/users/<person_id>/renew-key")
@require(MANAGE_USERS)
def renew_key(person_id: str) -> Page:
    """Ask for a person's key pair to be renewed at their next login."""
    return _admin_action(staff_keys.request_renewal, person_id, "renewal")


def _coordinator_action(action: Callable[..., object], person_id: str, **values: object) -> Page:
    EmptyForm().validate_on_submit()  # CSRFProtect has already checked the token
    try:
        action(person_id, session=db.session, coordinator=current_user._get_current_object(), now=utcnow(),
               **values)
    except lifecycle.StaffError as refused:
        if refused.reason in REFUSAL_STATUS:
            abort(REFUSAL_STATUS[refused.reason])
        return _home_with(400, problem=STAFF_PROBLEMS[refused.reason])
    return _home_with(200, done=action.__name__)


def _home_with(status: int, **extra: object) -> Page:
    from reporter.web.staff.account_views import home_page

    return home_page(status, **extra)


@bp.post("/users/<person_id>/offboard")
@require(CONFIRM_OFFBOARDING)
def confirm_offboarding(person_id: str) -> Page:
    """Confirm an admin's offboarding request: the person's open cases are sealed to others first."""
    return _coordinator_action(offboarding.confirm_offboarding, person_id, private_key=private_key())


@bp.post("/users/<person_id>/reinstate")
@require(CONFIRM_OFFBOARDING)
def reinstate(person_id: str) -> Page:
    """Make a suspended person active again."""
    return _coordinator_action(offboarding.reinstate, person_id)
