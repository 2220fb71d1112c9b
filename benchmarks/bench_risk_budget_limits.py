"""Risk budgeting under a limit on each built-in risk measure: how many limits of a grid solve,
by the default chain (NEWTON_QP: Newton steps as QPs over the rows) and by Clarabel on the
declared exponential-cone form (what the default was before), side by side in one run.

Grid: 3 windows (the bundled 2021 and 2022 daily returns of 11 pairs, 8 synthetic assets x 300
rows), limits least + f (free - least) for f in FRACTIONS (least: the long-only minimum of the
measure, ``MeanRiskAllocator``; free: its value at the unconstrained risk budget), so 18 per
measure, from barely feasible (f = 0.02) to slack (f = 1.2). A case counts as solved when
``allocate`` returns weights meeting the limit within 1e-7 (relative) and, where the limit
binds (f < 1), holding it with equality within 1e-7. Times: median ms per allocate of a fresh
allocator (build and compile included). Then re-solves on rolling windows (250 rows, step 5, of
the synthetic returns extended to 400 rows): median ms per allocate after the first, and the
weights' largest difference from a fresh allocator's on the same window.

Usage: ``python benchmarks/bench_risk_budget_limits.py [--quick]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

import cvxport as cx
from cvxport.data import BUNDLED_SYMBOLS, align_prices, load_bundled_prices
from cvxport.risk import (
    CDaR,
    CVaR,
    MeanAbsoluteDeviation,
    RiskMeasure,
    SemiDeviation,
    StandardDeviation,
    TrackingError,
    Variance,
)

FRACTIONS = (0.02, 0.1, 0.3, 0.6, 0.9, 1.2)
RTOL = 1e-7
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class WorstLoss(RiskMeasure):
    """Largest one-period loss (a user's measure, as in cvxport.risk.base)."""

    def expression(self, ctx):
        import cvxpy as cp

        return cp.max(-(ctx.returns @ ctx.weights)), []

    def value(self, weights, returns, **data):
        return float(np.max(-(np.asarray(returns) @ np.asarray(weights))))

    def __repr__(self) -> str:
        return "WorstLoss()"

    def __hash__(self) -> int:
        return hash("WorstLoss")

    def __eq__(self, other) -> bool:
        return isinstance(other, WorstLoss)


def windows(quick: bool) -> list[tuple[str, pd.DataFrame]]:
    """The grid's return windows."""
    rng = np.random.default_rng(0)
    n, T = 8, 300
    values = rng.normal(0.0005, 0.02, (T, n)) @ np.diag(np.linspace(0.5, 2, n))
    index = pd.date_range("2024-01-01", periods=T)
    synthetic = pd.DataFrame(values, columns=[f"A{i}" for i in range(n)], index=index)
    out = [("synthetic", synthetic)]
    if not quick:
        closes = align_prices(load_bundled_prices(list(BUNDLED_SYMBOLS))).prices
        returns = (closes / closes.shift(1) - 1.0).iloc[1:]
        out += [("2021", returns.loc["2021"]), ("2022", returns.loc["2022"])]
    return out


def measures(assets: pd.Index) -> dict[str, RiskMeasure]:
    """Every built-in convex measure plus a user's one."""
    equal = {a: 1 / len(assets) for a in assets}
    return {
        "variance": Variance(),
        "std": StandardDeviation(),
        "semidev": SemiDeviation(),
        "semidev0": SemiDeviation(0.0),
        "mad": MeanAbsoluteDeviation(),
        "cvar": CVaR(0.95),
        "cdar": CDaR(0.95),
        "worst": WorstLoss(),
        "tracking": TrackingError(benchmark_weights=equal),
    }


def run(quick: bool) -> None:
    solved: dict[tuple[str, str], int] = {}
    times: dict[tuple[str, str], list[float]] = {}
    total: dict[str, int] = {}
    solvers = {"default": None, "clarabel": "CLARABEL"}
    for _, returns in windows(quick):
        free_w = cx.RiskParityAllocator().allocate(returns).to_numpy()
        for name, measure in measures(returns.columns).items():
            least_w = cx.MeanRiskAllocator(measure).allocate(returns).to_numpy()
            free, least = measure.value(free_w, returns), measure.value(least_w, returns)
            for f in FRACTIONS[::2] if quick else FRACTIONS:
                limit = least + f * (free - least)
                total[name] = total.get(name, 0) + 1
                for label, solver in solvers.items():
                    allocator = cx.RiskParityAllocator(
                        constraints=[cx.RiskLimit(measure, limit)], solver=solver
                    )
                    start = time.perf_counter()
                    try:
                        w = allocator.allocate(returns).to_numpy()
                    except cx.CvxportError:
                        continue
                    times.setdefault((name, label), []).append(time.perf_counter() - start)
                    value = measure.value(w, returns)
                    ok = value <= limit * (1 + RTOL) and (f >= 1 or value >= limit * (1 - RTOL))
                    solved[(name, label)] = solved.get((name, label), 0) + ok
    print("solved (of cases) and median ms per allocate: the default chain, CLARABEL named")
    print(f"{'measure':<10} {'cases':>5} {'default':>8} {'CLARABEL':>9} {'ms':>7} {'ms':>7}")
    for name, count in total.items():
        row = [solved.get((name, label), 0) for label in solvers]
        ms = [1e3 * float(np.median(times.get((name, label), [np.nan]))) for label in solvers]
        print(f"{name:<10} {count:>5} {row[0]:>8} {row[1]:>9} {ms[0]:>7.1f} {ms[1]:>7.1f}")


def rolling(quick: bool) -> None:
    """Re-solve timing on rolling windows (warm-started NEWTON_QP vs Clarabel's form)."""
    rng = np.random.default_rng(1)
    n, T = 8, 400
    values = rng.normal(0.0005, 0.02, (T, n)) @ np.diag(np.linspace(0.5, 2, n))
    index = pd.date_range("2024-01-01", periods=T)
    returns = pd.DataFrame(values, columns=[f"A{i}" for i in range(n)], index=index)
    starts = range(0, 150, 30 if quick else 5)
    print("rolling windows: median ms per re-solve, max |w - fresh w| (default chain)")
    for name in ("cvar", "semidev", "mad"):
        measure = measures(returns.columns)[name]
        first = returns.iloc[:250]
        free = measure.value(cx.RiskParityAllocator().allocate(first), first)
        least = measure.value(cx.MeanRiskAllocator(measure).allocate(first), first)
        limit = cx.RiskLimit(measure, least + 0.5 * (free - least))
        row = [name]
        for solver in (None, "CLARABEL"):
            allocator = cx.RiskParityAllocator(constraints=[limit], solver=solver)
            times, gap = [], 0.0
            for start in starts:
                window = returns.iloc[start : start + 250]
                begin = time.perf_counter()
                try:
                    w = allocator.allocate(window).to_numpy()
                except cx.CvxportError:
                    continue
                times.append(time.perf_counter() - begin)
                if solver is None and not quick:
                    fresh = cx.RiskParityAllocator(constraints=[limit]).allocate(window)
                    gap = max(gap, float(np.max(np.abs(w - fresh.to_numpy()))))
            median = 1e3 * float(np.median(times[1:])) if len(times) > 1 else float("nan")
            row.append(f"{solver or 'default'} {median:6.1f} ms ({len(times)}/{len(starts)})")
            if solver is None:
                row.append(f"gap {gap:.1e}")
        print("  ".join(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="synthetic window, 3 limits")
    args = parser.parse_args()
    with threadpool_limits(limits=1):
        run(args.quick)
        rolling(args.quick)


if __name__ == "__main__":
    main()
