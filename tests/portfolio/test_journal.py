"""The live journal: owner-only WAL SQLite, orders written before they are sent, each fill
with its state in one transaction, a restarted manager replaying it, a fill never booked
twice."""

from __future__ import annotations

import asyncio
import sqlite3

import pandas as pd
import pytest
from faults import SYMBOLS, FaultyBroker, assert_consistent, drifted_setup

from cvxport.broker_bridge import Fill, Order
from cvxport.brokers.journal import Journal
from cvxport.errors import JournalError


def test_file_is_owner_only_and_in_wal_mode(tmp_path):
    path = tmp_path / "journal.sqlite"
    manager, _, executor = drifted_setup(journal_path=path)
    asyncio.run(manager.execute_rebalance(executor))
    for file in tmp_path.iterdir():  # the database and its -wal / -shm companions
        assert file.stat().st_mode & 0o777 == 0o600, file.name
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_every_order_is_journaled_before_it_is_sent(tmp_path):
    path = tmp_path / "journal.sqlite"
    seen = []

    class Checking(FaultyBroker):
        async def submit_order(self, order):
            with sqlite3.connect(path) as db:  # another connection: committed rows only
                seen.append(
                    db.execute(
                        "SELECT status FROM orders WHERE client_order_id = ?",
                        (order.client_order_id,),
                    ).fetchone()
                )
            return await super().submit_order(order)

    manager, broker, executor = drifted_setup(journal_path=path)
    checking = Checking(cash=broker.cash, positions=broker.positions, prices=broker.prices,
                        commission_rate=broker.commission_rate)  # fmt: skip
    executor._brokers = {checking.name: checking}
    report = asyncio.run(manager.execute_rebalance(executor))
    assert report.ok and seen == [("intent",)] * 3
    assert_consistent(manager, checking)


def test_restart_replays_the_state_and_a_backtest_does_not_replace_it(tmp_path):
    path = tmp_path / "journal.sqlite"
    manager, _, executor = drifted_setup(journal_path=path)
    asyncio.run(manager.execute_rebalance(executor))
    manager.journal.close()
    restarted, _, _ = drifted_setup(journal_path=path)
    assert restarted.state.source == "journal"
    assert restarted.state.holdings == pytest.approx(manager.state.holdings, rel=1e-15)
    assert restarted.state.cash == manager.state.cash
    index = pd.date_range("2024-01-01", periods=30, freq="D")
    restarted.backtest(pd.DataFrame({s: range(1, 31) for s in SYMBOLS}, index=index) * 1.0)
    assert restarted.state.source == "journal"  # the simulated book did not become live
    assert restarted.state.holdings == pytest.approx(manager.state.holdings, rel=1e-15)
    # and the broker agrees: the next rebalance has nothing to do
    again = asyncio.run(restarted.execute_rebalance(executor))
    assert again.fills == [] and again.failures == []


def test_a_fill_is_never_booked_twice_and_a_failed_write_changes_nothing():
    manager, _, _ = drifted_setup()
    order = Order("ETH/USDT", "BUY", 1.0, 2_500.0, client_order_id="cvxtest00001")
    manager.journal.record_orders([order], "r1")
    manager.state.source = "broker"
    fill = Fill(order, 1.0, 2_500.0, 2.5, "paper", pd.Timestamp.now(tz="UTC"))
    manager.state.apply_fill(fill, lambda h, c: manager.journal.record_fill(fill, h, c))
    before = (dict(manager.state.holdings), manager.state.cash)
    with pytest.raises(JournalError, match="UNIQUE"):
        manager.state.apply_fill(fill, lambda h, c: manager.journal.record_fill(fill, h, c))
    assert (manager.state.holdings, manager.state.cash) == before
    assert len(manager.journal.fills()) == 1
    assert manager.journal.last_state() == before


def test_not_a_journal_is_refused_by_name(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a database " * 100)
    with pytest.raises(JournalError, match=r"notes\.txt"):
        Journal(path)


def test_a_fill_that_cannot_be_journaled_is_reported_and_recovered_later(tmp_path):
    """The journal refuses a write (here: a fill row already there, as a full disk would):
    the fill is not booked, the order stays open, and recover() books it once writing works."""
    manager, broker, executor = drifted_setup()
    real = manager.journal.record_fill
    calls = []

    def failing(fill, holdings, cash):
        calls.append(fill.symbol)
        if fill.symbol == "ETH/USDT" and calls.count("ETH/USDT") == 1:
            raise JournalError("journal :memory: write failed: disk I/O error")
        return real(fill, holdings, cash)

    manager.journal.record_fill = failing
    report = asyncio.run(manager.execute_rebalance(executor))
    assert [f.order.symbol for f in report.failures] == ["ETH/USDT"]
    assert "filled at the broker but not booked" in report.failures[0].error
    assert [o.symbol for o in manager.journal.open_orders()] == ["ETH/USDT"]
    booked = asyncio.run(manager.recover(executor))
    assert [f.symbol for f in booked] == ["ETH/USDT"]
    assert_consistent(manager, broker)
