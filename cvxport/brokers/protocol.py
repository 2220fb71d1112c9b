"""The Broker protocol: what ``UnifiedExecutor`` needs from a broker, plus optional methods.

Units: quantities in base-asset units, prices, cash and commissions in the quote currency.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from cvxport.brokers.orders import Fill, Order, OrderStatus

__all__ = ["Broker", "OrderTracking"]


@runtime_checkable
class Broker(Protocol):
    """What UnifiedExecutor needs from a broker (structural: no inheritance required).

    Optional methods, used when present: ``fetch_order(order) -> OrderStatus`` and
    ``cancel_order(order)`` (see :class:`OrderTracking`), ``market_limits(symbol) ->
    MarketLimits | None`` (lot size, precision, minimums) and ``get_prices(symbols) -> dict``.

    Attributes:
        name: Unique broker name, used for routing and in fills and errors.
    """

    name: str

    async def submit_order(self, order: Order) -> Fill:
        """Execute ``order``; raise (ideally ExecutionError, or RetryableError when the request
        may be retried) when it is rejected or fails."""
        ...

    async def get_positions(self) -> dict[str, float]:
        """Holdings, symbol -> base-asset units."""
        ...

    async def get_cash(self) -> float:
        """Cash in quote currency."""
        ...

    def supports(self, symbol: str) -> bool:
        """Whether this broker trades ``symbol``."""
        ...


@runtime_checkable
class OrderTracking(Protocol):
    """A broker that can be asked about an order by its client order id, and cancel it.

    With it, the executor cancels an order that timed out and books what filled, asks
    before retrying (a response lost after execution is not sent twice), and a restarted
    manager resolves the orders its journal left open.
    """

    async def fetch_order(self, order: Order) -> OrderStatus:
        """What the broker knows about ``order.client_order_id`` ('unknown' if nothing)."""
        ...

    async def cancel_order(self, order: Order) -> None:
        """Cancel ``order`` if it is still open (no error when it is already final)."""
        ...
