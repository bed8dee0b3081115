"""Each process keeps the routing state it verified (reporter.cases.verified_routing): every kind of
change to the directory is seen by the very next submission in the same process."""

from __future__ import annotations

from sqlalchemy import select

from reporter.cases import routing
from reporter.crypto.wrapping import KdfParams
from reporter.extensions import db
from reporter.lifecycle import staff_keys
from reporter.models import Seal, StaffMember
from reporter.models.base import utcnow
from reporter.staff import lifecycle
from reporter.vault import open_public_key_seal
from tests import casework
from tests.casework import add_rule, holders_of, submit


def test_a_rule_saved_again_routes_the_next_report_to_its_new_members(app, reporter, make_staff,
                                                                       staff_directory):
    first, second = make_staff(), make_staff()
    add_rule(app, "GE", [first])
    _, before = submit(reporter)
    with app.app_context():
        coordinator = db.session.get(StaffMember, staff_directory.coordinator.id)
        routing.save_rule(db.session, coordinator=coordinator, category="*", language="*",
                          members=[second.id], categories=[], languages=[], now=utcnow())
    _, after = submit(reporter)
    assert first.id in holders_of(app, before) and second.id not in holders_of(app, before)
    assert second.id in holders_of(app, after) and first.id not in holders_of(app, after)


def test_a_deleted_rule_routes_nothing_more(app, reporter, make_staff, staff_directory):
    named = make_staff()
    rule_id = add_rule(app, "GE", [named])
    submit(reporter)
    with app.app_context():
        coordinator = db.session.get(StaffMember, staff_directory.coordinator.id)
        routing.delete_rule(db.session, rule_id, coordinator=coordinator)
    _, report_id = submit(reporter)
    assert holders_of(app, report_id) == {staff_directory.coordinator.id}


def test_a_suspended_person_receives_no_next_report(app, reporter, make_staff, staff_directory):
    named = make_staff()
    add_rule(app, "GE", [named])
    _, before = submit(reporter)
    staff_directory.suspend(named)
    _, after = submit(reporter)
    assert named.id in holders_of(app, before) and named.id not in holders_of(app, after)


def test_an_offboarded_person_receives_no_next_report(app, reporter, make_staff, staff_directory):
    named, other = make_staff(), make_staff()
    add_rule(app, "GE", [named, other])
    _, before = submit(reporter)
    assert named.id in holders_of(app, before)  # until they leave: their cases then go to others
    staff_directory.deactivate(named)
    _, after = submit(reporter)
    assert named.id not in holders_of(app, after) and other.id in holders_of(app, after)


def test_a_person_vetted_after_a_report_receives_the_next_one(app, reporter, make_staff, staff_directory):
    named, waiting = make_staff(), make_staff(state="enrolled")
    add_rule(app, "GE", [named, waiting])
    _, before = submit(reporter)
    with app.app_context():
        coordinator = db.session.get(StaffMember, staff_directory.coordinator.id)
        lifecycle.vet(waiting.id, "approve", session=db.session, vetter=coordinator, now=utcnow())
    _, after = submit(reporter)
    assert waiting.id not in holders_of(app, before) and waiting.id in holders_of(app, after)


def test_the_next_report_is_sealed_to_a_renewed_key(app, reporter, make_staff):
    named = make_staff()
    add_rule(app, "GE", [named])
    submit(reporter)
    old_private = casework.private_key_of(app, named)
    with casework.writing(app) as session:
        person = session.get(StaffMember, named.id)
        assert person is not None and person.key_pw_params
        staff_keys.rotate_at_login(session, person, old_private, named.password,
                                   params=KdfParams.decode(person.key_pw_params))
        session.commit()
    new_private = casework.private_key_of(app, named)
    _, report_id = submit(reporter)
    with casework.writing(app) as session:
        seal = session.scalars(select(Seal).where(Seal.report_id == report_id,
                                                  Seal.recipient_id == named.id)).one()
        assert open_public_key_seal(seal, new_private)
