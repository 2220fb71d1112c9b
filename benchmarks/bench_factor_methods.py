"""Maximum Sharpe, risk parity and minimum variance with a group limit in factor form, against
the peers, at n = 500, 1000, 2000 (the companion of ``bench_factor.py``; same data).

Per size, medians over rolling windows of T = 500 daily rows (ms, estimation included):

- ``max_sharpe``: PCA factor model + the factor-form long-only maximum Sharpe active set
  (``factor_solve.long_only_max_sharpe``, warm-started) on the sample mean;
- ``risk_parity``: PCA factor model + Newton's method on the log barrier with Woodbury steps
  (``factor_solve.newton_risk_budget``);
- ``group``: PCA factor model + minimum variance, 0 <= w <= 10/n and one group (the assets
  loading most on sector 1) at most 5%, in cvxpy with the DPP factor-form variance
  (``factor_cvxpy.factor_variance``, built once, Clarabel), re-solved; ``group_exact``: the
  same problem by the factor-form active set with linear rows (``factor_qp.solve_factor_qp``,
  warm-started; ``-`` where it gives up and the cvxpy path would be taken);
- peers from the same returns: PyPortfolioOpt (``max_sharpe``, ``min_volatility`` with
  ``add_sector_constraints``) given the PCA model's dense covariance, annualized (its
  estimation not timed: on daily units or the singular sample covariance its solver stops at
  the iteration limit), skfolio
  (``MeanRisk`` maximum ratio, ``RiskBudgeting``, its own estimation).

Every contender runs with one BLAS thread. ``peer/cvx``: the fastest peer over cvxport.

Usage: ``python benchmarks/bench_factor_methods.py [--sizes 500 1000] [--quick]``
"""

from __future__ import annotations

import argparse
import warnings

import common
import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.estimation import PCAFactorModel
from cvxport.estimation.factor_cvxpy import factor_variance
from cvxport.estimation.factor_qp import FactorQP, solve_factor_qp
from cvxport.estimation.factor_solve import long_only_max_sharpe, newton_risk_budget
from cvxport.solvers.active_set import ActiveSetError

ROWS, STEP = 500, 21
CLARABEL = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


def group_of(returns: pd.DataFrame) -> np.ndarray:
    """Booleans: the tenth of the assets most correlated with the first sector-like PC."""
    model = PCAFactorModel(n_factors=2).factor_model(returns)
    score = model.loadings[:, 1]
    return score >= np.quantile(score, 0.9)


def ours(windows: list[pd.DataFrame], group: np.ndarray) -> dict[str, float]:
    n = windows[0].shape[1]
    w = cp.Variable(n)
    variance, parameters = factor_variance(w, max_factors=20)
    cap = 10.0 / n
    problem = cp.Problem(
        cp.Minimize(variance), [cp.sum(w) == 1, w >= 0, w <= cap, cp.sum(w[group]) <= 0.05]
    )
    times: dict[str, list[float]] = {
        "max_sharpe": [], "risk_parity": [], "group": [], "group_exact": []
    }  # fmt: skip
    start, working = None, None
    rows = (np.ones((1, n)), np.ones(1), group[None, :].astype(float), np.array([0.05]))
    bounds = (np.zeros(n), np.full(n, cap))
    budget = np.full(n, 1.0 / n)
    for i, window in enumerate(windows):
        seconds, model = common.timed(PCAFactorModel().factor_model, window)
        scale = float(np.mean(model.variances()))
        model = model.unit_scaled()
        excess = window.to_numpy().mean(axis=0) / np.sqrt(scale)

        def sharpe(model=model, excess=excess, start=start):
            return long_only_max_sharpe(model, excess, start)

        solve_seconds, solution = common.timed(sharpe)
        start = (solution.at_lower, solution.at_upper)
        times["max_sharpe"].append(seconds + solve_seconds)
        times["risk_parity"].append(seconds + common.timed(newton_risk_budget, model, budget)[0])

        def group_solve(model=model):
            parameters.assign(model)
            problem.solve(solver="CLARABEL", **CLARABEL)

        group_seconds = common.timed(group_solve)[0]
        if i > 0:  # the first solve compiles the problem
            times["group"].append(seconds + group_seconds)
        qp = FactorQP.build(model, np.zeros(n), *rows, *bounds)
        try:
            exact_seconds, exact = common.timed(solve_factor_qp, qp, working)
        except ActiveSetError:
            continue
        working = exact.working_set
        times["group_exact"].append(seconds + exact_seconds)
        times.setdefault("group_dw", []).append(float(np.max(np.abs(exact.x - w.value))))
    return {
        key: float(np.median(values)) * (1 if key == "group_dw" else 1e3)
        for key, values in times.items()
        if values
    }


def peer_ms(fn, *args) -> float | str:
    """Milliseconds of one peer call, or 'failed' when the peer raises (e.g. its solver stops
    at an iteration limit on a singular sample covariance)."""
    try:
        return common.timed(fn, *args)[0] * 1e3
    except Exception as exc:  # any peer failure is reported, not fatal
        print(f"  peer failed: {type(exc).__name__}: {str(exc)[:120]}")
        return "failed"


def peers(window: pd.DataFrame, group: np.ndarray, limit: int) -> dict[str, float | str]:
    """Peer times (ms) on one window; n above ``limit`` skips the slowest calls."""
    n = window.shape[1]
    out: dict[str, float] = {}
    # PyPortfolioOpt gets the PCA model's dense covariance, annualized as it expects: on daily
    # units, or on the singular sample covariance of T <= n rows, its solver stops at the
    # iteration limit ('user_limit', measured at n = 500, T = 500)
    dense = 252.0 * PCAFactorModel().factor_model(window).dense()
    mu, covariance = 252.0 * window.mean(), pd.DataFrame(dense, window.columns, window.columns)
    try:
        from pypfopt import EfficientFrontier

        def sharpe():
            EfficientFrontier(mu, covariance, weight_bounds=(0, 1)).max_sharpe(0.0)

        def grouped():
            frontier = EfficientFrontier(None, covariance, weight_bounds=(0, 10.0 / n))
            mapper = {c: ("g" if g else "rest") for c, g in zip(window.columns, group, strict=True)}
            frontier.add_sector_constraints(mapper, {"g": 0.0}, {"g": 0.05})
            frontier.min_volatility()

        out["pypfopt_sharpe"] = peer_ms(sharpe)
        out["pypfopt_group"] = peer_ms(grouped)
    except ImportError:
        pass
    try:
        if n > limit:  # skfolio's import and solves are skipped together
            raise ImportError
        from skfolio import RiskMeasure
        from skfolio.optimization import MeanRisk, ObjectiveFunction, RiskBudgeting

        x = window.to_numpy()
        ratio = MeanRisk(
            objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
            risk_measure=RiskMeasure.VARIANCE,
        )
        out["skfolio_sharpe"] = peer_ms(ratio.fit, x)
        parity = RiskBudgeting(risk_measure=RiskMeasure.VARIANCE)
        out["skfolio_parity"] = peer_ms(parity.fit, x)
    except ImportError:
        pass
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--skfolio-limit", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="n = 200, two windows, no skfolio")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.windows, args.skfolio_limit = [200], 2, 0
    common.limit_blas_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    print(f"# factor-form methods vs peers; {common.machine()}; one BLAS thread")
    rows = []
    for n in args.sizes:
        returns = common.factor_returns(n, ROWS + STEP * (args.windows - 1), seed=n)
        windows = [returns.iloc[i * STEP : i * STEP + ROWS] for i in range(args.windows)]
        group = group_of(windows[0])
        row = {"n": n, **ours(windows, group), **peers(windows[-1], group, args.skfolio_limit)}
        for method, keys in (
            ("max_sharpe", ("pypfopt_sharpe", "skfolio_sharpe")),
            ("risk_parity", ("skfolio_parity",)),
            ("group", ("pypfopt_group",)),
            ("group_exact", ("pypfopt_group",)),
        ):
            known = [row[k] for k in keys if isinstance(row.get(k), float)]
            ours_ms = row.get(method)
            row[f"{method} peer/cvx"] = min(known) / ours_ms if known and ours_ms else None
        rows.append(row)
    columns = [("n", "d"), ("max_sharpe", ".1f"), ("pypfopt_sharpe", ".0f"),
               ("skfolio_sharpe", ".0f"), ("max_sharpe peer/cvx", ".0f"), ("risk_parity", ".1f"),
               ("skfolio_parity", ".0f"), ("risk_parity peer/cvx", ".0f"), ("group", ".1f"),
               ("pypfopt_group", ".0f"), ("group peer/cvx", ".1f"), ("group_exact", ".1f"),
               ("group_exact peer/cvx", ".0f"), ("group_dw", ".1e")]  # fmt: skip
    print(common.table(rows, columns))


if __name__ == "__main__":
    main()
