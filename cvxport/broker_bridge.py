"""Live execution, the spec's import path: the Broker protocol, UnifiedExecutor and brokers.

The code lives in :mod:`cvxport.brokers`; this module re-exports it. ``UnifiedExecutor``
routes every order to a broker before sending any, then sends all sells concurrently, then all
buys (so sale proceeds fund purchases), and reports every order as a fill or a failure.
Units: quantities in base-asset units, prices, cash and commissions in the quote currency.

Example:
    >>> executor = UnifiedExecutor()
    >>> executor.add_broker(PaperBroker(cash=1000.0, prices={"AAA": 10.0}), default=True)
    >>> report = asyncio.run(executor.execute([Order("AAA", OrderSide.BUY, 5)]))
    >>> report.ok, asyncio.run(executor.get_cash())
    (True, 950.0)
"""

from __future__ import annotations

import asyncio  # noqa: F401 - used by the example

from cvxport.backtest.sizer import MarketLimits
from cvxport.brokers.ccxt_broker import CCXTBroker
from cvxport.brokers.executor import UnifiedExecutor
from cvxport.brokers.journal import Journal
from cvxport.brokers.lifecycle import OrderPolicy
from cvxport.brokers.orders import (
    ExecutionReport,
    Fill,
    Order,
    OrderFailure,
    OrderSide,
    OrderStatus,
)
from cvxport.brokers.paper import PaperBroker
from cvxport.brokers.protocol import Broker, OrderTracking

__all__ = [
    "Broker",
    "CCXTBroker",
    "ExecutionReport",
    "Fill",
    "Journal",
    "MarketLimits",
    "Order",
    "OrderFailure",
    "OrderPolicy",
    "OrderSide",
    "OrderStatus",
    "OrderTracking",
    "PaperBroker",
    "UnifiedExecutor",
]
