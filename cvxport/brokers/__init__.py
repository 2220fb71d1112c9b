"""Live execution behind :mod:`cvxport.broker_bridge` (the public module).

``protocol`` (the Broker protocol), ``orders`` (orders, fills, statuses, reports),
``lifecycle`` (one order: timeout, cancel, retries, pacing), ``executor`` (UnifiedExecutor:
routing, sells before buys, fills booked as they arrive), ``journal`` (SQLite journal),
``live`` (a rebalance: recover, reconcile, size, journal, execute), ``paper`` (PaperBroker)
and ``ccxt_broker`` (CCXTBroker, extra ``live``).
"""
