"""The auditor's workspace: the audit log, its verification, exports and a case's access report.

Auditors read who did what to which id and prove nobody erased it; nothing here decrypts anything
or reads the reports table, so an auditor never sees case content and cannot open a case.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from reporter.web.audit import views  # noqa: E402,F401
