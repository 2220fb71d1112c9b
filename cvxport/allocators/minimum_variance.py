"""Minimum variance: minimize w' Sigma w subject to sum(w) = 1 and the constraints (a QP).

The QP is declared once in cvxpy (``minimum_variance_formulation``) with its objective
declared quadratic, so any backend can solve it: with no solver named, the exact ACTIVE_SET
backend takes it whenever every row is linear (bounds, group limits, a user's linear rule),
warm-started from the previous solve, and Clarabel solves it otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.allocators.base import Allocator
from cvxport.allocators.risk_model import estimate_covariance
from cvxport.constraints.base import Constraint
from cvxport.estimation import CovarianceEstimator, unit_scaled
from cvxport.problem import Formulation
from cvxport.solvers.declared import QuadraticObjective


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
        declared=QuadraticObjective("covariance"),
    )


class MinimumVarianceAllocator(Allocator):
    """Minimize portfolio variance w' Sigma w (Sigma from the covariance estimator).

    With no solver named, the exact ACTIVE_SET backend solves it when every constraint is
    linear (``info_.solver`` says which backend ran); a named solver is always the one used.
    """

    def __init__(
        self,
        covariance: str | CovarianceEstimator = "sample",
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
        long_only: bool = True,
    ) -> None:
        super().__init__(constraints, solver, fallback, long_only)
        self.covariance = covariance

    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str | None,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        raw = estimate_covariance(returns, self.covariance)
        problem = self._problem(
            returns.columns, constraints, minimum_variance_formulation, n_periods=len(returns)
        )
        values = {"covariance": unit_scaled(raw)}
        return self._solve(problem, values, data, solver, returns, {"covariance": raw})
