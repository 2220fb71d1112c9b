"""The problems of ``MeanRiskAllocator``, one declared formulation per (objective, measure).

Weights w (or y = kappa w under Charnes-Cooper for the ratio) with Parameters:

* quadratic (variance or its root as the objective): ``w' covariance w + linear @ w``,
  declared ``QuadraticObjective`` so the exact ACTIVE_SET backend takes it whenever every row
  is linear; the covariance is unit-scaled (and multiplied by the risk aversion for the
  utility), so the data are O(1); a factor model is written in factor form (no n x n);
* any other measure, or a transaction-cost term: an epigraph ``risk(w) <= t`` and
  ``minimize risk_weight * t - mean_term @ w + cost_scale * cost(w)``, the Parameters chosen
  per objective (see ``MeanRiskAllocator``), which keeps every row DPP (cvxpy compiles once
  per window length).

A target return adds ``target_mean @ w >= target * scale``; a risk limit is a ``RiskLimit``
object beside the user's constraints.
"""

from __future__ import annotations

import cvxpy as cp

from cvxport.constraints.base import ProblemContext
from cvxport.constraints.costs import TransactionCost
from cvxport.estimation.factor_cvxpy import variance_term
from cvxport.problem import Formulation
from cvxport.risk.base import RiskMeasure, measure_expression
from cvxport.solvers.declared import QuadraticObjective

OBJECTIVES = ("min_risk", "max_return", "utility", "ratio")


def _variables(n_assets: int, ratio: bool):
    """(variable, scale, method rows, parameters) of a plain or a Charnes-Cooper problem."""
    if not ratio:
        weights = cp.Variable(n_assets, name="weights")
        return weights, 1.0, [cp.sum(weights) == 1], {}
    y = cp.Variable(n_assets, name="scaled_weights")
    kappa = cp.Variable(nonneg=True, name="kappa")
    excess = cp.Parameter(n_assets, name="excess_mean")
    return y, kappa, [excess @ y == 1, cp.sum(y) == kappa], {"excess_mean": excess}


def _target_rows(variable, scale, parameters: dict, n_assets: int) -> list[cp.Constraint]:
    mean = cp.Parameter(n_assets, name="target_mean")
    target = cp.Parameter(name="target_return")
    parameters.update({"target_mean": mean, "target_return": target})
    return [mean @ variable >= target * scale]


def quadratic_formulation(
    n_assets: int, utility: bool, ratio: bool, target: bool, factor_width: int | None = None
) -> Formulation:
    """min w' S w [+ linear @ w], optionally over Charnes-Cooper y; S dense, or in factor
    form with ``factor_width`` (``factor_cvxpy.variance_term``)."""
    variable, scale, rows, parameters = _variables(n_assets, ratio)
    term = variance_term(variable, factor_width)
    parameters.update(term.parameters)
    objective = term.expression
    declared = QuadraticObjective("covariance")
    if utility:
        linear = cp.Parameter(n_assets, name="linear")
        parameters["linear"] = linear
        objective = objective + linear @ variable
        declared = QuadraticObjective("covariance", "linear")
    if target:
        rows += _target_rows(variable, scale, parameters, n_assets)
    return Formulation(
        variable=variable,
        scale=scale,
        objective=cp.Minimize(objective),
        constraints=rows,
        parameters=parameters,
        declared=declared,
        models=term.models,
        factor_width=term.factor_width,
    )


def measure_formulation(
    n_assets: int,
    measure: RiskMeasure | None,
    ratio: bool,
    target: bool,
    costs: TransactionCost | None = None,
    factor_width: int | None = None,
) -> Formulation:
    """min risk_weight * risk(w) - mean_term @ w [+ cost_scale * cost(w)] through an epigraph
    (no risk term: ``measure`` None). Under Charnes-Cooper with ``costs`` the excess return is
    net of the trade's cost: excess @ y - cost_scale * cost(y) >= 1 (as maximum Sharpe).
    ``factor_width``: the covariance is a factor model (terms see it in factor form).

    The formulation's ``data_scale`` c (a power of 2, about 1 / the returns' standard
    deviation, set by ``Allocator._problem(deviation=...)``): a homogeneous measure is written
    at c w (and c times the scale), so its rows and auxiliary variables are
    O(1) whatever the returns' units; its bound is then c^degree risk(w), exactly (see
    ``measure_scale``), and ``risk_weight`` must be divided by ``measure_scale``. Returns of
    std 1e-10 otherwise left rows of 1e-10 coefficients and HiGHS called a 7x worse ratio
    optimal. A constant fixed per build (a Parameter would make the rows not DPP); a
    ``RiskLimit`` uses it too (``ProblemContext.data_scale``)."""
    variable, scale, rows, parameters = _variables(n_assets, ratio and costs is None)
    if ratio and costs is not None:
        scale = cp.Variable(nonneg=True, name="kappa")
        rows = [cp.sum(variable) == scale]
        parameters = {"excess_mean": cp.Parameter(n_assets, name="excess_mean")}
    risk_weight = cp.Parameter(nonneg=True, name="risk_weight")
    mean_term = cp.Parameter(n_assets, name="mean_term")
    parameters.update({"risk_weight": risk_weight, "mean_term": mean_term})
    if costs is not None:
        parameters["cost_scale"] = cp.Parameter(nonneg=True, name="cost_scale")
    if target:
        rows += _target_rows(variable, scale, parameters, n_assets)

    def objective(ctx: ProblemContext):
        goal = -mean_term @ ctx.weights
        extra: list[cp.Constraint] = []
        if costs is not None:
            cost = parameters["cost_scale"] * costs.expression(ctx)
            if ratio:
                extra.append(parameters["excess_mean"] @ ctx.weights - cost >= 1)
            else:
                goal = goal + cost
        if measure is not None:
            scaled = ctx.at_data_scale() if measure.degree in (1, 2) else ctx
            expression, own = measure_expression(measure, scaled)
            bound = cp.Variable(name="risk_bound")
            goal = goal + risk_weight * bound
            extra += [*own, expression <= bound]
        return cp.Minimize(goal), extra

    # a measure's preferred solvers apply to its linear program (no quadratic cost term)
    linear = measure is not None and (costs is None or not costs.impact)
    return Formulation(
        variable=variable,
        scale=scale,
        objective=objective,
        constraints=rows,
        parameters=parameters,
        preferred=measure.preferred_solvers if linear else (),
        factor_width=factor_width,
    )


def measure_scale(measure: RiskMeasure | None, data_scale: float) -> float:
    """The factor c^degree a measure's bound carries when written at c w (1 for a measure
    that is not homogeneous, or no measure)."""
    if measure is None or measure.degree not in (1, 2):
        return 1.0
    return data_scale**measure.degree
