"""Routing: who a new report is sealed to, and the rules coordinators keep.

The most specific matching rule level wins (ties go to everyone named), inactive people and the
person the reporter excluded are skipped, the region's coordinators always receive the case (every
active coordinator when the region has none), and a report nobody could read is refused, never stored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from reporter import vault
from reporter.cases import recipients, routing
from reporter.crypto import seals
from reporter.intake import submission
from reporter.intake.validation import DraftInvalid, ReportDraft
from reporter.models import AuditEvent, Report, RoutingRule, RoutingRuleMember, Seal, StaffMember
from reporter.models.base import utcnow
from reporter.models.report import CATEGORIES
from reporter.models.routing import ANY
from reporter.models.staff import ROLES, STATES
from tests import casework
from tests.casework import add_rule, holders_of, private_key_of, submit, writing
from tests.staffing import csrf_of

LANGUAGES = ("en", "ru")


def chosen(app, *, country="GE", category="doxxing", language="en", excluded=None) -> set[str]:
    """Return the ids routing chooses for a report of this kind."""
    with writing(app) as session:
        return {r.id for r in recipients.choose_recipients(session, country=country, category=category,
                                                        language=language, excluded=excluded)}


# Rule levels -------------------------------------------------------------------------------------

def test_most_specific_matching_rule_wins(app, make_staff, staff_directory):
    coordinator = staff_directory.coordinator
    country_wide, by_category, by_language, exact = (make_staff() for _ in range(4))
    add_rule(app, "GE", [country_wide])
    add_rule(app, "GE", [by_category], category="doxxing")
    add_rule(app, "GE", [by_language], language="ru")
    add_rule(app, "GE", [exact], category="doxxing", language="en")

    assert chosen(app, category="doxxing", language="en") == {exact.id, coordinator.id}
    assert chosen(app, category="doxxing", language="ru") == {by_category.id, by_language.id, coordinator.id}
    assert chosen(app, category="threat", language="ru") == {by_language.id, coordinator.id}
    assert chosen(app, category="threat", language="en") == {country_wide.id, coordinator.id}


def test_rules_of_another_country_never_match(app, make_staff, staff_directory):
    armenian = make_staff(region="AM")
    add_rule(app, "AM", [armenian])
    assert chosen(app, country="GE") == {staff_directory.coordinator.id}


def test_ties_within_the_winning_level_go_to_everyone_they_name(app, make_staff, staff_directory):
    first, second, third, country_wide = (make_staff() for _ in range(4))
    add_rule(app, "GE", [first, second], category="doxxing")
    add_rule(app, "GE", [third], language="en")
    add_rule(app, "GE", [country_wide])
    assert chosen(app) == {first.id, second.id, third.id, staff_directory.coordinator.id}


def test_level_whose_people_are_all_inactive_falls_back_to_a_less_specific_one(
        app, make_staff, staff_directory):
    gone, suspended, country_wide = make_staff(), make_staff(), make_staff()
    add_rule(app, "GE", [gone], category="doxxing", language="en")
    add_rule(app, "GE", [suspended], category="doxxing")
    add_rule(app, "GE", [country_wide])
    staff_directory.deactivate(gone)
    casework.set_state(app, suspended, "suspended")
    assert chosen(app) == {country_wide.id, staff_directory.coordinator.id}


def test_unvetted_focal_point_named_in_a_rule_is_skipped(app, make_staff, staff_directory):
    waiting = make_staff(state="enrolled")  # has a key, but no coordinator approved them yet
    invited = make_staff(state="invited")  # no key yet
    add_rule(app, "GE", [waiting, invited])
    assert chosen(app) == {staff_directory.coordinator.id}


def test_deactivated_member_is_skipped_and_the_coordinator_still_receives(
        app, reporter, make_staff, staff_directory):
    gone, staying = make_staff(), make_staff()
    add_rule(app, "GE", [gone, staying])
    staff_directory.deactivate(gone)
    _, report_id = submit(reporter)
    assert holders_of(app, report_id) == {staying.id, staff_directory.coordinator.id}

    staff_directory.deactivate(staying)
    _, report_id = submit(reporter)
    assert holders_of(app, report_id) == {staff_directory.coordinator.id}


def test_staff_who_are_not_focal_points_are_never_chosen_by_a_rule(app, make_staff, staff_directory):
    auditor, admin, other_coordinator = make_staff(role="auditor"), staff_directory.admin, make_staff(
        role="coordinator", region="AM")
    add_rule(app, "GE", [auditor, admin, other_coordinator])
    assert chosen(app) == {staff_directory.coordinator.id}


# Exclusion ---------------------------------------------------------------------------------------

def test_excluded_person_gets_no_seal_and_the_choice_is_sealed_in_the_report(
        app, reporter, make_staff, staff_directory):
    excluded, colleague = make_staff(), make_staff()
    casework.set_display_name(app, excluded, "Nino")
    add_rule(app, "GE", [excluded, colleague])
    _, report_id = submit(reporter, exclude=excluded.id)
    coordinator = staff_directory.coordinator
    assert holders_of(app, report_id) == {colleague.id, coordinator.id}
    fields = casework.open_fields(app, report_id, coordinator, private_key_of(app, coordinator))
    assert fields["excluded"] == excluded.id
    with writing(app) as session:
        assert excluded.id.encode() not in session.get(Report, report_id).excluded_ct


def test_excluding_the_only_person_of_a_level_falls_back_to_the_next(app, make_staff, staff_directory):
    specific, country_wide = make_staff(), make_staff()
    add_rule(app, "GE", [specific], category="doxxing")
    add_rule(app, "GE", [country_wide])
    assert chosen(app, excluded=specific.id) == {country_wide.id, staff_directory.coordinator.id}


@pytest.mark.parametrize("who", ["other_country", "coordinator", "unknown", "long"])
def test_exclusion_of_someone_not_a_focal_point_of_the_country_is_refused_with_the_form_kept(
        app, reporter, make_staff, staff_directory, who):
    armenian = make_staff(region="AM")
    georgian = make_staff()
    casework.set_display_name(app, armenian, "Anahit")
    casework.set_display_name(app, georgian, "Giorgi")
    excluded = {"other_country": armenian.id, "coordinator": staff_directory.coordinator.id,
                "unknown": "f" * 32, "long": "x" * 10_000}[who]
    typed = "Someone followed me home from the office, third time this week."
    response = reporter.submit(exclude=excluded, description=typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please choose an officer who works in the country you chose" in page
    assert typed in page  # nothing the reporter typed is lost
    assert casework.count(app, Report) == 0 and casework.count(app, Seal) == 0


def test_domain_refuses_an_excluded_id_of_another_country(app, make_staff, staff_directory):
    armenian = make_staff(region="AM")
    draft = ReportDraft(incident_kind="online", category="doxxing", country="GE", description="x",
                        excluded=armenian.id)
    with writing(app) as session, pytest.raises(DraftInvalid) as refused:
        submission.submit_report(draft, session=session, keyring=app.extensions["reporter.keyring"])
    assert refused.value.problems == {"excluded": "choice"}


def test_exclusion_list_shows_named_active_focal_points_by_country(app, client, make_staff, staff_directory):
    named, unnamed, gone = make_staff(region="AM"), make_staff(), make_staff()
    casework.set_display_name(app, named, "Anahit <b>K</b>")
    casework.set_display_name(app, gone, "Gone Person")
    staff_directory.deactivate(gone)
    page = client.get("/report").get_data(as_text=True)
    assert f'value="{named.id}"' in page and "Anahit &lt;b&gt;K&lt;/b&gt;" in page
    assert unnamed.id not in page and gone.id not in page and "Gone Person" not in page


# Coordinators ------------------------------------------------------------------------------------

def test_regional_coordinator_always_receives_and_others_do_not(app, reporter, make_staff, staff_directory):
    armenian_coordinator, armenian = make_staff(role="coordinator", region="AM"), make_staff(region="AM")
    add_rule(app, "AM", [armenian])
    _, report_id = submit(reporter, country="AM")
    assert holders_of(app, report_id) == {armenian.id, armenian_coordinator.id}
    _, report_id = submit(reporter, country="GE")
    assert holders_of(app, report_id) == {staff_directory.coordinator.id}


def test_country_without_coordinator_goes_to_every_active_coordinator(app, reporter, make_staff,
                                                                      staff_directory):
    azerbaijani = make_staff(role="coordinator", region="AZ")
    former = make_staff(role="coordinator", region="AZ")
    staff_directory.deactivate(former)
    armenian = make_staff(region="AM")
    add_rule(app, "AM", [armenian])
    _, report_id = submit(reporter, country="AM")
    assert holders_of(app, report_id) == {armenian.id, staff_directory.coordinator.id, azerbaijani.id}


def test_nobody_to_receive_refuses_the_report_and_stores_nothing(app, client):
    from tests.conftest import VALID_REPORT, csrf_token_of

    events_before = casework.count(app, AuditEvent)
    typed = "They broke into the office at night."
    token = csrf_token_of(client.get("/report").get_data(as_text=True))
    response = client.post("/report", data={**VALID_REPORT, "description": typed, "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "nothing was stored" in page and typed in page
    assert casework.count(app, Report) == 0 and casework.count(app, Seal) == 0
    assert casework.count(app, AuditEvent) == events_before
    with writing(app) as session, pytest.raises(recipients.NoRecipient):
        recipients.choose_recipients(session, country="GE", category="doxxing", language="en")


def test_when_the_focal_points_left_and_the_coordinator_is_suspended_reports_are_refused(
        app, reporter, make_staff, staff_directory):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    submit(reporter)
    staff_directory.deactivate(focal_point)
    # A suspended coordinator still counts as the country's: its reports do not fall back to others.
    make_staff(role="coordinator", region="AM")
    staff_directory.suspend(staff_directory.coordinator)
    stored = casework.count(app, Report)
    response = reporter.submit()
    assert response.status_code == 503
    assert casework.count(app, Report) == stored


# Seals open with the recipient's key -------------------------------------------------------------

def test_every_staff_seal_opens_with_its_recipients_private_key_only(app, reporter, make_staff,
                                                                     staff_directory):
    first, second, outsider = make_staff(), make_staff(), make_staff()
    add_rule(app, "GE", [first, second])
    _, report_id = submit(reporter, description="Seal canary 7731")
    recipients = [first, second, staff_directory.coordinator]
    assert holders_of(app, report_id) == {p.id for p in recipients}
    keys = {p.id: private_key_of(app, p) for p in [*recipients, outsider]}
    for person in recipients:
        fields = casework.open_fields(app, report_id, person, keys[person.id])
        assert fields["description"] == "Seal canary 7731"
    with writing(app) as session:
        own = session.scalars(select(Seal).where(Seal.report_id == report_id,
                                                 Seal.recipient_id == first.id)).one()
        for other in (second.id, outsider.id):
            with pytest.raises(Exception):  # noqa: B017 - any refusal; the point is that it does not open
                vault.open_public_key_seal(own, keys[other])


def test_focal_point_opens_a_routed_case_through_the_web(app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    _, report_id = submit(reporter, description="Web canary 5512")
    browser = app.test_client()
    login(browser, focal_point)
    response = browser.get(f"/staff/cases/{report_id}")
    assert response.status_code == 200 and "Web canary 5512" in response.get_data(as_text=True)


# Property: never a stored report without a staff seal --------------------------------------------

PEOPLE = 6
# Weighted towards people who can hold cases, so that both outcomes (stored, refused) are common.
person_strategy = st.fixed_dictionaries({
    "role": st.sampled_from(("focal_point", "focal_point", "coordinator", *ROLES)),
    "state": st.sampled_from(("active", "active", "active", *STATES)),
    "region": st.sampled_from(("GE", "AM", "AZ", None)),
    "has_key": st.sampled_from((True, True, True, False)),
})
rule_strategy = st.tuples(st.sampled_from(("GE", "AM", "AZ")), st.sampled_from(("doxxing", ANY)),
                          st.sampled_from(("en", ANY)), st.sets(st.integers(0, PEOPLE - 1), min_size=1))
draft_strategy = st.tuples(st.sampled_from(("GE", "AM", "AZ")), st.sampled_from(("doxxing", "threat")),
                           st.sampled_from(LANGUAGES), st.sampled_from((*[None] * 6, *range(PEOPLE))))


def _reset_routing(session: Any) -> None:
    session.execute(delete(RoutingRuleMember))
    session.execute(delete(RoutingRule))
    session.execute(delete(Report))
    session.execute(delete(StaffMember))
    session.commit()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(person_strategy, min_size=PEOPLE, max_size=PEOPLE),
       rules=st.lists(rule_strategy, max_size=4), draft=draft_strategy)
def test_a_stored_report_always_has_a_staff_seal_that_its_holder_can_open(app, people, rules, draft):
    pairs = app.extensions.setdefault("tests.keypairs", [seals.generate_keypair() for _ in range(PEOPLE)])
    keyring = app.extensions["reporter.keyring"]
    ids = [f"{index:032x}" for index in range(PEOPLE)]
    country, category, language, excluded = draft
    with writing(app) as session:
        _reset_routing(session)
        for index, spec in enumerate(people):
            session.add(StaffMember(id=ids[index], email=f"p{index}@example.org", role=spec["role"],
                                    region=spec["region"], state=spec["state"],
                                    public_key=pairs[index].public if spec["has_key"] else None,
                                    key_suite=pairs[index].suite if spec["has_key"] else None))
        session.flush()
        seen = set()
        for rule_country, rule_category, rule_language, members in rules:
            if (rule_country, rule_category, rule_language) in seen:
                continue
            seen.add((rule_country, rule_category, rule_language))
            rule = RoutingRule(country=rule_country, category=rule_category, language=rule_language,
                               created_at=utcnow())
            session.add(rule)
            session.flush()
            rule.members = [RoutingRuleMember(rule_id=rule.id, staff_id=ids[m]) for m in members]
        session.commit()
        report = ReportDraft(incident_kind="online", category=category, country=country,
                             description="property canary", language=language,
                             excluded=ids[excluded] if excluded is not None else None)
        try:
            submitted = submission.submit_report(report, session=session, keyring=keyring,
                                                 today=date(2026, 6, 1))
        except (recipients.NoRecipient, DraftInvalid) as refused:
            event(f"refused: {type(refused).__name__}")
            assert session.scalar(select(func.count()).select_from(Report)) == 0
            assert session.scalar(select(func.count()).select_from(Seal)) == 0
            return
        event("stored")
        stored = session.get(Report, submitted.report_id)
        staff_seals = list(session.scalars(select(Seal).where(Seal.report_id == submitted.report_id,
                                                              Seal.recipient_kind == "staff")))
        assert staff_seals, "a report was stored without any staff seal"
        by_id = dict(zip(ids, people, strict=True))
        for seal in staff_seals:
            spec = by_id[seal.recipient_id]
            assert spec["state"] == "active" and spec["has_key"]
            assert spec["role"] in ("focal_point", "coordinator")
            assert excluded is None or seal.recipient_id != ids[excluded]
            key = vault.open_public_key_seal(seal, pairs[ids.index(seal.recipient_id)].private)
            assert vault.open_report_fields(stored, key)["description"] == "property canary"
        holders = {seal.recipient_id for seal in staff_seals}
        regional = {i for i, p in zip(ids, people, strict=True) if p["role"] == "coordinator"
                    and p["state"] == "active" and p["has_key"] and p["region"] == country}
        assert regional <= holders


# Rules: who may set them -------------------------------------------------------------------------

def _save(app, coordinator, members, *, category=ANY, language=ANY) -> str:
    with writing(app) as session:
        me = session.get(StaffMember, coordinator.id)
        rule = routing.save_rule(session, coordinator=me, category=category, language=language,
                                 members=[m if isinstance(m, str) else m.id for m in members],
                                 categories=CATEGORIES, languages=LANGUAGES, now=utcnow())
        return rule.id


def _members(app, rule_id) -> set[str]:
    with writing(app) as session:
        query = select(RoutingRuleMember.staff_id).where(RoutingRuleMember.rule_id == rule_id)
        return set(session.scalars(query))


def test_coordinator_saves_and_replaces_a_rule_of_their_region_with_audit(app, make_staff, staff_directory):
    coordinator = staff_directory.coordinator
    first, second, third = make_staff(), make_staff(), make_staff()
    rule_id = _save(app, coordinator, [first, second], category="doxxing")
    assert _members(app, rule_id) == {first.id, second.id}
    assert _save(app, coordinator, [second, third], category="doxxing") == rule_id
    assert _members(app, rule_id) == {second.id, third.id}
    saved = casework.events(app, "routing.rule_saved", rule_id)
    assert len(saved) == 2 and saved[-1].actor_id == coordinator.id
    low, high = sorted([second.id, third.id])
    assert f'"members":["{low}","{high}"]' in saved[-1].detail
    assert chosen(app) == {second.id, third.id, coordinator.id}


@pytest.mark.parametrize("who", ["other_region", "inactive", "unvetted", "coordinator", "unknown", "nobody"])
def test_rule_members_must_be_active_focal_points_of_the_region(app, make_staff, staff_directory, who):
    if who == "other_region":
        member = make_staff(region="AM").id
    elif who == "inactive":
        gone = make_staff()
        staff_directory.deactivate(gone)
        member = gone.id
    elif who == "unvetted":
        member = make_staff(state="enrolled").id
    elif who == "coordinator":
        member = make_staff(role="coordinator").id
    else:
        member = "f" * 32
    members = [] if who == "nobody" else [member]
    with pytest.raises(routing.RoutingError) as refused:
        _save(app, staff_directory.coordinator, members)
    assert refused.value.reason == "members"
    assert casework.count(app, RoutingRule) == 0 and not casework.events(app, "routing.rule_saved")


@pytest.mark.parametrize(("field", "value"), [("category", "not-a-category"), ("language", "xx")])
def test_rule_category_and_language_must_be_known(app, make_staff, staff_directory, field, value):
    with pytest.raises(routing.RoutingError) as refused:
        _save(app, staff_directory.coordinator, [make_staff()], **{field: value})
    assert refused.value.reason == field


def test_only_an_active_coordinator_with_a_region_sets_rules(app, make_staff, staff_directory):
    member = make_staff()
    former = make_staff(role="coordinator")
    staff_directory.deactivate(former)
    for person in (make_staff(role="focal_point"), make_staff(role="auditor"), former):
        with pytest.raises(routing.RoutingError) as refused:
            _save(app, person, [member])
        assert refused.value.reason == "not_coordinator"
    assert casework.count(app, RoutingRule) == 0


def test_coordinator_deletes_only_rules_of_their_region(app, make_staff, staff_directory):
    armenian_coordinator = make_staff(role="coordinator", region="AM")
    georgian_rule = _save(app, staff_directory.coordinator, [make_staff()])
    with writing(app) as session, pytest.raises(routing.RoutingError) as refused:
        intruder = session.get(StaffMember, armenian_coordinator.id)
        routing.delete_rule(session, georgian_rule, coordinator=intruder)
    assert refused.value.reason == "not_found"
    assert casework.count(app, RoutingRule) == 1
    with writing(app) as session:
        routing.delete_rule(session, georgian_rule, coordinator=session.get(StaffMember,
                                                                            staff_directory.coordinator.id))
    assert casework.count(app, RoutingRule) == 0 and casework.count(app, RoutingRuleMember) == 0
    (deleted,) = casework.events(app, "routing.rule_deleted", georgian_rule)
    assert deleted.actor_id == staff_directory.coordinator.id


def test_routing_page_saves_and_deletes_through_the_form(app, client, make_staff, staff_directory, login):
    member = make_staff()
    login(client, staff_directory.coordinator)
    token = csrf_of(client, "/staff/routing")
    response = client.post("/staff/routing", data={"category": "threat", "language": "en",
                                                   "members": [member.id], "csrf_token": token})
    assert response.status_code == 302
    with writing(app) as session:
        rule = session.scalars(select(RoutingRule)).one()
        assert (rule.country, rule.category, rule.language) == ("GE", "threat", "en")
