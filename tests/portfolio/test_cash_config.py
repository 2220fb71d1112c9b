"""Cash from the config: ``PortfolioConfig.cash_asset`` names a riskless asset of the universe
that the backtest creates (closes compounding at ``risk_free_rate``, as ``add_cash_asset``)
and trades without transaction costs; combinations that cannot work are named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cvxport as cx

RISKY = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
SYMBOLS = [*RISKY, "CASH"]
RATE = 0.04  # annual


@pytest.fixture(scope="module")
def data():
    return cx.load_bundled_prices(RISKY, start="2024-01-01", end="2024-12-31")


def config(**fields):
    base = dict(
        symbols=SYMBOLS,
        cash_asset="CASH",
        risk_free_rate=RATE,
        allocation_method="minimum_variance",
        max_position_weight=0.3,
        lookback=60,
    )
    return cx.PortfolioConfig(**{**base, **fields})


def test_cash_is_created_held_to_its_bound_and_traded_free(data):
    result = cx.PortfolioManager(config()).backtest(data)
    closes = result.prices["CASH"]
    np.testing.assert_allclose(
        closes.pct_change().dropna(), (1 + RATE) ** (1 / 365) - 1, rtol=0, atol=1e-15
    )
    # zero variance: minimum variance fills the cash bound at every rebalance
    np.testing.assert_allclose(result.allocation_history["CASH"], 0.3, atol=1e-9)
    cash_trades = [t for t in result.trades if t["symbol"] == "CASH"]
    assert cash_trades and all(t["cost"] == 0.0 for t in cash_trades)
    risky_costs = sum(t["cost"] for t in result.trades if t["symbol"] != "CASH")
    assert result.metrics["total_costs"] == pytest.approx(risky_costs, rel=1e-12)


def test_the_same_run_by_hand_costs_more_where_cash_is_charged(data):
    by_hand = cx.add_cash_asset(data, "CASH", annual_rate=RATE)
    charged = cx.PortfolioManager(config(cash_asset=None)).backtest(by_hand)
    free = cx.PortfolioManager(config()).backtest(data)
    np.testing.assert_allclose(
        free.allocation_history.iloc[0], charged.allocation_history.iloc[0], atol=1e-9
    )
    assert free.metrics["total_costs"] < charged.metrics["total_costs"]


@pytest.mark.parametrize(
    "fields, match",
    [
        (dict(cash_asset="USD"), r"cash_asset 'USD' is not one of PortfolioConfig\.symbols"),
        (dict(allocation_method="risk_parity"), "risk_parity"),
        (dict(allocation_method="hrp"), "hrp"),
        (dict(allocation_method="inverse_volatility"), "inverse_volatility"),
        (dict(allocation_method="market_cap_weight"), "market_cap_weight"),
        # was: rebalances held behind one warning (CLARABEL's answer over cash's 1e-16
        # standard deviation cannot be certified) or a cash share set by rounding
        (dict(allocation_method="maximum_sharpe"), "maximum_sharpe.*not unique"),
        (
            dict(allocation_method="mean_risk", mean_risk_objective="ratio"),
            "mean_risk.*'ratio'.*not unique",
        ),
        (dict(on_infeasible="risk_parity"), "on_infeasible 'risk_parity'"),  # was accepted
        (dict(on_infeasible="maximum_sharpe"), "on_infeasible 'maximum_sharpe'.*not unique"),
        (dict(optimize_costs=True), "optimize_costs"),
        (dict(cash_asset=3), "cash_asset"),
    ],
)
def test_combinations_that_cannot_work_are_named(fields, match):
    with pytest.raises(cx.InvalidInputError, match=match):
        config(**fields).validate()


def test_data_that_already_holds_the_cash_symbol_is_named(data):
    with pytest.raises(cx.InvalidInputError, match="CASH"):
        cx.PortfolioManager(config()).backtest(cx.add_cash_asset(data, "CASH"))


def test_live_trading_refuses_a_backtest_cash_asset(data):
    manager = cx.PortfolioManager(config())
    manager.backtest(data)
    with pytest.raises(cx.InvalidInputError, match="cash_asset"):
        manager.calculate_rebalance_trades({"BTC/USDT": 1.0, "ETH/USDT": 1.0, "SOL/USDT": 1.0})


def test_a_config_file_with_a_cash_asset_runs_from_the_command_line(tmp_path, capsys):
    from cvxport.cli import main

    (tmp_path / "cash.toml").write_text(
        'symbols = ["BTC/USDT", "ETH/USDT", "CASH"]\n'
        'allocation_method = "minimum_variance"\n'
        'cash_asset = "CASH"\n'
        "risk_free_rate = 0.04\n"
        "min_position_weight = 0.0\n"
        "max_position_weight = 0.5\n"
    )
    out = tmp_path / "out"
    arguments = ["--config", str(tmp_path / "cash.toml"), "--start", "2024-01-01"]
    code = main(["backtest", *arguments, "--output", str(out)])  # before: 'CASH' not bundled
    assert code == 0, capsys.readouterr().err
    weights = pd.read_csv(out / "allocation_history.csv", index_col=0)
    np.testing.assert_allclose(weights["CASH"], 0.5, atol=1e-9)
    code = main(["frontier", *arguments, "--points", "5", "--output", str(tmp_path / "f")])
    assert code == 0, capsys.readouterr().err  # before: no data for symbol 'CASH'
