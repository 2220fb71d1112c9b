"""What a backtest must not hide: the benchmark's relative metrics (empyrical's definitions,
written out here independently), fallbacks for unsolvable rebalances, financed leverage, an
exposure cap held between rebalances, ruin, and the asset returns as a result field."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from cvxport import (
    AllocationMethod,
    EquityDepletedError,
    MissingAssetReturnsError,
    PortfolioConfig,
    PortfolioManager,
    PortfolioMetrics,
    RuinWarning,
    SolverError,
    VolatilityTargetRebalancer,
    load_bundled_prices,
)
from cvxport.backtest.engine import RunPolicy, run_backtest
from cvxport.rebalancing import CalendarRebalancer

CAPITAL = 100_000.0
MONEY_ATOL = 1e-9 * CAPITAL  # money identities hold to float rounding (quote currency)
METRIC_RTOL = 1e-10  # same formula, different summation order


def synthetic_prices(seed: int, n_assets: int = 3, n_bars: int = 200, drift: float = 3e-4,
                     vol: float = 0.02) -> pd.DataFrame:  # fmt: skip
    rng = np.random.default_rng(seed)
    returns = (
        drift + 0.8 * rng.normal(0, 0.015, (n_bars, 1)) + rng.normal(0, vol, (n_bars, n_assets))
    )
    returns[0] = 0.0
    index = pd.date_range("2022-01-01", periods=n_bars, freq="D", name="timestamp")
    return pd.DataFrame(
        100.0 * np.cumprod(1 + returns, axis=0),
        index=index,
        columns=[f"A{i}" for i in range(n_assets)],
    )


def manager_for(prices: pd.DataFrame, **fields) -> PortfolioManager:
    settings = {"initial_capital": CAPITAL, "symbols": list(prices), "lookback": 20,
                "transaction_cost": 0.001, **fields}  # fmt: skip
    return PortfolioManager(PortfolioConfig(**settings))


# --- benchmark ----------------------------------------------------------------------------------
def empyrical_like(p: list[float], b: list[float], rf_annual: float, ppy: int) -> dict:
    """empyrical.stats' alpha/beta (ddof 0 moments, compounded alpha) and the annualized
    tracking error / information ratio, in plain Python loops."""
    rf = (1 + rf_annual) ** (1 / ppy) - 1
    n = len(p)
    pe, be = [x - rf for x in p], [x - rf for x in b]
    mean_b = sum(be) / n
    cov = sum((be[i] - mean_b) * pe[i] for i in range(n)) / n
    var = sum((x - mean_b) ** 2 for x in be) / n
    beta = cov / var
    alpha = (1 + sum(pe[i] - beta * be[i] for i in range(n)) / n) ** ppy - 1
    active = [p[i] - b[i] for i in range(n)]
    mean_a = sum(active) / n
    std_a = math.sqrt(sum((x - mean_a) ** 2 for x in active) / (n - 1))
    return {
        "alpha": 100 * alpha,
        "beta": beta,
        "tracking_error": 100 * std_a * math.sqrt(ppy),
        "information_ratio": mean_a / std_a * math.sqrt(ppy),
    }


@pytest.mark.parametrize("rf", [0.0, 0.04])
def test_benchmark_metrics_follow_empyrical_definitions(rf):
    prices = synthetic_prices(seed=1, n_assets=4)
    bench = synthetic_prices(seed=2, n_assets=1)["A0"]
    manager = manager_for(prices, allocation_method="inverse_volatility", benchmark=bench,
                          risk_free_rate=rf)  # fmt: skip
    result = manager.backtest(prices)
    expected_returns = bench.pct_change().loc[result.equity_curve.index].fillna(0.0)
    pd.testing.assert_series_equal(result.benchmark_returns, expected_returns, check_names=False)
    # the benchmark's value for plots: the initial equity grown by its returns after row 0
    closes = bench.loc[result.equity_curve.index]
    np.testing.assert_allclose(
        result.benchmark, CAPITAL * closes / closes.iloc[0], rtol=1e-12
    )  # fmt: skip
    p = result.returns.tolist()
    b = result.benchmark_returns.iloc[1:].tolist()
    expected = empyrical_like(p, b, rf, result.periods_per_year)
    for key, value in expected.items():
        assert result.metrics[key] == pytest.approx(value, rel=METRIC_RTOL), key


def test_a_symbol_benchmark_equals_its_price_series_and_itself_has_beta_one():
    data = load_bundled_prices(["BTC/USDT", "ETH/USDT"], start="2023-01-01", end="2023-12-31")
    by_symbol = manager_for(data, benchmark="ETH/USDT", symbols=["BTC/USDT"]).backtest(data)
    series = data["ETH/USDT"]["close"]
    btc = {"BTC/USDT": data["BTC/USDT"]}
    by_series = manager_for(btc, benchmark=series).backtest(btc)
    for key in ("alpha", "beta", "tracking_error", "information_ratio"):
        assert by_symbol.metrics[key] == by_series.metrics[key]
    own = manager_for(btc, transaction_cost=0.0)
    own.config.benchmark = "BTC/USDT"
    result = own.backtest(btc)
    # held fully in BTC after the first bar: the active returns are 0 from bar 2 on
    assert result.metrics["beta"] == pytest.approx(1.0, abs=1e-3)


def test_a_benchmark_missing_a_date_is_refused_naming_it():
    prices = synthetic_prices(seed=3)
    bench = synthetic_prices(seed=4, n_assets=1)["A0"].drop(prices.index[100])
    with pytest.raises(Exception, match=str(prices.index[100].date())):
        manager_for(prices, benchmark=bench).backtest(prices)


# --- asset returns are a field, attrs are not needed ---------------------------------------------
def test_metrics_from_result_fields_and_a_named_error_without_them(tmp_path):
    prices = synthetic_prices(seed=5)
    result = manager_for(prices, allocation_method="minimum_variance").backtest(prices)
    from_attrs = PortfolioMetrics().calculate(result.equity_curve, result.weights_history)
    from_fields = PortfolioMetrics().calculate_result(result)
    assert from_fields["diversification_ratio"] == from_attrs["diversification_ratio"]
    assert from_fields["risk_contribution"] == from_attrs["risk_contribution"]
    result.weights_history.to_csv(tmp_path / "w.csv")
    loaded = pd.read_csv(tmp_path / "w.csv", index_col=0, parse_dates=True)
    with pytest.raises(MissingAssetReturnsError, match="asset_returns"):
        PortfolioMetrics().calculate(result.equity_curve, loaded)
    explicit = PortfolioMetrics().calculate(
        result.equity_curve, loaded, result.asset_returns, periods_per_year=365
    )
    assert explicit["risk_contribution"] == pytest.approx(
        from_fields["risk_contribution"], rel=1e-12
    )


# --- fallbacks --------------------------------------------------------------------------------
def test_on_infeasible_covers_solver_errors_with_every_policy():
    prices = synthetic_prices(seed=6)
    n = prices.shape[1]

    def flaky(window: pd.DataFrame, current: np.ndarray) -> np.ndarray:
        if window.index[-1].month % 2 == 0:
            raise SolverError("OSQP stopped at its iteration limit", "OSQP", "user_limit")
        return np.full(n, 1.0 / n)

    def fallback(window: pd.DataFrame, current: np.ndarray) -> np.ndarray:
        return np.eye(n)[0]

    def run(policy: RunPolicy):
        return run_backtest(prices, flaky, CalendarRebalancer("monthly"), 20, 0.001, CAPITAL, 365,
                            policy=policy)  # fmt: skip

    with pytest.raises(SolverError, match=r"at 2022-02-01.*OSQP") as info:
        run(RunPolicy("raise"))
    assert info.value.solver == "OSQP" and info.value.status == "user_limit"
    held, cash = run(RunPolicy("hold")), run(RunPolicy("cash"))
    fell = run(RunPolicy("fallback", fallback, "first_asset"))
    failing = [t for t, *_ in held.outcomes if t.month % 2 == 0]
    assert failing and [t for t, _ in held.skipped] == failing
    for run_, label in ((held, "held"), (cash, "cash"), (fell, "fallback:first_asset")):
        for when, outcome, reason in run_.outcomes:
            assert outcome == (label if when.month % 2 == 0 else "solved")
            assert ("SolverError" in reason) == (when.month % 2 == 0)
    cash_rows = [r for r in cash.rebalance_rows if cash.index[r].month % 2 == 0]
    assert cash_rows and all(np.all(cash.weights[r] == 0) for r in cash_rows)
    fell_rows = [r for r in fell.rebalance_rows if fell.index[r].month % 2 == 0]
    np.testing.assert_allclose(fell.weights[fell_rows], np.tile(np.eye(n)[0], (len(fell_rows), 1)))


def test_maximum_sharpe_falls_back_to_minimum_variance_and_records_it():
    trend = np.exp(np.r_[0.02 * np.arange(100), 2.0 - 0.02 * np.arange(1, 101)])
    prices = synthetic_prices(seed=7, n_bars=200, drift=0.0) * trend[:, None]
    manager = manager_for(prices, allocation_method="maximum_sharpe",
                          on_infeasible="minimum_variance")  # fmt: skip
    result = manager.backtest(prices)
    outcomes = result.rebalance_outcomes
    fell = outcomes.index[outcomes["outcome"] == "fallback:minimum_variance"]
    assert len(fell) and (outcomes.loc[fell, "reason"].str.contains("InfeasibleError")).all()
    assert result.skipped_rebalances == []
    returns = prices.pct_change()
    reference = PortfolioManager(PortfolioConfig(symbols=list(prices.columns),
                                                 allocation_method="minimum_variance"))  # fmt: skip
    allocator = reference.make_allocator()
    for when in fell:
        window = returns.loc[:when].iloc[-20:]
        expected = allocator.allocate(window).to_numpy()
        np.testing.assert_allclose(result.allocation_history.loc[when], expected, atol=1e-6)


# --- leverage: borrow rate, cap, ruin ---------------------------------------------------------
def leveraged(prices: pd.DataFrame, **fields) -> PortfolioManager:
    return manager_for(prices, rebalancer=VolatilityTargetRebalancer(0.6, 20, leverage_cap=2.0),
                       **fields)  # fmt: skip


def test_negative_cash_pays_the_borrow_rate_in_the_accounting_identity():
    prices = synthetic_prices(seed=8, vol=0.01)
    rate = 0.10
    result = leveraged(prices, borrow_rate=rate).backtest(prices)
    free = leveraged(prices).backtest(prices)
    assert result.exposure.max() > 1.5  # really borrowing
    assert result.metrics["total_financing"] > 0 and free.metrics["total_financing"] == 0
    equity, p = result.equity_curve, result.prices
    units = result.weights_history.mul(equity, axis=0) / p
    cash = equity - (units * p).sum(axis=1)
    growth = (1 + rate) ** (1 / 365)
    # interest at bar t is charged on the cash held over the bar (after t-1's trades)
    expected = (-cash.shift(1) * (growth - 1)).where(cash.shift(1) < 0, 0.0).iloc[1:]
    np.testing.assert_allclose(result.financing.iloc[1:], expected, rtol=1e-9, atol=MONEY_ATOL)
    move = (units.shift(1) * p.diff()).sum(axis=1).iloc[1:]
    np.testing.assert_allclose(
        equity.diff().iloc[1:], move - result.costs.iloc[1:] - result.financing.iloc[1:],
        rtol=0, atol=MONEY_ATOL,
    )  # fmt: skip


def test_exposure_is_held_to_its_cap_between_rebalances():
    data = load_bundled_prices(["SOL/USDT", "AVAX/USDT", "DOT/USDT"], end="2021-12-31")
    policy = VolatilityTargetRebalancer(2.0, 20, leverage_cap=2.0)
    uncapped = manager_for(data, rebalancer=policy, borrow_rate=0.05)
    capped = manager_for(data, rebalancer=policy, borrow_rate=0.05, exposure_cap=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuinWarning)
        drifting = uncapped.backtest(data)
    held = capped.backtest(data)
    assert drifting.exposure.max() > 2.5
    assert held.outcome == "completed" and held.deleverage_dates
    gross = held.weights_history.abs().sum(axis=1)
    assert gross.max() <= 2.0 * (1 + 1e-9)
    for when in held.deleverage_dates:  # traded back exactly to the cap at that close
        assert gross.loc[when] == pytest.approx(2.0, rel=1e-9)
        assert when not in held.rebalance_dates


def test_the_issue_run_ends_as_documented_instead_of_a_raw_error():
    data = load_bundled_prices(["SOL/USDT", "AVAX/USDT", "DOT/USDT"])
    policy = VolatilityTargetRebalancer(2.0, 20, leverage_cap=2.0)
    config = PortfolioConfig(symbols=list(data), rebalancer=policy)
    manager = PortfolioManager(config)
    with pytest.warns(RuinWarning, match="ruined"):
        result = manager.backtest(data)
    assert result.outcome == "ruined"
    ruin = result.ruined_at
    assert result.equity_curve.index[-1] == ruin and result.equity_curve.iloc[-1] <= 0
    assert (result.equity_curve.iloc[:-1] > 0).all()
    assert (result.weights_history.index == result.equity_curve.index).all()
    sold = [t for t in result.trades if t["timestamp"] == ruin]
    assert {t["action"] for t in sold} == {"SELL"} and len(sold) == 3
    assert manager.state.holdings == {s: 0.0 for s in data}
    assert manager.state.cash == pytest.approx(result.equity_curve.iloc[-1], abs=MONEY_ATOL)
    assert result.metrics["total_return"] < -100.0
    assert math.isnan(result.metrics["sharpe_ratio"])

    config.on_ruin = "raise"
    with pytest.raises(EquityDepletedError, match=str(ruin.date())) as info:
        PortfolioManager(config).backtest(data)
    assert info.value.result.outcome == "ruined" and info.value.result.ruined_at == ruin


def test_a_policy_that_falls_back_is_refused_when_unknown():
    with pytest.raises(Exception, match="on_infeasible"):
        PortfolioConfig(on_infeasible="magic")
    assert PortfolioConfig(on_infeasible="MINIMUM_VARIANCE").on_infeasible == "minimum_variance"
    assert AllocationMethod.parse(PortfolioConfig(on_infeasible="hrp").on_infeasible)
