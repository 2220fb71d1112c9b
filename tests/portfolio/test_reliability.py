"""Reliability of the modeling layer (issue 9): each case found by probing gets a named error
or a correct answer, checked here against closed forms or independent computations."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL, returns_with_covariance
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxport as cx
from cvxport.allocators import ALLOCATORS
from cvxport.constraints import conflicting_constraints, is_feasible
from cvxport.constraints.bound_conflicts import check_bound_objects

# --- maximum Sharpe on badly scaled assets ---------------------------------------------------
# Uncorrelated assets: the long-only tangency portfolio is w_i ~ max(mu_i, 0) / sigma_i^2 (the
# KKT conditions separate per asset), whatever each asset's scale.
VOLS = np.array([0.02, 0.03, 0.01])
SCALES = np.array([1e-6, 1e3, 1.0])  # x in millionths, y in thousands, z as is
FOUR = ["a", "b", "c", "d"]


def _badly_scaled(means) -> pd.DataFrame:
    base = returns_with_covariance(np.diag(VOLS**2), 300, seed=3, columns=["x", "y", "z"])
    return (base + np.asarray(means)) * SCALES


def _uncorrelated_tangency(returns: pd.DataFrame) -> np.ndarray:
    mean, variance = returns.mean().to_numpy(), returns.var().to_numpy()
    weights = np.maximum(mean, 0.0) / variance
    return weights / weights.sum()


@pytest.mark.parametrize(
    "means",
    [
        (1e-3, -1e-3, -2e-3),  # only x (scaled 1e-6) beats the risk-free rate
        (1e-3, -1e-3, 5e-4),  # x and z do; x's Sharpe ratio is the larger
        (1e-3, 2e-3, 5e-4),
    ],
)
def test_max_sharpe_badly_scaled_assets_exact_path(means):
    # main said "no portfolio ... has an expected return above the risk-free rate (best single
    # asset: 'x' ...)" for the first case and was 0.47 off for the second
    returns = _badly_scaled(means)
    allocator = cx.MaximumSharpeAllocator()
    weights = allocator.allocate(returns)
    assert allocator.info_.solver == "ACTIVE_SET"
    np.testing.assert_allclose(weights, _uncorrelated_tangency(returns), rtol=0, atol=1e-12)


def _randomly_scaled(seed: int) -> pd.DataFrame:
    """(200, 4) correlated daily returns, means of both signs, each asset scaled 1e-6..1e3."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 0.02, (200, 4))
    base -= base.mean(axis=0)
    means = rng.choice([-1, 1], 4) * rng.uniform(0.2, 2, 4) * 1e-3
    means[0] = abs(means[0]) if means.max() < 0 else means[0]
    index = pd.date_range("2022-01-01", periods=200, freq="D", name="timestamp")
    scales = 10.0 ** rng.uniform(-6, 3, 4)
    return pd.DataFrame((base + means) * scales, index=index, columns=FOUR)


@pytest.mark.parametrize("seed", [8, 11, 18, 22, 31])
def test_max_sharpe_badly_scaled_correlated_assets_meet_the_kkt_conditions(seed):
    # main fell back to Clarabel on these (the active set's pivots looked singular) and was
    # 0.03 to 0.8 off. The tangency portfolio's KKT conditions, independent of any solver:
    # with lam = mu'w / w'Sw, g = (mu - lam S w) / vol is 0 where w > 0 and <= 0 where w = 0
    # (divided by each volatility: per-asset Sharpe units, comparable across scales).
    returns = _randomly_scaled(seed)
    allocator = cx.MaximumSharpeAllocator()
    weights = allocator.allocate(returns).to_numpy()
    assert allocator.info_.solver == "ACTIVE_SET"
    covariance, mean = returns.cov().to_numpy(), returns.mean().to_numpy()
    lam = (mean @ weights) / (weights @ covariance @ weights)
    g = (mean - lam * covariance @ weights) / np.sqrt(np.diag(covariance))
    held = weights > 0
    assert weights.min() >= 0 and abs(weights.sum() - 1) < 1e-12
    assert np.abs(g[held]).max() < 1e-12  # 2.5e-17 at worst here
    assert np.all(g[~held] < 1e-12)


def test_min_variance_badly_scaled_uncorrelated_assets_is_inverse_variance():
    returns = _badly_scaled((1e-3, -1e-3, 5e-4))
    allocator = cx.MinimumVarianceAllocator()
    weights = allocator.allocate(returns)
    inverse_variance = 1 / returns.var().to_numpy()
    np.testing.assert_allclose(weights, inverse_variance / inverse_variance.sum(), atol=1e-12)
    assert allocator.info_.solver == "ACTIVE_SET"


def test_max_sharpe_badly_scaled_cvxpy_path_names_no_false_infeasibility():
    # the Clarabel path once divided the excess means by max |excess| (y's loss, 1e3 scale): x's
    # excess became 1e-9 and Clarabel called the row infeasible. Now the best asset's is 1.
    # Its weights were within 5e-6 of the tangency portfolio, yet on x's scale (std 2e-8) that
    # put its Sharpe ratio at 0.0119 against 0.05: now refused by name (test_data_scaling.py).
    returns = _badly_scaled((1e-3, -1e-3, -2e-3))
    tangency = _uncorrelated_tangency(returns)
    try:
        weights = cx.MaximumSharpeAllocator(solver="CLARABEL").allocate(returns)
    except cx.SolverError as exc:  # never InfeasibleError: x alone beats the rate
        assert "CLARABEL reported optimal a portfolio of Sharpe ratio" in str(exc)
    else:
        np.testing.assert_allclose(weights, tangency, rtol=0, atol=SOLVER_ATOL["CLARABEL"])
        mean, covariance = returns.mean().to_numpy(), returns.cov().to_numpy()
        sharpe = (mean @ weights) / np.sqrt(weights @ covariance @ weights)
        best = (mean @ tangency) / np.sqrt(tangency @ covariance @ tangency)
        assert sharpe >= best * (1 - 1e-8)


@pytest.mark.skipif("OSQP" not in cx.installed_solvers(), reason="OSQP not installed")
def test_a_solver_that_loses_the_row_to_scaling_is_named_not_believed():
    # OSQP calls this problem infeasible (excess means 1e9 apart after scaling); main then
    # said "no portfolio ... has an expected return above the risk-free rate (best single
    # asset: 'x' ...)". Holding 'x' alone is allowed and beats the rate: a solver failure.
    returns = _badly_scaled((1e-3, -1e-3, -2e-3))
    try:
        weights = cx.MaximumSharpeAllocator(solver="OSQP").allocate(returns)
    except cx.SolverError as exc:
        assert "'x' alone satisfies [LongOnly()] and beats the risk-free rate" in str(exc)
        assert isinstance(exc.__cause__, cx.InfeasibleError)
    else:  # should OSQP ever solve it, the answer must be right
        np.testing.assert_allclose(weights, _uncorrelated_tangency(returns), atol=1e-4)
    # where the constraints do exclude the only asset that beats the rate, it is infeasible
    excluded = cx.WeightBounds(upper={"x": 0.0})
    for solver in ("OSQP", "CLARABEL"):
        with pytest.raises(cx.InfeasibleError, match="no portfolio satisfying"):
            cx.MaximumSharpeAllocator(constraints=[excluded], solver=solver).allocate(returns)


# --- risk budgeting on a singular covariance -------------------------------------------------
def _window(n_rows: int, n_assets: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n_rows, freq="D", name="timestamp")
    columns = [f"A{i}" for i in range(n_assets)]
    return pd.DataFrame(rng.normal(0, 0.02, (n_rows, n_assets)), index=index, columns=columns)


def _independent_shares(weights: pd.Series, returns: pd.DataFrame) -> np.ndarray:
    covariance = np.cov(returns.to_numpy(), rowvar=False)
    marginal = covariance @ weights.to_numpy()
    return weights.to_numpy() * marginal / (weights.to_numpy() @ marginal)


def test_risk_parity_with_an_asset_and_its_exact_negative_names_them():
    # main raised numpy's bare LinAlgError (Newton) or "every solver failed" (cvxpy)
    returns = _window(100, 3, seed=1)
    returns["A3"] = -returns["A0"]
    for solver in (None, "NEWTON", "CLARABEL"):
        with pytest.raises(cx.SingularCovarianceError) as caught:
            cx.RiskParityAllocator(solver=solver).allocate(returns)
        message = str(caught.value)
        assert "'A0': 0.5" in message and "'A3': 0.5" in message
        assert "100 observations of 4 assets" in message and "ledoit_wolf" in message
    assert issubclass(cx.SingularCovarianceError, cx.InvalidInputError)
    # the remedy named works: shrinkage makes the covariance positive definite
    weights = cx.RiskParityAllocator(covariance="ledoit_wolf").allocate(returns)
    shrunk = cx.LedoitWolfCovariance().estimate(returns)
    marginal = shrunk @ weights.to_numpy()
    shares = weights.to_numpy() * marginal / (weights.to_numpy() @ marginal)
    np.testing.assert_allclose(shares, 0.25, rtol=0, atol=1e-9)


def test_risk_budget_with_fewer_observations_than_assets_names_the_counts(crypto_returns):
    # 3 daily rows of the 11 bundled pairs from row 500: main's Newton said "optimal" with
    # risk shares from -0.52 to 2.72, cvxpy "every solver failed"
    returns = crypto_returns.iloc[500:503]
    budget = dict.fromkeys(returns.columns, 1 / 11)
    for solver in (None, "CLARABEL"):
        with pytest.raises(cx.SingularCovarianceError, match=r"3 observations of 11 assets") as e:
            cx.RiskBudgetAllocator(risk_budget=budget, solver=solver).allocate(returns)
        assert f"over {returns.index[0]} .. {returns.index[-1]}" in str(e.value)


@settings(max_examples=40, deadline=None)
@given(
    n_assets=st.integers(3, 8),
    extra_rows=st.integers(-6, 2),
    seed=st.integers(0, 10_000),
)
def test_risk_parity_on_few_rows_is_right_or_refused(n_assets, extra_rows, seed):
    # either the named error, or risk shares of 1/n on the sample covariance (an independent
    # np.cov): a singular covariance without a zero-variance long-only portfolio still has a
    # unique risk-parity portfolio, and it must be the one reported (worst share error over
    # 300 such windows: 5.6e-8; about half of them are refused)
    returns = _window(max(2, n_assets + extra_rows), n_assets, seed)
    try:
        weights = cx.RiskParityAllocator().allocate(returns)
    except cx.SingularCovarianceError:
        return
    assert (weights > 0).all()
    np.testing.assert_allclose(_independent_shares(weights, returns), 1 / n_assets, atol=1e-6)


# --- bound objects that contradict each other ------------------------------------------------
CONFLICTS = [
    # (bound objects, what the message must say); each object alone is feasible over 4 assets
    ([cx.WeightBounds({"a": 0.5}), cx.WeightBounds(upper={"a": 0.3})], "for 'a' the lower"),
    ([cx.WeightBounds(0.2, 1), cx.WeightBounds(upper={"a": 0.1})], "for 'a' the lower"),
    (
        [cx.WeightBounds({"a": 0.5, "b": 0.3}), cx.WeightBounds({"c": 0.3})],
        "lower bounds sum to 1.1",
    ),
    (
        [cx.WeightBounds(0, 0.3), cx.WeightBounds(upper={"a": 0.05, "b": 0.05})],
        "upper bounds to 0.7",
    ),
]


@pytest.mark.parametrize(("bounds", "detail"), CONFLICTS)
@pytest.mark.parametrize(
    "allocator", [cx.HRPAllocator, cx.MinimumVarianceAllocator, cx.EqualWeightAllocator]
)
def test_two_bound_objects_impossible_together_are_named(bounds, detail, allocator):
    # main's HRP returned weights outside the bounds (e.g. 0.4 for 'a' under upper 0.3)
    returns = _window(100, 4, seed=0).set_axis(FOUR, axis=1)
    extra = [cx.WeightBounds(0.0, 0.9)]  # a bystander, not part of the conflict
    with pytest.raises(cx.InfeasibleError, match=detail) as caught:
        allocator(constraints=bounds + extra).allocate(returns)
    assert set(caught.value.conflicting) == set(bounds)


@settings(max_examples=30, deadline=None)
@given(
    lowers=st.lists(st.lists(st.sampled_from([0.0, 0.1, 0.3, 0.6]), min_size=4, max_size=4),
                    min_size=1, max_size=3),
    uppers=st.lists(st.lists(st.sampled_from([0.05, 0.2, 0.4, 1.0]), min_size=4, max_size=4),
                    min_size=1, max_size=3),
)  # fmt: skip
def test_bound_conflicts_agree_with_the_solver_diagnosis(lowers, uppers):
    assets = pd.Index(FOUR)
    bounds = [cx.WeightBounds(dict(zip(FOUR, lo, strict=True))) for lo in lowers]
    bounds += [cx.WeightBounds(upper=dict(zip(FOUR, up, strict=True))) for up in uppers]
    expected = conflicting_constraints(bounds, assets)  # small cvxpy problems
    try:
        check_bound_objects(bounds, assets)
    except cx.InfeasibleError as exc:
        assert expected, "named a conflict the solver does not find"
        assert not is_feasible(list(exc.conflicting), assets)
        for dropped in exc.conflicting:  # irreducible: each object is needed
            assert is_feasible([c for c in exc.conflicting if c is not dropped], assets)
    else:
        assert not expected


def test_long_only_with_a_negative_lower_bound_is_named():
    # main dropped the -0.2 silently: the answer had no short position
    returns = _window(100, 4, seed=0).set_axis(FOUR, axis=1)
    bounds = cx.WeightBounds(-0.2, 0.5)
    for allocator in (cx.MinimumVarianceAllocator, cx.MaximumSharpeAllocator, cx.HRPAllocator):
        with pytest.raises(cx.InvalidInputError, match=r"LongOnly\(\) contradicts WeightBounds"):
            allocator(constraints=[bounds]).allocate(returns)
    with pytest.raises(cx.InvalidInputError, match="long_only=False"):
        cx.MinimumVarianceAllocator().allocate(returns, constraints=[bounds, cx.LongOnly()])
    # as asked: short positions down to -0.2 once long_only=False
    weights = cx.MinimumVarianceAllocator(constraints=[bounds], long_only=False).allocate(returns)
    assert weights.min() >= -0.2 - 1e-12 and weights.max() <= 0.5 + 1e-12


# --- returns out of time order ---------------------------------------------------------------
def _method_data(method: cx.AllocationMethod, columns) -> dict:
    if method is cx.AllocationMethod.MARKET_CAP_WEIGHT:
        return {"market_caps": dict.fromkeys(columns, 1.0)}
    if method is cx.AllocationMethod.RISK_BUDGETING:
        return {"risk_budget": dict.fromkeys(columns, 1 / len(columns))}
    return {}


@pytest.mark.parametrize("method", list(cx.AllocationMethod))
def test_allocators_refuse_unsorted_or_repeated_timestamps(method, crypto_2021):
    # main accepted both: the EWMA estimators then weighted the wrong end of the window
    returns = crypto_2021.iloc[:60, :4]
    allocator = ALLOCATORS[method]()
    data = _method_data(method, returns.columns)
    swapped = returns.iloc[[*range(30), 31, 30, *range(32, 60)]]
    with pytest.raises(cx.InvalidInputError, match=r"not in time order: row 31 \(2021-01-31"):
        allocator.allocate(swapped, **data)
    repeated = pd.concat([returns, returns.iloc[[10]]])
    with pytest.raises(cx.InvalidInputError, match=r"2021-01-11 00:00:00 twice \(again at row 60"):
        allocator.allocate(repeated, **data)
    allocator.allocate(returns, **data)  # the same rows in order are fine
    with pytest.raises(cx.InvalidInputError, match="not in time order"):
        cx.EfficientFrontier(returns=returns.iloc[::-1]).calculate(n_points=3)


# --- constructor arguments -------------------------------------------------------------------
# (class, keyword, bad value, what the message must say after "Class.keyword")
BAD_ARGUMENTS = [
    (cx.WeightBounds, "lower", "0.3", "must be a number"),
    (cx.WeightBounds, "upper", None, "must be a number"),
    (cx.WeightBounds, "lower", [0.1, 0.2, 0.3], "mapping symbol -> number"),
    (cx.WeightBounds, "upper", {"BTC/USDT": "0.5"}, "must be a number"),
    (cx.WeightBounds, "lower", True, "must be a number"),
    (cx.WeightBounds, "upper", float("nan"), "finite number"),
    (cx.GroupLimits, "lower", "0.1", "must be a number"),
    (cx.GroupLimits, "upper", None, "must be a number"),
    (cx.GroupLimits, "symbols", "BTC/USDT", "list of symbols"),
    (cx.GroupLimits, "symbols", [["BTC/USDT"]], "entry must be a non-empty string"),
    (cx.GroupLimits, "name", ["majors"], "must be a string"),
    (cx.TurnoverLimit, "limit", "0.2", "must be a number"),
    (cx.TurnoverLimit, "limit", None, "must be a number"),
    (cx.TurnoverLimit, "limit", -0.1, "a number >= 0, got -0.1"),
    (cx.WeightOrdering, "larger", None, "non-empty string"),
    (cx.WeightOrdering, "smaller", ["ETH/USDT"], "non-empty string"),
    (cx.MinimumVarianceAllocator, "fallback", "OSQP", "list of solver names"),
    (cx.MinimumVarianceAllocator, "fallback", 3, "list of solver names"),
    (cx.MinimumVarianceAllocator, "long_only", "yes", "True or False"),
    (cx.MinimumVarianceAllocator, "long_only", None, "True or False"),
    (cx.MinimumVarianceAllocator, "constraints", 5, "list of Constraint objects"),
    (cx.MinimumVarianceAllocator, "constraints", ["WeightBounds"], "is not a cvxport Constraint"),
    (cx.MinimumVarianceAllocator, "covariance", "shrunk", "unknown covariance estimator"),
    (cx.MinimumVarianceAllocator, "covariance", None, "has no estimate"),
    (cx.MinimumVarianceAllocator, "solver", 3, "must be a non-empty string"),
    (cx.MaximumSharpeAllocator, "periods_per_year", -5, "positive integer"),
    (cx.MaximumSharpeAllocator, "periods_per_year", "365", "positive integer"),
    (cx.MaximumSharpeAllocator, "periods_per_year", 252.5, "positive integer"),
    (cx.MaximumSharpeAllocator, "risk_free_rate", "0.04", "must be a number"),
    (cx.MaximumSharpeAllocator, "risk_free_rate", None, "must be a number"),
    (cx.MaximumSharpeAllocator, "risk_free_rate", -1.5, "above -1"),
    (cx.MaximumSharpeAllocator, "expected_returns", "median", "expected-returns estimator"),
    (cx.RiskBudgetAllocator, "risk_budget", [0.5, 0.3, 0.2], "mapping symbol -> value"),
    (cx.RiskBudgetAllocator, "risk_budget", "equal", "mapping symbol -> value"),
    (cx.RiskParityAllocator, "fallback", None, None),  # None: no fallback, accepted
    (cx.MarketCapAllocator, "market_caps", [8e11, 3e11, 5e10], "mapping symbol -> value"),
    (cx.MarketCapAllocator, "market_caps_as_of", "garbage", "a date"),
    (cx.MarketCapAllocator, "market_caps_as_of", 5, "a date"),
    (cx.InverseVolatilityAllocator, "covariance", 0.5, "has no estimate"),
    (cx.EqualWeightAllocator, "long_only", 1, "True or False"),
    (cx.HRPAllocator, "covariance", "shrunk", "unknown covariance estimator"),
    (cx.HRPAllocator, "constraints", cx.LongOnly, "list of Constraint objects"),
    (cx.EWMACovariance, "halflife", "60", "must be a number"),
    (cx.EWMACovariance, "halflife", None, "must be a number"),
    (cx.EWMAMean, "halflife", True, "must be a number"),
    (cx.EWMAMean, "halflife", 0, "must be > 0"),
]
REQUIRED = {cx.GroupLimits: {"symbols": ["BTC/USDT"]}, cx.TurnoverLimit: {"limit": 0.2}}
REQUIRED[cx.WeightOrdering] = {"larger": "BTC/USDT", "smaller": "ETH/USDT"}


@pytest.mark.parametrize(("cls", "keyword", "bad", "says"), BAD_ARGUMENTS)
def test_constructors_name_the_parameter_at_fault(cls, keyword, bad, says):
    # main raised bare TypeError/ValueError/AttributeError, or stored the value as given
    # (tuple('OSQP') became four fallback solvers, long_only='yes' was true)
    arguments = {**REQUIRED.get(cls, {}), keyword: bad}
    if says is None:
        cls(**arguments)
        return
    with pytest.raises(
        cx.InvalidInputError, match=rf"^{cls.__name__}\.{keyword}.*{re.escape(says)}"
    ):
        cls(**arguments)


def test_allocator_arguments_are_checked_when_assigned_later():
    allocator = cx.MaximumSharpeAllocator()
    with pytest.raises(cx.InvalidInputError, match=r"MaximumSharpeAllocator\.periods_per_year"):
        allocator.periods_per_year = -5
    assert allocator.periods_per_year is None  # nothing changed
    allocator.fallback = ["OSQP"]
    assert allocator.fallback == ("OSQP",)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("constraints", 5),
        ("constraints", "WeightBounds"),
        ("periods_per_year", -5),
        ("risk_budget", [0.5, 0.5]),
        ("min_position_weight", "0.05"),
        ("lookback", None),
    ],
)
def test_portfolio_config_names_the_field(field, bad):
    with pytest.raises(cx.InvalidInputError, match=rf"PortfolioConfig\.{field}"):
        cx.PortfolioConfig(**{field: bad})


@pytest.mark.parametrize(
    ("allocator", "data", "says"),
    [
        (cx.RiskBudgetAllocator, {"risk_budget": [0.2, 0.3, 0.5]}, "risk budget must be a mapping"),
        (cx.RiskBudgetAllocator, {"risk_budget": {"a": "0.2", "b": 0.3, "c": 0.5}}, "of 'a' must"),
        (
            cx.MarketCapAllocator,
            {"market_caps": [8e11, 3e11, 5e10]},
            "market cap must be a mapping",
        ),
        (cx.MarketCapAllocator, {"market_caps": 5}, "market cap must be a mapping"),
    ],
)
def test_allocation_data_of_the_wrong_kind_is_named(allocator, data, says):
    # main raised AttributeError: 'list' object has no attribute 'items', or used '0.2'
    returns = _window(60, 3, seed=2).set_axis(["a", "b", "c"], axis=1)
    with pytest.raises(cx.InvalidInputError, match=says):
        allocator().allocate(returns, **data)
    as_series = {key: pd.Series({"a": 0.2, "b": 0.3, "c": 0.5}) for key in data}
    allocator().allocate(returns, **as_series)  # a Series by symbol is a mapping too


def test_previous_weights_of_the_wrong_kind_are_named():
    returns = _window(60, 3, seed=2).set_axis(["a", "b", "c"], axis=1)
    allocator = cx.MinimumVarianceAllocator(constraints=[cx.TurnoverLimit(0.5)])
    with pytest.raises(cx.InvalidInputError, match="previous_weights must be numbers"):
        allocator.allocate(returns, previous_weights="abc")
    by_dict = allocator.allocate(returns, previous_weights={"a": 0.5, "b": 0.5})
    by_series = allocator.allocate(returns, previous_weights=pd.Series({"a": 0.5, "b": 0.5}))
    pd.testing.assert_series_equal(by_dict, by_series)
