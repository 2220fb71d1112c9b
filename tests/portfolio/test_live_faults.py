"""The fault matrix against PaperBroker: after each fault the manager's state equals the
broker's, every order is journaled, and no order was executed twice."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from faults import SYMBOLS, assert_consistent, drifted_setup
from hypothesis import given, settings
from hypothesis import strategies as st

from cvxport import MarketLimits, PortfolioState
from cvxport.broker_bridge import Fill, Order, OrderSide
from cvxport.errors import InconsistentFillError, RebalanceInProgressError


def run(manager, executor):
    return asyncio.run(manager.execute_rebalance(executor))


def test_no_fault_reaches_the_target():
    manager, broker, executor = drifted_setup()
    report = run(manager, executor)
    assert report.ok and len(report.fills) == 3
    assert_consistent(manager, broker)
    np.testing.assert_allclose(manager.get_current_allocation(), 1 / 3, atol=1e-9)
    assert set(manager.journal.orders()["status"]) == {"filled"}


def test_reject():
    manager, broker, executor = drifted_setup(faults={"ETH/USDT": "reject"})
    report = run(manager, executor)
    assert [f.order.symbol for f in report.failures] == ["ETH/USDT"]
    assert "halted" in report.failures[0].error
    assert_consistent(manager, broker)
    status = manager.journal.orders().set_index("symbol")["status"]
    assert status["ETH/USDT"] == "failed" and status["SOL/USDT"] == "filled"


def test_partial_fill_books_what_filled_and_reports_the_remainder():
    manager, broker, executor = drifted_setup(faults={"SOL/USDT": "partial"})
    report = run(manager, executor)
    assert report.ok and [f.symbol for f in report.partial_fills] == ["SOL/USDT"]
    partial = report.partial_fills[0]
    assert partial.quantity == pytest.approx(partial.order.quantity / 2, rel=1e-12)
    assert_consistent(manager, broker)
    assert manager.journal.orders().set_index("symbol")["status"]["SOL/USDT"] == "partial"
    # the remainder is re-sized by the next rebalance, from the confirmed holdings
    broker.faults.clear()
    second = run(manager, executor)
    assert [(f.symbol, f.side.value) for f in second.fills] == [("SOL/USDT", "BUY")]
    assert_consistent(manager, broker)
    np.testing.assert_allclose(manager.get_current_allocation(), 1 / 3, atol=1e-9)


def test_exception():
    manager, broker, executor = drifted_setup(faults={"ETH/USDT": "exception"})
    report = run(manager, executor)
    assert report.failures[0].error == "socket closed"
    assert broker.attempts.count(report.failures[0].order.client_order_id) == 1  # not retried
    assert_consistent(manager, broker)


def test_timeout_books_the_late_fill_through_the_order_status():
    manager, broker, executor = drifted_setup(faults={"ETH/USDT": "late"})
    report = run(manager, executor)
    assert report.ok and len(report.fills) == 3
    assert_consistent(manager, broker)


def test_hang_times_out_cancels_and_fails_without_executing():
    manager, broker, executor = drifted_setup(faults={"SOL/USDT": "hang"})
    report = run(manager, executor)
    assert [f.order.symbol for f in report.failures] == ["SOL/USDT"]
    assert "timed out" in report.failures[0].error
    assert_consistent(manager, broker)
    assert manager.journal.orders().set_index("symbol")["status"]["SOL/USDT"] == "failed"


def test_response_lost_after_execution_is_booked_not_resent():
    manager, broker, executor = drifted_setup(faults={"ETH/USDT": "lost"})
    report = run(manager, executor)
    assert report.ok and len(report.fills) == 3
    eth = next(o for o in broker.sent if o.symbol == "ETH/USDT")
    assert broker.attempts.count(eth.client_order_id) == 1
    assert_consistent(manager, broker)


def test_rate_limit_is_retried_with_backoff():
    manager, broker, executor = drifted_setup(faults={"SOL/USDT": "rate_limit"})
    report = run(manager, executor)
    assert report.ok
    sol = next(o for o in broker.sent if o.symbol == "SOL/USDT")
    assert broker.attempts.count(sol.client_order_id) == 3  # two 429s, then sent once
    assert_consistent(manager, broker)


def test_inconsistent_fill_is_refused_journaled_and_the_status_booked_instead():
    manager, broker, executor = drifted_setup(faults={"ETH/USDT": "inconsistent"})
    report = run(manager, executor)
    assert report.ok
    anomalies = manager.journal.anomalies()
    assert len(anomalies) == 1
    assert "price nan" in anomalies["detail"][0] and "ETH/USDT" in anomalies["detail"][0]
    assert_consistent(manager, broker)


def test_concurrent_rebalance_is_refused():
    manager, broker, executor = drifted_setup(latency=0.01)

    async def both():
        return await asyncio.gather(
            manager.execute_rebalance(executor),
            manager.execute_rebalance(executor),
            return_exceptions=True,
        )

    first, second = asyncio.run(both())
    assert first.ok and isinstance(second, RebalanceInProgressError)
    assert_consistent(manager, broker)


def cancel_after(manager, executor, steps: int) -> bool:
    """Run a rebalance for ``steps`` event-loop steps, then cancel it; True if it finished."""

    async def main():
        task = asyncio.ensure_future(manager.execute_rebalance(executor))
        for _ in range(steps):
            await asyncio.sleep(0)
        finished = task.done()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return finished

    return asyncio.run(main())


def test_cancellation_at_every_await():
    """Cancel the rebalance after 0, 1, 2, ... event-loop steps until it finishes first: each
    time the state equals the fills it confirmed, and once the journal's open orders are
    recovered, the broker's account; a new rebalance then reaches the target."""
    seen = set()
    for steps in range(500):
        manager, broker, executor = drifted_setup()
        finished = cancel_after(manager, executor, steps)
        start, cash = {"BTC/USDT": 2.0, "ETH/USDT": 0.0, "SOL/USDT": 0.0}, 1_000.0
        for entry in manager.trade_log:
            sign = 1.0 if entry["action"] == "BUY" else -1.0
            start[entry["symbol"]] += sign * entry["quantity"]
            cash -= sign * entry["value"] + entry["cost"]
        if manager.state.source != "initial":
            for symbol in SYMBOLS:
                assert manager.state.holdings[symbol] == pytest.approx(start[symbol], abs=1e-12)
            assert manager.state.cash == pytest.approx(cash, rel=1e-12)
        seen.add((len(broker.sent), len(manager.trade_log)))
        asyncio.run(manager.recover(executor))
        assert manager.journal.open_orders() == []
        if manager.state.source != "initial":
            assert_consistent(manager, broker)
        second = run(manager, executor)
        assert second.ok
        assert_consistent(manager, broker)
        np.testing.assert_allclose(manager.get_current_allocation(), 1 / 3, atol=1e-9)
        if finished:
            break
    assert finished, "the rebalance never finished"
    # the cancellations fell before, between and after the fills
    assert {(0, 0), (1, 1), (3, 3)} <= seen


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"price": float("nan")}, "price nan"),
        ({"price": 0.0}, "price 0.0"),
        ({"quantity": 10.0}, "quantity 10.0 is not in (0, 1]"),
        ({"quantity": -1.0}, "quantity -1.0"),
        ({"quantity": float("inf")}, "quantity inf"),
        ({"commission": -0.5}, "commission -0.5"),
        ({"commission": float("nan")}, "commission nan"),
        ({"reported_symbol": "DOGE/USDT"}, "symbol 'DOGE/USDT' is not the order's"),
        ({"reported_side": OrderSide.SELL}, "side 'SELL' is not the order's"),
    ],
)
def test_every_inconsistent_fill_is_refused_by_name_before_the_state_changes(change, named):
    order = Order("ETH/USDT", "BUY", 1.0, 2_500.0, client_order_id="cvxcheck0001")
    good = Fill(order, 1.0, 2_500.0, 2.5, "paper", pd.Timestamp.now(tz="UTC"))
    state = PortfolioState({"ETH/USDT": 0.0}, 10_000.0, source="broker")
    before = copy.deepcopy(state)
    with pytest.raises(InconsistentFillError, match=re.escape(named)) as info:
        state.apply_fill(dataclasses.replace(good, **change))
    assert "cvxcheck0001" in str(info.value) and "'ETH/USDT'" in str(info.value)
    assert state == before
    state.apply_fill(good)  # the true fill books
    assert state.holdings == {"ETH/USDT": 1.0} and state.cash == 10_000.0 - 2_500.0 - 2.5


def test_min_interval_spaces_the_orders_at_one_broker():
    manager, broker, executor = drifted_setup()
    executor.policy = dataclasses.replace(executor.policy, min_interval=0.02)
    starts = []
    original = broker.submit_order

    async def stamped(order):
        starts.append(asyncio.get_running_loop().time())
        return await original(order)

    broker.submit_order = stamped
    assert run(manager, executor).ok
    gaps = np.diff(sorted(starts))
    assert len(starts) == 3 and gaps.min() >= 0.02 * 0.99


FAULTS = ["reject", "exception", "rate_limit", "lost", "partial", "late", "hang", "inconsistent"]


@settings(max_examples=25, deadline=None)
@given(plan=st.lists(st.sampled_from([None, *FAULTS]), min_size=3, max_size=3))
def test_any_mix_of_faults_keeps_state_equal_to_the_broker(plan):
    """Random faults on the three symbols at once, then a clean rebalance: the invariants
    hold after each, and the clean one reaches the target."""
    faults = {s: f for s, f in zip(SYMBOLS, plan, strict=True) if f}
    manager, broker, executor = drifted_setup(faults=faults)
    executor.policy = dataclasses.replace(executor.policy, timeout=0.03)
    report = run(manager, executor)
    assert len(report.fills) + len(report.failures) == len(manager.journal.orders())
    assert_consistent(manager, broker)
    broker.faults.clear()
    assert run(manager, executor).ok
    assert_consistent(manager, broker)
    np.testing.assert_allclose(manager.get_current_allocation(), 1 / 3, atol=1e-9)


def test_trades_below_the_exchange_minimum_are_skipped_and_reported():
    manager, broker, executor = drifted_setup()
    broker.markets = {
        "BTC/USDT": MarketLimits(amount_step=1e-5, min_notional=10.0),
        "ETH/USDT": MarketLimits(amount_step=1e-4, min_notional=10.0),
        "SOL/USDT": MarketLimits(amount_step=1e-3, min_notional=1e6),  # out of reach
    }
    report = asyncio.run(manager.execute_rebalance(executor))
    assert report.ok and [s["symbol"] for s in report.skipped] == ["SOL/USDT"]
    assert "minimum notional 1e+06" in report.skipped[0]["reason"]
    assert "SOL/USDT" not in set(manager.journal.orders()["symbol"])
    for fill in report.fills:  # every order on the lot, as the exchange requires
        assert broker.markets[fill.symbol].round_amount(fill.quantity) == fill.quantity
    assert_consistent(manager, broker)
    assert manager.state.cash >= 0


@pytest.mark.parametrize("buffer", [0.0, 0.01])
def test_cash_buffer_absorbs_fills_worse_than_the_sizing_prices(buffer):
    """Fills 0.5% worse than the sizing prices: without a buffer the last buy cannot be paid
    (rejected whole, drift remains); a 1% buffer pays every order, drift within the buffer."""
    manager, broker, executor = drifted_setup(cash_buffer=buffer)
    stale = {s: p / 1.005 for s, p in broker.prices.items()}  # the market moved up 0.5%
    report = asyncio.run(manager.execute_rebalance(executor, prices=stale))
    assert_consistent(manager, broker)
    assert manager.state.cash >= 0
    if buffer == 0.0:
        assert report.failures and "insufficient cash" in report.failures[-1].error
        assert manager.calculate_drift() > 0.05
    else:
        assert report.ok
        assert manager.calculate_drift() < buffer
