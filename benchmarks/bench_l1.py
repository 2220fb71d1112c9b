"""One L1 row: ACTIVE_SET (exact, l1_kernel) against Clarabel and OSQP.

Rows: minimum variance with a turnover limit (long-only, per-asset cap, previous weights =
the last answer of the rolling run) or a gross-exposure limit (long/short bounds), and
maximum Sharpe (Charnes-Cooper) with a turnover limit. Each contender is one allocator
re-solving the same rolling windows with the same previous weights, interleaved window by
window, one BLAS thread for all. Prints median milliseconds per allocate (estimation included,
the same for all), the largest weight gap to Clarabel at ``SOLVER_OPTIONS``, and how many
windows the default chain did not settle by ACTIVE_SET (then Clarabel, timed as it ran).

Usage: ``python benchmarks/bench_l1.py [--sizes 100 500 1000] [--windows 7] [--quick]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import factor_returns, limit_blas_threads, machine, rolling_windows, table, versions

import cvxport as cx
from cvxport.estimation import validate_returns

CONTENDERS = ("ACTIVE_SET", "CLARABEL", "OSQP")


def rows_for(n: int) -> dict:
    """(allocator class, constraints, long_only) of each benchmarked row at n assets."""
    cap = max(0.1, 3.0 / n)
    mv, ms = cx.MinimumVarianceAllocator, cx.MaximumSharpeAllocator
    return {
        "min var, turnover 0.2": (mv, [cx.TurnoverLimit(0.2), cx.WeightBounds(0.0, cap)], True),
        "min var, gross 1.5": (mv, [cx.GrossExposure(1.5), cx.WeightBounds(-cap, cap)], False),
        "max Sharpe, turnover 0.2": (ms, [cx.TurnoverLimit(0.2)], True),
    }


def bench(n: int, count: int) -> list[dict]:
    """One table row per (problem row, n)."""
    window = n + 250  # more rows than assets: a positive definite sample covariance
    windows = rolling_windows(factor_returns(n, window + 5 * count, seed=n), window, count)
    for returns in windows:  # pandas caches per frame on first use: not any contender's cost
        validate_returns(returns)
    out = []
    for name, (method, constraints, long_only) in rows_for(n).items():
        allocators = {
            c: method(
                constraints=constraints,
                long_only=long_only,
                solver=None if c == "ACTIVE_SET" else c,
            )
            for c in CONTENDERS
        }
        times = {c: [] for c in CONTENDERS}
        gap = {c: 0.0 for c in CONTENDERS}
        previous = np.full(n, 1.0 / n)
        fallbacks = 0
        for k, returns in enumerate(windows):
            answers = {}
            for c in CONTENDERS[k % 3 :] + CONTENDERS[: k % 3]:  # each one first in turn
                start = time.perf_counter()
                answers[c] = allocators[c].allocate(returns, previous_weights=previous).to_numpy()
                times[c].append(time.perf_counter() - start)
                if c == "ACTIVE_SET" and allocators[c].info_.solver != "ACTIVE_SET":
                    fallbacks += 1  # the default chain went on to Clarabel (timed as it ran)
            for c in CONTENDERS:
                gap[c] = max(gap[c], float(np.abs(answers[c] - answers["CLARABEL"]).max()))
            previous = answers["ACTIVE_SET"]
        row = {"row": name, "n": n}
        for c in CONTENDERS:
            row[f"{c} ms"] = 1e3 * float(np.median(times[c]))
        row["CLARABEL/AS"] = row["CLARABEL ms"] / row["ACTIVE_SET ms"]
        row["OSQP/AS"] = row["OSQP ms"] / row["ACTIVE_SET ms"]
        row["gap AS"] = gap["ACTIVE_SET"]
        row["gap OSQP"] = gap["OSQP"]
        row["AS fallbacks"] = fallbacks
        out.append(row)
        print(table([row], COLUMNS).splitlines()[-1] if out else table([row], COLUMNS), flush=True)
    return out


COLUMNS = [
    ("row", "s"),
    ("n", "d"),
    ("ACTIVE_SET ms", ".2f"),
    ("CLARABEL ms", ".1f"),
    ("OSQP ms", ".1f"),
    ("CLARABEL/AS", ".1f"),
    ("OSQP/AS", ".1f"),
    ("gap AS", ".1e"),
    ("gap OSQP", ".1e"),
    ("AS fallbacks", "d"),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--windows", type=int, default=7, help="rolling windows per size")
    parser.add_argument("--quick", action="store_true", help="sizes 20 50, 3 windows (CI smoke)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.windows = [20, 50], 3
    limit_blas_threads(1)
    print(f"# {machine()}\n# {versions()}\n# one BLAS thread; medians over {args.windows} windows")
    rows = []
    for n in args.sizes:
        rows += bench(n, args.windows)
    print()
    print(table(rows, COLUMNS))


if __name__ == "__main__":
    main()
