"""Maximum Sharpe + caps + a group limit + a turnover limit, re-solved as a backtest does.

The previous weights of each window are the last window's answer (what a rebalance holds),
unlike ``bench_composed.py`` row 9, whose seeded previous weights are unrelated from window
to window. Contenders, interleaved window by window (each one first in turn), one BLAS thread
for all: cvxport's default chain (ACTIVE_SET: ``l1_sharpe`` over the scale-1 L1 QP), cvxport
with ``solver="CLARABEL"`` named, PyPortfolioOpt's ``max_sharpe`` and skfolio's
``MeanRisk(MAXIMIZE_RATIO)`` with the turnover limit written homogeneous in sum(w)
(``composed_peers.turnover_row``; Riskfolio-Lib cannot state a turnover sum). Prints median
milliseconds per window (estimation included; the first window, where the allocator is built,
is left out), the fastest peer over the default chain, the largest weight gap to cvxport +
Clarabel at ``SOLVER_OPTIONS``, how many windows the default chain handed to Clarabel, and
how many peer solves failed (their windows untimed).

Usage: ``python benchmarks/bench_sharpe_turnover.py [--sizes 100 500 1000] [--windows 6]
[--quick]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from common import factor_returns, limit_blas_threads, machine, rolling_windows, table, versions
from composed_cvxport import MAKERS
from composed_peers import peer_functions
from composed_problems import Window, make_setup

from cvxport.estimation import validate_returns

KEY = "sharpe_turnover"  # bench_composed's row: bounds [0, 0.1], group <= 0.15, turnover 0.5


def bench(n: int, count: int) -> dict:
    """One table row at n assets over ``count`` rolling windows."""
    length = max(2 * n, 500)
    history = factor_returns(n, length + 5 * count, seed=n)
    windows = rolling_windows(history, length, count)
    for returns in windows:  # pandas caches per frame on first use: not any contender's cost
        validate_returns(returns)
    setup = make_setup(history)
    default, clarabel = MAKERS[KEY](setup, None), MAKERS[KEY](setup, "CLARABEL")
    peers, _ = peer_functions(("pypfopt", "skfolio"))
    contenders = {
        "cvxport": lambda d: default.allocate(d.returns, **_previous(setup, d)).to_numpy(),
        "CLARABEL": lambda d: clarabel.allocate(d.returns, **_previous(setup, d)).to_numpy(),
    }
    for peer, functions in peers.items():
        contenders[peer] = lambda d, fn=functions[KEY]: fn(setup, d)
    names = list(contenders)
    times = {c: [] for c in names}
    gap = dict.fromkeys(names, 0.0)
    previous = np.full(n, 1.0 / n)
    fallbacks, failed = 0, dict.fromkeys(names, 0)
    for k, returns in enumerate(windows):
        window = Window(returns, previous)
        answers = {}
        for c in names[k % len(names) :] + names[: k % len(names)]:
            start = time.perf_counter()
            try:
                answers[c] = contenders[c](window)
            except Exception as exc:  # a peer's solver failing: counted, not timed
                if c in ("cvxport", "CLARABEL"):
                    raise
                failed[c] += 1
                print(f"  n={n} window {k}: {c} failed: {type(exc).__name__}", flush=True)
                continue
            if k:
                times[c].append(time.perf_counter() - start)
        if default.info_.solver != "ACTIVE_SET":
            fallbacks += 1
        for c in answers:
            gap[c] = max(gap[c], float(np.abs(answers[c] - answers["CLARABEL"]).max()))
        previous = answers["cvxport"]
    row = {"n": n} | {f"{c} ms": _median_ms(times[c]) for c in names}
    fastest = min(
        (c for c in names if c in peers and np.isfinite(row[f"{c} ms"])),
        key=lambda c: row[f"{c} ms"],
        default=None,
    )
    if fastest is not None:
        row["peer/cvxport"] = row[f"{fastest} ms"] / row["cvxport ms"]
        row["fastest peer"] = fastest
    row["CLARABEL/cvxport"] = row["CLARABEL ms"] / row["cvxport ms"]
    row |= {f"gap {c}": gap[c] for c in names if c != "CLARABEL"}
    row["fallbacks"] = fallbacks
    row["peer failures"] = sum(failed.values())
    print(table([row], columns(names)), flush=True)
    return row


def _median_ms(seconds: list[float]) -> float:
    """Median in milliseconds; NaN when every timed window failed."""
    return 1e3 * float(np.median(seconds)) if seconds else float("nan")


def _previous(setup, d: Window) -> dict:
    return {"previous_weights": pd.Series(d.previous, index=setup.assets)}


def columns(names: list[str]) -> list[tuple[str, str]]:
    """The table's columns for the contenders ``names``."""
    out = [("n", "d")] + [(f"{c} ms", ".1f") for c in names]
    out += [("fastest peer", "s"), ("peer/cvxport", ".1f"), ("CLARABEL/cvxport", ".1f")]
    out += [(f"gap {c}", ".1e") for c in names if c != "CLARABEL"]
    return [*out, ("fallbacks", "d"), ("peer failures", "d")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--windows", type=int, default=6, help="rolling windows per size")
    parser.add_argument("--quick", action="store_true", help="sizes 20 50, 3 windows (CI smoke)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.windows = [20, 50], 3
    limit_blas_threads(1)
    print(
        f"# {machine()}\n# {versions()}\n# one BLAS thread; medians over windows 2..{args.windows}"
    )
    rows = [bench(n, args.windows) for n in args.sizes]
    print()
    names = [c[: -len(" ms")] for c in rows[0] if c.endswith(" ms")]
    print(table(rows, columns(names)))


if __name__ == "__main__":
    main()
