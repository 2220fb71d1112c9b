"""A backtest starts in cash, where any fully invested target trades sum|w| >= 1: a
TurnoverLimit below 1 made every rebalance infeasible and the run stayed in cash (a flat curve
behind one warning). The opening allocation from an empty book is not turnover-limited; every
later rebalance is."""

from __future__ import annotations

import numpy as np
import pytest

import cvxport as cx

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT"]
LIMIT = 0.5  # two-way turnover, fraction of NAV
COSTS = 0.001  # the traded notional is measured on pre-cost equity: within 2 x costs of NAV


@pytest.fixture(scope="module")
def data():
    return cx.load_bundled_prices(SYMBOLS, start="2023-06-01", end="2024-12-31")


@pytest.mark.parametrize("method", ["minimum_variance", "mean_risk"])
def test_a_turnover_limit_leaves_cash_then_binds(data, method):
    config = cx.PortfolioConfig(
        symbols=SYMBOLS,
        allocation_method=method,
        constraints=(cx.TurnoverLimit(LIMIT),),
        transaction_cost=COSTS,
        lookback=60,
    )
    result = cx.PortfolioManager(config).backtest(data)
    assert not result.skipped_rebalances  # before: every rebalance held, all cash
    two_way = 2.0 * result.turnover.to_numpy()
    assert two_way[0] == pytest.approx(1.0, abs=2 * COSTS)  # the opening build-up
    assert np.all(two_way[1:] <= LIMIT + 2 * COSTS)
    assert np.any(two_way[1:] >= LIMIT - 2 * COSTS)  # and the limit binds later


def test_a_live_update_from_cash_opens_the_same_way(data):
    config = cx.PortfolioConfig(
        symbols=SYMBOLS,
        allocation_method="minimum_variance",
        constraints=(cx.TurnoverLimit(LIMIT),),
        lookback=60,
    )
    target = cx.PortfolioManager(config).update_market_data(data)  # before: InfeasibleError
    unlimited = cx.PortfolioManager(
        cx.PortfolioConfig(symbols=SYMBOLS, allocation_method="minimum_variance", lookback=60)
    ).update_market_data(data)
    np.testing.assert_allclose(target, unlimited, atol=1e-12)


def test_a_limit_cash_can_meet_still_bounds_the_opening(data):
    # from cash a long/short book trades its gross exposure: TurnoverLimit(1.2) caps it there
    config = cx.PortfolioConfig(
        symbols=SYMBOLS,
        allocation_method="minimum_variance",
        allow_short=True,
        min_position_weight=-0.5,
        constraints=(cx.TurnoverLimit(1.2),),
        transaction_cost=COSTS,
        lookback=60,
    )
    result = cx.PortfolioManager(config).backtest(data)
    first = result.allocation_history.iloc[0]
    assert first.abs().sum() <= 1.2 + 1e-9
    config.constraints = ()
    free = cx.PortfolioManager(config).backtest(data).allocation_history.iloc[0]
    assert free.abs().sum() > 1.2 + 1e-3  # without it the opening is more levered: it binds
