"""Orders, fills and execution reports: plain frozen values exchanged with brokers.

Units throughout: quantities in units of the base asset (shares, coins), prices and
commissions in the quote currency (the account's cash currency).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from numbers import Real
from typing import Any

import pandas as pd

from cvxport.errors import ExecutionError, InvalidInputError

__all__ = ["ExecutionReport", "Fill", "Order", "OrderFailure", "OrderSide", "OrderStatus"]

# Binance's newClientOrderId pattern, the strictest of the common exchanges.
CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
ORDER_TYPES = ("market", "limit")

_FILL_COLUMNS = [
    "symbol",
    "side",
    "quantity",
    "price",
    "value",
    "commission",
    "broker",
    "timestamp",
    "reference_price",
]


class OrderSide(str, Enum):
    """Direction of an order: BUY spends cash on the asset, SELL turns the asset into cash."""

    BUY = "BUY"
    SELL = "SELL"


def _positive_finite(value: Any, name: str) -> float:
    """Return ``value`` as a float, raising InvalidInputError naming ``name`` unless finite > 0."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidInputError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise InvalidInputError(f"{name} must be finite and > 0, got {value!r}")
    return number


def _finite(value: Any, name: str) -> float:
    """Return ``value`` as a float, raising InvalidInputError naming ``name`` unless finite."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Order:
    """An order for ``quantity`` units of the base asset ``symbol`` (market by default).

    Attributes:
        symbol: Instrument identifier as the broker knows it (non-empty).
        side: BUY or SELL; the strings ``'BUY'``/``'SELL'`` (any case) are accepted.
        quantity: Units of the base asset to trade, finite and > 0; the side gives the sign.
        reference_price: Price in quote currency the order was sized with (informational;
            market orders fill at the broker's price), finite and > 0, or None.
        order_type: 'market' or 'limit'.
        limit_price: Limit price in quote currency per unit (required for 'limit' orders).
        client_order_id: Idempotent id the broker knows the order by (1-36 characters of
            ``[A-Za-z0-9._:/-]``); the journal assigns one before the order is sent.
    """

    symbol: str
    side: OrderSide
    quantity: float
    reference_price: float | None = None
    order_type: str = "market"
    limit_price: float | None = None
    client_order_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise InvalidInputError(f"Order.symbol must be a non-empty string, got {self.symbol!r}")
        side = self.side
        if not isinstance(side, OrderSide):
            try:
                side = OrderSide(str(side).upper())
            except ValueError:
                raise InvalidInputError(
                    f"Order.side of {self.symbol!r} must be 'BUY' or 'SELL', got {self.side!r}"
                ) from None
        object.__setattr__(self, "side", side)
        quantity = _positive_finite(self.quantity, f"Order.quantity of {self.symbol!r}")
        object.__setattr__(self, "quantity", quantity)
        if self.reference_price is not None:
            price = _positive_finite(
                self.reference_price, f"Order.reference_price of {self.symbol!r}"
            )
            object.__setattr__(self, "reference_price", price)
        if self.order_type not in ORDER_TYPES:
            raise InvalidInputError(
                f"Order.order_type of {self.symbol!r} must be one of {ORDER_TYPES}, "
                f"got {self.order_type!r}"
            )
        if self.order_type == "limit" or self.limit_price is not None:
            price = _positive_finite(self.limit_price, f"Order.limit_price of {self.symbol!r}")
            object.__setattr__(self, "limit_price", price)
        cid = self.client_order_id
        if cid is not None and (not isinstance(cid, str) or not CLIENT_ORDER_ID.match(cid)):
            raise InvalidInputError(
                f"Order.client_order_id of {self.symbol!r} must match {CLIENT_ORDER_ID.pattern}, "
                f"got {cid!r}"
            )

    @classmethod
    def from_trade(cls, trade: Mapping[str, Any]) -> Order:
        """Build an order from a trade dict of ``PortfolioManager.calculate_rebalance_trades``.

        Args:
            trade: Mapping with keys ``'symbol'``, ``'action'`` ('BUY' or 'SELL'),
                ``'quantity'`` (base-asset units, > 0) and optionally ``'price'`` (quote
                currency per unit) and ``'value'`` (quote currency). When ``'price'`` is
                missing, the reference price is ``value / quantity``.

        Returns:
            The order; ``'price'`` becomes its reference price.

        Raises:
            InvalidInputError: A required key is missing or a field is invalid (named).
        """
        if not isinstance(trade, Mapping):
            raise InvalidInputError(f"trade must be a mapping, got {type(trade).__name__}")
        missing = [key for key in ("symbol", "action", "quantity") if key not in trade]
        if missing:
            raise InvalidInputError(f"trade {dict(trade)!r} lacks key(s) {missing}")
        price = trade.get("price")
        if price is None and trade.get("value") is not None:
            quantity = _positive_finite(trade["quantity"], f"trade quantity of {trade['symbol']!r}")
            price = abs(_finite(trade["value"], f"trade value of {trade['symbol']!r}")) / quantity
        return cls(
            symbol=trade["symbol"],
            side=trade["action"],
            quantity=trade["quantity"],
            reference_price=price,
        )


@dataclass(frozen=True)
class Fill:
    """An executed order as the broker reported it (checked against its order only when
    the state applies it: see ``PortfolioState.apply_fill``).

    Attributes:
        order: The order that was filled.
        quantity: Units of the base asset filled (> 0; may be less than ordered).
        price: Average execution price in quote currency per unit.
        commission: Fee charged in quote currency.
        broker: Name of the broker that filled it.
        timestamp: Time of execution (UTC).
        reported_symbol, reported_side: What the broker said it traded, when it said so
            (None: the order's).
    """

    order: Order
    quantity: float
    price: float
    commission: float
    broker: str
    timestamp: pd.Timestamp
    reported_symbol: str | None = None
    reported_side: OrderSide | None = None

    @property
    def symbol(self) -> str:
        """Symbol the broker reported (the order's unless it said otherwise)."""
        return self.order.symbol if self.reported_symbol is None else self.reported_symbol

    @property
    def side(self) -> OrderSide:
        """Side the broker reported (the order's unless it said otherwise)."""
        return self.order.side if self.reported_side is None else self.reported_side

    @property
    def partial(self) -> bool:
        """True when less than the ordered quantity filled (beyond float rounding)."""
        return self.quantity < self.order.quantity * (1 - 1e-12)

    @property
    def value(self) -> float:
        """Notional traded, in quote currency: ``quantity * price`` (commission excluded)."""
        return self.quantity * self.price


@dataclass(frozen=True)
class OrderStatus:
    """What a broker knows about an order, asked by its client order id.

    Attributes:
        client_order_id: The id asked about.
        state: 'unknown' (the broker never received it), 'open', 'closed' (done, filled in
            full or in part), 'canceled' or 'rejected'.
        filled: Units filled so far (>= 0).
        average_price: Average fill price in quote currency, None when nothing filled.
        commission: Fees charged so far, quote currency.
        symbol, side: What the broker says the order trades, when it says so (checked
            against the order when the fill is booked).
    """

    client_order_id: str
    state: str
    filled: float = 0.0
    average_price: float | None = None
    commission: float = 0.0
    symbol: str | None = None
    side: OrderSide | None = None

    @property
    def final(self) -> bool:
        """True when the order can fill no more."""
        return self.state != "open"

    def to_fill(self, order: Order, broker: str) -> Fill | None:
        """The fill this status confirms, or None when nothing filled."""
        if self.filled <= 0 or self.average_price is None:
            return None
        return Fill(
            order, self.filled, self.average_price, self.commission, broker,
            pd.Timestamp.now(tz="UTC"), self.symbol, self.side,
        )  # fmt: skip


@dataclass(frozen=True)
class OrderFailure:
    """An order that was not filled, with the broker it went to and why.

    Attributes:
        order: The order that failed.
        broker: Name of the broker the order was routed to.
        error: The error message (the exception's type name when it had no message).
        exception: The exception itself, kept for debugging (excluded from equality).
    """

    order: Order
    broker: str
    error: str
    exception: BaseException | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ExecutionReport:
    """Outcome of every submitted order: each one is either in ``fills`` or in ``failures``.

    Both lists keep the order in which the orders were given.
    """

    fills: list[Fill] = field(default_factory=list)
    failures: list[OrderFailure] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    @property
    def partial_fills(self) -> list[Fill]:
        """Fills for less than ordered; the remainder was not re-sent (the next rebalance
        sizes again from the confirmed holdings)."""
        return [fill for fill in self.fills if fill.partial]

    @property
    def ok(self) -> bool:
        """True when no order failed."""
        return not self.failures

    @property
    def total_commission(self) -> float:
        """Sum of commissions over the fills, in quote currency."""
        return float(sum(fill.commission for fill in self.fills))

    def to_frame(self) -> pd.DataFrame:
        """One row per fill: symbol, side, quantity (base units), price, value, commission
        (quote currency), broker, timestamp and the order's reference price."""
        rows = [
            {
                "symbol": fill.symbol,
                "side": fill.side.value,
                "quantity": fill.quantity,
                "price": fill.price,
                "value": fill.value,
                "commission": fill.commission,
                "broker": fill.broker,
                "timestamp": fill.timestamp,
                "reference_price": fill.order.reference_price,
            }
            for fill in self.fills
        ]
        return pd.DataFrame(rows, columns=_FILL_COLUMNS)

    def raise_on_failure(self) -> None:
        """Raise ExecutionError listing every failed order (symbol, broker, error), if any."""
        if self.failures:
            lines = "; ".join(
                f"{f.order.side.value} {f.order.quantity:g} {f.order.symbol!r} "
                f"at {f.broker!r}: {f.error}"
                for f in self.failures
            )
            raise ExecutionError(
                f"{len(self.failures)} of {len(self.fills) + len(self.failures)} orders "
                f"failed: {lines}"
            )
