"""Large universes in factor form: minimum variance with bounds at n = 500 .. 5000, and a
1,000-asset, 10-year daily backtest with monthly rebalancing and its peak memory.

Data: ``common.factor_returns`` (a market and 10 sector factors, vols of 1-3% a day), windows of
T = 500 daily rows rolled by 21 rows. Problem: minimize w' S w, sum(w) = 1, 0 <= w <= 10 / n.
Per size, medians over the windows:

- ``pca``, ``pca_full``, ``pca_rand``: the principal-components factor model
  (``PCAFactorModel``, Bai-Ng) by the default exact subset ``eigh`` of the smaller Gram matrix,
  by scikit-learn's exact 'full' SVD and by its approximate 'randomized' one; ``expo``: the
  model from the true exposures (``ExposureFactorModel``, cross-sectional least squares);
- ``solve``: the factor-form active set (``factor_solve.bounded_min_variance`` on the model,
  Woodbury, O(n k^2) per iteration) from no guess; ``resolve``: the same warm-started from the
  previous window's active sets, as a backtest does;
- ``cvxport``: ``pca`` + ``resolve``, the whole re-solve; ``expo+res``: ``expo`` + ``resolve``;
- ``dense``: the dense active set (``solvers.active_set``, Cholesky) on the same factor
  covariance formed as an n x n array, from no guess (compare with ``solve``), n <= 2000 (the
  sample covariance of T = 500 rows is singular from n = 500: the dense path needs a model);
- ``pypfopt``, ``skfolio``, ``riskfolio``: the peers' minimum variance with the same bounds from
  the same returns (sample covariance, their default solvers), at the sizes they reach;
- ``dw``: max |w_factor - w_dense| on the same factor covariance (exactness of the factor form);
- ``peer/cvx``: the fastest peer over ``cvxport``.

Every contender runs with one BLAS thread (threadpoolctl), on a shared machine: read ratios.
The factor-form solver functions are benchmarked directly; the backtest runs the whole path
through ``PortfolioManager.backtest`` (``covariance=PCAFactorModel()``: the ACTIVE_SET backend
takes the factor model as loadings and specific variances).

Usage: ``python benchmarks/bench_factor.py [--sizes 500 1000] [--windows 5] [--quick]``
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import common
import numpy as np
import pandas as pd

from cvxport import PortfolioConfig, PortfolioManager
from cvxport.estimation import (
    ExposureFactorModel,
    PCAFactorModel,
)
from cvxport.estimation.factor_solve import bounded_min_variance
from cvxport.solvers.active_set import bounded_min_variance as dense_min_variance

ROWS, STEP = 500, 21


def true_exposures(n: int, seed: int) -> pd.DataFrame:
    """The loadings ``common.factor_returns`` drew (same seed, same order of draws)."""
    rng = np.random.default_rng(seed)
    k = min(10, max(2, n // 20))
    rng.standard_normal((1, k + 1))  # the factor draw's shape is irrelevant to the stream
    return pd.DataFrame(np.c_[rng.normal(1.0, 0.3, n), rng.normal(0.0, 0.7, (n, k))])


def peers(returns: pd.DataFrame, cap: float, wanted: set[str]) -> dict:
    """The ``wanted`` peers' minimum-variance calls from the returns frame (those installed;
    imported only when wanted: Riskfolio-Lib's import alone takes seconds)."""
    out = {}
    if "pypfopt" in wanted:
        try:
            from pypfopt import EfficientFrontier

            out["pypfopt"] = lambda: EfficientFrontier(
                None, returns.cov(), weight_bounds=(0, cap)
            ).min_volatility()
        except ImportError:
            pass
    if "skfolio" in wanted:
        try:
            from skfolio import RiskMeasure
            from skfolio.optimization import MeanRisk, ObjectiveFunction

            out["skfolio"] = lambda: MeanRisk(
                objective_function=ObjectiveFunction.MINIMIZE_RISK,
                risk_measure=RiskMeasure.VARIANCE,
                min_weights=0.0,
                max_weights=cap,
            ).fit(returns.to_numpy())
        except ImportError:
            pass
    if "riskfolio" in wanted:
        try:
            import riskfolio as rp

            def riskfolio_call():
                port = rp.Portfolio(returns=returns, upperlng=cap)
                port.assets_stats(method_mu="hist", method_cov="hist")
                return port.optimization(model="Classic", rm="MV", obj="MinRisk", hist=True)

            out["riskfolio"] = riskfolio_call
        except ImportError:
            pass
    return out


def median_ms(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        seconds, out = common.timed(fn)
        times.append(seconds)
    return float(np.median(times)) * 1e3, out


def measure(n: int, windows: int, peer_limits: dict) -> dict:
    returns = common.factor_returns(n, ROWS + STEP * (windows - 1), seed=n)
    returns.columns = range(n)
    cap = 10.0 / n
    lower, upper = np.zeros(n), np.full(n, cap)
    exposures = ExposureFactorModel(true_exposures(n, seed=n))
    row: dict = {"n": n}
    times: dict[str, list[float]] = {
        k: [] for k in ("pca", "pca_full", "pca_rand", "expo", "solve", "resolve")
    }
    start = None
    for i in range(windows):
        window = returns.iloc[i * STEP : i * STEP + ROWS]
        seconds, model = common.timed(PCAFactorModel().factor_model, window)
        times["pca"].append(seconds)
        for key, solver in (("pca_full", "full"), ("pca_rand", "randomized")):
            other = PCAFactorModel(svd_solver=solver)
            times[key].append(common.timed(other.factor_model, window)[0])
        times["expo"].append(common.timed(exposures.factor_model, window)[0])
        scaled = model.unit_scaled()
        seconds, cold = common.timed(bounded_min_variance, scaled, lower, upper)
        times["solve"].append(seconds)
        if start is not None:
            seconds, _ = common.timed(bounded_min_variance, scaled, lower, upper, start)
            times["resolve"].append(seconds)
        start = (cold.at_lower, cold.at_upper)
    for key, values in times.items():
        row[key] = float(np.median(values or times["solve"])) * 1e3
    row["k"] = model.n_factors
    row["cvxport"] = row["pca"] + row["resolve"]
    row["expo+res"] = row["expo"] + row["resolve"]
    window = returns.iloc[:ROWS]
    if n <= 2000:  # the same factor covariance as an n x n array: dense vs factor form
        model = PCAFactorModel().factor_model(window).unit_scaled()
        dense = model.dense()
        seconds, exact = median_ms(lambda: dense_min_variance(dense, lower, upper), 3)
        row["dense"] = seconds
        row["dense/solve"] = seconds / row["solve"]
        fast = bounded_min_variance(model, lower, upper).weights
        row["dw"] = float(np.max(np.abs(fast - exact.weights)))
    best = None
    wanted = {name for name, limit in peer_limits.items() if n <= limit}
    for name, call in peers(window, cap, wanted).items():
        row[name] = median_ms(call, 1 if n >= 1000 else 3)[0]
        best = row[name] if best is None else min(best, row[name])
    row["peer/cvx"] = None if best is None else best / row["cvxport"]
    return row


def growth(rows: list[dict], key: str) -> float:
    """Slope of log(time) on log(n): 1 is linear in n (n k with k fixed)."""
    n = np.log([r["n"] for r in rows])
    t = np.log([r[key] for r in rows])
    return float(np.polyfit(n, t, 1)[0])


def backtest(n: int, years: int) -> dict:
    """A daily backtest of n assets with monthly rebalances through the manager: minimum
    variance with 0 <= w <= 10 / n on a PCA factor model of the last 252 days (the ACTIVE_SET
    backend in factor form, warm-started)."""
    rows = 252 * years + 252
    returns = common.factor_returns(n, rows, seed=7)
    returns.index = pd.bdate_range("2014-01-01", periods=rows, name="timestamp")  # 252 a year
    prices = 100.0 * (1.0 + returns).cumprod()
    config = PortfolioConfig(
        symbols=list(prices.columns),
        allocation_method="minimum_variance",
        covariance=PCAFactorModel(),
        max_position_weight=10.0 / n,
        lookback=252,
        periods_per_year=252,
        initial_capital=1e6,
    )
    manager = PortfolioManager(config)  # the whole path: estimation, ACTIVE_SET in factor form
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    begin = time.perf_counter()
    result = manager.backtest(prices, progress=False)
    elapsed = time.perf_counter() - begin
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "assets": n,
        "bars": len(prices),
        "rebalances": int(result.metrics["n_rebalances"]),
        "total s": elapsed,
        "traced peak MiB": peak / 2**20,
        "process peak MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss before MiB": rss_before,
        "final equity": float(result.equity_curve.iloc[-1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 5000])
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--backtest-assets", type=int, default=1000)
    parser.add_argument("--backtest-years", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="n = 200, 500; small backtest")
    args = parser.parse_args()
    limits = {"pypfopt": 2000, "skfolio": 2000, "riskfolio": 1000}
    if args.quick:
        args.sizes, args.windows = [200, 500], 3
        args.backtest_assets, args.backtest_years = 200, 2
        limits = {"pypfopt": 200}
    common.limit_blas_threads(1)
    print(f"# factor-form minimum variance; {common.machine()}; one BLAS thread")
    # the backtest first: the process peak RSS is then its own (plus imports)
    result = backtest(args.backtest_assets, args.backtest_years)
    print("\n## backtest (PortfolioManager, PCA factor model, ACTIVE_SET in factor form)\n")
    print(common.table([result], [(k, ".1f" if isinstance(v, float) else "d")
                                  for k, v in result.items()]))  # fmt: skip
    rows = [measure(n, args.windows, limits) for n in args.sizes]
    print("\n## minimum variance, 0 <= w <= 10/n (ms, medians)\n")
    columns = [("n", "d"), ("k", "d"), ("pca", ".1f"), ("pca_full", ".1f"),
               ("pca_rand", ".1f"), ("expo", ".1f"),
               ("solve", ".2f"), ("resolve", ".2f"), ("cvxport", ".1f"), ("expo+res", ".1f"),
               ("dense", ".1f"), ("dense/solve", ".0f"), ("pypfopt", ".0f"), ("skfolio", ".0f"),
               ("riskfolio", ".0f"), ("peer/cvx", ".1f"), ("dw", ".1e")]  # fmt: skip
    print(common.table(rows, columns))
    if len(rows) > 1:
        print(
            f"\ngrowth of time with n (log-log slope, 1 = linear): resolve "
            f"{growth(rows, 'resolve'):.2f}, solve {growth(rows, 'solve'):.2f}, pca "
            f"{growth(rows, 'pca'):.2f}, cvxport {growth(rows, 'cvxport'):.2f}, "
            f"expo+res {growth(rows, 'expo+res'):.2f}"
        )


if __name__ == "__main__":
    main()
