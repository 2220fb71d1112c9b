"""The factor models on real data a peer ships: skfolio's S&P 500 and factor ETF datasets.

skfolio bundles daily prices of 20 S&P 500 stocks and 9 factor ETFs (``skfolio.datasets``,
read from the installed package, no download). On the last 2 years: minimum variance with
0 <= w <= 20% through the dense sample covariance, a PCA factor model and an exposure model
(each stock's betas on the 9 factor ETFs, by time-series least squares), every one solved by
ACTIVE_SET; PyPortfolioOpt and skfolio on the sample covariance beside them; the weight gap of
each factor model's answer against the same model's dense matrix solved by Clarabel (exactness)
and the in-sample volatility of every answer (what the factor model changes). One BLAS thread.

Usage: ``python benchmarks/bench_skfolio_data.py [--repeats 7] [--quick]``
"""

from __future__ import annotations

import argparse

import common
import numpy as np
import pandas as pd

import cvxport as cx

CAP = 0.2


def datasets() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(stock returns, factor returns) of the last 2 years, simple daily fractions."""
    from skfolio.datasets import load_factors_dataset, load_sp500_dataset

    stocks = load_sp500_dataset().pct_change().dropna().iloc[-504:]
    factors = load_factors_dataset().pct_change().dropna().reindex(stocks.index).dropna()
    return stocks.loc[factors.index], factors


def betas(stocks: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Each stock's exposures (symbols x factors) by least squares with an intercept."""
    design = np.column_stack([np.ones(len(factors)), factors.to_numpy()])
    coefficients, *_ = np.linalg.lstsq(design, stocks.to_numpy(), rcond=None)
    return pd.DataFrame(coefficients[1:].T, index=stocks.columns, columns=factors.columns)


class Dense:
    """A factor model's dense matrix (the same covariance, for the exactness check)."""

    def __init__(self, model) -> None:
        self.model = model

    def estimate(self, returns):
        return self.model.factor_model(returns).dense()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 2
    common.limit_blas_threads(1)
    try:
        stocks, factors = datasets()
    except ImportError:
        print("skfolio is not installed (pip install -e '.[bench]'): nothing to measure")
        return
    bounds = [cx.WeightBounds(0.0, CAP)]
    models = {
        "sample": "sample",
        "pca": cx.PCAFactorModel(n_factors=3),
        "exposures": cx.ExposureFactorModel(betas(stocks, factors)),
    }
    sample = stocks.cov().to_numpy()
    rows = []
    for name, covariance in models.items():
        allocator = cx.MinimumVarianceAllocator(covariance=covariance, constraints=bounds)
        allocator.allocate(stocks)
        seconds = [common.timed(allocator.allocate, stocks)[0] for _ in range(args.repeats)]
        weights = allocator.allocate(stocks).to_numpy()
        gap = 0.0
        if name != "sample":
            dense = cx.MinimumVarianceAllocator(
                covariance=Dense(covariance), constraints=bounds, solver="CLARABEL"
            )
            gap = float(np.max(np.abs(dense.allocate(stocks).to_numpy() - weights)))
        rows.append(
            {
                "contender": f"cvxport {name}",
                "backend": allocator.info_.solver,
                "ms": 1e3 * float(np.median(seconds)),
                "gap vs dense Clarabel": gap,
                "vol % (sample, annual)": 100 * float(np.sqrt(weights @ sample @ weights * 252)),
            }
        )
    for name, call in peer_calls(stocks).items():
        call()
        seconds = [common.timed(call)[0] for _ in range(args.repeats)]
        weights = np.asarray(call(), dtype=float)
        rows.append(
            {
                "contender": name,
                "backend": "-",
                "ms": 1e3 * float(np.median(seconds)),
                "gap vs dense Clarabel": float("nan"),
                "vol % (sample, annual)": 100 * float(np.sqrt(weights @ sample @ weights * 252)),
            }
        )
    print(f"# skfolio datasets: {stocks.shape[1]} stocks, {factors.shape[1]} factor ETFs, "
          f"{len(stocks)} days to {stocks.index[-1].date()}; {common.machine()}")  # fmt: skip
    columns = [("contender", "s"), ("backend", "s"), ("ms", ".2f"),
               ("gap vs dense Clarabel", ".1e"), ("vol % (sample, annual)", ".3f")]  # fmt: skip
    print(common.table(rows, columns))


def peer_calls(stocks: pd.DataFrame) -> dict:
    """PyPortfolioOpt and skfolio minimum variance on the sample covariance (weights out)."""
    from pypfopt import EfficientFrontier
    from skfolio import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    def pypfopt_call():
        weights = EfficientFrontier(None, stocks.cov(), weight_bounds=(0, CAP)).min_volatility()
        return [weights[s] for s in stocks.columns]

    def skfolio_call():
        model = MeanRisk(
            objective_function=ObjectiveFunction.MINIMIZE_RISK,
            risk_measure=RiskMeasure.VARIANCE,
            min_weights=0.0,
            max_weights=CAP,
        )
        return model.fit(stocks.to_numpy()).weights_

    return {"PyPortfolioOpt": pypfopt_call, "skfolio": skfolio_call}


if __name__ == "__main__":
    main()
