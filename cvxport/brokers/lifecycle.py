"""One order's life at one broker: timeout, cancel on timeout, retries with backoff, pacing.

Policy (documented behaviour):
- Each attempt waits at most ``timeout`` seconds. On timeout the order is cancelled (when the
  broker can cancel) and its status asked: what filled is booked as a (partial) fill, an
  order that filled nothing fails with ``OrderTimeoutError``.
- Only a ``RetryableError`` (network failure, rate limit, busy exchange) is retried, at most
  ``retries`` times, after ``backoff * 2**k`` seconds (or the broker's ``retry_after``).
  Before a retry the broker is asked about the client order id: an order that executed but
  whose answer was lost is booked, never sent again.
- A partial fill is booked for what filled; the remainder is not re-sent in the same
  rebalance (it shows in ``ExecutionReport.partial_fills``; the next rebalance sizes again
  from the confirmed holdings).
- Orders to one broker start at least ``min_interval`` seconds apart (rate limits).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

from cvxport.brokers.orders import Fill, Order, OrderStatus
from cvxport.brokers.protocol import Broker, OrderTracking
from cvxport.errors import InvalidInputError, OrderTimeoutError, RetryableError

__all__ = ["OrderPolicy", "query_status", "run_order"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderPolicy:
    """How orders are sent. Times in seconds.

    Attributes:
        timeout: Longest wait for one attempt's answer (None: forever; not advised).
        retries: Retries of a RetryableError (>= 0).
        backoff: First retry delay, doubled at each retry, capped at ``max_backoff``.
        max_backoff: Longest delay between two retries.
        min_interval: Shortest time between two order starts at one broker (0: no pacing).
        status_timeout: Longest wait for a cancel or a status query.
    """

    timeout: float | None = 30.0
    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    min_interval: float = 0.0
    status_timeout: float = 10.0

    def __post_init__(self) -> None:
        for name in ("backoff", "max_backoff", "min_interval", "status_timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise InvalidInputError(f"OrderPolicy.{name} must be >= 0, got {value!r}")
        if self.timeout is not None and not (
            isinstance(self.timeout, (int, float)) and self.timeout > 0
        ):
            raise InvalidInputError(
                f"OrderPolicy.timeout must be > 0 or None, got {self.timeout!r}"
            )
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise InvalidInputError(
                f"OrderPolicy.retries must be an int >= 0, got {self.retries!r}"
            )


class Pacer:
    """Spaces order starts at one broker by ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self.interval <= 0:
            return
        async with self._lock:
            loop = asyncio.get_running_loop()
            delay = self._next - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = loop.time() + self.interval


async def query_status(broker: Broker, order: Order, policy: OrderPolicy) -> OrderStatus | None:
    """The broker's status of ``order`` (None when it cannot tell or does not answer)."""
    if not isinstance(broker, OrderTracking) or order.client_order_id is None:
        return None
    try:
        return await asyncio.wait_for(broker.fetch_order(order), policy.status_timeout)
    except (asyncio.TimeoutError, Exception) as exc:
        logger.warning(
            "status of %s at %r unavailable: %s", order.client_order_id, broker.name, exc
        )
        return None


async def settle(broker: Broker, order: Order, policy: OrderPolicy, why: str) -> Fill:
    """Cancel ``order`` if open, then book what filled; OrderTimeoutError when nothing did."""
    if isinstance(broker, OrderTracking) and order.client_order_id is not None:
        try:
            await asyncio.wait_for(broker.cancel_order(order), policy.status_timeout)
        except (asyncio.TimeoutError, Exception) as exc:
            logger.warning("cancel of %s at %r failed: %s", order.client_order_id, broker.name, exc)
    status = await query_status(broker, order, policy)
    fill = None if status is None else status.to_fill(order, broker.name)
    if fill is not None:
        return fill
    known = "unknown" if status is None else status.state
    raise OrderTimeoutError(
        f"{order.side.value} {order.quantity:g} {order.symbol!r} at {broker.name!r} {why}; "
        f"nothing filled (status: {known})"
    )


async def run_order(broker: Broker, order: Order, policy: OrderPolicy, pacer: Pacer) -> Fill:
    """Send ``order`` to ``broker`` under ``policy``; return its (possibly partial) fill.

    Raises:
        OrderTimeoutError: no answer in time and nothing filled.
        ExecutionError: the broker rejected it, or retries ran out (its last error).
    """
    attempt = 0
    while True:
        await pacer.wait()
        try:
            return await asyncio.wait_for(broker.submit_order(order), policy.timeout)
        except asyncio.TimeoutError:
            return await settle(broker, order, policy, f"timed out after {policy.timeout:g} s")
        except RetryableError as exc:
            status = await query_status(broker, order, policy)
            if status is not None and status.state != "unknown":
                if not status.final:
                    return await settle(broker, order, policy, f"was left open ({exc})")
                fill = status.to_fill(order, broker.name)
                if fill is not None:
                    return fill
                raise type(exc)(f"{exc} (order {status.state} at the broker)") from exc
            if attempt >= policy.retries:
                raise
            delay = min(policy.backoff * 2**attempt, policy.max_backoff)
            delay = max(delay, exc.retry_after or 0.0)
            attempt += 1
            logger.info(
                "retry %d of %s %r in %.3g s: %s", attempt, order.side.value, order.symbol,
                delay, exc,
            )  # fmt: skip
            await asyncio.sleep(delay)
