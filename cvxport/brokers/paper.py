"""PaperBroker: an in-process simulated broker that fills orders at known prices.

It keeps every order by client order id (a duplicate id is rejected, as exchanges do), can
be asked about and cancel them, and applies optional exchange rules (lot size, minimums).

Units: quantities in base-asset units, prices, cash and commissions in the quote currency.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping
from numbers import Real
from typing import Any

import pandas as pd

from cvxport.backtest.sizer import MarketLimits
from cvxport.brokers.orders import Fill, Order, OrderSide, OrderStatus
from cvxport.errors import ExecutionError, InvalidInputError

__all__ = ["PaperBroker"]

# Relative slack on the position and cash checks, so that selling a whole position or spending
# all cash computed through float arithmetic (e.g. 0.1 + 0.2 units) is not rejected; the
# leftover dust is set to zero.
_REL_TOL = 1e-9


def _number(value: Any, name: str, *, lower: float = 0.0, upper: float = math.inf) -> float:
    """Return ``value`` as a float in ``[lower, upper)``, else InvalidInputError naming it."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidInputError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not lower <= number < upper:
        raise InvalidInputError(
            f"{name} must be finite and in [{lower:g}, {upper:g}), got {value!r}"
        )
    return number


class PaperBroker:
    """A simulated long-only cash account filling market orders at the last price it was given.

    A BUY of ``q`` units at price ``p`` costs ``q * p * (1 + commission_rate)`` of cash; a SELL
    brings ``q * p * (1 - commission_rate)``. An order is rejected with an ExecutionError naming
    the broker, the order and the reason when the symbol has no price or is not traded here, a
    SELL exceeds the position, or a BUY costs more than the cash. Each order is checked in full
    before the account changes, so a rejected order leaves it untouched.

    Args:
        name: Broker name, used for routing and in fills and errors.
        cash: Starting cash in quote currency, >= 0.
        positions: Starting holdings, symbol -> base-asset units (>= 0; long only).
        prices: Starting prices, symbol -> quote currency per unit (> 0).
        commission_rate: Fee as a fraction of notional (0.001 = 10 bp), in [0, 1).
        latency: Simulated round trip in seconds per order, awaited with ``asyncio.sleep``.
        symbols: Symbols this broker trades; None trades every symbol it has a price for.
        markets: symbol -> MarketLimits the broker enforces (an order off the lot size or
            below a minimum is rejected).

    A limit order fills at once when marketable (a BUY limit at or above the price, a SELL
    at or below) and otherwise rests, open, until cancelled.

    Raises:
        InvalidInputError: An argument is invalid (the message names it).
    """

    def __init__(
        self,
        name: str = "paper",
        cash: float = 0.0,
        positions: Mapping[str, float] | None = None,
        prices: Mapping[str, float] | None = None,
        commission_rate: float = 0.0,
        latency: float = 0.0,
        symbols: Iterable[str] | None = None,
        markets: Mapping[str, MarketLimits] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(f"PaperBroker name must be a non-empty string, got {name!r}")
        if isinstance(symbols, str):
            raise InvalidInputError(
                f"PaperBroker symbols must be an iterable of str, got {symbols!r}"
            )
        self.name = name
        self.commission_rate = _number(commission_rate, "commission_rate", upper=1.0)
        self.latency = _number(latency, "latency")
        self.symbols = None if symbols is None else frozenset(symbols)
        self._cash = _number(cash, "cash")
        self._positions = {
            symbol: _number(units, f"position of {symbol!r}")
            for symbol, units in (positions or {}).items()
        }
        self._prices: dict[str, float] = {}
        self.set_prices(prices or {})
        self.fills: list[Fill] = []
        self.markets = dict(markets or {})
        self.orders: dict[str, OrderStatus] = {}  # client order id -> status
        self.sent: list[Order] = []  # every order received, in order
        self._resting: dict[str, asyncio.Event] = {}

    def __repr__(self) -> str:
        return (
            f"PaperBroker(name={self.name!r}, cash={self._cash:g}, "
            f"positions={self._positions!r}, commission_rate={self.commission_rate:g})"
        )

    @property
    def cash(self) -> float:
        """Cash in quote currency."""
        return self._cash

    @property
    def positions(self) -> dict[str, float]:
        """Copy of the holdings, symbol -> base-asset units (closed positions are absent)."""
        return dict(self._positions)

    @property
    def prices(self) -> dict[str, float]:
        """Copy of the known prices, symbol -> quote currency per unit."""
        return dict(self._prices)

    def set_prices(self, prices: Mapping[str, float]) -> None:
        """Update the prices market orders fill at, in quote currency per unit.

        Symbols not in ``prices`` keep their last price.

        Raises:
            InvalidInputError: A price is not finite and > 0 (the symbol is named); no price
                is updated then.
        """
        checked = {}
        for symbol, price in prices.items():
            checked[symbol] = _number(price, f"price of {symbol!r}")
            if checked[symbol] == 0:
                raise InvalidInputError(f"price of {symbol!r} must be > 0, got {price!r}")
        self._prices.update(checked)

    def supports(self, symbol: str) -> bool:
        """Whether this broker trades ``symbol``: listed in ``symbols``, or priced if None."""
        if self.symbols is not None:
            return symbol in self.symbols
        return symbol in self._prices

    async def get_positions(self) -> dict[str, float]:
        """Holdings, symbol -> base-asset units."""
        return self.positions

    async def get_cash(self) -> float:
        """Cash in quote currency."""
        return self._cash

    async def submit_order(self, order: Order) -> Fill:
        """Fill a market order in full at the current price, after ``latency`` seconds.

        Returns:
            The fill; it is also appended to ``fills``.

        Raises:
            InvalidInputError: ``order`` is not an Order.
            ExecutionError: The order is rejected (broker, order and reason are named).
        """
        if not isinstance(order, Order):
            raise InvalidInputError(f"{self.name!r} expects an Order, got {type(order).__name__}")
        await asyncio.sleep(self.latency)
        # No await from here on: the checks and the update run as one step of the event loop,
        # so concurrent orders never see a half-updated account.
        cid = order.client_order_id
        if cid is not None and cid in self.orders:
            raise self._reject(order, f"duplicate client order id {cid}")
        self.sent.append(order)
        try:
            fill = self._execute(order)
        except ExecutionError:
            if cid is not None:
                self.orders[cid] = OrderStatus(cid, "rejected")
            raise
        if fill is None:  # a resting limit order
            return await self._rest(order)
        if cid is not None:
            self.orders[cid] = OrderStatus(
                cid, "closed", fill.quantity, fill.price, fill.commission
            )
        return fill

    def _execute(self, order: Order) -> Fill | None:
        if self.symbols is not None and order.symbol not in self.symbols:
            raise self._reject(order, "symbol is not traded by this broker")
        price = self._prices.get(order.symbol)
        if price is None:
            raise self._reject(order, "no price for the symbol")
        market = self.markets.get(order.symbol)
        if market is not None:
            if market.round_amount(order.quantity) != order.quantity:
                raise self._reject(order, f"Filter failure: LOT_SIZE {market.amount_step:g}")
            refusal = market.refusal(order.quantity, price)
            if refusal is not None:
                raise self._reject(order, f"Filter failure: {refusal}")
        if order.order_type == "limit":
            buy = order.side is OrderSide.BUY
            if (buy and order.limit_price < price) or (not buy and order.limit_price > price):
                return None
        notional = order.quantity * price
        commission = self.commission_rate * notional
        if order.side is OrderSide.SELL:
            held = self._positions.get(order.symbol, 0.0)
            if order.quantity > held * (1 + _REL_TOL):
                raise self._reject(order, f"sell exceeds the position of {held:g} units")
            remaining = held - order.quantity
            cash = self._cash + notional - commission
            if remaining > held * _REL_TOL:
                self._positions[order.symbol] = remaining
            else:
                self._positions.pop(order.symbol, None)
        else:
            cost = notional + commission
            if cost > self._cash * (1 + _REL_TOL):
                raise self._reject(
                    order,
                    f"insufficient cash: costs {cost:.2f} (notional {notional:.2f} + commission "
                    f"{commission:.2f}), cash is {self._cash:.2f}",
                )
            cash = max(self._cash - cost, 0.0)
            self._positions[order.symbol] = self._positions.get(order.symbol, 0.0) + order.quantity
        self._cash = cash
        fill = Fill(
            order=order,
            quantity=order.quantity,
            price=price,
            commission=commission,
            broker=self.name,
            timestamp=pd.Timestamp.now(tz="UTC"),
        )
        self.fills.append(fill)
        return fill

    async def _rest(self, order: Order) -> Fill:
        cid = order.client_order_id or f"anon{len(self.sent)}"
        self.orders[cid] = OrderStatus(cid, "open")
        event = self._resting[cid] = asyncio.Event()
        await event.wait()
        raise self._reject(order, "limit order cancelled unfilled")

    async def fetch_order(self, order: Order) -> OrderStatus:
        """Status of ``order`` by client order id ('unknown' when never received)."""
        cid = order.client_order_id
        return self.orders.get(cid, OrderStatus(str(cid), "unknown"))

    async def cancel_order(self, order: Order) -> None:
        """Cancel a resting limit order (nothing happens to a final or unknown one)."""
        cid = order.client_order_id
        status = self.orders.get(cid)
        if status is not None and status.state == "open":
            self.orders[cid] = OrderStatus(cid, "canceled")
            self._resting.pop(cid).set()

    def market_limits(self, symbol: str) -> MarketLimits | None:
        """The rules this broker enforces on ``symbol`` (None: none)."""
        return self.markets.get(symbol)

    async def get_prices(self, symbols: Iterable[str]) -> dict[str, float]:
        """Known prices of ``symbols``, quote currency per unit."""
        return {s: self._prices[s] for s in symbols if s in self._prices}

    def _reject(self, order: Order, reason: str) -> ExecutionError:
        return ExecutionError(
            f"broker {self.name!r} rejected {order.side.value} {order.quantity:g} "
            f"{order.symbol!r}: {reason}"
        )
