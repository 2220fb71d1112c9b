"""Maximum Sharpe under caps and group limits on ACTIVE_SET where the block updates of
``qp_kernel`` cycle on the Charnes-Cooper QP (the caps are rows y <= cap sum(y) there): the
parametric path of ``active_set_backend.solve_by_path`` solves it exactly, with no fallback.

Before it, the last 365 days of the bundled data under WeightBounds(0, 0.3) and a BTC + ETH
group at 0.5 raised "the working set repeats (cycling) with general rows" and the default
chain fell back to Clarabel; so did 13 of 69 feasible random draws of this file's kind.

Tolerances: weights within ``SOLVER_ATOL['CLARABEL']`` (5e-6, conftest) of Clarabel at
``SOLVER_OPTIONS``; the kernel's KKT residual within KKT_ATOL per unit of kappa; the LP
certificate from the weights alone within CERTIFICATE_ATOL (test_active_set_l1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_active_set_l1 import CERTIFICATE_ATOL, certificate

import cvxport as cx
from cvxport.solvers import active_set_backend
from cvxport.solvers.qp_kernel import DenseQP

ATOL = SOLVER_ATOL["CLARABEL"]
# the kernel's KKT residual: its primal part is in the units of the Charnes-Cooper y = kappa w,
# kappa = 1 / (m'w) for m the excess means over the largest (the allocator's scaling), which
# reaches 700 in bear windows (one positive mean, 2022-23): 1e-9 per unit of kappa (as
# test_l1_sharpe's 1e-9 at scale 1; measured up to 1.1e-8 at kappa = 740, 1.5e-11 a unit)
KKT_ATOL = 1e-9
NO_L1 = 1e6  # an L1 limit no portfolio of these bounds reaches: the certificate's row is slack


def sharpe_certificate(returns: pd.DataFrame, constraints, weights: np.ndarray) -> float:
    """The stationarity residual of the weights as the optimum of min w'Sw - t m'w over the
    bounds, group rows and sum(w) = 1 at t = 2 w'Sw / m'w (maximum Sharpe's condition; S the
    sample covariance scaled to unit mean variance, m the mean returns scaled to max 1)."""
    S = np.cov(returns.to_numpy(), rowvar=False)
    S /= np.mean(np.diag(S))
    m = returns.mean().to_numpy(copy=True)
    m /= np.abs(m).max()
    n = len(m)
    bounds = next(c for c in constraints if isinstance(c, cx.WeightBounds))
    G = np.array([returns.columns.isin(c.symbols) for c in constraints if c is not bounds], float)
    h = np.array([c.upper for c in constraints if c is not bounds])
    t = 2.0 * weights @ S @ weights / (m @ weights)
    qp = DenseQP(
        S, -t * m, np.ones((1, n)), np.ones(1), G.reshape(-1, n), h,
        np.full(n, float(bounds.lower)), np.full(n, float(bounds.upper)),
    )  # fmt: skip
    return certificate(qp, np.zeros(n), NO_L1, weights)


def assert_exact_without_fallback(returns: pd.DataFrame, constraints) -> bool:
    """The default chain answers on ACTIVE_SET, certified and within ATOL of Clarabel;
    False where Clarabel finds no answer (nothing to compare)."""
    reference = cx.MaximumSharpeAllocator(constraints=constraints, solver="CLARABEL")
    try:
        expected = reference.allocate(returns).to_numpy()
    except cx.CvxportError:
        return False
    exact = cx.MaximumSharpeAllocator(constraints=constraints)
    weights = exact.allocate(returns).to_numpy()
    assert exact.info_.solver == "ACTIVE_SET", exact.info_.fallback_from
    assert exact.info_.fallback_from == []
    excess = exact.excess_mean(returns)
    kappa = max(1.0, float(excess.max() / (excess @ weights)))  # sum(y) at the answer
    assert exact.info_.kkt_residual <= KKT_ATOL * kappa
    assert np.max(np.abs(weights - expected)) <= ATOL
    assert sharpe_certificate(returns, constraints, weights) <= CERTIFICATE_ATOL
    return True


def test_the_reviewers_cycling_window_solves_on_the_path(crypto_returns, monkeypatch):
    """The reproduction: the kernel cycles, the path answers (its calls counted through the
    real function), on the named backend as on the default chain."""
    calls = []
    real = active_set_backend.solve_by_path

    def counted(qp):
        calls.append(len(qp.c))
        return real(qp)

    monkeypatch.setattr(active_set_backend, "solve_by_path", counted)
    returns = crypto_returns.iloc[-365:]
    constraints = [cx.WeightBounds(0.0, 0.3), cx.GroupLimits(("BTC/USDT", "ETH/USDT"), 0.0, 0.5)]
    named = cx.MaximumSharpeAllocator(constraints=constraints, solver="ACTIVE_SET")
    weights = named.allocate(returns).to_numpy()
    assert calls == [returns.shape[1]]  # the block updates cycled on this window
    assert named.info_.solver == "ACTIVE_SET" and named.info_.kkt_residual <= 1e-9
    assert weights.max() <= 0.3 + 1e-12 and weights[:2].sum() <= 0.5 + 1e-12
    assert abs(weights.sum() - 1.0) <= 1e-12
    assert assert_exact_without_fallback(returns, constraints)
    # the working set reached warm-starts the next window: the kernel settles, no path
    before = len(calls)
    named.allocate(crypto_returns.iloc[-366:-1])
    assert named.info_.solver == "ACTIVE_SET" and named.info_.kkt_residual <= 1e-9
    assert len(calls) == before and named.info_.iterations <= 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_random_windows_caps_and_groups_solve_without_fallback(crypto_returns, seed):
    """A random window (120-365 days) of the bundled data, caps from 1.5 / n to 0.6 and 0-2
    group rows of 2-4 random symbols each capped at 0.2-0.8."""
    rng = np.random.default_rng(seed)
    length = int(rng.integers(120, 366))
    end = int(rng.integers(length, len(crypto_returns) + 1))
    returns = crypto_returns.iloc[end - length : end]
    symbols = list(returns.columns)
    constraints = [cx.WeightBounds(0.0, float(rng.uniform(1.5 / len(symbols), 0.6)))]
    for _ in range(int(rng.integers(0, 3))):
        group = tuple(rng.choice(symbols, size=int(rng.integers(2, 5)), replace=False))
        constraints.append(cx.GroupLimits(group, 0.0, float(rng.uniform(0.2, 0.8))))
    assert_exact_without_fallback(returns, constraints)


def test_beyond_path_max_the_cycling_error_stands(monkeypatch, crypto_returns):
    """Above PATH_MAX assets the path is not tried: the named backend raises the kernel's
    cycling as a SolverError naming ACTIVE_SET (the default chain then asks cvxpy)."""
    monkeypatch.setattr(active_set_backend, "PATH_MAX", 5)
    returns = crypto_returns.iloc[-365:]
    constraints = [cx.WeightBounds(0.0, 0.3), cx.GroupLimits(("BTC/USDT", "ETH/USDT"), 0.0, 0.5)]
    named = cx.MaximumSharpeAllocator(constraints=constraints, solver="ACTIVE_SET")
    with pytest.raises(cx.SolverError, match=r"ACTIVE_SET.*cycling"):
        named.allocate(returns)
