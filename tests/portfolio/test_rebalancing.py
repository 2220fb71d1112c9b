"""Tests of the rebalancing policies: calendar dates on 24/7 data, the drift threshold firing
exactly when drift crosses it, and volatility targeting against a hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SPEC_SYMBOLS, spec_config

from cvxport import (
    AllocationMethod,
    CalendarRebalancer,
    InvalidInputError,
    PortfolioConfig,
    PortfolioManager,
    ThresholdRebalancer,
    VolatilityTargetRebalancer,
    load_bundled_prices,
)
from cvxport.rebalancing import RebalanceContext, drift, forecast_volatility

CAPITAL = 100_000.0


def random_walk(
    seed: int, n_assets: int, n_bars: int, start: str = "2021-01-01", freq: str = "D"
) -> pd.DataFrame:
    """Seeded positive closes (daily volatility about 2%), columns A0.."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(3e-4, 0.02, size=(n_bars, n_assets)) + rng.normal(0, 0.01, (n_bars, 1))
    index = pd.date_range(start, periods=n_bars, freq=freq, name="timestamp")
    columns = [f"A{i}" for i in range(n_assets)]
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0), index=index, columns=columns)


def manager_for(prices: pd.DataFrame, **fields) -> PortfolioManager:
    settings = {
        "initial_capital": CAPITAL,
        "symbols": list(prices.columns),
        "allocation_method": AllocationMethod.EQUAL_WEIGHT,
        "transaction_cost": 0.001,
        "lookback": 2,
    }
    settings.update(fields)
    return PortfolioManager(PortfolioConfig(**settings))


def pre_trade_weights(result) -> pd.DataFrame:
    """Weights at each bar's close before its trades: yesterday's units at today's prices."""
    equity, prices = result.equity_curve, result.prices
    units = result.weights_history.mul(equity, axis=0) / prices
    held = units.shift(1) * prices
    value = equity.shift(1) + (units.shift(1) * prices.diff()).sum(axis=1)
    return held.div(value, axis=0).iloc[1:]


# --- the spec's snippets ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spec_manager():
    """The spec's configuration on one year of the bundled data (daily runs stay quick)."""
    return PortfolioManager(spec_config()), load_bundled_prices(SPEC_SYMBOLS, start="2024-11-01")


CALENDAR_RULES = {
    "daily": lambda d: np.ones(len(d), dtype=bool),
    "weekly": lambda d: d.day_of_week == 0,  # weeks end on Sunday (W-SUN): Mondays start them
    "monthly": lambda d: d.day == 1,
    "quarterly": lambda d: (d.day == 1) & d.month.isin([1, 4, 7, 10]),
}


def expected_calendar(index: pd.DatetimeIndex, frequency: str) -> list[pd.Timestamp]:
    """The first allocation (row 1) plus every later bar that opens a new period."""
    later = index[2:]
    return [index[1], *later[CALENDAR_RULES[frequency](later)]]


def test_spec_rebalance_frequencies(spec_manager):
    manager, portfolio_data = spec_manager
    counts = {}
    for frequency in ("daily", "weekly", "monthly", "quarterly"):
        manager.config.rebalance_frequency = frequency
        result = manager.backtest(portfolio_data)
        index = result.equity_curve.index
        assert result.rebalance_dates == expected_calendar(index, frequency), frequency
        counts[frequency] = len(result.rebalance_dates)
    assert counts["daily"] > counts["weekly"] > counts["monthly"] > counts["quarterly"] >= 4


def test_spec_threshold_rebalancer(spec_manager):
    manager, portfolio_data = spec_manager
    rebalancer = ThresholdRebalancer(
        drift_threshold=0.05  # Rebalance if drift > 5%
    )
    manager.config.rebalancer = rebalancer
    try:
        result = manager.backtest(portfolio_data)
    finally:
        manager.config.rebalancer = None

    # drift = max(|actual_weight - target_weight|), checked at every bar against the standing
    # target: above 5% exactly on the rebalance bars (after the first allocation).
    before = pre_trade_weights(result).iloc[1:]
    targets = result.allocation_history.reindex(result.equity_curve.index).ffill().shift(1)
    drifts = (before - targets.loc[before.index]).abs().max(axis=1)
    fired = drifts.index.isin(result.rebalance_dates)
    assert 3 <= fired.sum() < len(drifts) // 5
    assert (drifts[fired] > 0.05).all()
    assert (drifts[~fired] <= 0.05).all()
    assert result.rebalance_dates[0] == result.equity_curve.index[1]


def test_spec_volatility_target_rebalancer(spec_manager):
    manager, portfolio_data = spec_manager
    rebalancer = VolatilityTargetRebalancer(
        target_volatility=0.15,  # 15% annualized
        lookback=20,  # Calculation window
    )
    manager.config.rebalancer = rebalancer
    try:
        result = manager.backtest(portfolio_data)
    finally:
        manager.config.rebalancer = None

    closes = pd.DataFrame({s: frame["close"] for s, frame in portfolio_data.items()})
    returns = closes.pct_change()
    for when, target in result.allocation_history.iterrows():
        exposure = target.sum()
        window = returns.loc[:when].iloc[-20:].to_numpy()
        assert window.shape == (20, 3) and np.isfinite(window).all()
        forecast = np.sqrt(target @ np.cov(window, rowvar=False, ddof=1) @ target / exposure**2)
        assert exposure == pytest.approx(min(1.0, 0.15 / (forecast * np.sqrt(365))), rel=1e-10)
    assert (result.allocation_history.sum(axis=1) < 1).any()  # crypto is above 15% a year


# --- calendar dates on 24/7 data ----------------------------------------------------------------
@pytest.fixture(scope="module")
def two_years() -> pd.DataFrame:
    """Daily 24/7 closes from Friday 2021-01-01 over two years (every weekday and month)."""
    return random_walk(seed=11, n_assets=3, n_bars=731)


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly", "quarterly"])
def test_calendar_dates_on_24_7_data(two_years, frequency):
    result = manager_for(two_years, rebalance_frequency=frequency).backtest(two_years)
    index = result.equity_curve.index
    dates = pd.DatetimeIndex(result.rebalance_dates)
    assert list(dates) == expected_calendar(index, frequency)
    later = dates[1:]
    if frequency == "weekly":
        assert set(later.day_name()) == {"Monday"}
        assert len(later) == 104
    if frequency == "monthly":
        assert len(later) == 24 and set(later.day) == {1}
    if frequency == "quarterly":
        assert [str(d.date()) for d in later] == [
            f"{y}-{m:02d}-01" for y in (2021, 2022) for m in (1, 4, 7, 10) if (y, m) != (2021, 1)
        ] + ["2023-01-01"]
    assert list(result.allocation_history.index) == list(dates)


def test_calendar_rebalancer_directly():
    """The first bar, then the first bar of a new period (pandas periods, W-SUN weeks)."""

    def fires(frequency: str, previous: str | None, now: str) -> bool:
        ctx = RebalanceContext(
            timestamp=pd.Timestamp(now),
            previous_timestamp=None if previous is None else pd.Timestamp(previous),
            current_weights=np.zeros(2),
            target_weights=None,
        )
        return CalendarRebalancer(frequency).should_rebalance(ctx)

    assert fires("quarterly", None, "2021-05-17")
    assert fires("weekly", "2021-01-03", "2021-01-04")  # Sunday -> Monday
    assert not fires("weekly", "2021-01-04", "2021-01-10")  # Monday -> Sunday, same week
    assert fires("monthly", "2021-01-31 23:00", "2021-02-01 00:00")
    assert not fires("monthly", "2021-02-01 00:00", "2021-02-01 01:00")
    assert fires("daily", "2021-02-01 23:00", "2021-02-02 00:00")
    assert fires("quarterly", "2021-03-30", "2021-04-02")  # a gap still opens the quarter
    assert not fires("quarterly", "2021-04-02", "2021-06-30")
    with pytest.raises(InvalidInputError, match="frequency"):
        CalendarRebalancer("hourly")


def test_daily_frequency_on_hourly_24_7_bars():
    prices = random_walk(seed=12, n_assets=2, n_bars=24 * 6, freq="h")
    result = manager_for(prices, rebalance_frequency="daily").backtest(prices)
    later = pd.DatetimeIndex(result.rebalance_dates[1:])
    assert list(later) == list(pd.date_range("2021-01-02", periods=5, freq="D"))
    assert result.periods_per_year == 24 * 365


# --- threshold firing exactly at the crossing -----------------------------------------------------
@pytest.mark.parametrize("cost", [0.0, 0.003])
def test_threshold_fires_exactly_when_drift_crosses(cost):
    """A flat asset and one rising 1% a bar, equal weight, 5% threshold.

    k bars after a rebalance the rising asset's weight is g/(1 + g) with g = 1.01**k; it
    exceeds 0.55 first at k = 21 (1.01**20 = 1.2202 < 11/9 < 1.2324 = 1.01**21).
    """
    n_bars = 80
    index = pd.date_range("2023-03-01", periods=n_bars, freq="D", name="timestamp")
    prices = pd.DataFrame(
        {"FLAT": np.full(n_bars, 50.0), "RISE": 20.0 * 1.01 ** np.arange(n_bars)}, index=index
    )
    lookback = 5
    manager = manager_for(
        prices, rebalancer=ThresholdRebalancer(drift_threshold=0.05), lookback=lookback,
        transaction_cost=cost,
    )  # fmt: skip
    result = manager.backtest(prices)

    # The crossing by hand: weight of RISE k bars after a rebalance to 50/50.
    k = np.arange(1, 40)
    growth = 1.01**k
    crossing = int(k[np.argmax(growth / (1 + growth) - 0.5 > 0.05)])
    assert crossing == 21
    assert 1.01**20 / (1 + 1.01**20) - 0.5 < 0.05 < 1.01**21 / (1 + 1.01**21) - 0.5
    first = lookback  # bar lookback - 1 is the all-cash start
    expected = [index[b] for b in range(first, n_bars, crossing)]
    assert result.rebalance_dates == expected
    assert len(expected) == 4
    # Right after each rebalance the weights are back on target; just before, within 5%.
    for when in expected:
        np.testing.assert_allclose(result.weights_history.loc[when], [0.5, 0.5], atol=1e-12)
    before = pre_trade_weights(result)
    np.testing.assert_allclose(before.loc[expected[1:], "RISE"], 1.01**21 / (1 + 1.01**21))
    quiet = before.drop(expected[1:], errors="ignore").iloc[1:]
    assert (quiet["RISE"] - 0.5 <= 0.05).all()


def test_threshold_is_strict_and_checked_against_the_standing_target():
    rebalancer = ThresholdRebalancer(drift_threshold=0.125)

    def ctx(current, target):
        return RebalanceContext(
            timestamp=pd.Timestamp("2024-01-02"),
            previous_timestamp=pd.Timestamp("2024-01-01"),
            current_weights=np.array(current),
            target_weights=None if target is None else np.array(target),
        )

    assert rebalancer.should_rebalance(ctx([0.0, 0.0], None))  # no target yet: first bar
    assert drift([0.625, 0.375], [0.5, 0.5]) == 0.125  # exact in binary
    assert not rebalancer.should_rebalance(ctx([0.625, 0.375], [0.5, 0.5]))
    assert rebalancer.should_rebalance(ctx([0.625 + 2**-20, 0.375 - 2**-20], [0.5, 0.5]))
    assert rebalancer.should_rebalance(ctx([0.25, 0.5, 0.25], [0.5, 0.25, 0.25]))


@pytest.mark.parametrize("value", [0, -0.1, 1.5, float("nan"), "5%", True])
def test_threshold_rebalancer_refuses_bad_thresholds(value):
    with pytest.raises(InvalidInputError, match="drift_threshold"):
        ThresholdRebalancer(drift_threshold=value)


# --- volatility targeting against a hand computation ----------------------------------------------
def hand_exposure(prices, when, weights, lookback, target, cap, ppy):
    """min(cap, target / forecast), forecast = sqrt(w' S w * ppy), S the ddof=1 covariance of
    the last ``lookback`` simple returns up to and including ``when``."""
    window = prices.pct_change().loc[:when].iloc[-lookback:].to_numpy()
    assert len(window) == lookback and np.isfinite(window).all()
    covariance = np.cov(window, rowvar=False, ddof=1)
    return min(cap, target / np.sqrt(weights @ covariance @ weights * ppy))


@pytest.mark.parametrize(
    ("target", "cap", "freq", "ppy"),
    [
        (0.10, 1.0, "D", 365),  # scaled down: the rest in cash
        (2.00, 1.0, "D", 365),  # capped at full investment
        (0.45, 1.5, "D", 365),  # leverage allowed up to 1.5
        (0.10, 1.0, "B", 252),  # business days: annualized with 252
    ],
)
def test_volatility_target_exposure_by_hand(target, cap, freq, ppy):
    prices = random_walk(seed=13, n_assets=4, n_bars=200, freq=freq)
    rebalancer = VolatilityTargetRebalancer(
        target_volatility=target, lookback=20, frequency="monthly", leverage_cap=cap
    )
    manager = manager_for(prices, rebalancer=rebalancer, lookback=30)
    result = manager.backtest(prices)

    assert result.periods_per_year == ppy
    assert len(result.rebalance_dates) >= 6
    weights = np.full(4, 0.25)  # equal weight, fully invested before scaling
    exposures = []
    for when in result.rebalance_dates:
        exposure = hand_exposure(prices, when, weights, 20, target, cap, ppy)
        exposures.append(exposure)
        np.testing.assert_allclose(
            result.allocation_history.loc[when], exposure * weights, rtol=1e-12
        )
        np.testing.assert_allclose(result.weights_history.loc[when], exposure * weights, rtol=1e-9)
        assert result.exposure.loc[when] == pytest.approx(exposure, rel=1e-9)
        # Cash = 1 - exposure of equity (negative when levered).
        equity = result.equity_curve.loc[when]
        units = result.weights_history.loc[when] * equity / result.prices.loc[when]
        cash = equity - units @ result.prices.loc[when]
        assert cash / equity == pytest.approx(1 - exposure, abs=1e-9)
    exposures = np.array(exposures)
    if target == 2.0:
        assert np.all(exposures == 1.0)
    elif cap == 1.5:
        assert exposures.max() == 1.5 and 1.0 < exposures.min() < 1.5
    else:
        assert exposures.max() < 1.0 and np.ptp(exposures) > 0.01


def test_volatility_target_with_minimum_variance_and_a_longer_lookback():
    """The engine's lookback is the larger of the config's and the rebalancer's; the forecast
    uses the rebalancer's window and the allocator's fully invested weights."""
    prices = random_walk(seed=14, n_assets=5, n_bars=220)
    rebalancer = VolatilityTargetRebalancer(target_volatility=0.12, lookback=45)
    manager = manager_for(
        prices, rebalancer=rebalancer, lookback=10,
        allocation_method=AllocationMethod.MINIMUM_VARIANCE,
    )  # fmt: skip
    result = manager.backtest(prices)

    assert result.equity_curve.index[0] == prices.index[44]  # lookback 45: start at bar 44
    for when, scaled in result.allocation_history.iterrows():
        exposure = scaled.sum()
        full = scaled.to_numpy() / exposure
        assert exposure == pytest.approx(
            hand_exposure(prices, when, full, 45, 0.12, 1.0, 365), rel=1e-10
        )
    assert (result.allocation_history.sum(axis=1) < 0.999).all()


def test_forecast_volatility_matches_numpy():
    rng = np.random.default_rng(3)
    window = rng.normal(0, 0.02, size=(30, 3))
    weights = np.array([0.5, 0.3, 0.2])
    expected = np.sqrt(weights @ np.cov(window.T, ddof=1) @ weights * 365)
    assert forecast_volatility(weights, window, 365) == pytest.approx(expected, rel=1e-14)
    one = rng.normal(0, 0.01, size=(25, 1))
    assert forecast_volatility(np.ones(1), one, 252) == pytest.approx(
        np.std(one, ddof=1) * np.sqrt(252), rel=1e-14
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target_volatility", 0.0),
        ("target_volatility", -0.15),
        ("target_volatility", float("inf")),
        ("target_volatility", "15%"),
        ("leverage_cap", 0),
        ("lookback", 1),
        ("lookback", 20.0),
        ("frequency", "hourly"),
    ],
)
def test_volatility_target_refuses_bad_arguments(field, value):
    with pytest.raises(InvalidInputError, match=field):
        VolatilityTargetRebalancer(**{field: value})
