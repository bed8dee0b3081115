"""Small-cell suppression: the one function every statistics output publishes through.

A table here is a two-way count (rows: categories, kinds, platforms ...; columns: countries) with its
row totals, column totals and grand total. Seen as an extended table, the totals are one more column
and one more row, and every published equation says that a row, or a column, of the extended table
adds up. A hidden cell can be worked out from the published ones exactly when it is not on a cycle
of hidden cells (rows and columns as the nodes of a graph, hidden cells as its edges): moving one
report around a cycle of hidden cells keeps every published total true, and no other change does.

The rules, in order:

* primary: every count from 1 to REPORTER_STATS_MIN_CELL - 1, totals included, is hidden;
* zero is published: it counts nobody, so it cannot point at a person, and a table that hid its zeros
  would hide the very places where nothing was reported. (What a zero does tell is that a whole group
  is elsewhere; statistics count only reports whose reporter agreed, so a published count never
  tells that any particular person's report is in it.) A secondary cell is never a zero: a hidden
  zero could not move down, so it would protect nothing;
* secondary: no row or column of the extended table keeps exactly one hidden cell (the smallest
  non-zero published cell of that line is hidden too), and a hidden cell that is still on no cycle
  (a bridge) is closed into one through its row's and column's totals;
* linked tables (several breakdowns of the same reports by country) share their column totals and
  grand total: a total hidden in one is hidden in all, and in each table every hidden column total is
  joined to the totals column by hidden cells, so that whatever moves between the shared totals in
  one table can move the same way in every other. Without this, an attacker would subtract one
  table's published total from another's.

A coordinator's view of their own country is the country's column of the table computed for all
countries (`Published.column`), never a table suppressed on its own: the two views must hide the
same cells, or laying them side by side would reveal what either hides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Cell = tuple[int, int]


@dataclass(frozen=True)
class Table:
    """Counts by row label and column label; totals are derived, never given."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def extended(self) -> dict[Cell, int]:
        """Return every cell of the extended table: (len(rows), j) are column totals, (i, len(columns))
        row totals, (len(rows), len(columns)) the grand total."""
        r, c = len(self.rows), len(self.columns)
        values = {(i, j): int(self.counts.get((row, col), 0)) for i, row in enumerate(self.rows)
                  for j, col in enumerate(self.columns)}
        for i in range(r):
            values[(i, c)] = sum(values[(i, j)] for j in range(c))
        for j in range(c + 1):
            values[(r, j)] = sum(values[(i, j)] for i in range(r))
        return values


@dataclass(frozen=True)
class Published:
    """A table as it may be shown: `value` is None for a hidden cell."""

    table: Table
    values: dict[Cell, int]
    hidden: frozenset[Cell]

    def value(self, i: int, j: int) -> int | None:
        """Return the count of a cell of the extended table, or None when it is hidden."""
        return None if (i, j) in self.hidden else self.values[(i, j)]

    def column(self, name: str) -> list[int | None]:
        """Return one country's cells, its total last, as the all-countries table hides them."""
        j = self.table.columns.index(name)
        return [self.value(i, j) for i in range(len(self.table.rows) + 1)]

    def row_totals(self) -> list[int | None]:
        """Return the row totals, the grand total last."""
        c = len(self.table.columns)
        return [self.value(i, c) for i in range(len(self.table.rows) + 1)]


def _nodes(cell: Cell) -> tuple[tuple[str, int], tuple[str, int]]:
    return ("r", cell[0]), ("c", cell[1])


def _connected(edges: set[Cell], start: tuple[str, int], goal: tuple[str, int]) -> bool:
    adjacency: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for edge in edges:
        a, b = _nodes(edge)
        adjacency.setdefault(a, []).append(b)
        adjacency.setdefault(b, []).append(a)
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for other in adjacency.get(node, ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return False


def _bridges(hidden: set[Cell]) -> set[Cell]:
    """Return the hidden cells that are on no cycle (Tarjan's bridges, iterative, linear time)."""
    adjacency: dict[tuple[str, int], list[tuple[tuple[str, int], Cell]]] = {}
    for cell in hidden:
        a, b = _nodes(cell)
        adjacency.setdefault(a, []).append((b, cell))
        adjacency.setdefault(b, []).append((a, cell))
    order: dict[tuple[str, int], int] = {}
    low: dict[tuple[str, int], int] = {}
    found: set[Cell] = set()
    for root in sorted(adjacency):
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack: list[tuple[tuple[str, int], Cell | None, int]] = [(root, None, 0)]
        while stack:
            node, via, position = stack[-1]
            if position < len(adjacency[node]):
                stack[-1] = (node, via, position + 1)
                other, cell = adjacency[node][position]
                if cell == via:
                    continue
                if other in order:
                    low[node] = min(low[node], order[other])
                else:
                    order[other] = low[other] = len(order)
                    stack.append((other, cell, 0))
                continue
            stack.pop()
            if stack and via is not None:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > order[parent]:
                    found.add(via)
    return found


def _pick(values: dict[Cell, int], hidden: set[Cell], line: list[Cell], margin_row: int) -> Cell:
    """Return the cell of `line` to hide next: published, non-zero, off the shared totals, smallest."""
    # A line with one hidden (non-zero) cell always has a non-zero published cell: its total, or one of
    # the cells that make up a hidden total. Zeros are the fallback only so that this cannot fail.
    candidates = [cell for cell in line if cell not in hidden and values[cell] > 0] or \
        [cell for cell in line if cell not in hidden]
    return min(candidates, key=lambda cell: (cell[0] == margin_row, values[cell], cell))


def _largest(values: dict[Cell, int], cells: list[Cell]) -> Cell:
    return max(cells, key=lambda cell: (values[cell], -cell[0], -cell[1]))


def _close_lines(values: dict[Cell, int], hidden: set[Cell], r: int, c: int) -> bool:
    """Hide a second cell in every row and column of the extended table that has exactly one."""
    changed = False
    lines = [[(i, j) for j in range(c + 1)] for i in range(r + 1)]
    lines += [[(i, j) for i in range(r + 1)] for j in range(c + 1)]
    for line in lines:
        if sum(cell in hidden for cell in line) == 1:
            hidden.add(_pick(values, hidden, line, r))
            changed = True
    return changed


def _close_bridges(values: dict[Cell, int], hidden: set[Cell], r: int, c: int) -> bool:
    """Put every hidden cell that is on no cycle onto the cycle through its row's and column's totals."""
    for cell in sorted(_bridges(hidden)):
        i, j = cell
        if i < r and j < c:
            cycle = {(i, c), (r, j), (r, c)}
        elif i < r:  # a row total: through the row's largest cell and that cell's column total
            k = _largest(values, [(i, jj) for jj in range(c)])[1]
            cycle = {(i, k), (r, k), (r, c)}
        elif j < c:  # a column total: through the column's largest cell and that cell's row total
            k = _largest(values, [(ii, j) for ii in range(r)])[0]
            cycle = {(k, j), (k, c), (r, c)}
        else:  # the grand total: through the largest cell and its two totals
            k, kk = _largest(values, [(ii, jj) for ii in range(r) for jj in range(c)])
            cycle = {(k, kk), (k, c), (r, kk)}
        hidden |= cycle
        return True
    return False


def _join_shared(values: dict[Cell, int], hidden: set[Cell], r: int, c: int) -> bool:
    """Join every hidden column total to the totals column through hidden cells off the totals row."""
    inner = {cell for cell in hidden if cell[0] < r}
    for j in range(c):
        if (r, j) in hidden and not _connected(inner, ("c", j), ("c", c)):
            k = _largest(values, [(i, j) for i in range(r)])[0]
            hidden |= {(k, j), (k, c)}
            return True
    return False


def suppress_linked(tables: Sequence[Table], min_cell: int) -> list[Published]:
    """Hide small counts and enough others in tables that share their column totals; see the module."""
    if min_cell < 3:
        raise ValueError("the smallest published count must be at least 3")
    extended = [table.extended() for table in tables]
    shapes = [(len(t.rows), len(t.columns)) for t in tables]
    totals = {tuple(v[(r, j)] for j in range(c + 1)) for v, (r, c) in zip(extended, shapes, strict=True)}
    if len({t.columns for t in tables}) > 1 or len(totals) > 1:
        raise ValueError("linked tables must have the same columns and column totals")
    hidden = [{cell for cell, value in v.items() if 0 < value < min_cell} for v in extended]
    changed = True
    while changed:
        changed = False
        shared = {j for h, (r, _) in zip(hidden, shapes, strict=True) for (i, j) in h if i == r}
        for h, (r, _) in zip(hidden, shapes, strict=True):
            missing = {(r, j) for j in shared} - h
            h |= missing
            changed |= bool(missing)
        for v, h, (r, c) in zip(extended, hidden, shapes, strict=True):
            changed |= _close_lines(v, h, r, c) or _close_bridges(v, h, r, c) or _join_shared(v, h, r, c)
    return [Published(t, v, frozenset(h)) for t, v, h in zip(tables, extended, hidden, strict=True)]


def suppress(table: Table, min_cell: int) -> Published:
    """Hide small counts and enough others in one table that shares nothing."""
    return suppress_linked([table], min_cell)[0]


def publishable(value: int, min_cell: int) -> bool:
    """Tell whether a single figure (a count behind a median or a share) is large enough to publish."""
    return value >= min_cell
