"""Retention: the clock, the purge and what an attacker holding everything finds afterwards."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from reporter import vault
from reporter.access import AccessDenied
from reporter.cases import entries, holding
from reporter.cli import main
from reporter.crypto import CiphertextInvalid
from reporter.extensions import db
from reporter.intake import followup
from reporter.keyring import read_escrow_private_key
from reporter.lifecycle import extension, purge, retention
from reporter.models import (
    Attachment,
    AuditEvent,
    Base,
    CaseEntry,
    PurgedFile,
    Report,
    Seal,
    UnlockedSession,
)
from reporter.models.base import to_the_hour, utcnow
from reporter.web import context
from tests.casework import events, raw_storage, submit, update_report, writing
from tests.lifecycle.shredding import (
    DAYS,
    ShreddableCase,
    ciphertexts_of,
    make_case,
    raw_files,
    routed_people,
    run_purge,
    store_ids_of,
)

LATER = timedelta(days=DAYS + 1)


@pytest.fixture
def people(app, make_staff, staff_directory):
    """A focal point routed Georgian cases, and the coordinator."""
    return routed_people(app, make_staff, staff_directory)


@pytest.fixture
def case(app, reporter, people) -> ShreddableCase:
    """A case with a note, messages, two files (one original kept) and an open follow-up session."""
    return make_case(app, reporter, *people)


def _counts(app, report_id):
    with writing(app) as session:
        return {model.__tablename__:
                session.scalar(select(func.count()).select_from(model).where(column == report_id))
                for model, column in ((Seal, Seal.report_id), (CaseEntry, CaseEntry.report_id),
                                      (Attachment, Attachment.report_id),
                                      (UnlockedSession, UnlockedSession.subject_id))}


def console(instance_path, database_url, *args):
    """Run a `reporter` command of the main group on this test's installation."""
    environment = {"REPORTER_INSTANCE_PATH": str(instance_path), "REPORTER_DATABASE_URL": database_url}
    return CliRunner().invoke(main, list(args), env=environment)


def every_row(app):
    """Return every row of every table, as the database holds it."""
    with writing(app) as session:
        return {table.name: sorted(map(repr, session.execute(table.select()).all()))
                for table in Base.metadata.sorted_tables}


# The clock ---------------------------------------------------------------------------------------

def test_closing_sets_the_retention_date_and_reopening_clears_it(case):
    closed_at = utcnow()
    case.close(closed_at)
    assert case.row().retention_until == to_the_hour(closed_at) + timedelta(days=DAYS)
    case.reopen(closed_at + timedelta(days=3))
    row = case.row()
    assert (row.retention_until, row.closed_at, row.status) == (None, None, "assessing")


def test_a_reporter_message_on_a_closed_case_restarts_the_clock(case):
    closed_at = utcnow() - timedelta(days=300)
    case.close(closed_at)
    written = utcnow()
    case.reporter_writes("Something new happened.", written)
    assert case.row().retention_until == to_the_hour(written) + timedelta(days=DAYS)
    run_purge(case.app, closed_at + LATER)  # a year after closing, but not after the message
    assert case.row().purged_at is None and _counts(case.app, case.report_id)["seals"] > 0


def test_a_reporter_message_on_an_open_case_sets_no_date(case):
    case.reporter_writes("Any news?", utcnow())
    assert case.row().retention_until is None


# The purge ---------------------------------------------------------------------------------------

def test_a_purged_case_opens_with_no_key_that_exists_and_leaves_no_ciphertext(
        app, case, reporter, people, escrow_private_key_path, backend, instance_path, database_url):
    kept = make_case(app, reporter, *people, canary="kept canary")  # open: never purged
    case.close(utcnow())
    keys = {who.id: case.key(who) for who in people}
    before = ciphertexts_of(app, case.report_id)
    files = store_ids_of(app, case.report_id)
    assert len(before) > 15 and len(files) == 4
    done = run_purge(app, utcnow() + LATER)
    assert (done.cases, done.files_removed) == (1, 4)

    # every seal gone: the escrow key, the receipt and each staff key open nothing
    assert _counts(app, case.report_id) == {"seals": 0, "case_entries": 0, "attachments": 0,
                                             "unlocked_sessions": 0}
    escrow = read_escrow_private_key(escrow_private_key_path)
    with writing(app) as session:
        for seal in session.scalars(select(Seal)):
            assert seal.report_id != case.report_id
        for who, key in keys.items():
            person = session.get(holding.StaffMember, who)
            with pytest.raises(holding.CaseNotFound):
                holding.unseal(session, case.report_id, person, key)
        with pytest.raises(followup.CasePurged):
            followup.start_followup(case.receipt, session=session, keyring=context.keyring(app), now=utcnow(),
                                    lifetime=timedelta(minutes=5))
    # the escrow key still opens the case that was not due
    with writing(app) as session:
        seal = session.scalars(select(Seal).where(Seal.report_id == kept.report_id,
                                                  Seal.recipient_kind == "escrow")).one()
        report = session.get(Report, kept.report_id)
        fields = vault.open_report_fields(report, vault.open_public_key_seal(seal, escrow.private))
        assert fields["description"].startswith("kept canary")

    # raw storage, as someone holding the disk reads it
    stored, stored_files = raw_storage(backend, instance_path, database_url), raw_files(
        context.attachment_store(app))
    for blob in before:
        assert blob not in stored and blob not in stored_files
    for plain in (case.canary.encode(), case.receipt.encode()):
        assert plain not in stored and plain not in stored_files
    store = context.attachment_store(app)
    assert not any(store.exists(store_id) for store_id in files)
    assert set(store.ids()) == set(store_ids_of(app, kept.report_id))


def test_the_tombstone_keeps_what_statistics_count_and_nothing_else(app, case):
    submitted = case.row()
    case.close(utcnow())
    run_purge(app, utcnow() + LATER)
    row = case.row()
    assert (row.country, row.category, row.incident_kind, row.status) == (
        submitted.country, submitted.category, submitted.incident_kind, "closed")
    assert row.created_hour == submitted.created_hour.replace(day=1, hour=0)
    assert row.closed_at is not None and (row.closed_at.day, row.closed_at.hour) == (1, 0)
    assert row.purged_at is not None and row.purged_at.hour == 0
    assert (row.description_ct, row.contact_ct, row.excluded_ct, row.online_details_ct, row.entries_mac) == (
        b"", b"", None, None, None)
    assert (row.language, row.risk, row.deadline_at, row.retention_until) == ("", "unknown", None, None)
    assert (row.possible_flood, row.stats_consent) == (submitted.possible_flood, submitted.stats_consent)
    with writing(app) as session:  # statistics still count it
        counted = session.scalar(select(func.count()).select_from(Report).where(
            Report.country == "GE", Report.category == submitted.category, Report.status == "closed"))
    assert counted == 1


def test_a_purge_writes_one_audit_event_per_case_and_keeps_the_earlier_events(app, case, reporter, people):
    other = make_case(app, reporter, *people, canary="second canary")
    for each in (case, other):
        each.close(utcnow())
    history = len(events(app, object_id=case.report_id))
    run_purge(app, utcnow() + LATER, batch_size=1)
    purged = events(app, "case.purged")
    assert sorted(e.object_id for e in purged) == sorted([case.report_id, other.report_id])
    assert all(e.detail == "{}" for e in purged)
    assert len(events(app, object_id=case.report_id)) == history + 1
    run_purge(app, utcnow() + LATER)  # a second run finds nothing
    assert len(events(app, "case.purged")) == 2


def test_an_open_or_recently_closed_case_is_not_purged(app, case, reporter, people):
    recent = make_case(app, reporter, *people, canary="recent canary")
    recent.close(utcnow())
    done = run_purge(app, utcnow() + timedelta(days=DAYS - 1))
    assert done.cases == 0
    assert case.row().purged_at is None and recent.row().purged_at is None


def test_a_case_closed_before_retention_dates_counts_from_its_closing(app, case):
    case.close(utcnow() - LATER)
    with writing(app) as session:
        session.get(Report, case.report_id).retention_until = None
        session.commit()
    assert run_purge(app, utcnow()).cases == 1


def test_files_left_by_an_interrupted_purge_are_reported_and_removed_by_the_next_run(app, case, instance_path,
                                                                                     database_url):
    case.close(utcnow())
    files = store_ids_of(app, case.report_id)
    with app.app_context(), db.writing() as session:  # the batch commits, then the process dies
        assert purge.purge_batch(session, utcnow() + LATER) == [case.report_id]
    store = context.attachment_store(app)
    assert all(store.exists(f) for f in files)
    checked = console(instance_path, database_url, "vault", "check")
    assert checked.exit_code == 1 and all(f"file without row: {f}" in checked.output for f in files)
    assert "4 file(s) of purged cases still to be removed: run `reporter retention purge`" in checked.output
    done = run_purge(app, utcnow() + LATER)
    assert (done.cases, done.files_removed) == (0, 4)
    assert not any(store.exists(f) for f in files)
    assert console(instance_path, database_url, "vault", "check").exit_code == 0
    with writing(app) as session:
        assert session.scalar(select(func.count()).select_from(PurgedFile)) == 0


def test_a_failing_batch_changes_nothing(app, case, monkeypatch):
    case.close(utcnow())
    before = _counts(app, case.report_id)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(purge.chain, "record", broken)
    with pytest.raises(RuntimeError), app.app_context(), db.writing() as session:
        purge.purge_batch(session, utcnow() + LATER)
    assert _counts(app, case.report_id) == before and case.row().purged_at is None


def test_sqlite_connections_delete_securely(app, backend):
    if backend != "sqlite":
        pytest.skip("a SQLite setting")
    with app.app_context():
        assert db.session.execute(text("PRAGMA secure_delete")).scalar() == 1


# The command -------------------------------------------------------------------------------------

def test_dry_run_lists_the_due_cases_and_changes_nothing(app, case):
    case.close(utcnow() - LATER)
    with writing(app) as session:
        session.get(Report, case.report_id).retention_until = utcnow() - timedelta(days=1)
        session.commit()
    stored = every_row(app)
    result = app.test_cli_runner().invoke(args=["retention", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    month = (utcnow() - LATER).strftime("%Y-%m")
    assert f"would purge case {case.report_id}  closed {month}  country GE" in result.output
    assert "1 case(s) would be purged; nothing was changed" in result.output
    assert every_row(app) == stored


def test_the_command_purges_and_says_how_many(app, case):
    case.close(utcnow() - LATER)
    with writing(app) as session:
        session.get(Report, case.report_id).retention_until = utcnow() - timedelta(days=1)
        session.commit()
    result = app.test_cli_runner().invoke(args=["retention", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 case(s) past their retention date" in result.output
    assert "purged 1 case(s) in 1 batch(es)" in result.output
    assert "removed 4 attachment file(s)" in result.output
    assert case.row().purged_at is not None


# The extension -----------------------------------------------------------------------------------

def _extend(case, account, reason="A trial starts next spring; the evidence is needed."):
    key = case.key(account)
    with writing(case.app) as session:
        return extension.extend_retention(session, case.report_id, person=case.person(session, account),
                                          private_key=key, reason=reason, now=utcnow())


def test_a_coordinator_extends_a_closed_case_once_with_a_sealed_reason(app, case, backend, instance_path,
                                                                        database_url):
    case.close(utcnow())
    until = case.row().retention_until
    reason = "Extension canary: trial in spring"
    new_until = _extend(case, case.coordinator, reason)
    assert new_until == until + timedelta(days=DAYS) and case.row().retention_until == new_until
    (event,) = events(app, "case.retention_extended", case.report_id)
    assert event.actor_id == case.coordinator.id and reason not in event.detail
    assert reason.encode() not in raw_storage(backend, instance_path, database_url)
    with writing(app) as session:  # the reason is a note the case's holders read
        report = session.get(Report, case.report_id)
        key = vault.open_public_key_seal(session.scalars(select(Seal).where(
            Seal.report_id == case.report_id, Seal.recipient_id == case.coordinator.id)).one(),
            case.key(case.coordinator))
        notes = [e.body for e in entries.entries_of(session, report, key, ("note",))]
    assert reason in notes
    with pytest.raises(holding.ActionRefused, match="extended"):
        _extend(case, case.coordinator)


def test_only_a_coordinator_extends_and_only_a_closed_case(case):
    with pytest.raises(AccessDenied):
        _extend(case, case.focal_point)
    with pytest.raises(holding.ActionRefused, match="not_closed"):
        _extend(case, case.coordinator)
    case.close(utcnow())
    with pytest.raises(holding.ActionRefused, match="empty"):
        _extend(case, case.coordinator, reason="   ")
    assert events(case.app, "case.retention_extended") == []


def test_the_warning_window_is_thirty_days(case):
    now = utcnow()
    assert retention.purge_soon(now + timedelta(days=29), now)
    assert not retention.purge_soon(now + timedelta(days=31), now)
    assert not retention.purge_soon(None, now)


def test_a_retention_period_below_one_day_is_refused(app_factory):
    from reporter.config import ConfigError

    with pytest.raises(ConfigError, match="REPORTER_RETENTION_DAYS"):
        app_factory(REPORTER_RETENTION_DAYS=0)


def test_the_audit_chain_stays_intact_after_a_purge(app, case, instance_path, database_url):
    case.close(utcnow())
    run_purge(app, utcnow() + LATER)
    result = console(instance_path, database_url, "audit", "verify")
    assert result.exit_code == 0, result.output
    with writing(app) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) > 5


def test_the_escrow_key_cannot_open_a_seal_moved_from_another_case(app, case, reporter, people,
                                                                   escrow_private_key_path):
    """A seal copied back from an old backup into the tombstone still does not open its fields."""
    seal_before = None
    with writing(app) as session:
        seal_before = session.scalars(select(Seal).where(Seal.report_id == case.report_id,
                                                         Seal.recipient_kind == "escrow")).one()
        session.expunge(seal_before)
    case.close(utcnow())
    run_purge(app, utcnow() + LATER)
    escrow = read_escrow_private_key(escrow_private_key_path)
    data_key = vault.open_public_key_seal(seal_before, escrow.private)  # the old backup's key still opens
    with pytest.raises(CiphertextInvalid):
        vault.open_report_fields(case.row(), data_key)  # but there is nothing left to decrypt


def test_two_purges_at_once_purge_each_case_exactly_once(app, reporter, people):
    past = utcnow() - LATER
    ids = [submit(reporter, description=f"concurrent canary {n}")[1] for n in range(6)]
    for report_id in ids:
        update_report(app, report_id, status="closed", closed_at=past, retention_until=past)
    runs, failures = [], []

    def purge_in_thread():
        try:
            runs.append(run_purge(app, utcnow(), batch_size=1))
        except Exception as failed:  # noqa: BLE001 - reported below
            failures.append(failed)

    threads = [threading.Thread(target=purge_in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == [] and sum(run.cases for run in runs) == len(ids)
    assert sorted(e.object_id for e in events(app, "case.purged")) == sorted(ids)


def test_a_batch_stops_taking_cases_when_its_time_is_up_and_leaves_the_rest_whole(app, reporter, people):
    past = utcnow() - LATER
    ids = [submit(reporter, description=f"budget canary {n}")[1] for n in range(purge.CHUNK_SIZE + 2)]
    for report_id in ids:
        update_report(app, report_id, status="closed", closed_at=past, retention_until=past)
    with app.app_context(), db.writing() as session:
        first = purge.purge_batch(session, utcnow(), seconds=0)
    assert len(first) == purge.CHUNK_SIZE
    left = [report_id for report_id in ids if report_id not in first]
    assert all(_counts(app, report_id)["seals"] > 0 for report_id in left)
    assert run_purge(app, utcnow()).cases == 2
