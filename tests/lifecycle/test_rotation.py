"""`reporter keys rotate` and `keys status`: after a rotation everything made before still works,
new things use the new keys, and what the old keys vouched for is neither lost nor laundered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reporter import directory
from reporter.audit import chain, checkpoints
from reporter.crypto.records import key_id
from reporter.database import SIGNER_INFO_KEY
from reporter.extensions import db
from reporter.keyring import load_keyring
from reporter.lifecycle import keyfiles, rotation
from reporter.models import AuditCheckpoint, AuditEvent, Report, StaffMember
from reporter.web import context
from tests.lifecycle.installation import Installation, app_for, check_working, console, populate
from tests.tampering import tamper


@pytest.fixture
def installation(app, reporter, make_staff) -> Installation:
    """Return an installation with a focal point, a routed report with a file, the case opened once."""
    return populate(app, reporter, make_staff)


def _url(app) -> str:
    return str(app.config["REPORTER_DATABASE_URL"])


def _status(instance: Path, url: str) -> dict[str, Any]:
    result = console(instance, url, "keys", "status", "--json")
    assert result.exit_code == 0, result.output
    return {entry["key"]: entry for entry in json.loads(result.output)}


def _versions(status: dict[str, Any], key: str) -> dict[int, dict[str, Any]]:
    return {version["version"]: version for version in status[key]["versions"]}


def test_after_rotating_every_key_old_receipts_logins_and_the_audit_chain_still_work(
        app, installation, instance_path, monkeypatch):
    url = _url(app)
    rotated = console(instance_path, url, "keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    for name in rotation.BY_DEFAULT:  # all but the linking key, which needs the escrow key
        assert f"{name}: now version 2" in rotated.output
    assert "REFUSED" not in rotated.output
    assert (instance_path / "keys" / "receipt_lookup.1.key").exists()
    assert (instance_path / "keys" / "audit_signing.1.pub").exists()
    assert not (instance_path / "keys" / "audit_signing.1.key").exists()  # retired: public half only
    assert not list((instance_path / "keys").glob("*.next*"))

    before = _versions(_status(instance_path, url), "receipt")
    assert before[1]["dependents"]["reports with receipt lookups"] == 1
    assert before[1]["removable"] is False

    restarted = app_for(instance_path, url, monkeypatch)
    check_working(restarted, installation)  # the receipt, the focal point's login and file, audit verify

    status = _status(instance_path, url)
    receipt = _versions(status, "receipt")
    assert receipt[1]["dependents"]["reports with receipt lookups"] == 0  # moved when the reporter came
    assert receipt[1]["removable"] is True
    # The old report, moved, and the one check_working submitted after the rotation.
    assert receipt[2]["dependents"]["reports with receipt lookups"] == 2
    directory_versions = _versions(status, "directory")
    assert not any(directory_versions[1]["dependents"].values())
    assert directory_versions[1]["removable"] is True
    assert _versions(status, "totp")[1]["dependents"]["TOTP secrets"] == 0
    assert _versions(status, "audit")[1]["dependents"]["checkpoints signed"] >= 1


def test_new_reports_and_records_use_the_new_keys(app, installation, instance_path, monkeypatch, make_staff):
    url = _url(app)
    assert console(instance_path, url, "keys", "rotate").exit_code == 0
    restarted = app_for(instance_path, url, monkeypatch)
    keyring = load_keyring(instance_path / "keys")
    from tests.conftest import Reporter
    newcomer = Reporter(restarted.test_client())
    newcomer._needs_coordinator = False
    response = newcomer.submit()
    assert response.status_code == 200
    with restarted.app_context():
        versions = set(db.session.scalars(select(Report.receipt_key_version)))
        macs = list(db.session.scalars(select(StaffMember.record_mac)))
    assert versions == {1, 2}  # the old report keeps version 1 until its reporter comes back
    assert {bytes(mac)[:8] for mac in macs} == {key_id(keyring.directory_key)}


def test_the_old_secret_key_still_verifies_cookies_while_sessions_drain(app, instance_path, monkeypatch):
    old_secret = app.secret_key
    assert console(instance_path, _url(app), "keys", "rotate", "--key", "secret").exit_code == 0
    restarted = app_for(instance_path, _url(app), monkeypatch)
    assert restarted.secret_key != old_secret
    assert restarted.config["SECRET_KEY_FALLBACKS"] == [old_secret]
    signed_before = app.session_interface.get_signing_serializer(app).dumps({"lang": "ka"})
    serializer = restarted.session_interface.get_signing_serializer(restarted)
    assert serializer.loads(signed_before) == {"lang": "ka"}


def test_a_head_saved_before_the_audit_key_rotation_still_verifies(app, installation, instance_path,
                                                                   tmp_path):
    url = _url(app)
    head = console(instance_path, url, "audit", "head")
    assert head.exit_code == 0, head.output
    saved = tmp_path / "head.json"
    saved.write_text(head.output)
    assert console(instance_path, url, "keys", "rotate", "--key", "audit").exit_code == 0
    verified = console(instance_path, url, "audit", "verify", "--against", str(saved))
    assert verified.exit_code == 0 and "1 saved head(s) still in the log" in verified.output, verified.output
    with app.app_context():
        rotated = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == checkpoints.KEY_ROTATED)).one()
        signed = db.session.get(AuditCheckpoint, rotated.seq)
    old_key_id = chain.key_id(context.keyring(app).audit_signing_key.public_key())
    assert signed is not None and signed.key_id == old_key_id  # the change is signed by the old key
    newest = json.loads(console(instance_path, url, "audit", "head").output)
    new_key_id = chain.key_id(load_keyring(instance_path / "keys").audit_signing_key.public_key())
    assert newest["key_id"] == new_key_id != old_key_id


def test_an_audit_key_change_not_signed_by_the_previous_key_breaks_the_chain(app, installation,
                                                                             instance_path):
    keys = instance_path / "keys"
    rotation.prepare(keys, ["audit"])
    new_signer = rotation._audit_private(keyfiles.pending(keys, rotation.AUDIT) or "")
    with app.app_context(), db.writing() as session:
        # Someone announces the new key but signs the announcement with the new key itself.
        session.info[SIGNER_INFO_KEY] = new_signer
        event = chain.record(session, actor=chain.CONSOLE, action=checkpoints.KEY_ROTATED,
                             detail=checkpoints.rotation_detail(new_signer.public_key()))
        if session.get(AuditCheckpoint, event.seq) is None:
            session.add(checkpoints.sign_checkpoint(new_signer, event, chain.interval(session)))
        session.commit()
    rotation.promote(keys, rotation.AUDIT)
    verified = console(instance_path, _url(app), "audit", "verify")
    assert verified.exit_code == 1
    assert f"broken at {event.seq}" in verified.output or str(event.seq) in verified.output


def test_a_key_announced_that_the_installation_never_had_breaks_the_chain(app, installation, instance_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    stranger = Ed25519PrivateKey.generate()
    with app.app_context(), db.writing() as session:
        event = chain.record(session, actor=chain.CONSOLE, action=checkpoints.KEY_ROTATED,
                             detail=checkpoints.rotation_detail(stranger.public_key()))
        session.commit()
    verified = console(instance_path, _url(app), "audit", "verify")
    assert verified.exit_code == 1 and str(event.seq) in verified.output, verified.output


def test_a_tampered_staff_record_stays_refused_after_the_directory_key_rotation(
        app, installation, instance_path, backend, monkeypatch):
    tamper(backend, "UPDATE staff_members SET region = 'AM' WHERE id = :id", id=installation.focal_point.id)
    rotated = console(instance_path, _url(app), "keys", "rotate", "--key", "directory")
    assert rotated.exit_code == 0, rotated.output
    assert f"REFUSED staff {installation.focal_point.id}" in rotated.output
    restarted = app_for(instance_path, _url(app), monkeypatch)
    with restarted.app_context(), db.writing() as session:
        person = session.get(StaffMember, installation.focal_point.id)
        assert person is not None and directory.person_verifies(session, person) is False
        others = session.scalars(select(StaffMember).where(StaffMember.id != person.id)).all()
        assert others and all(directory.person_verifies(session, other) for other in others)
    status = _versions(_status(instance_path, _url(app)), "directory")
    assert status[1]["dependents"]["staff"] == 1 and status[1]["removable"] is False


def test_keys_in_the_environment_are_not_rotated_from_files(app, instance_path, monkeypatch):
    monkeypatch.setenv("REPORTER_RECEIPT_KEY", (instance_path / "keys" / "receipt_lookup.key").read_text())
    refused = console(instance_path, _url(app), "keys", "rotate", "--key", "receipt")
    assert refused.exit_code != 0 and "environment" in refused.output
    assert not (instance_path / "keys" / "receipt_lookup.next.key").exists()
    everything = console(instance_path, _url(app), "keys", "rotate")
    assert everything.exit_code == 0 and "left out" in everything.output and "receipt" in everything.output
    assert not (instance_path / "keys" / "receipt_lookup.1.key").exists()
    assert (instance_path / "keys" / "directory.1.key").exists()


def test_retired_keys_can_come_from_the_environment(instance_path, monkeypatch):
    keys = instance_path / "keys"
    old = (keys / "receipt_lookup.key").read_text().strip()
    monkeypatch.setenv("REPORTER_RECEIPT_KEY", rotation.fresh_key_text(rotation.RECEIPT).strip())
    monkeypatch.setenv("REPORTER_RECEIPT_KEY_RETIRED", f"1:{old}")
    keyring = load_keyring(keys)
    assert keyring.receipt_key_version == 2
    assert [version for version, _ in keyring.receipt_lookup_keys()] == [2, 1]
