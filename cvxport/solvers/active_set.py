"""Exact solves of two QPs with one equality row and per-asset bounds, by active sets.

    minimize 0.5 x' S x   subject to   row' x = 1,   lower <= x <= upper

with row = 1 is minimum variance under per-asset bounds (the QP ``MinimumVarianceAllocator``
declares in cvxpy when every constraint object is a ``LongOnly`` or ``WeightBounds``), and with
row = the excess means, lower = 0, it is the long-only Charnes-Cooper QP of maximum Sharpe.
With a guess of the entries held at a bound, the KKT system on the free ones is solved exactly
(Cholesky of an (n, n) array, Woodbury for a factor model: see ``covariance_operator``):

    S_FF x_F = nu row_F - S_FB x_B,   row_F' x_F = 1 - row_B' x_B,

and the guess is corrected from the primal and dual signs (Hintermueller, Ito & Kunisch 2003,
block updates) until they all hold; if a guess repeats, the classical primal active-set method
(Nocedal & Wright, Algorithm 16.3), slower but monotone, finishes from a feasible point. The answer
satisfies the KKT conditions to rounding, so it is the optimum of the strictly convex QP; a
backtest passes the previous rebalance's active sets, which usually hold again (one or two
iterations). Anything this method cannot settle (a singular S_FF, no free weight, no
convergence) raises ``ActiveSetError`` and the allocator solves the cvxpy problem instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvxport.solvers.covariance_operator import (
    CONDITION_FLOOR,  # noqa: F401  (re-exported)
    CovarianceOperator,
    SingularBlockError,
    as_operator,
)

PRIMAL_TOLERANCE = 1e-12  # weight units (fractions of NAV): a bound counts as held within it
DUAL_TOLERANCE = 1e-11  # multipliers, relative to |nu| (the portfolio variance)
BLOCK_ITERATIONS = 20  # block updates tried before the primal method
MAX_ITERATIONS = 500


class ActiveSetError(RuntimeError):
    """The active-set method could not settle this problem (the cvxpy problem is solved)."""


@dataclass(frozen=True)
class ActiveSetSolution:
    """An exact KKT point of the QP (see the module).

    Attributes:
        weights: (n,) optimal weights, summing to 1.
        at_lower, at_upper: (n,) booleans, the entries held at their bounds.
        variance: x' S x, the QP's objective, in the units of S.
        iterations: linear systems solved.
        kkt_residual: largest violation of a primal bound (weight units) or of a multiplier's
            sign (relative to |nu|); below the tolerances by construction.
    """

    weights: np.ndarray
    at_lower: np.ndarray
    at_upper: np.ndarray
    variance: float
    iterations: int
    kkt_residual: float


def bounded_min_variance(
    covariance: Any,
    lower: np.ndarray,
    upper: np.ndarray,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> ActiveSetSolution:
    """Minimize w' S w subject to sum(w) = 1 and lower <= w <= upper, exactly.

    Args:
        covariance: symmetric positive definite S (any scale; unit-scaled is best): an (n, n)
            array, a FactorModel (solved in factor form) or a ``CovarianceOperator``.
        lower, upper: (n,) bounds, fractions of NAV (-inf / inf where there is none).
        start: (at_lower, at_upper) guess, e.g. the previous solution's active sets.

    Raises:
        ActiveSetError: infeasible bounds, a singular free block, or no convergence.
    """
    op = as_operator(covariance)
    crossed = np.flatnonzero(lower > upper)
    if len(crossed):  # two bound objects in conflict: cvxpy's diagnosis names them
        raise ActiveSetError(f"lower bound above upper bound for asset {int(crossed[0])}")
    if lower.sum() > 1 - PRIMAL_TOLERANCE or upper.sum() < 1 + PRIMAL_TOLERANCE:
        # no room (or none to rounding) around the budget: the cvxpy problem decides
        raise ActiveSetError("the bounds do not admit weights summing to 1 with room to spare")
    row = np.ones(op.n)
    return _active_set(op, row, lower, upper, start, lambda: _feasible_point(lower, upper))


def long_only_max_sharpe(
    covariance: Any,
    excess_mean: np.ndarray,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> ActiveSetSolution:
    """Maximum Sharpe ratio, long only, exactly: the Charnes-Cooper QP

        minimize y' S y   subject to   excess_mean' y = 1,   y >= 0,

    whose solution normalized, y / sum(y), is the tangency portfolio. The returned
    ``weights`` are y / sum(y); ``variance`` is y' S y (the QP's objective).

    Args:
        covariance: symmetric positive definite S: an (n, n) array, a FactorModel or an operator.
        excess_mean: (n,) expected returns minus the risk-free rate, some of them > 0.
        start: (at_lower, at_upper) guess (at_upper is ignored: there is no upper bound).

    Raises:
        ActiveSetError: no positive excess mean, a singular free block, or no convergence.
    """
    op = as_operator(covariance)
    if not np.max(excess_mean) > 0:
        raise ActiveSetError("no asset has a positive excess mean")
    n = op.n

    def best_asset_alone() -> np.ndarray:  # meets excess_mean' y = 1 with y >= 0
        best = int(np.argmax(excess_mean))
        y = np.zeros(n)
        y[best] = 1.0 / excess_mean[best]
        return y

    lower, upper = np.zeros(n), np.full(n, np.inf)
    solution = _active_set(op, excess_mean, lower, upper, start, best_asset_alone)
    y = solution.weights
    return ActiveSetSolution(
        y / y.sum(),
        solution.at_lower,
        solution.at_upper,
        solution.variance,
        solution.iterations,
        solution.kkt_residual,
    )


def _active_set(
    op: CovarianceOperator,
    row: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    start: tuple[np.ndarray, np.ndarray] | None,
    feasible_point: Callable[[], np.ndarray],
) -> ActiveSetSolution:
    """Minimize x' S x subject to row' x = 1 and lower <= x <= upper (see the module);
    ``feasible_point()`` starts the primal method when block updates cycle."""
    n = op.n
    at_lower = np.zeros(n, dtype=bool) if start is None else start[0] & np.isfinite(lower)
    at_upper = np.zeros(n, dtype=bool) if start is None else start[1] & ~at_lower
    at_upper &= np.isfinite(upper)
    seen: set[bytes] = set()
    iterations = 0
    # block updates from the guess (fast), as long as no guess repeats
    while iterations < BLOCK_ITERATIONS and not (at_lower | at_upper).all():
        weights, nu = _solve_free(op, row, lower, upper, at_lower, at_upper)
        iterations += 1
        residual = op.matvec(weights) - nu * row  # multiplier at a lower bound, -one at upper
        free = ~(at_lower | at_upper)
        below = free & (weights < lower - PRIMAL_TOLERANCE)
        above = free & (weights > upper + PRIMAL_TOLERANCE)
        release = _released(residual, nu, at_lower, at_upper)
        if not (below.any() or above.any() or release.any()):
            return _solution(
                op, weights, residual, nu, (lower, upper), (at_lower, at_upper), iterations
            )
        state = np.packbits(np.r_[at_lower, at_upper]).tobytes()
        if state in seen:
            break
        seen.add(state)
        at_lower = (at_lower & ~release) | below
        at_upper = (at_upper & ~release) | above
    return _primal_active_set(op, row, lower, upper, feasible_point(), iterations)


def _primal_active_set(
    op: CovarianceOperator,
    row: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    weights: np.ndarray,
    iterations: int,
) -> ActiveSetSolution:
    """The classical primal active-set method (Nocedal & Wright, Algorithm 16.3) from the
    feasible point ``weights``: every step stays feasible and lowers the objective, so it
    settles where block updates cycle."""
    at_lower = weights <= lower
    at_upper = (weights >= upper) & ~at_lower
    if (at_lower | at_upper).all():  # the sum row needs a free weight
        at_lower[0] = at_upper[0] = False
    while iterations < MAX_ITERATIONS:
        target, nu = _solve_free(op, row, lower, upper, at_lower, at_upper)
        iterations += 1
        step = target - weights
        if np.max(np.abs(step)) <= PRIMAL_TOLERANCE:
            residual = op.matvec(target) - nu * row
            release = _released(residual, nu, at_lower, at_upper)
            if not release.any():
                return _solution(
                    op,
                    target,
                    residual,
                    nu,
                    (lower, upper),
                    (at_lower, at_upper),
                    iterations,
                )
            worst = np.where(at_lower, -residual, np.where(at_upper, residual, -np.inf))
            j = int(np.argmax(worst))
            at_lower[j] = at_upper[j] = False
            weights = target
            continue
        free = ~(at_lower | at_upper)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(step < 0, (lower - weights) / step, (upper - weights) / step)
        ratio = np.where(free & (step != 0), ratio, np.inf)
        j = int(np.argmin(ratio))
        if ratio[j] >= 1.0:
            weights = target
            continue
        weights = weights + max(ratio[j], 0.0) * step
        if step[j] < 0:
            weights[j], at_lower[j] = lower[j], True
        else:
            weights[j], at_upper[j] = upper[j], True
    raise ActiveSetError(f"no convergence in {MAX_ITERATIONS} active-set iterations")


def _feasible_point(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Weights clip(tau, lower, upper) summing to 1 (water filling: tau by bisection)."""

    def total(tau: float) -> float:
        return float(np.clip(tau, lower, upper).sum())

    low, high = -1.0, 1.0
    for _ in range(64):  # the bounds leave room around 1 (checked by the caller)
        if total(low) <= 1.0 <= total(high):
            break
        low, high = 2.0 * low, 2.0 * high
    else:
        raise ActiveSetError("no feasible starting point found")
    for _ in range(200):
        middle = 0.5 * (low + high)
        if total(middle) < 1.0:
            low = middle
        else:
            high = middle
    weights = np.clip(high, lower, upper)
    inside = (weights > lower) & (weights < upper)
    if inside.any():  # spread the rounding left by the bisection over the interior weights
        weights[inside] += (1.0 - weights.sum()) / inside.sum()
    return weights


def _released(
    residual: np.ndarray, nu: float, at_lower: np.ndarray, at_upper: np.ndarray
) -> np.ndarray:
    """Bound weights whose multiplier has the wrong sign (beyond the tolerance)."""
    tolerance = DUAL_TOLERANCE * abs(nu)
    return (at_lower & (residual < -tolerance)) | (at_upper & (residual > tolerance))


def _solution(
    op: CovarianceOperator,
    weights: np.ndarray,
    residual: np.ndarray,
    nu: float,
    bounds: tuple[np.ndarray, np.ndarray],
    sets: tuple[np.ndarray, np.ndarray],
    iterations: int,
) -> ActiveSetSolution:
    """The ActiveSetSolution of a KKT point (``residual`` = S x - nu row), with its largest
    residual."""
    (lower, upper), (at_lower, at_upper) = bounds, sets
    free = ~(at_lower | at_upper)
    signed = residual / max(abs(nu), 1e-300)  # the multipliers, relative
    worst = max(
        float(np.max(np.where(free, np.maximum(lower - weights, weights - upper), 0.0))),
        float(np.max(np.where(at_lower, -signed, np.where(at_upper, signed, 0.0)))),
        0.0,
    )
    return ActiveSetSolution(weights, at_lower, at_upper, op.variance(weights), iterations, worst)


def _solve_free(
    op: CovarianceOperator,
    row: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    at_lower: np.ndarray,
    at_upper: np.ndarray,
) -> tuple[np.ndarray, float]:
    """x (n,) with the bound sets held and the free block's KKT system solved
    (S_FF x_F = nu row_F - S_FB x_B, row' x = 1); nu."""
    weights = np.where(at_lower, lower, np.where(at_upper, upper, 0.0))
    free = ~(at_lower | at_upper)
    if not free.any():
        raise ActiveSetError("every weight is held at a bound")
    fixed = ~free
    coupling = op.coupling(free, weights)
    row_free = row[free]
    try:
        solved = op.free_solve(free, np.column_stack([row_free, coupling]))
    except SingularBlockError as exc:
        raise ActiveSetError(str(exc)) from exc
    row_part, coupling_part = solved[:, 0], solved[:, 1]
    curvature = float(row_free @ row_part)  # row_F' S_FF^-1 row_F > 0 unless row_F = 0
    if not curvature > 0:
        raise ActiveSetError("the free weights cannot meet the equality row")
    nu = (1.0 - row[fixed] @ weights[fixed] + row_free @ coupling_part) / curvature
    weights[free] = nu * row_part - coupling_part
    return weights, float(nu)
