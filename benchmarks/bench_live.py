"""Time a live rebalance of N symbols, journal included, and the journal's share of it.

Contenders, side by side in one run (each a fresh manager and account, a drifted portfolio
brought back to equal weights: a few sells, then buys, one order per symbol):

- ``fake exchange, disk journal``: ccxt's real ``binance`` client against the tests' fake
  Binance spot exchange on 127.0.0.1 (HTTP, HMAC signing, JSON), journal on disk (WAL,
  synchronous=FULL: one fsync per fill);
- ``fake exchange, memory journal``: the same with the journal in memory;
- ``paper, disk journal`` / ``paper, memory journal``: the in-process PaperBroker.

For each: wall time of ``execute_rebalance`` (reconcile, size, journal, send, book), time per
order, and the time spent in the journal's writes (share of the total). Milliseconds on
whatever machine runs this; compare the ratios. One BLAS thread everywhere (nothing here uses
BLAS in earnest; pinned for comparability).

Usage: ``python benchmarks/bench_live.py [--symbols 50] [--repeats 3] [--quick]``
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import common  # noqa: E402, F401 - puts the repository on sys.path
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "portfolio"))

from fake_exchange import FakeBinance  # noqa: E402

from cvxport import AllocationMethod, PortfolioConfig, PortfolioManager  # noqa: E402
from cvxport.broker_bridge import OrderPolicy, PaperBroker, UnifiedExecutor  # noqa: E402
from cvxport.brokers.ccxt_broker import CCXTBroker  # noqa: E402
from cvxport.brokers.journal import Journal  # noqa: E402

WRITES = ("record_orders", "record_fill", "record_failure", "record_state", "record_anomaly")


def universe(n: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    return {f"C{i:03d}/USDT": float(np.round(rng.uniform(1, 1000), 2)) for i in range(n)}


def manager_for(prices: dict[str, float], journal: Path | None) -> PortfolioManager:
    config = PortfolioConfig(
        initial_capital=1e6, symbols=list(prices), lookback=5, transaction_cost=0.001,
        allocation_method=AllocationMethod.EQUAL_WEIGHT, journal_path=journal,
    )  # fmt: skip
    manager = PortfolioManager(config)
    index = pd.date_range("2024-01-01", periods=10, freq="D")
    closes = pd.DataFrame({s: np.linspace(p, p * 1.05, 10) for s, p in prices.items()}, index)
    manager.update_market_data(closes.iloc[:, :].mul(1.0))
    manager.state.prices = dict(prices)
    return manager


def timed_journal(journal: Journal, spent: list[float]) -> None:
    """Wrap the journal's writes to add their time to ``spent[0]``."""
    for name in WRITES:
        method = getattr(journal, name)

        def wrapper(*args, _method=method, **kwargs):
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start

        setattr(journal, name, wrapper)


def holdings(prices: dict[str, float]) -> dict[str, float]:
    """A drifted start: the first fifth of the symbols hold everything."""
    first = list(prices)[: max(1, len(prices) // 5)]
    return {s: round(200_000.0 / len(first) / prices[s], 3) for s in first}


async def one_run(kind: str, prices: dict[str, float], disk: bool, tmp: Path) -> tuple:
    journal_path = tmp / f"{kind}-{time.monotonic_ns()}.sqlite" if disk else None
    manager = manager_for(prices, journal_path)
    spent = [0.0]
    timed_journal(manager.journal, spent)
    executor = UnifiedExecutor(policy=OrderPolicy(timeout=30.0))
    start_units = holdings(prices)
    if kind == "paper":
        executor.add_broker(
            PaperBroker(cash=50_000.0, positions=start_units, prices=prices,
                        commission_rate=0.001), default=True,
        )  # fmt: skip
        start = time.perf_counter()
        report = await manager.execute_rebalance(executor, prices=prices)
        total = time.perf_counter() - start
    else:
        markets = {s: {"price": p, "step": 0.001, "tick": 0.01, "min_qty": 0.001,
                       "min_notional": 5.0} for s, p in prices.items()}  # fmt: skip
        balances = {"USDT": 50_000.0, **{s.split("/")[0]: u for s, u in start_units.items()}}
        fake = FakeBinance(markets, balances).start()
        try:
            async with CCXTBroker("binance", list(prices), config=fake.ccxt_config()) as broker:
                executor.add_broker(broker, default=True)
                await broker.load_markets()  # once per session: not part of a rebalance
                start = time.perf_counter()
                report = await manager.execute_rebalance(executor, prices=prices)
                total = time.perf_counter() - start
        finally:
            fake.stop()
    assert report.ok, report.failures
    return total, len(report.fills), spent[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10 symbols, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.symbols, args.repeats = 10, 1
    logging.getLogger("cvxport").setLevel(logging.WARNING)
    prices = universe(args.symbols)
    rows = []
    began = time.perf_counter()
    with threadpool_limits(1), tempfile.TemporaryDirectory() as folder:
        for kind in ("fake exchange", "paper"):
            for disk in (True, False):
                runs = [
                    asyncio.run(one_run("paper" if kind == "paper" else "ccxt", prices, disk,
                                        Path(folder)))
                    for _ in range(args.repeats)
                ]  # fmt: skip
                total = statistics.median(r[0] for r in runs)
                orders = runs[0][1]
                journal = statistics.median(r[2] for r in runs)
                rows.append((f"{kind}, {'disk' if disk else 'memory'} journal", orders, total,
                             journal))  # fmt: skip
    print(f"rebalance of {args.symbols} symbols (median of {args.repeats}), ms")
    print("| contender | orders | total | per order | journal | journal share |")
    print("|---|---|---|---|---|---|")
    for name, orders, total, journal in rows:
        print(f"| {name} | {orders} | {1e3 * total:.1f} | {1e3 * total / orders:.2f} | "
              f"{1e3 * journal:.1f} | {journal / total:.1%} |")  # fmt: skip
    disk_fake, mem_fake = rows[0][2], rows[1][2]
    print(f"disk journal / memory journal on the fake exchange: {disk_fake / mem_fake:.2f}x")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# total {time.perf_counter() - began:.1f} s; {os.cpu_count()} cores, load {load}")


if __name__ == "__main__":
    main()
