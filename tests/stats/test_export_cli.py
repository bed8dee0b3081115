"""`reporter stats export`: the same suppressed figures as /stats, as CSV, and an audit event."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from reporter.extensions import db
from reporter.models import AuditEvent
from reporter.models.base import utcnow
from reporter.stats import periods
from tests.web.test_stats import _last_month, seeded  # noqa: F401 (fixture)


def _rows(text: str) -> dict[tuple[str, str, str], str]:
    return {(r["figure"], r["row"], r["column"]): r["value"] for r in csv.DictReader(io.StringIO(text))}


def test_export_prints_what_the_page_publishes(seeded, client, make_staff, login):  # noqa: F811
    runner = seeded.test_cli_runner()
    result = runner.invoke(args=["stats", "export"])
    assert result.exit_code == 0, result.output
    printed = _rows(result.output)
    login(client, make_staff(role="auditor"))
    assert printed == _rows(client.get("/stats/export.csv").get_data(as_text=True))
    assert printed[("category", "doxxing", "GE")] == "suppressed"
    with seeded.app_context():
        exported = select(AuditEvent.actor_role).where(AuditEvent.action == "stats.exported")
        actors = list(db.session.scalars(exported.order_by(AuditEvent.seq)))
    assert actors == ["console", "auditor"]


def test_export_of_one_region_to_a_file(seeded, tmp_path):  # noqa: F811
    target = tmp_path / "ge.csv"
    result = seeded.test_cli_runner().invoke(args=["stats", "export", "--region", "ge", "--to", str(target),
                                                   "--period", _last_month().label])
    assert result.exit_code == 0, result.output
    rows = _rows(target.read_text(encoding="utf-8"))
    assert {column for (_, _, column) in rows} == {"GE"}
    assert rows[("category", "doxxing", "GE")] == "suppressed"


def test_export_refuses_a_running_period_an_unknown_region_and_a_bad_label(seeded):  # noqa: F811
    runner = seeded.test_cli_runner()
    running = periods.containing(utcnow(), "quarter").label
    for args, message in ((["--period", running], "still running"), (["--period", "11/2026"], "2026-Q3"),
                          (["--region", "XX"], "unknown region"), (["--kind", "week"], "week")):
        result = runner.invoke(args=["stats", "export", *args])
        assert result.exit_code != 0 and message in result.output
        assert "Traceback" not in result.output
