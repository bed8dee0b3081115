"""Triage keeps the statistics values of a consenting report, once, and nothing for the others."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.casework import add_rule, report_row, submit, update_report
from tests.test_triage import HOURS, NOW, Case


@pytest.fixture
def consenting(app, reporter, make_staff, staff_directory):
    return _case(app, reporter, make_staff, staff_directory, consent=True)


def _case(app, reporter, make_staff, staff_directory, *, consent: bool) -> Case:
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    receipt, report_id = submit(reporter, stats_consent="y" if consent else None)
    update_report(app, report_id, created_hour=NOW - timedelta(hours=7))
    return Case(app, report_id, focal_point, staff_directory.coordinator, {}, receipt)


def test_first_acknowledgement_and_assessment_are_kept_in_whole_hours(consenting):
    consenting.triage(status="acknowledged", now=NOW + timedelta(minutes=40))
    consenting.act("assess", answers={"imminent_danger": True}, expected_version=None,
                   now=NOW + timedelta(hours=2, minutes=59), hours=HOURS)
    consenting.triage(risk="low", status="assessing", now=NOW + timedelta(hours=30))
    row = report_row(consenting.app, consenting.report_id)
    assert (row.stats_ack_hours, row.stats_first_risk, row.stats_assess_hours) == (7, "critical", 9)
    assert row.risk == "low"  # the case moves on; the statistics keep the first assessment


def test_a_report_without_consent_keeps_no_statistics(app, reporter, make_staff, staff_directory):
    case = _case(app, reporter, make_staff, staff_directory, consent=False)
    case.triage(status="acknowledged", risk="high", now=NOW)
    row = report_row(app, case.report_id)
    assert row.stats_consent is False
    assert (row.stats_ack_hours, row.stats_first_risk, row.stats_assess_hours, row.stats_platforms) == \
        (None, None, None, None)
