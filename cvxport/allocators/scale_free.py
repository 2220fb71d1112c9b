"""Exact solves made independent of each asset's return scale (a diagonal change of variables).

Returns scaled 1e-6 beside returns scaled 1e3 give a covariance whose diagonal spans 1e18:
the Cholesky pivots of the active set then look singular and a conic solver's absolute
tolerances swallow the small assets. Maximum Sharpe under LongOnly is unchanged by the
substitution u = vol * y (vol the (n,) volatilities): the QP

    minimize y' S y  subject to  excess' y = 1,  y >= 0

becomes minimize u' C u subject to (excess / vol)' u = 1, u >= 0, with C the correlation
matrix (unit diagonal) and excess / vol the per-period Sharpe ratios, so both the objective
and the active sets are the same, and y = u / vol.
"""

from __future__ import annotations

import numpy as np

from cvxport.allocators.active_set import ActiveSetSolution, long_only_max_sharpe


def scale_free_long_only_max_sharpe(
    covariance: np.ndarray,
    excess_mean: np.ndarray,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> ActiveSetSolution:
    """``long_only_max_sharpe`` solved on the correlation matrix and per-asset Sharpe ratios.

    Args:
        covariance: (n, n) symmetric positive definite S, any scale.
        excess_mean: (n,) expected returns minus the risk-free rate (per period), some > 0.
        start: (at_lower, at_upper) guess of the entries held at zero.

    Returns:
        The same ActiveSetSolution as ``long_only_max_sharpe(covariance, excess_mean)`` would
        give in exact arithmetic: weights y / sum(y) (fractions of NAV summing to 1).

    Raises:
        ActiveSetError: as ``long_only_max_sharpe``.
    """
    vol = np.sqrt(np.diag(covariance))
    correlation = covariance / np.outer(vol, vol)
    solution = long_only_max_sharpe(0.5 * (correlation + correlation.T), excess_mean / vol, start)
    y = solution.weights / vol
    return ActiveSetSolution(
        y / y.sum(),
        solution.at_lower,
        solution.at_upper,
        solution.variance,
        solution.iterations,
        solution.kkt_residual,
    )
