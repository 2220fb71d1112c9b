"""CCXTBroker: ccxt's real ``binance`` client against a fake Binance spot exchange started on
127.0.0.1 (tests/portfolio/fake_exchange.py). The spec's live section runs on it, and the
fault matrix holds: after each fault the manager's state equals the exchange's balances,
every order is journaled, no order was sent twice; a process killed (SIGKILL) between two
fills is recovered from its journal."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ccxt")

from fake_exchange import FakeBinance
from faults import PRICES, SYMBOLS, drifted_setup

from cvxport.broker_bridge import OrderPolicy, UnifiedExecutor
from cvxport.brokers.ccxt_broker import CCXTBroker
from cvxport.errors import ExecutionError, RebalanceInProgressError

HERE = Path(__file__).resolve().parent
MARKETS = {
    "BTC/USDT": {"price": PRICES["BTC/USDT"], "step": 1e-5, "tick": 0.01, "min_qty": 1e-5,
                 "min_notional": 5.0},
    "ETH/USDT": {"price": PRICES["ETH/USDT"], "step": 1e-4, "tick": 0.01, "min_qty": 1e-4,
                 "min_notional": 5.0},
    "SOL/USDT": {"price": PRICES["SOL/USDT"], "step": 1e-3, "tick": 0.001, "min_qty": 1e-3,
                 "min_notional": 5.0},
}  # fmt: skip
POLICY = OrderPolicy(timeout=2.0, retries=3, backoff=0.01, status_timeout=5.0)


@pytest.fixture
def exchange():
    fake = FakeBinance(MARKETS, {"USDT": 1_000.0, "BTC": 2.0}, fee_rate=0.001, delay=3.0)
    fake.start()
    yield fake
    fake.stop()


def exchange_state(fake: FakeBinance) -> tuple[dict, float]:
    return {s: fake.balance(s.split("/")[0]) for s in SYMBOLS}, fake.balance("USDT")


def assert_matches_exchange(manager, fake: FakeBinance) -> None:
    """State == exchange balances; every order the exchange received is journaled, once."""
    holdings, cash = exchange_state(fake)
    for symbol in SYMBOLS:
        assert manager.state.holdings.get(symbol, 0.0) == pytest.approx(
            holdings[symbol], rel=1e-12, abs=1e-12
        ), symbol
    assert manager.state.cash == pytest.approx(cash, rel=1e-12, abs=1e-9)
    journaled = set(manager.journal.orders()["client_order_id"])
    assert len(fake.posted) == len(set(fake.posted)), "an order was sent twice"
    assert set(fake.orders) <= journaled, "an order the exchange executed is not journaled"
    fills = manager.journal.fills()
    assert len(fills) == len(set(fills["client_order_id"])) == len(manager.trade_log)


async def rebalance(manager, fake, policy=POLICY, **kwargs):
    executor = UnifiedExecutor(policy=policy)
    async with CCXTBroker("binance", SYMBOLS, config=fake.ccxt_config()) as broker:
        executor.add_broker(broker, default=True)
        return await manager.execute_rebalance(executor, **kwargs)


def run(manager, fake, **kwargs):
    return asyncio.run(rebalance(manager, fake, **kwargs))


def test_markets_balances_and_prices_come_from_the_exchange(exchange):
    async def main():
        async with CCXTBroker("binance", SYMBOLS, config=exchange.ccxt_config()) as broker:
            limits = await broker.market_limits("ETH/USDT")
            return (
                limits,
                await broker.get_positions(),
                await broker.get_cash(),
                (await broker.get_prices(SYMBOLS)),
            )

    limits, positions, cash, prices = asyncio.run(main())
    assert (limits.amount_step, limits.price_tick) == (1e-4, 0.01)
    assert (limits.min_amount, limits.min_notional) == (1e-4, 5.0)
    assert positions == {"BTC/USDT": 2.0, "ETH/USDT": 0.0, "SOL/USDT": 0.0} and cash == 1_000.0
    assert prices == PRICES
    assert ("GET", "exchangeInfo") in exchange.requests
    assert not any("unfaked" in path for _, path in exchange.requests)


def test_spec_live_section_on_the_fake_exchange(exchange, capsys):
    """The spec's Live Operations blocks, run as written, with CCXTBroker as the broker."""
    from test_spec_examples import SPEC, spec_blocks

    if not SPEC.exists():
        pytest.skip("../shared/spec is not beside the repo")
    blocks = [b for b in spec_blocks() if "get_current_allocation()" in b
              or "calculate_rebalance_trades" in b or "execute_rebalance" in b]  # fmt: skip
    assert len(blocks) == 3
    manager, _, _ = drifted_setup()
    namespace = {"manager": manager, "current_prices": dict(PRICES)}
    configure = (
        "from cvxport.brokers.ccxt_broker import CCXTBroker\n"
        f"executor.add_broker(CCXTBroker('binance', {SYMBOLS!r}, config=fake.ccxt_config()), "
        "default=True)\n"
    )
    namespace["fake"] = exchange
    for block in blocks[:2]:
        exec(block, namespace)
    live = blocks[2].replace(
        "executor.add_broker(\n    PaperBroker", "#"
    )  # the PaperBroker placeholder text of test_spec_examples is not used here
    live = (
        live.split("from cvxport.broker_bridge import PaperBroker")[0]
        + configure
        + ("await manager.execute_rebalance(executor)\nawait executor.brokers[0].close()\n")
    )
    body = "async def _live():\n" + "".join(f"    {line}\n" for line in live.splitlines())
    exec(body, namespace)
    asyncio.run(namespace["_live"]())
    assert "Current drift:" in capsys.readouterr().out
    assert_matches_exchange(manager, exchange)
    # back to equal weights within one lot of each market, cash never negative
    values = np.array([manager.state.holdings[s] * PRICES[s] for s in SYMBOLS])
    lots = np.array([MARKETS[s]["step"] * PRICES[s] for s in SYMBOLS])
    equity = manager.state.equity(PRICES)
    assert np.all(np.abs(values - equity / 3) <= lots + 1e-6 * equity)
    assert manager.state.cash >= 0


def test_fault_free_rebalance_reaches_the_target_within_one_lot(exchange):
    manager, _, _ = drifted_setup()
    report = run(manager, exchange)
    assert report.ok and len(report.fills) == 3
    assert_matches_exchange(manager, exchange)
    assert manager.state.cash >= 0
    np.testing.assert_allclose(manager.get_current_allocation(), 1 / 3, atol=2e-4)


@pytest.mark.parametrize(
    ("fault", "symbol", "outcome"),
    [
        ("reject", "ETH/USDT", "failed"),
        ("partial", "SOL/USDT", "partial"),
        ("delay", "ETH/USDT", "filled"),  # timeout: cancel (too late), status says filled
        ("hang", "SOL/USDT", "failed"),  # timeout: never executed
        ("drop", "ETH/USDT", "filled"),  # response lost after execution: the id tells
        ("rate_limit", "SOL/USDT", "filled"),  # 429, retried after backoff
        ("corrupt", "ETH/USDT", "filled"),  # inconsistent fill refused, the status booked
        ("misreport", "ETH/USDT", "filled"),  # a fill of another symbol: refused likewise
    ],
)
def test_fault_matrix_on_the_exchange(exchange, fault, symbol, outcome):
    exchange.plan(symbol, fault)
    manager, _, _ = drifted_setup()
    report = run(manager, exchange)
    status = manager.journal.orders().set_index("symbol")["status"]
    assert status[symbol] == outcome
    assert len(report.fills) + len(report.failures) == 3
    assert_matches_exchange(manager, exchange)
    if fault == "corrupt":
        assert "quantity" in manager.journal.anomalies()["detail"].iloc[0]
    if fault == "misreport":
        assert "symbol 'BTC/USDT' is not the order's" in manager.journal.anomalies()["detail"][0]
    if fault == "rate_limit":
        assert exchange.posted.count(next(iter(exchange.orders))) == 1


def test_exception_from_the_exchange_is_a_named_failure(exchange):
    exchange.set_price("SOL/USDT", 100.0)
    MARKETS_BAD = dict(exchange.markets["SOLUSDT"], min_notional=1e9)
    exchange.markets["SOLUSDT"] = MARKETS_BAD  # the exchange's rule changed after sizing
    manager, _, _ = drifted_setup()

    async def main():
        executor = UnifiedExecutor(policy=POLICY)
        async with CCXTBroker("binance", SYMBOLS, config=exchange.ccxt_config()) as broker:
            executor.add_broker(broker, default=True)
            await broker.load_markets()
            broker.exchange.markets["SOL/USDT"]["limits"]["cost"]["min"] = 5.0  # stale copy
            return await manager.execute_rebalance(executor)

    report = asyncio.run(main())
    assert [f.order.symbol for f in report.failures] == ["SOL/USDT"]
    assert isinstance(report.failures[0].exception, ExecutionError)
    assert "NOTIONAL" in report.failures[0].error
    assert_matches_exchange(manager, exchange)


def test_concurrent_rebalance_on_the_exchange(exchange):
    manager, _, _ = drifted_setup()

    async def main():
        executor = UnifiedExecutor(policy=POLICY)
        async with CCXTBroker("binance", SYMBOLS, config=exchange.ccxt_config()) as broker:
            executor.add_broker(broker, default=True)
            return await asyncio.gather(
                manager.execute_rebalance(executor),
                manager.execute_rebalance(executor),
                return_exceptions=True,
            )

    first, second = asyncio.run(main())
    assert first.ok and isinstance(second, RebalanceInProgressError)
    assert_matches_exchange(manager, exchange)


def test_cancellation_mid_flight_then_recover(exchange):
    """The rebalance is cancelled while the exchange answers late an order it executed: the
    state holds the confirmed fills only; recovery asks the exchange by client order id."""
    exchange.delay = 30.0
    exchange.plan("ETH/USDT", "delay")
    manager, _, _ = drifted_setup()

    async def main():
        executor = UnifiedExecutor(policy=OrderPolicy(timeout=60.0))
        async with CCXTBroker("binance", SYMBOLS, config=exchange.ccxt_config()) as broker:
            executor.add_broker(broker, default=True)
            task = asyncio.ensure_future(manager.execute_rebalance(executor))
            for _ in range(3000):  # until all three executed and two confirmed (<= 30 s)
                if len(exchange.orders) == 3 and len(manager.trade_log) == 2:
                    break
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            confirmed = len(manager.trade_log)
            open_ids = [o.client_order_id for o in manager.journal.open_orders()]
            await manager.recover(executor)
            return confirmed, open_ids

    confirmed, open_ids = asyncio.run(main())
    assert confirmed == 2 and len(open_ids) == 1  # BTC sold, SOL bought; ETH unanswered
    assert open_ids[0] in exchange.orders  # ... yet executed
    assert manager.journal.open_orders() == []
    assert_matches_exchange(manager, exchange)


def test_limit_order_resting_is_cancelled_on_timeout(exchange):
    exchange.plan("SOL/USDT", "rest")
    manager, _, _ = drifted_setup()
    report = run(manager, exchange, order_type="limit", limit_offset=0.001)
    assert [f.order.symbol for f in report.failures] == ["SOL/USDT"]
    assert "timed out" in report.failures[0].error
    sol = next(o for o in exchange.orders.values() if o["symbol"] == "SOLUSDT")
    assert sol["status"] == "CANCELED" and sol["type"] == "LIMIT"
    assert ("DELETE", "order") in exchange.requests
    assert_matches_exchange(manager, exchange)


def fills_in(journal: Path) -> int:
    """Fills committed to the journal file (read by another connection)."""
    try:
        with sqlite3.connect(journal) as db:
            return db.execute("SELECT COUNT(*) FROM fills").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def test_sigkill_between_two_fills_then_restart(exchange, tmp_path):
    """A process is killed (SIGKILL) after one fill is journaled and while the exchange has
    executed the next order but not answered; a new manager on the same journal replays the
    state, asks the exchange about the open client order id, books it, and never resends."""
    journal = tmp_path / "live.sqlite"
    exchange.delay = 60.0
    exchange.plan("ETH/USDT", "delay")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parents[1]), str(HERE)]))
    worker = subprocess.Popen(
        [sys.executable, str(HERE / "live_worker.py"), exchange.url, str(journal)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            executed = {o["symbol"] for o in exchange.orders.values()}
            if executed == {"BTCUSDT", "ETHUSDT", "SOLUSDT"} and worker.poll() is None:
                break
            time.sleep(0.02)
        else:
            pytest.fail(f"worker never reached the kill point: {worker.stdout.read()!r}")
        while time.monotonic() < deadline and fills_in(journal) < 2:  # BTC and SOL booked
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL
    assert oct(journal.stat().st_mode & 0o777) == "0o600"

    manager, _, _ = drifted_setup(journal_path=journal)  # the restart
    assert manager.state.source == "journal"
    assert len(manager.journal.fills()) == 2 and len(manager.journal.open_orders()) == 1

    async def restart():
        executor = UnifiedExecutor(policy=POLICY)
        async with CCXTBroker("binance", SYMBOLS, config=exchange.ccxt_config()) as broker:
            executor.add_broker(broker, default=True)
            booked = await manager.recover(executor)
            again = await manager.execute_rebalance(executor)
            return booked, again

    booked, again = asyncio.run(restart())
    assert [f.symbol for f in booked] == ["ETH/USDT"]
    assert manager.journal.open_orders() == []
    assert len(exchange.posted) == len(set(exchange.posted))  # nothing sent twice
    holdings, cash = exchange_state(exchange)
    for symbol in SYMBOLS:
        assert manager.state.holdings[symbol] == pytest.approx(holdings[symbol], abs=1e-12)
    assert manager.state.cash == pytest.approx(cash, rel=1e-12)
    assert again.ok and manager.state.cash >= 0
    np.testing.assert_allclose(manager.get_current_allocation(), 1 / 3, atol=2e-4)


def test_no_secret_reaches_the_journal_or_the_logs(exchange, tmp_path, caplog):
    from fake_exchange import API_KEY, SECRET

    exchange.plan("ETH/USDT", "reject")
    exchange.plan("SOL/USDT", "drop")
    path = tmp_path / "journal.sqlite"
    manager, _, _ = drifted_setup(journal_path=path)
    with caplog.at_level("DEBUG"):
        run(manager, exchange)
    manager.journal.close()
    stored = b"".join(f.read_bytes() for f in tmp_path.iterdir())
    assert b"cvx" in stored  # the client order ids are there ...
    assert API_KEY.encode() not in stored and SECRET.encode() not in stored  # ... no keys
    assert caplog.records and all(r.name.startswith(("cvxport", "ccxt", "asyncio"))
                                  for r in caplog.records)  # fmt: skip
    assert API_KEY not in caplog.text and SECRET not in caplog.text
    import logging

    assert logging.getLogger("cvxport").handlers == []


def test_buy_fees_charged_in_the_base_asset_are_folded_into_the_fill():
    """Binance takes a BUY's fee from the coins received: the fill books what arrived, at
    the quote paid per coin received, so the state still equals the exchange's balances."""
    fake = FakeBinance(MARKETS, {"USDT": 1_000.0, "BTC": 2.0}, buy_fee_in_base=True).start()
    try:
        manager, _, _ = drifted_setup()
        report = run(manager, fake)
        buys = [f for f in report.fills if f.side.value == "BUY"]
        assert buys and all(f.commission == 0.0 for f in buys)
        for fill in buys:
            assert fill.quantity == pytest.approx(fill.order.quantity * 0.999, rel=1e-9)
            assert fill.price == pytest.approx(PRICES[fill.symbol] / 0.999, rel=1e-9)
        assert_matches_exchange(manager, fake)
        assert manager.state.cash >= 0
    finally:
        fake.stop()
