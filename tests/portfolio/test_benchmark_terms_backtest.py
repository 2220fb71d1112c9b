"""A backtest gives ``PortfolioConfig.benchmark`` to the terms that use the benchmark (tracking
error as the mean-risk measure or as a limit), window by window, as ``allocate`` would get it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from conftest import SOLVER_ATOL

import cvxport as cx

SYMBOLS = ["ETH/USDT", "SOL/USDT", "BNB/USDT"]


@pytest.fixture(scope="module")
def data():
    return cx.load_bundled_prices([*SYMBOLS, "BTC/USDT"], start="2024-01-01", end="2024-12-31")


def _replay(config, data, result):
    """Allocate directly at every rebalance of ``result`` with the benchmark's returns."""
    closes = cx.align_prices(data).prices
    returns = cx.prices_to_returns(closes)
    benchmark = returns["BTC/USDT"]
    allocator = cx.PortfolioManager(config).make_allocator()
    for date in result.rebalance_dates:
        window = returns[SYMBOLS].loc[:date].iloc[-config.lookback :]
        weights = allocator.allocate(window, benchmark_returns=benchmark)
        yield date, weights


@pytest.mark.parametrize(
    "fields",
    [
        dict(allocation_method="mean_risk", risk_measure="tracking_error"),
        dict(
            allocation_method="minimum_variance",
            constraints=(cx.RiskLimit(cx.TrackingError(), 0.02),),
        ),
    ],
    ids=["mean_risk_tracking_error", "tracking_error_limit"],
)
def test_the_config_benchmark_reaches_tracking_error_terms(data, fields):
    config = cx.PortfolioConfig(symbols=SYMBOLS, benchmark="BTC/USDT", lookback=60, **fields)
    result = cx.PortfolioManager(config).backtest(data)  # before: no benchmark_returns, raised
    assert len(result.rebalance_dates) >= 10 and not result.skipped_rebalances
    for date, weights in _replay(config, data, result):
        np.testing.assert_allclose(result.allocation_history.loc[date], weights, atol=1e-9)


def test_a_term_needing_a_benchmark_without_one_names_the_config_field(data):
    config = cx.PortfolioConfig(symbols=SYMBOLS, allocation_method="mean_risk", lookback=60)
    config.risk_measure = "tracking_error"
    with pytest.raises(cx.InvalidInputError, match=r"PortfolioConfig\.benchmark"):
        cx.PortfolioManager(config).backtest({s: data[s] for s in SYMBOLS})


@dataclass(frozen=True)
class PriceWeightedCap(cx.Constraint):
    """sum(price_i * w_i) <= limit (quote currency per unit of NAV): a rule on ctx.prices."""

    limit: float

    def build(self, ctx):
        return [ctx.prices @ ctx.weights <= self.limit * ctx.scale]


def test_the_closes_of_each_rebalance_reach_a_term_using_prices(data):
    data = {s: data[s] for s in SYMBOLS}
    closes = cx.align_prices(data).prices
    limit = 300.0  # above SOL's closes in 2024 (feasible), below ETH's (it binds)
    config = cx.PortfolioConfig(
        symbols=SYMBOLS,
        allocation_method="minimum_variance",
        constraints=(PriceWeightedCap(limit),),
        lookback=60,
    )
    result = cx.PortfolioManager(config).backtest(data)  # before: no prices, raised
    assert len(result.rebalance_dates) >= 10 and not result.skipped_rebalances
    for date in result.rebalance_dates:
        weights = result.allocation_history.loc[date]
        assert float(closes.loc[date, SYMBOLS] @ weights) <= limit + 1e-6


def test_live_market_data_gives_the_benchmark_and_prices_as_the_backtest(data):
    config = cx.PortfolioConfig(
        symbols=SYMBOLS,
        benchmark="BTC/USDT",
        allocation_method="minimum_variance",
        constraints=(cx.RiskLimit(cx.TrackingError(), 0.04), PriceWeightedCap(300.0)),
        lookback=60,
    )
    target = cx.PortfolioManager(config).update_market_data(data)  # before: raised
    closes = cx.align_prices(data).prices
    returns = cx.prices_to_returns(closes)
    expected = (
        cx.PortfolioManager(config)
        .make_allocator()
        .allocate(
            returns[SYMBOLS].iloc[-60:],
            benchmark_returns=returns["BTC/USDT"],
            prices=closes[SYMBOLS].iloc[-1],
        )
    )
    np.testing.assert_allclose(target, expected, atol=1e-12)


def test_a_held_benchmark_symbol_gives_the_ex_ante_measure_its_weights(data):
    held = ["BTC/USDT", *SYMBOLS]
    config = cx.PortfolioConfig(
        symbols=held,
        benchmark="BTC/USDT",
        allocation_method="mean_risk",
        risk_measure="ex_ante_tracking_error",
        max_position_weight=0.5,
        lookback=60,
    )
    result = cx.PortfolioManager(config).backtest(data)  # before: benchmark_weights missing
    assert not result.skipped_rebalances
    closes = cx.align_prices(data).prices
    returns = cx.prices_to_returns(closes)[held]
    allocator = cx.PortfolioManager(config).make_allocator()
    date = result.rebalance_dates[-1]
    expected = allocator.allocate(
        returns.loc[:date].iloc[-60:], benchmark_weights={s: float(s == "BTC/USDT") for s in held}
    )
    # Clarabel solves the ex-ante measure; the run's warm problem and a fresh one differ by
    # its stated weight tolerance
    atol = SOLVER_ATOL["CLARABEL"]
    np.testing.assert_allclose(result.allocation_history.loc[date], expected, atol=atol)
    config.symbols = SYMBOLS  # an outside benchmark has returns but no weights: named
    with pytest.raises(cx.InvalidInputError, match=r"benchmark_weights.*one of the symbols"):
        cx.PortfolioManager(config).backtest(data)


def test_a_benchmark_from_the_first_report_date_still_reports_and_terms_name_the_gap(data):
    # a benchmark whose prices start at bar lookback - 1 (the first report date) was enough
    # before terms got the benchmark; then every backtest with it raised (59 dates missing)
    lookback = 60
    closes = cx.align_prices(data).prices["BTC/USDT"]
    late = closes.iloc[lookback - 1 :]
    held = {s: data[s] for s in SYMBOLS}
    config = cx.PortfolioConfig(symbols=SYMBOLS, benchmark=late, lookback=lookback)
    result = cx.PortfolioManager(config).backtest(held)
    full = cx.PortfolioManager(cx.PortfolioConfig(symbols=SYMBOLS, benchmark=closes,
                                                  lookback=lookback)).backtest(held)  # fmt: skip
    assert result.metrics["beta"] == pytest.approx(full.metrics["beta"], rel=1e-12)
    # a term reading the benchmark's returns over a window it does not cover is named (never
    # a 0 return made up at the benchmark's first price)
    config.constraints = (cx.RiskLimit(cx.TrackingError(), 0.04),)
    with pytest.raises(cx.InvalidInputError, match="benchmark_returns has no value at"):
        cx.PortfolioManager(config).backtest(held)


def test_live_market_data_with_a_benchmark_short_of_the_window(data):
    # a benchmark starting inside the window: no term reads it, so the target is computed
    # (was: a raw refusal of the benchmark's missing dates); a term reading it names the gap
    closes = cx.align_prices(data).prices["BTC/USDT"]
    config = cx.PortfolioConfig(symbols=SYMBOLS, benchmark=closes.iloc[-30:], lookback=60)
    held = {s: data[s] for s in SYMBOLS}
    target = cx.PortfolioManager(config).update_market_data(held)
    plain = cx.PortfolioConfig(symbols=SYMBOLS, lookback=60)
    np.testing.assert_array_equal(target, cx.PortfolioManager(plain).update_market_data(held))
    config.constraints = (cx.RiskLimit(cx.TrackingError(), 0.04),)
    with pytest.raises(cx.InvalidInputError, match="benchmark_returns has no value at"):
        cx.PortfolioManager(config).update_market_data(held)
