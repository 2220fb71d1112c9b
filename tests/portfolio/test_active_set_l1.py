"""ACTIVE_SET with one L1 row (TurnoverLimit, GrossExposure): exact against a tight reference
solve, a KKT certificate recomputed from the weights alone, warm starts, refusals, a backtest.

Tolerances: weights within ``SOLVER_ATOL['CLARABEL']`` (5e-6, conftest) of the reference
(``tight_reference``: SCS at 1e-12, else Clarabel at ``SOLVER_OPTIONS``); the certificate's
stationarity residual within CERTIFICATE_ATOL.
"""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from tight_reference import solve_reference

import cvxport as cx
from cvxport.allocators.risk_model import estimate_covariance
from cvxport.data import BUNDLED_SYMBOLS, load_bundled_prices
from cvxport.estimation import unit_scaled
from cvxport.solvers import active_set_backend
from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.l1_kernel import L1Row, solve_l1_qp
from cvxport.solvers.qp_kernel import DenseQP

ATOL = SOLVER_ATOL["CLARABEL"]
ACTIVE = 1e-9  # a bound, row or breakpoint counts as held within this (weight units)
# the certificate's stationarity residual: the exact answers give 1e-15 to 1e-12 (measured on
# these tests' problems); the active sets are read at ACTIVE, which moves it by about S * ACTIVE
CERTIFICATE_ATOL = 1e-8


def certificate(qp: DenseQP, center: np.ndarray, limit: float, x: np.ndarray) -> float:
    """The smallest max |stationarity residual| over multipliers with the KKT signs, found by
    an LP from x alone (n,): E rows free, held G rows >= 0, bounds >= 0 on the held side, the
    L1 row's nu >= 0 (only if the row is tight) and, at a breakpoint, -nu <= eta_i <= nu
    (the subgradient nu * [-1, 1]); elsewhere nu * sign(z_i), z = x - center. Also checks
    the primal conditions (AssertionError)."""
    n = len(x)
    terms = np.eye(n)  # column i: dz_i
    z = x - center
    assert np.all(x >= qp.lower - ACTIVE) and np.all(x <= qp.upper + ACTIVE)
    assert np.allclose(qp.E @ x, qp.e, atol=ACTIVE, rtol=0)
    assert np.all(qp.G @ x <= qp.h + ACTIVE)
    traded = np.abs(z).sum()
    assert traded <= limit + ACTIVE
    gradient = 2.0 * qp.S @ x + qp.c
    columns, bounds = [], []  # stationarity: gradient + sum_k column_k * multiplier_k = 0
    for row in qp.E:
        columns.append(row), bounds.append((None, None))
    for row, rhs in zip(qp.G, qp.h, strict=True):
        if row @ x >= rhs - ACTIVE:
            columns.append(row), bounds.append((0, None))
    for i in range(n):
        if x[i] <= qp.lower[i] + ACTIVE:
            columns.append(-np.eye(n)[i]), bounds.append((0, None))
        if x[i] >= qp.upper[i] - ACTIVE:
            columns.append(np.eye(n)[i]), bounds.append((0, None))
    at_break = np.abs(z) <= ACTIVE
    tight = traded >= limit - ACTIVE
    sign = np.where(at_break, 0.0, np.sign(z))
    nu_column = terms @ sign
    columns.append(nu_column), bounds.append((0, None if tight else 0))
    n_mult = len(columns)
    breaks = np.flatnonzero(at_break) if tight else []
    for i in breaks:
        columns.append(terms[:, i]), bounds.append((None, None))  # eta_i
    A = np.column_stack(columns)
    m = A.shape[1]
    # variables: multipliers (m), residual bound t; minimize t
    cost = np.r_[np.zeros(m), 1.0]
    upper_rows = np.column_stack([A, -np.ones(n)])  # gradient + A y <= t
    lower_rows = np.column_stack([-A, -np.ones(n)])  # -(gradient + A y) <= t
    rows, rhs = [upper_rows, lower_rows], [-gradient, gradient]
    for k, _ in enumerate(breaks):  # |eta| <= nu
        for s in (1.0, -1.0):
            row = np.zeros(m + 1)
            row[n_mult + k], row[n_mult - 1] = s, -1.0
            rows.append(row[None, :]), rhs.append([0.0])
    result = linprog(
        cost,
        A_ub=np.vstack(rows),
        b_ub=np.concatenate(rhs),
        bounds=[*bounds, (0, None)],
        method="highs",
    )
    assert result.status == 0, result.message
    return float(result.fun)


def clarabel(qp: DenseQP, center: np.ndarray, limit: float) -> np.ndarray | None:
    """The same problem through cvxpy at a test's tight reference (``tight_reference``)."""
    x = cp.Variable(len(qp.c))
    rows = [qp.E @ x == qp.e, x >= qp.lower, x <= qp.upper]
    rows.append(cp.norm1(x - center) <= limit)
    if len(qp.h):
        rows.append(qp.G @ x <= qp.h)
    objective = cp.Minimize(cp.quad_form(x, cp.psd_wrap(qp.S)) + qp.c @ x)
    problem = cp.Problem(objective, rows)
    return None if solve_reference(problem) != cp.OPTIMAL else np.asarray(x.value)


# --------------------------------------------------------------------------- the kernel
@st.composite
def l1_problems(draw):
    """A random dense QP with a budget row, bounds, 0-2 group rows and one L1 row: turnover
    long-only, turnover long/short, or gross exposure long/short."""
    n = draw(st.integers(3, 25))
    seed = draw(st.integers(0, 2**32 - 1))
    kind = draw(st.sampled_from(["turnover", "turnover long/short", "gross"]))
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=(n + 5, n))
    S = factor.T @ factor / (n + 5) + 0.01 * np.eye(n)
    S /= np.mean(np.diag(S))
    c = rng.normal(size=n) * 0.1 if draw(st.booleans()) else np.zeros(n)
    if kind == "turnover":
        lower, upper = np.zeros(n), np.full(n, rng.uniform(1.5 / n, 1.0))
        center, limit = rng.dirichlet(np.ones(n)), rng.uniform(0.02, 1.5)
    elif kind == "turnover long/short":
        lower, upper = np.full(n, -0.5), np.full(n, 0.5)
        center, limit = rng.dirichlet(np.ones(n)), rng.uniform(0.02, 1.0)
    else:
        lower, upper = np.full(n, -0.3), np.full(n, 0.3)
        center, limit = np.zeros(n), rng.uniform(1.0, 3.0)
    groups = draw(st.integers(0, 2))
    G = (rng.random((groups, n)) < 0.4).astype(float)
    h = np.full(groups, 0.3)
    qp = DenseQP(S, c, np.ones((1, n)), np.ones(1), G, h, lower, upper)
    return qp, center, limit


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(l1_problems())
def test_the_kernel_is_exact_certified_and_warm_starts_give_the_cold_answer(case):
    qp, center, limit = case
    reference = clarabel(qp, center, limit)
    if reference is None:
        return  # infeasible (a group row against the bounds): nothing to compare
    try:
        solution = solve_l1_qp(qp, L1Row(center, limit))
    except ActiveSetError:
        return  # rare (0.2%): the chain hands the problem to Clarabel; never a wrong answer
    assert np.max(np.abs(solution.x - reference)) <= ATOL
    assert solution.kkt_residual <= 1e-9
    assert certificate(qp, center, limit, solution.x) <= CERTIFICATE_ATOL
    warm = solve_l1_qp(qp, L1Row(center, limit), solution.working_set)
    assert warm.iterations == 1
    np.testing.assert_array_equal(warm.x, solution.x)


def test_a_tight_limit_holds_entries_at_their_breakpoints():
    rng = np.random.default_rng(3)
    n = 12
    factor = rng.normal(size=(40, n))
    S = factor.T @ factor / 40
    center = rng.dirichlet(np.ones(n))
    qp = DenseQP(S, np.zeros(n), np.ones((1, n)), np.ones(1), np.zeros((0, n)), np.zeros(0),
                 np.zeros(n), np.ones(n))  # fmt: skip
    solution = solve_l1_qp(qp, L1Row(center, 0.05))
    assert np.abs(solution.x - center).sum() == pytest.approx(0.05, abs=1e-12)
    assert solution.working_set.at_break.sum() >= 1
    assert solution.nu > 0
    assert np.max(np.abs(solution.x - clarabel(qp, center, 0.05))) <= ATOL
    assert certificate(qp, center, 0.05, solution.x) <= CERTIFICATE_ATOL


# --------------------------------------------------------------------------- the allocators
@pytest.fixture(scope="module")
def windows(crypto_returns):
    return [crypto_returns.loc[year] for year in ("2021", "2022", "2023")]


def allocator_qp(returns: pd.DataFrame, lower: float, upper: float, groups=()) -> DenseQP:
    """The declared QP of MinimumVarianceAllocator on ``returns`` (unit-scaled covariance)."""
    n = returns.shape[1]
    S = unit_scaled(estimate_covariance(returns, "sample"))
    G = np.array([[1.0 if s in g.symbols else 0.0 for s in returns.columns] for g in groups])
    h = np.array([g.upper for g in groups])
    return DenseQP(S, np.zeros(n), np.ones((1, n)), np.ones(1), G.reshape(len(groups), n), h,
                   np.full(n, lower), np.full(n, upper))  # fmt: skip


GROUP = cx.GroupLimits(("BTC/USDT", "ETH/USDT", "SOL/USDT"), upper=0.35)
CASES = {
    "turnover binds": ([cx.TurnoverLimit(0.1)], True, (0.0, 1.0), "equal"),
    "turnover binds, group": ([cx.TurnoverLimit(0.3), GROUP], True, (0.0, 1.0), "equal"),
    "turnover slack": ([cx.TurnoverLimit(1.9)], True, (0.0, 1.0), "equal"),
    "turnover long/short": (
        [cx.TurnoverLimit(0.2), cx.WeightBounds(-0.1, 0.3)], False, (-0.1, 0.3), "btc"
    ),
    "gross binds": ([cx.GrossExposure(1.2), cx.WeightBounds(-0.1, 0.1 + 0.2)], False,
                    (-0.1, 0.3), "zero"),
    "gross binds, group": ([cx.GrossExposure(1.3), cx.WeightBounds(-0.1, 0.3), GROUP], False,
                           (-0.1, 0.3), "zero"),
    "gross slack": ([cx.GrossExposure(5.0), cx.WeightBounds(-0.1, 0.3)], False, (-0.1, 0.3),
                    "zero"),
}  # fmt: skip


def previous_for(kind: str, assets: pd.Index) -> np.ndarray:
    n = len(assets)
    if kind == "equal":
        return np.full(n, 1.0 / n)
    previous = np.zeros(n)
    if kind == "btc":
        previous[:] = 0.7 / (n - 1)
        previous[0] = 0.3
    return previous


@pytest.mark.parametrize("case", list(CASES))
def test_minimum_variance_with_an_l1_row_matches_clarabel_and_is_certified(case, windows):
    constraints, long_only, (lower, upper), kind = CASES[case]
    for returns in windows:
        previous = previous_for(kind, returns.columns)
        exact = cx.MinimumVarianceAllocator(constraints=constraints, long_only=long_only)
        weights = exact.allocate(returns, previous_weights=previous).to_numpy()
        assert exact.info_.solver == "ACTIVE_SET", exact.info_.fallback_from
        assert exact.info_.kkt_residual <= 1e-9
        reference = cx.MinimumVarianceAllocator(
            constraints=constraints, long_only=long_only, solver="CLARABEL"
        ).allocate(returns, previous_weights=previous)
        assert np.max(np.abs(weights - reference.to_numpy())) <= ATOL
        l1 = constraints[0]
        center = previous if isinstance(l1, cx.TurnoverLimit) else np.zeros(len(previous))
        groups = [c for c in constraints if isinstance(c, cx.GroupLimits)]
        qp = allocator_qp(returns, lower, upper, groups)
        assert certificate(qp, center, l1.limit, weights) <= CERTIFICATE_ATOL


def test_warm_starts_through_the_allocator_give_the_cold_answers(crypto_returns):
    """One allocator over rolling windows (each solve warm-started from the last working
    set) against a fresh allocator per window."""
    limit = [cx.TurnoverLimit(0.15), cx.WeightBounds(0.0, 0.3)]
    rolling = cx.MinimumVarianceAllocator(constraints=limit)
    previous = np.full(crypto_returns.shape[1], 1.0 / crypto_returns.shape[1])
    for end in range(400, 1400, 100):
        window = crypto_returns.iloc[end - 180 : end]
        warm = rolling.allocate(window, previous_weights=previous)
        assert rolling.info_.solver == "ACTIVE_SET", rolling.info_.fallback_from
        cold_allocator = cx.MinimumVarianceAllocator(constraints=limit)
        cold = cold_allocator.allocate(window, previous_weights=previous)
        np.testing.assert_allclose(warm.to_numpy(), cold.to_numpy(), rtol=0, atol=1e-12)
        previous = warm.to_numpy()
    assert rolling.build_count_ == 1


# --------------------------------------------------------------------------- refusals
def test_two_l1_rows_are_refused_by_name_and_solved_by_cvxpy(crypto_2021):
    n = crypto_2021.shape[1]
    previous = np.full(n, 1.0 / n)
    both = [cx.TurnoverLimit(0.5), cx.GrossExposure(1.0)]
    with pytest.raises(
        cx.UnsupportedProblemError, match=r"TurnoverLimit.*GrossExposure.*at most one"
    ):
        cx.MinimumVarianceAllocator(constraints=both, solver="ACTIVE_SET").allocate(
            crypto_2021, previous_weights=previous
        )
    default = cx.MinimumVarianceAllocator(constraints=both)
    default.allocate(crypto_2021, previous_weights=previous)
    assert default.info_.solver == "CLARABEL"


@pytest.mark.parametrize("year", ["2021", "2023", "2024"])
@pytest.mark.parametrize("limit", [0.1, 0.4, 1.9])
def test_maximum_sharpe_with_a_turnover_limit_matches_clarabel(year, limit, crypto_returns):
    returns = crypto_returns.loc[year]
    n = returns.shape[1]
    previous = np.full(n, 1.0 / n)
    constraints = [cx.TurnoverLimit(limit)]
    exact = cx.MaximumSharpeAllocator(constraints=constraints, solver="ACTIVE_SET")
    weights = exact.allocate(returns, previous_weights=previous).to_numpy()
    assert exact.info_.kkt_residual <= 1e-9
    reference = cx.MaximumSharpeAllocator(constraints=constraints, solver="CLARABEL").allocate(
        returns, previous_weights=previous
    )
    assert np.max(np.abs(weights - reference.to_numpy())) <= ATOL
    assert np.abs(weights - previous).sum() <= limit + 1e-12


def test_maximum_sharpe_with_an_l1_row_beside_other_rows_is_solved_exactly(crypto_2021):
    """Caps, group limits and long/short bounds beside the L1 row: ``l1_sharpe`` over w."""
    n = crypto_2021.shape[1]
    previous = np.full(n, 1.0 / n)
    for constraints, long_only in (
        ([cx.TurnoverLimit(0.4), cx.GroupLimits(("BTC/USDT", "ETH/USDT"), upper=0.3)], True),
        ([cx.TurnoverLimit(0.3), cx.WeightBounds(0.0, 0.2)], True),
        ([cx.GrossExposure(1.5), cx.WeightBounds(-0.3, 0.4)], False),
    ):
        named = cx.MaximumSharpeAllocator(
            constraints=constraints, long_only=long_only, solver="ACTIVE_SET"
        )
        weights = named.allocate(crypto_2021, previous_weights=previous).to_numpy()
        assert named.info_.kkt_residual <= 1e-9
        reference = cx.MaximumSharpeAllocator(
            constraints=constraints, long_only=long_only, solver="CLARABEL"
        ).allocate(crypto_2021, previous_weights=previous)
        assert np.max(np.abs(weights - reference.to_numpy())) <= ATOL


def test_a_subclass_changing_build_alone_is_not_solved_from_the_declaration(crypto_2021):
    class HalfTurnover(cx.TurnoverLimit):
        def build(self, ctx):
            previous = ctx.parameter("previous_weights", (ctx.n_assets,))
            return [cp.norm1(ctx.weights - previous * ctx.scale) <= 0.5 * self.limit * ctx.scale]

    n = crypto_2021.shape[1]
    allocator = cx.MinimumVarianceAllocator(constraints=[HalfTurnover(0.2)])
    weights = allocator.allocate(crypto_2021, previous_weights=np.full(n, 1.0 / n))
    assert allocator.info_.solver == "CLARABEL"
    assert np.abs(weights.to_numpy() - 1.0 / n).sum() <= 0.1 + 1e-7


@pytest.mark.parametrize("limit", [-1.0, float("nan"), float("inf"), "1", None, True])
def test_gross_exposure_refuses_a_limit_that_is_not_a_positive_number(limit):
    with pytest.raises(cx.InvalidInputError, match=r"GrossExposure\.limit"):
        cx.GrossExposure(limit)


# --------------------------------------------------------------------------- a backtest
@pytest.mark.parametrize(
    "method", [cx.AllocationMethod.MINIMUM_VARIANCE, cx.AllocationMethod.MAXIMUM_SHARPE]
)
def test_a_turnover_limited_backtest_matches_the_clarabel_backtest(method, monkeypatch):
    calls = []
    spied = "solve_l1_qp" if method == cx.AllocationMethod.MINIMUM_VARIANCE else "solve_sharpe_l1"
    real = getattr(active_set_backend, spied)

    def counted(*args, **kwargs):  # a spy: the real solve, counted
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(active_set_backend, spied, counted)
    frames = load_bundled_prices(list(BUNDLED_SYMBOLS))
    settings = {
        "initial_capital": 100_000,
        "symbols": list(BUNDLED_SYMBOLS),
        "allocation_method": method,
        "rebalance_frequency": "monthly",
        "transaction_cost": 0.001,
        "lookback": 120,
        "constraints": [cx.TurnoverLimit(1.0)],
    }
    with warnings.catch_warnings():  # maximum Sharpe holds in 2022: no asset beats the rate
        warnings.filterwarnings("ignore", "[0-9]+ rebalances held", UserWarning)
        exact = cx.PortfolioManager(cx.PortfolioConfig(**settings)).backtest(frames)
        reference = cx.PortfolioManager(cx.PortfolioConfig(**settings, solver="CLARABEL")).backtest(
            frames
        )
    rebalances = len(exact.allocation_history)
    assert len(calls) == rebalances  # every exact rebalance solved by the L1 kernel
    gap = (exact.allocation_history - reference.allocation_history).abs().to_numpy().max()
    assert gap <= ATOL
    traded = exact.allocation_history.diff().abs().sum(axis=1).iloc[1:]
    assert traded.max() > 0.5  # the limit is not idle


def test_a_factor_model_covariance_with_a_turnover_limit_is_solved_dense(crypto_2021):
    """The L1 kernel takes the factor model's n x n form (the factor-form QP has no L1 row)."""
    n = crypto_2021.shape[1]
    previous = np.full(n, 1.0 / n)
    constraints = [cx.TurnoverLimit(0.2)]
    exact = cx.MinimumVarianceAllocator(covariance="pca", constraints=constraints)
    weights = exact.allocate(crypto_2021, previous_weights=previous).to_numpy()
    assert exact.info_.solver == "ACTIVE_SET", exact.info_.fallback_from
    reference = cx.MinimumVarianceAllocator(
        covariance="pca", constraints=constraints, solver="CLARABEL"
    ).allocate(crypto_2021, previous_weights=previous)
    assert np.max(np.abs(weights - reference.to_numpy())) <= ATOL
