"""The live journal: a SQLite file (stdlib ``sqlite3``, WAL) of orders, fills and state.

Every order is written with its client order id before it is sent; each fill is written with
the state it produces in one transaction, as it arrives; a fill is unique per client order id,
so it can never be booked twice. A restarted manager reads the last state back and asks the
broker about every order still open here. The file is created owner-only (0o600). Nothing
but orders, fills, states and anomalies is written (no keys, no secrets).
Units: quantities in base-asset units, prices, cash and commissions in the quote currency.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cvxport.brokers.orders import Fill, Order
from cvxport.errors import JournalError

__all__ = ["Journal", "new_client_order_id"]

OPEN = "intent"  # status of an order whose outcome the journal does not know

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    rebalance_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity REAL NOT NULL,
    order_type TEXT NOT NULL,
    limit_price REAL,
    reference_price REAL,
    status TEXT NOT NULL,
    error TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
    client_order_id TEXT PRIMARY KEY REFERENCES orders(client_order_id),
    quantity REAL NOT NULL,
    price REAL NOT NULL,
    commission REAL NOT NULL,
    broker TEXT NOT NULL,
    timestamp TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS states (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    holdings TEXT NOT NULL,
    cash REAL NOT NULL,
    reason TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS anomalies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_order_id TEXT,
    detail TEXT NOT NULL,
    created TEXT NOT NULL
);
"""


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat()


def _order_row(order: Order, rebalance_id: str, now: str) -> tuple:
    o = order
    return (o.client_order_id, rebalance_id, o.symbol, o.side.value, o.quantity, o.order_type,
            o.limit_price, o.reference_price, now, now)  # fmt: skip


def new_client_order_id(sequence: int) -> str:
    """A fresh client order id: 'cvx', 24 random hex digits, the order's sequence (<= 36)."""
    return f"cvx{uuid.uuid4().hex[:24]}{sequence:05d}"


class Journal:
    """Orders, fills, states and anomalies of live trading, in one SQLite file.

    Args:
        path: The file (created with mode 0o600 if missing); None keeps it in memory.

    Raises:
        JournalError: the file cannot be opened or is not a SQLite database (named).
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = None if path is None else Path(path)
        try:
            if self.path is not None:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                os.close(fd)
                os.chmod(self.path, 0o600)
            target = ":memory:" if self.path is None else str(self.path)
            self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"Journal({str(self.path) if self.path else ':memory:'})"

    def close(self) -> None:
        """Close the file (a checkpoint folds the WAL into it)."""
        self._db.close()

    def _transaction(self, statements: Iterable[tuple[str, tuple]]) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    self._db.execute(sql, args)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path or ':memory:'} write failed: {exc}") from exc

    # --- writes --------------------------------------------------------------------------
    def record_orders(self, orders: Iterable[Order], rebalance_id: str) -> None:
        """Write the intended orders (each with a client order id) before any is sent."""
        now = _now()
        sql = "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,'intent',NULL,?,?)"
        self._transaction((sql, _order_row(o, rebalance_id, now)) for o in orders)

    def record_fill(self, fill: Fill, holdings: dict[str, float], cash: float) -> None:
        """Write a fill, its order's status and the state after it, in one transaction."""
        cid = fill.order.client_order_id
        status = "partial" if fill.partial else "filled"
        now = _now()
        self._transaction(
            [
                (
                    "INSERT INTO fills VALUES (?,?,?,?,?,?)",
                    (
                        cid,
                        float(fill.quantity),
                        float(fill.price),
                        float(fill.commission),
                        fill.broker,
                        pd.Timestamp(fill.timestamp).isoformat(),
                    ),
                ),
                (
                    "UPDATE orders SET status=?, updated=? WHERE client_order_id=?",
                    (status, now, cid),
                ),
                (
                    "INSERT INTO states (holdings, cash, reason, created) VALUES (?,?,?,?)",
                    (json.dumps(holdings), float(cash), f"fill {cid}", now),
                ),
            ]
        )

    def record_failure(self, order: Order, error: str) -> None:
        """Mark an order failed (nothing filled), with the broker's error."""
        self._transaction(
            [
                (
                    "UPDATE orders SET status='failed', error=?, updated=? "
                    "WHERE client_order_id=? AND status='intent'",
                    (error[:1000], _now(), order.client_order_id),
                )
            ]
        )

    def record_state(self, holdings: dict[str, float], cash: float, reason: str) -> None:
        """Write a state not produced by a fill (adopted from the broker, set by the user)."""
        self._transaction(
            [
                (
                    "INSERT INTO states (holdings, cash, reason, created) VALUES (?,?,?,?)",
                    (json.dumps(holdings), float(cash), reason, _now()),
                )
            ]
        )

    def record_anomaly(self, client_order_id: str | None, detail: str) -> None:
        """Write an anomaly (a refused fill, a balance mismatch)."""
        self._transaction(
            [
                (
                    "INSERT INTO anomalies (client_order_id, detail, created) VALUES (?,?,?)",
                    (client_order_id, detail[:2000], _now()),
                )
            ]
        )

    # --- reads ---------------------------------------------------------------------------
    def last_state(self) -> tuple[dict[str, float], float] | None:
        """The last journaled (holdings, cash), or None for a new journal."""
        row = self._db.execute(
            "SELECT holdings, cash FROM states ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (json.loads(row[0]), float(row[1]))

    def open_orders(self) -> list[Order]:
        """Orders written but with no known outcome (sent or not: ask the broker)."""
        rows = self._db.execute(
            "SELECT symbol, side, quantity, reference_price, order_type, limit_price, "
            "client_order_id FROM orders WHERE status = ? ORDER BY rowid",
            (OPEN,),
        ).fetchall()
        return [Order(*row) for row in rows]

    def orders(self) -> pd.DataFrame:
        """Every order, in the order written."""
        return pd.read_sql_query("SELECT * FROM orders ORDER BY rowid", self._db)

    def fills(self) -> pd.DataFrame:
        """Every fill, in the order booked."""
        return pd.read_sql_query("SELECT * FROM fills ORDER BY rowid", self._db)

    def anomalies(self) -> pd.DataFrame:
        """Every anomaly, in the order written."""
        return pd.read_sql_query("SELECT * FROM anomalies ORDER BY id", self._db)
