"""The filter of the audit log, read from the query string (a GET form: no CSRF token, no writes)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, SelectField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from reporter.audit.review import EventFilter

_WHEN = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?")


def parse_when(text: str, *, end: bool = False) -> datetime:
    """Return the UTC time named by YYYY-MM-DD or YYYY-MM-DDTHH:MM; as an end, the day or minute after.

    An end bound is inclusive of the day or minute it names, so "until 2026-03-08" covers that day.
    """
    if not _WHEN.fullmatch(text):
        raise ValueError(text)
    when = datetime.fromisoformat(text)
    if end:
        when += timedelta(minutes=1) if "T" in text else timedelta(days=1)
    return when


def _no_control_characters(_form: Any, field: Field) -> None:
    if field.data and any(unicodedata.category(ch) == "Cc" for ch in field.data):
        raise ValidationError(_l("This value contains control characters, which no id or action has."))


def _time(end: bool) -> Any:
    def check(_form: Any, field: Field) -> None:
        if not field.data:
            return
        try:
            parse_when(field.data, end=end)
        except (ValueError, OverflowError):
            raise ValidationError(BAD_TIME) from None

    return check


BAD_TIME = _l("Please give a date as YYYY-MM-DD or a time as YYYY-MM-DDTHH:MM (UTC).")
_TEXT = [Optional(), Length(max=64, message=_l("Please give at most 64 characters.")), _no_control_characters]


class FilterForm(FlaskForm):
    """Which events to show: exact actor id, action and object id, and a UTC time range."""

    class Meta:
        csrf = False

    actor = StringField(_l("Actor id"), _TEXT)
    #: A list of the actions in the log (set_actions); a value not in it (an old link) still filters.
    action = SelectField(_l("Action"), _TEXT, choices=[], validate_choice=False)
    object = StringField(_l("Object id"), _TEXT)
    since = StringField(_l("From (UTC)"), [Optional(), _time(end=False)])
    until = StringField(_l("Until (UTC, inclusive)"), [Optional(), _time(end=True)])
    before = StringField(_l("Page"), [Optional(), Regexp(r"^[0-9]{1,12}$",
                                                         message=_l("This page link is not valid."))])

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate each field, then that the time range does not end before it starts."""
        if not super().validate(extra_validators):
            return False
        flt = self.event_filter()
        if flt.since and flt.until and flt.until <= flt.since:
            self.until.errors = [_l("The end of the time range must come after its start.")]
            return False
        return True

    def set_actions(self, actions: list[str], label: Callable[[str], str]) -> None:
        """Offer `actions` in the action list, named by `label`, after "any" and the value given."""
        given = self.action.data or ""
        codes = [given] if given and given not in actions else []
        named = [(code, label(code)) for code in codes + actions]
        self.action.choices = [("", str(_l("Any action"))), *named]

    def event_filter(self) -> EventFilter:
        """Return the validated filter."""
        return EventFilter(
            actor=self.actor.data or None, action=self.action.data or None,
            object_id=self.object.data or None,
            since=parse_when(self.since.data) if self.since.data else None,
            until=parse_when(self.until.data, end=True) if self.until.data else None,
        )

    def before_seq(self) -> int | None:
        """Return the seq the page starts below, or None for the newest page."""
        return int(self.before.data) if self.before.data else None

    def query_args(self) -> dict[str, str]:
        """Return the filter as given, for links to the next page and the CSV export."""
        fields = (self.actor, self.action, self.object, self.since, self.until)
        return {field.name: field.data for field in fields if field.data}
