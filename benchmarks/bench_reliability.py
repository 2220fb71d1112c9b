"""What the reliability checks cost, and proportional capping against the Euclidean projection.

Per call, on synthetic factor-model returns (``common.factor_returns``), one BLAS thread:

- ``time order``: ``validate_returns``' repeated / out-of-order timestamp check on the window;
- ``bound objects``: ``check_bound_objects`` over LongOnly + two WeightBounds;
- ``zero variance``: ``zero_variance_long_only`` on the unit-scaled sample covariance (the
  risk-budget guard; a positive definite covariance is settled by one Cholesky factor), beside
  the whole ``RiskParityAllocator.allocate`` it guards;
- ``capping``: ``MarketCapAllocator`` under ``WeightBounds(0, cap)`` by ``capping='proportional'``
  (exact breakpoint walk) and ``'projection'`` (the cvxpy projection, built once, re-solved),
  with the largest weight each moves relative to the other.

Medians over ``--repeats`` calls. Usage:
``python benchmarks/bench_reliability.py [--sizes 100 500 1000] [--repeats 20] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics

import common
import numpy as np

import cvxport as cx
from cvxport.constraints.bound_conflicts import check_bound_objects
from cvxport.estimation import unit_scaled
from cvxport.estimation.psd import zero_variance_long_only
from cvxport.estimation.validation import check_time_order


def median_ms(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    return 1e3 * statistics.median(common.timed(fn)[0] for _ in range(repeats))


def measure(n: int, repeats: int) -> dict:
    """One row of the table for n assets (window 2n rows, so the covariance is full rank)."""
    returns = common.factor_returns(n, 2 * n, seed=n)
    assets = returns.columns
    bounds = (cx.LongOnly(), cx.WeightBounds(0.0, 0.2), cx.WeightBounds(upper={assets[0]: 0.1}))
    covariance = unit_scaled(returns.cov().to_numpy())
    caps = dict(zip(assets, np.random.default_rng(n).lognormal(0, 2, n), strict=True))
    cap = 5.0 / n  # several names above it
    proportional = cx.MarketCapAllocator(
        caps, constraints=[cx.WeightBounds(0, cap)], capping="proportional"
    )
    projection = cx.MarketCapAllocator(caps, constraints=[cx.WeightBounds(0, cap)])
    projection.allocate(returns)  # build and compile once
    gap = float((proportional.allocate(returns) - projection.allocate(returns)).abs().max())
    parity = cx.RiskParityAllocator()
    return {
        "n": n,
        "time order ms": median_ms(lambda: check_time_order(returns.index), repeats),
        "bound objects ms": median_ms(lambda: check_bound_objects(bounds, assets), repeats),
        "zero variance ms": median_ms(lambda: zero_variance_long_only(covariance), repeats),
        "risk parity ms": median_ms(lambda: parity.allocate(returns), repeats),
        "proportional ms": median_ms(lambda: proportional.allocate(returns), repeats),
        "projection ms": median_ms(lambda: projection.allocate(returns), repeats),
        "ratio": None,
        "max |gap|": gap,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="n = 50 and 100, 3 repeats")
    args = parser.parse_args()
    sizes, repeats = ([50, 100], 3) if args.quick else (args.sizes, args.repeats)
    common.limit_blas_threads(1)
    print(common.machine())
    print(common.versions())
    rows = []
    for n in sizes:
        row = measure(n, repeats)
        row["ratio"] = row["projection ms"] / row["proportional ms"]
        rows.append(row)
    columns = [
        ("n", "d"),
        ("time order ms", ".3f"),
        ("bound objects ms", ".3f"),
        ("zero variance ms", ".2f"),
        ("risk parity ms", ".1f"),
        ("proportional ms", ".2f"),
        ("projection ms", ".1f"),
        ("ratio", ".0f"),
        ("max |gap|", ".3f"),
    ]
    print(common.table(rows, columns))
    print("ratio: projection time / proportional time; max |gap|: largest weight difference")


if __name__ == "__main__":
    main()
