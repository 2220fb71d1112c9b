"""Metrics: hand-computed answers, hypothesis properties, and every InvalidInputError."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cvxport.errors import InvalidInputError
from cvxport.metrics import (
    METRIC_UNITS,
    annualized_return,
    annualized_turnover,
    calmar_ratio,
    diversification_ratio,
    downside_deviation,
    drawdown,
    hhi,
    max_drawdown,
    performance_fractions,
    performance_report,
    portfolio_volatility,
    rebalance_turnover,
    risk_contributions,
    sharpe_ratio,
    simple_returns,
    sortino_ratio,
    to_report_units,
    total_return,
    volatility,
)
from cvxport.periods import infer_periods_per_year, validate_periods_per_year

HAND_RTOL = 1e-12  # closed forms evaluated in floats: a few ulps of the result
HAND_ATOL = 1e-15  # for results that are exactly zero by hand
RC_SUM_ATOL = 1e-12  # risk contributions sum to 1 (conditioning bounded by the ridge below)
BOUND_ATOL = 1e-12  # slack on the bounds hhi in [1/n, 1] and diversification ratio >= 1
SCALE_RTOL = 1e-9  # every metric of c * equity equals the metric of equity
SCALE_ATOL = 1e-9  # ... absolute part, for metrics near zero

DATES = pd.date_range("2024-01-01", periods=4, freq="D")
EQUITY = pd.Series([100.0, 110.0, 99.0, 121.0], index=DATES)
# Returns of EQUITY: 0.1, -0.1, 22/99 = 2/9. Mean 2/27; deviations 0.7/27, -4.7/27, 4/27;
# sum of squared deviations 38.58 / 27**2, so the sample std (ddof=1) is sqrt(19.29) / 27.
MEAN_RETURN = 2 / 27
SAMPLE_STD = math.sqrt(19.29) / 27


def approx(expected: float) -> object:
    return pytest.approx(expected, rel=HAND_RTOL, abs=HAND_ATOL)


def constant_growth(rate: float, periods: int) -> pd.Series:
    index = pd.date_range("2024-01-01", periods=periods + 1, freq="D")
    return pd.Series(100.0 * (1.0 + rate) ** np.arange(periods + 1), index=index)


def frame(matrix: list[list[float]], symbols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(matrix, index=symbols, columns=symbols)


# --- periods -------------------------------------------------------------------------------


def session_hours(days: int, bars: int) -> pd.DatetimeIndex:
    stamps = [
        day + pd.Timedelta(hours=9 + hour)
        for day in pd.bdate_range("2024-01-01", periods=days)
        for hour in range(bars)
    ]
    return pd.DatetimeIndex(stamps)


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (pd.date_range("2024-01-01", periods=100, freq="D"), 365),
        (pd.bdate_range("2024-01-01", periods=100), 252),
        (pd.date_range("2024-01-01", periods=100, freq="W"), 52),
        (pd.date_range("2024-01-01", periods=36, freq="ME"), 12),
        (pd.date_range("2024-01-01", periods=36, freq="MS"), 12),
        (pd.date_range("2024-01-01", periods=12, freq="QE"), 4),
        (pd.date_range("2000-01-01", periods=10, freq="YE"), 1),
        (pd.date_range("2024-01-01", periods=1000, freq="h"), 24 * 365),
        (session_hours(days=60, bars=7), 7 * 252),
    ],
)
def test_infer_periods_per_year(index: pd.DatetimeIndex, expected: int) -> None:
    assert infer_periods_per_year(index) == expected


def test_validate_periods_per_year_accepts_integers() -> None:
    assert validate_periods_per_year(252) == 252
    assert validate_periods_per_year(np.int64(365)) == 365
    assert validate_periods_per_year(12.0) == 12


@pytest.mark.parametrize("value", [0, -12, 2.5, math.nan, math.inf, True, "252", None])
def test_validate_periods_per_year_rejects(value: object) -> None:
    with pytest.raises(InvalidInputError, match="periods_per_year"):
        validate_periods_per_year(value)


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (pd.RangeIndex(5), "index must be a pandas DatetimeIndex, got RangeIndex"),
        (list(pd.date_range("2024-01-01", periods=3)), "index must be a pandas DatetimeIndex"),
        (pd.DatetimeIndex(["2024-01-01"]), "at least 2 timestamps, got 1"),
        (pd.DatetimeIndex(["2024-01-01", None, "2024-01-03"]), "NaT at position 1"),
        (
            pd.DatetimeIndex(["2024-01-01", "2024-01-03", "2024-01-02"]),
            "first bad timestamp 2024-01-02",
        ),
        (
            pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-02"]),
            "first bad timestamp 2024-01-02",
        ),
    ],
)
def test_infer_periods_per_year_errors(index: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        infer_periods_per_year(index)


# --- performance: hand-computed ------------------------------------------------------------


def test_simple_returns_by_hand() -> None:
    returns = simple_returns(EQUITY)
    assert list(returns.index) == list(DATES[1:])
    np.testing.assert_allclose(returns.to_numpy(), [0.1, -0.1, 2 / 9], rtol=HAND_RTOL)


def test_total_return_and_drawdowns_by_hand() -> None:
    assert total_return(EQUITY) == approx(0.21)
    np.testing.assert_allclose(drawdown(EQUITY).to_numpy(), [0.0, 0.0, -0.1, 0.0], atol=1e-15)
    assert max_drawdown(EQUITY) == approx(-0.1)


def test_annualized_return_and_calmar_by_hand() -> None:
    # 3 periods at 6 per year is half a year: CAGR = 1.21 ** 2 - 1.
    assert annualized_return(EQUITY, 6) == approx(0.4641)
    assert annualized_return(EQUITY, 3) == approx(0.21)
    assert calmar_ratio(EQUITY, 6) == approx(4.641)


def test_volatility_sharpe_sortino_by_hand() -> None:
    returns = simple_returns(EQUITY)
    assert volatility(returns, 252) == approx(SAMPLE_STD * math.sqrt(252))
    assert sharpe_ratio(returns, 252) == approx(MEAN_RETURN / SAMPLE_STD * math.sqrt(252))
    downside = math.sqrt(0.01 / 3)  # only -0.1 is below 0; the mean runs over 3 periods
    assert downside_deviation(returns, 252) == approx(downside * math.sqrt(252))
    assert sortino_ratio(returns, 252) == approx(MEAN_RETURN / downside * math.sqrt(252))


def test_risk_free_rate_is_annual_and_compounded_per_period() -> None:
    returns = simple_returns(EQUITY)
    rf_annual = 1.05**4 - 1  # 5% per period at 4 periods per year
    excess = np.array([0.1, -0.1, 2 / 9]) - 0.05
    sample_std = float(np.std(excess, ddof=1))
    expected_sharpe = excess.mean() / sample_std * 2.0
    assert sharpe_ratio(returns, 4, rf_annual) == approx(expected_sharpe)
    downside = math.sqrt(0.15**2 / 3)
    assert sortino_ratio(returns, 4, rf_annual) == approx(excess.mean() / downside * 2.0)


def test_constant_growth_has_zero_volatility_and_zero_ratios() -> None:
    equity = constant_growth(0.01, 20)
    returns = simple_returns(equity)
    assert volatility(returns, 252) == 0.0
    assert sharpe_ratio(returns, 252) == 0.0  # zero std: defined as 0.0, not inf
    assert sharpe_ratio(returns, 252, risk_free_rate=0.5) == 0.0  # whatever the mean excess
    assert downside_deviation(returns, 252) == 0.0
    assert sortino_ratio(returns, 252) == 0.0  # no period below the risk-free rate
    assert max_drawdown(equity) == 0.0
    assert calmar_ratio(equity, 252) == 0.0  # no drawdown: defined as 0.0
    assert total_return(equity) == approx(1.01**20 - 1)
    assert annualized_return(equity, 252) == approx(1.01**252 - 1)


def test_turnover_is_one_way() -> None:
    before = pd.Series({"A": 0.5, "B": 0.5})
    after = pd.Series({"B": 0.4, "A": 0.6})
    assert rebalance_turnover(before, after) == approx(0.1)
    assert rebalance_turnover(pd.Series({"A": 1.0}), pd.Series({"C": 1.0})) == approx(1.0)
    per_rebalance = pd.Series([0.1, 0.2, 0.3], index=pd.date_range("2024-01-31", periods=3))
    assert annualized_turnover(per_rebalance, 2.0) == approx(0.3)
    assert annualized_turnover(pd.Series([], dtype=float), 1.0) == 0.0


# --- allocation: hand-computed -------------------------------------------------------------


def test_risk_contributions_two_assets_by_hand() -> None:
    # Sigma w = (0.02, 0.005) / 1; contributions 0.01 and 0.0025; variance 0.0125.
    covariance = frame([[0.04, 0.0], [0.0, 0.01]], ["A", "B"])
    weights = pd.Series({"A": 0.5, "B": 0.5})
    contributions = risk_contributions(weights, covariance)
    np.testing.assert_allclose(contributions.to_numpy(), [0.8, 0.2], rtol=HAND_RTOL)
    assert portfolio_volatility(weights, covariance) == approx(math.sqrt(0.0125))
    # Correlated: Sigma w = (0.0264, 0.0396), both contributions 0.01584 (risk parity).
    covariance = frame([[0.04, 0.006], [0.006, 0.09]], ["A", "B"])
    weights = pd.Series({"A": 0.6, "B": 0.4})
    np.testing.assert_allclose(
        risk_contributions(weights, covariance).to_numpy(), [0.5, 0.5], rtol=HAND_RTOL
    )


def test_risk_contributions_align_by_label() -> None:
    covariance = frame([[0.04, 0.0], [0.0, 0.01]], ["A", "B"])
    weights = pd.Series({"B": 0.5, "A": 0.5})
    contributions = risk_contributions(weights, covariance)
    assert list(contributions.index) == ["B", "A"]
    np.testing.assert_allclose(contributions.to_numpy(), [0.2, 0.8], rtol=HAND_RTOL)


def test_diversification_ratio_by_hand() -> None:
    single = frame([[0.04]], ["A"])
    assert diversification_ratio(pd.Series({"A": 1.0}), single) == approx(1.0)
    vols = np.array([0.2, 0.3])
    perfectly_correlated = frame(np.outer(vols, vols).tolist(), ["A", "B"])
    weights = pd.Series({"A": 0.3, "B": 0.7})
    assert diversification_ratio(weights, perfectly_correlated) == approx(1.0)
    uncorrelated = frame([[0.04, 0.0], [0.0, 0.04]], ["A", "B"])
    equal = pd.Series({"A": 0.5, "B": 0.5})
    assert diversification_ratio(equal, uncorrelated) == approx(math.sqrt(2.0))


def test_hhi_by_hand() -> None:
    assert hhi(np.full(4, 0.25)) == approx(0.25)
    assert hhi(pd.Series({"A": 1.0})) == approx(1.0)
    assert hhi([0.5, 0.3, 0.2]) == approx(0.38)


# --- report units --------------------------------------------------------------------------


def test_metric_units_table() -> None:
    assert set(METRIC_UNITS.values()) <= {"percent", "ratio"}
    percent = {key for key, unit in METRIC_UNITS.items() if unit == "percent"}
    assert percent == {
        "total_return",
        "annualized_return",
        "volatility",
        "max_drawdown",
        "turnover",
        "alpha",
        "tracking_error",
    }
    assert {"sharpe_ratio", "sortino_ratio", "calmar_ratio", "diversification_ratio", "hhi"} <= (
        set(METRIC_UNITS) - percent
    )


def test_to_report_units() -> None:
    values = {"total_return": 0.21, "sharpe_ratio": 1.5, "risk_contribution": 0.3}
    converted = to_report_units(values)
    assert converted == {"total_return": 21.0, "sharpe_ratio": 1.5, "risk_contribution": 0.3}
    assert values["total_return"] == 0.21  # input untouched


def test_performance_report_in_spec_units() -> None:
    keys = [
        "total_return",
        "annualized_return",
        "volatility",
        "sharpe_ratio",
        "sortino_ratio",
        "max_drawdown",
        "calmar_ratio",
    ]
    fractions = performance_fractions(EQUITY, 6)
    report = performance_report(EQUITY, 6)
    assert list(fractions) == keys
    assert list(report) == keys
    assert report["total_return"] == approx(21.0)
    assert report["annualized_return"] == approx(46.41)
    assert report["max_drawdown"] == approx(-10.0)
    assert report["volatility"] == approx(100 * SAMPLE_STD * math.sqrt(6))
    assert report["calmar_ratio"] == approx(4.641)
    assert report["sharpe_ratio"] == fractions["sharpe_ratio"]


# --- hypothesis properties -----------------------------------------------------------------


@st.composite
def covariances_and_weights(draw: st.DrawFn) -> tuple[pd.Series, pd.DataFrame]:
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, n))
    unit = st.floats(-1.0, 1.0, allow_nan=False)
    factor = np.array(draw(st.lists(unit, min_size=n * k, max_size=n * k))).reshape(n, k)
    ridge = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n)))
    raw = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    assume(raw.sum() > 1e-3)
    symbols = [f"S{i}" for i in range(n)]
    covariance = pd.DataFrame(factor @ factor.T + np.diag(ridge), index=symbols, columns=symbols)
    return pd.Series(raw / raw.sum(), index=symbols), covariance


@given(covariances_and_weights())
def test_risk_contributions_sum_to_one(case: tuple[pd.Series, pd.DataFrame]) -> None:
    weights, covariance = case
    assert abs(risk_contributions(weights, covariance).sum() - 1.0) <= RC_SUM_ATOL
    assert diversification_ratio(weights, covariance) >= 1.0 - BOUND_ATOL


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30))
def test_hhi_between_one_over_n_and_one(raw: list[float]) -> None:
    values = np.array(raw)
    assume(values.sum() > 1e-3)
    concentration = hhi(values / values.sum())
    assert 1.0 / len(values) - BOUND_ATOL <= concentration <= 1.0 + BOUND_ATOL


# Returns on a basis-point grid: a series is either exactly flat or has a std >= ~1e-5,
# never within rounding of the zero-std threshold.
basis_point_returns = st.lists(st.integers(-5_000, 5_000), min_size=2, max_size=40).map(
    lambda points: np.array(points) / 10_000
)


def equity_from(returns: np.ndarray) -> pd.Series:
    index = pd.date_range("2024-01-01", periods=len(returns) + 1, freq="D")
    return pd.Series(100.0 * np.cumprod(np.concatenate([[1.0], 1.0 + returns])), index=index)


@given(basis_point_returns)
def test_max_drawdown_between_minus_one_and_zero(returns: np.ndarray) -> None:
    assert -1.0 <= max_drawdown(equity_from(returns)) <= 0.0


@settings(deadline=None)
@given(
    basis_point_returns,
    st.floats(1e-3, 1e3),
    st.sampled_from([12, 52, 252, 365]),
    st.sampled_from([0.0, 0.03]),
)
def test_scaling_equity_leaves_metrics_unchanged(
    returns: np.ndarray, scale: float, periods_per_year: int, risk_free_rate: float
) -> None:
    equity = equity_from(returns)
    base = performance_fractions(equity, periods_per_year, risk_free_rate)
    scaled = performance_fractions(scale * equity, periods_per_year, risk_free_rate)
    for key, value in base.items():
        assert scaled[key] == pytest.approx(value, rel=SCALE_RTOL, abs=SCALE_ATOL), key
    np.testing.assert_allclose(
        drawdown(scale * equity).to_numpy(), drawdown(equity).to_numpy(), atol=SCALE_ATOL
    )


# --- every InvalidInputError ---------------------------------------------------------------


def with_value(position: int, value: float) -> pd.Series:
    values = EQUITY.copy()
    values.iloc[position] = value
    return values


@pytest.mark.parametrize(
    ("equity", "message"),
    [
        ([100.0, 110.0], "equity must be a pandas Series, got list"),
        (EQUITY.to_frame(), "equity must be a pandas Series, got DataFrame"),
        (pd.Series([], dtype=float), "equity needs at least 2 values, got 0"),
        (EQUITY.iloc[:1], "equity needs at least 2 values, got 1"),
        (pd.Series(["a", "b"]), "equity must be numeric"),
        (with_value(2, math.nan), "equity is nan (not finite) at 2024-01-03"),
        (with_value(1, math.inf), "equity is inf (not finite) at 2024-01-02"),
        (with_value(1, 0.0), "equity must be positive; 0.0 at 2024-01-02"),
        (with_value(3, -5.0), "equity must be positive; -5.0 at 2024-01-04"),
    ],
)
def test_equity_errors(equity: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        total_return(equity)
    with pytest.raises(InvalidInputError, match="equity"):
        performance_report(equity, 252)


@pytest.mark.parametrize(
    "call",
    [
        simple_returns,
        max_drawdown,
        drawdown,
        lambda equity: annualized_return(equity, 252),
        lambda equity: calmar_ratio(equity, 252),
    ],
)
def test_every_equity_function_names_the_bad_timestamp(call: object) -> None:
    with pytest.raises(
        InvalidInputError, match=re.escape("equity is nan (not finite) at 2024-01-03")
    ):
        call(with_value(2, math.nan))


def test_drawdown_needs_one_point_and_empty_fails() -> None:
    assert max_drawdown(EQUITY.iloc[:1]) == 0.0
    with pytest.raises(InvalidInputError, match="equity needs at least 1 values, got 0"):
        drawdown(pd.Series([], dtype=float))


RETURNS = simple_returns(EQUITY)


@pytest.mark.parametrize(
    "call",
    [
        lambda returns: volatility(returns, 252),
        lambda returns: sharpe_ratio(returns, 252),
        lambda returns: sortino_ratio(returns, 252),
        lambda returns: downside_deviation(returns, 252),
    ],
)
def test_returns_errors(call: object) -> None:
    bad = RETURNS.copy()
    bad.iloc[1] = math.nan
    with pytest.raises(
        InvalidInputError, match=re.escape("returns is nan (not finite) at 2024-01-03")
    ):
        call(bad)
    with pytest.raises(InvalidInputError, match="returns must be a pandas Series, got ndarray"):
        call(RETURNS.to_numpy())
    with pytest.raises(InvalidInputError, match="returns needs at least"):
        call(pd.Series([], dtype=float))


def test_sample_statistics_need_two_returns() -> None:
    with pytest.raises(InvalidInputError, match="returns needs at least 2 values, got 1"):
        volatility(RETURNS.iloc[:1], 252)
    with pytest.raises(InvalidInputError, match="returns needs at least 2 values, got 1"):
        sharpe_ratio(RETURNS.iloc[:1], 252)


@pytest.mark.parametrize("rate", [math.nan, math.inf, -1.0, -2.0, "0.02", None, True])
@pytest.mark.parametrize("metric", [sharpe_ratio, sortino_ratio, downside_deviation])
def test_risk_free_rate_errors(metric: object, rate: object) -> None:
    with pytest.raises(InvalidInputError, match="risk_free_rate"):
        metric(RETURNS, 252, rate)


@pytest.mark.parametrize(
    "call",
    [
        lambda ppy: annualized_return(EQUITY, ppy),
        lambda ppy: calmar_ratio(EQUITY, ppy),
        lambda ppy: volatility(RETURNS, ppy),
        lambda ppy: sharpe_ratio(RETURNS, ppy),
        lambda ppy: sortino_ratio(RETURNS, ppy),
        lambda ppy: performance_report(EQUITY, ppy),
    ],
)
def test_periods_per_year_errors(call: object) -> None:
    with pytest.raises(InvalidInputError, match="periods_per_year must be a positive integer"):
        call(0)


def test_annualized_return_overflow_is_named() -> None:
    with pytest.raises(InvalidInputError, match="overflows annualized_return"):
        annualized_return(pd.Series([1.0, 1e6]), 8760)


def test_turnover_errors() -> None:
    per_rebalance = pd.Series([0.1, -0.2], index=pd.date_range("2024-01-31", periods=2))
    with pytest.raises(
        InvalidInputError,
        match=re.escape("turnover_per_rebalance must be >= 0; -0.2 at 2024-02-01"),
    ):
        annualized_turnover(per_rebalance, 1.0)
    with pytest.raises(InvalidInputError, match="turnover_per_rebalance must be a pandas Series"):
        annualized_turnover([0.1], 1.0)
    for n_years in (0.0, -1.0, math.nan, "1", True):
        with pytest.raises(InvalidInputError, match="n_years"):
            annualized_turnover(pd.Series([0.1]), n_years)
    duplicated = pd.Series([0.5, 0.5], index=["A", "A"])
    with pytest.raises(
        InvalidInputError, match=re.escape("weights_before has duplicate symbols ['A']")
    ):
        rebalance_turnover(duplicated, pd.Series({"A": 1.0}))
    with pytest.raises(InvalidInputError, match="weights_after is nan"):
        rebalance_turnover(pd.Series({"A": 1.0}), pd.Series({"A": math.nan}))


COVARIANCE = frame([[0.04, 0.01], [0.01, 0.09]], ["A", "B"])
WEIGHTS = pd.Series({"A": 0.5, "B": 0.5})
COVARIANCE_METRICS = [risk_contributions, diversification_ratio, portfolio_volatility]


@pytest.mark.parametrize("metric", COVARIANCE_METRICS)
@pytest.mark.parametrize(
    ("weights", "covariance", "message"),
    [
        (np.array([0.5, 0.5]), COVARIANCE, "weights must be a pandas Series indexed by symbol"),
        (pd.Series([], dtype=float), COVARIANCE, "weights is empty"),
        (pd.Series({"A": 0.5, "B": math.nan}), COVARIANCE, "weights is not finite for symbol 'B'"),
        (
            pd.Series([0.5, 0.5], index=["A", "A"]),
            COVARIANCE,
            "weights has duplicate symbols ['A']",
        ),
        (WEIGHTS, COVARIANCE.to_numpy(), "covariance must be a pandas DataFrame, got ndarray"),
        (
            pd.Series({"A": 0.4, "B": 0.4, "C": 0.2}),
            COVARIANCE,
            "covariance index lacks symbols ['C']",
        ),
        (pd.Series({"A": 1.0}), COVARIANCE, "weights lack symbols ['B'] of covariance index"),
        (
            WEIGHTS,
            pd.DataFrame(COVARIANCE.to_numpy(), index=["A", "B"], columns=["A", "C"]),
            "covariance columns lacks symbols ['B']",
        ),
        (
            WEIGHTS,
            pd.DataFrame(COVARIANCE.to_numpy(), index=["A", "A"], columns=["A", "B"]),
            "covariance index has duplicate symbols ['A']",
        ),
        (
            WEIGHTS,
            frame([[0.04, math.nan], [math.nan, 0.09]], ["A", "B"]),
            "not finite at ('A', 'B')",
        ),
        (WEIGHTS, frame([[0.04, 0.01], [0.02, 0.09]], ["A", "B"]), "not symmetric at"),
        (WEIGHTS, frame([[0.01, -0.05], [-0.05, 0.01]], ["A", "B"]), "not positive semidefinite"),
    ],
)
def test_covariance_metric_errors(
    metric: object, weights: object, covariance: object, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        metric(weights, covariance)


def test_zero_portfolio_variance_errors() -> None:
    hedge = frame([[0.04, 0.04], [0.04, 0.04]], ["A", "B"])  # A and B are the same asset
    long_short = pd.Series({"A": 1.0, "B": -1.0})
    assert portfolio_volatility(long_short, hedge) == 0.0
    with pytest.raises(InvalidInputError, match="portfolio variance is zero"):
        risk_contributions(long_short, hedge)
    with pytest.raises(InvalidInputError, match="portfolio variance is zero"):
        diversification_ratio(long_short, hedge)


def test_negative_diagonal_names_the_symbol() -> None:
    covariance = frame([[-0.01, 0.0], [0.0, 0.04]], ["A", "B"])
    with pytest.raises(InvalidInputError, match="negative variance for symbol 'A'"):
        diversification_ratio(WEIGHTS, covariance)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.array([]), "weights must be 1-D and non-empty, got shape (0,)"),
        (np.ones((2, 2)), "weights must be 1-D and non-empty, got shape (2, 2)"),
        (np.array([0.5, math.nan]), "weights is not finite at position 1"),
        (["a", "b"], "weights must be numeric"),
        (pd.Series({"A": math.inf}), "weights is not finite for symbol 'A'"),
    ],
)
def test_hhi_errors(weights: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        hhi(weights)
