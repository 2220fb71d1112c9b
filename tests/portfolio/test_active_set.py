"""The exact active-set path of minimum variance: KKT certificates, agreement with every cvxpy
solver, warm starts, and the fallback to cvxpy where it cannot settle a problem."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL, synthetic_returns
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxport as cx
from cvxport.estimation import unit_scaled
from cvxport.solvers import installed_solvers
from cvxport.solvers.active_set import (
    ActiveSetError,
    bounded_min_variance,
    long_only_max_sharpe,
)

PRIMAL_ATOL = 1e-12  # bounds and budget: the solution holds them to rounding
DUAL_RTOL = 1e-10  # multipliers' signs and stationarity, relative to the variance nu


def kkt_violation(covariance, weights, lower, upper) -> float:
    """Largest KKT violation of w for min w'Sw, sum w = 1, lower <= w <= upper, recomputed
    from w alone: free weights share one marginal variance nu, bound weights have the sign."""
    marginal = covariance @ weights
    at_lower = weights <= lower + PRIMAL_ATOL
    at_upper = weights >= upper - PRIMAL_ATOL
    free = ~(at_lower | at_upper)
    nu = float(weights @ marginal)  # = marginal on the free set when sum(w) = 1 and w' g = 0
    if free.any():
        nu = float(np.mean(marginal[free]))
    g = (marginal - nu) / abs(nu)
    worst_primal = max(float(np.max(lower - weights)), float(np.max(weights - upper)), 0.0)
    worst_primal = max(worst_primal, abs(float(weights.sum()) - 1.0))
    worst_dual = max(
        float(np.max(np.abs(g[free]), initial=0.0)),
        float(np.max(-g[at_lower & ~at_upper], initial=0.0)),
        float(np.max(g[at_upper & ~at_lower], initial=0.0)),
    )
    return max(worst_primal / PRIMAL_ATOL, worst_dual / DUAL_RTOL)


def sample_covariance(returns: pd.DataFrame) -> np.ndarray:
    return unit_scaled(np.cov(returns.to_numpy(), rowvar=False))


CASES = {
    "long_only": [],
    "bounded": [cx.WeightBounds(0.05, 0.4)],
    "per_symbol": [cx.WeightBounds({"BTC/USDT": 0.2}, {"ETH/USDT": 0.1, "BNB/USDT": 0.15})],
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("year", ["2021", "2022", "2025"])
def test_active_set_weights_satisfy_the_kkt_conditions(case, year, crypto_returns):
    returns = crypto_returns.loc[year]
    allocator = cx.MinimumVarianceAllocator(constraints=CASES[case])
    weights = allocator.allocate(returns).to_numpy()
    assert allocator.info_.solver == "ACTIVE_SET" and allocator.build_count_ == 1
    lower, upper = cx.allocators.base.per_asset_bounds(
        allocator.resolve_constraints(None), returns.columns
    )
    assert kkt_violation(sample_covariance(returns), weights, lower, upper) <= 1.0
    assert allocator.info_.sum_error <= PRIMAL_ATOL
    assert allocator.info_.max_bound_violation <= PRIMAL_ATOL


@pytest.mark.parametrize("solver", installed_solvers())
@pytest.mark.parametrize("case", list(CASES))
def test_active_set_agrees_with_every_cvxpy_solver(solver, case, crypto_2021):
    fast = cx.MinimumVarianceAllocator(constraints=CASES[case]).allocate(crypto_2021)
    named = cx.MinimumVarianceAllocator(constraints=CASES[case], solver=solver)
    reference = named.allocate(crypto_2021)
    assert named.info_.solver == solver  # a named solver always solves the cvxpy problem
    np.testing.assert_allclose(fast, reference, atol=SOLVER_ATOL[solver], rtol=0)


def test_unconstrained_active_set_is_the_closed_form(crypto_2021):
    allocator = cx.MinimumVarianceAllocator(long_only=False)
    weights = allocator.allocate(crypto_2021).to_numpy()
    covariance = sample_covariance(crypto_2021)
    exact = np.linalg.solve(covariance, np.ones(len(covariance)))
    np.testing.assert_allclose(weights, exact / exact.sum(), atol=1e-12, rtol=0)
    assert allocator.info_.solver == "ACTIVE_SET" and allocator.info_.iterations == 1
    assert weights.min() < 0  # shorting happens: the bounds were really absent


def test_warm_starts_give_the_cold_answers_in_fewer_iterations(crypto_returns):
    windows = [crypto_returns.iloc[i : i + 252] for i in range(0, 1500, 30)]
    warm = cx.MinimumVarianceAllocator(constraints=CASES["bounded"])
    warm_iterations = cold_iterations = 0
    for window in windows:
        w_warm = warm.allocate(window)
        warm_iterations += warm.info_.iterations
        cold = cx.MinimumVarianceAllocator(constraints=CASES["bounded"])
        w_cold = cold.allocate(window)
        cold_iterations += cold.info_.iterations
        np.testing.assert_allclose(w_warm, w_cold, atol=1e-13, rtol=0)
    assert warm_iterations < cold_iterations


def test_a_wrong_start_still_reaches_the_optimum(crypto_2021):
    covariance = sample_covariance(crypto_2021)
    n = len(covariance)
    lower, upper = np.full(n, 0.02), np.full(n, 0.3)
    cold = bounded_min_variance(covariance, lower, upper)
    everything_at_upper = (np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    wrong = bounded_min_variance(covariance, lower, upper, everything_at_upper)
    np.testing.assert_allclose(wrong.weights, cold.weights, atol=1e-13, rtol=0)
    assert kkt_violation(covariance, wrong.weights, lower, upper) <= 1.0


def test_infeasible_bounds_are_left_to_cvxpy_and_a_start_without_free_weight_is_dropped():
    covariance = np.eye(3)
    with pytest.raises(ActiveSetError, match="summing to 1"):
        bounded_min_variance(covariance, np.full(3, 0.4), np.ones(3))
    everything_fixed = (np.ones(3, dtype=bool), np.zeros(3, dtype=bool))
    solution = bounded_min_variance(covariance, np.zeros(3), np.ones(3), everything_fixed)
    np.testing.assert_allclose(solution.weights, np.full(3, 1 / 3), atol=1e-15)


def test_singular_covariance_falls_back_to_cvxpy_and_says_so():
    returns = synthetic_returns(seed=3, n_assets=12, n_periods=8)  # rank 7 < 12 assets
    allocator = cx.MinimumVarianceAllocator()
    weights = allocator.allocate(returns)
    info = allocator.info_
    assert info.solver == "CLARABEL" and info.fallback_from[0][0] == "ACTIVE_SET"
    assert "singular" in info.fallback_from[0][1]
    assert abs(weights.sum() - 1) <= SOLVER_ATOL["CLARABEL"]
    assert weights.min() >= -SOLVER_ATOL["CLARABEL"]


def test_linear_constraints_take_the_active_set_and_a_named_solver_takes_cvxpy(crypto_2021):
    group = cx.GroupLimits(["BTC/USDT", "ETH/USDT"], upper=0.3, name="majors")
    order = cx.WeightOrdering("SOL/USDT", "BNB/USDT")
    grouped = cx.MinimumVarianceAllocator(constraints=[group, order])
    fast = grouped.allocate(crypto_2021)
    assert grouped.info_.solver == "ACTIVE_SET" and grouped.info_.fallback_from == []
    assert grouped.info_.kkt_residual <= 1e-10
    forced = cx.MinimumVarianceAllocator(constraints=[group, order], solver="CLARABEL")
    reference = forced.allocate(crypto_2021)
    assert forced.info_.solver == "CLARABEL" and forced.build_count_ == 1
    np.testing.assert_allclose(fast, reference, atol=SOLVER_ATOL["CLARABEL"], rtol=0)
    assert fast[["BTC/USDT", "ETH/USDT"]].sum() <= 0.3 + PRIMAL_ATOL


@st.composite
def bounded_problems(draw):
    """A random factor-model covariance (2..12 assets) and feasible random bounds."""
    n = draw(st.integers(2, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(n, 2))
    covariance = loadings @ loadings.T + np.diag(rng.uniform(0.05, 1.0, n))
    lower = rng.uniform(0.0, 1.0 / n, n) * draw(st.sampled_from([0.0, 0.5, 0.99]))
    upper = 1.0 / n + rng.uniform(0.0, 1.0, n) * draw(st.sampled_from([0.01, 0.3, 1.0]))
    return unit_scaled(covariance), lower, upper


@settings(max_examples=60, deadline=None)
@given(bounded_problems())
def test_property_active_set_is_a_kkt_point_no_worse_than_clarabel(problem):
    covariance, lower, upper = problem
    solution = bounded_min_variance(covariance, lower, upper)
    assert kkt_violation(covariance, solution.weights, lower, upper) <= 1.0
    w = cp.Variable(len(covariance))
    reference = cp.Problem(
        cp.Minimize(cp.quad_form(w, cp.psd_wrap(covariance))),
        [cp.sum(w) == 1, w >= lower, w <= upper],
    )
    reference.solve(solver="CLARABEL", **cx.solvers.SOLVER_OPTIONS["CLARABEL"])
    # the KKT certificate above is the exactness proof; Clarabel's answer (feasible to its
    # 1e-10 tolerance) cannot be meaningfully better
    assert solution.variance <= reference.value * (1 + 1e-9)


def test_crossed_bounds_from_two_objects_are_named_as_the_conflict(crypto_2021):
    returns = crypto_2021.iloc[:, :3]
    at_least = cx.WeightBounds(lower={"BTC/USDT": 0.5})
    at_most = cx.WeightBounds(upper={"BTC/USDT": 0.3})
    with pytest.raises(cx.InfeasibleError) as info:
        cx.MinimumVarianceAllocator(constraints=[at_least, at_most]).allocate(returns)
    assert set(info.value.conflicting) == {at_least, at_most}


def test_bounds_leaving_one_feasible_point_give_that_point(crypto_2021):
    returns = crypto_2021.iloc[:, :3]
    lower = dict(zip(returns.columns, [0.5, 0.3, 0.2], strict=True))
    exact = cx.WeightBounds(lower=lower)
    allocator = cx.MinimumVarianceAllocator(constraints=[exact])
    weights = allocator.allocate(returns)
    atol = PRIMAL_ATOL if allocator.info_.solver == "ACTIVE_SET" else SOLVER_ATOL["CLARABEL"]
    np.testing.assert_allclose(weights, [0.5, 0.3, 0.2], atol=atol, rtol=0)


def test_bounds_summing_to_one_up_to_rounding_are_left_to_cvxpy():
    """Regression: lower bounds summing to 1 + 1 ulp once sent the feasible-point search into
    an endless loop; such bounds leave (to rounding) one feasible point: cvxpy decides."""
    covariance = np.array(
        [[0.8446, -0.1568, -0.0863], [-0.1568, 1.4108, 0.1536], [-0.0863, 0.1536, 0.7447]]
    )
    lower = np.array([0.08955223880597016, 0.8805970149253732, 0.02985074626865672])
    upper = lower + np.array([0.1, 0.0, 0.1])
    assert lower.sum() > 1.0  # by one unit in the last place
    with pytest.raises(ActiveSetError, match="room"):
        bounded_min_variance(covariance, lower, upper)


# --- long-only maximum Sharpe (the Charnes-Cooper QP with an excess-mean row) ---------------


def tangency_violation(covariance, excess, weights) -> float:
    """KKT violation of long-only maximum Sharpe weights, from the weights alone: held assets
    share one ratio of marginal variance to excess mean, lambda = w'Sw / mu'w; an asset left
    out has marginal variance >= lambda * its excess mean."""
    marginal = covariance @ weights
    ratio = float(weights @ marginal) / float(excess @ weights)
    held = weights > PRIMAL_ATOL
    gap = (marginal - ratio * excess) / float(weights @ marginal)
    worst_dual = max(float(np.max(np.abs(gap[held]))), float(np.max(-gap[~held], initial=0.0)))
    worst_primal = max(-float(weights.min()), abs(float(weights.sum()) - 1.0), 0.0)
    return max(worst_primal / PRIMAL_ATOL, worst_dual / DUAL_RTOL)


@pytest.mark.parametrize("year", ["2021", "2024", "2025"])  # 2025: 5 of 11 means positive
def test_long_only_max_sharpe_is_a_kkt_point(year, crypto_returns):
    returns = crypto_returns.loc[year]
    allocator = cx.MaximumSharpeAllocator()
    weights = allocator.allocate(returns).to_numpy()
    assert allocator.info_.solver == "ACTIVE_SET" and allocator.build_count_ == 1
    covariance = sample_covariance(returns)
    excess = returns.mean().to_numpy()
    assert tangency_violation(covariance, excess, weights) <= 1.0
    assert (weights[excess <= 0] == 0).all()  # a losing asset never helps a long-only Sharpe


@pytest.mark.parametrize("solver", installed_solvers())
def test_long_only_max_sharpe_agrees_with_every_cvxpy_solver(solver, crypto_returns):
    returns = crypto_returns.loc["2025"]
    fast = cx.MaximumSharpeAllocator().allocate(returns)
    named = cx.MaximumSharpeAllocator(solver=solver)
    reference = named.allocate(returns)
    assert named.info_.solver == solver
    np.testing.assert_allclose(fast, reference, atol=SOLVER_ATOL[solver], rtol=0)


def test_max_sharpe_with_bounds_or_shorting_takes_the_active_set(crypto_2021):
    for constraints, long_only in (([cx.WeightBounds(0.0, 0.4)], True), ([], False)):
        fast = cx.MaximumSharpeAllocator(constraints=constraints, long_only=long_only)
        weights = fast.allocate(crypto_2021)
        assert fast.info_.solver == "ACTIVE_SET" and fast.info_.kkt_residual <= 1e-10
        named = cx.MaximumSharpeAllocator(
            constraints=constraints, long_only=long_only, solver="CLARABEL"
        )
        reference = named.allocate(crypto_2021)
        assert named.info_.solver == "CLARABEL"
        np.testing.assert_allclose(weights, reference, atol=SOLVER_ATOL["CLARABEL"], rtol=0)


@st.composite
def sharpe_problems(draw):
    """A random factor-model covariance (2..12 assets) and excess means, one or more > 0."""
    n = draw(st.integers(2, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    loadings = rng.normal(size=(n, 2))
    covariance = loadings @ loadings.T + np.diag(rng.uniform(0.05, 1.0, n))
    excess = rng.normal(size=n)
    excess[rng.integers(n)] = abs(excess.max()) + 0.1
    return unit_scaled(covariance), excess


@settings(max_examples=60, deadline=None)
@given(sharpe_problems())
def test_property_long_only_max_sharpe_is_a_kkt_point_no_worse_than_clarabel(problem):
    covariance, excess = problem
    solution = long_only_max_sharpe(covariance, excess)
    assert tangency_violation(covariance, excess, solution.weights) <= 1.0
    y = cp.Variable(len(covariance))
    reference = cp.Problem(
        cp.Minimize(cp.quad_form(y, cp.psd_wrap(covariance))), [excess @ y == 1, y >= 0]
    )
    reference.solve(solver="CLARABEL", **cx.solvers.SOLVER_OPTIONS["CLARABEL"])
    assert solution.variance <= reference.value * (1 + 1e-9)
