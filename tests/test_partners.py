"""Referral to partner organisations: consent, two coordinators, a sealed file, and the reporter told."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select, text

from reporter.crypto import partner_files, seals
from reporter.models import PartnerReferral
from tests.casework import events, submit, writing
from tests.conftest import csrf_token_of
from tests.partnering import (
    attachment_ids,
    confirm,
    export,
    partner_id,
    ready_partner,
    register,
    staff_client,
)

DESCRIPTION = "Someone published my home address in a Telegram channel."


@pytest.fixture
def desk(app, reporter, staff_directory):
    """A report with referral consent and a file, its holder's client, and a confirmed partner."""
    note = (io.BytesIO(b"Screenshot text: we know where you live\n"), "threat-note.txt", "text/plain")
    receipt, report_id = submit(reporter, referral_consent="y", attachments=[note])
    holder = staff_client(app, staff_directory.coordinator)
    second = staff_client(app, staff_directory.make(role="coordinator"))
    pair, partner = ready_partner(app, holder, second)
    return {"receipt": receipt, "report": report_id, "holder": holder, "second": second, "pair": pair,
            "partner": partner}


def _referrals(app) -> int:
    with writing(app) as session:
        return len(list(session.scalars(select(PartnerReferral))))


def test_a_holder_exports_a_case_that_opens_only_with_the_partner_key(app, reporter, desk):
    files = attachment_ids(desk["holder"], desk["report"])
    assert len(files) == 1
    response = export(desk["holder"], desk["report"], desk["partner"], ("description", "contact"),
                      tuple(files))
    assert response.status_code == 200 and response.mimetype == "application/octet-stream"
    disposition = response.headers["Content-Disposition"]
    assert "attachment" in disposition and desk["report"][:8] not in disposition
    data = response.get_data()
    assert DESCRIPTION.encode() not in data and b"we know where you live" not in data
    opened = partner_files.open_export(data, desk["pair"])
    assert opened.fields["description"] == DESCRIPTION and "perpetrator" not in opened.fields
    ((meta, body),) = opened.files
    assert meta["name"] == "threat-note.txt" and body == b"Screenshot text: we know where you live\n"
    with pytest.raises(partner_files.PartnerFileInvalid):
        partner_files.open_export(data, seals.generate_keypair())
    (event,) = events(app, "case.referred_to_partner", desk["report"])
    assert event.detail and desk["partner"] in event.detail and "Telegram" not in event.detail
    assert '"files":1' in event.detail.replace(" ", "")
    # the reporter is told, by the organisation's public name
    assert reporter.follow_up(desk["receipt"]).status_code == 302
    page = reporter.client.get("/followup/case").get_data(as_text=True)
    assert "Your case was referred to Legal Aid Tbilisi on" in page


def test_a_case_not_held_is_not_found_and_the_attempt_audited(app, desk, staff_directory):
    outsider = staff_client(app, staff_directory.make(role="focal_point", region="AM"))
    token = csrf_token_of(outsider.get("/staff/cases").get_data(as_text=True))
    response = outsider.post(f"/staff/cases/{desk['report']}/partner-export", data={
        "csrf_token": token, "partner": desk["partner"], "fields": ["description"]})
    assert response.status_code == 404 and _referrals(app) == 0
    (denied,) = events(app, "case.access_denied", desk["report"])
    assert denied.detail and "partner_export" in denied.detail


def test_a_swapped_key_is_noted_when_the_case_page_is_shown(app, desk):
    with writing(app) as session:
        session.execute(text("UPDATE partners SET public_name = :name WHERE id = :id"),
                        {"name": "Evil Twin", "id": desk["partner"]})
        session.commit()
    page = desk["holder"].get(f"/staff/cases/{desk['report']}").get_data(as_text=True)
    assert "Evil Twin" not in page
    assert desk["partner"] in [e.object_id for e in events(app, "directory.integrity_failure")]


def test_no_export_without_consent(app, reporter, desk):
    _, silent = submit(reporter)
    page = desk["holder"].get(f"/staff/cases/{silent}").get_data(as_text=True)
    assert 'id="no-referral-consent"' in page and "partner-export" not in page
    response = export(desk["holder"], silent, desk["partner"])
    assert response.status_code == 400 and "has not agreed" in response.get_data(as_text=True)
    assert _referrals(app) == 0 and not events(app, "case.referred_to_partner")


def test_an_insider_cannot_grant_consent(app, reporter, desk):
    _, silent = submit(reporter)
    with writing(app) as session:  # what someone writing to the database would do
        session.execute(text("UPDATE reports SET referral_consent = :yes WHERE id = :id"),
                        {"yes": True, "id": silent})
        session.commit()
    assert export(desk["holder"], silent, desk["partner"]).status_code == 400
    with writing(app) as session:  # copying a consenting report's MAC and counter does not help either
        row = session.execute(text("SELECT consent_mac, consent_counter FROM reports WHERE id = :id"),
                              {"id": desk["report"]}).one()
        session.execute(text("UPDATE reports SET consent_mac = :mac, consent_counter = :n WHERE id = :id"),
                        {"mac": row[0], "n": row[1], "id": silent})
        session.commit()
    assert export(desk["holder"], silent, desk["partner"]).status_code == 400
    assert _referrals(app) == 0
    assert [e.object_id for e in events(app, "directory.integrity_failure")].count(silent) >= 2


def test_the_reporter_withdraws_and_gives_consent_at_followup(app, reporter, desk):
    assert reporter.follow_up(desk["receipt"]).status_code == 302
    token = csrf_token_of(reporter.client.get("/followup/case").get_data(as_text=True))
    withdrawn = reporter.client.post("/followup/case/referral-consent", data={"csrf_token": token})
    assert withdrawn.status_code == 302
    assert export(desk["holder"], desk["report"], desk["partner"]).status_code == 400
    given = reporter.client.post("/followup/case/referral-consent",
                                 data={"csrf_token": token, "referral_consent": "y"})
    assert given.status_code == 302
    assert export(desk["holder"], desk["report"], desk["partner"]).status_code == 200
    changes = events(app, "followup.referral_consent_changed", desk["report"])
    assert [e.actor_role for e in changes] == ["reporter", "reporter"]


def test_a_registrant_cannot_confirm_and_an_unconfirmed_partner_is_refused(app, desk):
    pair = seals.generate_keypair()
    assert register(desk["holder"], "Shelter Batumi", pair).status_code == 302
    waiting = partner_id(app, "Shelter Batumi")
    own = confirm(desk["holder"], waiting)
    assert own.status_code == 400 and "another coordinator must confirm" in own.get_data(as_text=True)
    assert confirm(desk["second"], waiting, compared=None).status_code == 400
    assert export(desk["holder"], desk["report"], waiting).status_code == 400
    page = desk["holder"].get(f"/staff/cases/{desk['report']}").get_data(as_text=True)
    assert "Shelter Batumi" not in page and "Legal Aid Tbilisi" in page
    assert confirm(desk["second"], "0" * 32).status_code == 404
    assert [e.object_id for e in events(app, "partner.confirmed")] == [desk["partner"]]


def test_a_swapped_partner_key_is_refused(app, desk):
    attacker = seals.generate_keypair()
    with writing(app) as session:
        session.execute(text("UPDATE partners SET public_key = :key, fingerprint = :print WHERE id = :id"), {
            "key": attacker.public, "print": partner_files.fingerprint(attacker.public, attacker.suite),
            "id": desk["partner"]})
        session.commit()
    assert export(desk["holder"], desk["report"], desk["partner"]).status_code == 400
    page = desk["holder"].get(f"/staff/cases/{desk['report']}").get_data(as_text=True)
    assert "partner-export" not in page
    assert desk["partner"] in [e.object_id for e in events(app, "directory.integrity_failure")]
    assert _referrals(app) == 0


def test_a_retired_partner_is_never_used(app, desk):
    token = csrf_token_of(desk["second"].get("/staff/partners").get_data(as_text=True))
    retired = desk["second"].post(f"/staff/partners/{desk['partner']}/retire", data={"csrf_token": token})
    assert retired.status_code == 302
    assert export(desk["holder"], desk["report"], desk["partner"]).status_code == 400


@pytest.mark.parametrize(("values", "message"), [
    ({"public_name": "Big", "key_text": "x" * 100_000}, "too long for a public key file"),
    ({"public_name": "Garbage", "key_text": "hello, here is our key"}, "not a partner public key file"),
    ({"public_name": "", "key_text": "x"}, "public name"),
])
def test_bad_registrations_are_explained(app, desk, values, message):
    token = csrf_token_of(desk["holder"].get("/staff/partners").get_data(as_text=True))
    response = desk["holder"].post("/staff/partners", data={**values, "csrf_token": token})
    assert response.status_code == 400 and message in response.get_data(as_text=True)


@pytest.mark.parametrize(("fields", "files", "partner", "message"), [
    ((), (), None, "at least one field or file"),
    (("password",), (), None, "from the lists"),
    (("description",), ("0" * 32,), None, "from the lists"),
    (("description",), (), "0" * 32, "confirmed partner organisation"),
])
def test_bad_exports_are_explained(app, desk, fields, files, partner, message):
    response = export(desk["holder"], desk["report"], partner or desk["partner"], fields, files)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _referrals(app) == 0
