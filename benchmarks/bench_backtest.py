"""Time a monthly minimum-variance backtest: cvxport against two rebuild-every-month loops.

Setup (the issue's): long-only minimum variance, sample covariance (ddof=1) of the last 252
returns, rebalanced on the first bar of every month, 10 bps of traded notional, costs paid from
the portfolio. Two datasets:

- ``bundled``: the 11 bundled Binance pairs, daily closes 2020-09-22 .. 2026-01-05;
- ``synthetic``: 100 assets x 2,520 business days from a seeded factor model.

Contenders, each a whole backtest (same bars, same rebalance dates, same cost model):

- ``cvxport``: ``PortfolioManager.backtest`` with its defaults (no solver named: long-only
  minimum variance takes the exact active-set solve, warm-started from the last month's
  active sets; the alignment, the result object and the metrics included);
- ``cvxport-cvxpy``: the same with ``solver='CLARABEL'`` named, which solves the cvxpy
  problem (built once, re-solved every month) at every rebalance;
- ``plain``: a numpy loop that builds a fresh cvxpy problem every month and solves it with
  Clarabel at cvxport's tolerances (the covariance scaled to unit average variance);
- ``pypfopt``: the same loop calling ``risk_models.sample_cov`` and
  ``EfficientFrontier.min_volatility``, when PyPortfolioOpt is installed (the ``bench``
  extra): ``pypfopt`` with its defaults (cvxpy picks OSQP), ``pypfopt-tight`` with Clarabel at
  cvxport's tolerances.

It prints milliseconds per rebalance (whole backtest time / rebalances), the ratios, and how
far each loop's weights are from cvxport's. Then it profiles cvxport's backtest with cProfile
and splits the time per rebalance into estimation, PSD clip, parameter update, cvxpy
canonicalization, solver and bookkeeping. Times depend on the machine: read the ratios.

Usage: ``python benchmarks/bench_backtest.py [--quick] [--repeats 3] [--blas-threads 1]``.
``--quick`` (the CI smoke run, well under a minute) shortens the synthetic set to 40 assets x
756 bars and times each contender once.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
try:
    import cvxport  # noqa: F401
except ImportError:  # a checkout without ``pip install -e .``
    sys.path.insert(0, str(REPO))

import cvxpy as cp  # noqa: E402
from common import table  # noqa: E402  (benchmarks/ is the script's folder)

from cvxport import (  # noqa: E402
    AllocationMethod,
    PortfolioConfig,
    PortfolioManager,
    align_prices,
    load_bundled_prices,
)
from cvxport.solvers import SOLVER_OPTIONS  # noqa: E402

warnings.filterwarnings("ignore", message=".*not DPP.*")
warnings.filterwarnings("ignore", message=".*may be inaccurate.*")

LOOKBACK = 252
COST = 0.001  # 10 bps of traded notional
CAPITAL = 1_000_000.0
CLARABEL = SOLVER_OPTIONS["CLARABEL"]

WeightsFn = Callable[[np.ndarray, list[str], int], np.ndarray]


# --- data ------------------------------------------------------------------------------------
def bundled_prices() -> pd.DataFrame:
    """(1932, 11) daily closes of the bundled pairs, USDT."""
    return align_prices(load_bundled_prices()).prices


def synthetic_prices(n_assets: int, n_bars: int, seed: int = 0) -> pd.DataFrame:
    """Closes from a seeded factor model: a market and k sector factors plus specific noise,
    daily volatility about 1-3%, on a business-day index (252 periods a year)."""
    rng = np.random.default_rng(seed)
    k = min(10, max(2, n_assets // 20))
    factors = rng.standard_normal((n_bars, k + 1)) * np.r_[0.010, np.full(k, 0.006)]
    loadings = np.c_[rng.normal(1.0, 0.3, n_assets), rng.normal(0.0, 0.7, (n_assets, k))]
    specific = rng.uniform(0.008, 0.022, n_assets)
    drift = rng.uniform(0.0002, 0.0008, n_assets)
    returns = drift + factors @ loadings.T + rng.standard_normal((n_bars, n_assets)) * specific
    returns[0] = 0.0
    index = pd.bdate_range("2015-01-01", periods=n_bars, name="timestamp")
    columns = [f"A{i:03d}" for i in range(n_assets)]
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0), index=index, columns=columns)


# --- the contenders --------------------------------------------------------------------------
def cvxport_backtest_config(prices: pd.DataFrame, solver: str | None = None) -> PortfolioConfig:
    """Monthly long-only minimum variance, 252-bar lookback, 10 bps (default solver path)."""
    return PortfolioConfig(
        initial_capital=CAPITAL,
        symbols=list(prices.columns),
        allocation_method=AllocationMethod.MINIMUM_VARIANCE,
        rebalance_frequency="monthly",
        transaction_cost=COST,
        lookback=LOOKBACK,
        solver=solver,
    )


def cvxport_backtest(prices: pd.DataFrame, solver: str | None = None):
    """Run cvxport's manager; return its PortfolioResult."""
    config = cvxport_backtest_config(prices, solver)
    return PortfolioManager(config).backtest(prices, progress=False)


def plain_weights(window: np.ndarray, symbols: list[str], ppy: int) -> np.ndarray:
    """A fresh cvxpy problem: min w' S w, sum(w) = 1, w >= 0 (S scaled to unit variance)."""
    S = np.cov(window, rowvar=False, ddof=1)
    S /= np.mean(np.diag(S))
    w = cp.Variable(window.shape[1])
    problem = cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(S))), [cp.sum(w) == 1, w >= 0])
    problem.solve(solver="CLARABEL", **CLARABEL)
    return np.asarray(w.value)


def pypfopt_weights(window: np.ndarray, symbols: list[str], ppy: int) -> np.ndarray:
    """PyPortfolioOpt as documented: sample_cov, then EfficientFrontier.min_volatility with
    its defaults (cvxpy picks the solver: OSQP at its default tolerances)."""
    from pypfopt import EfficientFrontier, risk_models

    returns = pd.DataFrame(window, columns=symbols)
    S = risk_models.sample_cov(returns, returns_data=True, frequency=ppy)
    weights = EfficientFrontier(None, S).min_volatility()
    return np.array([weights[s] for s in symbols])


def pypfopt_tight_weights(window: np.ndarray, symbols: list[str], ppy: int) -> np.ndarray:
    """PyPortfolioOpt with Clarabel at cvxport's tolerances (same accuracy as cvxport)."""
    from pypfopt import EfficientFrontier, risk_models

    returns = pd.DataFrame(window, columns=symbols)
    S = risk_models.sample_cov(returns, returns_data=True, frequency=ppy)
    frontier = EfficientFrontier(None, S, solver="CLARABEL", solver_options=dict(CLARABEL))
    weights = frontier.min_volatility()
    return np.array([weights[s] for s in symbols])


def loop_backtest(prices: pd.DataFrame, weights_fn: WeightsFn, ppy: int) -> dict:
    """The engine's timing and accounting in plain numpy: all cash at bar LOOKBACK - 1, the
    target at bar t from the LOOKBACK returns up to t, trades at t's close, post-cost sizing."""
    values = prices.to_numpy(dtype=float)
    returns = values[1:] / values[:-1] - 1.0  # returns[k]: from bar k to bar k + 1
    months = prices.index.to_period("M")
    symbols = list(prices.columns)
    start = LOOKBACK - 1
    units, cash = np.zeros(values.shape[1]), CAPITAL
    equity, targets, dates = [cash], [], []
    for bar in range(start + 1, len(values)):
        price = values[bar]
        if bar == start + 1 or months[bar] != months[bar - 1]:
            target = weights_fn(returns[bar - LOOKBACK : bar], symbols, ppy)
            held = units * price
            value = cash + held.sum()
            after = value
            for _ in range(100):  # E' = E - rate * sum|w E' - h|, a contraction
                updated = value - COST * np.abs(target * after - held).sum()
                if abs(updated - after) <= 1e-13 * value:
                    break
                after = updated
            new_units = target * updated / price
            delta = new_units - units
            cash -= delta @ price + COST * (np.abs(delta) @ price)
            units = new_units
            targets.append(target)
            dates.append(prices.index[bar])
        equity.append(cash + units @ price)
    return {"equity": np.array(equity), "targets": np.array(targets), "dates": dates}


# --- timing ----------------------------------------------------------------------------------
def best_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Fastest of ``repeats`` calls (seconds) and the last result."""
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def compare(name: str, prices: pd.DataFrame, repeats: int, peers: bool) -> dict:
    """Time the three contenders on ``prices``; return one table row."""
    ppy = 365 if (prices.index.day_of_week >= 5).any() else 252
    seconds, result = best_time(lambda: cvxport_backtest(prices), repeats)
    n = len(result.rebalance_dates)
    reference = result.allocation_history.to_numpy()
    row = {
        "dataset": name,
        "assets": prices.shape[1],
        "bars": len(prices),
        "rebalances": n,
        "cvxport": 1e3 * seconds / n,
    }
    seconds, named = best_time(lambda: cvxport_backtest(prices, "CLARABEL"), repeats)
    row["cvxport-cvxpy"] = 1e3 * seconds / n
    row["cvxport-cvxpy/cvxport"] = row["cvxport-cvxpy"] / row["cvxport"]
    row["dw cvxport-cvxpy"] = float(np.max(np.abs(named.allocation_history.to_numpy() - reference)))
    contenders = [("plain", plain_weights)]
    if peers and pypfopt_installed():
        contenders += [("pypfopt", pypfopt_weights), ("pypfopt-tight", pypfopt_tight_weights)]
    for label, fn in contenders:
        seconds, run = best_time(lambda fn=fn: loop_backtest(prices, fn, ppy), repeats)
        assert run["dates"] == result.rebalance_dates, f"{label}: rebalance dates differ"
        row[label] = 1e3 * seconds / n
        row[f"{label}/cvxport"] = row[label] / row["cvxport"]
        row[f"dw {label}"] = float(np.max(np.abs(run["targets"] - reference)))
        row[f"dE {label}"] = abs(run["equity"][-1] / result.equity_curve.iloc[-1] - 1)
    return row


def pypfopt_installed() -> bool:
    try:
        import pypfopt  # noqa: F401
    except ImportError:
        return False
    return True


# --- profile ---------------------------------------------------------------------------------
# (label, module path fragment, function name): cumulative time of the first match.
_PROFILE_POINTS = {
    "backtest": ("cvxport/manager.py", "backtest"),
    "engine": ("cvxport/backtest/engine.py", "run_backtest"),
    "allocate": ("cvxport/allocators/base.py", "allocate"),
    "validate": ("cvxport/estimation/validation.py", "validate_returns"),
    "estimate": ("cvxport/allocators/risk_model.py", "estimate_covariance"),
    "psd": ("cvxport/estimation/psd.py", "clip_to_psd"),
    "scale": ("cvxport/estimation/psd.py", "unit_scaled"),
    "problem_solve": ("cvxport/problem.py", "solve"),
    "cvxpy_solve": ("cvxpy/problems/problem.py", "_solve"),
    "canonicalize": ("cvxpy/problems/problem.py", "get_problem_data"),
    "solver": ("cvxpy/reductions/solvers/conic_solvers/clarabel_conif.py", "solve_via_data"),
    "active_set": ("cvxport/solvers/active_set.py", "bounded_min_variance"),
    "unpack": ("cvxpy/problems/problem.py", "unpack_results"),
    "solve_fallback": ("cvxport/solvers.py", "solve_with_fallback"),
    "clarabel_core": ("~", "<method 'solve' of 'builtins.DefaultSolver' objects>"),
}


def _cumulative(stats: pstats.Stats) -> dict[str, float]:
    found: dict[str, float] = {}
    for (path, _, func), (_, _, _, cumulative, _) in stats.stats.items():
        for label, (fragment, name) in _PROFILE_POINTS.items():
            if func == name and fragment in path.replace("\\", "/") and label not in found:
                found[label] = cumulative
    return found


class SplitTimingManager(PortfolioManager):
    """A manager whose allocator records, per call, its wall time and the solve info."""

    def make_allocator(self):
        allocator = super().make_allocator()
        inner, split = allocator.allocate, self.split

        def allocate(*args, **kwargs):
            start = time.perf_counter()
            out = inner(*args, **kwargs)
            split["allocate"] += time.perf_counter() - start
            info = allocator.info_
            split["problem"] += info.total_time  # parameter update + cvxpy + solver
            split["solver"] += info.solve_time  # as the solver reports it
            return out

        allocator.allocate = allocate
        return allocator


def wall_clock_split(prices: pd.DataFrame, repeats: int) -> None:
    """The same split without a profiler (cProfile inflates Python-heavy parts): wall time
    of the allocator's calls, of its problem solves and of the solver itself."""
    best = None
    for _ in range(repeats):
        manager = SplitTimingManager(cvxport_backtest_config(prices))
        manager.split = dict.fromkeys(("allocate", "problem", "solver"), 0.0)
        start = time.perf_counter()
        result = manager.backtest(prices, progress=False)
        manager.split["total"] = time.perf_counter() - start
        if best is None or manager.split["total"] < best[0]["total"]:
            best = (manager.split, len(result.rebalance_dates))
    split, n = best
    parts = [
        ("solve (info_.solve_time: the active set)", split["solver"]),
        ("cvxpy: parameters, canonicalization, unpack", split["problem"] - split["solver"]),
        ("estimation + allocator checks", split["allocate"] - split["problem"]),
        ("engine loop, alignment, result, metrics", split["total"] - split["allocate"]),
        ("total", split["total"]),
    ]
    print(f"\n## Wall-clock split (no profiler), {prices.shape[1]} assets, {n} rebalances\n")
    rows = [
        {
            "part": label,
            "ms/rebalance": 1e3 * seconds / n,
            "share %": 100 * seconds / split["total"],
        }
        for label, seconds in parts
    ]
    print(table(rows, [("part", "s"), ("ms/rebalance", ".3f"), ("share %", ".1f")]))


def profile(prices: pd.DataFrame, top: int) -> None:
    """cProfile cvxport's backtest and split its time per rebalance."""
    cvxport_backtest(prices)  # warm caches (imports, bundled data) outside the profile
    profiler = cProfile.Profile()
    profiler.enable()
    result = cvxport_backtest(prices)
    profiler.disable()
    n = len(result.rebalance_dates)
    stats = pstats.Stats(profiler)
    t = _cumulative(stats)
    get = t.get
    solver = get("solver", 0.0)
    parts = [
        ("estimation (validate, covariance, scale)",
         get("validate", 0) + get("estimate", 0) - get("psd", 0) + get("scale", 0)),
        ("PSD clip (Cholesky / eigh)", get("psd", 0)),
        ("parameter update (+ constraint values)",
         get("problem_solve", 0) - get("solve_fallback", 0)),
        ("cvxpy canonicalization (get_problem_data)", get("canonicalize", 0)),
        ("active-set solve (the default path)", get("active_set", 0)),
        ("solver (Clarabel: setup + solve, cvxpy path)", solver),
        ("  of which Clarabel's solve() itself", get("clarabel_core", 0)),
        ("cvxpy unpack + Problem.solve overhead",
         get("solve_fallback", 0) - get("canonicalize", 0) - solver),
        ("allocator overhead (checks, pandas, Series)",
         get("allocate", 0) - get("validate", 0) - get("estimate", 0) - get("scale", 0)
         - get("problem_solve", 0) - get("active_set", 0)),
        ("engine bookkeeping (bars, policy, trades)", get("engine", 0) - get("allocate", 0)),
        ("manager: alignment, result, metrics", get("backtest", 0) - get("engine", 0)),
    ]  # fmt: skip
    total = get("backtest", 0.0)
    print(
        f"\n## Profile: cvxport backtest, {prices.shape[1]} assets x {len(prices)} bars, "
        f"{n} rebalances, {1e3 * total:.0f} ms under cProfile (which inflates Python-heavy "
        "parts)\n"
    )
    rows = [
        {"part": label, "ms/rebalance": 1e3 * seconds / n, "share %": 100 * seconds / total}
        for label, seconds in parts
    ]
    print(table(rows, [("part", "s"), ("ms/rebalance", ".3f"), ("share %", ".1f")]))
    print(f"\nTop {top} functions by own time:")
    stats.sort_stats("tottime").print_stats(top)


# --- output ----------------------------------------------------------------------------------
def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"python {sys.version.split()[0]}"]
    for name in ("cvxpy", "clarabel", "numpy", "pandas", "PyPortfolioOpt"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} absent")
    return ", ".join(parts)


TIME_COLUMNS = [
    ("dataset", "s"), ("assets", "d"), ("bars", "d"), ("rebalances", "d"),
    ("cvxport", ".2f"), ("cvxport-cvxpy", ".2f"), ("plain", ".2f"), ("pypfopt", ".2f"),
    ("pypfopt-tight", ".2f"), ("cvxport-cvxpy/cvxport", ".1f"), ("plain/cvxport", ".1f"),
    ("pypfopt/cvxport", ".1f"), ("pypfopt-tight/cvxport", ".1f"),
]  # fmt: skip
ACCURACY_COLUMNS = [
    ("dataset", "s"), ("dw cvxport-cvxpy", ".1e"),
    ("dw plain", ".1e"), ("dw pypfopt", ".1e"), ("dw pypfopt-tight", ".1e"),
    ("dE plain", ".1e"), ("dE pypfopt", ".1e"), ("dE pypfopt-tight", ".1e"),
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run (< 60 s)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs, best kept")
    parser.add_argument("--blas-threads", type=int, default=1, help="0: library default")
    parser.add_argument("--no-peers", action="store_true", help="skip PyPortfolioOpt")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--top", type=int, default=15, help="functions listed by the profile")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    if args.blas_threads:  # the loops get the single BLAS thread cvxport uses internally
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.blas_threads, user_api="blas")
    n_assets, n_bars = (40, 756) if args.quick else (100, 2520)
    datasets = [("bundled", bundled_prices()), ("synthetic", synthetic_prices(n_assets, n_bars))]

    print("# Monthly minimum-variance backtest: ms per rebalance (whole backtest / rebalances)")
    print(f"lookback {LOOKBACK}, cost {COST:g} of notional, Clarabel; {versions()}")
    print(f"BLAS threads: {args.blas_threads or 'default'}, best of {repeats}")
    if not args.no_peers and not pypfopt_installed():
        print("PyPortfolioOpt is not installed (pip install '.[bench]'): its column is '-'")
    rows = [compare(name, prices, repeats, not args.no_peers) for name, prices in datasets]
    print()
    print(table(rows, TIME_COLUMNS))
    print("\nms per rebalance; x/cvxport: how many times slower loop x is than cvxport.")
    print("pypfopt: its defaults (OSQP); pypfopt-tight: Clarabel at cvxport's tolerances.\n")
    print(table(rows, ACCURACY_COLUMNS))
    print("\ndw: largest |weight - cvxport's| over all rebalances (fractions of NAV);")
    print("dE: relative gap of the final equity.")
    if not args.no_profile:
        for _, prices in datasets:
            wall_clock_split(prices, repeats)
        profile(datasets[-1][1], args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
