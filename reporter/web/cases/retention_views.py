"""Extending the retention of a closed case (coordinators, once per case)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from reporter.access import EXTEND_RETENTION, require
from reporter.lifecycle import extension
from reporter.models.base import utcnow
from reporter.web.cases import bp
from reporter.web.cases.forms import ExtendForm
from reporter.web.cases.views import act_on_case


@bp.post("/cases/<report_id>/retention")
@require(EXTEND_RETENTION)
def extend_retention(report_id: str) -> tuple[str, int] | Response:
    """Keep a closed case one more retention period; the reason becomes a sealed internal note."""
    form = ExtendForm()
    return act_on_case(report_id, "extend_form", form, "retention", extension.extend_retention,
                       lambda: {"reason": form.reason.data or "", "now": utcnow()})
