"""What bench/load.py checks after its run: nothing lost, nothing half-written, one audit chain.

Every report in the database is opened with the offline escrow key (which the benchmark's temporary
instance keeps beside it) to read the tag its client wrote, so each submission's fate is known whatever
its client saw:
- a submission that got a receipt: the receipt finds its report and opens it, and the report is complete
  (escrow, staff and reporter seals, its `report.submitted` event, its file in the store);
- a submission that got an error page left no report;
- a submission whose connection was cut (a killed server) either committed completely or left nothing:
  counted both ways.
Then `reporter audit verify` and `reporter vault check` run as an operator would run them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import select

from reporter import vault
from reporter.crypto import receipts
from reporter.evidence.attachments import known_file_ids
from reporter.extensions import db
from reporter.lifecycle import receipt_keys
from reporter.models import Attachment, AuditEvent, Report, Seal
from reporter.web import context

TAG = re.compile(r"LOADTAG-(\d{7})-END")


@dataclass
class Findings:
    """The counts the benchmark prints, and every broken invariant it found."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)
        self.counts["problems"] += 1


def _tags(app: Flask, escrow_private: bytes, findings: Findings) -> dict[int, str]:
    """Return submission number -> report id for every report, checking each is complete."""
    found: dict[int, str] = {}
    with app.app_context():
        session = db.session
        kinds: dict[str, Counter[str]] = {}
        for seal in session.scalars(select(Seal)):
            kinds.setdefault(seal.report_id, Counter())[seal.recipient_kind] += 1
        submitted = set(session.scalars(select(AuditEvent.object_id).where(
            AuditEvent.action == "report.submitted")))
        for report in session.scalars(select(Report)):
            escrow = session.scalars(select(Seal).where(Seal.report_id == report.id,
                                                        Seal.recipient_kind == "escrow")).first()
            if escrow is None:
                findings.problem(f"report {report.id} has no escrow seal")
                continue
            fields = vault.open_report_fields(report, vault.open_public_key_seal(escrow, escrow_private))
            match = TAG.search(fields.get("description", ""))
            if match is None:
                findings.problem(f"report {report.id} carries no tag")
                continue
            found[int(match.group(1))] = report.id
            seals = kinds.get(report.id, Counter())
            if not (seals["escrow"] == 1 and seals["reporter"] == 1 and seals["staff"] >= 1):
                findings.problem(f"report {report.id} is missing seals: {dict(seals)}")
            if report.id not in submitted:
                findings.problem(f"report {report.id} has no report.submitted event")
    return found


def _check_receipts(app: Flask, outcomes: list[dict[str, Any]], numbers: dict[int, str],
                    findings: Findings) -> None:
    keyring = context.keyring(app)
    with app.app_context():
        for entry in outcomes:
            if entry["outcome"] != "receipt":
                continue
            report = receipt_keys.find_report(db.session, keyring, receipts.normalise(entry["receipt"]))
            if report is None or numbers.get(entry["number"]) != report.id:
                findings.problem(f"the receipt of submission {entry['number']} does not open its report")
                continue
            seal = db.session.scalars(select(Seal).where(Seal.report_id == report.id,
                                                         Seal.recipient_kind == "reporter")).one()
            vault.open_reporter_seal(seal, receipts.normalise(entry["receipt"]))
            findings.counts["receipts opened"] += 1


def _check_files(app: Flask, numbers: dict[int, str], file_every: int, findings: Findings) -> None:
    store = context.attachment_store(app)
    present = store.ids()
    with app.app_context():
        rows = Counter(db.session.scalars(select(Attachment.report_id)))
        known = set(known_file_ids(db.session))
    for number, report_id in numbers.items():
        if number % file_every == 0 and rows[report_id] != 1:
            findings.problem(f"submission {number} was sent with a file, its report has {rows[report_id]}")
    findings.counts["rows without file"] = len(known - present)
    findings.counts["files without row (uploads of uncommitted submissions)"] = len(present - known)
    for missing in sorted(known - present)[:5]:
        findings.problem(f"attachment {missing} has a row but no file")


def _operator(command: list[str], env: dict[str, str], findings: Findings) -> int:
    """Run a `reporter` command as an operator would; print and count its exit status."""
    result = subprocess.run([sys.executable, "-m", "reporter.cli", *command], env=env,
                            capture_output=True, text=True, timeout=600)
    lines = result.stdout.strip().splitlines() or [result.stderr.strip()]
    removed = sum(1 for line in lines if line.startswith("removed file without row"))
    print(f"reporter {' '.join(command)}: exit {result.returncode}: {lines[-1]}"
          + (f" ({removed} files without rows removed)" if removed else ""))
    findings.counts[f"reporter {' '.join(command)}: exit {result.returncode}"] += 1
    return result.returncode


def check_run(app: Flask, outcomes: list[dict[str, Any]], escrow_private: bytes, file_every: int,
              env: dict[str, str]) -> Findings:
    """Check every invariant after a run; return the counts and problems."""
    findings = Findings()
    numbers = _tags(app, escrow_private, findings)
    submissions = [entry for entry in outcomes if entry["kind"] == "submit"]
    by_outcome: dict[str, set[int]] = {}
    for entry in submissions:
        by_outcome.setdefault(entry["outcome"], set()).add(entry["number"])
    findings.counts["reports"] = len(numbers)
    for outcome, taken in sorted(by_outcome.items()):
        findings.counts[f"submissions: {outcome}"] = len(taken)
    stored = set(numbers)
    for number in sorted(by_outcome.get("error", set()) & stored)[:5]:
        findings.problem(f"submission {number} got an error page but its report was stored")
    findings.counts["error pages that left a report"] = len(by_outcome.get("error", set()) & stored)
    for number in sorted(by_outcome.get("receipt", set()) - stored)[:5]:
        findings.problem(f"submission {number} got a receipt but no report was stored")
    for number in sorted(by_outcome.get("refused", set()) & stored)[:5]:
        findings.problem(f"submission {number} was refused a connection but its report was stored")
    cut = by_outcome.get("no_answer", set())
    findings.counts["cut connections: committed whole"] = len(cut & stored)
    findings.counts["cut connections: left nothing"] = len(cut - stored)
    unexplained = stored - set().union(*by_outcome.values()) if by_outcome else stored
    if unexplained:
        findings.problem(f"{len(unexplained)} reports of submissions no client sent")
    _check_receipts(app, outcomes, numbers, findings)
    _check_files(app, numbers, file_every, findings)
    for command in (["audit", "verify"], ["vault", "check"]):
        code = _operator(command, env, findings)
        if command[0] == "audit" and code != 0:
            findings.problem("audit verify failed")
        if command[0] == "vault" and code != 0:
            # Files of submissions killed between writing their files and committing (never readable:
            # their key was never committed). With every server stopped the operator removes them at once.
            if _operator(["vault", "check", "--discard-stale", "--older-than", "0"], env, findings) != 0:
                findings.problem("vault check still finds rows without files or files without rows")
    return findings
