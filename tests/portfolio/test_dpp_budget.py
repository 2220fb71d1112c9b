"""Cone programs whose parametrized (DPP) compile would take gigabytes are compiled with their
values at every solve instead (``cvxpy_backend.compiles_without_dpp``); LPs and QPs keep DPP.

Measured on cvxpy 1.9: a tracking-error limit (a norm of an (n + 1, n) Parameter times the
weights) needed 7.5 GB to compile at n = 1000 and raised a raw MemoryError."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd

import cvxport as cx
from cvxport.solvers.cvxpy_backend import DPP_MEMORY_BUDGET, compiles_without_dpp


def _returns(n: int, periods: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    factors = rng.normal(0.0, 0.01, (periods, 4)) @ rng.normal(1.0, 0.3, (4, n))
    return pd.DataFrame(
        factors + rng.normal(0.0, 0.01, (periods, n)),
        index=pd.date_range("2022-01-03", periods=periods, freq="D"),
        columns=[f"A{i:03d}" for i in range(n)],
    )


def test_large_cone_program_compiles_without_dpp_and_solves():
    n = 400
    returns = _returns(n, 2 * n, seed=1)
    benchmark = dict.fromkeys(returns.columns, 1.0 / n)
    limit = 0.002  # per-period tracking error, fraction of NAV; binds at this size
    allocator = cx.MinimumVarianceAllocator(
        solver="CLARABEL",
        constraints=[cx.WeightBounds(0.0, 0.1), cx.RiskLimit(cx.TrackingError(benchmark), limit)],
    )
    for shift in (0, 5):  # a re-solve on the next window as well
        window = returns.iloc[shift:]
        weights = allocator.allocate(window)
        assert allocator.info_.solver == "CLARABEL" and allocator.info_.status == "optimal"
        # the limit binds and holds, measured by the definition (ddof 1) within 1e-8 relative
        achieved = cx.TrackingError(benchmark).value(weights, window)
        assert abs(achieved - limit) <= 1e-8 * limit
    problem = next(iter(allocator._problems.values())).problem
    assert compiles_without_dpp(problem)


def test_lps_qps_and_small_cone_programs_keep_dpp():
    w = cp.Variable(300)
    scenarios = cp.Parameter((1000, 300), value=np.zeros((1000, 300)))
    lp = cp.Problem(cp.Minimize(cp.sum(cp.pos(-(scenarios @ w)))), [cp.sum(w) == 1, w >= 0])
    assert lp.is_qp() and not compiles_without_dpp(lp)
    factor = cp.Parameter((51, 50), value=np.eye(51, 50))
    v = cp.Variable(50)
    small = cp.Problem(cp.Minimize(cp.norm(factor @ v)), [cp.sum(v) == 1])
    assert 8 * factor.size * v.size < DPP_MEMORY_BUDGET and not compiles_without_dpp(small)
