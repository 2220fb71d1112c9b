"""One BLAS thread or all of them? The dense linear algebra of an allocation, by size.

For each n (synthetic factor-model daily returns, T = max(2n, 500) rows), the median time of:

- ``estimate``: sample covariance + PSD check (Cholesky) + unit scaling, as the allocators do;
- ``pca``: the principal-components factor model (``PCAFactorModel``, Bai-Ng rule);
- ``solve``: the dense bounded minimum-variance active set (Cholesky of the free block);

with BLAS limited to one thread and with the default (every core), in alternation on the same
data. ``1t/all`` > 1 means the single thread is slower. ``cvxport.threads`` takes its default
size threshold from this table (the smallest n from which all threads win on estimation).

Usage: ``python benchmarks/bench_threads.py [--sizes 100 500 2000] [--repeats 7] [--quick]``
"""

from __future__ import annotations

import argparse
import time

import common
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from cvxport.estimation import PCAFactorModel, SampleCovariance, clip_to_psd, unit_scaled
from cvxport.solvers.active_set import ActiveSetError, bounded_min_variance


def tasks(returns):
    n = returns.shape[1]
    covariance = unit_scaled(clip_to_psd(SampleCovariance().estimate(returns)))
    lower, upper = np.zeros(n), np.full(n, min(1.0, 5.0 / n))
    return {
        "estimate": lambda: unit_scaled(clip_to_psd(SampleCovariance().estimate(returns))),
        "pca": lambda: PCAFactorModel().factor_model(returns),
        "solve": lambda: bounded_min_variance(covariance, lower, upper),
    }


def measure(sizes, repeats):
    rows = []
    for n in sizes:
        returns = common.factor_returns(n, max(2 * n, 500), seed=n)
        for name, task in tasks(returns).items():
            times = {1: [], None: []}
            try:
                for _ in range(repeats):
                    for threads in (1, None):  # alternate: load changes hit both alike
                        limiter = threadpool_limits(limits=threads, user_api="blas")
                        start = time.perf_counter()
                        try:
                            task()
                        finally:
                            limiter.restore_original_limits()
                        times[threads].append(time.perf_counter() - start)
            except ActiveSetError as exc:  # the cold dense active set at n = 5000, 0 <= w <= 5/n
                print(f"  n = {n} {name}: failed ({exc})", flush=True)  # stopped at 500 steps
                continue
            one, every = np.median(times[1]) * 1e3, np.median(times[None]) * 1e3
            rows.append({"n": n, "task": name, "1 thread ms": one, "all ms": every,
                         "1t/all": one / every})  # fmt: skip
            print(f"  {rows[-1]}", flush=True)  # each task as it ends: a long run keeps them
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 250, 500, 1000, 2000])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="n = 100, 250; 2 repeats")
    args = parser.parse_args()
    sizes, repeats = ([100, 250], 2) if args.quick else (args.sizes, args.repeats)
    blas = [f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)"
            for i in threadpool_info() if i["user_api"] == "blas"]  # fmt: skip
    print(f"# BLAS threads by size; {common.machine()}; {', '.join(blas)}")
    rows = measure(sizes, repeats)
    columns = [("n", "d"), ("task", "s"), ("1 thread ms", ".1f"), ("all ms", ".1f"),
               ("1t/all", ".2f")]  # fmt: skip
    print(common.table(rows, columns))


if __name__ == "__main__":
    main()
