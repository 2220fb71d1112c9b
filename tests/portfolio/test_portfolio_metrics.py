"""PortfolioMetrics: hand-computed figures, the spec snippet on a backtest, what it cannot do."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvxport.analysis import PortfolioMetrics
from cvxport.config import PortfolioConfig
from cvxport.data import load_bundled_prices
from cvxport.errors import InvalidInputError, MissingAssetReturnsError
from cvxport.manager import PortfolioManager
from cvxport.methods import AllocationMethod
from cvxport.metrics import performance_report

HAND_ATOL = 1e-12
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]

DATES = pd.date_range("2024-01-01", periods=5, freq="D")
EQUITY = pd.Series([100.0, 101.0, 99.0, 102.0, 104.0], index=DATES)
WEIGHTS = pd.DataFrame(
    [[0.0, 0.0], [0.5, 0.5], [0.5, 0.5], [0.75, 0.25], [0.75, 0.25]],
    index=DATES,
    columns=["A", "B"],
)
# Asset returns chosen so that the sample covariance is easy by hand: the means are 0,
# A = (1, -1, 1, -1) %, B = (2, 0, -2, 0) %.
ASSETS = pd.DataFrame(
    [[0.0, 0.0], [0.01, 0.02], [-0.01, 0.0], [0.01, -0.02], [-0.01, 0.0]],
    index=DATES,
    columns=["A", "B"],
)


def test_hand_computed_figures():
    report = PortfolioMetrics().calculate(EQUITY, WEIGHTS, ASSETS, periods_per_year=365)
    # var(A) = 4e-4 / 3, var(B) = 8e-4 / 3, cov(A, B) = (2e-4 - 2e-4) / 3 = 0
    var_a, var_b = 4e-4 / 3, 8e-4 / 3
    w_a, w_b = 0.75, 0.25
    portfolio_variance = w_a**2 * var_a + w_b**2 * var_b
    assert report["hhi"] == pytest.approx(0.625, abs=HAND_ATOL)
    assert report["hhi_average"] == pytest.approx((0.5 + 0.5 + 0.625 + 0.625) / 4, abs=HAND_ATOL)
    ratio = (w_a * math.sqrt(var_a) + w_b * math.sqrt(var_b)) / math.sqrt(portfolio_variance)
    assert report["diversification_ratio"] == pytest.approx(ratio, abs=HAND_ATOL)
    shares = {"A": w_a**2 * var_a / portfolio_variance, "B": w_b**2 * var_b / portfolio_variance}
    assert report["risk_contribution"] == pytest.approx(shares, abs=HAND_ATOL)
    np.testing.assert_allclose(report["correlation_matrix"], np.eye(2), atol=HAND_ATOL)
    for key, value in performance_report(EQUITY, 365).items():
        assert report[key] == pytest.approx(value, abs=HAND_ATOL)
    assert report["unavailable"] == {}


def test_without_asset_returns_it_raises_a_named_error_instead_of_dropping_keys():
    assert not WEIGHTS.attrs
    with pytest.raises(MissingAssetReturnsError, match=r"diversification_ratio.*asset_returns="):
        PortfolioMetrics().calculate(EQUITY, WEIGHTS, periods_per_year=365)


def test_all_cash_last_row_is_reported_not_nan():
    cash = WEIGHTS.copy()
    cash.iloc[-1] = 0.0
    with pytest.warns(UserWarning, match="risk_contribution"):
        report = PortfolioMetrics().calculate(EQUITY, cash, ASSETS, periods_per_year=365)
    assert "variance is zero" in report["unavailable"]["risk_contribution"]
    assert "variance is zero" in report["unavailable"]["diversification_ratio"]
    assert report["hhi"] == 0.0
    assert "correlation_matrix" in report


def test_misaligned_asset_returns_are_named():
    with pytest.raises(InvalidInputError, match="2024-01-05"):
        PortfolioMetrics().calculate(EQUITY, WEIGHTS, ASSETS.iloc[:-1], periods_per_year=365)
    with pytest.raises(InvalidInputError, match=r"lacks symbols \['B'\]"):
        PortfolioMetrics().calculate(EQUITY, WEIGHTS, ASSETS[["A"]], periods_per_year=365)


@pytest.fixture(scope="module")
def result():
    data = load_bundled_prices(SYMBOLS, start="2023-01-01")
    config = PortfolioConfig(
        symbols=SYMBOLS,
        allocation_method=AllocationMethod.MINIMUM_VARIANCE,
        min_position_weight=0.1,
        max_position_weight=0.6,
    )
    return PortfolioManager(config).backtest(data, progress=False)


def test_spec_snippet_on_a_backtest(result):
    metrics = PortfolioMetrics()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = metrics.calculate(result.equity_curve, result.weights_history)
    for key in ("total_return", "volatility", "sharpe_ratio", "max_drawdown"):
        assert report[key] == pytest.approx(result.metrics[key], rel=1e-12)
    assert report["diversification_ratio"] >= 1.0
    assert 1 / 3 - 1e-9 <= report["hhi"] <= 1.0
    assert sum(report["risk_contribution"].values()) == pytest.approx(1.0, abs=1e-12)
    corr = report["correlation_matrix"]
    assert list(corr.columns) == SYMBOLS
    periods = result.equity_curve.index[1:]
    expected = result.asset_returns.loc[periods].corr()
    pd.testing.assert_frame_equal(corr, expected)


weights_rows = st.lists(st.floats(0.01, 1.0), min_size=2, max_size=5)


@settings(max_examples=40, deadline=None)
@given(weights_rows, st.integers(0, 2**32 - 1))
def test_properties(raw, seed):
    n = len(raw)
    names = [f"S{i}" for i in range(n)]
    last = np.array(raw) / sum(raw)
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=30, freq="D")
    assets = pd.DataFrame(rng.normal(0, 0.02, (30, n)), index=dates, columns=names)
    weights = pd.DataFrame(np.tile(last, (30, 1)), index=dates, columns=names)
    equity = pd.Series(np.cumprod(1 + assets.to_numpy() @ last), index=dates)
    report = PortfolioMetrics().calculate(equity, weights, assets)
    assert sum(report["risk_contribution"].values()) == pytest.approx(1.0, abs=1e-12)
    assert 1 / n - 1e-12 <= report["hhi"] <= 1.0 + 1e-12
    assert report["diversification_ratio"] >= 1.0 - 1e-12
