"""reporter.escrow without the command: who may be recovered, and what one recovery writes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from reporter import escrow, vault
from reporter.cases import campaigns
from reporter.cases.recipients import Recipient
from reporter.crypto import CiphertextInvalid, seals
from reporter.extensions import db
from reporter.keyring import create_instance_keys, read_escrow_private_key
from reporter.models import AuditEvent, Campaign, CampaignSeal, Report, Seal, StaffMember
from reporter.models.base import utcnow
from reporter.web import context


def _recover(app, key_path, email):
    escrow_key = read_escrow_private_key(key_path)
    with app.app_context(), db.writing() as session:
        return escrow.recover(session, keyring=context.keyring(app), escrow_key=escrow_key, email=email)


def _recovered_events(app):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "keys.recovered")
                                       .order_by(AuditEvent.seq)))


def _replace_key(app, account):
    """Give the person a new key pair, as if their old private key were lost; return it."""
    replacement = seals.generate_keypair()
    with app.app_context():
        person = db.session.get(StaffMember, account.id)
        person.public_key, person.key_suite = replacement.public, replacement.suite
        db.session.commit()
    return replacement


def _seals_of(app, account):
    with app.app_context():
        query = select(Seal).where(Seal.recipient_kind == "staff", Seal.recipient_id == account.id)
        return {seal.report_id: seal for seal in db.session.scalars(query.order_by(Seal.report_id))}


def test_another_installations_escrow_key_is_refused(app, tmp_path, make_report, staff_directory):
    make_report()
    create_instance_keys(tmp_path / "other-keys", escrow_private_path=tmp_path / "other-escrow.key")
    with pytest.raises(escrow.EscrowKeyMismatch):
        _recover(app, tmp_path / "other-escrow.key", staff_directory.coordinator.email)
    assert _recovered_events(app) == []


@pytest.mark.parametrize("who", ["unknown", "enrolled", "deactivated"])
def test_only_an_active_person_with_a_key_is_recovered(app, make_report, staff_directory,
                                                       escrow_private_key_path, who):
    make_report()
    if who == "unknown":
        email = "nobody@example.org"
    else:
        person = staff_directory.make(role="focal_point", state="active" if who == "deactivated" else who)
        if who == "deactivated":
            staff_directory.deactivate(person)
        email = person.email
    with pytest.raises(escrow.NoSuchPerson):
        _recover(app, escrow_private_key_path, email)
    assert _recovered_events(app) == []


def test_every_case_a_person_holds_is_sealed_to_their_new_key_with_one_event_each(
        app, make_report, staff_directory, escrow_private_key_path):
    make_report(), make_report(description="A second case about the same channel.")
    coordinator = staff_directory.coordinator
    old = _seals_of(app, coordinator)
    assert len(old) == 2
    replacement = _replace_key(app, coordinator)
    done = _recover(app, escrow_private_key_path, coordinator.email.upper())
    assert done == escrow.Recovery(recovered=2, skipped=())
    now = _seals_of(app, coordinator)
    assert sorted(now) == sorted(old)
    with app.app_context():
        for report_id, seal in now.items():
            assert seal.sealed_key != old[report_id].sealed_key and seal.suite == replacement.suite
            data_key = vault.open_public_key_seal(seal, replacement.private)
            assert vault.open_report_fields(db.session.get(Report, report_id), data_key)["description"]
    events = _recovered_events(app)
    assert [event.object_id for event in events] == sorted(now)
    assert {(event.actor_role, event.actor_id, event.object_type) for event in events} == {
        ("console", None, "report")}
    assert all(json.loads(event.detail) == {"staff": coordinator.id} for event in events)


def test_a_case_whose_escrow_seal_does_not_open_is_skipped_and_keeps_its_seal(
        app, make_report, staff_directory, escrow_private_key_path):
    make_report(), make_report()
    coordinator = staff_directory.coordinator
    damaged, intact = sorted(_seals_of(app, coordinator))
    with app.app_context():
        db.session.execute(update(Seal).where(Seal.report_id == damaged, Seal.recipient_kind == "escrow")
                           .values(sealed_key=b"\x00" * 64))
        db.session.commit()
    before = _seals_of(app, coordinator)[damaged].sealed_key
    replacement = _replace_key(app, coordinator)
    done = _recover(app, escrow_private_key_path, coordinator.email)
    assert done == escrow.Recovery(recovered=1, skipped=(damaged,))
    after = _seals_of(app, coordinator)
    assert after[damaged].sealed_key == before
    with pytest.raises(CiphertextInvalid):
        vault.open_public_key_seal(after[damaged], replacement.private)
    vault.open_public_key_seal(after[intact], replacement.private)
    assert [event.object_id for event in _recovered_events(app)] == [intact]


def test_a_recovery_also_seals_the_persons_campaign_keys_from_their_escrow_seals(
        app, make_report, staff_directory, escrow_private_key_path):
    make_report()
    coordinator = staff_directory.coordinator
    escrow_key = read_escrow_private_key(escrow_private_key_path)
    with app.app_context(), db.writing() as session:
        person = session.get(StaffMember, coordinator.id)
        recipient = Recipient(id=context.keyring(app).escrow_key_id, role="escrow",
                                        public_key=escrow_key.public, suite=escrow_key.suite)
        campaign, _ = campaigns.create(session, "Threats against the Gori group", person=person,
                                       escrow=recipient, now=utcnow())
        session.commit()
        campaign_id = campaign.id
    replacement = _replace_key(app, coordinator)
    _recover(app, escrow_private_key_path, coordinator.email)
    with app.app_context():
        seal = db.session.get(CampaignSeal, (campaign_id, "staff", coordinator.id))
        key = vault.open_campaign_key(seal.sealed_key, campaign_id, recipient_id=coordinator.id,
                                      private_key=replacement.private, suite=seal.suite)
        name = vault.open_campaign_name(key, campaign_id, db.session.get(Campaign, campaign_id).name_ct)
        query = select(AuditEvent).where(AuditEvent.action == "keys.campaigns_recovered")
        event = db.session.scalars(query).one()
    assert name == "Threats against the Gori group"
    assert event.object_id == coordinator.id and json.loads(event.detail) == {"campaigns": 1}
