"""The attacker: every published cell and total of a period as linear equations, solved exactly.

Each table of the extended form says that every row and every column adds up to its total; linked
tables share one variable per column total and one grand total. The published values are known,
the hidden ones unknown. Reduced row echelon form over exact fractions tells which unknowns the
equations pin down: a pivot variable whose row has no other unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from reporter.stats.suppression import Published


def _variable(index: int, published: Published, cell: tuple[int, int], linked: bool) -> tuple:
    r = len(published.table.rows)
    if linked and cell[0] == r:
        return ("shared", cell[1])
    return (index, cell)


def recovered(tables: Sequence[Published], *, linked: bool = True) -> dict[tuple, int]:
    """Return every hidden variable the published equations determine, with its value."""
    equations: list[tuple[dict[tuple, int], int]] = []
    for index, published in enumerate(tables):
        r, c = len(published.table.rows), len(published.table.columns)
        lines = [[(i, j) for j in range(c)] + [(i, c)] for i in range(r + 1)]
        lines += [[(i, j) for i in range(r)] + [(r, j)] for j in range(c + 1)]
        for line in lines:
            coefficients: dict[tuple, int] = {}
            constant = 0
            for position, cell in enumerate(line):
                sign = -1 if position == len(line) - 1 else 1
                value = published.value(*cell)
                if value is None:
                    key = _variable(index, published, cell, linked)
                    coefficients[key] = coefficients.get(key, 0) + sign
                else:
                    constant -= sign * value
            equations.append((coefficients, constant))
    unknowns = sorted({key for coefficients, _ in equations for key in coefficients}, key=repr)
    column = {key: n for n, key in enumerate(unknowns)}
    matrix = [[Fraction(0)] * len(unknowns) + [Fraction(b)] for _, b in equations]
    for row, (coefficients, _) in zip(matrix, equations, strict=True):
        for key, a in coefficients.items():
            row[column[key]] += a
    pivots: list[tuple[int, int]] = []
    top = 0
    for col in range(len(unknowns)):
        found = next((k for k in range(top, len(matrix)) if matrix[k][col] != 0), None)
        if found is None:
            continue
        matrix[top], matrix[found] = matrix[found], matrix[top]
        pivot = matrix[top][col]
        matrix[top] = [x / pivot for x in matrix[top]]
        for k in range(len(matrix)):
            if k != top and matrix[k][col] != 0:
                factor = matrix[k][col]
                matrix[k] = [x - factor * y for x, y in zip(matrix[k], matrix[top], strict=True)]
        pivots.append((top, col))
        top += 1
    found_values: dict[tuple, int] = {}
    for row_index, col in pivots:
        row = matrix[row_index]
        if all(row[k] == 0 for k in range(len(unknowns)) if k != col):
            found_values[unknowns[col]] = int(row[-1])
    return found_values
