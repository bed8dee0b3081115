"""Marking a case no longer escalating (reporter.cases.triage.clear_escalating), with a reason."""

from __future__ import annotations

from typing import Any

from reporter.access import HANDLE_CASES, require
from reporter.cases import triage
from reporter.models.base import utcnow
from reporter.web.cases import bp
from reporter.web.cases.forms import CLEAR_LABELS, ESCALATION_LABELS, ClearEscalationForm, version_of
from reporter.web.cases.views import Page, act_on_case


@bp.context_processor
def escalation_labels() -> dict[str, Any]:
    """The labels the case page names an escalation and its clearing by."""
    return {"escalation_labels": ESCALATION_LABELS, "clear_labels": CLEAR_LABELS}


@bp.post("/cases/<report_id>/escalation/clear")
@require(HANDLE_CASES)
def clear_escalation(report_id: str) -> Page:
    """Mark the case no longer escalating; the risk level and deadline stay as they are."""
    form = ClearEscalationForm()
    return act_on_case(report_id, "clear_escalation_form", form, "triage", triage.clear_escalating, lambda: {
        "expected_version": version_of(form), "reason": form.reason.data or "", "now": utcnow()})
