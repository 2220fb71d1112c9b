"""Run one live rebalance against the fake exchange at ``argv[1]`` with the journal at
``argv[2]``; used by the SIGKILL test (the test kills this process mid-rebalance)."""

from __future__ import annotations

import asyncio
import sys

from fake_exchange import ccxt_config
from faults import SYMBOLS, drifted_setup

from cvxport.broker_bridge import OrderPolicy, UnifiedExecutor
from cvxport.brokers.ccxt_broker import CCXTBroker


async def main(url: str, journal: str) -> None:
    manager, _, _ = drifted_setup(journal_path=journal)
    executor = UnifiedExecutor(policy=OrderPolicy(timeout=120.0))
    async with CCXTBroker("binance", SYMBOLS, config=ccxt_config(url)) as broker:
        executor.add_broker(broker, default=True)
        print("rebalancing", flush=True)
        await manager.execute_rebalance(executor)
    print("finished", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
