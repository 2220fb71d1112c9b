"""A simplex basis carried from one rolling window to the next.

A scenario LP (CVaR, CDaR, any term over ``ctx.returns``) has rows and auxiliary variables
indexed by the window's T scenarios. When the next window is the last one shifted by s rows
(a rolling backtest), scenario t of the new window is scenario t + s of the old one, so the
old basis, shifted the same way, is nearly optimal: on CDaR at n = 500, T = 1,000 (windows
5 rows apart) HiGHS's dual simplex took 181 iterations from it against 3,033 cold (and 2,584
from the unshifted basis).

Which blocks follow the scenarios is read from cvxpy's canonical problem: a block of columns
(one cvxpy variable) or of rows (one canonical constraint) of exactly T entries, other than
the weights, whose rows touch a scenario variable or a Parameter with T rows. A block taken
wrongly only costs iterations: any basis gives the same optimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ScenarioLayout:
    """Offsets of the column and row blocks of T entries that follow the scenarios."""

    periods: int
    columns: tuple[int, ...]
    rows: tuple[int, ...]


def scenario_layout(inverse: list, weights_id: int, periods: int) -> ScenarioLayout:
    """Read the scenario blocks from the inverse data of ``get_problem_data(cp.HIGHS)``."""
    stuffing = [d for d in inverse if hasattr(d, "var_offsets")][-1]
    scenario_vars = {
        var_id
        for var_id, shape in stuffing.var_shapes.items()
        if var_id != weights_id and int(np.prod(shape)) == periods
    }
    columns = tuple(sorted(stuffing.var_offsets[v] for v in scenario_vars))
    solver_data = [d for d in inverse if hasattr(d, "solver_instance")][-1].inverse_data
    constraints = [*solver_data["eq_constr"], *solver_data["other_constr"]]
    rows, offset = [], 0
    for constraint in constraints:
        if constraint.size == periods and _follows_scenarios(constraint, scenario_vars, periods):
            rows.append(offset)
        offset += constraint.size
    return ScenarioLayout(periods, columns, tuple(rows))


def _follows_scenarios(constraint, scenario_vars: set[int], periods: int) -> bool:
    if any(v.id in scenario_vars for v in constraint.variables()):
        return True
    return any(p.ndim >= 1 and p.shape[0] == periods for p in constraint.parameters())


def window_shift(old: np.ndarray | None, new: np.ndarray) -> int | None:
    """Rows s with ``new[:T - s] == old[s:]`` (the smallest; 0 when equal), None if none."""
    if old is None or old.shape != new.shape:
        return None
    if np.array_equal(old, new):
        return 0
    first = new[0].reshape(1, -1)
    flat_old = old.reshape(len(old), -1)
    for s in np.flatnonzero(np.all(flat_old == first, axis=1)):
        if s > 0 and np.array_equal(new[: len(new) - s], old[s:]):
            return int(s)
    return None


def shift_statuses(
    statuses: np.ndarray, offsets: tuple[int, ...], periods: int, shift: int, fill: np.ndarray
) -> np.ndarray:
    """Move each block of ``periods`` entries at ``offsets`` ``shift`` places towards its
    start (scenario t takes the status of old scenario t + shift); the last ``shift``
    entries of a block take ``fill`` at their positions."""
    out = statuses.copy()
    for start in offsets:
        stop = start + periods
        out[start : stop - shift] = statuses[start + shift : stop]
        out[stop - shift : stop] = fill[stop - shift : stop]
    return out


def balance(
    columns: np.ndarray,
    rows: np.ndarray,
    basic: int,
    column_free: np.ndarray,
    row_free: np.ndarray,
    column_nonbasic: np.ndarray,
    row_nonbasic: np.ndarray,
) -> bool:
    """Make the basis hold exactly one basic entry per row (in place): demote basic rows that
    may be nonbasic (``row_free``) or promote nonbasic columns (``column_free``) until the
    count is right. Returns False when it cannot."""
    excess = int(np.sum(columns == basic) + np.sum(rows == basic)) - len(rows)
    if excess > 0:
        candidates = np.flatnonzero(row_free & (rows == basic))[::-1][:excess]
        rows[candidates] = row_nonbasic[candidates]
        excess -= len(candidates)
    elif excess < 0:
        candidates = np.flatnonzero(column_free & (columns != basic))[::-1][:-excess]
        columns[candidates] = basic
        excess += len(candidates)
    return excess == 0


def start_basis(
    highspy, state: dict, lp: Any, scenarios: np.ndarray | None, layout: ScenarioLayout
):
    """The last optimal basis of ``state`` (``"basis"``: (HighsBasis, LP shape), and the
    ``"scenarios"`` it was found for) for the LP ``lp`` whose scenario blocks are ``layout``:
    as it was for the same window, shifted with the scenarios when the window rolled by s
    rows; None (a cold start) otherwise: from the unshifted basis of a rolled window HiGHS
    took 4,029 iterations against 3,605 cold (CDaR, n = 500). ``lp`` gives the bounds
    (``col_lower``, ``col_upper``, ``row_lower``) and ``shape``."""
    if "basis" not in state:
        return None
    old, shape = state["basis"]
    if shape != lp.shape or scenarios is None:
        return None
    shift = window_shift(state.get("scenarios"), scenarios)
    if shift == 0:
        return old
    if shift is None or not (layout.columns or layout.rows):
        return None
    status = highspy.HighsBasisStatus
    codes = {int(member): member for member in _members(status)}
    col = np.fromiter((int(v) for v in old.col_status), dtype=int)
    row = np.fromiter((int(v) for v in old.row_status), dtype=int)
    lower, basic, upper, zero = (
        int(status.kLower),
        int(status.kBasic),
        int(status.kUpper),
        int(status.kZero),
    )
    finite_lower, finite_upper = np.isfinite(lp.col_lower), np.isfinite(lp.col_upper)
    col_fill = np.where(finite_lower, lower, np.where(finite_upper, upper, zero))
    row_fill = np.where(np.isfinite(lp.row_lower), lower, upper)
    periods = layout.periods
    new_col = shift_statuses(col, layout.columns, periods, shift, col_fill)
    new_row = shift_statuses(row, layout.rows, periods, shift, np.full(len(row), basic))
    new_columns = _fresh(len(col), layout.columns, periods, shift)
    new_rows = _fresh(len(row), layout.rows, periods, shift)
    if not balance(new_col, new_row, basic, new_columns, new_rows, col_fill, row_fill):
        return None
    basis = highspy.HighsBasis()
    basis.col_status = [codes[v] for v in new_col.tolist()]
    basis.row_status = [codes[v] for v in new_row.tolist()]
    basis.valid = True
    # not alien: HiGHS takes it as a basis of this LP (its factorization repairs a singular
    # one) instead of checking it first (60-80 ms at n = 500); a start that misleads ends
    # non-optimal and is retried cold
    if hasattr(basis, "alien"):  # highspy 1.16; older bindings check the basis anyway
        basis.alien = False
    return basis


def _members(status) -> list:
    return [status.kLower, status.kBasic, status.kUpper, status.kZero, status.kNonbasic]


def _fresh(size: int, offsets: tuple[int, ...], periods: int, shift: int) -> np.ndarray:
    """Mask of the entries the shift filled (the new scenarios at each block's end)."""
    mask = np.zeros(size, dtype=bool)
    for start in offsets:
        mask[start + periods - shift : start + periods] = True
    return mask
