"""Time every allocation method side by side with a rebuild-per-call cvxpy baseline and peers.

For each size n (synthetic factor-model daily returns, T = max(2n, 500) rows per window):

- ``first``: a fresh allocator's first ``allocate`` (estimate, build, compile, solve);
- ``resolve``: the median ``allocate`` of the same allocator on later rolling windows;
- ``solver``: the median of the solver's own time (``info_.solve_time``; Newton's method is
  timed on its own when the allocator records no time);
- ``plain``: a plain implementation from the returns frame, rebuilt at every call (a fresh
  ``cp.Problem`` solved by Clarabel with cvxport's tolerances; numpy/scipy for closed forms and
  HRP);
- ``pypfopt`` / ``skfolio``: the peers' equivalent calls (estimation included), when installed.

Then the accuracy, on the bundled crypto closes, of every method against an exact answer.
Times are milliseconds on whatever machine runs this; compare the ratios, not the times.

Usage: ``python benchmarks/bench_allocation.py [--sizes 20 100] [--repeats 15] [--quick]``
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import common
import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport import (
    EqualWeightAllocator,
    HRPAllocator,
    InverseVolatilityAllocator,
    MarketCapAllocator,
    MaximumSharpeAllocator,
    MinimumVarianceAllocator,
    RiskBudgetAllocator,
    RiskParityAllocator,
    WeightBounds,
)
from cvxport.allocators.risk_budget import newton_risk_budget
from cvxport.allocators.risk_model import estimate_covariance
from cvxport.estimation import unit_scaled
from cvxport.solvers import SOLVER_OPTIONS

Weights = Callable[[pd.DataFrame], np.ndarray]


# --- plain implementations, rebuilt at every call ---------------------------------------------
def _scaled_cov(returns: pd.DataFrame) -> np.ndarray:
    S = common.sample_covariance(returns)
    return S / np.mean(np.diag(S))


def _solve(objective, constraints) -> None:
    cp.Problem(objective, constraints).solve(solver="CLARABEL", **SOLVER_OPTIONS["CLARABEL"])


def plain_min_variance(returns: pd.DataFrame) -> np.ndarray:
    """Long-only minimum variance, a fresh cvxpy problem per call."""
    w = cp.Variable(returns.shape[1])
    _solve(
        cp.Minimize(cp.quad_form(w, cp.psd_wrap(_scaled_cov(returns)))), [cp.sum(w) == 1, w >= 0]
    )
    return w.value


def plain_max_sharpe(returns: pd.DataFrame) -> np.ndarray:
    """Long-only maximum Sharpe (Charnes-Cooper), a fresh cvxpy problem per call."""
    mu = returns.to_numpy().mean(axis=0)
    y = cp.Variable(returns.shape[1])
    S = cp.psd_wrap(_scaled_cov(returns))
    _solve(cp.Minimize(cp.quad_form(y, S)), [(mu / np.max(np.abs(mu))) @ y == 1, y >= 0])
    return y.value / y.value.sum()


def plain_risk_budget(budget_of: Callable[[int], np.ndarray]) -> Weights:
    """Log-barrier risk budgeting, a fresh cvxpy problem per call."""

    def run(returns: pd.DataFrame) -> np.ndarray:
        n = returns.shape[1]
        y = cp.Variable(n)
        S = cp.psd_wrap(_scaled_cov(returns))
        _solve(cp.Minimize(0.5 * cp.quad_form(y, S) - budget_of(n) @ cp.log(y)), [])
        return y.value / y.value.sum()

    return run


def plain_hrp(returns: pd.DataFrame) -> np.ndarray:
    """Numpy+scipy HRP, single linkage."""
    return common.hrp_reference(common.sample_covariance(returns))


def plain_inverse_vol(returns: pd.DataFrame) -> np.ndarray:
    """Normalized inverse volatilities."""
    inv = 1 / returns.to_numpy().std(axis=0, ddof=1)
    return inv / inv.sum()


def parity_budget(n: int) -> np.ndarray:
    """Equal risk budgets."""
    return np.full(n, 1 / n)


def ramp_budget(n: int) -> np.ndarray:
    """Budgets proportional to 1..n (a non-trivial risk budget)."""
    b = np.arange(1, n + 1, dtype=float)
    return b / b.sum()


def market_caps(assets: pd.Index) -> dict[str, float]:
    """Synthetic caps, a seeded log-normal per symbol."""
    rng = np.random.default_rng(len(assets))
    return dict(zip(assets, np.exp(rng.normal(20, 2, len(assets))), strict=True))


# --- peers ----------------------------------------------------------------------------------
def peer_functions() -> dict[str, dict[str, Weights]]:
    """Return {method: {peer: weights function}} for the installed peer libraries."""
    peers: dict[str, dict[str, Weights]] = {}

    def add(method: str, peer: str, fn: Weights) -> None:
        peers.setdefault(method, {})[peer] = fn

    try:
        from pypfopt import EfficientFrontier, HRPOpt, expected_returns, risk_models
    except ImportError:
        pass
    else:

        def pf_min_variance(r: pd.DataFrame) -> np.ndarray:
            S = risk_models.sample_cov(r, returns_data=True)
            return _pf_weights(EfficientFrontier(None, S).min_volatility(), r)

        def pf_max_sharpe(r: pd.DataFrame) -> np.ndarray:
            mu = expected_returns.mean_historical_return(r, returns_data=True, compounding=False)
            ef = EfficientFrontier(mu, risk_models.sample_cov(r, returns_data=True))
            return _pf_weights(ef.max_sharpe(risk_free_rate=0.0), r)

        def pf_hrp(r: pd.DataFrame) -> np.ndarray:
            return _pf_weights(HRPOpt(r).optimize(linkage_method="single"), r)

        add("minimum_variance", "pypfopt", pf_min_variance)
        add("maximum_sharpe", "pypfopt", pf_max_sharpe)
        add("hrp", "pypfopt", pf_hrp)
    try:
        from skfolio import RiskMeasure
        from skfolio.cluster import HierarchicalClustering, LinkageMethod
        from skfolio.optimization import (
            EqualWeighted,
            HierarchicalRiskParity,
            InverseVolatility,
            MeanRisk,
            ObjectiveFunction,
            RiskBudgeting,
        )
    except ImportError:
        pass
    else:

        def sk(make: Callable[[pd.DataFrame], object]) -> Weights:
            return lambda r: np.asarray(make(r).fit(r).weights_, dtype=float)

        variance = RiskMeasure.VARIANCE
        single = HierarchicalClustering(linkage_method=LinkageMethod.SINGLE)
        try:  # skfolio >= 0.12: the leaf order is a seriation estimator
            from skfolio.seriation import HierarchicalSeriation

            order = {
                "seriation_estimator": HierarchicalSeriation(
                    hierarchical_clustering_estimator=single, optimal_ordering=False
                )
            }
        except ImportError:
            order = {"hierarchical_clustering_estimator": single}
        add("equal_weight", "skfolio", sk(lambda r: EqualWeighted()))
        add("inverse_volatility", "skfolio", sk(lambda r: InverseVolatility()))
        add("minimum_variance", "skfolio", sk(lambda r: MeanRisk(risk_measure=variance)))
        ratio = ObjectiveFunction.MAXIMIZE_RATIO
        add("maximum_sharpe", "skfolio", sk(lambda r: MeanRisk(ratio, risk_measure=variance)))
        parity = sk(lambda r: RiskBudgeting(risk_measure=variance))
        add("risk_parity", "skfolio", parity)
        add("risk_parity_cvxpy", "skfolio", parity)
        add(
            "risk_budget",
            "skfolio",
            sk(lambda r: RiskBudgeting(variance, risk_budget=ramp_budget(r.shape[1]))),
        )
        add(
            "hrp",
            "skfolio",
            sk(lambda r: HierarchicalRiskParity(variance, **order)),
        )
    return peers


def _pf_weights(weights: dict, returns: pd.DataFrame) -> np.ndarray:
    return np.array([weights[s] for s in returns.columns], dtype=float)


# --- cases ----------------------------------------------------------------------------------
@dataclass
class Case:
    """One method: how to make the allocator, its call data, and a plain implementation."""

    name: str
    make: Callable[[], object]
    plain: Weights
    data: Callable[[pd.Index], dict] = field(default=lambda assets: {})
    budget: Callable[[int], np.ndarray] | None = None


CASES = [
    Case("equal_weight", EqualWeightAllocator, lambda r: np.full(r.shape[1], 1 / r.shape[1])),
    Case("inverse_volatility", InverseVolatilityAllocator, plain_inverse_vol),
    Case(
        "market_cap",
        MarketCapAllocator,
        lambda r: (c := np.array(list(market_caps(r.columns).values()))) / c.sum(),
        lambda assets: {"market_caps": market_caps(assets)},
    ),
    Case("minimum_variance", MinimumVarianceAllocator, plain_min_variance),
    Case(
        "minimum_variance_cvxpy",
        lambda: MinimumVarianceAllocator(solver="CLARABEL"),
        plain_min_variance,
    ),
    Case("maximum_sharpe", MaximumSharpeAllocator, plain_max_sharpe),
    Case(
        "maximum_sharpe_cvxpy", lambda: MaximumSharpeAllocator(solver="CLARABEL"), plain_max_sharpe
    ),
    Case(
        "risk_parity",
        RiskParityAllocator,
        plain_risk_budget(parity_budget),
        budget=parity_budget,
    ),
    Case(
        "risk_parity_cvxpy",
        lambda: RiskParityAllocator(solver="CLARABEL"),
        plain_risk_budget(parity_budget),
        budget=parity_budget,
    ),
    Case(
        "risk_budget",
        RiskBudgetAllocator,
        plain_risk_budget(ramp_budget),
        lambda assets: {"risk_budget": dict(zip(assets, ramp_budget(len(assets)), strict=True))},
        budget=ramp_budget,
    ),
    Case("hrp", HRPAllocator, plain_hrp),
]


def solver_seconds(case: Case, allocator, window: pd.DataFrame) -> float | None:
    """The solver's own time of the last solve; Newton's method is timed here if unrecorded."""
    info = allocator.info_
    if info is None:
        return None
    if info.solve_time > 0 or case.budget is None:
        return info.solve_time
    covariance = unit_scaled(estimate_covariance(window, "sample"))
    seconds, _ = common.timed(newton_risk_budget, covariance, case.budget(window.shape[1]))
    return seconds


def bench_size(n: int, repeats: int, budget_s: float, peers: dict) -> list[dict]:
    """Time every case at ``n`` assets; return one row per method (milliseconds and ratios).

    Windows are the outer loop and methods the inner one, so a transient slowdown of a noisy
    machine hits every column alike; a peer stops being timed once it has spent ``budget_s``.
    """
    rows_per_window = max(2 * n, 500)
    windows = common.rolling_windows(
        common.factor_returns(n, rows_per_window + 5 * repeats, seed=n),
        rows_per_window,
        repeats + 1,
    )
    data = {case.name: case.data(windows[0].columns) for case in CASES}
    allocators, samples = {}, {case.name: defaultdict(list) for case in CASES}
    gc.collect()
    for _ in range(3):
        for case in CASES:
            allocators[case.name] = case.make()
            seconds, _ = common.timed(allocators[case.name].allocate, windows[0], **data[case.name])
            samples[case.name]["first"].append(seconds)
    for window in windows[1:]:
        for case in CASES:
            got = samples[case.name]
            allocator = allocators[case.name]
            got["resolve"].append(common.timed(allocator.allocate, window, **data[case.name])[0])
            got["solver"].append(solver_seconds(case, allocator, window))
            got["plain"].append(common.timed(case.plain, window)[0])
            for peer, fn in peers.get(case.name, {}).items():
                if isinstance(got[peer], str) or sum(got[peer]) > budget_s:
                    continue
                try:
                    got[peer].append(common.timed(fn, window)[0])
                except Exception as exc:  # a peer failing is reported, never fatal
                    got[peer] = f"fail: {type(exc).__name__}"
    out = []
    for case in CASES:
        got = samples[case.name]
        row = {"n": n, "method": case.name}
        for key, values in got.items():
            if isinstance(values, str) or None in values:  # a peer's failure, or no solver time
                row[key] = values if isinstance(values, str) else None
            else:
                row[key] = 1e3 * float(np.median(values))
        out.append(ratios(row))
    print(f"  n={n}: {len(windows) - 1} re-solves per method done", flush=True)
    return out


def ratios(row: dict) -> dict:
    """Add the ratio columns to a row of milliseconds."""

    def div(a, b):
        ok = isinstance(a, float) and isinstance(b, float) and b > 0
        return a / b if ok else None

    row["resolve/solver"] = div(row["resolve"], row["solver"])
    row["first/resolve"] = div(row["first"], row["resolve"])
    row["plain/resolve"] = div(row["plain"], row["resolve"])
    for peer in ("pypfopt", "skfolio"):
        row[f"{peer}/cvxport"] = div(row.get(peer), row["resolve"])
    return row


# --- accuracy on real data ------------------------------------------------------------------
def accuracy_rows(peers: dict) -> list[dict]:
    """Max |w - w_exact| of every method on the bundled crypto returns (whole history)."""
    r = common.real_returns()
    assets, n = r.columns, r.shape[1]
    S, mu = common.sample_covariance(r), r.to_numpy().mean(axis=0)
    try:
        from cvxport.data import load_bundled_market_caps

        caps = load_bundled_market_caps()
    except ImportError:
        caps = market_caps(assets)
    cap_values = np.array([caps[s] for s in assets])
    inv_vol = 1 / np.sqrt(np.diag(S))
    bounds = WeightBounds(0.05, 0.4)
    parity, ramp = parity_budget(n), ramp_budget(n)
    ramp_data = {"risk_budget": dict(zip(assets, ramp, strict=True))}
    specs = [
        ("equal_weight", EqualWeightAllocator(), {}, np.full(n, 1 / n), "1/n"),
        ("inverse_volatility", InverseVolatilityAllocator(), {}, inv_vol / inv_vol.sum(), "closed"),
        ("market_cap", MarketCapAllocator(), {"market_caps": caps}, cap_values / cap_values.sum(),
         "closed"),
        ("minimum_variance", MinimumVarianceAllocator(), {}, common.min_variance_exact(S),
         "active set"),
        ("minimum_variance short", MinimumVarianceAllocator(long_only=False), {},
         common.min_variance_exact(S, long_only=False), "closed"),
        ("minimum_variance cvxpy", MinimumVarianceAllocator(solver="CLARABEL"), {},
         common.min_variance_exact(S), "active set"),
        ("minimum_variance 5-40%", MinimumVarianceAllocator(constraints=[bounds]), {},
         common.active_set_qp(S, np.ones(n), 0.05, 0.4), "active set"),
        ("minimum_variance 5-40% cvxpy",
         MinimumVarianceAllocator(constraints=[bounds], solver="CLARABEL"), {},
         common.active_set_qp(S, np.ones(n), 0.05, 0.4), "active set"),
        ("maximum_sharpe", MaximumSharpeAllocator(), {}, common.max_sharpe_exact(S, mu),
         "active set"),
        ("maximum_sharpe cvxpy", MaximumSharpeAllocator(solver="CLARABEL"), {},
         common.max_sharpe_exact(S, mu), "active set"),
        ("maximum_sharpe short", MaximumSharpeAllocator(long_only=False), {},
         common.max_sharpe_exact(S, mu, long_only=False), "closed"),
        ("risk_parity", RiskParityAllocator(), {}, common.newton_risk_budget_reference(S, parity),
         "newton"),
        ("risk_parity_cvxpy", RiskParityAllocator(solver="CLARABEL"), {},
         common.newton_risk_budget_reference(S, parity), "newton"),
        ("risk_budget", RiskBudgetAllocator(), ramp_data,
         common.newton_risk_budget_reference(S, ramp), "newton"),
        ("risk_budget_cvxpy", RiskBudgetAllocator(solver="CLARABEL"), ramp_data,
         common.newton_risk_budget_reference(S, ramp), "newton"),
        ("hrp", HRPAllocator(), {}, common.hrp_reference(S), "numpy+scipy"),
    ]  # fmt: skip
    rows = []
    for name, allocator, data, exact, kind in specs:
        weights = allocator.allocate(r, **data).to_numpy()
        row = {"method": name, "reference": kind, "cvxport": float(np.max(np.abs(weights - exact)))}
        for peer, fn in peers.get(name, {}).items():
            try:
                row[peer] = float(np.max(np.abs(fn(r) - exact)))
            except Exception as exc:
                row[peer] = f"fail: {type(exc).__name__}"
        row["ok"] = "yes" if row["cvxport"] <= common.ACCURACY_TARGET else "NO"
        rows.append(row)
    return rows


# --- report ---------------------------------------------------------------------------------
MS_COLUMNS = [
    ("n", "d"),
    ("method", "s"),
    ("first", ".2f"),
    ("resolve", ".2f"),
    ("solver", ".2f"),
    ("plain", ".2f"),
    ("pypfopt", ".2f"),
    ("skfolio", ".2f"),
]
RATIO_COLUMNS = [
    ("n", "d"),
    ("method", "s"),
    ("resolve/solver", ".1f"),
    ("first/resolve", ".1f"),
    ("plain/resolve", ".1f"),
    ("pypfopt/cvxport", ".1f"),
    ("skfolio/cvxport", ".1f"),
]
ACCURACY_COLUMNS = [
    ("method", "s"),
    ("reference", "s"),
    ("cvxport", ".1e"),
    ("pypfopt", ".1e"),
    ("skfolio", ".1e"),
    ("ok", "s"),
]


def check_targets(rows: list[dict], accuracy: list[dict]) -> list[str]:
    """The issue's targets, one PASS/FAIL line each (n = 100 rows when measured)."""
    lines = []
    at = {r["method"]: r for r in rows if r["n"] == 100}
    if "minimum_variance_cvxpy" in at:  # the cvxpy problem's re-solve against its solver
        ratio = at["minimum_variance_cvxpy"]["resolve/solver"]
        verdict = "PASS" if ratio is not None and ratio <= 3 else "FAIL"
        lines.append(
            f"{verdict} min-variance cvxpy re-solve / solver time at n=100: {ratio:.1f} (<= 3)"
        )
    speedup = at.get("minimum_variance", {}).get("pypfopt/cvxport")
    if speedup:  # the default path (the exact active set) against PyPortfolioOpt
        verdict = "PASS" if speedup >= 3 else "FAIL"
        lines.append(f"{verdict} min-variance vs PyPortfolioOpt at n=100: {speedup:.1f}x (>= 3)")
    for name in ("hrp", "risk_parity"):
        row = at.get(name)
        speedups = [row[k] for k in ("pypfopt/cvxport", "skfolio/cvxport") if row and row.get(k)]
        if speedups:
            best = min(speedups)
            verdict = "PASS" if best >= 10 else "FAIL"
            lines.append(f"{verdict} {name} vs fastest peer at n=100: {best:.1f}x faster (>= 10)")
    if accuracy:
        worst = max(accuracy, key=lambda r: r["cvxport"])
        verdict = "PASS" if worst["cvxport"] <= common.ACCURACY_TARGET else "FAIL"
        lines.append(
            f"{verdict} largest |w - w_exact| on real data: {worst['cvxport']:.1e} "
            f"({worst['method']}; target {common.ACCURACY_TARGET:.0e})"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    """Parse options, run the timings and the accuracy check, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 500])
    parser.add_argument("--repeats", type=int, default=15, help="re-solves per method and size")
    parser.add_argument("--peer-budget", type=float, default=5.0, help="seconds per peer cell")
    parser.add_argument("--quick", action="store_true", help="sizes 20 50, 3 repeats (CI smoke)")
    parser.add_argument("--no-peers", action="store_true", help="skip PyPortfolioOpt/skfolio")
    parser.add_argument("--blas-threads", type=int, default=1, help="0: the BLAS default")
    args = parser.parse_args(argv)
    common.limit_blas_threads(args.blas_threads or None)
    if args.quick:
        args.sizes, args.repeats, args.peer_budget = [20, 50], 3, 0.5
    start = time.perf_counter()
    peers = {} if args.no_peers else peer_functions()
    installed = sorted({p for by_peer in peers.values() for p in by_peer}) or ["none"]
    print(
        f"# bench_allocation ({time.strftime('%Y-%m-%d')}); peers: {', '.join(installed)}; "
        f"BLAS threads: {args.blas_threads or 'default'}"
    )
    print(f"# {common.versions()}")
    print(f"# {common.machine()}")
    plain_min_variance(common.factor_returns(5, 50))  # warm cvxpy's imports and caches
    rows = []
    for n in args.sizes:
        rows += bench_size(n, args.repeats, args.peer_budget, peers)
    accuracy = accuracy_rows(peers)
    print("\n## Milliseconds per call (median)\n")
    print(common.table(rows, MS_COLUMNS))
    print("\n## Ratios\n")
    print(common.table(rows, RATIO_COLUMNS))
    print("\n## Accuracy on the bundled crypto returns: max |w - w_exact|\n")
    print(common.table(accuracy, ACCURACY_COLUMNS))
    print()
    print("\n".join(check_targets(rows, accuracy)))
    print(f"# total {time.perf_counter() - start:.1f} s; {common.machine()}")


if __name__ == "__main__":
    main()
