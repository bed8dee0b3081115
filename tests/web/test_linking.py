"""Cases linked by the accounts they name, as staff and an attacker with database access see it."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, text

from reporter import config
from reporter.cases import linking
from reporter.keyring import KeyringError, create_instance_keys, load_keyring
from reporter.models import AccountLink
from reporter.web import context
from tests.casework import add_rule, raw_storage, submit, writing
from tests.staffing import StaffAccount

HANDLE = "@Zorblax_Troll77"
LINKED = re.compile(r"Also named in other cases: (\d+)")


def online(account: str, platform: str = "telegram", **fields: Any) -> dict[str, Any]:
    """Return the form fields of an online report naming one account."""
    return {"incident_kind": "online", "online-0-platform": platform, "online-0-account": account, **fields}


def rows_of(app: Any, report_id: str) -> list[AccountLink]:
    with writing(app) as session:
        return list(session.scalars(select(AccountLink).where(AccountLink.report_id == report_id)))


def label_of(app: Any, value: str, platform: str = "telegram") -> str:
    """Return the opaque label the coordinator's page shows for a normalised account."""
    with app.app_context():
        key = context.keyring(app).linking_key
    return linking.blind_index(key, platform, "account", value)[:8]


@dataclass
class Scene:
    """A focal point who holds only the GE threat cases; every GE case reaches the coordinator."""

    app: Any
    officer: StaffAccount
    coordinator: StaffAccount
    mine: str

    def page(self, login: Any, account: StaffAccount, path: str) -> str:
        client = self.app.test_client()
        assert login(client, account).status_code == 302
        response = client.get(path)
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)


@pytest.fixture
def scene(app, reporter, make_staff, staff_directory) -> Scene:
    officer = make_staff()
    add_rule(app, "GE", [officer], category="threat")
    _, mine = submit(reporter, category="threat", **online(HANDLE))
    return Scene(app, officer, staff_directory.coordinator, mine)


def test_the_same_account_gets_the_same_index_and_another_platform_another(app, reporter, scene):
    _, again = submit(reporter, **online("zorblax_troll77 "))
    _, elsewhere = submit(reporter, **online(HANDLE, platform="instagram"))
    (first,), (second,), (third,) = (rows_of(app, r) for r in (scene.mine, again, elsewhere))
    assert first.blind_index == second.blind_index != third.blind_index
    assert len(first.blind_index) == 64 and first.kind == "account" and first.key_version == 1
    assert first.created_at.minute == first.created_at.second == 0


def test_no_handle_is_stored_in_plaintext(backend, instance_path, database_url, app, reporter, scene):
    submit(reporter, **online("https://t.me/Zorblax_Troll77?utm_source=x"))
    stored = raw_storage(backend, instance_path, database_url).lower()
    assert b"zorblax" not in stored and b"troll77" not in stored
    with writing(app) as session:
        assert session.scalar(select(AccountLink.kind).where(AccountLink.kind == "url")) == "url"


def test_a_viewer_holding_no_linked_case_learns_nothing_of_one_and_only_a_count_of_two(
        app, reporter, login, scene):
    _, first = submit(reporter, category="doxxing", **online(HANDLE))
    page = scene.page(login, scene.officer, f"/staff/cases/{scene.mine}")
    assert "zorblax_troll77" in page and not LINKED.search(page) and first[:8] not in page
    _, second = submit(reporter, category="doxxing", **online(HANDLE))
    page = scene.page(login, scene.officer, f"/staff/cases/{scene.mine}")
    assert LINKED.findall(page) == ["2"] and "Those you hold" not in page
    assert first[:8] not in page and second[:8] not in page
    coordinator = scene.page(login, scene.coordinator, f"/staff/cases/{first}")
    assert LINKED.findall(coordinator) == ["2"]
    assert f"/staff/cases/{scene.mine}" in coordinator and f"/staff/cases/{second}" in coordinator


def test_the_coordinators_page_lists_only_their_region(app, reporter, login, make_staff, scene):
    armenia = make_staff(role="coordinator", region="AM")
    submit(reporter, category="doxxing", **online(HANDLE))
    for _ in range(2):
        submit(reporter, country="AM", **online("@armenian.troll", platform="vk"))
    georgian, armenian = label_of(app, "zorblax_troll77"), label_of(app, "armenian.troll", "vk")
    page = scene.page(login, scene.coordinator, "/staff/linked-accounts")
    assert georgian in page and armenian not in page and f"/staff/cases/{scene.mine}" in page
    page = scene.page(login, armenia, "/staff/linked-accounts")
    assert armenian in page and georgian not in page and f"/staff/cases/{scene.mine}" not in page
    officer = app.test_client()
    login(officer, scene.officer)
    assert officer.get("/staff/linked-accounts").status_code == 403


def test_an_index_row_copied_to_another_report_links_nothing(app, reporter, login, scene):
    _, other = submit(reporter, category="doxxing", description="No account named here")
    with writing(app) as session:
        session.execute(text(
            "INSERT INTO account_links (report_id, platform, kind, blind_index, key_version, created_at, "
            "record_mac) SELECT :other, platform, kind, blind_index, key_version, created_at, record_mac "
            "FROM account_links WHERE report_id = :mine"), {"other": other, "mine": scene.mine})
        session.commit()
    assert len(rows_of(app, other)) == 1
    page = scene.page(login, scene.coordinator, f"/staff/cases/{scene.mine}")
    assert not LINKED.search(page) and f"/staff/cases/{other}" not in page
    assert "No account is named" in scene.page(login, scene.coordinator, "/staff/linked-accounts")


def test_links_survive_a_directory_key_rotation_signed_again(app, reporter, login, scene, instance_path,
                                                            monkeypatch):
    from tests.lifecycle.installation import app_for, console

    submit(reporter, category="doxxing", **online(HANDLE))
    url = str(app.config["REPORTER_DATABASE_URL"])
    assert console(instance_path, url, "keys", "rotate", "--key", "directory").exit_code == 0
    status = console(instance_path, url, "keys", "status", "--json")
    directory_versions = {v["version"]: v for k in json.loads(status.output) if k["key"] == "directory"
                          for v in k["versions"]}
    assert directory_versions[1]["dependents"]["account_links"] == 0
    assert directory_versions[2]["dependents"]["account_links"] == 2
    (linking_version,) = [k["versions"] for k in json.loads(status.output) if k["key"] == "linking"][0]
    assert linking_version["dependents"] == {"account link rows": 2} and linking_version["current"]
    restarted = Scene(app_for(instance_path, url, monkeypatch), scene.officer, scene.coordinator, scene.mine)
    assert LINKED.findall(restarted.page(login, scene.coordinator, f"/staff/cases/{scene.mine}")) == ["1"]


def test_a_weak_or_missing_linking_key_refuses_the_start(app_factory, instance_path, monkeypatch):
    monkeypatch.setenv("REPORTER_LINKING_KEY", base64.b64encode(b"\x00" * 32).decode())
    with pytest.raises(config.ConfigError, match="REPORTER_LINKING_KEY"):
        app_factory(TESTING=False, REPORTER_ARGON2_TEST_FAST=False)
    monkeypatch.delenv("REPORTER_LINKING_KEY")
    (instance_path / "keys" / "linking.key").unlink()  # an installation upgraded without `reporter init`
    with pytest.raises(KeyringError, match="linking.key: run `reporter init` or set REPORTER_LINKING_KEY"):
        load_keyring(instance_path / "keys")
    assert [p.name for p in create_instance_keys(instance_path / "keys")] == ["linking.key"]
    assert len(load_keyring(instance_path / "keys").linking_key) == 32
