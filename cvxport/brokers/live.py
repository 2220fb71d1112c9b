"""A live rebalance: recover, reconcile, size, journal, execute, book each fill as it arrives.

Steps, in order, one rebalance at a time per manager:
1. **Recover**: every order the journal left open (a crash, a cancellation) is looked up at
   its broker by client order id; what filled is booked, what the broker never saw is closed.
2. **Reconcile**: the broker's balances are read. A simulated state (``initial_capital`` or a
   backtest's book) is replaced by them; any other state must agree with them within dust, or
   ``ReconciliationError`` names each difference and nothing is sent.
3. **Size** with the shared trade sizer, under the brokers' market limits and the config's
   cash buffer; trades below an exchange minimum are skipped and reported.
4. **Journal** every order with a fresh client order id, then **execute** (sells, then buys);
   each fill is checked and applied by the state and journaled with it in one transaction.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cvxport.brokers.journal import new_client_order_id
from cvxport.brokers.lifecycle import query_status, settle
from cvxport.brokers.orders import ExecutionReport, Fill, Order, OrderFailure
from cvxport.errors import (
    CvxportError,
    InconsistentFillError,
    InvalidInputError,
    JournalError,
    RebalanceInProgressError,
    ReconciliationError,
)
from cvxport.state import PortfolioState, check_prices

if TYPE_CHECKING:
    from cvxport.backtest.sizer import TradePlan
    from cvxport.brokers.executor import UnifiedExecutor
    from cvxport.manager import PortfolioManager

__all__ = ["DUST", "preview", "rebalance", "reconcile", "recover"]

logger = logging.getLogger(__name__)

DUST = 1e-8  # differences worth at most this fraction of equity are rounding, not drift
SIMULATED = ("initial", "backtest")


class Booker:
    """Books fills and failures of one manager: state, journal and trade log together."""

    def __init__(self, manager: PortfolioManager) -> None:
        self.manager = manager
        self.journal = manager.journal

    def fill(self, fill: Fill) -> None:
        cid = fill.order.client_order_id
        try:
            self.manager.state.apply_fill(
                fill, commit=lambda holdings, cash: self.journal.record_fill(fill, holdings, cash)
            )
        except InconsistentFillError as exc:
            self.journal.record_anomaly(cid, str(exc))
            logger.warning("refused: %s", exc)
            raise
        self.manager.trade_log.append(
            {
                "timestamp": fill.timestamp,
                "symbol": fill.symbol,
                "action": fill.side.value,
                "quantity": fill.quantity,
                "price": fill.price,
                "value": fill.value,
                "cost": fill.commission,
                "broker": fill.broker,
            }
        )
        logger.info("filled %s %g %s at %g (%s)", fill.side.value, fill.quantity, fill.symbol,
                    fill.price, cid)  # fmt: skip

    def failure(self, failure: OrderFailure) -> None:
        cid = failure.order.client_order_id
        if isinstance(failure.exception, (InconsistentFillError, JournalError)):
            return  # stays open in the journal: the next recover() asks the broker again
        self.journal.record_failure(failure.order, failure.error)
        logger.warning("order %s %s %r failed at %r: %s", cid, failure.order.side.value,
                       failure.order.symbol, failure.broker, failure.error)  # fmt: skip


class _Guard:
    """One rebalance at a time per manager: a second one raises RebalanceInProgressError."""

    def __init__(self, manager: PortfolioManager) -> None:
        self.manager = manager

    def __enter__(self) -> None:
        if getattr(self.manager, "_rebalancing", False):
            raise RebalanceInProgressError(
                "a rebalance of this manager is already running; wait for it to finish"
            )
        self.manager._rebalancing = True

    def __exit__(self, *exc: Any) -> None:
        self.manager._rebalancing = False


async def recover(manager: PortfolioManager, executor: UnifiedExecutor) -> list[Fill]:
    """Resolve the orders the journal left open; return the fills booked for them.

    Raises:
        RebalanceInProgressError: a rebalance of this manager is running.
    """
    with _Guard(manager):
        return await _recover(manager, executor)


async def _recover(manager: PortfolioManager, executor: UnifiedExecutor) -> list[Fill]:
    booker, policy, booked = Booker(manager), executor.policy, []
    for order in manager.journal.open_orders():
        broker = executor.route(order.symbol)
        status = await query_status(broker, order, policy)
        if status is None:
            logger.warning("order %s: broker %r cannot tell; left open", order.client_order_id,
                           broker.name)  # fmt: skip
            continue
        fill = status.to_fill(order, broker.name)
        if status.state == "open":
            try:
                fill = await settle(broker, order, policy, "was open at restart")
            except CvxportError as exc:
                booker.failure(OrderFailure(order, broker.name, str(exc), exc))
                continue
        if fill is None:
            manager.journal.record_failure(
                order, f"not executed at {broker.name!r} ({status.state})"
            )
            continue
        try:
            booker.fill(fill)
            booked.append(fill)
        except InconsistentFillError:
            continue
    return booked


async def reconcile(
    manager: PortfolioManager, executor: UnifiedExecutor, prices: Mapping[str, float],
    write: bool = True,
) -> PortfolioState:  # fmt: skip
    """Compare the state with the brokers' balances (see the module's step 2).

    Returns:
        The reconciled state (the manager's, unless ``write`` is False: then a copy).

    Raises:
        ReconciliationError: a journaled, user-set or live state differs from the brokers'
            beyond ``DUST`` of equity (each symbol and cash named, with both values).
    """
    symbols = manager.config.symbols
    positions = await executor.get_positions()
    cash = float(await executor.get_cash())
    broker = {s: float(positions.get(s, 0.0)) for s in symbols}
    state = manager.state if write else copy.deepcopy(manager.state)
    if state.source in SIMULATED:
        logger.info("live state taken from the brokers: %s, cash %g", broker, cash)
        state.holdings, state.cash, state.source = broker, cash, "broker"
        if write:
            manager.journal.record_state(broker, cash, "adopted from the brokers' balances")
        return state
    equity = max(abs(cash) + sum(abs(u) * prices[s] for s, u in broker.items()), 1e-300)
    differences = [
        f"{s}: state {state.holdings.get(s, 0.0):.10g}, broker {broker[s]:.10g} units"
        for s in symbols
        if abs(broker[s] - state.holdings.get(s, 0.0)) * prices[s] > DUST * equity
    ]
    if abs(cash - state.cash) > DUST * equity:
        differences.append(f"cash: state {state.cash:.10g}, broker {cash:.10g}")
    if differences:
        message = (
            f"the brokers' balances differ from the {state.source} state beyond dust "
            f"({DUST:g} of equity): " + "; ".join(differences) + "; nothing was sent"
        )
        pending = len(manager.journal.open_orders())
        if pending:
            message += f" ({pending} order(s) still open in the journal: run recover() first)"
        if write:
            manager.journal.record_anomaly(None, message)
        raise ReconciliationError(message)
    state.holdings, state.cash = broker, cash  # drop the float dust
    return state


async def _prices(manager, executor, prices) -> dict[str, float]:
    symbols = manager.config.symbols
    if prices is None:
        known = dict(manager.state.prices)
        known.update(await executor.get_prices(symbols))
        prices = known
    return check_prices(prices, symbols)


async def preview(
    manager: PortfolioManager, executor: UnifiedExecutor, prices: Mapping[str, float] | None = None
) -> TradePlan:
    """The orders a rebalance would send now (a dry run): nothing is sent or written.

    Balances and prices are read from the brokers (prices: ``prices`` when given).
    """
    prices = await _prices(manager, executor, prices)
    limits = await executor.market_limits(manager.config.symbols)
    state = await reconcile(manager, executor, prices, write=False)
    saved = manager.state
    try:
        manager.state = state
        return manager.plan_trades(prices, limits)
    finally:
        manager.state = saved


async def rebalance(
    manager: PortfolioManager,
    executor: UnifiedExecutor,
    prices: Mapping[str, float] | None = None,
    order_type: str = "market",
    limit_offset: float = 0.0,
) -> ExecutionReport:
    """Run one live rebalance (see the module's steps).

    Args:
        prices: sizing prices, quote currency; None asks the brokers (else the last known).
        order_type: 'market' or 'limit'; a limit order is priced ``limit_offset`` (fraction)
            through the sizing price (above for a BUY), rounded to the market's tick.

    Returns:
        The fills, failures and the trades skipped below an exchange minimum.
    """
    with _Guard(manager):
        await _recover(manager, executor)
        prices = await _prices(manager, executor, prices)
        limits = await executor.market_limits(manager.config.symbols)
        await reconcile(manager, executor, prices)
        plan = manager.plan_trades(prices, limits)
        orders = [_order(t, i, order_type, limit_offset, limits) for i, t in enumerate(plan.trades)]
        executor.route_all(orders)  # refuse unroutable symbols before writing anything
        manager.journal.record_orders(orders, uuid.uuid4().hex)
        manager.state.prices.update(prices)  # the prices the trades were sized at
        booker = Booker(manager)
        report = await executor.execute(orders, on_fill=booker.fill, on_failure=booker.failure)
        for item in plan.skipped:
            logger.info("skipped %s %g %s: %s", item["action"], item["quantity"], item["symbol"],
                        item["reason"])  # fmt: skip
        return ExecutionReport(report.fills, report.failures, plan.skipped)


def _order(trade: dict, i: int, order_type: str, offset: float, limits: Mapping) -> Order:
    limit_price = None
    if order_type == "limit":
        if not 0 <= offset < 1:
            raise InvalidInputError(f"limit_offset must be in [0, 1), got {offset!r}")
        sign = 1.0 if trade["action"] == "BUY" else -1.0
        limit_price = trade["price"] * (1 + sign * offset)
        market = limits.get(trade["symbol"])
        if market is not None:
            limit_price = market.round_price(limit_price)
    return Order(
        trade["symbol"], trade["action"], trade["quantity"], trade["price"], order_type,
        limit_price, new_client_order_id(i),
    )  # fmt: skip
