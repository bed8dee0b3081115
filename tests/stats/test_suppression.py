"""Small-cell suppression against an attacker who solves the published totals exactly."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporter.stats.suppression import Table, suppress, suppress_linked
from tests.stats.attack import recovered

MIN_CELL = 5


def _table(rows: list[list[int]], prefix: str = "r") -> Table:
    names = tuple(f"{prefix}{i}" for i in range(len(rows)))
    columns = tuple(f"c{j}" for j in range(len(rows[0]) if rows else 0))
    counts = {(names[i], columns[j]): v for i, row in enumerate(rows) for j, v in enumerate(row)}
    return Table(names, columns, counts)


def _cells(published) -> dict:
    return published.values


def test_one_small_cell_gets_a_second_hidden_in_its_row_and_column():
    published = suppress(_table([[2, 10, 12], [11, 13, 9], [20, 15, 30]]), MIN_CELL)
    assert published.value(0, 0) is None
    row = [published.value(0, j) for j in range(4)]
    column = [published.value(i, 0) for i in range(4)]
    assert row.count(None) >= 2 and column.count(None) >= 2
    assert not recovered([published])


def test_a_total_that_would_reveal_is_hidden():
    # The first row has one report: its total is as small as the cell, and hidden with it.
    published = suppress(_table([[1, 0, 0], [11, 13, 9], [20, 15, 30]]), MIN_CELL)
    assert published.value(0, 0) is None and published.value(0, 3) is None
    assert published.value(0, 1) == 0  # a zero counts nobody and is published
    assert not recovered([published])


def test_every_small_count_is_hidden_and_nothing_published_is_small():
    published = suppress(_table([[3, 4, 0], [6, 1, 8], [2, 2, 2]]), MIN_CELL)
    for cell, value in published.values.items():
        shown = published.value(*cell)
        assert shown is None or shown == 0 or shown >= MIN_CELL
        if 0 < value < MIN_CELL:
            assert shown is None
    assert not recovered([published])


def test_a_threshold_below_three_is_refused():
    with pytest.raises(ValueError):
        suppress(_table([[5]]), 2)


def test_the_country_column_hides_what_the_whole_table_hides():
    published = suppress(_table([[2, 10], [9, 13], [20, 1]]), MIN_CELL)
    column = published.column("c0")
    assert column == [published.value(i, 0) for i in range(4)]
    assert column.count(None) != 1  # alone, the column's own total cannot give a hidden cell away


counts = st.integers(min_value=0, max_value=30) | st.integers(min_value=0, max_value=4)


@st.composite
def linked_tables(draw):
    columns = draw(st.integers(min_value=1, max_value=5))
    totals = [draw(st.integers(min_value=1, max_value=60)) for _ in range(columns)]
    tables = []
    for t in range(draw(st.integers(min_value=1, max_value=3))):
        rows = draw(st.integers(min_value=1, max_value=5))
        grid = [[0] * columns for _ in range(rows)]
        for j, total in enumerate(totals):
            for _ in range(total):  # spread the column's reports, skewed so that small cells appear
                i = draw(st.integers(min_value=0, max_value=rows - 1))
                grid[i][j] += 1
        tables.append(_table(grid, prefix=f"t{t}r"))
    return tables


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(counts, min_size=1, max_size=6), min_size=1, max_size=6).filter(
    lambda rows: len({len(r) for r in rows}) == 1))
def test_the_attacker_recovers_no_hidden_cell_of_a_random_table(rows):
    published = suppress(_table(rows), MIN_CELL)
    for cell, value in published.values.items():
        if 0 < value < MIN_CELL:
            assert cell in published.hidden
    assert not recovered([published])
    assert all(published.values[cell] > 0 for cell in published.hidden)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linked_tables())
def test_the_attacker_recovers_nothing_from_linked_tables_together(tables):
    published = suppress_linked(tables, MIN_CELL)
    for one in published:
        for cell, value in one.values.items():
            if 0 < value < MIN_CELL:
                assert cell in one.hidden
    assert not recovered(published)


def test_the_attacker_does_recover_a_cell_hidden_alone():
    from reporter.stats.suppression import Published

    table = _table([[2, 10], [9, 13]])
    values = table.extended()
    naive = Published(table, values, frozenset({(0, 0)}))
    assert recovered([naive]) == {(0, (0, 0)): 2}
