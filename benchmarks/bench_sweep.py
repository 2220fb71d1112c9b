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
busy shared machine it shows whether the parallel runs cost more CPU per backtest.

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


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and every live descendant (the workers)."""
    import psutil  # a dependency of dask.distributed

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a worker that just exited
            total += sum(child.cpu_times()[:2])
    return total


def timed(label: str, results: dict, cpu: dict, fn) -> pd.DataFrame:
    """Call ``fn``; add its wall and CPU time to ``results`` and ``cpu``; return its table."""
    start, start_cpu = time.perf_counter(), cpu_seconds()
    table = fn()
    results[label] += time.perf_counter() - start
    cpu[label] += cpu_seconds() - start_cpu
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
        seconds, cpu = dict.fromkeys(contenders, 0.0), dict.fromkeys(contenders, 0.0)
        rounds = 2 if args.quick else 6
        for r in range(rounds):
            part = grid[r::rounds]
            names = list(contenders)[r % 3 :] + list(contenders)[: r % 3]
            tables = {name: timed(name, seconds, cpu, lambda o=contenders[name], p=part: run_sweep(
                base, p, data, **o, **common_args)) for name in names}  # fmt: skip
            for name in ("joblib", "dask"):
                pd.testing.assert_frame_equal(tables[name], tables["serial"], check_exact=True)
    total = time.perf_counter() - started
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"tables identical across backends in every round (bit for bit); {total:.0f} s in all")
    print(f"load average at the end (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    print(f"worker start-up (off the clock): joblib {joblib_start:.1f} s, "
          f"Dask LocalCluster {dask_start:.1f} s")  # fmt: skip
    print(f"{'backend':<10}{'seconds':>10}{'backtests/s':>14}{'speed-up':>10}{'efficiency':>12}"
          f"{'CPU ms/run':>12}{'CPU-bound':>11}")  # fmt: skip
    for name, wall in seconds.items():
        speedup = seconds["serial"] / wall
        used = 1 if name == "serial" else workers
        # on an otherwise idle machine: workers x (serial CPU per run / this CPU per run)
        bound = used * cpu["serial"] / cpu[name]
        print(f"{name:<10}{wall:>10.1f}{n / wall:>14.2f}{speedup:>9.2f}x{speedup / used:>11.0%}"
              f"{1000 * cpu[name] / n:>12.0f}{bound:>10.2f}x")  # fmt: skip
    print("speed-up and efficiency: wall clock against serial in the same run (efficiency =")
    print("speed-up / workers); CPU-bound: the speed-up the CPU spent per backtest allows when")
    print("the cores are free (workers x serial CPU per run / this backend's CPU per run).")


if __name__ == "__main__":
    main()
