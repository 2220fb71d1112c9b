"""Exact minimum variance under per-asset bounds, by a primal-dual active-set method.

    minimize 0.5 w' S w   subject to   sum(w) = 1,   lower <= w <= upper

is the QP that ``MinimumVarianceAllocator`` declares in cvxpy when every constraint object is
a per-asset bound (``LongOnly``, ``WeightBounds``). With a guess of the weights held at a bound,
the KKT system on the free weights is solved exactly (Cholesky):

    S_FF w_F = nu 1 - S_FB w_B,   sum(w_F) = 1 - sum(w_B),

and the guess is corrected from the primal and dual signs (Hintermueller, Ito & Kunisch 2003,
block updates; one index at a time if a guess repeats) until they all hold. The answer
satisfies the KKT conditions to rounding, so it is the optimum of the strictly convex QP; a
backtest passes the previous rebalance's active sets, which usually hold again (one or two
iterations). Anything this method cannot settle (a singular S_FF, no free weight, no
convergence) raises ``ActiveSetError`` and the allocator solves the cvxpy problem instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

PRIMAL_TOLERANCE = 1e-12  # weight units (fractions of NAV): a bound counts as held within it
DUAL_TOLERANCE = 1e-11  # multipliers, relative to |nu| (the portfolio variance)
MAX_ITERATIONS = 100


class ActiveSetError(RuntimeError):
    """The active-set method could not settle this problem (the cvxpy problem is solved)."""


@dataclass(frozen=True)
class ActiveSetSolution:
    """An exact KKT point of the bounded minimum-variance QP.

    Attributes:
        weights: (n,) optimal weights, summing to 1.
        at_lower, at_upper: (n,) booleans, the weights held at their bounds.
        variance: w' S w, in the units of S.
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
    covariance: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> ActiveSetSolution:
    """Minimize w' S w subject to sum(w) = 1 and lower <= w <= upper, exactly.

    Args:
        covariance: (n, n) symmetric positive definite S (any scale; unit-scaled is best).
        lower, upper: (n,) bounds, fractions of NAV (-inf / inf where there is none).
        start: (at_lower, at_upper) guess, e.g. the previous solution's active sets.

    Raises:
        ActiveSetError: infeasible bounds, a singular free block, or no convergence.
    """
    n = len(covariance)
    if lower.sum() > 1 + PRIMAL_TOLERANCE or upper.sum() < 1 - PRIMAL_TOLERANCE:
        raise ActiveSetError("the bounds do not admit weights summing to 1")
    at_lower = np.zeros(n, dtype=bool) if start is None else start[0].copy()
    at_upper = np.zeros(n, dtype=bool) if start is None else start[1].copy() & ~at_lower
    at_lower &= np.isfinite(lower)
    at_upper &= np.isfinite(upper)
    seen: set[bytes] = set()
    for iteration in range(1, MAX_ITERATIONS + 1):
        weights, nu = _solve_free(covariance, lower, upper, at_lower, at_upper)
        residual = covariance @ weights - nu  # = multiplier at a lower bound, -multiplier at upper
        free = ~(at_lower | at_upper)
        tolerance = DUAL_TOLERANCE * abs(nu)
        below = free & (weights < lower - PRIMAL_TOLERANCE)
        above = free & (weights > upper + PRIMAL_TOLERANCE)
        release = (at_lower & (residual < -tolerance)) | (at_upper & (residual > tolerance))
        if not (below.any() or above.any() or release.any()):
            worst = max(
                float(np.max(np.where(free, np.maximum(lower - weights, weights - upper), 0.0))),
                float(np.max(np.where(at_lower, -residual, np.where(at_upper, residual, 0.0))))
                / max(abs(nu), 1e-300),
                0.0,
            )
            return ActiveSetSolution(
                weights, at_lower, at_upper, float(weights @ covariance @ weights), iteration, worst
            )
        state = np.packbits(np.r_[at_lower, at_upper]).tobytes()
        if state in seen:  # a block update cycled: change only the worst index from here on
            below, above, release = _worst_only(
                weights, lower, upper, residual, below, above, release
            )
        seen.add(state)
        at_lower = (at_lower & ~release) | below
        at_upper = (at_upper & ~release) | above
    raise ActiveSetError(f"no convergence in {MAX_ITERATIONS} active-set iterations")


def _solve_free(
    covariance: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    at_lower: np.ndarray,
    at_upper: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Weights (n,) with the bound sets held and the free block's KKT system solved; nu."""
    weights = np.where(at_lower, lower, np.where(at_upper, upper, 0.0))
    free = ~(at_lower | at_upper)
    if not free.any():
        raise ActiveSetError("every weight is held at a bound")
    fixed = ~free
    block = covariance[np.ix_(free, free)]
    coupling = covariance[np.ix_(free, fixed)] @ weights[fixed]
    try:
        factor = cho_factor(block, check_finite=False)
    except LinAlgError as exc:
        raise ActiveSetError(f"the covariance of the free weights is singular: {exc}") from None
    solved = cho_solve(factor, np.column_stack([np.ones(free.sum()), coupling]), check_finite=False)
    ones_part, coupling_part = solved[:, 0], solved[:, 1]
    nu = (1.0 - weights[fixed].sum() + coupling_part.sum()) / ones_part.sum()
    weights[free] = nu * ones_part - coupling_part
    return weights, float(nu)


def _worst_only(weights, lower, upper, residual, below, above, release):
    """Keep only the largest violation among the three index sets (anti-cycling)."""
    scores = np.zeros((3, len(weights)))
    scores[0, below] = (lower - weights)[below]
    scores[1, above] = (weights - upper)[above]
    scores[2, release] = np.abs(residual[release]) / max(float(np.max(np.abs(residual))), 1e-300)
    kind, index = np.unravel_index(int(np.argmax(scores)), scores.shape)
    picked = [np.zeros(len(weights), dtype=bool) for _ in range(3)]
    picked[kind][index] = True
    return tuple(picked)
