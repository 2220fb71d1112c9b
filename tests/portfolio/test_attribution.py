"""Attribution: Carino linking by hand, the additivity identity, active statistics, alignment."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvxport.analysis import AttributionAnalyzer, carino_factors
from cvxport.config import PortfolioConfig
from cvxport.data import load_bundled_prices
from cvxport.errors import InvalidInputError
from cvxport.manager import PortfolioManager
from cvxport.methods import AllocationMethod

HAND_ATOL = 1e-12  # a few float operations on O(1) numbers
IDENTITY_ATOL = 1e-10  # the bound on sum(contributions) + residual - total return
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]

DATES = pd.date_range("2024-01-01", periods=4, freq="D")
# Weights after each bar's trades (row 0: before the first period).
WEIGHTS = pd.DataFrame(
    [[0.5, 0.5], [0.6, 0.4], [0.5, 0.3], [0.5, 0.3]], index=DATES, columns=["A", "B"]
)
ASSETS = pd.DataFrame(
    [[0.0, 0.0], [0.1, -0.05], [0.0, 0.2], [-0.1, 0.1]], index=DATES, columns=["A", "B"]
)
COSTS = np.array([0.001, 0.0, 0.002])  # fraction of start-of-period value paid per period


def _hand_portfolio() -> pd.Series:
    # r_p = w_{t-1} . r_t - cost_t
    r = [0.5 * 0.1 + 0.5 * -0.05, 0.6 * 0.0 + 0.4 * 0.2, 0.5 * -0.1 + 0.3 * 0.1]
    return pd.Series(np.array(r) - COSTS, index=DATES[1:])


def test_carino_linking_by_hand():
    portfolio = _hand_portfolio()  # 0.024, 0.08, -0.022
    benchmark = pd.Series([0.01, 0.05, -0.03], index=DATES[1:])
    out = AttributionAnalyzer().calculate(
        portfolio, WEIGHTS, benchmark, asset_returns=ASSETS, periods_per_year=365
    )
    r = [0.024, 0.08, -0.022]
    total = (1.024 * 1.08 * 0.978) - 1
    k = math.log(1 + total) / total
    k_t = [math.log(1 + x) / x for x in r]
    c_a = (0.5 * 0.1 * k_t[0] + 0.6 * 0.0 * k_t[1] + 0.5 * -0.1 * k_t[2]) / k
    c_b = (0.5 * -0.05 * k_t[0] + 0.4 * 0.2 * k_t[1] + 0.3 * 0.1 * k_t[2]) / k
    residual = (-0.001 * k_t[0] - 0.0 * k_t[1] - 0.002 * k_t[2]) / k
    assert out["total_return"] == pytest.approx(total, abs=HAND_ATOL)
    assert out["return_contribution"] == pytest.approx({"A": c_a, "B": c_b}, abs=HAND_ATOL)
    assert out["residual"] == pytest.approx(residual, abs=HAND_ATOL)
    active = np.array(r) - [0.01, 0.05, -0.03]  # 0.014, 0.03, 0.008
    assert out["active_return"] == pytest.approx(active.mean() * 365, abs=HAND_ATOL)
    te = math.sqrt(((active - active.mean()) ** 2).sum() / 2) * math.sqrt(365)
    assert out["tracking_error"] == pytest.approx(te, abs=HAND_ATOL)
    assert out["information_ratio"] == pytest.approx(active.mean() * 365 / te, abs=1e-9)
    assert out["benchmark_total_return"] == pytest.approx(1.01 * 1.05 * 0.97 - 1, abs=HAND_ATOL)
    assert (out["n_periods"], out["start"], out["end"]) == (3, DATES[1], DATES[3])


def test_carino_factors_at_zero():
    k_t, k, total = carino_factors(np.array([0.0, 0.0]))
    assert list(k_t) == [1.0, 1.0] and k == 1.0 and total == 0.0
    with pytest.raises(InvalidInputError, match="-100%"):
        carino_factors(np.array([0.1, -1.0]))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 4).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.floats(-0.3, 0.3), min_size=6 * n, max_size=6 * n),
            st.lists(st.floats(0.0, 1.0), min_size=7 * n, max_size=7 * n),
            st.lists(st.floats(-0.01, 0.0), min_size=6, max_size=6),
        )
    )
)
def test_contributions_add_up_to_the_total_return(data):
    n, returns, raw_weights, extra = data
    dates = pd.date_range("2024-01-01", periods=7, freq="D")
    weights = pd.DataFrame(np.reshape(raw_weights, (7, n)), index=dates)
    weights = weights.div(weights.sum(axis=1).clip(lower=1.0), axis=0)  # sums <= 1: cash
    assets = pd.DataFrame(np.reshape(returns, (6, n)), index=dates[1:])
    portfolio = (weights.shift(1).iloc[1:] * assets).sum(axis=1) + np.array(extra)
    out = AttributionAnalyzer().calculate(portfolio, weights, portfolio * 0, asset_returns=assets)
    total = float(np.prod(1 + portfolio.to_numpy()) - 1)
    linked = sum(out["return_contribution"].values()) + out["residual"]
    assert linked == pytest.approx(total, abs=IDENTITY_ATOL)


@pytest.fixture(scope="module")
def result():
    data = load_bundled_prices(SYMBOLS, start="2023-01-01")
    config = PortfolioConfig(
        symbols=SYMBOLS,
        allocation_method=AllocationMethod.INVERSE_VOLATILITY,
        rebalance_frequency="weekly",
        transaction_cost=0.002,
    )
    return PortfolioManager(config).backtest(data, progress=False)


def test_spec_snippet_on_a_backtest(result):
    benchmark_returns = result.asset_returns["BTC/USDT"]  # longer than the returns: trimmed
    analyzer = AttributionAnalyzer()
    attribution = analyzer.calculate(
        portfolio_returns=result.returns,
        weights_history=result.weights_history,
        benchmark_returns=benchmark_returns,
    )
    equity = result.equity_curve
    total = equity.iloc[-1] / equity.iloc[0] - 1
    linked = sum(attribution["return_contribution"].values()) + attribution["residual"]
    assert linked == pytest.approx(total, abs=IDENTITY_ATOL)
    assert set(attribution["return_contribution"]) == set(SYMBOLS)
    assert attribution["residual"] < 0  # costs
    assert attribution["periods_per_year"] == result.periods_per_year
    explicit = analyzer.calculate(
        result.returns, result.weights_history, benchmark_returns, result.asset_returns
    )
    assert explicit["return_contribution"] == attribution["return_contribution"]
    # Against the portfolio itself: no active return, no tracking error, IR defined as 0.
    same = analyzer.calculate(result.returns, result.weights_history, result.returns)
    assert (same["active_return"], same["tracking_error"], same["information_ratio"]) == (0, 0, 0)


def test_zero_cost_residual_is_rounding():
    data = load_bundled_prices(SYMBOLS, start="2024-06-01")
    config = PortfolioConfig(symbols=SYMBOLS, transaction_cost=0.0, rebalance_frequency="weekly")
    run = PortfolioManager(config).backtest(data, progress=False)
    out = AttributionAnalyzer().calculate(run.returns, run.weights_history, run.returns)
    assert abs(out["residual"]) < 1e-12


def test_misaligned_dates_are_named():
    portfolio = _hand_portfolio()
    benchmark = pd.Series([0.01, 0.05, -0.03], index=DATES[1:])
    analyzer = AttributionAnalyzer()
    with pytest.raises(InvalidInputError, match="2024-01-03"):
        analyzer.calculate(portfolio, WEIGHTS, benchmark.drop(DATES[2]), ASSETS)
    inside = pd.concat([benchmark, pd.Series([0.0], index=[DATES[1] + pd.Timedelta(hours=12)])])
    with pytest.raises(InvalidInputError, match=r"inside the window.*2024-01-02 12:00"):
        analyzer.calculate(portfolio, WEIGHTS, inside.sort_index(), ASSETS)
    longer = pd.concat([pd.Series([0.5], index=[DATES[0]]), benchmark])
    analyzer.calculate(portfolio, WEIGHTS, longer, ASSETS)  # outside the window: dropped
    from_first_row = pd.concat([pd.Series([0.0], index=[DATES[0]]), portfolio])
    with pytest.raises(InvalidInputError, match=r"after its first.*2024-01-01"):
        analyzer.calculate(from_first_row, WEIGHTS, longer, ASSETS)
    with pytest.raises(InvalidInputError, match=r"asset_returns has no value.*2024-01-04"):
        analyzer.calculate(portfolio, WEIGHTS, benchmark, ASSETS.iloc[:3])
    with pytest.raises(InvalidInputError, match=r"lacks symbols \['B'\]"):
        analyzer.calculate(portfolio, WEIGHTS, benchmark, ASSETS[["A"]])
    with pytest.raises(InvalidInputError, match="attrs"):
        analyzer.calculate(portfolio, WEIGHTS, benchmark)
    bad = benchmark.copy()
    bad.iloc[1] = np.nan
    with pytest.raises(InvalidInputError, match="benchmark_returns is not finite at 2024-01-03"):
        analyzer.calculate(portfolio, WEIGHTS, bad, ASSETS)
