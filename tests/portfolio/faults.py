"""A PaperBroker that misbehaves on purpose, and the invariants every fault must keep."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pandas as pd
import pytest

from cvxport import AllocationMethod, PortfolioConfig, PortfolioManager
from cvxport.broker_bridge import Fill, Order, OrderPolicy, PaperBroker, UnifiedExecutor
from cvxport.errors import ExecutionError, RetryableError

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
PRICES = {"BTC/USDT": 40_000.0, "ETH/USDT": 2_500.0, "SOL/USDT": 100.0}
FAST = OrderPolicy(timeout=0.2, retries=3, backoff=0.001, status_timeout=0.2)


class FaultyBroker(PaperBroker):
    """``faults``: symbol -> 'reject', 'exception', 'rate_limit', 'lost', 'partial', 'late',
    'hang' or 'inconsistent' (what happens to that symbol's orders)."""

    def __init__(self, *args, faults=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.faults = dict(faults or {})
        self.attempts: list[str] = []  # client order ids of every submit_order call

    async def submit_order(self, order: Order) -> Fill:
        self.attempts.append(order.client_order_id)
        fault = self.faults.get(order.symbol)
        if fault == "reject":
            raise ExecutionError(f"broker {self.name!r} rejected {order.symbol!r}: halted")
        if fault == "exception":
            raise ConnectionResetError("socket closed")
        if fault == "rate_limit" and self.attempts.count(order.client_order_id) <= 2:
            raise RetryableError("429 Too Many Requests", retry_after=0.005)
        if fault == "hang":
            await asyncio.Event().wait()
        if fault == "partial":
            half = dataclasses.replace(order, quantity=order.quantity / 2)
            fill = await super().submit_order(half)
            return dataclasses.replace(fill, order=order)
        fill = await super().submit_order(order)
        if fault == "lost":
            raise RetryableError("connection reset after the order was sent")
        if fault == "late":
            await asyncio.sleep(10)
        if fault == "inconsistent":
            return dataclasses.replace(fill, price=float("nan"), quantity=fill.quantity * 10)
        return fill


def drifted_setup(journal_path=None, faults=None, latency=0.0, **config):
    """A manager targeting equal weights and a broker holding everything in BTC plus cash."""
    settings = {
        "initial_capital": 100_000.0,
        "symbols": SYMBOLS,
        "allocation_method": AllocationMethod.EQUAL_WEIGHT,
        "transaction_cost": 0.001,
        "lookback": 5,
        "journal_path": journal_path,
    }
    settings.update(config)
    manager = PortfolioManager(PortfolioConfig(**settings))
    index = pd.date_range("2024-01-01", periods=10, freq="D")
    closes = pd.DataFrame({s: np.full(10, p) for s, p in PRICES.items()}, index=index)
    closes.iloc[::2] *= 1.01  # some variance
    manager.update_market_data(closes)
    broker = FaultyBroker(
        cash=1_000.0, positions={"BTC/USDT": 2.0}, prices=PRICES, commission_rate=0.001,
        latency=latency, faults=faults,
    )  # fmt: skip
    executor = UnifiedExecutor(policy=FAST)
    executor.add_broker(broker, default=True)
    return manager, broker, executor


def assert_consistent(manager: PortfolioManager, broker: PaperBroker) -> None:
    """State equals the broker's account; every order the broker saw is journaled, once."""
    for symbol in SYMBOLS:
        held = manager.state.holdings.get(symbol, 0.0)
        assert held == pytest.approx(broker.positions.get(symbol, 0.0), rel=1e-12, abs=1e-12)
    assert manager.state.cash == pytest.approx(broker.cash, rel=1e-12, abs=1e-9)
    journal = manager.journal.orders()
    ids = [o.client_order_id for o in broker.sent]
    assert len(ids) == len(set(ids)), "an order was executed twice"
    assert set(ids) <= set(journal["client_order_id"]), "an order the broker saw is not journaled"
    fills = manager.journal.fills()
    assert len(fills) == len(set(fills["client_order_id"]))
    assert len(fills) == len(manager.trade_log)
