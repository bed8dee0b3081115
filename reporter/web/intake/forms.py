"""Forms of the reporter's side; content rules come from reporter.validation."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from reporter.countries import ISO_CODES
from reporter.intake import validation
from reporter.intake.text import clean_text, text_problem
from reporter.models.base import utcnow
from reporter.models.report import CATEGORIES, INCIDENT_KINDS

TEXT_PROBLEMS = {
    "nul": _l("This text contains a null character. Please remove it and try again."),
    "control": _l("This text contains invisible control characters. Please retype it."),
    "encoding": _l("This text arrived with damaged characters. Please retype it."),
    "too_long": _l("This text is too long."),
}


def _text_rule(limit: int) -> Any:
    def check(form: FlaskForm, field: Any) -> None:
        problem = text_problem(clean_text(field.data or ""), limit)
        if problem == "too_long":
            raise ValidationError(_l("Please shorten this to %(limit)s characters or fewer.", limit=limit))
        if problem:
            raise ValidationError(TEXT_PROBLEMS[problem])

    return check


def _one_of(allowed: Any, message: Any) -> Any:
    def check(form: FlaskForm, field: Any) -> None:
        if field.data not in allowed:
            raise ValidationError(message)

    return check


class IncidentDateField(DateField):
    """A YYYY-MM-DD date whose parse error speaks the reader's language."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the date or record a clear, translated error."""
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Please give the date as year-month-day, for example 2026-03-08.")) from None


def _date_rule(form: FlaskForm, field: Any) -> None:
    problem = validation.date_problem(field.data, today=utcnow().date())
    if problem == "future":
        raise ValidationError(_l("This date is in the future."))
    if problem == "too_old":
        raise ValidationError(_l("Please check the year of this date."))


ATTACHMENTS_LABEL = _l("Files (optional): screenshots, photos, documents, recordings")
KEEP_ORIGINALS_LABEL = _l("Also keep my original files, untouched, as sealed evidence")
REFERRAL_LABEL = _l("A partner organisation may receive my case if the focal point thinks it can help "
                    "(optional)")


class ReportForm(FlaskForm):
    """The report form of CONTRACT.md; the online-detail rows are read by web.intake.attachments."""

    # Choice fields are plain strings checked against the allowed codes; the template renders
    # the options with their translated labels.
    incident_kind = StringField(
        _l("Where did it happen?"),
        validators=[InputRequired(_l("Please choose where it happened.")),
                    _one_of(INCIDENT_KINDS, _l("Please choose one of the options."))],
    )
    category = StringField(
        _l("What kind of incident was it?"),
        validators=[DataRequired(_l("Please choose what happened.")),
                    _one_of(CATEGORIES, _l("Please choose one of the options."))],
    )
    country = StringField(
        _l("In which country?"),
        validators=[DataRequired(_l("Please choose a country.")),
                    _one_of(ISO_CODES, _l("Please choose a country from the list."))],
    )
    occurred_on = IncidentDateField(
        _l("When did it happen? (optional)"),
        validators=[Optional(), _date_rule],
        format="%Y-%m-%d",
    )
    description = TextAreaField(
        _l("What happened? Describe it in your own words"),
        validators=[DataRequired(_l("Please describe what happened.")),
                    _text_rule(validation.LIMITS["description"])],
    )
    perpetrator = TextAreaField(
        _l("Who did it, if you know? (optional)"),
        validators=[Optional(), _text_rule(validation.LIMITS["perpetrator"])],
    )
    contact = StringField(
        _l("How can we reach you safely? (optional)"),
        validators=[Optional(), _text_rule(validation.LIMITS["contact"])],
    )
    exclude = StringField(_l("Keep a protection officer away from your report (optional)"),
                          validators=[Optional()])
    attachments = MultipleFileField(ATTACHMENTS_LABEL)
    keep_originals = BooleanField(KEEP_ORIGINALS_LABEL)
    consent = BooleanField(
        _l("I agree that the protection team may read this report to help me."),
        validators=[DataRequired(_l("Please confirm that the protection team may read your report."))],
    )
    stats_consent = BooleanField(_l("My report may be counted in anonymous statistics (optional)"))
    referral_consent = BooleanField(REFERRAL_LABEL)


class ReferralConsentForm(FlaskForm):
    """The reporter's referral choice at follow-up."""

    referral_consent = BooleanField(REFERRAL_LABEL)


class ReceiptForm(FlaskForm):
    """The follow-up form: one receipt field."""

    receipt = StringField(_l("Your receipt"), validators=[DataRequired(_l("Please enter your receipt."))])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token, for POST-only actions such as forgetting the case."""


MESSAGE_PROBLEMS = {
    "empty": _l("Please write a message."),
    "too_long": _l("Please shorten this to %(limit)s characters or fewer.", limit=10000),
    **TEXT_PROBLEMS,
}


class MessageForm(FlaskForm):
    """A message to the protection team, from the follow-up page."""

    body = TextAreaField(
        _l("Your message to the protection team"),
        validators=[DataRequired(MESSAGE_PROBLEMS["empty"]), _text_rule(10000)],
    )
    attachments = MultipleFileField(ATTACHMENTS_LABEL)
    keep_originals = BooleanField(KEEP_ORIGINALS_LABEL)
    new_incident = BooleanField(_l("Something new has happened since my report"))
