"""Risk measures (cvxport.risk): numpy values against independent definitions, cvxpy
expressions against the values, homogeneity in ctx.scale, RiskLimit in every convex method,
and named errors.

Tolerances: an expression evaluated by a tight Clarabel solve (SOLVER_OPTIONS, 1e-10) matches
the numpy value within 1e-8 relative (measured worst 3e-10); a binding limit holds within
1e-7 relative of the limit (Clarabel's feasibility at the O(1e-2) scale of the rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_returns
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from user_measures import WorstLoss

from cvxport import (
    InfeasibleError,
    InvalidInputError,
    MaximumSharpeAllocator,
    MeanRiskAllocator,
    MinimumVarianceAllocator,
    RiskParityAllocator,
    WeightBounds,
)
from cvxport.constraints.base import ProblemContext
from cvxport.constraints.window import PREFIX, window_value
from cvxport.risk import (
    CDaR,
    CVaR,
    MeanAbsoluteDeviation,
    RiskLimit,
    RiskMeasure,
    SemiDeviation,
    SemiVariance,
    StandardDeviation,
    TrackingError,
    Variance,
    measure_expression,
    risk_measure,
    tail_mean,
)
from cvxport.solvers import SOLVER_OPTIONS

EXPRESSION_RTOL = 1e-8
LIMIT_RTOL = 1e-7


@pytest.fixture(scope="module")
def window() -> pd.DataFrame:
    return synthetic_returns(11, n_assets=5, n_periods=97)  # (1 - 0.95) * 97 = 4.85


def weights_of(seed: int, n: int = 5) -> np.ndarray:
    w = np.random.default_rng(seed).uniform(0.0, 1.0, n)
    return w / w.sum()


# --- independent definitions ------------------------------------------------------------------
def cvar_by_sorting(losses: np.ndarray, beta: float) -> float:
    """Mean of the worst (1 - beta) T losses, the boundary loss weighted by the fraction left."""
    worst = sorted(losses, reverse=True)
    room, total = (1 - beta) * len(worst), 0.0
    left = room
    for loss in worst:
        take = min(1.0, left)
        total += take * loss
        left -= take
        if left <= 0:
            break
    return total / room


def cvar_by_minimizing(losses: np.ndarray, beta: float) -> float:
    """Rockafellar-Uryasev: min over zeta (a breakpoint: one of the losses) of the RU function."""
    k = (1 - beta) * len(losses)
    return min(z + np.maximum(losses - z, 0).sum() / k for z in losses)


def drawdowns_by_loop(r: np.ndarray) -> np.ndarray:
    out, total, peak = [], 0.0, 0.0
    for x in r:
        total += x
        peak = max(peak, total)
        out.append(peak - total)
    return np.array(out)


@given(
    losses=st.lists(st.floats(-0.2, 0.2), min_size=3, max_size=60),
    beta=st.floats(0.5, 0.99),
)
@settings(max_examples=60, deadline=None)
def test_tail_mean_is_the_rockafellar_uryasev_minimum(losses, beta):
    losses = np.array(losses)
    assert tail_mean(losses, beta) == pytest.approx(cvar_by_minimizing(losses, beta), abs=1e-12)
    assert tail_mean(losses, beta) == pytest.approx(cvar_by_sorting(losses, beta), abs=1e-12)


def test_values_against_numpy_definitions(window):
    w = weights_of(1)
    r = window.to_numpy() @ w
    frame = pd.Series(r)
    benchmark = window.iloc[:, 0].to_numpy()
    assert Variance().value(w, window) == pytest.approx(frame.var(), rel=1e-12)
    assert StandardDeviation().value(w, window) == pytest.approx(frame.std(), rel=1e-12)
    assert MeanAbsoluteDeviation().value(w, window) == pytest.approx(
        (frame - frame.mean()).abs().mean(), rel=1e-12
    )
    below = [min(x - r.mean(), 0.0) ** 2 for x in r]
    assert SemiVariance().value(w, window) == pytest.approx(sum(below) / (len(r) - 1), rel=1e-12)
    below0 = [min(x - 0.001, 0.0) ** 2 for x in r]
    assert SemiDeviation(0.001).value(w, window) == pytest.approx(
        math.sqrt(sum(below0) / (len(r) - 1)), rel=1e-12
    )
    assert CVaR(0.95).value(w, window) == pytest.approx(cvar_by_sorting(-r, 0.95), rel=1e-12)
    assert CDaR(0.9).value(w, window) == pytest.approx(
        cvar_by_sorting(drawdowns_by_loop(r), 0.9), rel=1e-12
    )
    te = pd.Series(r - benchmark).std()
    symbol = window.columns[0]
    assert TrackingError({symbol: 1.0}).value(w, window) == pytest.approx(te, rel=1e-12)
    assert TrackingError().value(w, window, benchmark_returns=benchmark) == pytest.approx(te)
    annual = TrackingError({symbol: 1.0}, periods_per_year=365).value(w, window)
    assert annual == pytest.approx(te * math.sqrt(365), rel=1e-12)


MEASURES = [
    Variance(),
    StandardDeviation(),
    SemiVariance(),
    SemiDeviation(),
    SemiDeviation(0.0005),
    MeanAbsoluteDeviation(),
    CVaR(0.95),
    CVaR(0.8),
    CDaR(0.9),
    TrackingError({"A0": 0.5, "A2": 0.5}),
]


def expression_at(measure: RiskMeasure, w: np.ndarray, window: pd.DataFrame, k: float = 1.0):
    """Minimum over the measure's auxiliary variables of its expression at weights k w, scale k
    (a Variable fixed to k, as kappa is), with the window's data filled."""
    y = cp.Variable(len(w))
    scale = cp.Variable(nonneg=True)
    ctx = ProblemContext(y, scale, window.columns, n_periods=len(window))
    expression, rows = measure_expression(measure, ctx)
    rows += [y == k * w, scale == k]
    for name, parameter in ctx.parameters.items():
        parameter.value = window_value(name[len(PREFIX) :], window, {}, {})
    problem = cp.Problem(cp.Minimize(expression), rows)
    problem.solve(solver="CLARABEL", **SOLVER_OPTIONS["CLARABEL"])
    return problem.value


@pytest.mark.parametrize("measure", MEASURES, ids=repr)
def test_expression_equals_value_and_is_homogeneous(measure, window):
    w = weights_of(2)
    value = measure.value(w, window)
    assert expression_at(measure, w, window) == pytest.approx(value, rel=EXPRESSION_RTOL)
    k = 3.7
    expected = value * k ** (measure.degree or 1)
    assert expression_at(measure, w, window, k) == pytest.approx(expected, rel=EXPRESSION_RTOL)


@given(seed=st.integers(0, 10_000), k=st.floats(0.05, 20.0))
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_cvar_expression_is_positively_homogeneous(window, seed, k):
    w = weights_of(seed)
    value = CVaR(0.9).value(w, window)
    assert expression_at(CVaR(0.9), w, window, k) == pytest.approx(k * value, rel=1e-7)


def test_measures_are_frozen_hashable_and_named():
    assert CVaR(0.9) == CVaR(0.9) and hash(CVaR(0.9)) == hash(CVaR(0.9))
    assert repr(CVaR(0.9)) == "CVaR(beta=0.9)"
    assert TrackingError({"B": 0.5, "A": 0.5}) == TrackingError({"A": 0.5, "B": 0.5})
    assert risk_measure("cvar") == CVaR(0.95) and risk_measure("MAD") == MeanAbsoluteDeviation()
    assert Variance().root() == StandardDeviation() and SemiVariance(0.0).root() == SemiDeviation(0)
    with pytest.raises(InvalidInputError, match="unknown risk measure 'vol'"):
        risk_measure("vol")
    for bad in (1.5, 0, "0.9", None, True):
        with pytest.raises(InvalidInputError, match=r"CVaR.beta must be a number in \(0, 1\)"):
            CVaR(bad)
    with pytest.raises(InvalidInputError, match=r"CDaR\.beta"):
        CDaR(1.0)
    with pytest.raises(InvalidInputError, match=r"SemiDeviation\.target"):
        SemiDeviation("low")
    with pytest.raises(InvalidInputError, match=r"TrackingError\.benchmark_weights"):
        TrackingError(["BTC"])
    with pytest.raises(InvalidInputError, match=r"TrackingError\.periods_per_year"):
        TrackingError(periods_per_year=-5)
    with pytest.raises(InvalidInputError, match=r"RiskLimit\.limit must be a number >= 0"):
        RiskLimit(CVaR(), -0.1)
    with pytest.raises(InvalidInputError, match=r"RiskLimit\.measure must be a RiskMeasure"):
        RiskLimit("cvar", 0.1)


# --- RiskLimit in every convex method ---------------------------------------------------------
METHODS = [MinimumVarianceAllocator, MaximumSharpeAllocator, RiskParityAllocator]
LIMITED = [CVaR(0.95), TrackingError({"A0": 1.0}), Variance(), CDaR(0.9), SemiDeviation()]


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("measure", LIMITED, ids=repr)
def test_risk_limit_binds_in_every_method(method, measure):
    if method is MinimumVarianceAllocator and measure == Variance():
        return  # the method minimizes that measure: no limit between its minimum and its answer
    returns = synthetic_returns(5, n_assets=5, n_periods=120)
    free = measure.value(method().allocate(returns), returns)
    least = measure.value(MeanRiskAllocator(measure).allocate(returns), returns)
    assert free > least * (1 + 1e-3)
    limit = (least + free) / 2
    allocator = method(constraints=[RiskLimit(measure, limit)])
    weights = allocator.allocate(returns)
    assert weights.sum() == pytest.approx(1.0, abs=1e-9)
    assert measure.value(weights, returns) <= limit * (1 + LIMIT_RTOL)
    # the limit binds: the unconstrained optimum violated it, and the optimum is unique
    assert measure.value(weights, returns) == pytest.approx(limit, rel=1e-6)


def test_tracking_error_from_benchmark_data_of_allocate():
    returns = synthetic_returns(6, n_assets=4, n_periods=80)
    benchmark = pd.Series([0.25, 0.25, 0.5, 0.0], index=returns.columns)
    limit = RiskLimit(TrackingError(), 0.002)
    by_weights = MinimumVarianceAllocator(constraints=[limit]).allocate(
        returns, benchmark_weights=benchmark
    )
    by_returns = MinimumVarianceAllocator(constraints=[limit]).allocate(
        returns, benchmark_returns=returns @ benchmark
    )
    np.testing.assert_allclose(by_weights, by_returns, atol=1e-7)
    te = TrackingError().value(by_weights, returns, benchmark_weights=benchmark)
    assert te <= 0.002 * (1 + LIMIT_RTOL)
    with pytest.raises(InvalidInputError, match=r"uses ctx\.benchmark_returns: pass"):
        MinimumVarianceAllocator(constraints=[limit]).allocate(returns)


def test_impossible_limit_is_named():
    returns = synthetic_returns(7, n_assets=4, n_periods=60)
    limit = RiskLimit(CVaR(0.95), 1e-6)
    with pytest.raises(InfeasibleError, match=r"RiskLimit\(measure=CVaR\(beta=0.95\)") as info:
        MinimumVarianceAllocator(constraints=[limit]).allocate(returns)
    assert limit in info.value.conflicting


@dataclass(frozen=True)
class SquaredLoss(RiskMeasure):
    """Not homogeneous: usable only where the scale is 1."""

    degree = None

    def expression(self, ctx):
        return cp.sum_squares(ctx.returns @ ctx.weights) + cp.sum(ctx.weights), []


@dataclass(frozen=True)
class Concave(RiskMeasure):
    def expression(self, ctx):
        return cp.min(ctx.returns @ ctx.weights), []


@dataclass(frozen=True)
class NotDPP(RiskMeasure):
    def expression(self, ctx):
        return cp.norm(ctx.returns @ (ctx.covariance @ ctx.weights)), []


def test_user_measures_are_checked_by_name():
    returns = synthetic_returns(8, n_assets=4, n_periods=60)
    least = WorstLoss().value(MeanRiskAllocator(WorstLoss()).allocate(returns), returns)
    free = WorstLoss().value(MaximumSharpeAllocator().allocate(returns), returns)
    limit = RiskLimit(WorstLoss(), (least + free) / 2)
    weights = MaximumSharpeAllocator(constraints=[limit]).allocate(returns)
    assert WorstLoss().value(weights, returns) == pytest.approx(limit.limit, rel=1e-7)
    MinimumVarianceAllocator(constraints=[RiskLimit(SquaredLoss(), 2.0)]).allocate(returns)
    with pytest.raises(InvalidInputError, match=r"SquaredLoss\(\) is not positively homogeneous"):
        MaximumSharpeAllocator(constraints=[RiskLimit(SquaredLoss(), 2.0)]).allocate(returns)
    with pytest.raises(InvalidInputError, match=r"Concave\(\) gave an expression that is not"):
        MinimumVarianceAllocator(constraints=[RiskLimit(Concave(), 1.0)]).allocate(returns)
    with pytest.raises(InvalidInputError, match=r"NotDPP\(\) gave an expression that is not DPP"):
        MeanRiskAllocator(NotDPP()).allocate(returns)


def test_impossible_tracking_error_limit_is_named():
    returns = synthetic_returns(9, n_assets=4, n_periods=60)
    limit = RiskLimit(TrackingError(), 1e-6)  # a benchmark outside the bounds cannot be tracked
    bounds = WeightBounds(0.0, 0.3)
    with pytest.raises(InfeasibleError, match=r"WeightBounds.*and RiskLimit\(measure=Tracking"):
        MinimumVarianceAllocator(constraints=[bounds, limit]).allocate(
            returns, benchmark_weights=pd.Series([0.7, 0.1, 0.1, 0.1], index=returns.columns)
        )
