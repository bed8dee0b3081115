"""Routing rules of the coordinator's region."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from reporter import directory
from reporter.access import MANAGE_ROUTING, require
from reporter.cases import recipients, routing
from reporter.countries import country_choices, country_name
from reporter.extensions import db
from reporter.models import StaffMember
from reporter.models.base import utcnow
from reporter.models.report import CATEGORIES
from reporter.models.routing import ANY
from reporter.web.cases import bp
from reporter.web.cases.forms import RULE_PROBLEMS, EmptyForm, RuleForm
from reporter.web.i18n import select_locale
from reporter.web.labels import CATEGORY_LABELS

Page = tuple[str, int] | Response


def _page(form: RuleForm, status: int, problem: str | None = None) -> Page:
    me: StaffMember = current_user._get_current_object()
    region = me.region or ""
    focal_points = recipients.focal_points_of(db.session, region) if region else []
    everyone = {p.id: p for p in focal_points}
    rules = routing.rules_of(db.session, region) if region else []
    for rule in rules:
        for member in rule.members:
            if member.staff_id not in everyone:
                person = db.session.get(StaffMember, member.staff_id)
                if person is not None:
                    everyone[person.id] = person
    unverified = {rule.id for rule in rules if not directory.rule_verifies(db.session, rule)}
    listed, _ = country_choices(select_locale())
    fallback = recipients.countries_without_coordinator(db.session, [code for code, _ in listed])
    return render_template(
        "cases/routing.html", form=form, rules=rules, focal_points=focal_points, people=everyone,
        unverified=unverified, fallback=[name for code, name in listed if code in fallback],
        categories=CATEGORIES, category_labels=CATEGORY_LABELS,
        languages=current_app.config["REPORTER_LANGUAGES"],
        region=region, region_name=country_name(region, select_locale()) if region else "", any=ANY,
        problem=problem, delete_form=EmptyForm(formdata=None), done=request.args.get("done"),
    ), status


@bp.route("/routing", methods=["GET", "POST"])
@require(MANAGE_ROUTING)
def routing_rules() -> Page:
    """Show the rules of the coordinator's region; create or replace one."""
    form = RuleForm()
    if request.method == "GET":
        return _page(RuleForm(formdata=None), 200)
    if not form.validate():
        return _page(form, 400)
    try:
        routing.save_rule(db.session, coordinator=current_user._get_current_object(),
                          category=form.category.data or "",
                          language=form.language.data or "", members=request.form.getlist("members")[:200],
                          categories=CATEGORIES, languages=current_app.config["REPORTER_LANGUAGES"],
                          now=utcnow())
    except routing.RoutingError as refused:
        db.session.rollback()
        return _page(form, 400, problem=str(RULE_PROBLEMS[refused.reason]))
    return redirect(url_for("cases.routing_rules", done="saved"))


@bp.post("/routing/<rule_id>/delete")
@require(MANAGE_ROUTING)
def delete_rule(rule_id: str) -> Page:
    """Delete one rule of the coordinator's region."""
    EmptyForm().validate_on_submit()  # CSRFProtect has already checked the token
    try:
        routing.delete_rule(db.session, rule_id[:64], coordinator=current_user._get_current_object())
    except routing.RoutingError:
        db.session.rollback()
        abort(404)
    return redirect(url_for("cases.routing_rules", done="deleted"))
