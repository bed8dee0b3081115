"""Error pages: a clear message in the reader's language, never a stack trace.

An unexpected error is logged with a random reference and its exception type only; the page shows
the reference so support can find the log line without anyone seeing what the reporter wrote.
"""

from __future__ import annotations

import logging
import secrets
import traceback

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from reporter.cases.holding import IntegrityFailure
from reporter.evidence.store import StoreUnavailable

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Register the error handlers of `app`."""

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> tuple[str, int]:
        from reporter.web.intake.views import form_expired

        if request.endpoint == "intake.report":
            return form_expired()
        return render_template("errors/error.html", code=400, kind="csrf"), 400

    @app.errorhandler(IntegrityFailure)
    def case_damaged(failure: IntegrityFailure) -> tuple[str, int]:
        """A case that fails its integrity check (the failure is already in the audit log): no content."""
        kind = "integrity_attachment" if str(failure) == "attachment" else "integrity"
        if request.blueprint == "intake":
            kind = "integrity_reporter"
        return render_template("errors/error.html", code=500, kind=kind), 500

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(error: StoreUnavailable) -> tuple[str, int, dict[str, str]]:
        """The attachment store is down: nothing was saved (a report is committed only after its files)."""
        reference = secrets.token_hex(6)
        log.error("attachment store unavailable ref=%s: %s", reference, error)
        page = render_template("errors/error.html", code=503, kind="500", reference=reference)
        return page, 503, {"Retry-After": "60"}

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> tuple[str, int, dict[str, str]]:
        """The database could not be reached or was busy (a restart, a failover): the transaction was
        rolled back whole, so the visitor may simply try again. The driver's message is not logged:
        it may quote the statement's parameters."""
        reference = secrets.token_hex(6)
        log.error("database unavailable ref=%s type=%s", reference, type(error.orig).__name__)
        page = render_template("errors/error.html", code=503, kind="500", reference=reference)
        return page, 503, {"Retry-After": "30"}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
        code = error.code or 500
        # Keep the headers the protocol requires with the error, such as Allow with a 405.
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        return render_template("errors/error.html", code=code, kind=str(code)), code, headers

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int] | tuple[str, int, list[tuple[str, str]]]:
        if isinstance(error, HTTPException):
            return http_error(error)
        reference = secrets.token_hex(6)
        # The frames say where it failed; the message could quote submitted text, so it is left out.
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error("unexpected error ref=%s type=%s\n%s", reference, type(error).__name__, frames)
        return render_template("errors/error.html", code=500, kind="500", reference=reference), 500

    app.register_error_handler(InternalServerError, unexpected)
