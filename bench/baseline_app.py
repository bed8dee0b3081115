"""Plaintext baselines for bench/intake.py and bench/evidence.py: the application with baseline routes.

It lives in bench/ and is never part of the package: nothing under reporter/ imports it or registers
its routes, and no setting of the application turns them on. The benchmarks serve it instead of the
application, with gunicorn started in a temporary folder (bench/intake.py, `start_gunicorn`):

    gunicorn --pythonpath <this folder> -c python:reporter.gunicorn_conf 'baseline_app:create_baseline_app()'

`create_baseline_app` builds the application with `reporter.create_app` and adds the one blueprint
below; configuration, keys, guards, rate limits, headers and error pages are the application's own.

The intake baseline parses the same form as /report under the same rate limit, stores the same fields
in one plaintext row in one durable commit through the same session, and answers with the same receipt
page, so the benchmark measures what sealing, seals and auditing cost.

The evidence baselines are the same two routes with the same work except encryption, so
bench/evidence.py measures what encrypting and sealing cost:

- upload: the report form under the same rate limit, validated the same way, each file read, hashed,
  recognised and scrubbed as `evidence.inspect_upload` does but in process, without the sandbox
  (`_inspect_in_process`), so the ratio counts the sandbox too; the fields stored in one plaintext
  row (as the intake baseline) and the scrubbed bytes in a plain file flushed to disk with its folder
  (as the store does), one durable commit, the same receipt page. Sealing the fields and the data key,
  routing and the audit event are what the real route adds, with the files' encryption.
- download: the same staff guard, the same check that the person holds the case (its seal row,
  without opening it), the same attachment rows read, the same `attachment.downloaded` audit event
  committed, the same headers; the file is streamed as stored. Opening the seal, deriving the file key
  and authenticating the whole file before its first byte is sent are what the real route adds.
- `/bench/plain-file/<id>` streams the same file with no guard and no database at all: the bare
  cost of sending bytes, printed for comparison.

Where the plain files are kept follows the application's store, so that the ratio shows what
encryption costs on the same storage: in `<instance>/bench-plain-files/` when the store is a folder,
and as plaintext objects under `bench-plain/` in the same bucket, through the same boto3 client (same
endpoint, credentials and settings), when it is a bucket (`_plain_bucket`).

Never serve this module in a deployment: it stores report content and files unencrypted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import ClientError
from flask import Blueprint, Flask, abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import Column, Date, DateTime, MetaData, String, Table, Text, insert, inspect, select
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response

from reporter import create_app
from reporter.access import HANDLE_CASES, require
from reporter.audit import chain
from reporter.crypto.receipts import display
from reporter.evidence import attachments
from reporter.evidence.bucket import CONTENT_TYPE, BucketStore
from reporter.evidence.inspection import (
    Inspected,
    UploadLimits,
    UploadRejected,
    original_digest,
    read_upload,
    scrub,
)
from reporter.evidence.kinds import SNIFF_BYTES, sniff
from reporter.evidence.store import ID_PATTERN
from reporter.extensions import db, limiter
from reporter.models import Attachment, Report, Seal
from reporter.models.base import new_id, utcnow
from reporter.web import context
from reporter.web.cases.views import DOWNLOAD_CSP
from reporter.web.formdata import ReporterRequest
from reporter.web.i18n import select_locale
from reporter.web.intake import attachments as files
from reporter.web.intake.forms import ReportForm

bp = Blueprint("bench", __name__)
UPLOAD_ENDPOINT = "bench.baseline_evidence"
#: The prefix of the baseline's plaintext objects when the application's store is a bucket.
PLAIN_PREFIX = "bench-plain/"


def create_baseline_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application as `reporter.create_app` does and add the plaintext baseline routes."""
    app = create_app(test_config)
    app.request_class = BaselineRequest
    app.register_blueprint(bp)
    return app


class BaselineRequest(ReporterRequest):
    """The application's request class; the baseline upload route may take a body as large as /report's."""

    @property
    def max_content_length(self) -> int | None:
        """Allow the attachment limits on the baseline upload route, as on /report; else as the app does."""
        if self._max_content_length is None and current_app and self.endpoint == UPLOAD_ENDPOINT:
            return int(current_app.config["MAX_CONTENT_LENGTH"])
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


# The same limit as POST /report (REPORTER_SUBMIT_LIMIT), written here rather than imported from the
# intake views so that the baseline follows the setting, not that module's private helpers.
def _submit_limit() -> str:
    return str(current_app.config["REPORTER_SUBMIT_LIMIT"])


def _only_posts() -> bool:
    return request.method != "POST"


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


def _plain_bucket() -> BucketStore | None:
    """Return the application's store if it is a bucket: the plain files then go to the same bucket."""
    store = context.attachment_store()
    return store if isinstance(store, BucketStore) else None


def _write_plain(data: bytes) -> str:
    file_id = new_id()
    store = _plain_bucket()
    if store is not None:  # one PUT, as the real store's upload (which checks for the id first)
        store.client.put_object(Bucket=store.location.bucket, Key=PLAIN_PREFIX + file_id, Body=data,
                                ContentType=CONTENT_TYPE)
        return file_id
    folder = _plain_folder()
    with open(folder / file_id, "wb") as sink:
        sink.write(data)
        sink.flush()
        os.fsync(sink.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return file_id


def _inspect_in_process(upload: Any, limits: UploadLimits) -> Inspected:
    """Read, hash, recognise and scrub one upload as `inspect_upload` does, in this process."""
    data = read_upload(upload.stream, limits.max_bytes)
    kind = sniff(data[:SNIFF_BYTES])
    if kind is None:
        raise UploadRejected("type", "this kind of file is not accepted")
    return Inspected(data, original_digest(data), kind,
                     scrub(kind, data, max_image_pixels=limits.max_image_pixels))


@bp.post("/bench/baseline-evidence")
@limiter.limit(_submit_limit)
def baseline_evidence() -> tuple[str, int]:
    """Take the report form with files as /report does, stored in plaintext; answer with the file ids."""
    form = ReportForm()
    uploads = files.uploads(request.files)
    if not form.validate() or len(uploads) > files.limits().max_files:
        return render_template("errors/error.html", code=400, kind="400"), 400
    try:
        inspected = [_inspect_in_process(upload, files.limits()) for upload in uploads]
    except UploadRejected:
        return "refused", 400
    _ensure_table()
    ids = [_write_plain(item.scrubbed.data) for item in inspected]
    db.session.execute(insert(plain_reports).values(
        id=new_id(), submitted_at=utcnow(), incident_kind=form.incident_kind.data or "",
        category=form.category.data or "", country=form.country.data or "", language=select_locale(),
        occurred_on=form.occurred_on.data, description=form.description.data or "",
        perpetrator=form.perpetrator.data or "", contact=form.contact.data or "",
    ))
    db.session.commit()
    render_template("intake/receipt.html", receipt=display(ids[0][:20].upper()))  # the same page work
    return "\n".join(ids), 200


def _plain_source(file_id: str) -> tuple[BinaryIO, int]:
    """Open a plain file (a local file, or the object's body from the bucket); return it and its size."""
    if not ID_PATTERN.fullmatch(file_id):
        abort(404)
    store = _plain_bucket()
    if store is not None:
        try:
            answer = store.client.get_object(Bucket=store.location.bucket, Key=PLAIN_PREFIX + file_id)
        except ClientError:
            abort(404)
        return answer["Body"], int(answer["ContentLength"])
    path = _plain_folder() / file_id
    if not path.is_file():
        abort(404)
    return open(path, "rb"), path.stat().st_size  # noqa: SIM115 - closed by the stream


def _plain_stream(file_id: str) -> Response:
    source, size = _plain_source(file_id)

    def chunks() -> Iterator[bytes]:
        with closing(source):
            while piece := source.read(64 * 1024):
                yield piece

    response = Response(chunks(), content_type="application/octet-stream", direct_passthrough=True)
    response.content_length = size
    response.headers.set("Content-Disposition", "attachment", filename=f"{file_id[:8]}.bin")
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return response


@bp.get("/bench/baseline-evidence/<report_id>/<file_id>")
@require(HANDLE_CASES)
def baseline_download(report_id: str, file_id: str) -> Response:
    """Send a plaintext file as the attachment route does: guard, holder check, rows, audit, headers."""
    person = current_user._get_current_object()
    held = db.session.execute(select(Report, Seal).join(Seal, Seal.report_id == Report.id).where(
        Report.id == report_id, Seal.recipient_kind == "staff", Seal.recipient_id == person.id)).first()
    first = db.session.scalar(select(Attachment.id).where(Attachment.report_id == report_id).limit(1))
    if held is None or first is None:
        abort(404)
    attachments.number_of(db.session, report_id, first)
    chain.record(db.session, actor=chain.Actor.of(person), action="attachment.downloaded",
                 object_type="report", object_id=report_id, detail={"attachment": first, "copy": "scrubbed"})
    db.session.commit()
    return _plain_stream(file_id)


@bp.get("/bench/plain-file/<file_id>")
def plain_file(file_id: str) -> Response:
    """Stream a plaintext file with no guard and no database: the bare cost of sending its bytes."""
    return _plain_stream(file_id)
