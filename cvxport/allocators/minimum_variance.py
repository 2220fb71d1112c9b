"""Minimum variance: minimize w' Sigma w subject to sum(w) = 1 and the constraints (a QP).

The QP is declared in cvxpy (``minimum_variance_formulation``) and solved there whenever a
constraint is more than a per-asset bound. Under per-asset bounds only (``LongOnly``,
``WeightBounds``, or none), ``method='auto'`` solves the same QP exactly by the active-set
method of ``active_set.py``, warm-started from the previous call's active sets, and falls back
to cvxpy when that method cannot settle it (checked against cvxpy in the tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.allocators.active_set import bounded_min_variance
from cvxport.allocators.base import Allocator, check_method, per_asset_bounds
from cvxport.allocators.risk_model import estimate_covariance
from cvxport.constraints.base import Constraint
from cvxport.estimation import CovarianceEstimator, unit_scaled
from cvxport.problem import Formulation


def minimum_variance_formulation(n_assets: int) -> Formulation:
    """The QP over weights w with the (unit-scaled) covariance as a plain Parameter.

    quad_form over psd_wrap of a plain Parameter is not DPP (cvxpy re-canonicalizes it at each
    solve) yet measured fastest (benchmarks/bench_forms.py, n = 100, per re-solve): Clarabel
    7.9 ms against 19.1 ms for the DPP factor form sum_squares(F @ w) and 8.4 ms for a
    PSD=True Parameter; OSQP 4.1 ms against 12.2 ms. At n = 11 the forms tie (~2 ms, cvxpy's
    own overhead). The same holds for maximum Sharpe and the log barrier (19 vs 122 ms).
    """
    weights = cp.Variable(n_assets, name="weights")
    covariance = cp.Parameter((n_assets, n_assets), name="covariance")
    return Formulation(
        variable=weights,
        scale=1.0,
        objective=cp.Minimize(cp.quad_form(weights, cp.psd_wrap(covariance))),
        constraints=[cp.sum(weights) == 1],
        parameters={"covariance": covariance},
    )


class MinimumVarianceAllocator(Allocator):
    """Minimize portfolio variance w' Sigma w (Sigma from the covariance estimator).

    ``method='auto'`` with no solver named takes the exact active-set solve under per-asset
    bounds only (``info_.solver`` is then ``'ACTIVE_SET'``), the cvxpy problem otherwise;
    ``method='cvxpy'`` or a named ``solver`` always solves the cvxpy problem.
    """

    def __init__(
        self,
        covariance: str | CovarianceEstimator = "sample",
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
        long_only: bool = True,
        method: str = "auto",
    ) -> None:
        super().__init__(constraints, solver, fallback, long_only)
        self.covariance = covariance
        self.method = check_method(method)

    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        covariance = unit_scaled(estimate_covariance(returns, self.covariance))
        bounds = per_asset_bounds(constraints, returns.columns)
        failed = []
        if self.exact_path_allowed and bounds is not None:
            lower, upper = bounds
            weights, failed = self._solve_active_set(
                lambda start: bounded_min_variance(covariance, lower, upper, start),
                returns.columns,
                constraints,
                bounds,
            )
            if weights is not None:
                return weights
        problem = self._problem(returns.columns, constraints, solver, minimum_variance_formulation)
        return self._solve(problem, {"covariance": covariance}, data, solver, failed)
