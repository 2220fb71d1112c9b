"""The linear rows of a declared problem, taken from cvxpy once, as dense arrays.

An exact backend solves ``minimize x' S x + c' x`` over the problem's weight variable x subject
to the rows the method and the constraint objects declared in cvxpy. This module asks cvxpy
for those rows (``get_problem_data`` of a problem holding only the rows, so cvxpy's own
canonicalization reads every user constraint) and returns

    E x = e,   G x <= h,   lower <= x <= upper,

with the Charnes-Cooper scale kappa eliminated (kappa = sum(x), the method's own row), or
set to 1 (``unit_scale``: rows over w = y / kappa, for ``l1_sharpe``), and every row touching
one entry turned into a bound. Rows without Parameters are read once per
problem; rows with Parameters (a benchmark, previous weights) are re-read at each solve
through cvxpy's DPP cache (0.45 ms at n = 500).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from cvxpy.constraints.nonpos import Inequality, NonPos
from cvxpy.constraints.zero import Equality, Zero

ROW_TOLERANCE = 1e-14  # coefficients below this (relative to the row's largest) are zero


@dataclass(frozen=True)
class LinearRows:
    """Dense rows over x (n,): equalities (me, n) @ x = (me,), inequalities (mi, n) @ x <=
    (mi,), and bounds (n,) (-inf / inf where there is none)."""

    equalities: np.ndarray
    equality_rhs: np.ndarray
    inequalities: np.ndarray
    inequality_rhs: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def nonlinear_row(rows: list[cp.Constraint]) -> cp.Constraint | None:
    """Return the first row that is not an affine equality or inequality, else None."""
    for row in rows:
        if not isinstance(row, (Equality, Inequality, Zero, NonPos)):
            return row
        if not row.expr.is_affine():
            return row
    return None


class RowReader:
    """Reads the rows of ``rows`` over ``variable`` (n,), with ``scale`` a Variable (kappa,
    eliminated as sum(variable)) or a constant."""

    def __init__(
        self,
        variable: cp.Variable,
        scale: cp.Expression | float,
        rows: list[cp.Constraint],
        unit_scale: bool = False,
    ) -> None:
        self.variable = variable
        self.kappa = scale if isinstance(scale, cp.Variable) else None
        #: read the rows at kappa = 1 (over w = y / kappa) instead of folding kappa = sum(x);
        #: ``read`` then raises ValueError for a row that is not homogeneous in kappa
        self.unit_scale = unit_scale and self.kappa is not None
        self.problem = cp.Problem(cp.Minimize(0), rows)
        #: ids of the Parameters the rows hold (their values must be set before ``read``)
        self.parameter_ids = {parameter.id for parameter in self.problem.parameters()}
        #: whether the rows read use kappa (its column folded into x; kappa >= 0 among them)
        self.kappa_in_rows = False
        self._cached: LinearRows | None = None
        if not rows:  # nothing to read: no rows, no bounds
            n = variable.size
            empty = np.zeros((0, n))
            none = np.zeros(0)
            self._cached = LinearRows(
                empty, none, empty, none, np.full(n, -np.inf), np.full(n, np.inf)
            )

    def read(self) -> LinearRows:
        """Return the rows at the Parameters' current values."""
        if self._cached is not None:
            return self._cached
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning)
            data, _, inverse = self.problem.get_problem_data(cp.OSQP)
        n = self.variable.size
        columns = self._columns(inverse, int(data["n_var"]))
        eq = _dense(data["A"])[:, columns]
        eq_rhs, G = np.asarray(data["b"], float), np.asarray(data["G"], float)
        if self.unit_scale and (np.any(eq_rhs != 0) or np.any(G != 0)):
            raise ValueError("a row is not homogeneous in the scale (ctx.scale)")
        # rows of one weight are bounds: taken from the sparse matrix, the rest densified
        # (densifying and scanning 2n bound rows cost 150 ms a read at n = 2000)
        bounds, ineq, ineq_rhs = _sparse_bounds(data["F"], G, columns, n)
        self.kappa_in_rows = len(columns) > n
        if self.unit_scale:  # homogeneous rows (checked above)
            if self.kappa_in_rows:  # kappa = 1: its column moves to the right-hand side
                eq_rhs, ineq_rhs = -eq[:, n:].sum(axis=1), -ineq[:, n:].sum(axis=1)
        elif self.kappa_in_rows:  # kappa = sum(x): fold its column into every entry
            eq = eq[:, :n] + eq[:, n:]
            ineq = ineq[:, :n] + ineq[:, n:]
        rows = _split_bounds(eq[:, :n], eq_rhs, ineq[:, :n], ineq_rhs, bounds)
        if not self.parameter_ids:  # rows without Parameters never change: read once
            self._cached = rows
        return rows

    def _columns(self, inverse: list, n_var: int) -> np.ndarray:
        """Column order putting x first, then kappa (if any); ValueError if cvxpy added
        auxiliary variables (the rows were not plain linear rows over x)."""
        n = self.variable.size
        expected = n + (1 if self.kappa is not None else 0)
        if self.kappa is not None and n_var == n:
            expected = n  # no row uses kappa (long-only maximum Sharpe): nothing to fold
        if n_var != expected:
            raise ValueError(f"the rows use {n_var - expected} auxiliary variables")
        offsets = [d.var_offsets for d in inverse if hasattr(d, "var_offsets")][-1]
        start = offsets[self.variable.id]
        x_columns = np.arange(start, start + n)
        if self.kappa is None or n_var == n:
            return x_columns
        rest = np.setdiff1d(np.arange(n_var), x_columns)
        return np.r_[x_columns, rest]


def _dense(matrix) -> np.ndarray:
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix, dtype=float)


def _sparse_bounds(
    F, rhs: np.ndarray, columns: np.ndarray, n: int
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """((lower, upper) (n,) from the rows F x <= rhs holding one nonzero on a weight, the other
    rows dense (m, len(columns)), their rhs), F (m, n_var) sparse or dense."""
    lower, upper = np.full(n, -np.inf), np.full(n, np.inf)
    if not hasattr(F, "tocsr"):
        return (lower, upper), np.asarray(F, dtype=float)[:, columns], rhs
    F = F.tocsr()[:, columns]
    F.sort_indices()
    counts = np.diff(F.indptr)
    starts = np.minimum(F.indptr[:-1], max(len(F.indices) - 1, 0))
    column = F.indices[starts] if len(F.indices) else np.zeros(len(counts), int)
    value = F.data[starts] if len(F.data) else np.zeros(len(counts))
    single = (counts == 1) & (column < n) & (value != 0)
    j, a, b = column[single], value[single], rhs[single]
    up = a > 0
    np.minimum.at(upper, j[up], b[up] / a[up])
    np.maximum.at(lower, j[~up], b[~up] / a[~up])
    return (lower, upper), F[~single].toarray(), rhs[~single]


def _split_bounds(
    eq: np.ndarray,
    eq_rhs: np.ndarray,
    ineq: np.ndarray,
    ineq_rhs: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> LinearRows:
    """Turn inequality rows with one nonzero into bounds (tightening ``bounds``, given or none);
    drop empty rows that hold and rows the bounds imply (a group's lower limit 0 beside
    long-only bounds): such a row is dependent on the bounds where it binds, which the exact
    kernels cannot factor."""
    n = eq.shape[1]
    lower, upper = (np.full(n, -np.inf), np.full(n, np.inf)) if bounds is None else bounds
    scale = np.max(np.abs(ineq), axis=1, initial=0.0) if len(ineq) else np.zeros(0)
    nonzero = np.abs(ineq) > ROW_TOLERANCE * scale[:, None]
    counts = nonzero.sum(axis=1)
    single = np.flatnonzero(counts == 1)
    j = np.argmax(nonzero[single], axis=1)  # each single row's entry (vectorized: a Python
    a, b = ineq[single, j], ineq_rhs[single]  # loop over 2n bound rows cost 45 ms at n = 1000)
    up = a > 0
    np.minimum.at(upper, j[up], b[up] / a[up])
    np.maximum.at(lower, j[~up], b[~up] / a[~up])
    keep = (counts > 1) & ~_implied_by_bounds(ineq, ineq_rhs, lower, upper)
    empty = counts == 0
    if np.any(ineq_rhs[empty] < 0):  # 0 <= negative: cannot hold; the cvxpy solve names it
        raise ValueError("a row reads 0 <= a negative number")
    eq_scale = np.max(np.abs(eq), axis=1, initial=0.0) if len(eq) else np.zeros(0)
    eq_keep = eq_scale > 0
    if np.any(np.abs(eq_rhs[~eq_keep]) > 0):
        raise ValueError("an equality row reads 0 == a nonzero number")
    return LinearRows(eq[eq_keep], eq_rhs[eq_keep], ineq[keep], ineq_rhs[keep], lower, upper)


def _implied_by_bounds(
    ineq: np.ndarray, ineq_rhs: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """(mi,) True where the row's largest value over the bounds' box is at most its rhs."""
    if not len(ineq):
        return np.zeros(0, bool)
    with np.errstate(invalid="ignore"):  # 0 * inf: an absent coefficient adds nothing
        ends = np.where(ineq > 0, ineq * upper, np.where(ineq < 0, ineq * lower, 0.0))
    return ends.sum(axis=1) <= ineq_rhs
