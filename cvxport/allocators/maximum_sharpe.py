"""Maximum Sharpe ratio through the Charnes-Cooper transform (a QP).

max (mu - rf)' w / sqrt(w' Sigma w) over sum(w) = 1 becomes, with y = kappa w, kappa >= 0:
minimize y' Sigma y subject to (mu - rf)' y = 1, sum(y) = kappa and every constraint object
written homogeneous in kappa (``ctx.scale``). Weights are y / kappa.

The QP's objective is declared quadratic, so with no solver named the exact ACTIVE_SET backend
solves it whenever every row is linear (kappa eliminated as sum(y)), warm-started from the last
call, and Clarabel otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.allocators.base import Allocator
from cvxport.allocators.risk_model import (
    estimate_mean,
    estimate_risk_model,
    unit_scaled_model,
)
from cvxport.allocators.sharpe_checks import (
    MAX_GROSS_EXPOSURE,
    best_excess,
    certify_scaled_sharpe,
    refuse_false_infeasibility,
    refuse_unattained_ratio,
)
from cvxport.constraints.base import Constraint
from cvxport.constraints.costs import TransactionCost
from cvxport.errors import InfeasibleError, InvalidInputError
from cvxport.estimation import CovarianceEstimator, ExpectedReturnsEstimator
from cvxport.estimation.factor_cvxpy import variance_term
from cvxport.periods import infer_periods_per_year, per_period_rate
from cvxport.problem import Formulation
from cvxport.solvers.declared import QuadraticObjective

__all__ = [
    "MAX_GROSS_EXPOSURE",
    "MaximumSharpeAllocator",
    "excess_over_risk_free",
    "maximum_sharpe_formulation",
    "per_period_rate",
]


def maximum_sharpe_formulation(
    n_assets: int, costs: TransactionCost | None = None, factor_width: int | None = None
) -> Formulation:
    """Charnes-Cooper QP over y = kappa * w; covariance and excess mean are Parameters (the
    covariance in factor form with ``factor_width``, ``factor_cvxpy.variance_term``).

    With ``costs`` the excess return is net of the trade's cost: (mu - rf)'y - cost_scale *
    cost(y) >= 1 (cost homogeneous in kappa; the row is tight at the optimum, where it holds
    with equality as the plain row does).
    """
    y = cp.Variable(n_assets, name="scaled_weights")
    kappa = cp.Variable(nonneg=True, name="kappa")
    term = variance_term(y, factor_width)
    excess_mean = cp.Parameter(n_assets, name="excess_mean")
    risk = cp.Minimize(term.expression)
    parameters = {**term.parameters, "excess_mean": excess_mean}
    forms = {"models": term.models, "factor_width": term.factor_width}
    if costs is None:
        return Formulation(
            variable=y,
            scale=kappa,
            objective=risk,
            constraints=[excess_mean @ y == 1, cp.sum(y) == kappa],
            parameters=parameters,
            declared=QuadraticObjective("covariance", normalization="excess_mean"),
            **forms,
        )
    cost_scale = cp.Parameter(nonneg=True, name="cost_scale")
    parameters["cost_scale"] = cost_scale

    def objective(ctx):
        return risk, [excess_mean @ y - cost_scale * costs.expression(ctx) >= 1]

    return Formulation(
        variable=y,
        scale=kappa,
        objective=objective,
        constraints=[cp.sum(y) == kappa],
        parameters=parameters,
        **forms,
    )


def excess_over_risk_free(
    mean: np.ndarray, annual_rate: float, periods_per_year: int | None, index: pd.Index
) -> np.ndarray:
    """Return the (n,) per-period ``mean`` minus the per-period risk-free rate compounded from
    ``annual_rate`` (a fraction); ``periods_per_year`` None: inferred from ``index``."""
    if annual_rate == 0.0:
        return mean
    ppy = periods_per_year or infer_periods_per_year(index)
    return mean - per_period_rate(annual_rate, ppy)


class MaximumSharpeAllocator(Allocator):
    """Maximize (mu - rf)' w / sqrt(w' Sigma w).

    Args:
        risk_free_rate: annual fraction (0.04 = 4%), compounded to a per-period rate.
        periods_per_year: bars per year; inferred from the returns index when None.
        expected_returns: estimator name or object for mu (per-period fractions).
        covariance: estimator name or object for Sigma.
        costs: a ``TransactionCost``: maximize the Sharpe ratio net of the cost of the trade
            from ``previous_weights`` (passed to ``allocate``).
    """

    config_arguments: ClassVar[dict[str, str]] = {
        **Allocator.config_arguments,
        "covariance": "covariance",
        "expected_returns": "expected_returns",
        "risk_free_rate": "risk_free_rate",
        "periods_per_year": "periods_per_year",
        "costs": "costs",
    }

    def __init__(
        self,
        risk_free_rate: float = 0.0,
        expected_returns: str | ExpectedReturnsEstimator = "sample",
        covariance: str | CovarianceEstimator = "sample",
        periods_per_year: int | None = None,
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
        long_only: bool = True,
        costs: TransactionCost | None = None,
    ) -> None:
        super().__init__(constraints, solver, fallback, long_only)
        self.costs = costs  # checked by Allocator.__setattr__ (allocators.arguments)
        self.risk_free_rate = risk_free_rate
        self.expected_returns = expected_returns
        self.covariance = covariance
        self.periods_per_year = periods_per_year

    def excess_mean(self, returns: pd.DataFrame) -> np.ndarray:
        """Return (n,) expected returns minus the per-period risk-free rate."""
        rf = float(self.risk_free_rate)
        if not np.isfinite(rf) or rf <= -1:
            raise InvalidInputError(f"risk_free_rate must be a finite annual fraction, got {rf}")
        mean = estimate_mean(returns, self.expected_returns)
        return excess_over_risk_free(mean, rf, self.periods_per_year, returns.index)

    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str | None,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        excess = self.excess_mean(returns)
        best = best_excess(
            excess,
            returns.columns,
            "the maximum Sharpe portfolio does not exist (try minimum variance)",
        )
        raw = estimate_risk_model(returns, self.covariance)  # an array or a factor model
        covariance = unit_scaled_model(raw)
        scaled_excess = excess / excess[best]  # the best asset alone meets the row at size 1
        problem = self._risk_model_problem(
            returns, constraints, maximum_sharpe_formulation, raw, self.costs
        )
        values = {"covariance": covariance, "excess_mean": scaled_excess}
        if self.costs is not None:
            values["cost_scale"] = 1.0 / excess[best]
        try:
            known = {"covariance": raw}  # terms using the covariance see the method's estimate
            weights = self._solve(problem, values, data, solver, returns, known)
        except InfeasibleError as exc:
            if exc.conflicting:
                raise
            if self.costs is None:  # net of costs the best asset alone may not beat rf
                refuse_false_infeasibility(exc, constraints, returns.columns, excess, data)
            raise InfeasibleError(
                f"no portfolio satisfying {list(constraints)} has an expected return"
                f"{' net of ' + repr(self.costs) if self.costs else ''} above the "
                f"risk-free rate over this window (best single asset: {returns.columns[best]!r} "
                f"at {excess[best]:.6g} per period), so the maximum Sharpe portfolio does not "
                "exist",
                conflicting=(),
            ) from exc
        refuse_unattained_ratio(
            weights,
            "maximum Sharpe ratio",
            constraints,
            why=": the optimum of the Charnes-Cooper problem has kappa -> 0",
            detail="a zero-net-investment portfolio; ",
        )
        certify_scaled_sharpe(
            "MaximumSharpeAllocator",
            self.info_.solver,
            problem,
            values,
            weights,
            returns,
            excess,
            raw,
        )
        return weights
