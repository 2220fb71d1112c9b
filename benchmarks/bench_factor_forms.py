"""The efficient frontier and mean-risk allocation on a factor model: factor form vs the dense
form of the same covariance, at n = 500, 1000, 2000 (synthetic returns with a known factor
structure, ``common.factor_returns``; T = 500 daily rows).

One PCA factor model (``PCAFactorModel``, Bai-Ng factors) is estimated once per size; the
factor form is given that model, the dense form its n x n matrix (estimation not timed, the
same covariance in both). Per size (ms, medians over ``--repeats`` runs; the dense form's
slowest cases once):

- ``frontier``: ``EfficientFrontier(...).calculate(20)`` with 0 <= w <= 10/n, a fresh object
  each run (problems built and 20 points plus both ends solved): factor form (points by the
  exact ACTIVE_SET backend, the LP by Clarabel) vs dense form (Clarabel on the constant n x n
  matrix, the frontier's only dense path);
- ``mv_target``: ``MeanRiskAllocator(Variance(), target_return=...)`` re-solved (the problem
  built once), 0 <= w <= 10/n, default chain (ACTIVE_SET on both forms: Woodbury vs Cholesky);
- ``sd_limit``: ``MeanRiskAllocator(Variance(), 'max_return', max_risk=...)``, a second-order
  cone row, Clarabel on both forms (factor form vs ``covariance_factor`` n x n). The dense
  form only up to ``--dense-cone-limit`` assets (1000): cvxpy's DPP compile of an n x n
  Parameter times the weights holds an n^3 tensor (at n = 2000 it asked for 59.7 GiB and
  failed), and a shared machine's OOM killer may take another process first;
- ``dw``: the largest weight difference between the two forms over all of the above.

Every contender runs with one BLAS thread. ``dense/factor``: the ratio of times.

Usage: ``python benchmarks/bench_factor_forms.py [--sizes 500 1000 2000] [--quick]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import common
import numpy as np
import pandas as pd

from cvxport import EfficientFrontier, MeanRiskAllocator, Variance, WeightBounds
from cvxport.estimation import FactorModel, PCAFactorModel

ROWS, POINTS = 500, 20


class GivenFactorModel:
    """A covariance estimator giving one precomputed factor model."""

    def __init__(self, model: FactorModel) -> None:
        self.model = model

    def factor_model(self, returns: pd.DataFrame) -> FactorModel:
        return self.model

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:  # pragma: no cover - not used
        raise RuntimeError("the factor form must not ask for the dense matrix")


class GivenDense:
    """A covariance estimator giving one precomputed (n, n) matrix."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        return self.matrix


def median_ms(fn, repeats: int) -> tuple[float, object]:
    """(median milliseconds over ``repeats`` calls, the last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3, result


def frontier(returns, estimator, n):
    bounds = [WeightBounds(0.0, 10.0 / n)]
    return EfficientFrontier(returns, bounds, covariance=estimator).calculate(POINTS)


def mean_risk(returns, estimator, n, repeats, **kwargs):
    """(median ms of a re-solve, weights) for MeanRiskAllocator(Variance(), **kwargs)."""
    allocator = MeanRiskAllocator(
        Variance(), covariance=estimator, constraints=[WeightBounds(0.0, 10.0 / n)], **kwargs
    )
    allocator.allocate(returns)  # builds the problem
    return median_ms(lambda: allocator.allocate(returns).to_numpy(), repeats)


def run(n: int, repeats: int, dense_repeats: int, cone_limit: int) -> dict:
    returns = common.factor_returns(n, ROWS, seed=n)
    model = PCAFactorModel().factor_model(returns)
    fast, slow = GivenFactorModel(model), GivenDense(model.dense())
    row: dict = {"n": n, "k": model.n_factors}
    dw = 0.0
    row["frontier_factor"], ours = median_ms(lambda: frontier(returns, fast, n), repeats)
    row["frontier_dense"], theirs = median_ms(lambda: frontier(returns, slow, n), dense_repeats)
    columns = list(returns.columns)
    dw = max(dw, float(np.max(np.abs(ours[columns].to_numpy() - theirs[columns].to_numpy()))))
    target = float(np.quantile(returns.mean(), 0.75))
    variance = float(np.median(model.variances()))
    for name, kwargs, slow_repeats in (
        ("mv_target", {"target_return": target}, repeats),
        ("sd_limit", {"objective": "max_return", "max_risk": 0.5 * variance}, dense_repeats),
    ):
        row[f"{name}_factor"], ours = mean_risk(returns, fast, n, repeats, **kwargs)
        if name == "sd_limit" and n > cone_limit:
            continue
        row[f"{name}_dense"], theirs = mean_risk(returns, slow, n, slow_repeats, **kwargs)
        dw = max(dw, float(np.max(np.abs(ours - theirs))))
    for name in ("frontier", "mv_target", "sd_limit"):
        if f"{name}_dense" in row:
            row[f"{name} dense/factor"] = row[f"{name}_dense"] / row[f"{name}_factor"]
    row["dw"] = dw
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dense-repeats", type=int, default=1)
    parser.add_argument("--dense-cone-limit", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="n = 100, one run each")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeats, args.dense_repeats = [100], 1, 1
    common.limit_blas_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    print(f"# frontier and mean-risk, factor vs dense form; {common.machine()}; one BLAS thread")
    print(f"# {common.versions()}")
    rows = []
    for n in args.sizes:
        rows.append(run(n, args.repeats, args.dense_repeats, args.dense_cone_limit))
        print(f"  {rows[-1]}", flush=True)  # each size as it ends (n = 2000 dense is slow)
    columns = [("n", "d"), ("k", "d"), ("frontier_factor", ".0f"), ("frontier_dense", ".0f"),
               ("frontier dense/factor", ".1f"), ("mv_target_factor", ".1f"),
               ("mv_target_dense", ".1f"), ("mv_target dense/factor", ".1f"),
               ("sd_limit_factor", ".0f"), ("sd_limit_dense", ".0f"),
               ("sd_limit dense/factor", ".1f"), ("dw", ".1e")]  # fmt: skip
    print(common.table(rows, columns))


if __name__ == "__main__":
    main()
