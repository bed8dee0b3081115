"""Forms of the staff side. Each form reads only its own fields: a posted `role` or `state` that a
form does not declare is never read (no mass assignment)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from reporter.staff.passwords import MAX_LENGTH

PASSWORD_PROBLEMS = {
    "too_short": _l("Please choose a password of at least 12 characters."),
    "too_long": _l("Please choose a shorter password."),
    "common": _l("This password is too common. Please choose another, for example a few unrelated words."),
    "email": _l("Please do not use your e-mail address as your password."),
}
STAFF_PROBLEMS = {
    "email": _l("Please give a valid e-mail address."),
    "role": _l("Please choose a role."),
    "region": _l("Focal points and coordinators need a region (a country); other roles have none."),
    "exists": _l("This person already has an account."),
    "self": _l("Nobody may do this to their own account."),
    "own_invitee": _l("You invited this person, so another coordinator must vet them."),
    "state": _l("This account is not in a state that allows this."),
    "decision": _l("Please choose approve or reject."),
    "not_found": _l("There is no such account."),
    "display_name": _l("Please give a public name of at most 80 printable characters, or none."),
    "code": _l("This code is not right. Please enter the current code from your app."),
    "integrity": _l("This account's record was changed outside the application and cannot be used. The "
                    "change is in the audit log."),
    "already_requested": _l("Offboarding of this person is already requested."),
    "last_coordinator": _l("This is the only active coordinator of their country. Another coordinator of "
                           "the country must be active first."),
    "not_requested": _l("No admin has asked for this person to be offboarded."),
    "orphans": _l("Some open cases of this person have no other holder, and you do not hold them. A "
                  "coordinator who holds them must confirm, so that they are sealed to someone else first."),
}

_email = [DataRequired(_l("Please enter your e-mail address.")), Length(max=254)]
_password = [InputRequired(_l("Please enter a password.")), Length(max=MAX_LENGTH)]


class LoginForm(FlaskForm):
    """E-mail and password: the first login step."""

    email = StringField(_l("E-mail address"), validators=_email)
    password = PasswordField(_l("Password"), validators=_password)
    next = HiddenField()


class CodeForm(FlaskForm):
    """A six-digit code from the authenticator app."""

    code = StringField(_l("Code from your authenticator app"),
                       validators=[DataRequired(_l("Please enter the 6-digit code.")), Length(max=16)])
    next = HiddenField()


class NewPasswordForm(FlaskForm):
    """Choose a password at enrolment."""

    password = PasswordField(_l("New password"), validators=_password)
    password_confirm = PasswordField(
        _l("New password again"),
        validators=[InputRequired(_l("Please enter the password again.")),
                    EqualTo("password", _l("The two passwords are not the same."))],
    )


class ChangePasswordForm(FlaskForm):
    """Change one's own password; the current one is needed to re-wrap the key."""

    current_password = PasswordField(_l("Current password"), validators=_password)
    password = PasswordField(_l("New password"), validators=_password)
    password_confirm = PasswordField(
        _l("New password again"),
        validators=[InputRequired(_l("Please enter the password again.")),
                    EqualTo("password", _l("The two passwords are not the same."))],
    )


class RecoverForm(NewPasswordForm):
    """Reset a forgotten password with the recovery code and a current TOTP code."""

    email = StringField(_l("E-mail address"), validators=_email)
    recovery_code = StringField(_l("Recovery code"), validators=[
        DataRequired(_l("Please enter your recovery code.")), Length(max=64)])
    code = StringField(_l("Code from your authenticator app"),
                       validators=[DataRequired(_l("Please enter the 6-digit code.")), Length(max=16)])


class InviteForm(FlaskForm):
    """Invite a person: e-mail, role and (for focal points and coordinators) region."""

    email = StringField(_l("E-mail address"), validators=_email)
    role = StringField(_l("Role"), validators=[DataRequired(_l("Please choose a role."))])
    region = StringField(_l("Region (country)"), validators=[Optional(), Length(max=2)])
    display_name = StringField(_l("Public name (optional)"), validators=[Optional(), Length(max=80)])


class VetForm(FlaskForm):
    """A coordinator's decision on an enrolled person."""

    decision = StringField(_l("Decision"), validators=[DataRequired(_l("Please choose approve or reject."))])


class EmptyForm(FlaskForm):
    """Only the CSRF token, for POST-only actions (logout, deactivate)."""
