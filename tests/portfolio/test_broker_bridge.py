"""Tests of cvxport.broker_bridge: orders, the paper broker and the unified executor."""

from __future__ import annotations

import asyncio
import math

import pandas as pd
import pytest

from cvxport.broker_bridge import (
    Broker,
    ExecutionReport,
    Fill,
    Order,
    OrderFailure,
    OrderSide,
    PaperBroker,
    UnifiedExecutor,
)
from cvxport.errors import CvxportError, ExecutionError, InvalidInputError

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def snapshot(broker: PaperBroker) -> tuple:
    """Everything a rejected or unsent order must leave unchanged."""
    return broker.cash, broker.positions, len(broker.fills)


class TrackingBroker(PaperBroker):
    """A PaperBroker recording the orders in flight and the sequence of starts and ends."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight = 0
        self.max_in_flight = 0
        self.events: list[tuple[str, OrderSide, str]] = []

    async def submit_order(self, order: Order) -> Fill:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.events.append(("start", order.side, order.symbol))
        try:
            return await super().submit_order(order)
        finally:
            self.in_flight -= 1
            self.events.append(("end", order.side, order.symbol))


# --- Order, Fill, ExecutionReport -------------------------------------------------------------


def test_order_coerces_side_and_quantity():
    order = Order("AAA", "sell", 3)
    assert order.side is SELL
    assert order.quantity == 3.0 and isinstance(order.quantity, float)
    assert order.reference_price is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"symbol": "", "side": BUY, "quantity": 1.0}, "symbol"),
        ({"symbol": "AAA", "side": "HOLD", "quantity": 1.0}, "side"),
        ({"symbol": "AAA", "side": BUY, "quantity": 0.0}, "quantity"),
        ({"symbol": "AAA", "side": BUY, "quantity": -2.0}, "quantity"),
        ({"symbol": "AAA", "side": BUY, "quantity": math.nan}, "quantity"),
        ({"symbol": "AAA", "side": BUY, "quantity": math.inf}, "quantity"),
        ({"symbol": "AAA", "side": BUY, "quantity": True}, "quantity"),
        ({"symbol": "AAA", "side": BUY, "quantity": 1.0, "reference_price": -1.0}, "reference"),
    ],
)
def test_order_rejects_invalid_field_naming_it(kwargs, field):
    with pytest.raises(InvalidInputError, match=field):
        Order(**kwargs)


def test_order_from_trade_reads_manager_trade_dict():
    trade = {"symbol": "AAA", "action": "BUY", "quantity": 2.5, "price": 40.0, "value": 100.0}
    assert Order.from_trade(trade) == Order("AAA", BUY, 2.5, reference_price=40.0)


def test_order_from_trade_derives_price_from_value_and_names_missing_key():
    order = Order.from_trade({"symbol": "AAA", "action": "SELL", "quantity": 4, "value": 100.0})
    assert order.reference_price == pytest.approx(25.0)
    with pytest.raises(InvalidInputError, match="quantity"):
        Order.from_trade({"symbol": "AAA", "action": "SELL", "price": 1.0})


def test_fill_value_and_report_totals():
    stamp = pd.Timestamp("2024-01-02", tz="UTC")
    fills = [
        Fill(Order("AAA", BUY, 2.0), 2.0, 10.0, 0.02, "paper", stamp),
        Fill(Order("BBB", SELL, 1.0), 1.0, 50.0, 0.05, "paper", stamp),
    ]
    failure = OrderFailure(Order("CCC", BUY, 1.0), "paper", "rejected")
    report = ExecutionReport(fills=fills, failures=[failure])
    assert fills[0].value == pytest.approx(20.0)
    assert report.total_commission == pytest.approx(0.07)
    assert not report.ok
    frame = report.to_frame()
    assert list(frame["symbol"]) == ["AAA", "BBB"]
    assert list(frame["side"]) == ["BUY", "SELL"]
    assert frame["value"].tolist() == pytest.approx([20.0, 50.0])
    with pytest.raises(ExecutionError, match="CCC"):
        report.raise_on_failure()


def test_empty_report_is_ok_with_fill_columns():
    report = ExecutionReport()
    assert report.ok and report.total_commission == 0.0
    assert {"symbol", "quantity", "price", "commission", "broker"} <= set(report.to_frame())
    report.raise_on_failure()


# --- PaperBroker ------------------------------------------------------------------------------


def test_paper_broker_satisfies_protocol():
    assert isinstance(PaperBroker(), Broker)


def test_paper_broker_buy_fills_at_price_and_charges_commission():
    broker = PaperBroker(cash=1_000.0, prices={"AAA": 20.0}, commission_rate=0.01)
    fill = asyncio.run(broker.submit_order(Order("AAA", BUY, 10.0, reference_price=19.0)))
    assert fill.price == 20.0 and fill.quantity == 10.0 and fill.broker == "paper"
    assert fill.commission == pytest.approx(0.01 * 200.0)
    assert broker.cash == pytest.approx(1_000.0 - 200.0 - 2.0)
    assert broker.positions == {"AAA": 10.0}
    assert broker.fills == [fill]
    assert fill.timestamp.tz is not None


def test_paper_broker_sell_credits_proceeds_net_of_commission_and_closes_position():
    broker = PaperBroker(
        cash=0.0, positions={"AAA": 5.0}, prices={"AAA": 10.0}, commission_rate=0.002
    )
    asyncio.run(broker.submit_order(Order("AAA", SELL, 2.0)))
    assert broker.cash == pytest.approx(20.0 * (1 - 0.002))
    assert broker.positions == {"AAA": pytest.approx(3.0)}
    asyncio.run(broker.submit_order(Order("AAA", SELL, 3.0)))
    assert broker.positions == {}
    assert broker.cash == pytest.approx(50.0 * (1 - 0.002))


def test_paper_broker_fills_at_updated_price():
    broker = PaperBroker(cash=100.0, prices={"AAA": 10.0})
    broker.set_prices({"AAA": 12.5})
    assert asyncio.run(broker.submit_order(Order("AAA", BUY, 2.0))).price == 12.5
    assert broker.cash == pytest.approx(75.0)


def test_paper_broker_sells_float_accumulated_position_in_full():
    broker = PaperBroker(cash=10.0, prices={"AAA": 1.0})
    for units in (0.1, 0.2):
        asyncio.run(broker.submit_order(Order("AAA", BUY, units)))
    asyncio.run(broker.submit_order(Order("AAA", SELL, 0.3)))  # 0.1 + 0.2 != 0.3 in floats
    assert broker.positions == {}
    assert broker.cash == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (Order("AAA", SELL, 6.0), "exceeds the position"),
        (Order("BBB", SELL, 1.0), "exceeds the position"),
        (Order("AAA", BUY, 10.0), "insufficient cash"),
        (Order("ZZZ", BUY, 1.0), "no price"),
    ],
)
def test_paper_broker_rejection_names_broker_symbol_reason_and_leaves_state(order, reason):
    broker = PaperBroker(
        name="sim",
        cash=100.0,
        positions={"AAA": 5.0},
        prices={"AAA": 10.0, "BBB": 1.0},
        commission_rate=0.01,
    )
    before = snapshot(broker)
    with pytest.raises(ExecutionError, match=reason) as info:
        asyncio.run(broker.submit_order(order))
    assert "'sim'" in str(info.value) and repr(order.symbol) in str(info.value)
    assert snapshot(broker) == before


def test_paper_broker_commission_counts_toward_affordability():
    broker = PaperBroker(cash=100.0, prices={"AAA": 10.0}, commission_rate=0.01)
    with pytest.raises(ExecutionError, match="commission"):
        asyncio.run(broker.submit_order(Order("AAA", BUY, 10.0)))  # needs 101
    assert broker.cash == 100.0 and broker.positions == {}


def test_paper_broker_rejects_symbol_outside_its_list():
    broker = PaperBroker(cash=100.0, prices={"AAA": 1.0}, symbols=["BBB"])
    assert not broker.supports("AAA") and broker.supports("BBB")
    with pytest.raises(ExecutionError, match="not traded"):
        asyncio.run(broker.submit_order(Order("AAA", BUY, 1.0)))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cash": -1.0}, "cash"),
        ({"commission_rate": 1.5}, "commission_rate"),
        ({"latency": -0.1}, "latency"),
        ({"positions": {"AAA": -1.0}}, "AAA"),
        ({"prices": {"AAA": 0.0}}, "AAA"),
        ({"name": ""}, "name"),
    ],
)
def test_paper_broker_invalid_arguments_are_named(kwargs, field):
    with pytest.raises(InvalidInputError, match=field):
        PaperBroker(**kwargs)


def test_set_prices_is_all_or_nothing():
    broker = PaperBroker(prices={"AAA": 1.0})
    with pytest.raises(InvalidInputError, match="BBB"):
        broker.set_prices({"AAA": 2.0, "BBB": math.nan})
    assert broker.prices == {"AAA": 1.0}


# --- UnifiedExecutor: routing ------------------------------------------------------------------


def make_executor() -> tuple[UnifiedExecutor, PaperBroker, PaperBroker, PaperBroker]:
    equities = PaperBroker("equities", cash=1_000.0, prices={"AAA": 10.0, "BBB": 5.0})
    crypto = PaperBroker("crypto", cash=1_000.0, prices={"BTC": 100.0}, symbols=["BTC"])
    fallback = PaperBroker("fallback", cash=1_000.0, prices={"AAA": 10.0, "ZZZ": 2.0})
    executor = UnifiedExecutor()
    executor.add_broker(equities, symbols=["BBB"])
    executor.add_broker(crypto)
    executor.add_broker(fallback, default=True)
    return executor, equities, crypto, fallback


def test_route_explicit_then_supports_then_default():
    executor, equities, crypto, fallback = make_executor()
    assert executor.route("BBB") is equities  # explicit
    assert executor.route("AAA") is equities  # first broker whose supports() is true
    assert executor.route("BTC") is crypto  # supports via its symbol list
    assert executor.route("ZZZ") is fallback  # not supported by the first two: default
    assert executor.route("QQQ") is fallback  # nobody supports it: default


def test_explicit_route_overrides_supports():
    first = PaperBroker("first", prices={"AAA": 1.0})
    second = PaperBroker("second", prices={"AAA": 1.0})
    executor = UnifiedExecutor()
    executor.add_broker(first)
    executor.add_broker(second, symbols=["AAA"])
    assert executor.route("AAA") is second


def test_route_without_taker_names_symbol():
    executor = UnifiedExecutor()
    executor.add_broker(PaperBroker("only", prices={"AAA": 1.0}))
    with pytest.raises(InvalidInputError, match="'QQQ'"):
        executor.route("QQQ")


def test_add_broker_rejects_duplicates_and_conflicts_without_registering():
    executor = UnifiedExecutor()
    executor.add_broker(PaperBroker("a"), symbols=["AAA"], default=True)
    with pytest.raises(InvalidInputError, match="'a'"):
        executor.add_broker(PaperBroker("a"))
    with pytest.raises(InvalidInputError, match="'AAA'"):
        executor.add_broker(PaperBroker("b"), symbols=["BBB", "AAA"])
    with pytest.raises(InvalidInputError, match="default"):
        executor.add_broker(PaperBroker("c"), default=True)
    with pytest.raises(InvalidInputError, match="Broker protocol"):
        executor.add_broker(object())
    assert [b.name for b in executor.brokers] == ["a"]
    assert executor.route("BBB").name == "a"  # 'BBB' was not routed to the rejected 'b'


def test_unroutable_symbol_raises_before_any_order_is_sent():
    broker = PaperBroker("only", cash=1_000.0, positions={"AAA": 5.0}, prices={"AAA": 10.0})
    executor = UnifiedExecutor()
    executor.add_broker(broker)
    before = snapshot(broker)
    orders = [Order("AAA", SELL, 1.0), Order("QQQ", BUY, 1.0), Order("AAA", BUY, 1.0)]
    with pytest.raises(InvalidInputError, match="QQQ"):
        asyncio.run(executor.execute(orders))
    assert snapshot(broker) == before


def test_invalid_trade_raises_before_any_order_is_sent():
    executor, equities, *_ = make_executor()
    before = snapshot(equities)
    trades = [
        {"symbol": "AAA", "action": "BUY", "quantity": 1.0, "price": 10.0, "value": 10.0},
        {"symbol": "BBB", "action": "BUY", "quantity": -1.0, "price": 5.0, "value": -5.0},
    ]
    with pytest.raises(InvalidInputError, match="quantity"):
        asyncio.run(executor.execute_trades(trades))
    assert snapshot(equities) == before


# --- UnifiedExecutor: execution ----------------------------------------------------------------


def test_execute_routes_each_order_to_its_broker():
    executor, equities, crypto, fallback = make_executor()
    orders = [Order("AAA", BUY, 2.0), Order("BTC", BUY, 1.0), Order("ZZZ", BUY, 10.0)]
    report = asyncio.run(executor.execute(orders))
    assert report.ok
    assert [(f.symbol, f.broker) for f in report.fills] == [
        ("AAA", "equities"),
        ("BTC", "crypto"),
        ("ZZZ", "fallback"),
    ]
    assert equities.positions == {"AAA": 2.0}
    assert crypto.positions == {"BTC": 1.0}
    assert fallback.positions == {"ZZZ": 10.0}


def test_sells_execute_before_buys_so_proceeds_fund_purchases():
    broker = TrackingBroker(cash=0.0, positions={"AAA": 10.0}, prices={"AAA": 10.0, "BBB": 20.0})
    executor = UnifiedExecutor()
    executor.add_broker(broker)
    # The buy comes first and is only affordable with the 100 the sale brings.
    orders = [Order("BBB", BUY, 5.0), Order("AAA", SELL, 10.0)]
    report = asyncio.run(executor.execute(orders))
    assert report.ok, report.failures
    assert [f.symbol for f in report.fills] == ["BBB", "AAA"]  # given order kept
    assert broker.positions == {"BBB": 5.0}
    assert broker.cash == pytest.approx(0.0)
    assert [(e[0], e[1]) for e in broker.events] == [
        ("start", SELL),
        ("end", SELL),
        ("start", BUY),
        ("end", BUY),
    ]


def test_all_sells_finish_before_any_buy_starts():
    positions = {f"S{i}": 1.0 for i in range(4)}
    prices = {**dict.fromkeys(positions, 1.0), "B0": 1.0, "B1": 1.0}
    broker = TrackingBroker(cash=10.0, positions=positions, prices=prices, latency=0.01)
    executor = UnifiedExecutor()
    executor.add_broker(broker)
    orders = [Order("B0", BUY, 1.0), *(Order(s, SELL, 1.0) for s in positions)]
    orders.append(Order("B1", BUY, 1.0))
    assert asyncio.run(executor.execute(orders)).ok
    sides = [side for _, side, _ in broker.events]
    last_sell = max(i for i, side in enumerate(sides) if side is SELL)
    first_buy = min(i for i, side in enumerate(sides) if side is BUY)
    assert last_sell < first_buy


def test_failing_order_is_reported_while_others_fill():
    broker = PaperBroker("sim", cash=100.0, positions={"AAA": 1.0}, prices={"AAA": 10.0})
    executor = UnifiedExecutor()
    executor.add_broker(broker, default=True)
    orders = [
        Order("AAA", SELL, 5.0),  # oversell
        Order("AAA", BUY, 2.0),
        Order("NOPRICE", BUY, 1.0),  # routed to the default, which has no price
        Order("AAA", BUY, 3.0),
    ]
    report = asyncio.run(executor.execute(orders))
    assert not report.ok
    assert len(report.fills) + len(report.failures) == len(orders)
    assert [f.order for f in report.fills] == [orders[1], orders[3]]
    assert [f.order for f in report.failures] == [orders[0], orders[2]]
    assert all(f.broker == "sim" for f in report.failures)
    assert "exceeds the position" in report.failures[0].error
    assert "no price" in report.failures[1].error
    assert isinstance(report.failures[0].exception, ExecutionError)
    assert broker.positions == {"AAA": 6.0}
    assert broker.cash == pytest.approx(50.0)


def test_unexpected_broker_exception_becomes_failure():
    class FlakyBroker(PaperBroker):
        async def submit_order(self, order: Order) -> Fill:
            if order.symbol == "BAD":
                raise ConnectionError("socket closed")
            return await super().submit_order(order)

    broker = FlakyBroker("flaky", cash=100.0, prices={"AAA": 1.0, "BAD": 1.0})
    executor = UnifiedExecutor()
    executor.add_broker(broker)
    report = asyncio.run(executor.execute([Order("BAD", BUY, 1.0), Order("AAA", BUY, 1.0)]))
    assert [f.symbol for f in report.fills] == ["AAA"]
    assert report.failures[0].error == "socket closed"
    with pytest.raises(ExecutionError, match="'BAD' at 'flaky': socket closed"):
        report.raise_on_failure()


@pytest.mark.parametrize(("concurrency", "expected"), [(8, 8), (3, 3), (1, 1), (32, 10)])
def test_orders_run_concurrently_up_to_the_bound(concurrency, expected):
    prices = {f"A{i}": 1.0 for i in range(10)}
    broker = TrackingBroker(cash=100.0, prices=prices, latency=0.05)
    executor = UnifiedExecutor()
    executor.add_broker(broker)
    orders = [Order(symbol, BUY, 1.0) for symbol in prices]
    report = asyncio.run(executor.execute(orders, concurrency=concurrency))
    assert report.ok
    assert broker.max_in_flight == expected
    assert broker.in_flight == 0


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, True])
def test_invalid_concurrency_is_named(concurrency):
    executor, *_ = make_executor()
    with pytest.raises(InvalidInputError, match="concurrency"):
        asyncio.run(executor.execute([Order("AAA", BUY, 1.0)], concurrency=concurrency))


def test_execute_rejects_non_orders_and_accepts_nothing():
    executor, *_ = make_executor()
    with pytest.raises(InvalidInputError, match=r"orders\[0\]"):
        asyncio.run(executor.execute([{"symbol": "AAA"}]))
    report = asyncio.run(executor.execute([]))
    assert report.ok and report.fills == [] and report.failures == []


def test_execute_trades_converts_manager_trades():
    executor, equities, *_ = make_executor()
    trades = [
        {"symbol": "AAA", "action": "BUY", "quantity": 3.0, "price": 9.5, "value": 28.5},
        {"symbol": "BTC", "action": "BUY", "quantity": 0.5, "price": 99.0, "value": 49.5},
    ]
    report = asyncio.run(executor.execute_trades(trades))
    assert report.ok
    frame = report.to_frame()
    assert frame["reference_price"].tolist() == [9.5, 99.0]
    assert frame["price"].tolist() == [10.0, 100.0]
    assert equities.positions == {"AAA": 3.0}


# --- UnifiedExecutor: account ------------------------------------------------------------------


def test_positions_and_cash_are_aggregated_over_brokers():
    executor = UnifiedExecutor()
    executor.add_broker(PaperBroker("a", cash=100.0, positions={"AAA": 2.0, "BBB": 1.0}))
    executor.add_broker(PaperBroker("b", cash=50.5, positions={"AAA": 3.0, "CCC": 4.0}))
    assert asyncio.run(executor.get_positions()) == {"AAA": 5.0, "BBB": 1.0, "CCC": 4.0}
    assert asyncio.run(executor.get_cash()) == pytest.approx(150.5)
    by_broker = asyncio.run(executor.get_positions_by_broker())
    assert by_broker == {"a": {"AAA": 2.0, "BBB": 1.0}, "b": {"AAA": 3.0, "CCC": 4.0}}


def test_broker_failing_to_report_is_named():
    class DownBroker(PaperBroker):
        async def get_cash(self) -> float:
            raise ConnectionError("timeout")

    executor = UnifiedExecutor()
    executor.add_broker(PaperBroker("up", cash=1.0))
    executor.add_broker(DownBroker("down"))
    with pytest.raises(ExecutionError, match=r"'down'.*timeout"):
        asyncio.run(executor.get_cash())


def test_errors_belong_to_the_library_tree():
    assert issubclass(InvalidInputError, CvxportError)
    assert issubclass(InvalidInputError, ValueError)
    assert issubclass(ExecutionError, CvxportError)
