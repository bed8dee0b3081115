"""The reply templates page (coordinators): add and delete the short texts focal points start from."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from reporter.access import MANAGE_REPLIES, require
from reporter.cases import replies
from reporter.extensions import db
from reporter.models.base import utcnow
from reporter.web.cases import bp
from reporter.web.cases.forms import PROBLEMS, EmptyForm, MessageForm, ReplyForm
from reporter.web.i18n import available_languages

Page = tuple[str, int] | Response

REPLY_PROBLEMS = {
    "title_empty": _l("Please give the template a title."),
    "body_empty": _l("Please write the text of the template."),
    "title_too_long": _l("Please shorten the title to %(limit)s characters or fewer.",
                         limit=replies.TITLE_LIMIT),
    "body_too_long": _l("Please shorten the text to %(limit)s characters or fewer.",
                        limit=replies.BODY_LIMIT),
    "language": _l("Please choose a language from the list."),
    "full": _l("There are already %(limit)s templates in this language. Delete one first.",
               limit=replies.PER_LANGUAGE),
    **{f"{field}_{code}": PROBLEMS[code] for field in ("title", "body")
       for code in ("nul", "control", "encoding")},
}


def message_form_from_template() -> MessageForm:
    """Return the empty message form, or one holding the text of the reply template asked for (?reply=)."""
    chosen = replies.find(db.session, request.args.get("reply", "")[:64])
    return MessageForm(formdata=None, body=chosen.body if chosen else None)


def _page(form: ReplyForm, status: int, **extra: object) -> Page:
    return render_template("cases/replies.html", form=form, templates=replies.templates(db.session),
                           languages=available_languages(), delete_form=EmptyForm(formdata=None),
                           **extra), status


@bp.route("/replies", methods=["GET", "POST"])
@require(MANAGE_REPLIES)
def reply_templates() -> Page:
    """List the reply templates; add one."""
    if request.method == "GET":
        done = request.args.get("done")
        return _page(ReplyForm(formdata=None), 200, done=done if done in ("added", "deleted") else None)
    form = ReplyForm()
    form.validate()
    try:
        replies.add_template(db.session, person=current_user._get_current_object(),
                             language=form.language.data or "", title=form.title.data or "",
                             body=form.body.data or "", languages=available_languages(), now=utcnow())
    except replies.ReplyRefused as refused:
        db.session.rollback()
        return _page(form, 400, problem=REPLY_PROBLEMS[refused.reason])
    return redirect(url_for("cases.reply_templates", done="added"))


@bp.post("/replies/<template_id>/delete")
@require(MANAGE_REPLIES)
def delete_reply_template(template_id: str) -> Page:
    """Delete one reply template."""
    EmptyForm().validate_on_submit()  # CSRFProtect has already checked the token
    try:
        replies.delete_template(db.session, template_id[:64], person=current_user._get_current_object(),
                                now=utcnow())
    except replies.ReplyRefused:
        db.session.rollback()
        abort(404)
    return redirect(url_for("cases.reply_templates", done="deleted"))
