"""Reliability of the modeling layer (issue 9): each case found by probing gets a named error
or a correct answer, checked here against closed forms or independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL, returns_with_covariance

import cvxport as cx

# --- maximum Sharpe on badly scaled assets ---------------------------------------------------
# Uncorrelated assets: the long-only tangency portfolio is w_i ~ max(mu_i, 0) / sigma_i^2 (the
# KKT conditions separate per asset), whatever each asset's scale.
VOLS = np.array([0.02, 0.03, 0.01])
SCALES = np.array([1e-6, 1e3, 1.0])  # x in millionths, y in thousands, z as is


def _badly_scaled(means) -> pd.DataFrame:
    base = returns_with_covariance(np.diag(VOLS**2), 300, seed=3, columns=["x", "y", "z"])
    return (base + np.asarray(means)) * SCALES


def _uncorrelated_tangency(returns: pd.DataFrame) -> np.ndarray:
    mean, variance = returns.mean().to_numpy(), returns.var().to_numpy()
    weights = np.maximum(mean, 0.0) / variance
    return weights / weights.sum()


@pytest.mark.parametrize(
    "means",
    [
        (1e-3, -1e-3, -2e-3),  # only x (scaled 1e-6) beats the risk-free rate
        (1e-3, -1e-3, 5e-4),  # x and z do; x's Sharpe ratio is the larger
        (1e-3, 2e-3, 5e-4),
    ],
)
def test_max_sharpe_badly_scaled_assets_exact_path(means):
    # main said "no portfolio ... has an expected return above the risk-free rate (best single
    # asset: 'x' ...)" for the first case and was 0.47 off for the second
    returns = _badly_scaled(means)
    allocator = cx.MaximumSharpeAllocator()
    weights = allocator.allocate(returns)
    assert allocator.info_.solver == "ACTIVE_SET"
    np.testing.assert_allclose(weights, _uncorrelated_tangency(returns), rtol=0, atol=1e-12)


def test_max_sharpe_badly_scaled_cvxpy_path_names_no_false_infeasibility():
    # the cvxpy path once divided the excess means by max |excess| (y's loss, 1e3 scale): x's
    # excess became 1e-9 and Clarabel called the row infeasible. Now the best asset's is 1.
    returns = _badly_scaled((1e-3, -1e-3, -2e-3))
    weights = cx.MaximumSharpeAllocator(method="cvxpy").allocate(returns)
    np.testing.assert_allclose(
        weights, _uncorrelated_tangency(returns), rtol=0, atol=SOLVER_ATOL["CLARABEL"]
    )
