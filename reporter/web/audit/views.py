"""Views of the auditor's workspace: thin, each calling reporter.audit or reporter.audit_review."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, abort, render_template, request, stream_with_context, url_for
from flask_login import current_user

from reporter import access
from reporter.access import READ_AUDIT, require
from reporter.audit import chain, heads, people, review
from reporter.database import Database
from reporter.extensions import db
from reporter.models.base import utcnow
from reporter.web.audit import bp, readable
from reporter.web.audit.display import visible, visible_json
from reporter.web.audit.forms import FilterForm
from reporter.web.context import keyring
from reporter.web.labels import ROLE_LABELS

Page = tuple[str, int] | Response
#: The longest object id stored; a longer or control-character id cannot name a case.
MAX_ID = 64

bp.add_app_template_filter(visible, "visible")
bp.add_app_template_filter(visible_json, "visible_json")
bp.add_app_template_global(access.may, "may")
bp.add_app_template_filter(readable.is_hex_id, "is_hex_id")



def _labels() -> dict[str, dict[str, str]]:
    """Return the role and actor names a page of events repeats, translated once."""
    return {"role_labels": readable.labels(ROLE_LABELS),
            "actor_labels": readable.labels(readable.ACTOR_LABELS)}


def _readable(events: list[Any], *also: str | None) -> tuple[list[tuple[Any, readable.Described]], dict]:
    """Return each event with its reading, and the verified people the events (and `also`) name."""
    ids = {*also, *(e.actor_id for e in events), *(e.object_id for e in events)}
    ids.update(found for e in events for found in readable.ID_IN_TEXT.findall(e.detail or ""))
    named = people.people_named(db.session, ids)
    return [(event, readable.describe(event, named)) for event in events], named


def _events_page(form: FilterForm, status: int, events: list[Any], **extra: Any) -> Page:
    rows, named = _readable(events, None if form.errors else form.actor.data)
    form.set_actions(review.actions_in_log(db.session), readable.option_label)
    period = {name: value for name, value in form.query_args().items() if name in ("since", "until")}
    return render_template("audit/events.html", form=form, rows=rows, period=period,
                           subject=named.get(form.actor.data or ""), **_labels(), **extra), status


@bp.get("")
@require(READ_AUDIT)
def events() -> Page:
    """List events newest first, filtered by actor, action, object and time, 50 a page (keyset)."""
    form = FilterForm(formdata=request.args)
    if not form.validate():
        return _events_page(form, 400, events=[])
    found = review.find_events(db.session, form.event_filter(), before_seq=form.before_seq(),
                                     limit=review.PAGE_SIZE + 1)
    page, next_url = found[: review.PAGE_SIZE], None
    if len(found) > review.PAGE_SIZE:
        args: dict[str, Any] = {**form.query_args(), "before": page[-1].seq}
        next_url = url_for("audit.events", **args)
    return _events_page(form, 200, events=page, next_url=next_url)


@bp.get("/verify")
@require(READ_AUDIT)
def verify() -> Page:
    """Recompute every hash and checkpoint signature and show whether the chain is intact."""
    public_key = keyring().audit_signing_key.public_key()
    try:
        history = keyring().audit_verification_keys()
        result, broken = chain.verify_chain(db.session, history), None
    except chain.ChainBroken as error:
        result, broken = None, error
    return render_template("audit/verify.html", result=result, broken=broken,
                           key_id=chain.key_id(public_key)), 200


def _csv_rows(database: Database, flt: review.EventFilter) -> Iterator[str]:
    # A session of its own, opened when the body starts: the request's session is gone by then.
    session = database.new_session(write=False)
    try:
        named = people.everyone(session)
        yield from review.to_csv(review.iter_events(session, flt), lambda e: readable.csv_cells(e, named))
    finally:
        session.close()


@bp.get("/export.csv")
@require(READ_AUDIT)
def export_csv() -> Page:
    """Record the export, commit, then stream the filtered events (the export's own event included
    when it matches the filter)."""
    form = FilterForm(formdata=request.args)
    if not form.validate():
        return _events_page(form, 400, events=[])
    with db.writing() as session:
        review.record_export(session, form.event_filter(), actor=chain.Actor.of(current_user))
        session.commit()
    name = f"audit-{utcnow():%Y%m%dT%H%M%SZ}.csv"
    # The request context stays open while the body streams: the readable columns are translated.
    return Response(stream_with_context(_csv_rows(db, form.event_filter())),
                    mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/head")
@require(READ_AUDIT)
def head() -> Response:
    """Sign a checkpoint of this very download and hand it out as a file to keep off the server."""
    with db.writing() as session:
        document = heads.export_head(session, keyring().audit_signing_key,
                                     actor=chain.Actor.of(current_user))
        session.commit()
    return Response(json.dumps(document, indent=2) + "\n", mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="audit-head-{int(document["seq"])}.json"'})


@bp.get("/cases/<report_id>")
@require(READ_AUDIT)
def case_access(report_id: str) -> Page:
    """Show every event about one case id: who, when, what; never its content.

    The reports table is not read: an id with no events shows an empty report whether or not such a
    case exists, so the page tells an auditor nothing the log itself does not.
    """
    if len(report_id) > MAX_ID or not report_id.isprintable():
        abort(404)
    rows, _named = _readable(review.access_report(db.session, report_id))
    return render_template("audit/case.html", report_id=report_id, rows=rows, **_labels(),
                           period={}, decrypting=review.DECRYPTING_ACTIONS), 200
