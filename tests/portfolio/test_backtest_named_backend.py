"""A backend named in the config that does not accept the method's problem stops the backtest
with its UnsupportedProblemError: it is the configuration, not one window's infeasibility, so
holding every rebalance (a flat, all-cash run with a warning) would hide it."""

from __future__ import annotations

import pytest

import cvxport as cx

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


@pytest.fixture(scope="module")
def data():
    return cx.load_bundled_prices(SYMBOLS, start="2024-01-01", end="2024-06-30")


@pytest.mark.parametrize(
    "method, solver",
    [
        ("risk_parity", "ACTIVE_SET"),
        ("minimum_variance", "NEWTON"),
        ("minimum_variance", "HIGHS_LP"),
    ],
)
@pytest.mark.parametrize("policy", ["hold", "cash", "equal_weight"])
def test_an_unaccepted_named_backend_stops_the_backtest(data, method, solver, policy):
    config = cx.PortfolioConfig(
        symbols=SYMBOLS, allocation_method=method, solver=solver, on_infeasible=policy
    )
    with pytest.raises(cx.UnsupportedProblemError, match=f"{solver} does not accept"):
        cx.PortfolioManager(config).backtest(data)  # before: every rebalance held, no trade


def test_a_fallback_method_the_named_backend_refuses_stops_it_too(data):
    # minimum variance is infeasible nowhere here; maximum Sharpe falls back when no asset
    # beats the risk-free rate, to risk parity, which ACTIVE_SET does not take
    config = cx.PortfolioConfig(
        symbols=SYMBOLS,
        allocation_method="maximum_sharpe",
        risk_free_rate=5.0,  # 500% a year: nothing beats it, every rebalance falls back
        solver="ACTIVE_SET",
        on_infeasible="risk_parity",
    )
    with pytest.raises(cx.UnsupportedProblemError, match="ACTIVE_SET does not accept"):
        cx.PortfolioManager(config).backtest(data)
