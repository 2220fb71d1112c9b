"""FactorExposureLimits: the exposure row binds where it should, in every method's scaling,
agrees with a plain cvxpy problem, and names what is wrong."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import cvxport as cx
from cvxport.constraints import FactorExposureLimits
from cvxport.errors import InvalidInputError

ATOL = 5e-6  # SOLVER_ATOL["CLARABEL"]: the plain problem is solved by Clarabel


def betas(returns: pd.DataFrame) -> pd.Series:
    market = returns["BTC/USDT"]
    return returns.apply(lambda r: np.cov(r, market)[0, 1] / market.var())


def test_exposure_limit_binds_and_matches_plain_cvxpy(crypto_2021):
    beta = betas(crypto_2021)
    limit = FactorExposureLimits("beta", beta, upper=0.9)
    weights = cx.MinimumVarianceAllocator(constraints=[limit]).allocate(crypto_2021)
    assert float(beta @ weights) == pytest.approx(0.9, abs=1e-9)  # binds (0.96 without it)
    free = cx.MinimumVarianceAllocator().allocate(crypto_2021)
    assert float(beta @ free) > 0.9 + 1e-3
    S = np.cov(crypto_2021.to_numpy(), rowvar=False)
    S /= np.mean(np.diag(S))
    w = cp.Variable(len(beta))
    rows = [cp.sum(w) == 1, w >= 0, beta.to_numpy() @ w <= 0.9]
    cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(S))), rows).solve(
        solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10
    )
    assert np.max(np.abs(weights.to_numpy() - w.value)) <= ATOL


def test_exposure_limit_is_homogeneous_in_the_scale(crypto_2021):
    beta = betas(crypto_2021)
    lower, upper = 0.95, 1.0
    for limit in FactorExposureLimits.from_frame(beta.to_frame("beta"), {"beta": (lower, upper)}):
        for allocator in (
            cx.MaximumSharpeAllocator(constraints=[limit]),
            cx.RiskParityAllocator(constraints=[limit]),
        ):
            exposure = float(beta @ allocator.allocate(crypto_2021))
            assert lower - 1e-6 <= exposure <= upper + 1e-6, type(allocator).__name__


def test_exposure_limits_are_plain_hashable_values():
    a = FactorExposureLimits("size", {"A": 1.0, "B": -0.5}, lower=-0.2)
    b = FactorExposureLimits("size", pd.Series({"B": -0.5, "A": 1.0}), lower=-0.2)
    assert a == b and hash(a) == hash(b) and "size" in repr(a)
    with pytest.raises(InvalidInputError, match="exposure of 'B' is not finite"):
        FactorExposureLimits("size", {"A": 1.0, "B": np.nan})
    with pytest.raises(InvalidInputError, match="lower <= upper"):
        FactorExposureLimits("size", {"A": 1.0}, lower=1.0, upper=0.0)
    with pytest.raises(InvalidInputError, match="no exposure of 'C' to 'size'"):
        a.validate(pd.Index(["A", "B", "C"]))
    with pytest.raises(InvalidInputError, match="factor 'value'"):
        FactorExposureLimits.from_frame(pd.DataFrame({"size": [1.0]}, ["A"]), {"value": (0, 1)})
