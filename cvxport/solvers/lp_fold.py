"""Rows of one entry folded into column bounds before HiGHS sees the LP, and their duals back.

cvxpy hands the weight bounds to HiGHS as rows (``w >= 0``, ``w <= 0.1``: 3,000 singleton rows
at n = 1,000 with ``WeightBounds`` and long-only). Without presolve (a warm start skips it)
every free weight then stays basic and the basis carries the dense T x n block: on CDaR at
n = 1,000, T = 1,000, warm re-solves of 443-1,956 iterations took 1.1-3.1 s folded against
1.9-10.5 s as rows (the same iterations within 20%). The folded LP has the same optimum; the
duals of a folded row are the reduced cost of its column when its bound is the one holding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Fold:
    """Which rows of the canonical LP were folded, and into which bounds.

    Attributes:
        rows: (m,) number of rows of the canonical LP.
        kept: indices of the rows left in the folded LP, ascending.
        lower_row, upper_row: (columns,) the folded row giving a column's lower / upper
            bound, -1 where the column keeps its own.
        coefficients: (rows,) the single coefficient of each folded row (0 elsewhere).
    """

    rows: int
    kept: np.ndarray
    lower_row: np.ndarray
    upper_row: np.ndarray
    coefficients: np.ndarray


def fold_rows(
    matrix: Any,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
) -> tuple[Fold, np.ndarray, np.ndarray]:
    """Fold the rows ``a x_j <= b`` (one entry, no lower side) of the CSR ``matrix`` into
    bounds; return (fold, new col_lower, new col_upper)."""
    counts = np.diff(matrix.indptr)
    single = np.flatnonzero((counts == 1) & ~np.isfinite(row_lower))
    columns = matrix.indices[matrix.indptr[single]]
    values = matrix.data[matrix.indptr[single]]
    single, columns, values = single[values != 0], columns[values != 0], values[values != 0]
    bounds = row_upper[single] / values
    lower, upper = col_lower.copy(), col_upper.copy()
    lower_row = np.full(len(lower), -1)
    upper_row = np.full(len(upper), -1)
    for row, column, bound, value in zip(single, columns, bounds, values, strict=True):
        if value > 0 and bound < upper[column]:
            upper[column], upper_row[column] = bound, row
        elif value < 0 and bound > lower[column]:
            lower[column], lower_row[column] = bound, row
    kept = np.setdiff1d(np.arange(len(row_lower)), single)
    coefficients = np.zeros(len(row_lower))
    coefficients[single] = values
    return Fold(len(row_lower), kept, lower_row, upper_row, coefficients), lower, upper


def unfold_duals(fold: Fold, row_dual: np.ndarray, col_dual: np.ndarray) -> np.ndarray:
    """(rows,) row duals of the canonical LP (HiGHS's signs: col_dual = c - A' row_dual): a
    folded row takes its column's reduced cost over its coefficient where its bound holds
    (reduced cost > 0 at a lower bound, < 0 at an upper one); the others are 0."""
    full = np.zeros(fold.rows)
    full[fold.kept] = row_dual
    for rows, sign in ((fold.lower_row, 1.0), (fold.upper_row, -1.0)):
        columns = np.flatnonzero((rows >= 0) & (sign * col_dual > 0))
        full[rows[columns]] = col_dual[columns] / fold.coefficients[rows[columns]]
    return full


def unfold_ray(fold: Fold, ray: np.ndarray) -> np.ndarray:
    """A dual ray of the folded LP over the canonical rows (0 on the folded ones)."""
    full = np.zeros(fold.rows)
    full[fold.kept] = ray
    return full


def kept_offsets(fold: Fold, offsets: tuple[int, ...], periods: int) -> tuple[int, ...]:
    """The folded LP's offsets of the row blocks at ``offsets`` (``periods`` rows each), for
    the blocks whose rows were all kept."""
    out = []
    for start in offsets:
        position = int(np.searchsorted(fold.kept, start))
        block = fold.kept[position : position + periods]
        if len(block) == periods and block[0] == start and block[-1] == start + periods - 1:
            out.append(position)
    return tuple(out)
