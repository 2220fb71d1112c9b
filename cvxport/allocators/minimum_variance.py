"""Minimum variance: minimize w' Sigma w subject to sum(w) = 1 and the constraints (a QP).

The QP is declared in cvxpy (``minimum_variance_formulation``) and solved there whenever a
constraint is more than a per-asset bound. Under per-asset bounds only (``LongOnly``,
``WeightBounds``, or none), ``method='auto'`` solves the same QP exactly by the active-set
method of ``active_set.py``, warm-started from the previous call's active sets, and falls back
to cvxpy when that method cannot settle it (checked against cvxpy in the tests).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.allocators.active_set import ActiveSetError, bounded_min_variance
from cvxport.allocators.base import Allocator, per_asset_bounds
from cvxport.allocators.risk_model import estimate_covariance
from cvxport.constraints.base import Constraint
from cvxport.errors import InvalidInputError
from cvxport.estimation import CovarianceEstimator, unit_scaled
from cvxport.problem import Formulation
from cvxport.solvers import SolveInfo


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
        if method not in ("auto", "cvxpy"):
            raise InvalidInputError(f"method must be 'auto' or 'cvxpy', got {method!r}")
        self.covariance = covariance
        self.method = method
        # constraints -> (universe, at_lower, at_upper) of the last active-set solution
        self._active_sets: dict[tuple, tuple[pd.Index, np.ndarray, np.ndarray]] = {}

    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        covariance = unit_scaled(estimate_covariance(returns, self.covariance))
        bounds = per_asset_bounds(constraints, returns.columns)
        failure = None
        if self.method == "auto" and not self.solver_named_ and bounds is not None:
            try:
                return self._active_set(covariance, bounds, returns.columns, constraints)
            except ActiveSetError as exc:
                failure = ("ACTIVE_SET", str(exc))
        problem = self._problem(returns.columns, constraints, solver, minimum_variance_formulation)
        weights = self._solve(problem, {"covariance": covariance}, data, solver)
        if failure:
            self.info_.fallback_from.insert(0, failure)
        return weights

    def _active_set(
        self,
        covariance: np.ndarray,
        bounds: tuple[np.ndarray, np.ndarray],
        assets: pd.Index,
        constraints: tuple[Constraint, ...],
    ) -> np.ndarray:
        """Solve exactly by active sets, warm-started from the last call on this universe."""
        start = time.perf_counter()
        lower, upper = bounds
        last = self._active_sets.get(constraints)
        guess = last[1:] if last is not None and last[0].equals(assets) else None
        solution = bounded_min_variance(covariance, lower, upper, guess)
        elapsed = time.perf_counter() - start
        self._active_sets[constraints] = (assets, solution.at_lower, solution.at_upper)
        weights = solution.weights
        self.info_ = SolveInfo(
            solver="ACTIVE_SET",
            status="optimal",
            solve_time=elapsed,
            total_time=elapsed,
            iterations=solution.iterations,
            objective=solution.variance,
            build_count=self.build_count_,
            max_bound_violation=max(
                float(np.max(lower - weights)), float(np.max(weights - upper)), 0.0
            ),
            sum_error=abs(float(weights.sum()) - 1.0),
        )
        return weights
