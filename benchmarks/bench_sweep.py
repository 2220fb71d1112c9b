"""Sweep throughput: the same >= 500 backtests serially, over joblib processes and on a
two-worker Dask LocalCluster; backtests per second, speed-up and parallel efficiency.

The runs: 11 universes (three consecutive bundled pairs each, cycling over the 11 USDT pairs)
x every allocation method x 6 lookbacks, monthly rebalancing, bundled daily data from
2021-07-01 (point-in-time market caps), 10 bps costs, bounds 5%-60%. Every contender runs
with one BLAS thread (env vars set before numpy loads, inherited by every worker process,
and threadpoolctl inside each backtest). Workers are started and warmed up (cvxport
imported) before the clock starts, as is one serial warm-up; start-up times are printed
apart. The sweep runs in rounds (interleaved slices of the grid, each backend in turn, the
order rotating) so that a shared machine's changing load falls on every contender alike;
each round's tables are checked identical across backends, bit for bit. Besides wall time,
the CPU time of this process and its worker processes (psutil) is summed per backend: on a
busy shared machine it shows whether the parallel runs cost more CPU per backtest. And the
wall time of the processes that ran the backtests is split (Linux /proc schedstat of each
one's busiest thread) into running, waiting for a CPU (other processes held the cores) and
idle (the backend had no backtest for it: start, hand-over between tasks, the tail): the
idle share is the backend's own loss, the waiting share the machine's.

Usage: ``python benchmarks/bench_sweep.py [--quick] [--workers 2]``; ``--quick`` (the CI
smoke run) sweeps 8 backtests over one year.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy: one BLAS thread here and in every worker

import argparse  # noqa: E402
import contextlib  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402, F401  (puts the repository on sys.path if needed)

from cvxport import AllocationMethod, PortfolioConfig, load_bundled_prices  # noqa: E402
from cvxport.data import BUNDLED_SYMBOLS, load_bundled_market_caps_history  # noqa: E402
from cvxport.research import run_sweep  # noqa: E402

LOOKBACKS = (30, 60, 90, 120, 180, 250)
BUDGET = (0.5, 0.3, 0.2)  # risk budgeting: shares of risk of the universe's three pairs


def make_grid(n_universes: int, methods: list[str], lookbacks: tuple[int, ...]) -> list[dict]:
    """One dict per run: universe x method x lookback (risk budgeting gets its budget)."""
    symbols = list(BUNDLED_SYMBOLS)
    runs = []
    for i in range(n_universes):
        universe = [symbols[(i + k) % len(symbols)] for k in range(3)]
        for method in methods:
            for lookback in lookbacks:
                run = {"symbols": universe, "allocation_method": method, "lookback": lookback}
                if method == AllocationMethod.RISK_BUDGETING.value:
                    run["risk_budget"] = dict(zip(universe, BUDGET, strict=True))
                runs.append(run)
    return runs


def snapshot() -> dict[int, tuple[float, dict[str, tuple[int, int]]]]:
    """Per process (this one and every live descendant): its CPU seconds (user + system) and,
    per thread, the kernel's (running, waiting for a CPU) nanoseconds (/proc/.../schedstat;
    none where /proc has no such file)."""
    import psutil  # a dependency of dask.distributed

    me = psutil.Process()
    out = {}
    for proc in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a process that just exited
            threads = {}
            for stat in Path(f"/proc/{proc.pid}/task").glob("*/schedstat"):
                with contextlib.suppress(OSError, ValueError):
                    run, wait = stat.read_text().split()[:2]
                    threads[stat.parent.name] = (int(run), int(wait))
            out[proc.pid] = (sum(proc.cpu_times()[:2]), threads)
    return out


class Meter:
    """Wall and CPU time per backend, and how its busy processes spent the wall time."""

    def __init__(self, names: list[str]) -> None:
        self.wall, self.span, self.cpu, self.parent, self.run, self.wait = (
            dict.fromkeys(names, 0.0) for _ in range(6)
        )

    def timed(self, name: str, used: int, fn) -> pd.DataFrame:
        """Call ``fn``; add its wall time, the CPU of all processes and of this one, and the
        running and waiting seconds of the busiest thread of the ``used`` busiest processes
        (the ones that ran the backtests); return its table."""
        first = time.perf_counter()
        before, start = snapshot(), time.perf_counter()
        table = fn()
        self.wall[name] += time.perf_counter() - start
        after = snapshot()
        self.span[name] += time.perf_counter() - first  # the interval the snapshots cover
        busiest = []
        for pid, (cpu, threads) in after.items():
            cpu0, threads0 = before.get(pid, (0.0, {}))
            self.cpu[name] += cpu - cpu0
            if pid == os.getpid():
                self.parent[name] += cpu - cpu0
            deltas = [(run - threads0.get(tid, (0, 0))[0], wait - threads0.get(tid, (0, 0))[1])
                      for tid, (run, wait) in threads.items()]  # fmt: skip
            busiest.append(max(deltas, default=(0, 0)))
        for run, wait in sorted(busiest, reverse=True)[:used]:
            self.run[name] += run / 1e9
            self.wait[name] += wait / 1e9
        return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run: 8 backtests")
    parser.add_argument("--workers", type=int, default=2, help="joblib processes / Dask workers")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    methods = [m.value for m in AllocationMethod]
    if args.quick:
        grid = make_grid(2, ["equal_weight", "minimum_variance"], (30, 60))
        data = load_bundled_prices(start="2021-07-01", end="2022-06-30")
    else:
        grid = make_grid(len(BUNDLED_SYMBOLS), methods, LOOKBACKS)
        data = load_bundled_prices(start="2021-07-01")
    caps = load_bundled_market_caps_history()
    base = PortfolioConfig(
        symbols=grid[0]["symbols"], rebalance_frequency="monthly", transaction_cost=0.001,
        min_position_weight=0.05, max_position_weight=0.6,
    )  # fmt: skip
    common_args = {"market_caps": caps, "progress": False}
    n, workers = len(grid), args.workers
    print(f"sweep of {n} backtests, {len(data)} symbols x {len(data['BTC/USDT'])} daily bars, "
          f"{workers} workers, one BLAS thread each; machine: {os.cpu_count()} cores")  # fmt: skip

    from dask.distributed import Client, LocalCluster

    started = time.perf_counter()
    run_sweep(base, grid[:workers], data, **common_args)  # warm-up: imports, caches
    begin = time.perf_counter()  # joblib: start and warm the loky workers off the clock
    run_sweep(base, grid[:workers], data, backend="joblib", n_jobs=workers, **common_args)
    joblib_start = time.perf_counter() - begin
    begin = time.perf_counter()
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        run_sweep(base, grid[:workers], data, backend="dask", client=client, **common_args)
        dask_start = time.perf_counter() - begin
        contenders = {
            "serial": {},
            "joblib": {"backend": "joblib", "n_jobs": workers},
            "dask": {"backend": "dask", "client": client},
        }
        # rounds of interleaved slices, the order rotating: a shared machine's load changes
        # over minutes, and every contender then sees about the same load
        meter = Meter(list(contenders))
        rounds = 2 if args.quick else 6
        for r in range(rounds):
            part = grid[r::rounds]
            names = list(contenders)[r % 3 :] + list(contenders)[: r % 3]
            tables = {name: meter.timed(name, 1 if name == "serial" else workers,
                lambda o=contenders[name], p=part: run_sweep(base, p, data, **o, **common_args))
                for name in names}  # fmt: skip
            for name in ("joblib", "dask"):
                pd.testing.assert_frame_equal(tables[name], tables["serial"], check_exact=True)
    total = time.perf_counter() - started
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"tables identical across backends in every round (bit for bit); {total:.0f} s in all")
    print(f"load average at the end (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    print(f"worker start-up (off the clock): joblib {joblib_start:.1f} s, "
          f"Dask LocalCluster {dask_start:.1f} s")  # fmt: skip
    seconds, cpu = meter.wall, meter.cpu
    print(f"{'backend':<8}{'seconds':>9}{'backtests/s':>13}{'speed-up':>10}{'efficiency':>12}"
          f"{'CPU ms/run':>12}{'in parent':>11}{'CPU-bound':>11}")  # fmt: skip
    for name, wall in seconds.items():
        speedup = seconds["serial"] / wall
        used = 1 if name == "serial" else workers
        # on an otherwise idle machine: workers x (serial CPU per run / this CPU per run)
        bound = used * cpu["serial"] / cpu[name]
        print(f"{name:<8}{wall:>9.1f}{n / wall:>13.2f}{speedup:>9.2f}x{speedup / used:>11.0%}"
              f"{1000 * cpu[name] / n:>12.0f}{1000 * meter.parent[name] / n:>11.0f}"
              f"{bound:>10.2f}x")  # fmt: skip
    print("speed-up and efficiency: wall clock against serial in the same run (efficiency =")
    print("speed-up / workers); CPU ms/run: all processes (in parent: this one, the caller, and")
    print("for Dask the LocalCluster's scheduler); CPU-bound: the speed-up the CPU spent per")
    print("backtest allows when the cores are free (workers x serial CPU/run / this CPU/run).")
    if any(meter.run.values()):
        print(f"\nwhere the backtesting processes' wall time went (serial: 1, others: {workers}; "
              "the busiest thread of each; /proc schedstat)")  # fmt: skip
        print(f"{'backend':<8}{'running':>10}{'waiting for a CPU':>19}{'idle':>8}")
        for name in seconds:
            span = meter.span[name] * (1 if name == "serial" else workers)
            run, wait = meter.run[name] / span, meter.wait[name] / span
            print(f"{name:<8}{run:>10.0%}{wait:>19.0%}{1 - run - wait:>8.0%}")
        print("idle: the backend left the process without a backtest to run (start, hand-over")
        print("between tasks, the last tasks' tail); waiting: other processes held the cores.")


if __name__ == "__main__":
    main()
