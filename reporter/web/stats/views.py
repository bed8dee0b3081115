"""Views of the statistics: thin, each calling reporter.stats and recording itself in the audit chain."""

from __future__ import annotations

from flask import Response, abort, current_app, render_template, request
from flask_login import current_user

from reporter import access
from reporter.access import READ_STATS, require
from reporter.audit import chain
from reporter.extensions import db
from reporter.models.base import utcnow
from reporter.stats import periods, publishing
from reporter.stats.figures import Statistics, statistics_for
from reporter.web.i18n import select_locale
from reporter.web.stats import bp
from reporter.web.stats.display import page_context, period_choices


def _published(action: str) -> Statistics | None:
    """Count the requested closed period for the person's scope and record it; None for a bad period."""
    now = utcnow()
    try:
        region = access.stats_region(current_user.role, current_user.region)
    except access.AccessDenied:
        abort(403)
    try:
        chosen = request.args.get("period", "")
        period = periods.parse(chosen, now) if chosen else periods.closed("month", now, 1)[0]
    except periods.PeriodInvalid:
        return None
    stats = statistics_for(db.session, period, region, int(current_app.config["REPORTER_STATS_MIN_CELL"]))
    with db.writing() as session:
        publishing.record(session, stats, actor=chain.Actor.of(current_user), action=action)
        session.commit()
    return stats


def _refused() -> tuple[str, int]:
    return render_template("stats/overview.html", stats=None, choices=period_choices(utcnow())), 400


@bp.get("")
@require(READ_STATS)
def overview() -> tuple[str, int]:
    """Show the statistics of a closed month or quarter: tables, charts, medians and shares."""
    stats = _published("stats.viewed")
    if stats is None:
        return _refused()
    return render_template("stats/overview.html", **page_context(stats, select_locale(), utcnow())), 200


@bp.get("/export.csv")
@require(READ_STATS)
def export_csv() -> tuple[str, int] | Response:
    """Download the same figures as CSV, hidden ones marked as suppressed."""
    stats = _published("stats.exported")
    if stats is None:
        return _refused()
    name = f"statistics-{stats.scope}-{stats.period.label}.csv"
    return Response(publishing.to_csv(stats), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
