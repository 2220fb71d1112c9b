"""Live execution: the async Broker protocol and UnifiedExecutor routing orders to brokers.

``UnifiedExecutor`` routes every order to a broker before sending any, then sends all sells
concurrently, then all buys (so sale proceeds fund purchases), and reports every order as a
fill or a failure. Units: quantities in base-asset units, prices, cash and commissions in
the quote currency.

Example:
    >>> executor = UnifiedExecutor()
    >>> executor.add_broker(PaperBroker(cash=1000.0, prices={"AAA": 10.0}), default=True)
    >>> report = asyncio.run(executor.execute([Order("AAA", OrderSide.BUY, 5)]))
    >>> report.ok, asyncio.run(executor.get_cash())
    (True, 950.0)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from cvxport.brokers.orders import ExecutionReport, Fill, Order, OrderFailure, OrderSide
from cvxport.brokers.paper import PaperBroker
from cvxport.errors import ExecutionError, InvalidInputError

__all__ = [
    "Broker",
    "ExecutionReport",
    "Fill",
    "Order",
    "OrderFailure",
    "OrderSide",
    "PaperBroker",
    "UnifiedExecutor",
]


@runtime_checkable
class Broker(Protocol):
    """What UnifiedExecutor needs from a broker (structural: no inheritance required).

    Attributes:
        name: Unique broker name, used for routing and in fills and errors.
    """

    name: str

    async def submit_order(self, order: Order) -> Fill:
        """Execute ``order``; raise (ideally ExecutionError) when it is rejected."""
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


class UnifiedExecutor:
    """Routes orders over several brokers and executes them, sells before buys.

    A symbol goes to the broker it was explicitly routed to with ``add_broker(symbols=...)``,
    else to the first added broker whose ``supports(symbol)`` is true, else to the default.
    """

    def __init__(self) -> None:
        self._brokers: dict[str, Broker] = {}
        self._routes: dict[str, str] = {}
        self._default: str | None = None

    def __repr__(self) -> str:
        return f"UnifiedExecutor(brokers={list(self._brokers)}, default={self._default!r})"

    @property
    def brokers(self) -> tuple[Broker, ...]:
        """The brokers in the order they were added."""
        return tuple(self._brokers.values())

    def add_broker(
        self, broker: Broker, symbols: Iterable[str] | None = None, default: bool = False
    ) -> None:
        """Register ``broker``, route ``symbols`` to it and optionally make it the default.

        Args:
            broker: Any object satisfying the Broker protocol, with a name not yet used.
            symbols: Symbols always sent to this broker (explicit routes win over
                ``supports``).
            default: Send symbols no broker routes or supports to this broker.

        Raises:
            InvalidInputError: ``broker`` is not a Broker, its name is taken, a symbol is
                already routed to another broker, or a default already exists; nothing is
                registered then.
        """
        if not isinstance(broker, Broker):
            raise InvalidInputError(
                f"broker must implement the Broker protocol, got {type(broker).__name__}"
            )
        name = broker.name
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"broker name must be a non-empty string, got {name!r}")
        if name in self._brokers:
            raise InvalidInputError(f"a broker named {name!r} is already registered")
        if isinstance(symbols, str):
            raise InvalidInputError(f"symbols must be an iterable of str, got {symbols!r}")
        routed = list(dict.fromkeys(() if symbols is None else symbols))
        for symbol in routed:
            if not isinstance(symbol, str) or not symbol:
                raise InvalidInputError(f"symbols of {name!r} must be non-empty str: {symbol!r}")
            if symbol in self._routes:
                raise InvalidInputError(
                    f"symbol {symbol!r} is already routed to broker {self._routes[symbol]!r}"
                )
        if default and self._default is not None:
            raise InvalidInputError(
                f"cannot make {name!r} the default broker: {self._default!r} already is"
            )
        self._brokers[name] = broker
        self._routes.update(dict.fromkeys(routed, name))
        if default:
            self._default = name

    def route(self, symbol: str) -> Broker:
        """The broker ``symbol`` goes to: explicit route, then ``supports``, then default.

        Raises:
            InvalidInputError: No broker takes ``symbol`` (named).
        """
        if symbol in self._routes:
            return self._brokers[self._routes[symbol]]
        for broker in self._brokers.values():
            if broker.supports(symbol):
                return broker
        if self._default is not None:
            return self._brokers[self._default]
        raise InvalidInputError(
            f"no broker takes symbol {symbol!r} (brokers: {list(self._brokers)}, no default)"
        )

    async def execute(self, orders: Sequence[Order], concurrency: int = 8) -> ExecutionReport:
        """Route all orders, then execute the sells concurrently, then the buys.

        Routing happens before anything is sent, so an unroutable symbol sends nothing. An
        order its broker rejects (any exception) becomes an OrderFailure and the other orders
        go on; every order ends in exactly one of the report's lists, in the given order.

        Args:
            orders: Orders to execute.
            concurrency: Maximum number of orders in flight at once, >= 1.

        Returns:
            The fills and the failures.

        Raises:
            InvalidInputError: An item is not an Order, ``concurrency`` is invalid, or some
                symbol has no broker (all such symbols are named); no order is sent then.
        """
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidInputError(f"concurrency must be an int >= 1, got {concurrency!r}")
        orders = list(orders)
        for i, order in enumerate(orders):
            if not isinstance(order, Order):
                raise InvalidInputError(f"orders[{i}] is a {type(order).__name__}, not an Order")
        routed: list[Broker] = []
        unroutable: list[str] = []
        for order in orders:
            try:
                routed.append(self.route(order.symbol))
            except InvalidInputError:
                unroutable.append(order.symbol)
        if unroutable:
            raise InvalidInputError(
                f"no broker takes symbol(s) {sorted(set(unroutable))} "
                f"(brokers: {list(self._brokers)}, default: {self._default!r}); nothing was sent"
            )

        semaphore = asyncio.Semaphore(concurrency)
        outcomes: list[Fill | OrderFailure | None] = [None] * len(orders)

        async def run(i: int) -> None:
            order, broker = orders[i], routed[i]
            async with semaphore:
                try:
                    fill = await broker.submit_order(order)
                except Exception as exc:
                    outcomes[i] = OrderFailure(order, broker.name, str(exc) or repr(exc), exc)
                    return
            if isinstance(fill, Fill):
                outcomes[i] = fill
            else:
                message = f"broker returned a {type(fill).__name__}, not a Fill"
                outcomes[i] = OrderFailure(order, broker.name, message)

        for side in (OrderSide.SELL, OrderSide.BUY):
            await asyncio.gather(*(run(i) for i, o in enumerate(orders) if o.side is side))
        return ExecutionReport(
            fills=[o for o in outcomes if isinstance(o, Fill)],
            failures=[o for o in outcomes if isinstance(o, OrderFailure)],
        )

    async def execute_trades(
        self, trades: Sequence[Mapping[str, Any]], concurrency: int = 8
    ) -> ExecutionReport:
        """Execute the trade dicts of ``PortfolioManager.calculate_rebalance_trades``.

        Every trade is converted with ``Order.from_trade`` before anything is sent.

        Raises:
            InvalidInputError: A trade is invalid (see ``Order.from_trade``) or unroutable.
        """
        orders = [Order.from_trade(trade) for trade in trades]
        return await self.execute(orders, concurrency=concurrency)

    async def get_positions_by_broker(self) -> dict[str, dict[str, float]]:
        """Holdings per broker: broker name -> symbol -> base-asset units.

        Raises:
            ExecutionError: A broker failed to report (named).
        """
        results = await self._ask_all("get_positions")
        return {name: dict(positions) for name, positions in results.items()}

    async def get_positions(self) -> dict[str, float]:
        """Holdings summed over brokers, symbol -> base-asset units.

        Raises:
            ExecutionError: A broker failed to report (named).
        """
        total: dict[str, float] = {}
        for positions in (await self.get_positions_by_broker()).values():
            for symbol, units in positions.items():
                total[symbol] = total.get(symbol, 0.0) + float(units)
        return total

    async def get_cash(self) -> float:
        """Cash summed over brokers, in quote currency (one currency assumed).

        Raises:
            ExecutionError: A broker failed to report (named).
        """
        return float(sum((await self._ask_all("get_cash")).values()))

    async def _ask_all(self, method: str) -> dict[str, Any]:
        names = list(self._brokers)
        results = await asyncio.gather(
            *(getattr(self._brokers[name], method)() for name in names), return_exceptions=True
        )
        for name, result in zip(names, results, strict=True):
            if isinstance(result, Exception):
                raise ExecutionError(f"broker {name!r} failed {method}: {result}") from result
            if isinstance(result, BaseException):
                raise result
        return dict(zip(names, results, strict=True))
