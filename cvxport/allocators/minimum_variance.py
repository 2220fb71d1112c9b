"""Minimum variance: minimize w' Sigma w subject to sum(w) = 1 and the constraints (a QP).

The QP is declared once in cvxpy (``minimum_variance_formulation``) with its objective
declared quadratic, so any backend can solve it: with no solver named, the exact ACTIVE_SET
backend takes it whenever every row is linear (bounds, group limits, a user's linear rule),
warm-started from the previous solve, and Clarabel solves it otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.allocators.base import Allocator
from cvxport.allocators.risk_model import (
    average_variance,
    estimate_risk_model,
    unit_scaled_model,
)
from cvxport.constraints.base import Constraint
from cvxport.constraints.costs import TransactionCost
from cvxport.estimation import CovarianceEstimator
from cvxport.estimation.factor_cvxpy import variance_term
from cvxport.problem import Formulation
from cvxport.solvers.declared import QuadraticObjective


def minimum_variance_formulation(
    n_assets: int, costs: TransactionCost | None = None, factor_width: int | None = None
) -> Formulation:
    """The QP over weights w with the (unit-scaled) covariance as a plain Parameter, or, with
    ``factor_width``, in factor form (``factor_cvxpy.variance_term``: DPP, never n x n); with
    ``costs``, minimize w'Sw + cost_scale * cost(w) (cost_scale = cost_weight / the covariance's
    unit scale, so both are in per-period variance units).

    quad_form over psd_wrap of a plain Parameter is not DPP (cvxpy re-canonicalizes it at each
    solve) yet measured fastest (benchmarks/bench_forms.py, n = 100, per re-solve): Clarabel
    7.9 ms against 19.1 ms for the DPP factor form sum_squares(F @ w) and 8.4 ms for a
    PSD=True Parameter; OSQP 4.1 ms against 12.2 ms. At n = 11 the forms tie (~2 ms, cvxpy's
    own overhead). The same holds for maximum Sharpe and the log barrier (19 vs 122 ms).
    """
    weights = cp.Variable(n_assets, name="weights")
    term = variance_term(weights, factor_width)
    risk = term.expression
    forms = {"models": term.models, "factor_width": term.factor_width}
    if costs is None:
        return Formulation(
            variable=weights,
            scale=1.0,
            objective=cp.Minimize(risk),
            constraints=[cp.sum(weights) == 1],
            parameters=dict(term.parameters),
            declared=QuadraticObjective("covariance"),
            **forms,
        )
    cost_scale = cp.Parameter(nonneg=True, name="cost_scale")
    return Formulation(
        variable=weights,
        scale=1.0,
        objective=lambda ctx: (cp.Minimize(risk + cost_scale * costs.expression(ctx)), []),
        constraints=[cp.sum(weights) == 1],
        parameters={**term.parameters, "cost_scale": cost_scale},
        **forms,
    )


class MinimumVarianceAllocator(Allocator):
    """Minimize portfolio variance w' Sigma w (Sigma from the covariance estimator).

    ``costs`` (a ``TransactionCost``) adds the cost of the trade from ``previous_weights``
    to the objective. With no solver named, the exact ACTIVE_SET backend solves it when every
    constraint is linear and there is no cost term (``info_.solver`` says which backend ran);
    a named solver is always the one used.
    """

    config_arguments: ClassVar[dict[str, str]] = {
        **Allocator.config_arguments,
        "covariance": "covariance",
        "costs": "costs",
    }

    def __init__(
        self,
        covariance: str | CovarianceEstimator = "sample",
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
        long_only: bool = True,
        costs: TransactionCost | None = None,
    ) -> None:
        super().__init__(constraints, solver, fallback, long_only)
        self.covariance = covariance
        self.costs = costs  # checked by Allocator.__setattr__ (allocators.arguments)

    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str | None,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        raw = estimate_risk_model(returns, self.covariance)  # an array or a factor model
        problem = self._risk_model_problem(
            returns, constraints, minimum_variance_formulation, raw, self.costs
        )
        values = {"covariance": unit_scaled_model(raw)}
        if self.costs is not None:
            values["cost_scale"] = self.costs.cost_weight / average_variance(raw)
        # terms using the covariance (a RiskLimit) see the method's estimate, in factor form
        # for a factor model
        return self._solve(problem, values, data, solver, returns, {"covariance": raw})
