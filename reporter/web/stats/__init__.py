"""Statistics for advocacy: aggregate counts of consenting reports, suppressed, as page, charts and CSV.

Nothing here reads a sealed field or opens a case: the figures come from reporter.stats, which counts
the plaintext columns of consenting reports and hides small counts before anything is shown.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/stats")

from reporter.web.stats import views  # noqa: E402,F401
