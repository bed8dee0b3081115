"""`reporter cases escalate` and `reporter keys recover`: the console side of cases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from reporter import vault
from reporter.crypto import seals
from reporter.extensions import db
from reporter.models import AuditEvent, Report, Seal, StaffMember
from reporter.models.base import utcnow


def _actions(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == action)))


def test_escalate_marks_overdue_open_cases_once(app, runner, make_report):
    make_report(), make_report()
    with app.app_context():
        first, second = db.session.scalars(select(Report.id).order_by(Report.id)).all()
        past = utcnow() - timedelta(hours=1)
        db.session.execute(update(Report).where(Report.id == first).values(deadline_at=past))
        db.session.commit()
    result = runner.invoke(args=["cases", "escalate"])
    assert result.exit_code == 0 and "escalated 1 overdue case" in result.output
    assert _actions(app, "case.escalated") == [first]
    again = runner.invoke(args=["cases", "escalate"])
    assert "escalated 0 overdue case" in again.output
    assert _actions(app, "case.escalated") == [first]


def test_notify_send_says_when_notifications_are_off(runner):
    result = runner.invoke(args=["notify", "send"])
    assert result.exit_code != 0 and "REPORTER_SMTP_URL is not set" in result.output


def test_keys_recover_reseals_a_persons_cases_to_their_new_key(app, runner, make_report, staff_directory,
                                                               escrow_private_key_path):
    make_report()
    coordinator = staff_directory.coordinator
    replacement = seals.generate_keypair()
    with app.app_context():  # the person's key was replaced (for example after re-enrolment)
        person = db.session.get(StaffMember, coordinator.id)
        person.public_key, person.key_suite = replacement.public, replacement.suite
        db.session.commit()
    result = runner.invoke(args=["keys", "recover", "--escrow-key", str(escrow_private_key_path),
                                 "--user", coordinator.email])
    assert result.exit_code == 0, result.output
    assert "re-sealed 1 case" in result.output
    with app.app_context():
        seal = db.session.scalars(select(Seal).where(Seal.recipient_id == coordinator.id)).one()
        report = db.session.get(Report, seal.report_id)
        data_key = vault.open_public_key_seal(seal, replacement.private)
        assert vault.open_report_fields(report, data_key)["description"].startswith("Someone published")
    assert _actions(app, "keys.recovered") == [seal.report_id]


def test_keys_recover_refuses_another_installations_escrow_key(runner, tmp_path, staff_directory):
    from reporter.keyring import create_instance_keys

    create_instance_keys(tmp_path / "other-keys", escrow_private_path=tmp_path / "other-escrow.key")
    result = runner.invoke(args=["keys", "recover", "--escrow-key", str(tmp_path / "other-escrow.key"),
                                 "--user", staff_directory.coordinator.email])
    assert result.exit_code != 0 and "does not belong to this installation" in result.output
