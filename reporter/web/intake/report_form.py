"""The report form page: shown to a reporter at /report and to staff entering a report for someone.

Both pages render the same template fields and read the posted form the same way; only the page around
the form (its template) and what happens after the checks differ (reporter.web.intake.views,
reporter.web.cases.intake_views).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import render_template, request
from flask_babel import gettext as _

from reporter.cases import recipients
from reporter.cases.recipients import NoRecipient
from reporter.countries import country_choices, country_name
from reporter.evidence.inspection import Upload, UploadRejected
from reporter.extensions import db
from reporter.intake import online_details
from reporter.intake.validation import DraftInvalid
from reporter.web.i18n import select_locale
from reporter.web.intake import attachments as files
from reporter.web.intake.forms import MessageForm, ReportForm
from reporter.web.labels import CATEGORY_LABELS, KIND_LABELS, PLATFORM_LABELS

REPORTER_PAGE = "intake/report.html"
Page = tuple[str, int]


def excludable() -> list[tuple[str, list[tuple[str, str]]]]:
    """Return the focal points a reporter may exclude, by country: (country name, [(id, public name)])."""
    locale = select_locale()
    groups = recipients.public_focal_points(db.session)
    return sorted(((country_name(code, locale), people) for code, people in groups.items()),
                  key=lambda g: g[0])


def render(form: ReportForm, status: int = 200, expired: bool = False, unavailable: bool = False,
           online_errors: dict[str, str] | None = None, add_row: bool = False,
           busy: bool = False, template: str = REPORTER_PAGE) -> Page:
    """Render the form page `template` with what was posted (the online rows too) and its problems."""
    region, others = country_choices(select_locale())
    posted = files.online_rows(request.form)
    return render_template(
        template, form=form, region_countries=region, other_countries=others,
        kind_labels=KIND_LABELS, category_labels=CATEGORY_LABELS, expired=expired, unavailable=unavailable,
        busy=busy,
        excludable=excludable(), online=posted,
        online_count=files.rows_to_show(request.form, posted, add=add_row),
        online_errors=online_errors or {}, platform_labels=PLATFORM_LABELS, accepted=files.ACCEPTED,
        limits=files.limits(),
    ), status


def too_many_files(form: ReportForm | MessageForm, uploads: Sequence[Upload]) -> bool:
    """Mark the attachments field when more files came than allowed; return whether they did."""
    if len(uploads) <= files.limits().max_files:
        return False
    form.attachments.errors = [files.too_many_files()]
    return True


@dataclass(frozen=True)
class Posted:
    """A posted report form that passed the form's checks: its online rows, normalised, and its files."""

    details: list[online_details.OnlineDetail]
    uploads: Sequence[Upload]


def read(form: ReportForm, *, template: str = REPORTER_PAGE) -> Posted | Page:
    """Return the checked form, or the page to show: the form itself, with another place, or its problems."""
    if request.method == "GET" or "add_online_row" in request.form:
        return render(form, add_row=request.method == "POST", template=template)
    valid = form.validate()
    try:
        details = online_details.clean_rows(files.online_rows(request.form))
    except online_details.DetailsInvalid as invalid:
        return render(form, 400, online_errors=files.online_errors(invalid), template=template)
    uploads = files.uploads(request.files)
    if too_many_files(form, uploads) or not valid:
        return render(form, 400, template=template)
    return Posted(details, uploads)


def refused(form: ReportForm, problem: Exception, *, template: str = REPORTER_PAGE) -> Page:
    """Show the form again with why the report was refused; an unexpected refusal is raised again."""
    if isinstance(problem, UploadRejected):
        form.attachments.errors, status = files.upload_errors(problem)
        return render(form, status, template=template)
    if isinstance(problem, NoRecipient):
        return render(form, 503, unavailable=True, template=template)
    if isinstance(problem, DraftInvalid) and set(problem.problems) == {"excluded"}:
        form.exclude.errors = [_("Please choose an officer who works in the country you chose, or nobody.")]
        return render(form, 400, template=template)
    raise problem
