"""Bar charts as plain geometry, drawn as inline SVG by a Jinja template (templates/stats/_chart.html).

No chart library: the figures are a handful of bars, the page must work with JavaScript off and under
a Content Security Policy without inline styles, and every label must go through the page's
translations. pygal (its SVG carries scripts and style elements unless stripped) and matplotlib (a
large dependency drawing text as paths, which screen readers cannot read) fit worse than forty lines.
A hidden figure gets no bar, only the word for hidden: a bar's length would give the number away.
"""

from __future__ import annotations

from dataclasses import dataclass

from reporter.stats.figures import Breakdown

WIDTH = 680
LABEL_WIDTH = 300
BAR_HEIGHT = 22
GAP = 8
TOP = 8


@dataclass(frozen=True)
class Bar:
    """One bar: its row code, its value (None when hidden), where it is drawn and how long it is."""

    code: str
    value: int | None
    y: int
    length: float


@dataclass(frozen=True)
class Chart:
    """The bars of one breakdown for the scope's total column, and the drawing's size."""

    name: str
    bars: list[Bar]
    width: int
    height: int
    label_width: int


def bar_chart(breakdown: Breakdown) -> Chart:
    """Return the horizontal bar chart of a breakdown's last column (the scope's total) by row."""
    values = [line[-1] for line in breakdown.cells[:-1]]
    largest = max((v for v in values if v), default=0)
    room = WIDTH - LABEL_WIDTH - 60
    bars = [Bar(code, value, TOP + n * (BAR_HEIGHT + GAP),
                room * value / largest if value and largest else 0.0)
            for n, (code, value) in enumerate(zip(breakdown.rows, values, strict=True))]
    return Chart(breakdown.name, bars, WIDTH, TOP * 2 + len(bars) * (BAR_HEIGHT + GAP), LABEL_WIDTH)
