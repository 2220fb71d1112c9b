"""Risk budgeting and risk parity through the log-barrier convex form.

minimize 0.5 y' Sigma y - sum_i b_i log(y_i) over y > 0, then w = y / sum(y). At the optimum
y_i (Sigma y)_i = b_i, so asset i's share of portfolio variance, w_i (Sigma w)_i / w' Sigma w,
equals its budget b_i exactly (budgets sum to 1). Constraint objects are written homogeneous in
``ctx.scale = sum(y)``, so bounds keep the problem convex; the shares then differ from the
budgets where a bound binds, and the allocator reports both (``risk_contributions_``,
``risk_budget_``). The objective is declared, so without constraint rows the exact NEWTON
backend solves the same barrier problem (checked against cvxpy in the tests) in a fraction of
the time. Rows over the window's data (a ``RiskLimit`` on any measure, a turnover limit...) go
to NEWTON_QP: Newton steps solved as QPs over the exact rows (``solvers.newton_qp``), because
Clarabel on the exponential-cone form stalls on feasible problems whatever the scaling
(semi-deviation limits 3-5 of 18, CDaR 16, worst loss 17; NEWTON_QP 18 of 18 for every
measure, benchmarks/bench_risk_budget_limits.py). Rows over the weights alone (bounds, groups)
keep Clarabel, reliable and faster there. The covariance is unit-scaled, except beside a row
over the window's returns: it is then 10 times the one in the returns' units, so that row is
O(1) at the optimum (``RETURN_ROW_SCALE``; times c^2 where returns far from O(1) put the rows
at a data scale c, ``Formulation.data_scale``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.allocators.base import Allocator
from cvxport.allocators.risk_model import (
    estimate_risk_model,
    marginal_risk,
    model_deviation,
    scaled_model,
    unit_scaled_model,
)
from cvxport.allocators.symbol_data import positive_per_symbol
from cvxport.constraints.base import Constraint
from cvxport.constraints.weights import LongOnly
from cvxport.errors import InvalidInputError
from cvxport.estimation import CovarianceEstimator, FactorModel
from cvxport.estimation.factor_cvxpy import risk_width, variance_term
from cvxport.estimation.psd import check_no_zero_variance_portfolio
from cvxport.problem import Formulation
from cvxport.solvers.declared import LogBarrierObjective
from cvxport.solvers.newton import newton_risk_budget  # noqa: F401  (re-exported)

#: window data not in return units: rows over them leave the covariance unit-scaled
UNITLESS_FIELDS = frozenset({"previous_weights", "benchmark_weights", "prices"})
#: 1e-10 leaves weight errors near 1.1e-6 on the bundled data; 1e-12 gives 3e-10 for ~45%
#: more iterations (benchmarks/bench_allocation.py accuracy table)
BARRIER_OPTIONS = {"CLARABEL": {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12}}
# Beside a row over the window's returns (a RiskLimit) the covariance is c times the one in
# the returns' own units: at the optimum y'Sy = 1, so such a row reads R y = (portfolio
# returns) / sqrt(c w'Sigma w), about 1 / sqrt(c), where unit-scaled it is about their
# volatility (0.02 daily). Limits between the long-only minimum and 1.2x the free value, on
# 5 bundled years and synthetic data, solved (status optimal, limit held) out of 18 each by
# Clarabel on the exponential-cone form (the default before NEWTON_QP; a named CLARABEL now):
#   worst loss / CVaR / MAD / CDaR / standard deviation / semi-deviation
#   unit-scaled, Clarabel's defaults      5 /  5 / 18 / 11 / 18 / 2   (main before this)
#   c = 1                                16 / 14 / 12 / 13 / 17 / 2
#   c = 1, backtracking 0.5              17 / 17 / 13 / 15 / 18 / 1
#   c = 10, backtracking 0.5             18 / 17 / 16 / 13 / 17 / 0   (kept)
# Where it fails, Clarabel's exponential-cone steps stall (InsufficientProgress); the counts
# move by 1-2 under rounding-level changes of c, these solves sitting near that stall.
RETURN_ROW_SCALE = 10.0
#: with rows over the returns, Clarabel backtracks its step by 0.5 instead of 0.8 (above);
#: bounds alone took 40% more iterations with it, so they keep the default
RETURN_ROW_OPTIONS = {"CLARABEL": {**BARRIER_OPTIONS["CLARABEL"], "linesearch_backtrack_step": 0.5}}


def risk_budget_formulation(n_assets: int, factor_width: int | None = None) -> Formulation:
    """The log-barrier problem over y; covariance (in factor form with ``factor_width``) and
    budgets are Parameters."""
    y = cp.Variable(n_assets, name="scaled_weights")
    term = variance_term(y, factor_width)
    budget = cp.Parameter(n_assets, nonneg=True, name="risk_budget")
    objective = 0.5 * term.expression - budget @ cp.log(y)
    return Formulation(
        variable=y,
        scale=cp.sum(y),
        objective=cp.Minimize(objective),
        parameters={**term.parameters, "risk_budget": budget},
        models=term.models,
        factor_width=term.factor_width,
        solver_options=BARRIER_OPTIONS,
        declared=LogBarrierObjective("covariance", "risk_budget"),
        domain=(LongOnly(),),  # log(y): a limit that needs a short position cannot hold
    )


def check_risk_budget(risk_budget: Mapping[str, float] | None, assets: pd.Index) -> np.ndarray:
    """Return (n,) budgets aligned to ``assets``; refuse missing, unknown, non-positive ones.

    Budgets are shares of portfolio variance (fractions summing to 1 within 1e-9).
    """
    if risk_budget is None:
        raise InvalidInputError("risk budgeting needs risk_budget={symbol: share of risk}")
    values = positive_per_symbol(
        risk_budget, assets, "risk budget", " (drop the asset from the universe to give it no risk)"
    )
    if abs(values.sum() - 1.0) > 1e-9:
        raise InvalidInputError(f"risk budgets must sum to 1, they sum to {values.sum():.12g}")
    return values


def risk_shares(weights: np.ndarray, covariance: np.ndarray | FactorModel) -> np.ndarray:
    """Return (n,) shares of portfolio variance w_i (Sigma w)_i / (w' Sigma w)."""
    marginal = marginal_risk(covariance, weights)
    return weights * marginal / (weights @ marginal)


class RiskBudgetAllocator(Allocator):
    """Weights whose shares of portfolio variance match ``risk_budget`` (symbol -> share).

    After ``allocate``: ``risk_contributions_`` (achieved shares) and ``risk_budget_``.
    With no solver named, the NEWTON backend solves it when no constraint adds rows, Clarabel
    otherwise; a named solver is always the one used.
    """

    data_keys = ("risk_budget",)
    config_arguments: ClassVar[dict[str, str]] = {
        "constraints": "constraints",
        "solver": "solver",
        "covariance": "covariance",
        "risk_budget": "risk_budget",
    }

    def __init__(
        self,
        risk_budget: Mapping[str, float] | None = None,
        covariance: str | CovarianceEstimator = "sample",
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
    ) -> None:
        # long-only by the domain of log(y): LongOnly's rows would only slow the solver
        # (Clarabel 59 iterations instead of 24 at n = 500, benchmarks/README.md)
        super().__init__(constraints, solver, fallback, long_only=False)
        self.risk_budget = risk_budget
        self.covariance = covariance

    def budget(self, assets: pd.Index, data: Mapping[str, Any]) -> np.ndarray:
        """Return the (n,) budgets for this call."""
        return check_risk_budget(data.get("risk_budget", self.risk_budget), assets)

    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str | None,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        assets = returns.columns
        budget = self.budget(assets, data)
        raw = estimate_risk_model(returns, self.covariance)  # an array or a factor model
        width = risk_width(raw)
        formulate = functools.partial(risk_budget_formulation, factor_width=width)
        problem = self._problem(
            assets,
            constraints,
            formulate,
            key=(width,),
            n_periods=len(returns),
            deviation=model_deviation(raw),  # a RiskLimit's rows at O(1)
        )
        covariance = raw
        if set(problem.data_fields) - UNITLESS_FIELDS:
            # c^2 at the rows' data scale c (a RiskLimit's c risk(y) <= c limit sum(y)): y and
            # the rows stay O(1) on returns of any units (1.0 for realistic ones)
            c = problem.formulation.data_scale
            covariance = scaled_model(covariance, RETURN_ROW_SCALE * c * c)
            problem.formulation.solver_options = RETURN_ROW_OPTIONS
        else:
            covariance = unit_scaled_model(covariance)
        if isinstance(covariance, np.ndarray):  # a factor model's specific variances are > 0
            check_no_zero_variance_portfolio(covariance, returns)
        values = {"covariance": covariance, "risk_budget": budget}
        known = {"covariance": raw}  # terms using the covariance see the method's estimate
        weights = self._solve(problem, values, data, solver, returns, known)
        self.risk_budget_ = pd.Series(budget, index=assets, name="risk_budget")
        self.risk_contributions_ = pd.Series(
            risk_shares(weights, covariance), index=assets, name="risk_contribution"
        )
        return weights


class RiskParityAllocator(RiskBudgetAllocator):
    """Risk budgeting with equal budgets 1/n: every asset carries the same share of risk."""

    data_keys = ()
    config_arguments: ClassVar[dict[str, str]] = {
        "constraints": "constraints",
        "solver": "solver",
        "covariance": "covariance",
    }

    def __init__(
        self,
        covariance: str | CovarianceEstimator = "sample",
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
    ) -> None:
        super().__init__(None, covariance, constraints, solver, fallback)

    def budget(self, assets: pd.Index, data: Mapping[str, Any]) -> np.ndarray:
        """Return equal budgets 1/n."""
        return np.full(len(assets), 1.0 / len(assets))
