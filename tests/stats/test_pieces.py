"""Periods, the coarse values kept for consenting reports, the threshold setting and the CSV cells."""

from __future__ import annotations

from datetime import datetime

import pytest

from reporter.config import ConfigError
from reporter.models import Report
from reporter.stats import periods, publishing, recording
from reporter.stats.figures import Breakdown, Statistics

NOW = datetime(2026, 12, 6, 6, 30)  # noqa: DTZ001


def test_only_closed_periods_are_given():
    assert [p.label for p in periods.closed("month", NOW, 2)] == ["2026-11", "2026-10"]
    assert [p.label for p in periods.closed("quarter", NOW, 2)] == ["2026-Q3", "2026-Q2"]
    assert periods.parse("2026-11", NOW).end == datetime(2026, 12, 1)  # noqa: DTZ001
    assert periods.parse("2025-Q4", NOW).start == datetime(2025, 10, 1)  # noqa: DTZ001
    for label in ("2026-12", "2026-Q4", "2026-13", "2026-Q5", "26-11", "", "2026-00"):
        with pytest.raises(periods.PeriodInvalid):
            periods.parse(label, NOW)


def test_a_january_steps_back_into_the_previous_year():
    assert periods.closed("month", datetime(2027, 1, 3), 1)[0].label == "2026-12"  # noqa: DTZ001
    assert periods.closed("quarter", datetime(2027, 2, 3), 1)[0].label == "2026-Q4"  # noqa: DTZ001


def test_platforms_are_kept_only_with_consent():
    assert recording.platforms_column(["vk", "telegram", "vk"], consent=True) == "telegram,vk"
    assert recording.platforms_column(["vk"], consent=False) is None
    assert recording.platforms_column([], consent=True) is None


def test_hours_are_counted_between_whole_hours_once_and_only_with_consent():
    report = Report(created_hour=datetime(2026, 11, 2, 10), stats_consent=True)  # noqa: DTZ001
    recording.note_acknowledged(report, datetime(2026, 11, 2, 13, 59))  # noqa: DTZ001
    recording.note_acknowledged(report, datetime(2026, 11, 3, 13))  # noqa: DTZ001
    recording.note_assessed(report, "unknown", datetime(2026, 11, 2, 14))  # noqa: DTZ001
    recording.note_assessed(report, "high", datetime(2026, 11, 2, 15, 10))  # noqa: DTZ001
    recording.note_assessed(report, "low", datetime(2026, 11, 4, 15))  # noqa: DTZ001
    assert (report.stats_ack_hours, report.stats_first_risk, report.stats_assess_hours) == (3, "high", 5)
    silent = Report(created_hour=datetime(2026, 11, 2, 10), stats_consent=False)  # noqa: DTZ001
    recording.note_acknowledged(silent, NOW)
    recording.note_assessed(silent, "high", NOW)
    assert (silent.stats_ack_hours, silent.stats_first_risk, silent.stats_assess_hours) == (None, None, None)


@pytest.mark.parametrize("value", [0, 1, 2])
def test_a_threshold_below_three_is_refused_at_start_up(app_factory, value):
    with pytest.raises(ConfigError, match="REPORTER_STATS_MIN_CELL must be at least 3"):
        app_factory(REPORTER_STATS_MIN_CELL=value)


def test_csv_cells_that_look_like_formulas_stay_text():
    table = Breakdown("category", ("=HYPERLINK(1)",), ("+GE",), [[7], [7]])
    stats = Statistics(periods.parse("2026-11", NOW), None, 5, [table], [], None, None)
    text = publishing.to_csv(stats)
    assert "'=HYPERLINK(1)" in text and "'+GE" in text
    assert "\n=" not in text and ",=" not in text and ",+" not in text
