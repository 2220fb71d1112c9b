"""Allocators against the mathematics: closed forms, KKT conditions of bounded problems,
build-once caching, a quant's own constraint, hypothesis properties, and the registry."""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from conftest import (
    SOLVER_ATOL,
    exact_bounded_max_sharpe,
    exact_bounded_min_variance,
    jacobian_tolerance,
    synthetic_returns,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cvxport as cx
from cvxport.allocators import ALLOCATORS, Allocator
from cvxport.allocators.risk_budget import risk_shares
from cvxport.data import load_bundled_market_caps

ATOL = SOLVER_ATOL["CLARABEL"]  # the default solver


def sample_cov(returns: pd.DataFrame) -> np.ndarray:
    """ddof=1 sample covariance, scaled to unit average variance (minimizers unchanged)."""
    cov = np.cov(returns.to_numpy(), rowvar=False)
    return cov / np.mean(np.diag(cov))


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("which", ["crypto", "synthetic"])
def test_unconstrained_minimum_variance_is_normalized_inverse_covariance_times_ones(
    which, crypto_returns, synthetic
):
    returns = crypto_returns if which == "crypto" else synthetic
    cov = np.cov(returns.to_numpy(), rowvar=False)
    closed = np.linalg.solve(cov, np.ones(len(cov)))
    closed /= closed.sum()
    assert closed.min() < 0  # shorts: the long-only default would give another answer
    allocator = cx.MinimumVarianceAllocator(long_only=False)
    weights = allocator.allocate(returns)
    np.testing.assert_allclose(weights.to_numpy(), closed, atol=ATOL, rtol=0)
    assert list(weights.index) == list(returns.columns)
    assert allocator.info_.sum_error <= 1e-9


@pytest.mark.parametrize("risk_free_rate", [0.0, 0.04])
def test_unconstrained_maximum_sharpe_is_normalized_inverse_covariance_times_excess_mean(
    risk_free_rate, crypto_returns
):
    # 24/7 daily data: 365 periods a year, so the per-period rate is 1.04 ** (1 / 365) - 1.
    rf = (1.0 + risk_free_rate) ** (1.0 / 365) - 1.0
    cov = np.cov(crypto_returns.to_numpy(), rowvar=False)
    excess = crypto_returns.mean().to_numpy() - rf
    closed = np.linalg.solve(cov, excess)
    assert closed.sum() > 0  # the tangency portfolio exists on the positive side
    closed /= closed.sum()
    weights = cx.MaximumSharpeAllocator(risk_free_rate, long_only=False).allocate(crypto_returns)
    np.testing.assert_allclose(weights.to_numpy(), closed, atol=ATOL, rtol=0)


def test_long_only_maximum_sharpe_equals_closed_form_when_the_tangency_is_long():
    # Independent assets with exact sample variances 1, 2, 4 (x 1e-4) and means 1, 1.5, 3
    # (x 1e-3): Sigma^-1 mu = (1, 0.75, 0.75) * 10 > 0, normalized (0.4, 0.3, 0.3).
    rng = np.random.default_rng(3)
    draws = rng.normal(size=(400, 3))
    draws -= draws.mean(axis=0)
    draws = np.linalg.solve(np.linalg.cholesky(np.cov(draws, rowvar=False)), draws.T).T
    values = draws * np.sqrt([1e-4, 2e-4, 4e-4]) + np.array([1e-3, 1.5e-3, 3e-3])
    returns = pd.DataFrame(values, columns=["X", "Y", "Z"])
    weights = cx.MaximumSharpeAllocator().allocate(returns)
    np.testing.assert_allclose(weights.to_numpy(), [0.4, 0.3, 0.3], atol=ATOL, rtol=0)


def test_equal_weight_is_one_over_n(crypto_returns):
    weights = cx.EqualWeightAllocator().allocate(crypto_returns)
    np.testing.assert_array_equal(weights.to_numpy(), np.full(11, 1 / 11))


def test_inverse_volatility_is_normalized_inverse_standard_deviation(crypto_returns):
    inverse = 1.0 / crypto_returns.std(ddof=1)
    weights = cx.InverseVolatilityAllocator().allocate(crypto_returns)
    pd.testing.assert_series_equal(
        weights, inverse / inverse.sum(), check_names=False, rtol=1e-12, atol=0
    )


def test_market_cap_weights_are_proportional_to_the_bundled_caps(crypto_returns):
    caps = load_bundled_market_caps("2021-12-31")
    weights = cx.MarketCapAllocator().allocate(crypto_returns, market_caps=caps)
    total = sum(caps.values())
    expected = np.array([caps[s] / total for s in crypto_returns.columns])
    np.testing.assert_allclose(weights.to_numpy(), expected, rtol=1e-12, atol=0)
    # caps given to the constructor are the default for every call
    again = cx.MarketCapAllocator(market_caps=caps).allocate(crypto_returns)
    np.testing.assert_array_equal(again.to_numpy(), weights.to_numpy())


def test_projection_of_a_closed_form_is_the_euclidean_projection(crypto_returns):
    # Projecting 1/11 onto {5% <= w <= 8%, sum = 1} changes nothing; onto a cap of 10% on BTC
    # with BTC's market-cap share ~ 0.56, the excess spreads equally over uncapped assets.
    caps = load_bundled_market_caps("2021-12-31")
    bounds = cx.WeightBounds(0.0, {"BTC/USDT": 0.10})
    weights = cx.MarketCapAllocator().allocate(
        crypto_returns, constraints=[bounds], market_caps=caps
    )
    target = np.array([caps[s] for s in crypto_returns.columns])
    target /= target.sum()
    # Projection onto {sum = 1, w_BTC <= 0.1, w >= 0}: w = target + t on free assets, BTC = 0.1;
    # t = (target_BTC - 0.1) / 10 as long as no free weight goes negative (t > 0 here).
    expected = target + (target[0] - 0.10) / 10
    expected[0] = 0.10
    np.testing.assert_allclose(weights.to_numpy(), expected, atol=ATOL, rtol=0)


def test_risk_contributions_of_min_variance_are_its_weights_at_interior_optimum(crypto_returns):
    # Unconstrained minimum variance: S w = (w'Sw) 1, so each share of risk equals the weight.
    weights = cx.MinimumVarianceAllocator(long_only=False).allocate(crypto_returns)
    shares = risk_shares(weights.to_numpy(), sample_cov(crypto_returns))
    np.testing.assert_allclose(shares, weights.to_numpy(), atol=10 * ATOL)


# --------------------------------------------------------------------------- KKT / active set


@pytest.mark.parametrize("window", ["all", "2021", "2025"])
def test_bounded_minimum_variance_satisfies_kkt_on_real_data(window, crypto_returns):
    returns = crypto_returns if window == "all" else crypto_returns.loc[window]
    lower, upper = 0.05, 0.4
    weights = cx.MinimumVarianceAllocator().allocate(
        returns, constraints=[cx.WeightBounds(lower, upper)]
    )
    w = weights.to_numpy()
    cov = sample_cov(returns)
    # KKT: 2 S w = nu 1 + lambda_lower - lambda_upper, lambda >= 0, complementary slackness.
    gradient = 2.0 * cov @ w
    at_lower, at_upper = w <= lower + 1e-6, w >= upper - 1e-6
    free = ~(at_lower | at_upper)
    assert at_lower.any() and free.any()  # the bounds matter in this test
    tol = jacobian_tolerance(lambda v: 2.0 * cov @ v, w, ATOL)  # = 2 |S|_inf ATOL
    nu = gradient[free].mean()
    assert np.ptp(gradient[free]) <= 2 * tol  # free assets share one marginal variance
    assert np.all(gradient[at_lower] >= nu - tol)  # lambda_lower = gradient - nu >= 0
    assert np.all(gradient[at_upper] <= nu + tol)  # lambda_upper = nu - gradient >= 0
    # The exact solution on that active set, certified by the signs, matches the solver.
    n = len(w)
    exact, nu_exact, lo, hi = exact_bounded_min_variance(
        cov, w, np.full(n, lower), np.full(n, upper)
    )
    exact_gradient = 2.0 * cov @ exact
    assert np.all(exact[~(lo | hi)] > lower) and np.all(exact[~(lo | hi)] < upper)
    assert np.all(exact_gradient[lo] - nu_exact >= 0)
    assert np.all(nu_exact - exact_gradient[hi] >= 0)
    np.testing.assert_allclose(w, exact, atol=ATOL, rtol=0)


def sharpe_gradient(w: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Gradient of mu'w / sqrt(w'Sw): (mu sigma^2 - (mu'w) S w) / sigma^3."""
    variance = w @ cov @ w
    return (mean * variance - (mean @ w) * (cov @ w)) / variance**1.5


@pytest.mark.parametrize("window", ["all", "2021"])
def test_bounded_maximum_sharpe_satisfies_kkt_on_real_data(window, crypto_returns):
    returns = crypto_returns if window == "all" else crypto_returns.loc[window]
    lower, upper = 0.05, 0.4
    w = (
        cx.MaximumSharpeAllocator()
        .allocate(returns, constraints=[cx.WeightBounds(lower, upper)])
        .to_numpy()
    )
    cov = sample_cov(returns)
    mean = returns.mean().to_numpy()
    # Maximizing the Sharpe ratio: gradient = nu 1 - lambda_lower + lambda_upper, lambda >= 0.
    gradient = sharpe_gradient(w, mean, cov)
    at_lower, at_upper = w <= lower + 1e-6, w >= upper - 1e-6
    free = ~(at_lower | at_upper)
    assert at_lower.any() and free.sum() >= 2
    tol = jacobian_tolerance(lambda v: sharpe_gradient(v, mean, cov), w, ATOL)
    nu = gradient[free].mean()
    assert np.ptp(gradient[free]) <= 2 * tol
    assert np.all(gradient[at_lower] <= nu + tol)
    assert np.all(gradient[at_upper] >= nu - tol)
    # The exact Charnes-Cooper solution on that active set, certified by its multipliers.
    n = len(w)
    exact, r, lo, hi = exact_bounded_max_sharpe(
        cov, mean / np.abs(mean).max(), w, np.full(n, lower), np.full(n, upper)
    )
    interior = exact[~(lo | hi)]
    assert np.all((interior > lower) & (interior < upper))
    assert np.all(r[lo] >= 0) and np.all(r[hi] <= 0)
    np.testing.assert_allclose(w, exact, atol=ATOL, rtol=0)


# --------------------------------------------------------------------------- build once


def rolling_windows(returns: pd.DataFrame, count: int = 50, length: int = 180, step: int = 5):
    return [returns.iloc[i * step : i * step + length] for i in range(count)]


BUILD_ONCE = {
    "minimum_variance_cvxpy": (lambda: cx.MinimumVarianceAllocator(solver="CLARABEL"), {}),
    "maximum_sharpe": (lambda: cx.MaximumSharpeAllocator(), {}),
    "risk_budget_cvxpy": (
        lambda: cx.RiskBudgetAllocator(solver="CLARABEL"),
        {"risk_budget": {"BTC/USDT": 0.5, "ETH/USDT": 0.3, "BNB/USDT": 0.2}},
    ),
    "equal_weight_projected": (lambda: cx.EqualWeightAllocator(), {}),
}


@pytest.mark.parametrize("name", list(BUILD_ONCE))
def test_fifty_rolling_allocations_build_the_problem_once(name, crypto_returns):
    make, data = BUILD_ONCE[name]
    returns = crypto_returns[["BTC/USDT", "ETH/USDT", "BNB/USDT"]].loc["2020-10":"2021-12"]
    allocator = make()
    bounds = cx.WeightBounds(0.05, {"ETH/USDT": 0.3})
    objectives = []
    for window in rolling_windows(returns):
        weights = allocator.allocate(window, constraints=[bounds], **data)
        assert allocator.build_count_ == 1
        assert allocator.info_.build_count == 1
        assert abs(weights.sum() - 1) <= ATOL
        assert weights.min() >= 0.05 - ATOL and weights["ETH/USDT"] <= 0.3 + ATOL
        objectives.append(allocator.info_.objective)
    if not name.startswith("equal"):  # the new data reached the solver in every window
        assert np.all(np.abs(np.diff(objectives)) > 1e-9)
    if name.startswith("equal"):  # 1/3 projected onto ETH <= 0.3: the excess splits evenly
        np.testing.assert_allclose(weights.to_numpy(), [0.35, 0.3, 0.35], atol=ATOL)
    # a new universe is a new problem
    two = returns.iloc[:200, :2]
    allocator.allocate(two, constraints=[cx.WeightBounds(0.1, 0.9)], **_two(data))
    assert allocator.build_count_ == 2


def _two(data: dict) -> dict:
    if "risk_budget" in data:
        return {"risk_budget": {"BTC/USDT": 0.5, "ETH/USDT": 0.5}}
    return data


# --------------------------------------------------------------------------- a quant's constraint


@dataclass(frozen=True)
class BitcoinAtLeastEther(cx.Constraint):
    """BTC's weight at least ETH's (fractions of NAV), as a quant would write it."""

    def build(self, ctx):
        return [ctx.weight("BTC/USDT") >= ctx.weight("ETH/USDT")]


def ether_friendly_returns() -> pd.DataFrame:
    """Synthetic returns where ETH is calmer and better paid than BTC (a 2-factor model)."""
    returns = synthetic_returns(
        11, n_assets=4, n_periods=400, columns=["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT"]
    )
    returns["BTC/USDT"] = 1.6 * returns["BTC/USDT"] - 3e-4
    returns["ETH/USDT"] = 0.7 * returns["ETH/USDT"] + 8e-4
    return returns


QUANT_METHODS = {
    "minimum_variance": (cx.MinimumVarianceAllocator, {}),
    "maximum_sharpe": (cx.MaximumSharpeAllocator, {}),
    "risk_budget": (
        lambda: cx.RiskBudgetAllocator(),
        {"risk_budget": {"BTC/USDT": 0.25, "ETH/USDT": 0.4, "SOL/USDT": 0.2, "BNB/USDT": 0.15}},
    ),
}


@pytest.mark.parametrize("name", list(QUANT_METHODS))
def test_a_quants_own_constraint_holds_where_it_would_be_violated(name):
    make, data = QUANT_METHODS[name]
    returns = ether_friendly_returns()
    free = make().allocate(returns, **data)
    assert free["ETH/USDT"] > free["BTC/USDT"] + 0.01  # violated without the constraint
    allocator = make()
    weights = allocator.allocate(returns, constraints=[BitcoinAtLeastEther()], **data)
    assert weights["BTC/USDT"] >= weights["ETH/USDT"] - ATOL
    # it binds: the optimum moves to the boundary BTC = ETH
    assert weights["BTC/USDT"] == pytest.approx(weights["ETH/USDT"], abs=ATOL)
    assert abs(weights.sum() - 1) <= ATOL
    # a linear rule keeps the QPs exact; the risk budget leaves Newton for Clarabel
    assert allocator.info_.solver == ("CLARABEL" if "risk" in name else "ACTIVE_SET")


def test_a_quants_own_constraint_matches_a_plain_cvxpy_minimum_variance():
    returns = ether_friendly_returns()
    cov = sample_cov(returns)
    w = cp.Variable(4)
    problem = cp.Problem(cp.Minimize(cp.quad_form(w, cov)), [cp.sum(w) == 1, w >= 0, w[0] >= w[1]])
    problem.solve(solver="CLARABEL", **cx.SOLVER_OPTIONS["CLARABEL"])
    weights = cx.MinimumVarianceAllocator().allocate(returns, constraints=[BitcoinAtLeastEther()])
    np.testing.assert_allclose(weights.to_numpy(), w.value, atol=2 * ATOL, rtol=0)


# --------------------------------------------------------------------------- hypothesis


@st.composite
def returns_cases(draw, min_assets: int = 3, max_assets: int = 7):
    seed = draw(st.integers(0, 2**31 - 1))
    n = draw(st.integers(min_assets, max_assets))
    periods = draw(st.integers(60, 300))
    return synthetic_returns(seed, n_assets=n, n_periods=periods)


PROPERTY = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def make_allocator(method: cx.AllocationMethod, returns: pd.DataFrame):
    """An allocator of ``method`` and the data its allocate call needs."""
    cls = ALLOCATORS[method]
    n = returns.shape[1]
    data = {}
    if method is cx.AllocationMethod.MARKET_CAP_WEIGHT:
        data = {"market_caps": {s: float(i + 1) for i, s in enumerate(returns.columns)}}
    if method is cx.AllocationMethod.RISK_BUDGETING:
        budget = np.arange(1, n + 1, dtype=float)
        budget /= budget.sum()
        budget[-1] = 1.0 - budget[:-1].sum()
        data = {"risk_budget": dict(zip(returns.columns, budget, strict=True))}
    return cls(), data


@PROPERTY
@given(returns=returns_cases(), method=st.sampled_from(list(cx.AllocationMethod)))
def test_weights_sum_to_one_for_every_method(returns, method):
    allocator, data = make_allocator(method, returns)
    weights = allocator.allocate(returns, **data)
    assert abs(weights.sum() - 1) <= ATOL
    assert (weights >= -ATOL).all()  # long-only by default
    assert list(weights.index) == list(returns.columns)


@st.composite
def bounds_cases(draw):
    returns = draw(returns_cases())
    n = returns.shape[1]
    lower = draw(st.floats(0.0, 0.9 / n))
    upper = draw(st.floats(1.1 / n, 1.0))
    return returns, lower, upper


@PROPERTY
@given(case=bounds_cases(), method=st.sampled_from(list(cx.AllocationMethod)))
def test_weight_bounds_hold_for_every_method(case, method):
    returns, lower, upper = case
    allocator, data = make_allocator(method, returns)
    weights = allocator.allocate(returns, constraints=[cx.WeightBounds(lower, upper)], **data)
    assert abs(weights.sum() - 1) <= ATOL
    assert weights.min() >= lower - ATOL
    assert weights.max() <= upper + ATOL
    if allocator.info_ is not None:
        assert allocator.info_.max_bound_violation <= ATOL


# HRP is left out on purpose: its bisection halves the leaf order, and scipy orders the two
# children of a merge by cluster index, so relabelling assets can change the halves.
EQUIVARIANT = [
    cx.AllocationMethod.EQUAL_WEIGHT,
    cx.AllocationMethod.INVERSE_VOLATILITY,
    cx.AllocationMethod.MINIMUM_VARIANCE,
    cx.AllocationMethod.MAXIMUM_SHARPE,
    cx.AllocationMethod.RISK_PARITY,
]


@PROPERTY
@given(
    returns=returns_cases(),
    method=st.sampled_from(EQUIVARIANT),
    bounded=st.booleans(),
    data=st.data(),
)
def test_permuting_columns_permutes_weights(returns, method, bounded, data):
    order = data.draw(st.permutations(list(returns.columns)))
    constraints = [cx.WeightBounds(0.02, 0.5)] if bounded else []
    weights = ALLOCATORS[method]().allocate(returns, constraints=constraints)
    permuted = ALLOCATORS[method]().allocate(returns[order], constraints=constraints)
    assert list(permuted.index) == order
    np.testing.assert_allclose(permuted.to_numpy(), weights[order].to_numpy(), atol=2 * ATOL)


@PROPERTY
@given(
    returns=returns_cases(),
    factor=st.floats(1e-3, 1e3),
    bounded=st.booleans(),
)
def test_scaling_returns_leaves_minimum_variance_weights_unchanged(returns, factor, bounded):
    constraints = [cx.WeightBounds(0.05, 0.6)] if bounded else []
    weights = cx.MinimumVarianceAllocator().allocate(returns, constraints=constraints)
    scaled = cx.MinimumVarianceAllocator().allocate(returns * factor, constraints=constraints)
    np.testing.assert_allclose(scaled.to_numpy(), weights.to_numpy(), atol=2 * ATOL)


# --------------------------------------------------------------------------- registry


def test_allocation_method_registry_is_complete():
    assert set(ALLOCATORS) == set(cx.AllocationMethod)
    for method, cls in ALLOCATORS.items():
        assert isinstance(method, cx.AllocationMethod)
        assert isinstance(cls, type) and issubclass(cls, Allocator)
        assert cls is not Allocator
        assert cx.allocators.allocator_class(method.value) is cls
        assert cx.allocators.allocator_class(method.name) is cls
    assert cx.ALLOCATORS is ALLOCATORS
    assert len(set(ALLOCATORS.values())) == len(ALLOCATORS)  # no method shares a class


def test_unknown_allocation_method_is_named():
    with pytest.raises(cx.InvalidInputError, match="'mean_variance'"):
        cx.AllocationMethod.parse("mean_variance")
