"""Tests of PortfolioManager's live operations: the spec's Live Operations block and
``await manager.execute_rebalance(executor)`` through a UnifiedExecutor holding a PaperBroker."""

from __future__ import annotations

import asyncio
import copy

import numpy as np
import pandas as pd
import pytest
from conftest import SPEC_SYMBOLS, spec_config

from cvxport import (
    AllocationMethod,
    InvalidInputError,
    MinimumVarianceAllocator,
    PortfolioConfig,
    PortfolioManager,
    WeightBounds,
    load_bundled_prices,
)
from cvxport.broker_bridge import PaperBroker, UnifiedExecutor
from cvxport.errors import ExecutionError, ReconciliationError

RATE = spec_config().transaction_cost  # the spec's 0.1% commission
# Weights after a rebalance whose costs were estimated at the broker's own commission rate:
# sizing solves E' = E - rate * traded(E') to 1e-13 relative, so the target holds to rounding.
WEIGHT_ATOL = 1e-9


@pytest.fixture(scope="module")
def portfolio_data() -> dict[str, pd.DataFrame]:
    return load_bundled_prices(SPEC_SYMBOLS, start="2023-01-01")


def spec_manager() -> PortfolioManager:
    return PortfolioManager(spec_config())


def last_closes(data) -> dict[str, float]:
    return {s: float(frame["close"].iloc[-1]) for s, frame in data.items()}


def moved(prices: dict[str, float]) -> dict[str, float]:
    """Today's prices: BTC +10%, ETH -12%, SOL +25% since the last close."""
    factors = {"BTC/USDT": 1.10, "ETH/USDT": 0.88, "SOL/USDT": 1.25}
    return {s: p * factors[s] for s, p in prices.items()}


def weights_at(manager: PortfolioManager, prices: dict[str, float]) -> np.ndarray:
    state = manager.state
    values = np.array([state.holdings.get(s, 0.0) * prices[s] for s in SPEC_SYMBOLS])
    return values / (state.cash + values.sum())


def apply_trades(holdings, cash, trades):
    """Holdings and cash after filling ``trades`` at their prices, paying their costs."""
    holdings = dict(holdings)
    for trade in trades:
        sign = 1.0 if trade["action"] == "BUY" else -1.0
        holdings[trade["symbol"]] = holdings.get(trade["symbol"], 0.0) + sign * trade["quantity"]
        cash -= sign * trade["value"] + trade["cost"]
    return holdings, cash


def paper_executor(manager: PortfolioManager, prices, cash=None, **broker_args):
    """A UnifiedExecutor whose one (default) PaperBroker mirrors the manager's state."""
    broker = PaperBroker(
        cash=manager.state.cash if cash is None else cash,
        positions=dict(manager.state.holdings),
        prices=prices,
        commission_rate=manager.config.transaction_cost,
        **broker_args,
    )
    executor = UnifiedExecutor()
    executor.add_broker(broker, default=True)
    return executor, broker


# --- the spec's Live Operations block ------------------------------------------------------------
def test_spec_live_operations_block(portfolio_data, capsys):
    manager = spec_manager()
    result = manager.backtest(portfolio_data)
    current_prices = moved(last_closes(portfolio_data))

    # Current allocation
    current = manager.get_current_allocation()
    print(f"Current weights: {current}")

    # Target allocation
    target = manager.get_target_allocation()
    print(f"Target weights: {target}")

    # Drift
    drift = manager.calculate_drift()
    print(f"Current drift: {drift:.2%}")

    # Required trades
    trades = manager.calculate_rebalance_trades(current_prices)

    for trade in trades:
        print(f"{trade['action']} {trade['quantity']:.4f} {trade['symbol']}")
        print(f"  Value: ${trade['value']:.2f}")

    out = capsys.readouterr().out
    # The backtest's final holdings became the live state (it was untouched).
    np.testing.assert_allclose(current, result.weights_history.iloc[-1], atol=1e-12)
    assert list(current.index) == SPEC_SYMBOLS and list(target.index) == SPEC_SYMBOLS
    np.testing.assert_array_equal(target, result.allocation_history.iloc[-1])
    assert drift == pytest.approx(np.max(np.abs(current.to_numpy() - target.to_numpy())))
    assert f"Current drift: {drift:.2%}" in out
    assert trades and all(f"  Value: ${t['value']:.2f}" in out for t in trades)

    # Filling the trades at current_prices, costs paid, lands exactly on the target.
    state = manager.state
    holdings, cash = apply_trades(state.holdings, state.cash, trades)
    values = np.array([holdings[s] * current_prices[s] for s in SPEC_SYMBOLS])
    equity_before = state.cash + sum(state.holdings[s] * current_prices[s] for s in SPEC_SYMBOLS)
    np.testing.assert_allclose(values / (cash + values.sum()), target, atol=WEIGHT_ATOL)
    total_cost = sum(t["cost"] for t in trades)
    assert total_cost == pytest.approx(RATE * sum(t["value"] for t in trades), rel=1e-12)
    assert cash + values.sum() == pytest.approx(equity_before - total_cost, rel=1e-12)
    for trade in trades:
        assert trade["price"] == current_prices[trade["symbol"]]
        assert trade["value"] == pytest.approx(trade["quantity"] * trade["price"], rel=1e-12)
    actions = [t["action"] for t in trades]
    assert actions == sorted(actions, reverse=True)  # sells first


def test_spec_execute_rebalance_with_a_paper_broker(portfolio_data):
    manager = spec_manager()
    manager.backtest(portfolio_data)
    current_prices = moved(last_closes(portfolio_data))
    # Today's state: the backtest's holdings, marked at today's prices.
    manager.set_state(manager.state.holdings, max(manager.state.cash, 0.0), current_prices)
    target = manager.get_target_allocation()
    equity_before = manager.state.equity()
    assert manager.calculate_drift() > 0.01
    executor, broker = paper_executor(manager, current_prices)
    trades = manager.calculate_rebalance_trades(current_prices)

    async def main():
        # Execute rebalance
        return await manager.execute_rebalance(executor)

    report = asyncio.run(main())

    assert report.ok and len(report.fills) == len(trades) >= 2
    # The state matches the target within the cost tolerance ...
    np.testing.assert_allclose(manager.get_current_allocation(), target, atol=WEIGHT_ATOL)
    assert manager.calculate_drift() < WEIGHT_ATOL
    assert manager.state.cash == pytest.approx(0.0, abs=1e-6)
    commission = report.total_commission
    assert commission == pytest.approx(RATE * sum(f.value for f in report.fills), rel=1e-12)
    assert manager.state.equity() == pytest.approx(equity_before - commission, rel=1e-12)
    # ... agrees with the broker's account ...
    for symbol, units in broker.positions.items():
        assert manager.state.holdings[symbol] == pytest.approx(units, rel=1e-12)
    assert manager.state.cash == pytest.approx(broker.cash, abs=1e-6)
    # ... and the trade log has every fill, in order.
    assert len(manager.trade_log) == len(report.fills)
    for entry, fill in zip(manager.trade_log, report.fills, strict=True):
        assert entry["symbol"] == fill.symbol and entry["action"] == fill.side.value
        assert entry["quantity"] == fill.quantity and entry["price"] == fill.price
        assert entry["value"] == fill.value and entry["cost"] == fill.commission
        assert entry["broker"] == broker.name and entry["timestamp"] == fill.timestamp
    for entry, trade in zip(manager.trade_log, trades, strict=True):
        assert entry["symbol"] == trade["symbol"] and entry["action"] == trade["action"]
        assert entry["quantity"] == pytest.approx(trade["quantity"], rel=1e-15)
    # A second rebalance right away has nothing left to do.
    second = asyncio.run(manager.execute_rebalance(executor))
    assert second.fills == [] and second.failures == []


# --- synthetic live operations --------------------------------------------------------------------
def synthetic_data(n_bars: int = 90, seed: int = 31) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    returns = rng.normal(4e-4, 0.02, size=(n_bars, 3)) + rng.normal(0, 0.01, (n_bars, 1))
    index = pd.date_range("2024-01-01", periods=n_bars, freq="D", name="timestamp")
    closes = 100 * np.cumprod(1 + returns, axis=0) * np.array([300.0, 20.0, 1.0])
    return pd.DataFrame(closes, index=index, columns=SPEC_SYMBOLS)


def live_manager(**fields) -> PortfolioManager:
    settings = {
        "initial_capital": 50_000.0,
        "symbols": SPEC_SYMBOLS,
        "allocation_method": AllocationMethod.MINIMUM_VARIANCE,
        "min_position_weight": 0.1,
        "max_position_weight": 0.6,
        "transaction_cost": 0.002,
        "lookback": 30,
    }
    settings.update(fields)
    return PortfolioManager(PortfolioConfig(**settings))


def test_update_market_data_sets_target_and_prices():
    prices = synthetic_data()
    manager = live_manager()
    target = manager.update_market_data(prices)

    allocator = MinimumVarianceAllocator(constraints=[WeightBounds(0.1, 0.6)])
    expected = allocator.allocate(prices.pct_change().iloc[-30:])
    np.testing.assert_allclose(target, expected, atol=1e-7)
    pd.testing.assert_series_equal(manager.get_target_allocation(), target)
    assert manager.state.prices == {s: float(prices[s].iloc[-1]) for s in SPEC_SYMBOLS}
    assert manager.state.timestamp == prices.index[-1]
    assert manager.periods_per_year_ == 365
    # All cash: nothing held, the whole target is drift.
    assert (manager.get_current_allocation() == 0).all()
    assert manager.calculate_drift() == pytest.approx(target.max())


def test_execute_rebalance_from_cash_then_at_new_prices():
    prices = synthetic_data()
    manager = live_manager()
    manager.update_market_data(prices)
    executor, broker = paper_executor(manager, manager.state.prices)
    first = asyncio.run(manager.execute_rebalance(executor))
    assert first.ok and {f.side.value for f in first.fills} == {"BUY"}
    target = manager.get_target_allocation()
    np.testing.assert_allclose(manager.get_current_allocation(), target, atol=WEIGHT_ATOL)
    # From cash: E' = C / (1 + rate) invested, C * rate / (1 + rate) paid.
    assert first.total_commission == pytest.approx(50_000 * 0.002 / 1.002, rel=1e-12)

    # New prices passed explicitly: sized and recorded at them.
    factors = dict(zip(SPEC_SYMBOLS, (0.8, 1.3, 1.05), strict=True))
    new_prices = {s: p * factors[s] for s, p in manager.state.prices.items()}
    broker.set_prices(new_prices)
    second = asyncio.run(manager.execute_rebalance(executor, prices=pd.Series(new_prices)))
    assert second.ok and second.fills
    assert manager.state.prices == pytest.approx(new_prices, rel=1e-15)
    np.testing.assert_allclose(manager.get_current_allocation(), target, atol=WEIGHT_ATOL)
    assert len(manager.trade_log) == len(first.fills) + len(second.fills)
    assert manager.state.cash == pytest.approx(broker.cash, abs=1e-6)
    for symbol, units in broker.positions.items():
        assert manager.state.holdings[symbol] == pytest.approx(units, rel=1e-12)


def test_state_disagreeing_with_the_broker_is_refused_by_name():
    """The broker has less cash than the user-set state: the rebalance names the difference
    and sends nothing (it used to sell, then fail the buys, leaving the manager's cash wrong)."""
    prices = synthetic_data()
    manager = live_manager()
    manager.update_market_data(prices)
    last = manager.state.prices
    manager.set_state({"BTC/USDT": 100.0}, 20_000.0, last)
    executor, broker = paper_executor(manager, last, cash=0.0)
    before = copy.deepcopy(manager.state)
    with pytest.raises(ReconciliationError, match=r"cash: state 20000, broker 0"):
        asyncio.run(manager.execute_rebalance(executor))
    assert manager.state == before and manager.trade_log == [] and broker.sent == []
    assert "cash: state 20000" in manager.journal.anomalies()["detail"].iloc[-1]


class RejectingBroker(PaperBroker):
    """Rejects every BUY of the symbols in ``refuse`` (as an exchange may: halted market)."""

    def __init__(self, *args, refuse=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refuse = set(refuse)

    async def submit_order(self, order):
        if order.symbol in self.refuse and order.side.value == "BUY":
            raise ExecutionError(f"broker {self.name!r} rejected {order.symbol!r}: market halted")
        return await super().submit_order(order)


def test_rejected_orders_change_nothing():
    """Sells fill, the rejected buys change nothing: the state moves by the fills only, exactly
    as the broker's account does, and the rejected orders are journaled as failed."""
    prices = synthetic_data()
    manager = live_manager()
    manager.update_market_data(prices)
    last = manager.state.prices
    manager.set_state({"BTC/USDT": 100.0}, 0.0, last)  # all in one asset
    broker = RejectingBroker(
        positions={"BTC/USDT": 100.0}, prices=last, commission_rate=0.002,
        refuse=["ETH/USDT"],
    )  # fmt: skip
    executor = UnifiedExecutor()
    executor.add_broker(broker, default=True)
    report = asyncio.run(manager.execute_rebalance(executor))

    assert report.fills and report.failures
    assert [f.order.symbol for f in report.failures] == ["ETH/USDT"]
    assert "market halted" in report.failures[0].error
    assert {f.side.value for f in report.fills} == {"SELL", "BUY"}
    for symbol in SPEC_SYMBOLS:
        held = manager.state.holdings.get(symbol, 0.0)
        assert held == pytest.approx(broker.positions.get(symbol, 0.0), rel=1e-12, abs=1e-12)
    assert manager.state.holdings["ETH/USDT"] == 0.0
    assert manager.state.cash == pytest.approx(broker.cash, rel=1e-12)
    assert len(manager.trade_log) == len(report.fills)
    assert [e["symbol"] for e in manager.trade_log] == [f.symbol for f in report.fills]
    orders = manager.journal.orders().set_index("symbol")
    assert orders.loc["ETH/USDT", "status"] == "failed"
    assert set(orders.drop("ETH/USDT")["status"]) == {"filled"}


def test_insufficient_broker_cash_rejects_buys():
    """A fresh manager (initial_capital, simulated) takes the broker's balances as its state:
    it sizes with the 10 the broker has, not the 50,000 of the config."""
    prices = synthetic_data()
    manager = live_manager()
    manager.update_market_data(prices)
    executor, broker = paper_executor(manager, manager.state.prices, cash=10.0)
    report = asyncio.run(manager.execute_rebalance(executor))
    assert report.ok and len(report.fills) == 3
    assert manager.state.cash == pytest.approx(broker.cash, abs=1e-9) and broker.cash >= 0
    assert manager.state.equity() == pytest.approx(10.0 / 1.002, rel=1e-9)
    assert manager.state.source == "live"


def test_unroutable_symbol_sends_nothing():
    prices = synthetic_data()
    manager = live_manager()
    manager.update_market_data(prices)
    broker = PaperBroker(cash=50_000.0, prices=manager.state.prices, symbols=["BTC/USDT"])
    executor = UnifiedExecutor()
    executor.add_broker(broker)  # no default: ETH and SOL have no broker
    before = copy.deepcopy(manager.state)
    with pytest.raises(InvalidInputError, match="ETH/USDT"):
        asyncio.run(manager.execute_rebalance(executor))
    assert manager.state == before and manager.trade_log == [] and broker.fills == []


def test_backtest_keeps_a_state_set_by_the_user():
    prices = synthetic_data()
    manager = live_manager()
    manager.set_state({"ETH/USDT": 3.0}, 1_000.0, {s: 1.0 for s in SPEC_SYMBOLS})
    before = copy.deepcopy(manager.state)
    result = manager.backtest(prices)
    assert manager.state == before
    pd.testing.assert_series_equal(
        manager.get_target_allocation(), result.allocation_history.iloc[-1].rename("target")
    )


def test_live_errors_name_what_is_wrong():
    manager = live_manager()
    with pytest.raises(InvalidInputError, match="no target allocation"):
        manager.get_target_allocation()
    with pytest.raises(InvalidInputError, match="no target allocation"):
        manager.calculate_drift()
    with pytest.raises(InvalidInputError, match="DOGE/USDT"):
        manager.set_state({"DOGE/USDT": 1.0}, 0.0)
    with pytest.raises(InvalidInputError, match="not finite"):
        manager.set_state({"BTC/USDT": float("nan")}, 0.0)
    manager.update_market_data(synthetic_data())
    good = dict(manager.state.prices)
    with pytest.raises(InvalidInputError, match="SOL/USDT"):
        manager.calculate_rebalance_trades({s: p for s, p in good.items() if s != "SOL/USDT"})
    with pytest.raises(InvalidInputError, match="ETH/USDT"):
        manager.calculate_rebalance_trades({**good, "ETH/USDT": -1.0})
    with pytest.raises(InvalidInputError, match="BTC/USDT"):
        manager.calculate_rebalance_trades({**good, "BTC/USDT": float("nan")})


def test_non_numeric_caps_holdings_and_cash_are_refused_by_name():
    manager = live_manager()
    before = copy.deepcopy(manager.state)
    with pytest.raises(InvalidInputError, match="market cap of 'ETH/USDT' must be a number"):
        manager.set_market_caps({"BTC/USDT": 1e12, "ETH/USDT": "lots"})
    assert manager.market_caps is None
    with pytest.raises(InvalidInputError, match="holding of 'BTC/USDT' must be a number"):
        manager.set_state({"BTC/USDT": "one"}, 0.0)
    with pytest.raises(InvalidInputError, match="cash must be a number"):
        manager.set_state({"BTC/USDT": 1.0}, None)
    assert manager.state == before
    with pytest.raises(InvalidInputError, match="price of 'SOL/USDT' must be a number"):
        manager.calculate_rebalance_trades({"BTC/USDT": 1.0, "ETH/USDT": 1.0, "SOL/USDT": "?"})


def test_update_market_data_with_bad_data_changes_nothing():
    prices = synthetic_data()
    manager = live_manager()
    manager.update_market_data(prices)
    before = (copy.deepcopy(manager.state), manager.target_, manager.returns_)
    broken = prices.copy()
    broken.iloc[50, 1] = -3.0
    with pytest.raises(InvalidInputError, match="ETH/USDT"):
        manager.update_market_data(broken)
    assert manager.state == before[0]
    assert manager.target_ is before[1] and manager.returns_ is before[2]
