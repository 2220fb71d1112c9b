"""Risk budgeting and risk parity: shares of risk, Newton against cvxpy, bounds and their KKT."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL, jacobian_tolerance, synthetic_returns
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxport as cx
from cvxport.allocators.risk_budget import newton_risk_budget

SPEC_BUDGET = {"BTC/USDT": 0.5, "ETH/USDT": 0.3, "SOL/USDT": 0.2}  # the spec's example
SHARE_TOL = 1e-6  # the promise: shares of risk within 1e-6 of the budgets
CONIC = ["CLARABEL", "ECOS", "SCS"]  # solvers with the exponential cone
ATOL = SOLVER_ATOL["CLARABEL"]  # the default solver


def shares_of_risk(weights: pd.Series, returns: pd.DataFrame) -> pd.Series:
    """w_i (S w)_i / (w' S w) with S the ddof=1 sample covariance (computed here, not imported)."""
    cov = returns.cov().to_numpy()
    w = weights.to_numpy()
    marginal = cov @ w
    return pd.Series(w * marginal / (w @ marginal), index=weights.index)


def test_spec_example_gives_each_asset_its_share_of_risk(crypto_returns):
    returns = crypto_returns[list(SPEC_BUDGET)]
    allocator = cx.RiskBudgetAllocator()
    weights = allocator.allocate(returns, risk_budget=SPEC_BUDGET)
    shares = shares_of_risk(weights, returns)
    np.testing.assert_allclose(shares.to_numpy(), list(SPEC_BUDGET.values()), atol=SHARE_TOL)
    pd.testing.assert_series_equal(
        allocator.risk_contributions_, shares, check_names=False, atol=1e-12, rtol=0
    )
    assert allocator.risk_budget_.to_dict() == pytest.approx(SPEC_BUDGET)
    assert allocator.info_.solver == "NEWTON"
    assert abs(weights.sum() - 1) <= 1e-12 and (weights > 0).all()
    # BTC is the calmest of the three, so it takes the largest weight and risk share
    assert weights.idxmax() == "BTC/USDT"


def test_budget_in_constructor_or_call_and_in_any_key_order(crypto_returns):
    returns = crypto_returns[list(SPEC_BUDGET)]
    reordered = dict(reversed(list(SPEC_BUDGET.items())))
    from_call = cx.RiskBudgetAllocator().allocate(returns, risk_budget=reordered)
    from_init = cx.RiskBudgetAllocator(risk_budget=SPEC_BUDGET).allocate(returns)
    np.testing.assert_array_equal(from_call.to_numpy(), from_init.to_numpy())


def test_risk_parity_equalizes_shares_on_all_pairs(crypto_returns):
    weights = cx.RiskParityAllocator().allocate(crypto_returns)
    shares = shares_of_risk(weights, crypto_returns)
    np.testing.assert_allclose(shares.to_numpy(), np.full(11, 1 / 11), atol=SHARE_TOL)


def test_two_uncorrelated_assets_are_weighted_inversely_to_volatility():
    # Risk parity of two uncorrelated assets: w1 s1 = w2 s2, so w = (s2, s1) / (s1 + s2).
    cov = np.diag([1.0, 4.0])
    y, _ = newton_risk_budget(cov, np.array([0.5, 0.5]))
    np.testing.assert_allclose(y / y.sum(), [2 / 3, 1 / 3], atol=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(2, 12),
    concentration=st.floats(0.3, 5.0),
)
def test_newton_meets_random_budgets(seed, n, concentration):
    returns = synthetic_returns(seed, n_assets=n, n_periods=200)
    rng = np.random.default_rng(seed)
    budget = rng.dirichlet(np.full(n, concentration))
    budget = np.maximum(budget, 1e-3)
    budget /= budget.sum()
    budget[-1] = 1.0 - budget[:-1].sum()
    weights = cx.RiskBudgetAllocator().allocate(
        returns, risk_budget=dict(zip(returns.columns, budget, strict=True))
    )
    np.testing.assert_allclose(shares_of_risk(weights, returns), budget, atol=SHARE_TOL)


@pytest.mark.parametrize("solver", CONIC)
@pytest.mark.parametrize("universe", ["spec", "all"])
def test_newton_equals_the_cvxpy_log_barrier_solution(solver, universe, crypto_returns):
    if universe == "spec":
        returns, data = crypto_returns[list(SPEC_BUDGET)], {"risk_budget": SPEC_BUDGET}
        make = cx.RiskBudgetAllocator
    else:
        returns, data, make = crypto_returns, {}, cx.RiskParityAllocator
    newton = make().allocate(returns, **data)
    allocator = make(solver=solver)
    convex = allocator.allocate(returns, **data)
    assert allocator.info_.solver == solver
    np.testing.assert_allclose(convex.to_numpy(), newton.to_numpy(), atol=SOLVER_ATOL[solver])


def test_osqp_cannot_take_the_exponential_cone(crypto_returns):
    allocator = cx.RiskBudgetAllocator(solver="OSQP")
    with pytest.raises(cx.SolverError, match="OSQP") as info:
        allocator.allocate(crypto_returns[list(SPEC_BUDGET)], risk_budget=SPEC_BUDGET)
    assert info.value.solver == "OSQP"


# --------------------------------------------------------------------------- with bounds


def barrier_gradient(w: np.ndarray, cov: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Gradient S y - b / y of 0.5 y'Sy - b'log y at y = w / sqrt(w'Sw).

    The constraints are homogeneous (cones), so the optimum over the ray y = t w has
    t^2 = sum(b) / w'Sw = 1 / w'Sw. KKT with lower s <= y_i/1'y <= upper: this gradient is
    one common value c on the free assets, >= c at a lower bound, <= c at an upper bound.
    """
    y = w / np.sqrt(w @ cov @ w)
    return cov @ y - budget / y


@pytest.mark.parametrize(
    "bounds",
    [cx.WeightBounds(0.05, 0.4), cx.WeightBounds(0.0, {"BTC/USDT": 0.1, "ETH/USDT": 0.09})],
    ids=["spec_5_40", "btc_eth_capped"],
)
def test_bounded_risk_parity_satisfies_kkt_and_reports_shares(bounds, crypto_2021):
    returns = crypto_2021
    allocator = cx.RiskParityAllocator()
    weights = allocator.allocate(returns, constraints=[bounds])
    assert allocator.info_.solver == "CLARABEL"  # bounds take the cvxpy path
    lower, upper = bounds.bounds(returns.columns)
    w = weights.to_numpy()
    assert np.all(w >= lower - ATOL) and np.all(w <= upper + ATOL)
    at_lower, at_upper = w <= lower + 1e-6, w >= upper - 1e-6
    assert (at_lower | at_upper).any()  # a bound binds: shares must move off the budgets
    cov = returns.cov().to_numpy()
    cov = cov / np.mean(np.diag(cov))
    budget = np.full(11, 1 / 11)
    gradient = barrier_gradient(w, cov, budget)
    free = ~(at_lower | at_upper)
    tol = jacobian_tolerance(lambda v: barrier_gradient(v, cov, budget), w, ATOL)
    c = gradient[free].mean()
    assert np.ptp(gradient[free]) <= 2 * tol
    assert np.all(gradient[at_lower] >= c - tol)
    assert np.all(gradient[at_upper] <= c + tol)
    # the achieved shares are reported next to the budgets, and they differ where bounds bind
    shares = shares_of_risk(weights, returns)
    np.testing.assert_allclose(allocator.risk_contributions_, shares, atol=1e-12)
    assert allocator.risk_contributions_.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(allocator.risk_budget_, budget)
    assert np.all(shares[at_lower] > 1 / 11)  # held above its parity weight: more risk
    assert np.all(shares[at_upper] < 1 / 11)  # held below: less risk


def test_bounds_that_do_not_bind_leave_the_budgets_met(crypto_returns):
    returns = crypto_returns[list(SPEC_BUDGET)]
    allocator = cx.RiskBudgetAllocator()
    weights = allocator.allocate(
        returns, constraints=[cx.WeightBounds(0.01, 0.99)], risk_budget=SPEC_BUDGET
    )
    assert allocator.info_.solver == "CLARABEL"
    cov = returns.cov().to_numpy()
    tol = jacobian_tolerance(lambda v: v * (cov @ v) / (v @ cov @ v), weights.to_numpy(), ATOL)
    np.testing.assert_allclose(
        shares_of_risk(weights, returns), list(SPEC_BUDGET.values()), atol=tol
    )
