"""submit_report: one transaction that stores a sealed report, its seals and its audit event, or nothing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reporter import vault
from reporter.audit import chain
from reporter.cases import notifications, recipients
from reporter.crypto import CiphertextInvalid, receipts, seals
from reporter.evidence import attachments
from reporter.evidence.store import FolderStore
from reporter.extensions import db
from reporter.intake import submission, validation
from reporter.intake.validation import DraftInvalid, ReportDraft
from reporter.keyring import Keyring, read_escrow_private_key
from reporter.models import Attachment, AuditCheckpoint, AuditEvent, AuditHead, Report, Seal, StaffMember

TODAY = date(2026, 6, 1)
DRAFT = ReportDraft(
    incident_kind="offline",
    category="stalking",
    country="AM",
    description="Незнакомый мужчина третий день ждёт меня у подъезда.",
    occurred_on=date(2026, 5, 30),
    perpetrator="A man in a grey car",
    contact="Signal +374 00 000000",
    language="ru",
)


class InjectedFailure(Exception):
    """The failure a test injects into the pipeline."""


class InjectedInterrupt(BaseException):
    """A failure that is not an Exception, like a worker timeout."""


@pytest.fixture(autouse=True)
def coordinator(app) -> seals.KeyPair:
    """An active coordinator of Armenia (a bare row with a key pair; the staff flow is tested elsewhere).

    Every report is sealed to them: routing never leaves a case without a reader.
    """
    pair = seals.generate_keypair()
    with app.app_context(), db.writing() as session:
        session.add(StaffMember(id="c" * 32, email="coordinator@example.org", role="coordinator", region="AM",
                                state="active", public_key=pair.public, key_suite=pair.suite))
        session.commit()
    return pair


@pytest.fixture
def keyring(app) -> Keyring:
    return app.extensions["reporter.keyring"]


@pytest.fixture
def session(app) -> Iterator[Session]:
    with app.app_context(), db.writing() as session:
        yield session


def stored_counts(app) -> dict[str, Any]:
    """Count what a fresh connection sees in every table the pipeline writes."""
    with app.app_context(), db.writing() as fresh:
        head = fresh.get(AuditHead, 1)
        assert head is not None
        return {
            "reports": fresh.scalar(select(func.count()).select_from(Report)),
            "seals": fresh.scalar(select(func.count()).select_from(Seal)),
            "audit_events": fresh.scalar(select(func.count()).select_from(AuditEvent)),
            "audit_checkpoints": fresh.scalar(select(func.count()).select_from(AuditCheckpoint)),
            "attachments": fresh.scalar(select(func.count()).select_from(Attachment)),
            "audit_head": (head.seq, head.hash),
        }


NOTHING = {"reports": 0, "seals": 0, "audit_events": 0, "audit_checkpoints": 0, "attachments": 0,
           "audit_head": (0, chain.GENESIS_HASH)}


def test_submission_stores_report_three_seals_and_one_audit_event(app, session, keyring, coordinator):
    submitted = submission.submit_report(DRAFT, session=session, keyring=keyring, today=TODAY)
    counts = stored_counts(app)
    assert counts["reports"] == 1 and counts["seals"] == 3 and counts["audit_events"] == 1
    assert counts["audit_head"][0] == 1
    with app.app_context(), db.writing() as fresh:
        report = fresh.get(Report, submitted.report_id)
        assert report is not None
        assert (report.country, report.incident_kind, report.category, report.language) == (
            "AM", "offline", "stalking", "ru")
        assert (report.status, report.risk, report.key_version) == ("new", "unknown", 1)
        kinds = {seal.recipient_kind: seal for seal in fresh.scalars(select(Seal))}
        assert set(kinds) == {"escrow", "reporter", "staff"}
        assert vault.open_public_key_seal(kinds["staff"], coordinator.private)  # the coordinator can read it
        assert kinds["escrow"].recipient_id == keyring.escrow_key_id
        assert kinds["escrow"].suite == keyring.escrow_suite == seals.HYBRID
        assert kinds["reporter"].recipient_id == "receipt" and len(kinds["reporter"].salt) == 16
        event = fresh.scalars(select(AuditEvent)).one()
        assert (event.action, event.actor_role, event.actor_id) == ("report.submitted", "reporter", None)
        assert (event.object_type, event.object_id) == ("report", submitted.report_id)
        assert chain.verify_chain(fresh, keyring.audit_signing_key.public_key()).events == 1


def test_report_ids_are_random_and_creation_time_is_rounded_to_the_hour(app, session, keyring):
    ids = [submission.submit_report(DRAFT, session=session, keyring=keyring, today=TODAY).report_id
           for _ in range(3)]
    assert len(set(ids)) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    with app.app_context(), db.writing() as fresh:
        for report in fresh.scalars(select(Report)):
            assert (report.created_hour.minute, report.created_hour.second,
                    report.created_hour.microsecond) == (0, 0, 0)


def test_receipt_is_not_stored_only_its_keyed_lookup(app, session, keyring):
    submitted = submission.submit_report(DRAFT, session=session, keyring=keyring, today=TODAY)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{20}", submitted.receipt)
    with app.app_context(), db.writing() as fresh:
        report = fresh.get(Report, submitted.report_id)
        assert report is not None
        assert report.receipt_lookup == receipts.lookup_id(keyring.receipt_lookup_key, submitted.receipt)
        assert submitted.receipt not in report.receipt_lookup.upper()


def test_escrow_private_key_opens_the_escrow_seal_and_the_fields(
    app, session, keyring, escrow_private_key_path
):
    submitted = submission.submit_report(DRAFT, session=session, keyring=keyring, today=TODAY)
    escrow = read_escrow_private_key(escrow_private_key_path)
    assert escrow.public == keyring.escrow_public_key
    with app.app_context(), db.writing() as fresh:
        report = fresh.get(Report, submitted.report_id)
        assert report is not None
        seal = fresh.scalars(select(Seal).where(Seal.recipient_kind == "escrow")).one()
        data_key = vault.open_public_key_seal(seal, escrow.private)
        fields = vault.open_report_fields(report, data_key)
        reporter_seal = fresh.scalars(select(Seal).where(Seal.recipient_kind == "reporter")).one()
        assert vault.open_reporter_seal(reporter_seal, submitted.receipt) == data_key
    assert fields["description"] == DRAFT.description
    assert fields["perpetrator"] == DRAFT.perpetrator
    assert fields["contact"] == DRAFT.contact
    assert fields["occurred_on"] == "2026-05-30"
    submitted_at = datetime.fromisoformat(fields["submitted_at"])
    assert report.created_hour <= submitted_at < report.created_hour + timedelta(hours=1)


def test_another_escrow_key_or_another_receipt_opens_nothing(app, session, keyring):
    submission.submit_report(DRAFT, session=session, keyring=keyring, today=TODAY)
    with app.app_context(), db.writing() as fresh:
        escrow_seal = fresh.scalars(select(Seal).where(Seal.recipient_kind == "escrow")).one()
        reporter_seal = fresh.scalars(select(Seal).where(Seal.recipient_kind == "reporter")).one()
        with pytest.raises(CiphertextInvalid):
            vault.open_public_key_seal(escrow_seal, seals.generate_keypair().private)
        with pytest.raises(CiphertextInvalid):
            vault.open_reporter_seal(reporter_seal, receipts.new_receipt())


def _fail_after(original: Callable[..., Any], exception: type[BaseException]) -> Callable[..., Any]:
    @wraps(original)
    def run_then_fail(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise exception("injected")

    return run_then_fail


MODULE_STEPS = [
    (validation, "check_draft"),
    (vault, "new_data_key"),
    (receipts, "new_receipt"),
    (receipts, "lookup_id"),
    (vault, "seal_report_fields"),
    (vault, "seal_to_public_key"),
    (vault, "seal_to_reporter"),
    (recipients, "choose_recipients"),
    (recipients, "seals_for"),
    (chain, "record"),
    (notifications, "enqueue"),
    (attachments, "rows_for"),
]
SESSION_STEPS = ["execute", "add_all"]


@pytest.mark.parametrize("exception", [InjectedFailure, InjectedInterrupt], ids=["error", "interrupt"])
@pytest.mark.parametrize(
    "step",
    [f"{module.__name__}.{name}" for module, name in MODULE_STEPS]
    + [f"session.{name}" for name in SESSION_STEPS]
    + ["session.commit"],
)
def test_failure_after_any_step_leaves_nothing_behind(app, session, keyring, monkeypatch, step, exception,
                                                      tmp_path):
    """Inject a failure right after each step (instead of the commit) and find nothing stored, no file."""
    store = FolderStore(tmp_path / "attachments")
    owner_name, _, name = step.rpartition(".")
    if owner_name == "session":
        owner: Any = session
    else:
        owner = next(module for module, step_name in MODULE_STEPS
                     if module.__name__ == owner_name and step_name == name)
    original = getattr(owner, name)
    with monkeypatch.context() as patch:
        if name == "commit":
            def refuse(*args: Any, **kwargs: Any) -> None:
                raise exception("injected")
            patch.setattr(owner, name, refuse)
        else:
            patch.setattr(owner, name, _fail_after(original, exception))
        with pytest.raises(exception):
            submission.submit_report(replace(DRAFT, keep_originals=True), [_photo()], session=session,
                                     keyring=keyring, today=TODAY, store=store)
    assert stored_counts(app) == NOTHING
    assert store.orphans([]) == ([], []), "the files written for the failed transaction were left behind"
    submission.submit_report(DRAFT, [_photo()], session=session, keyring=keyring, today=TODAY, store=store)
    after = stored_counts(app)
    assert (after["reports"], after["seals"], after["audit_events"], after["audit_head"][0]) == (1, 3, 1, 1)
    assert after["attachments"] == 1 and len(store.ids()) == 1
    assert after["audit_checkpoints"] == 1


def test_every_collaborator_of_submit_report_is_covered_by_the_failure_test():
    source = Path(submission.__file__).read_text(encoding="utf-8")
    modules = "validation|vault|receipts|chain|recipients|notifications|attachments"
    called = set(re.findall(rf"\b({modules})\.([a-z_]+)\(", source))
    covered = {(module.__name__.rsplit(".", 1)[-1], name) for module, name in MODULE_STEPS}
    # an exclusion check and the guard that deletes written files on failure write no rows themselves
    reads_before_any_write = {("recipients", "is_focal_point_of"), ("attachments", "files_written")}
    assert called - reads_before_any_write <= covered
    assert set(re.findall(r"\bsession\.([a-z_]+)\(", source)) <= {*SESSION_STEPS, "commit", "rollback"}


def _photo() -> Any:
    import io

    from werkzeug.datastructures import FileStorage

    from tests.evidence.samples import jpeg_with_metadata

    return FileStorage(io.BytesIO(jpeg_with_metadata()), filename="photo.jpg")


INVALID_DRAFTS = [
    ({"incident_kind": "nowhere"}, "incident_kind", "choice"),
    ({"incident_kind": ""}, "incident_kind", "choice"),
    ({"category": "murder"}, "category", "choice"),
    ({"category": "Threat"}, "category", "choice"),
    ({"country": "XX"}, "country", "choice"),
    ({"country": "GEO"}, "country", "choice"),
    ({"country": ""}, "country", "choice"),
    ({"description": ""}, "description", "required"),
    ({"description": " \n\t "}, "description", "required"),
    ({"description": "x" * 20001}, "description", "too_long"),
    ({"description": "before\x00after"}, "description", "nul"),
    ({"description": "bell\x07"}, "description", "control"),
    ({"description": "\x1b[31mred"}, "description", "control"),
    ({"description": "broken \ufffd text"}, "description", "encoding"),
    ({"description": "lone \ud800 surrogate"}, "description", "encoding"),
    ({"perpetrator": "p" * 2001}, "perpetrator", "too_long"),
    ({"perpetrator": "\x00"}, "perpetrator", "nul"),
    ({"contact": "c" * 501}, "contact", "too_long"),
    ({"contact": "tab\x0bbed"}, "contact", "control"),
    ({"occurred_on": TODAY + timedelta(days=2)}, "occurred_on", "future"),
    ({"occurred_on": date(1899, 12, 31)}, "occurred_on", "too_old"),
]


@pytest.mark.parametrize(("changes", "field", "code"), INVALID_DRAFTS)
def test_check_draft_rejects_what_the_form_would_refuse(changes, field, code):
    draft = replace(DRAFT, **changes)
    with pytest.raises(DraftInvalid) as raised:
        validation.check_draft(draft, today=TODAY)
    assert raised.value.problems == {field: code}


def test_check_draft_names_every_problem_at_once():
    draft = ReportDraft(incident_kind="x", category="y", country="ZZ", description="")
    with pytest.raises(DraftInvalid) as raised:
        validation.check_draft(draft, today=TODAY)
    assert raised.value.problems == {"incident_kind": "choice", "category": "choice", "country": "choice",
                                     "description": "required"}


@pytest.mark.parametrize(("changes", "field", "code"), INVALID_DRAFTS[::4])
def test_submit_report_refuses_invalid_drafts_without_the_form(app, session, keyring, changes, field, code):
    draft = replace(DRAFT, **changes)
    with pytest.raises(DraftInvalid) as raised:
        submission.submit_report(draft, session=session, keyring=keyring, today=TODAY)
    assert field in raised.value.problems
    assert stored_counts(app) == NOTHING


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"description": "x" * 20000}, {"description": "x" * 20000}),
        ({"perpetrator": "p" * 2000, "contact": "c" * 500}, {"perpetrator": "p" * 2000}),
        ({"description": "  line one\r\nline two\rthree\t\n"}, {"description": "line one\nline two\nthree"}),
        ({"description": unicodedata.normalize("NFD", "ё й")}, {"description": "ё й"}),
        ({"country": " ge "}, {"country": "GE"}),
        ({"occurred_on": TODAY + timedelta(days=1)}, {"occurred_on": TODAY + timedelta(days=1)}),
        ({"occurred_on": None, "perpetrator": "", "contact": ""}, {"occurred_on": None}),
    ],
    ids=["20000", "limits", "line-ends", "nfc", "country-case", "tomorrow", "optional-empty"],
)
def test_check_draft_accepts_and_normalises_valid_drafts(changes, expected):
    cleaned = validation.check_draft(replace(DRAFT, **changes), today=TODAY)
    for name, value in expected.items():
        assert getattr(cleaned, name) == value
