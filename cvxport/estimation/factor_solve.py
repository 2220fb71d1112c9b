"""Exact solves over a covariance operator: dense (Cholesky) or factor form (Woodbury).

The same algorithms as ``cvxport.solvers.active_set`` (block active-set updates, then the
primal active-set method where they cycle) and the risk budget's damped Newton method, written
over ``CovarianceOperator`` so that a ``FactorModel`` is solved in O(n k^2) per iteration and
O(n k) memory: the n x n covariance is never formed. Each function takes an (n, n) array, a
``FactorModel`` or an operator; on an array the active-set answers equal the dense module's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cvxport.errors import SolverError
from cvxport.estimation.covariance_operator import (
    CovarianceOperator,
    SingularBlockError,
    as_operator,
)
from cvxport.estimation.factor import FactorModel
from cvxport.solvers.active_set import (
    BLOCK_ITERATIONS,
    MAX_ITERATIONS,
    PRIMAL_TOLERANCE,
    ActiveSetError,
    ActiveSetSolution,
    _feasible_point,
    _released,
)

Covariance = np.ndarray | FactorModel | CovarianceOperator
NEWTON_TOLERANCE = 1e-14  # on the Newton decrement lambda^2 / 2 (as the dense risk budget)
NEWTON_MAX_ITER = 200


def bounded_min_variance(
    covariance: Covariance,
    lower: np.ndarray,
    upper: np.ndarray,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> ActiveSetSolution:
    """Minimize w' S w subject to sum(w) = 1 and lower <= w <= upper, exactly.

    Args:
        covariance: S as an (n, n) array, a FactorModel (solved in factor form) or an operator;
            any scale (unit-scaled is best).
        lower, upper: (n,) bounds, fractions of NAV (-inf / inf where there is none).
        start: (at_lower, at_upper) guess, e.g. the previous solution's active sets.

    Raises:
        ActiveSetError: infeasible bounds, a singular free block, or no convergence.
    """
    op = as_operator(covariance)
    crossed = np.flatnonzero(lower > upper)
    if len(crossed):
        raise ActiveSetError(f"lower bound above upper bound for asset {int(crossed[0])}")
    if lower.sum() > 1 - PRIMAL_TOLERANCE or upper.sum() < 1 + PRIMAL_TOLERANCE:
        raise ActiveSetError("the bounds do not admit weights summing to 1 with room to spare")
    row = np.ones(op.n)
    return _active_set(op, row, lower, upper, start, lambda: _feasible_point(lower, upper))


def long_only_max_sharpe(
    covariance: Covariance,
    excess_mean: np.ndarray,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> ActiveSetSolution:
    """Maximum Sharpe ratio, long only, exactly: the Charnes-Cooper QP min y' S y subject to
    excess_mean' y = 1, y >= 0; ``weights`` = y / sum(y), ``variance`` = y' S y.

    Args:
        covariance: S as an (n, n) array, a FactorModel or an operator.
        excess_mean: (n,) expected returns minus the risk-free rate, per period, some > 0.
        start: (at_lower, at_upper) guess (at_upper is ignored: there is no upper bound).

    Raises:
        ActiveSetError: no positive excess mean, a singular free block, or no convergence.
    """
    op = as_operator(covariance)
    if not np.max(excess_mean) > 0:
        raise ActiveSetError("no asset has a positive excess mean")
    n = op.n

    def best_asset_alone() -> np.ndarray:
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


def newton_risk_budget(covariance: Covariance, budget: np.ndarray) -> tuple[np.ndarray, int]:
    """Minimize 0.5 y'Sy - b'log(y) by damped Newton; return (weights (n,), iterations).

    Each step solves (S + diag(b / y^2)) s = -g: by Woodbury in factor form, O(n k^2).

    Args:
        covariance: S (O(1) scale, unit-scaled) as an array, a FactorModel or an operator.
        budget: (n,) positive budgets summing to 1.

    Raises:
        SolverError: no convergence within NEWTON_MAX_ITER iterations.
    """
    op = as_operator(covariance)
    y = budget / np.sqrt(op.diagonal())
    y /= np.sqrt(op.variance(y))

    def objective(v: np.ndarray) -> float:
        return 0.5 * op.variance(v) - budget @ np.log(v)

    for iteration in range(1, NEWTON_MAX_ITER + 1):
        gradient = op.matvec(y) - budget / y
        step = op.shifted_solve(budget / y**2, -gradient)
        decrement = -gradient @ step
        if decrement / 2 <= NEWTON_TOLERANCE:
            return y / y.sum(), iteration
        t = 1.0
        negative = step < 0
        if negative.any():
            t = min(1.0, 0.99 * float(np.min(-y[negative] / step[negative])))
        current = objective(y)
        while objective(y + t * step) > current - 0.25 * t * decrement and t > 1e-12:
            t *= 0.5
        y = y + t * step
    raise SolverError("Newton's method for the risk budget did not converge", solver="NEWTON")


def _active_set(
    op: CovarianceOperator,
    row: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    start: tuple[np.ndarray, np.ndarray] | None,
    feasible_point: Callable[[], np.ndarray],
) -> ActiveSetSolution:
    """Minimize x' S x subject to row' x = 1 and lower <= x <= upper: block updates from the
    guess while no guess repeats, then the primal method from ``feasible_point()``."""
    n = op.n
    at_lower = np.zeros(n, dtype=bool) if start is None else start[0] & np.isfinite(lower)
    at_upper = np.zeros(n, dtype=bool) if start is None else start[1] & ~at_lower
    at_upper &= np.isfinite(upper)
    seen: set[bytes] = set()
    iterations = 0
    while iterations < BLOCK_ITERATIONS and not (at_lower | at_upper).all():
        weights, nu = _solve_free(op, row, lower, upper, at_lower, at_upper)
        iterations += 1
        residual = op.matvec(weights) - nu * row
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
    """Nocedal & Wright, Algorithm 16.3, from the feasible point ``weights``."""
    at_lower = weights <= lower
    at_upper = (weights >= upper) & ~at_lower
    if (at_lower | at_upper).all():
        at_lower[0] = at_upper[0] = False
    while iterations < MAX_ITERATIONS:
        target, nu = _solve_free(op, row, lower, upper, at_lower, at_upper)
        iterations += 1
        step = target - weights
        if np.max(np.abs(step)) <= PRIMAL_TOLERANCE:
            residual = op.matvec(target) - nu * row
            release = _released(residual, nu, at_lower, at_upper)
            if not release.any():
                sets = (at_lower, at_upper)
                return _solution(op, target, residual, nu, (lower, upper), sets, iterations)
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


def _solution(
    op: CovarianceOperator,
    weights: np.ndarray,
    residual: np.ndarray,
    nu: float,
    bounds: tuple[np.ndarray, np.ndarray],
    sets: tuple[np.ndarray, np.ndarray],
    iterations: int,
) -> ActiveSetSolution:
    """The ActiveSetSolution of a KKT point (``residual`` = S x - nu row)."""
    (lower, upper), (at_lower, at_upper) = bounds, sets
    free = ~(at_lower | at_upper)
    signed = residual / max(abs(nu), 1e-300)
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
    """x (n,) with the bound sets held and S_FF x_F = nu row_F - S_FB x_B, row' x = 1; nu."""
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
    curvature = float(row_free @ row_part)
    if not curvature > 0:
        raise ActiveSetError("the free weights cannot meet the equality row")
    nu = (1.0 - row[fixed] @ weights[fixed] + row_free @ coupling_part) / curvature
    weights[free] = nu * row_part - coupling_part
    return weights, float(nu)
