"""How the covariance should enter a problem: three cvxpy forms, measured per re-solve.

Forms, for minimum variance, maximum Sharpe (Charnes-Cooper) and the risk-budget log barrier,
all long-only as cvxport's allocators are by default:

- ``psd_wrap``: ``cp.quad_form(w, cp.psd_wrap(S))``, ``S`` a plain Parameter;
- ``factor``: ``cp.sum_squares(F @ w)``, ``F`` a Parameter with F'F = S from ``eigh`` (DPP);
- ``psd_param``: ``cp.quad_form(w, S)``, ``S`` a ``PSD=True`` Parameter (checked by cvxpy at
  every assignment: the ``assign`` column).

``problem.is_dpp()`` is False for the two quad_form forms, yet on cvxpy 1.9 all three are
compiled once: their solving chain has no ``EvalParams`` step, so cvxpy caches the parametrized
cone program and a re-solve only re-applies the Parameters (the ``compile`` column) and updates
the solver's data. What differs is the program handed to the solver: quad_form gives a quadratic
objective with P = S, the factor form n extra variables t = F w and a dense n x n block of
constraints, a larger KKT system.

Each problem is built once, solved once to compile (``first``: build, compile and solve), then
re-solved on rolling windows of
synthetic factor-model returns. Per re-solve: ``total`` = assigning the Parameters (including
the factorization for ``factor``) + ``problem.solve``; ``solver`` = the solver's own time;
``compile`` = cvxpy's ``compilation_time``; ``error`` = max |w - w_exact| over the windows
(exact active-set or Newton answer). Clarabel for every problem, OSQP for the QPs; tolerances
from ``cvxport.solvers.SOLVER_OPTIONS``.

Usage: ``python benchmarks/bench_forms.py [--sizes 100 300] [--repeats 15] [--quick]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import common
import cvxpy as cp
import numpy as np

from cvxport.solvers import SOLVER_OPTIONS

FORMS = ("psd_wrap", "factor", "psd_param")
PROBLEMS = ("minimum_variance", "maximum_sharpe", "log_barrier")
QPS = ("minimum_variance", "maximum_sharpe")


def eigh_factor(S: np.ndarray) -> np.ndarray:
    """Return F with F'F = S (eigenvalues clipped at 0), robust to a singular S."""
    values, vectors = np.linalg.eigh(S)
    return np.sqrt(np.clip(values, 0, None))[:, None] * vectors.T


@dataclass
class Built:
    """A problem built once, with how to load one window's data and read the weights."""

    problem: cp.Problem
    assign: Callable[[dict], None]
    weights: Callable[[], np.ndarray]


def build(kind: str, form: str, n: int) -> Built:
    """Build ``kind`` with the covariance entering as ``form`` over n assets."""
    x = cp.Variable(n, name="x")
    if form == "factor":
        F = cp.Parameter((n, n), name="F")
        risk = cp.sum_squares(F @ x)

        def load_cov(S):
            F.value = eigh_factor(S)
    else:
        S_param = cp.Parameter((n, n), name="S", PSD=form == "psd_param")
        risk = cp.quad_form(x, S_param if form == "psd_param" else cp.psd_wrap(S_param))

        def load_cov(S):
            S_param.value = S

    loads: list[Callable[[dict], None]] = [lambda v: load_cov(v["S"])]
    if kind == "minimum_variance":
        problem = cp.Problem(cp.Minimize(risk), [cp.sum(x) == 1, x >= 0])
    elif kind == "maximum_sharpe":
        mu, kappa = cp.Parameter(n, name="mu"), cp.Variable(nonneg=True)
        problem = cp.Problem(cp.Minimize(risk), [mu @ x == 1, cp.sum(x) == kappa, x >= 0])
        loads.append(lambda v: setattr(mu, "value", v["mu"]))
    else:
        budget = cp.Parameter(n, nonneg=True, name="budget")
        problem = cp.Problem(cp.Minimize(0.5 * risk - budget @ cp.log(x)))
        loads.append(lambda v: setattr(budget, "value", v["budget"]))

    def assign(values: dict) -> None:
        for load in loads:
            load(values)

    return Built(problem, assign, lambda: x.value / x.value.sum())


def window_data(window) -> dict:
    """Unit-scaled covariance, scaled mean, equal budgets and the exact answers of a window."""
    S = common.sample_covariance(window)
    S = S / np.mean(np.diag(S))
    mu = window.to_numpy().mean(axis=0)
    n = len(S)
    budget = np.full(n, 1 / n)
    return {
        "S": S,
        "mu": mu / np.max(np.abs(mu)),
        "budget": budget,
        "exact": {
            "minimum_variance": common.min_variance_exact(S),
            "maximum_sharpe": common.max_sharpe_exact(S, mu),
            "log_barrier": common.newton_risk_budget_reference(S, budget),
        },
    }


def measure(kind: str, solver: str, data: list[dict]) -> list[dict]:
    """Median per re-solve figures of every form of (problem, solver) over the windows.

    The forms are solved in turn on each window, so that a transient slowdown of a noisy
    machine hits all of them alike.
    """
    options = SOLVER_OPTIONS[solver]
    built: dict[str, Built] = {}
    samples: dict[str, list[tuple]] = {form: [] for form in FORMS}
    first = {}
    for form in FORMS:
        start = time.perf_counter()
        b = built[form] = build(kind, form, len(data[0]["S"]))
        b.assign(data[0])
        b.problem.solve(solver=solver, **options)  # compile once
        first[form] = time.perf_counter() - start
    for values in data[1:]:
        for form, b in built.items():
            start = time.perf_counter()
            b.assign(values)
            assigned = time.perf_counter()
            b.problem.solve(solver=solver, **options)
            end = time.perf_counter()
            stats = b.problem.solver_stats
            samples[form].append(
                (
                    end - start,
                    stats.solve_time or np.nan,
                    b.problem.compilation_time or np.nan,
                    assigned - start,
                    stats.num_iters or 0,
                    float(np.max(np.abs(b.weights() - values["exact"][kind]))),
                )
            )
    rows = []
    for form, b in built.items():
        table = np.array(samples[form])
        median = np.median(table, axis=0)
        rows.append(
            {
                "n": len(data[0]["S"]),
                "problem": kind,
                "solver": solver,
                "form": form,
                "dpp": "yes" if b.problem.is_dpp() else "no",
                "first": 1e3 * first[form],
                "total": 1e3 * median[0],
                "solver ms": 1e3 * median[1],
                "compile": 1e3 * median[2],
                "assign": 1e3 * median[3],
                "iters": int(median[4]),
                "error": float(table[:, 5].max()),
            }
        )
    return rows


def conclusions(rows: list[dict]) -> list[str]:
    """Per (n, problem, solver): the fastest form meeting the accuracy target, and by how much."""
    lines, wins = [], 0
    cells = list(dict.fromkeys((r["n"], r["problem"], r["solver"]) for r in rows))
    for n, kind, solver in cells:
        group = [r for r in rows if (r["n"], r["problem"], r["solver"]) == (n, kind, solver)]
        accurate = [r for r in group if r["error"] <= common.ACCURACY_TARGET] or group
        best = min(accurate, key=lambda r: r["total"])
        wins += best["form"] == "psd_wrap"
        others = ", ".join(
            f"{r['form']} {r['total']:.1f} ms ({r['total'] / best['total']:.1f}x, "
            f"solver {r['solver ms'] / best['solver ms']:.1f}x)"
            for r in group
            if r is not best
        )
        lines.append(
            f"n={n} {kind} {solver}: {best['form']} {best['total']:.1f} ms "
            f"(solver {best['solver ms']:.1f} ms) beats {others}"
        )
    lines.append(
        f"Conclusion: quad_form over psd_wrap of a plain Parameter is the fastest accurate form "
        f"in {wins} of {len(cells)} (n, problem, solver) cells."
    )
    return lines


COLUMNS = [
    ("n", "d"),
    ("problem", "s"),
    ("solver", "s"),
    ("form", "s"),
    ("dpp", "s"),
    ("first", ".1f"),
    ("total", ".2f"),
    ("solver ms", ".2f"),
    ("compile", ".2f"),
    ("assign", ".2f"),
    ("iters", "d"),
    ("error", ".1e"),
]


def main(argv: list[str] | None = None) -> None:
    """Parse options, measure every (size, problem, solver, form), print table and conclusion."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--repeats", type=int, default=15, help="re-solves per cell")
    parser.add_argument("--quick", action="store_true", help="n = 50, 3 repeats (CI smoke)")
    parser.add_argument("--blas-threads", type=int, default=1, help="0: the BLAS default")
    args = parser.parse_args(argv)
    common.limit_blas_threads(args.blas_threads or None)
    if args.quick:
        args.sizes, args.repeats = [50], 3
    start = time.perf_counter()
    threads = args.blas_threads or "default"
    print(f"# bench_forms ({time.strftime('%Y-%m-%d')}); BLAS threads: {threads}")
    print(f"# {common.versions()}")
    print(f"# {common.machine()}")
    rows = []
    for n in args.sizes:
        T = max(2 * n, 500)
        returns = common.factor_returns(n, T + 5 * args.repeats, seed=n)
        data = [window_data(w) for w in common.rolling_windows(returns, T, args.repeats + 1)]
        for kind in PROBLEMS:
            for solver in ("CLARABEL", "OSQP") if kind in QPS else ("CLARABEL",):
                rows += measure(kind, solver, data)
                print(f"  n={n} {kind} {solver} done", flush=True)
    print("\n## Per re-solve, milliseconds (median); error = max |w - w_exact| over windows\n")
    print(common.table(rows, COLUMNS))
    print()
    print("\n".join(conclusions(rows)))
    print(f"# total {time.perf_counter() - start:.1f} s; {common.machine()}")


if __name__ == "__main__":
    main()
