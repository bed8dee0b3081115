"""Campaigns: cases linked by hand under a sealed name, as staff and an insider with the database see it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from reporter import vault
from reporter.cases import triage
from reporter.keyring import escrow_key_id, read_escrow_private_key
from reporter.models import Campaign, CampaignCase, CampaignSeal, StaffMember
from reporter.models.base import utcnow
from tests.casework import add_rule, events, private_key_of, raw_storage, submit, writing
from tests.lifecycle.installation import app_for, console
from tests.lifecycle.shredding import DAYS, HOURS, run_purge
from tests.staffing import CSRF_PATTERN, StaffAccount

NAME = "Smear wave by Zorblax Media"
COUNT = re.compile(r"Cases: (\d+)")


@dataclass
class Scene:
    """A focal point who holds only the GE threat cases; every GE case reaches the coordinator."""

    app: Any
    login: Any
    officer: StaffAccount
    coordinator: StaffAccount
    mine: str
    clients: dict[str, Any]

    def client(self, account: StaffAccount) -> Any:
        if account.id not in self.clients:
            client = self.app.test_client()
            assert self.login(client, account).status_code == 302
            self.clients[account.id] = client
        return self.clients[account.id]

    def get(self, account: StaffAccount, path: str, status: int = 200) -> str:
        response = self.client(account).get(path)
        assert response.status_code == status, (response.status_code, path)
        return response.get_data(as_text=True)

    def post(self, account: StaffAccount, path: str, data: dict[str, str]) -> Any:
        page = self.client(account).get("/staff/campaigns").get_data(as_text=True)
        match = CSRF_PATTERN.search(page)
        assert match
        return self.client(account).post(path, data={"csrf_token": match.group(1), **data})

    def add(self, account: StaffAccount, report_id: str, **data: str) -> Any:
        return self.post(account, f"/staff/cases/{report_id}/campaigns", data)


def campaign_ids(app: Any) -> list[str]:
    with writing(app) as session:
        return list(session.scalars(select(Campaign.id).order_by(Campaign.created_at)))


def members(app: Any, campaign_id: str) -> set[str]:
    with writing(app) as session:
        query = select(CampaignCase.report_id).where(CampaignCase.campaign_id == campaign_id)
        return set(session.scalars(query))


@pytest.fixture
def scene(app, reporter, make_staff, staff_directory, login) -> Scene:
    officer = make_staff()
    add_rule(app, "GE", [officer], category="threat")
    _, mine = submit(reporter, category="threat")
    return Scene(app, login, officer, staff_directory.coordinator, mine, {})


def test_a_holder_makes_a_campaign_from_a_case_and_the_coordinator_adds_another(scene, reporter):
    response = scene.add(scene.officer, scene.mine, name=f"  {NAME} ")
    assert response.status_code == 302 and response.headers["Location"].endswith("#campaigns")
    (campaign_id,) = campaign_ids(scene.app)
    page = scene.get(scene.officer, f"/staff/cases/{scene.mine}")
    assert NAME in page and f"/staff/campaigns/{campaign_id}" in page and "Cases: 1" in page
    _, other = submit(reporter, category="doxxing")  # the coordinator holds it, the officer does not
    coordinator_case = scene.get(scene.coordinator, f"/staff/cases/{other}")
    assert f'<option value="{campaign_id}">{NAME}</option>' in coordinator_case
    assert scene.add(scene.coordinator, other, campaign=campaign_id).status_code == 302
    assert members(scene.app, campaign_id) == {scene.mine, other}
    listing = scene.get(scene.coordinator, "/staff/campaigns")
    assert NAME in listing and f"/staff/cases/{scene.mine}" in listing and f"/staff/cases/{other}" in listing
    created, *added = events(scene.app, "campaign.created") + events(scene.app, "campaign.case_added")
    assert created.object_type == "campaign" and created.object_id == campaign_id
    assert [e.object_id for e in added] == [scene.mine, other]
    assert all(json.loads(e.detail)["campaign"] == campaign_id for e in added)
    assert all("Zorblax" not in (e.detail or "") for e in events(scene.app))
    history = scene.get(scene.officer, f"/staff/cases/{scene.mine}")
    assert "The case was added to a campaign." in history


def test_removing_a_case_takes_it_out_and_is_audited(scene):
    scene.add(scene.officer, scene.mine, name=NAME)
    (campaign_id,) = campaign_ids(scene.app)
    response = scene.post(scene.officer, f"/staff/cases/{scene.mine}/campaigns/{campaign_id}/remove", {})
    assert response.status_code == 302
    assert members(scene.app, campaign_id) == set()
    assert 'id="no-campaigns"' in scene.get(scene.officer, f"/staff/cases/{scene.mine}")
    (removed,) = events(scene.app, "campaign.case_removed")
    assert removed.object_id == scene.mine and json.loads(removed.detail) == {"campaign": campaign_id}
    again = scene.post(scene.officer, f"/staff/cases/{scene.mine}/campaigns/{campaign_id}/remove", {})
    assert again.status_code == 400 and "does not exist" in again.get_data(as_text=True)


def test_a_viewer_learns_of_no_single_case_they_do_not_hold(scene, reporter, make_staff):
    scene.add(scene.officer, scene.mine, name=NAME)
    (campaign_id,) = campaign_ids(scene.app)
    path = f"/staff/campaigns/{campaign_id}"
    _, first = submit(reporter, category="doxxing")
    scene.add(scene.coordinator, first, campaign=campaign_id)
    page = scene.get(scene.officer, path)
    assert 'id="campaign-count">1<' in page and first not in page and first[:8] not in page
    _, second = submit(reporter, category="doxxing")
    scene.add(scene.coordinator, second, campaign=campaign_id)
    page = scene.get(scene.officer, path)
    assert 'id="campaign-count">3<' in page and first[:8] not in page and second[:8] not in page
    scene.post(scene.officer, f"/staff/cases/{scene.mine}/campaigns/{campaign_id}/remove", {})
    page = scene.get(scene.officer, path)  # sealed to the officer, who now holds none of its cases
    assert NAME in page and 'id="campaign-count">2<' in page and 'id="no-held-cases"' in page
    assert first[:8] not in page and second[:8] not in page
    elsewhere = make_staff(role="coordinator", region="AM")
    scene.get(elsewhere, path, status=404)
    assert campaign_id not in scene.get(elsewhere, "/staff/campaigns")


def test_the_key_goes_to_holders_who_lack_it_and_others_see_a_neutral_label(scene, reporter):
    _, other = submit(reporter, category="doxxing")
    scene.add(scene.coordinator, other, name=NAME)
    (campaign_id,) = campaign_ids(scene.app)
    assert NAME not in scene.get(scene.officer, "/staff/campaigns")
    scene.add(scene.coordinator, scene.mine, campaign=campaign_id)  # the officer holds this one
    assert NAME in scene.get(scene.officer, f"/staff/cases/{scene.mine}")
    with writing(scene.app) as session:
        session.execute(text("DELETE FROM campaign_seals WHERE recipient_id = :me"), {"me": scene.officer.id})
        session.commit()
    page = scene.get(scene.officer, f"/staff/campaigns/{campaign_id}")
    assert NAME not in page and f"Campaign {campaign_id[:6].upper()}" in page and 'id="name-sealed"' in page


def test_a_membership_row_copied_or_a_region_rewritten_by_an_insider_links_nothing(scene, reporter,
                                                                                   make_staff):
    scene.add(scene.officer, scene.mine, name=NAME)
    (campaign_id,) = campaign_ids(scene.app)
    _, other = submit(reporter, category="threat")  # the officer holds it too
    with writing(scene.app) as session:
        session.execute(text(
            "INSERT INTO campaign_cases (campaign_id, report_id, added_by, added_at, record_mac) "
            "SELECT campaign_id, :other, added_by, added_at, record_mac FROM campaign_cases "
            "WHERE report_id = :mine"), {"other": other, "mine": scene.mine})
        session.commit()
    assert members(scene.app, campaign_id) == {scene.mine, other}
    page = scene.get(scene.officer, f"/staff/campaigns/{campaign_id}")
    assert 'id="campaign-count">1<' in page and f"/staff/cases/{other}" not in page
    assert 'id="no-campaigns"' in scene.get(scene.officer, f"/staff/cases/{other}")
    armenia = make_staff(role="coordinator", region="AM")
    with writing(scene.app) as session:
        session.execute(text("UPDATE campaigns SET region = 'AM'"))
        session.commit()
    assert campaign_id not in scene.get(armenia, "/staff/campaigns")
    scene.get(armenia, f"/staff/campaigns/{campaign_id}", status=404)


def test_the_name_is_never_stored_in_plaintext(scene, backend, instance_path, database_url):
    scene.add(scene.officer, scene.mine, name=NAME)
    stored = raw_storage(backend, instance_path, database_url)
    assert b"zorblax" not in stored.lower() and "Zorblax".encode("utf-16-le") not in stored
    with writing(scene.app) as session:
        kinds = sorted(session.scalars(select(CampaignSeal.recipient_kind)))
    assert kinds == ["escrow", "staff", "staff"]  # the officer, the coordinator, the escrow key


@pytest.mark.parametrize(("data", "message"), [
    ({"name": ""}, "Please choose one of your campaigns"),
    ({"name": "x" * 121}, "Please shorten the name to 120 characters"),
    ({"name": "two\nlines"}, "one line without invisible control characters"),
    ({"name": "bell\x07"}, "Something in the request was not right"),  # refused before any view
    ({"name": "nul\x00"}, "Something in the request was not right"),
    ({"campaign": "0" * 32}, "does not exist, or you cannot add cases to it"),
    ({"campaign": "not-an-id"}, "does not exist, or you cannot add cases to it"),
])
def test_bad_input_on_the_case_page_gets_a_clear_message(scene, data, message):
    response = scene.add(scene.officer, scene.mine, **data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and message in body
    assert campaign_ids(scene.app) == []


def test_bad_input_on_the_list_page_and_cases_not_held(scene, reporter):
    response = scene.post(scene.officer, "/staff/campaigns", {"name": "   "})
    assert response.status_code == 400
    assert "Please give the campaign a name." in response.get_data(as_text=True)
    created = scene.post(scene.officer, "/staff/campaigns", {"name": NAME})
    assert created.status_code == 302
    (campaign_id,) = campaign_ids(scene.app)
    assert NAME in scene.get(scene.officer, created.headers["Location"])
    _, foreign = submit(reporter, category="doxxing")  # the officer does not hold it
    assert scene.add(scene.officer, foreign, campaign=campaign_id).status_code == 404
    assert scene.add(scene.officer, foreign, name="Another").status_code == 404
    assert members(scene.app, campaign_id) == set() and len(campaign_ids(scene.app)) == 1
    assert events(scene.app, "case.access_denied", foreign)
    scene.add(scene.officer, scene.mine, campaign=campaign_id)
    again = scene.add(scene.officer, scene.mine, campaign=campaign_id)
    assert again.status_code == 400 and "already in that campaign" in again.get_data(as_text=True)


def test_a_purged_case_leaves_every_campaign(scene):

    scene.add(scene.officer, scene.mine, name=NAME)
    (campaign_id,) = campaign_ids(scene.app)
    key = private_key_of(scene.app, scene.officer)
    with writing(scene.app) as session:
        triage.triage(session, scene.mine, person=session.get(StaffMember, scene.officer.id), private_key=key,
                      status="closed", risk=None, expected_version=None, now=utcnow(), hours=HOURS)
    assert run_purge(scene.app, utcnow() + timedelta(days=DAYS + 1)).cases == 1
    assert members(scene.app, campaign_id) == set()
    assert 'id="campaign-count">0<' in scene.get(scene.coordinator, f"/staff/campaigns/{campaign_id}")


def test_campaign_rows_survive_a_directory_key_rotation_signed_again(scene, instance_path, monkeypatch):
    scene.add(scene.officer, scene.mine, name=NAME)
    (campaign_id,) = campaign_ids(scene.app)
    url = str(scene.app.config["REPORTER_DATABASE_URL"])
    assert console(instance_path, url, "keys", "rotate", "--key", "directory").exit_code == 0
    status = console(instance_path, url, "keys", "status", "--json")
    versions = {v["version"]: v["dependents"] for k in json.loads(status.output) if k["key"] == "directory"
                for v in k["versions"]}
    assert versions[1]["campaigns"] == versions[1]["campaign_cases"] == 0
    assert versions[2]["campaigns"] == versions[2]["campaign_cases"] == 1
    restarted = Scene(app_for(instance_path, url, monkeypatch), scene.login, scene.officer, scene.coordinator,
                      scene.mine, {})
    page = restarted.get(scene.officer, f"/staff/campaigns/{campaign_id}")
    assert NAME in page and 'id="campaign-count">1<' in page


def test_a_renewed_staff_key_still_opens_the_campaign_name(scene):
    scene.add(scene.officer, scene.mine, name=NAME)
    (campaign_id,) = campaign_ids(scene.app)
    client = scene.client(scene.officer)
    assert scene.post(scene.officer, "/staff/key/renew", {}).status_code == 200
    scene.post(scene.officer, "/staff/logout", {})
    assert scene.login(client, scene.officer).status_code == 200  # the new recovery code, shown once
    page = scene.get(scene.officer, f"/staff/campaigns/{campaign_id}")
    assert NAME in page and 'id="name-sealed"' not in page
    (renewed,) = events(scene.app, "keys.staff_renewed")
    assert json.loads(renewed.detail) == {"resealed": 2, "unopened": 0}  # the case and the campaign


def test_an_escrow_rotation_seals_the_campaign_key_to_the_new_escrow_key(scene, instance_path,
                                                                         escrow_private_key_path):
    scene.add(scene.officer, scene.mine, name=NAME)
    (campaign_id,) = campaign_ids(scene.app)
    url = str(scene.app.config["REPORTER_DATABASE_URL"])
    rotated = console(instance_path, url, "keys", "rotate", "--escrow", "--old-escrow-key",
                      str(escrow_private_key_path))
    assert rotated.exit_code == 0, rotated.output
    assert "sealed 1 campaign key(s) to the new escrow key" in rotated.output
    [new_file] = sorted(instance_path.glob("escrow-private-*.key.MOVE-OFFLINE"))
    new = read_escrow_private_key(new_file)
    with writing(scene.app) as session:
        escrowed = list(session.scalars(select(CampaignSeal).where(CampaignSeal.recipient_kind == "escrow")))
        assert [seal.recipient_id for seal in escrowed] == [escrow_key_id(new.public)]
        seal = escrowed[0]
        key = vault.open_campaign_key(seal.sealed_key, campaign_id, recipient_id=seal.recipient_id,
                                      private_key=new.private, suite=seal.suite, key_version=seal.key_version)
        campaign = session.get(Campaign, campaign_id)
        assert vault.open_campaign_name(key, campaign_id, campaign.name_ct) == NAME
    (event,) = events(scene.app, "keys.escrow_rotated")
    assert json.loads(event.detail)["campaigns"] == 1
