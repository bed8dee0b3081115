"""The staff life cycle in the domain: invite, enrol, vet, offboard, each audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reporter import unlock, vault
from reporter.crypto import seals, wrapping
from reporter.extensions import db
from reporter.models import AuditEvent, EnrollmentToken, Report, Seal, StaffMember, UnlockedSession
from reporter.models.base import utcnow
from reporter.staff import enrolment, lifecycle, offboarding
from reporter.web.context import kdf_params

HOURS_72 = timedelta(hours=72)


def _actions(app):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def _invite(app, email, role, region=None, inviter=None):
    with app.app_context():
        by = db.session.get(StaffMember, inviter.id) if inviter else None
        return lifecycle.invite(email, role, region, session=db.session, invited_by=by, now=utcnow(),
                            lifetime=HOURS_72)


def test_invitation_stores_only_a_hash_of_the_link_token(app, staff_directory):
    invitation = _invite(app, "New.Person@Example.org ", "auditor", inviter=staff_directory.admin)
    with app.app_context():
        link = db.session.scalars(select(EnrollmentToken)).all()[-1]
        person = db.session.get(StaffMember, invitation.person.id)
        assert link.id == lifecycle.token_id(invitation.token) and invitation.token not in link.id
        assert person.email == "new.person@example.org" and person.state == "invited"
        assert link.expires_at - link.created_at == HOURS_72
    assert "staff.invited" in _actions(app)


@pytest.mark.parametrize(("email", "role", "region", "reason"), [
    ("not-an-address", "auditor", None, "email"),
    ("a@example.org", "superuser", None, "role"),
    ("a@example.org", "focal_point", None, "region"),
    ("a@example.org", "focal_point", "XX", "region"),
    ("a@example.org", "auditor", "GE", "region"),
])
def test_invitation_refuses_bad_input(app, staff_directory, email, role, region, reason):
    with pytest.raises(lifecycle.StaffError) as refused:
        _invite(app, email, role, region, inviter=staff_directory.admin)
    assert refused.value.reason == reason


def test_an_existing_account_cannot_be_invited_again(app, make_staff):
    person = make_staff(role="auditor")
    with pytest.raises(lifecycle.StaffError) as refused:
        _invite(app, person.email, "admin", inviter=make_staff.__self__.admin)
    assert refused.value.reason == "exists"


def test_enrolment_wraps_the_private_key_under_password_and_recovery_code(app, make_staff):
    account = make_staff(role="focal_point", state="enrolled")
    with app.app_context():
        person = db.session.get(StaffMember, account.id)
        assert person.state == "enrolled" and person.key_suite == seals.HYBRID
        params = wrapping.KdfParams.decode(person.key_pw_params)
        key = wrapping.password_key(account.password, salt=person.key_pw_salt, params=params)
        private = wrapping.unwrap(key, person.private_key_pw_ct, staff_id=person.id,
                                  column=wrapping.PASSWORD_COLUMN)
        rkey = wrapping.recovery_key(account.recovery_code, salt=person.key_rc_salt, staff_id=person.id)
        assert wrapping.unwrap(rkey, person.private_key_rc_ct, staff_id=person.id,
                               column=wrapping.RECOVERY_COLUMN) == private
        assert seals.public_key_of(private, person.key_suite) == person.public_key
        assert account.totp_secret.encode() not in person.totp_secret_ct
        assert person.password_hash.startswith("$argon2id$")


def test_enrolment_link_is_single_use(app, make_staff):
    account = make_staff(role="auditor", state="enrolled")
    with app.app_context(), pytest.raises(enrolment.EnrolmentLinkInvalid):
        enrolment.enrolment_stage(account.token, None, session=db.session, now=utcnow())


def test_enrolment_link_expires_after_its_lifetime(app, staff_directory):
    invitation = _invite(app, "late@example.org", "auditor", inviter=staff_directory.admin)
    with app.app_context():
        stage = enrolment.enrolment_stage(invitation.token, None, session=db.session, now=utcnow())
        assert stage == "password"
        with pytest.raises(enrolment.EnrolmentLinkInvalid):
            enrolment.enrolment_stage(invitation.token, None, session=db.session, now=utcnow() + HOURS_72)


def test_totp_step_of_enrolment_needs_the_browser_that_chose_the_password(app, staff_directory):
    invitation = _invite(app, "bound@example.org", "auditor", inviter=staff_directory.admin)
    keyring = app.extensions["reporter.keyring"]
    with app.app_context():
        chosen = enrolment.choose_password(invitation.token, "a long enough passphrase", session=db.session,
                                       keyring=keyring, params=kdf_params(app), now=utcnow())
        for other in (None, "another browser"):
            with pytest.raises(enrolment.EnrolmentLinkInvalid):
                enrolment.enrolment_totp_secret(invitation.token, other, session=db.session, keyring=keyring,
                                            now=utcnow())
        _, secret = enrolment.enrolment_totp_secret(invitation.token, chosen.binding, session=db.session,
                                                keyring=keyring, now=utcnow())
        assert secret == chosen.totp_secret


def test_console_bootstrap_activates_first_admin_and_coordinator_only(app, staff_directory):
    admin, coordinator = staff_directory.admin, staff_directory.coordinator
    assert staff_directory.person(admin).state == "active"
    assert staff_directory.person(coordinator).state == "active"
    later = _invite(app, "console.admin@example.org", "admin")  # a coordinator is active now
    assert later.person.vetting is None
    focal = _invite(app, "console.fp@example.org", "focal_point", "GE")
    assert focal.person.vetting is None


def test_coordinator_approves_an_enrolled_person(app, make_staff, staff_directory):
    account = make_staff(role="focal_point")
    person = staff_directory.person(account)
    assert person.state == "active" and person.vetting == "approve"
    assert person.vetted_by == staff_directory.coordinator.id


@pytest.mark.parametrize(("case", "reason"), [
    ("admin_vets", "not_coordinator"),
    ("own_invitee", "own_invitee"),
    ("self", "self"),
    ("not_enrolled", "state"),
    ("bad_decision", "decision"),
])
def test_vetting_refusals(app, make_staff, staff_directory, case, reason):
    coordinator = make_staff(role="coordinator")
    target = make_staff(role="focal_point", state="enrolled")
    vetter, decision = coordinator, "approve"
    if case == "admin_vets":
        vetter = staff_directory.admin
    elif case == "own_invitee":
        vetter = make_staff(role="coordinator")
        target = make_staff(role="focal_point", state="enrolled", invited_by=vetter)
    elif case == "self":
        target = coordinator
    elif case == "not_enrolled":
        target = make_staff(role="focal_point", state="invited")
    elif case == "bad_decision":
        decision = "maybe"
    with app.app_context(), pytest.raises(lifecycle.StaffError) as refused:
        me = db.session.get(StaffMember, vetter.id)
        lifecycle.vet(target.id, decision, session=db.session, vetter=me, now=utcnow())
    assert refused.value.reason == reason


def test_rejection_offboards_and_wipes_secrets(app, make_staff, staff_directory):
    target = make_staff(role="focal_point", state="enrolled")
    with app.app_context():
        me = db.session.get(StaffMember, staff_directory.coordinator.id)
        lifecycle.vet(target.id, "reject", session=db.session, vetter=me, now=utcnow())
    person = staff_directory.person(target)
    assert person.state == "offboarded" and person.vetting == "reject"
    assert person.password_hash is None and person.private_key_pw_ct is None and person.totp_secret_ct is None


def _seal_to(app, report_id, account):
    """Seal a report's data key to a staff member, as routing will (via escrow here: test only)."""
    with app.app_context():
        report = db.session.get(Report, report_id)
        person = db.session.get(StaffMember, account.id)
        seal = vault.seal_to_public_key(report, vault.new_data_key(), kind="staff", recipient_id=person.id,
                                        public_key=person.public_key, suite=person.key_suite)
        db.session.add(seal)
        db.session.commit()


def test_offboarding_deletes_seals_ends_sessions_and_seals_open_cases_to_others_first(
        app, make_staff, make_report, staff_directory):
    alone, shared = make_staff(role="focal_point"), make_staff(role="focal_point")
    make_report(), make_report()
    with app.app_context():
        first, second = db.session.scalars(select(Report.id)).all()
        unlock.open_session(db.session, kind=lifecycle.SESSION_KIND, subject_id=alone.id, role="focal_point",
                            secret=b"k", now=utcnow(), lifetime=timedelta(hours=1))
        db.session.commit()
    _seal_to(app, first, alone)
    _seal_to(app, second, alone)
    _seal_to(app, second, shared)
    staff_directory.deactivate(alone)
    with app.app_context():
        session = db.session
        seals_left = select(func.count()).select_from(Seal).where(Seal.recipient_id == alone.id)
        assert session.scalar(seals_left) == 0
        assert session.scalar(select(func.count()).select_from(UnlockedSession).where(
            UnlockedSession.subject_id == alone.id)) == 0
        # The confirming coordinator holds both cases: they were sealed to routing's choice at once.
        assert session.get(Report, first).needs_routing is False
        assert session.get(Report, second).needs_routing is False
        for report_id in (first, second):
            assert session.scalar(select(func.count()).select_from(Seal).where(
                Seal.report_id == report_id, Seal.recipient_kind == "staff")) >= 1
        person = session.get(StaffMember, alone.id)
        assert person.state == "offboarded" and person.private_key_pw_ct is None
    actions = _actions(app)
    assert "staff.offboarding_requested" in actions and "staff.offboarded" in actions
    assert actions.count("case.routed") == 2 and "report.needs_routing" not in actions


def test_admin_cannot_offboard_themselves_and_nobody_twice(app, make_staff, staff_directory):
    admin = staff_directory.admin
    with app.app_context(), pytest.raises(lifecycle.StaffError) as refused:
        me = db.session.get(StaffMember, admin.id)
        offboarding.request_offboarding(admin.id, session=db.session, admin=me, now=utcnow())
    assert refused.value.reason == "self"
    target = make_staff(role="auditor")
    staff_directory.deactivate(target)
    with pytest.raises(lifecycle.StaffError):
        staff_directory.deactivate(target)


def test_real_argon2_parameters_are_used_outside_the_fast_test_setting(app_factory):
    app = app_factory(REPORTER_ARGON2_TEST_FAST=False)
    assert kdf_params(app) == wrapping.DEFAULT_PARAMS
    from tests.staffing import StaffDirectory

    directory = StaffDirectory(app)
    person = directory.person(directory.admin)
    assert person.key_pw_params == "argon2id:m=65536,t=3,p=4"
    assert "m=65536,t=3,p=4" in person.password_hash
