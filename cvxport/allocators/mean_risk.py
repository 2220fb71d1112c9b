"""Mean-risk allocation over any risk measure: minimize risk, maximize return under a risk
limit, minimize risk for a target return, maximize utility, maximize the return/risk ratio.

Units: expected returns, ``target_return`` and the risk figures (``max_risk``, ``risk_``) are
per-period fractions of the returns' own period (a variance in squared fractions). Problems
(``mean_risk_forms``): the variance as the objective of minimum risk or utility, and the
standard deviation as that of minimum risk or the ratio, are the exact QP declared quadratic
(ACTIVE_SET solves it when every row is linear); everything else goes to cvxpy's solvers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cvxport.allocators.base import Allocator, returns_deviation
from cvxport.allocators.maximum_sharpe import MaximumSharpeAllocator, excess_over_risk_free
from cvxport.allocators.mean_risk_forms import (
    OBJECTIVES,
    measure_formulation,
    measure_scale,
    quadratic_formulation,
)
from cvxport.allocators.risk_model import (
    average_variance,
    estimate_covariance,
    estimate_mean,
    estimate_risk_model,
    model_deviation,
    scaled_model,
)
from cvxport.allocators.sharpe_checks import best_excess, refuse_unattained_ratio
from cvxport.constraints.base import Constraint
from cvxport.constraints.costs import TransactionCost
from cvxport.errors import InfeasibleError, InvalidInputError
from cvxport.estimation import (
    CovarianceEstimator,
    ExpectedReturnsEstimator,
    get_covariance_estimator,
)
from cvxport.estimation.factor_cvxpy import risk_width
from cvxport.risk.base import RiskMeasure
from cvxport.risk.limit import RiskLimit
from cvxport.risk.moments import Variance
from cvxport.risk.names import risk_measure

VARIANCE = Variance()
#: window data computed from the method's covariance (dense or factor form)
COVARIANCE_FIELDS = {
    "covariance",
    "covariance_factor",
    "factor_root",
    "specific_root",
    "benchmark_covariance_factor",
    "benchmark_factor_root",
    "benchmark_specific_root",
}


def _optional_number(name: str, value: Any, low: float | None = None) -> float | None:
    if value is None:
        return None
    bad = isinstance(value, bool) or not isinstance(value, (int, float))
    if bad or not math.isfinite(value) or (low is not None and value < low):
        rule = "a finite number" + ("" if low is None else f" >= {low}")
        raise InvalidInputError(f"MeanRiskAllocator.{name} must be {rule}, got {value!r}")
    return float(value)


class MeanRiskAllocator(Allocator):
    """Mean-risk portfolios over a risk measure (a ``cvxport.risk`` object or its name).

    Args:
        risk: the measure (``Variance()``, ``CVaR(0.95)``, ``TrackingError(...)``, a name
            such as 'cvar', or your own ``RiskMeasure``).
        objective: 'min_risk' (minimize risk; with ``target_return``: for that return),
            'max_return' (maximize mu' w subject to risk <= ``max_risk``), 'utility'
            (maximize mu' w - risk_aversion * risk(w)), 'ratio' (maximize (mu - rf)' w /
            risk(w) by Charnes-Cooper; the measure must be positively homogeneous).
        target_return: per-period expected return the portfolio must reach (mu' w >= it).
        max_risk: limit on the measure, its units (any objective; required by 'max_return').
        risk_aversion: lambda >= 0 of the utility, per unit of the measure.
        risk_free_rate: annual fraction, for 'ratio' (compounded to a per-period rate).
        periods_per_year: bars per year for the risk-free rate; inferred when None.
        expected_returns, covariance: estimator names or objects (per-period).
        costs: a ``TransactionCost`` on the trade from ``previous_weights``: added to the
            risk (times ``cost_weight``) for 'min_risk', subtracted from the expected return
            (times ``cost_weight``) for 'utility' and 'max_return', and from the excess return
            of the 'ratio' (net of costs, as ``MaximumSharpeAllocator``).

    After ``allocate``: ``weights_``, ``info_``, ``risk_`` (the measure of the weights on the
    window, None for a measure without ``value``) and ``expected_return_`` (mu' w per period).
    """

    #: MaximumSharpeAllocator's arguments (estimators, risk-free rate, costs) and the measure's
    config_arguments: ClassVar[dict[str, str]] = {
        **MaximumSharpeAllocator.config_arguments,
        "risk": "risk_measure",
        "objective": "mean_risk_objective",
        "target_return": "target_return",
        "max_risk": "max_risk",
        "risk_aversion": "risk_aversion",
    }

    def __init__(
        self,
        risk: RiskMeasure | str = VARIANCE,
        objective: str = "min_risk",
        target_return: float | None = None,
        max_risk: float | None = None,
        risk_aversion: float = 1.0,
        risk_free_rate: float = 0.0,
        periods_per_year: int | None = None,
        expected_returns: str | ExpectedReturnsEstimator = "sample",
        covariance: str | CovarianceEstimator = "sample",
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
        long_only: bool = True,
        costs: TransactionCost | None = None,
    ) -> None:
        super().__init__(constraints, solver, fallback, long_only)
        self.costs = costs  # checked by Allocator.__setattr__ (allocators.arguments)
        self.risk = risk
        self.objective = objective
        self.target_return = target_return
        self.max_risk = max_risk
        self.risk_aversion = risk_aversion
        self.risk_free_rate = risk_free_rate
        self.periods_per_year = periods_per_year
        self.expected_returns = expected_returns
        self.covariance = covariance

    def settings(self) -> tuple[RiskMeasure, str, float | None, float | None, float]:
        """Return (measure, objective, target_return, max_risk, risk_aversion), checked."""
        measure = risk_measure(self.risk)
        kind = self.objective
        if kind not in OBJECTIVES:
            raise InvalidInputError(
                f"MeanRiskAllocator.objective must be one of {OBJECTIVES}, got {kind!r}"
            )
        target = _optional_number("target_return", self.target_return)
        max_risk = _optional_number("max_risk", self.max_risk, low=0.0)
        aversion = _optional_number("risk_aversion", self.risk_aversion, low=0.0)
        if aversion is None:
            raise InvalidInputError("MeanRiskAllocator.risk_aversion must be a number >= 0")
        if kind == "max_return" and max_risk is None:
            raise InvalidInputError(
                "MeanRiskAllocator objective 'max_return' needs max_risk (a limit on "
                f"{measure!r}); without it the answer is the single best asset"
            )
        if kind == "ratio" and measure.degree != 1:
            root = measure.root()
            hint = f"; use {root!r}" if root is not None else ""
            raise InvalidInputError(
                f"MeanRiskAllocator objective 'ratio' needs a positively homogeneous measure "
                f"(degree 1): {measure!r} has degree {measure.degree}{hint}"
            )
        return measure, kind, target, max_risk, aversion

    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str | None,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        measure, kind, target, max_risk, aversion = self.settings()
        if kind == "utility" and aversion == 0.0:
            kind = "max_return"  # no risk term: the LP of the highest expected return
        if max_risk is not None:
            constraints = (*constraints, RiskLimit(measure, max_risk))
        mean = estimate_mean(returns, self.expected_returns)
        mean_scale = float(np.max(np.abs(mean))) or 1.0
        values: dict[str, Any] = {}
        if target is not None:
            values.update(target_mean=mean / mean_scale, target_return=target / mean_scale)
        if kind == "ratio":
            values["excess_mean"], best_rate = self._excess(mean, returns)
        form = measure.covariance_form
        quadratic = self.costs is None and (
            (kind == "min_risk" and form is not None)
            or (kind == "utility" and form == "variance")
            or (kind == "ratio" and form == "deviation")
        )
        ratio, has_target = kind == "ratio", target is not None
        # a factor model is estimated first: the problem is built in its factor form (its
        # width), so no path forms the n x n matrix; a dense covariance only where used
        model = None
        if hasattr(get_covariance_estimator(self.covariance), "factor_model"):
            model = estimate_risk_model(returns, self.covariance)
        width = risk_width(model)
        estimate = None
        if quadratic:
            # estimated first: its diagonal sets the data scale of a RiskLimit's rows
            estimate = model if model is not None else estimate_covariance(returns, self.covariance)
            deviation = model_deviation(estimate)  # a RiskLimit's rows at O(1)
            formulate = partial(
                quadratic_formulation,
                utility=kind == "utility",
                ratio=ratio,
                target=has_target,
                factor_width=width,
            )
            key: tuple = ("quadratic", kind, has_target, width)
        else:
            term = None if kind == "max_return" else measure
            deviation = returns_deviation(returns)  # the measure's and a RiskLimit's rows
            formulate = partial(
                measure_formulation,
                measure=term,
                ratio=ratio,
                target=has_target,
                costs=self.costs,
                factor_width=width,
            )
            key = ("measure", kind, term, has_target, self.costs, width)

        problem = self._problem(
            returns.columns,
            constraints,
            formulate,
            key=key,
            n_periods=len(returns),
            deviation=deviation,  # built at its data scale, rebuilt when the data leave it
        )
        known: dict[str, Any] = {"mean": mean}
        if estimate is not None:
            known["covariance"] = estimate
        elif COVARIANCE_FIELDS & set(problem.data_fields):
            known["covariance"] = (
                model if model is not None else estimate_covariance(returns, self.covariance)
            )
        if quadratic:
            raw = known["covariance"]
            factor = average_variance(raw)
            weight = aversion if kind == "utility" else 1.0
            values["covariance"] = scaled_model(raw, weight / factor)
            if kind == "utility":
                values["linear"] = -mean / factor
        else:
            reference = deviation ** (measure.degree or 1)
            # the measure's bound is c^degree risk(w) (``measure_formulation``'s data_scale)
            bound_scale = measure_scale(term, problem.formulation.data_scale)
            if kind == "max_return":
                values.update(risk_weight=0.0, mean_term=mean / mean_scale)
                divisor = mean_scale
            elif kind == "utility":
                values.update(
                    risk_weight=aversion / reference / bound_scale, mean_term=mean / reference
                )
                divisor = reference
            else:
                values.update(
                    risk_weight=1.0 / reference / bound_scale, mean_term=np.zeros(len(mean))
                )
                divisor = reference
            if self.costs is not None:
                # the ratio's row: excess / excess[best] - cost / excess[best] >= 1
                cost_scale = 1.0 / best_rate if ratio else self.costs.cost_weight / divisor
                values["cost_scale"] = cost_scale
        weights = self._solve_named(problem, values, data, solver, returns, known, target)
        self._report(measure, weights, returns, data, known)
        return weights

    def _excess(self, mean: np.ndarray, returns: pd.DataFrame) -> tuple[np.ndarray, float]:
        """Return (the (n,) excess mean over the best asset's, the best excess per period)."""
        rf = _optional_number("risk_free_rate", self.risk_free_rate, low=-0.99) or 0.0
        excess = excess_over_risk_free(mean, rf, self.periods_per_year, returns.index)
        best = best_excess(excess, returns.columns, "the return/risk ratio has no positive maximum")
        return excess / excess[best], float(excess[best])

    def _solve_named(self, problem, values, data, solver, returns, known, target) -> np.ndarray:
        try:
            weights = self._solve(problem, values, data, solver, returns, known)
        except InfeasibleError as exc:
            if exc.conflicting or target is None:
                raise
            best = float(np.max(known["mean"]))
            raise InfeasibleError(
                f"no portfolio under {list(problem.constraints)} reaches target_return="
                f"{target:.6g} per period (the best single asset expects {best:.6g}): {exc}",
                conflicting=(),
            ) from exc
        refuse_unattained_ratio(weights, "return/risk ratio", problem.constraints)
        return weights

    def _report(self, measure, weights, returns, data, known) -> None:
        value_data = {k: v for k, v in data.items() if k.startswith("benchmark")}
        if "covariance" in known:
            value_data["covariance"] = known["covariance"]
        try:
            self.risk_: float | None = float(measure.value(weights, returns, **value_data))
        except NotImplementedError:
            self.risk_ = None
        self.expected_return_ = float(known["mean"] @ weights)
