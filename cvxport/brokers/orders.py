"""Orders, fills and execution reports: plain frozen values exchanged with brokers.

Units throughout: quantities in units of the base asset (shares, coins), prices and
commissions in the quote currency (the account's cash currency).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from numbers import Real
from typing import Any

import pandas as pd

from cvxport.errors import ExecutionError, InvalidInputError

__all__ = ["ExecutionReport", "Fill", "Order", "OrderFailure", "OrderSide"]

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
    """A market order for ``quantity`` units of the base asset ``symbol``.

    Attributes:
        symbol: Instrument identifier as the broker knows it (non-empty).
        side: BUY or SELL; the strings ``'BUY'``/``'SELL'`` (any case) are accepted.
        quantity: Units of the base asset to trade, finite and > 0; the side gives the sign.
        reference_price: Price in quote currency the order was sized with (informational;
            market orders fill at the broker's price), finite and > 0, or None.
    """

    symbol: str
    side: OrderSide
    quantity: float
    reference_price: float | None = None

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
    """An executed order as the broker reported it.

    Attributes:
        order: The order that was filled.
        quantity: Units of the base asset filled (> 0; may be less than ordered).
        price: Execution price in quote currency per unit.
        commission: Fee charged in quote currency.
        broker: Name of the broker that filled it.
        timestamp: Time of execution (UTC).
    """

    order: Order
    quantity: float
    price: float
    commission: float
    broker: str
    timestamp: pd.Timestamp

    @property
    def symbol(self) -> str:
        """Symbol of the filled order."""
        return self.order.symbol

    @property
    def side(self) -> OrderSide:
        """Side of the filled order."""
        return self.order.side

    @property
    def value(self) -> float:
        """Notional traded, in quote currency: ``quantity * price`` (commission excluded)."""
        return self.quantity * self.price


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
