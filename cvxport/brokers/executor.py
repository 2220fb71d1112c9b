"""UnifiedExecutor: routes orders to brokers and executes them, sells before buys.

Every order goes through :func:`cvxport.brokers.lifecycle.run_order` (timeout, cancel on
timeout, retries of retryable errors, pacing). Each fill is handed to ``on_fill`` as soon as
it arrives, with no await in between, so a cancellation never separates a confirmed fill from
its booking. Units: quantities in base-asset units, prices, cash and commissions in the quote
currency.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cvxport.brokers.lifecycle import OrderPolicy, Pacer, query_status, run_order
from cvxport.brokers.orders import ExecutionReport, Fill, Order, OrderFailure, OrderSide
from cvxport.brokers.protocol import Broker
from cvxport.errors import ExecutionError, InconsistentFillError, InvalidInputError

__all__ = ["UnifiedExecutor"]

logger = logging.getLogger(__name__)

FillHandler = Callable[[Fill], None]
FailureHandler = Callable[[OrderFailure], None]


class UnifiedExecutor:
    """Routes orders over several brokers and executes them, sells before buys.

    A symbol goes to the broker it was explicitly routed to with ``add_broker(symbols=...)``,
    else to the first added broker whose ``supports(symbol)`` is true, else to the default.
    """

    def __init__(self, policy: OrderPolicy | None = None) -> None:
        self._brokers: dict[str, Broker] = {}
        self._routes: dict[str, str] = {}
        self._default: str | None = None
        self.policy = OrderPolicy() if policy is None else policy
        self._pacers: dict[str, Pacer] = {}

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

    async def execute(
        self,
        orders: Sequence[Order],
        concurrency: int = 8,
        on_fill: FillHandler | None = None,
        on_failure: FailureHandler | None = None,
    ) -> ExecutionReport:
        """Route all orders, then execute the sells concurrently, then the buys.

        Routing happens before anything is sent, so an unroutable symbol sends nothing. An
        order its broker rejects (any exception) becomes an OrderFailure and the other orders
        go on; every order ends in exactly one of the report's lists, in the given order.

        Args:
            orders: Orders to execute.
            concurrency: Maximum number of orders in flight at once, >= 1.
            on_fill: Called with each fill as it arrives (books it). An
                InconsistentFillError from it makes the executor ask the broker for the
                order's status and offer that instead; a second refusal fails the order.
            on_failure: Called with each failure as it is known.

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
        routed = self.route_all(orders)
        semaphore = asyncio.Semaphore(concurrency)
        outcomes: list[Fill | OrderFailure | None] = [None] * len(orders)

        def fail(i: int, broker: Broker, exc: BaseException | None, message: str) -> None:
            outcomes[i] = OrderFailure(orders[i], broker.name, message, exc)
            if on_failure is not None:
                try:
                    on_failure(outcomes[i])
                except Exception as error:  # the report still lists it
                    logger.error("failure of %s not recorded: %s", orders[i].symbol, error)

        async def run(i: int) -> None:
            order, broker = orders[i], routed[i]
            async with semaphore:
                pacer = self._pacers.setdefault(broker.name, Pacer(self.policy.min_interval))
                try:
                    fill = await run_order(broker, order, self.policy, pacer)
                except Exception as exc:
                    fail(i, broker, exc, str(exc) or repr(exc))
                    return
                if not isinstance(fill, Fill):
                    fail(i, broker, None, f"broker returned a {type(fill).__name__}, not a Fill")
                    return
                try:
                    if on_fill is not None:
                        on_fill(fill)
                    outcomes[i] = fill
                    return
                except InconsistentFillError as exc:
                    refused = exc
                except Exception as exc:  # e.g. the journal cannot be written: not booked
                    fail(i, broker, exc, f"filled at the broker but not booked: {exc}")
                    return
                status = await query_status(broker, order, self.policy)
                truth = None if status is None else status.to_fill(order, broker.name)
                try:
                    if truth is None:
                        raise refused
                    if on_fill is not None:
                        on_fill(truth)
                    outcomes[i] = truth
                except InconsistentFillError as exc:
                    fail(i, broker, exc, str(exc))

        for side in (OrderSide.SELL, OrderSide.BUY):
            await asyncio.gather(*(run(i) for i, o in enumerate(orders) if o.side is side))
        return ExecutionReport(
            fills=[o for o in outcomes if isinstance(o, Fill)],
            failures=[o for o in outcomes if isinstance(o, OrderFailure)],
        )

    def route_all(self, orders: list[Order]) -> list[Broker]:
        """The broker of each order; InvalidInputError naming every unroutable symbol."""
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
        return routed

    async def market_limits(self, symbols: Sequence[str]) -> dict[str, Any]:
        """symbol -> MarketLimits from the symbol's broker (absent when it has none)."""
        out = {}
        for symbol in symbols:
            broker = self.route(symbol)
            method = getattr(broker, "market_limits", None)
            limits = None if method is None else method(symbol)
            if asyncio.iscoroutine(limits):
                limits = await limits
            if limits is not None:
                out[symbol] = limits
        return out

    async def get_prices(self, symbols: Sequence[str]) -> dict[str, float]:
        """Last prices (quote currency) from each symbol's broker, where it can tell.

        Raises:
            ExecutionError: a broker failed to answer (named).
        """
        out: dict[str, float] = {}
        for symbol in symbols:
            broker = self.route(symbol)
            method = getattr(broker, "get_prices", None)
            if method is None:
                continue
            try:
                out.update({s: p for s, p in (await method([symbol])).items() if s == symbol})
            except Exception as exc:
                raise ExecutionError(f"broker {broker.name!r} failed get_prices: {exc}") from exc
        return out

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
