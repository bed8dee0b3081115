"""Plaintext baselines for bench/intake.py and bench/evidence.py, registered only when
REPORTER_BENCH_BASELINE is true.

It parses the same form as /report under the same rate limit, stores the same fields in one
plaintext row in one durable commit through the same session, and answers with the same receipt
page, so the benchmark measures what sealing, seals and auditing cost.

The evidence baseline takes the same multipart upload (the same request class: files in memory, the
same per-file limit), writes each file's bytes as they came into a plain file (flushed to disk, as
the store does) and sends them back with the same download headers: bench/evidence.py measures what
sniffing, scrubbing, hashing, encryption, verification and auditing cost on top.

Never enable either in a deployment: they store report content and files unencrypted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import Column, Date, DateTime, MetaData, String, Table, Text, insert, inspect
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response

from reporter.crypto.receipts import display
from reporter.evidence import UploadLimits, UploadRejected, read_upload
from reporter.extensions import db, limiter
from reporter.models.base import new_id, utcnow
from reporter.web.i18n import select_locale
from reporter.web.intake.forms import ReportForm
from reporter.web.intake.views import _only_posts, _submit_limit

bp = Blueprint("bench", __name__)

plain_reports = Table(
    "bench_plain_reports",
    MetaData(),
    Column("id", String(32), primary_key=True),
    Column("submitted_at", DateTime, nullable=False),
    Column("incident_kind", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("country", String(2), nullable=False),
    Column("language", String(8), nullable=False),
    Column("occurred_on", Date),
    Column("description", Text, nullable=False),
    Column("perpetrator", Text, nullable=False),
    Column("contact", Text, nullable=False),
)

_READY = "reporter.bench_table_ready"


def _ensure_table() -> None:
    """Create the plaintext table once per process; another worker may be creating it right now."""
    if current_app.extensions.get(_READY):
        return
    assert db.engine is not None
    try:
        with db.engine.begin() as connection:
            plain_reports.create(connection, checkfirst=True)
    except DBAPIError:  # lost the race (PostgreSQL: duplicate pg_type row); fine if the table is there
        if not inspect(db.engine).has_table(plain_reports.name):
            raise
    current_app.extensions[_READY] = True


@bp.post("/bench/baseline-report")
@limiter.limit(_submit_limit, exempt_when=_only_posts)
def baseline_report() -> tuple[str, int]:
    """Store the report form's fields in one plaintext row and show a fake receipt."""
    form = ReportForm()
    if not form.validate():
        return render_template("errors/error.html", code=400, kind="400"), 400
    _ensure_table()
    session = db.session
    row_id = new_id()
    session.execute(insert(plain_reports).values(
        id=row_id, submitted_at=utcnow(), incident_kind=form.incident_kind.data or "",
        category=form.category.data or "", country=form.country.data or "", language=select_locale(),
        occurred_on=form.occurred_on.data, description=form.description.data or "",
        perpetrator=form.perpetrator.data or "", contact=form.contact.data or "",
    ))
    session.commit()
    return render_template("intake/receipt.html", receipt=display(row_id[:20].upper())), 200


def _plain_folder() -> Path:
    folder = Path(current_app.instance_path) / "bench-plain-files"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


@bp.post("/bench/baseline-evidence")
@limiter.limit(_submit_limit)
def baseline_evidence() -> tuple[str, int]:
    """Store each uploaded file as it came, in plaintext; answer with the ids, one a line."""
    limits = UploadLimits.from_config(current_app.config)
    ids = []
    for upload in request.files.getlist("attachments"):
        try:
            data = read_upload(upload.stream, limits.max_bytes)
        except UploadRejected:
            return "refused", 400
        file_id = new_id()
        with open(_plain_folder() / file_id, "wb") as sink:
            sink.write(data)
            sink.flush()
            os.fsync(sink.fileno())
        ids.append(file_id)
    return "\n".join(ids), 200


@bp.get("/bench/baseline-evidence/<file_id>")
def baseline_download(file_id: str) -> Response:
    """Send a stored plaintext file back with the download headers of the real route."""
    if not file_id.isalnum() or len(file_id) != 32:
        abort(404)
    path = _plain_folder() / file_id

    def chunks() -> Iterator[bytes]:
        with open(path, "rb") as source:
            while piece := source.read(64 * 1024):
                yield piece

    response = Response(chunks(), content_type="application/octet-stream", direct_passthrough=True)
    response.content_length = path.stat().st_size
    response.headers.set("Content-Disposition", "attachment", filename=f"{file_id[:8]}.bin")
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
