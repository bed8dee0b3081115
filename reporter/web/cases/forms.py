"""Forms of triage and routing. Each reads only its own fields; values are checked against the
allowed sets again by reporter.triage and reporter.routing (hidden fields are never trusted)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from reporter.cases.holding import ActionRefused

QUESTION_LABELS = {
    "imminent_danger": _l("Is the person in imminent physical danger?"),
    "family_threatened": _l("Are family members or close people threatened?"),
    "location_exposed": _l("Has the home address or current location been exposed?"),
    "coordinated_campaign": _l("Is it a coordinated online campaign?"),
    "state_actor": _l("Is a state actor involved?"),
    "repeat_incident": _l("Has this happened before?"),
    "calls_to_act": _l("Are others called on to act against the person?"),
    "followed_offline": _l("Is the person watched or followed offline?"),
    "doxxing": _l("Has personal data of the person been published (doxxing)?"),
    "cross_platform": _l("Is the same attacker active on several platforms?"),
    "volume_surge": _l("Has the volume of attacks risen suddenly?"),
}
#: Why a case is escalating (reporter.cases.triage.ESCALATION_REASONS), as its badge says.
ESCALATION_LABELS = {
    "indicators": _l("Escalating: the assessment met the indicators"),
    "new_incident": _l("Escalating: the reporter reported a new incident"),
}
#: Why a case is no longer escalating (reporter.cases.triage.CLEAR_REASONS).
CLEAR_LABELS = {
    "threat_passed": _l("The threat has passed"),
    "reassessed": _l("A new assessment found no indicators"),
    "flagged_by_mistake": _l("Flagged by mistake"),
}
REASON_LABELS = {
    "expertise": _l("Needs expertise I do not have"),
    "language": _l("Language"),
    "region": _l("Another region covers this"),
    "workload": _l("Workload"),
    "conflict_of_interest": _l("Conflict of interest"),
    "other": _l("Other"),
}
#: What the case page says after an action succeeded, by the `done` code of the redirect.
DONE = {
    "triage": _l("The status and risk level are saved."),
    "assess": _l("The risk assessment is recorded: it set the risk level and the deadline."),
    "note": _l("Your note is added to the case."),
    "message": _l("Your message is sent. The reporter reads it the next time they follow up with their "
                  "receipt."),
    "refer": _l("The case is referred: the person you chose can open it now."),
    "route": _l("The case went through routing again."),
    "extend": _l("The case is kept for one more retention period."),
    "clear_escalation": _l("The case is no longer marked escalating. Its risk level and deadline are "
                           "unchanged."),
}
PROBLEMS = {
    "conflict": _l("Someone else changed this case while you were looking at it. Nothing was saved: "
                   "here is the current state, please check it and try again."),
    "version": _l("This form is out of date or incomplete. Nothing was saved: here is the current state, "
                  "please try again."),
    "transition": _l("This status change is not allowed from the current status."),
    "status": _l("Please choose a status from the list."),
    "risk": _l("Please choose a risk level from the list."),
    "empty": _l("Please write something first."),
    "too_long": _l("Please shorten this to %(limit)s characters or fewer.", limit=10000),
    "nul": _l("This text contains a null character. Please remove it and try again."),
    "control": _l("This text contains invisible control characters. Please retype it."),
    "encoding": _l("This text arrived with damaged characters. Please retype it."),
    "reason": _l("Please choose why you refer the case."),
    "target": _l("Please choose a person from the list."),
    "target_inactive": _l("This person cannot receive cases (not active, or not a focal point or "
                          "coordinator)."),
    "already_holds": _l("This person already has this case."),
    "excluded": _l("The reporter asked that this person does not see the case. Please choose someone else."),
    "not_waiting": _l("This case is not waiting for routing."),
    "not_closed": _l("Only a closed case has a retention date to extend."),
    "extended": _l("The retention of this case was already extended once; it cannot be extended again."),
    "clear_reason": _l("Please choose why the case is no longer escalating."),
    "not_escalating": _l("This case is not marked escalating."),
}
RULE_PROBLEMS = {
    "category": _l("Please choose a category or “any”."),
    "language": _l("Please choose a language or “any”."),
    "members": _l("Please choose at least one active focal point of your region."),
    "not_found": _l("There is no such rule in your region."),
    "not_coordinator": _l("Only an active coordinator with a region can set routing rules."),
}


class TriageForm(FlaskForm):
    """Status and risk level; `version` is the case version the person saw."""

    status = StringField(_l("Status"), validators=[Optional(), Length(max=16)])
    risk = StringField(_l("Risk level"), validators=[Optional(), Length(max=16)])
    version = IntegerField(validators=[Optional()])


class AssessForm(FlaskForm):
    """The structured risk assessment: one yes/no question per factor."""

    imminent_danger = BooleanField(QUESTION_LABELS["imminent_danger"])
    family_threatened = BooleanField(QUESTION_LABELS["family_threatened"])
    location_exposed = BooleanField(QUESTION_LABELS["location_exposed"])
    coordinated_campaign = BooleanField(QUESTION_LABELS["coordinated_campaign"])
    state_actor = BooleanField(QUESTION_LABELS["state_actor"])
    repeat_incident = BooleanField(QUESTION_LABELS["repeat_incident"])
    calls_to_act = BooleanField(QUESTION_LABELS["calls_to_act"])
    followed_offline = BooleanField(QUESTION_LABELS["followed_offline"])
    doxxing = BooleanField(QUESTION_LABELS["doxxing"])
    cross_platform = BooleanField(QUESTION_LABELS["cross_platform"])
    volume_surge = BooleanField(QUESTION_LABELS["volume_surge"])
    version = IntegerField(validators=[Optional()])


class ClearEscalationForm(FlaskForm):
    """Mark the case no longer escalating: a reason from CLEAR_LABELS; `version` as in TriageForm."""

    reason = StringField(_l("Why the case is no longer escalating"), validators=[Optional(), Length(max=32)])
    version = IntegerField(validators=[Optional()])


def version_of(form: TriageForm | AssessForm | ClearEscalationForm) -> int:
    """Return the case version the form was made from; never a change without the version check."""
    form.validate()
    if form.version.data is None:  # missing or not a number
        raise ActionRefused("version")
    return int(form.version.data)


class NoteForm(FlaskForm):
    """An internal note: never shown to the reporter."""

    body = TextAreaField(_l("Internal note (never shown to the reporter)"),
                         validators=[DataRequired(PROBLEMS["empty"])])


class MessageForm(FlaskForm):
    """A message to the reporter, signed "protection team"."""

    body = TextAreaField(_l("Message to the reporter (they see it as from the protection team)"),
                         validators=[DataRequired(PROBLEMS["empty"])])


class ReferForm(FlaskForm):
    """Refer the case to another person, with a reason."""

    to = StringField(_l("Refer to"), validators=[DataRequired(PROBLEMS["target"]), Length(max=64)])
    reason = StringField(_l("Reason"), validators=[DataRequired(PROBLEMS["reason"]), Length(max=32)])


class RuleForm(FlaskForm):
    """A routing rule of the coordinator's region."""

    category = StringField(_l("Category"), validators=[DataRequired(RULE_PROBLEMS["category"]),
                                                       Length(max=32, message=RULE_PROBLEMS["category"])])
    language = StringField(_l("Language"), validators=[DataRequired(RULE_PROBLEMS["language"]),
                                                       Length(max=8, message=RULE_PROBLEMS["language"])])
    members = SelectMultipleField(_l("Focal points"), choices=[], validate_choice=False)


class ExtendForm(FlaskForm):
    """Keep a closed case one more retention period, once; the reason is stored as a sealed note."""

    reason = TextAreaField(_l("Why this case must be kept longer (stored as an internal note)"),
                           validators=[DataRequired(PROBLEMS["empty"])])


class EmptyForm(FlaskForm):
    """Only the CSRF token."""


class ReplyForm(FlaskForm):
    """A reply template: language, title and text (checked by reporter.cases.replies)."""

    language = StringField()
    title = StringField()
    body = TextAreaField()
