"""Maximum Sharpe with one L1 row (``l1_sharpe`` along ``l1_path``): exact against a tight
reference solve of the Charnes-Cooper form, certified as the optimum of the scale-1 L1 QP at its own
trade-off, warm-started (from its own answer and from an unrelated window's), through the
allocator beside caps, groups and long/short bounds, and settled on the rolling windows whose
previous weights are unrelated from window to window (where the bracketed search it replaces
ran out of its budget).

Tolerances: weights within ``SOLVER_ATOL['CLARABEL']`` (5e-6, conftest) of the reference
(``tight_reference``: SCS at 1e-12, else Clarabel at ``SOLVER_OPTIONS``); the certificate's
stationarity residual within CERTIFICATE_ATOL (test_active_set_l1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_active_set_l1 import CERTIFICATE_ATOL, certificate
from tight_reference import solve_reference

import cvxport as cx
from cvxport.solvers import l1_sharpe
from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.l1_interior import march_from_interior
from cvxport.solvers.l1_kernel import L1Row, _Problem, solve_l1_qp
from cvxport.solvers.l1_path import l1_piece
from cvxport.solvers.l1_sharpe import solve_sharpe_l1
from cvxport.solvers.qp_kernel import DenseQP

ATOL = SOLVER_ATOL["CLARABEL"]


def sharpe_problem(rng: np.random.Generator, kind: str, binding: bool):
    """(qp over w with sum(w) = 1, excess means m (max 1), center, limit) at random sizes:
    turnover long-only under caps (previous weights random or at the caps) with 0-2 group
    rows, or gross exposure long/short; ``binding``: a small limit, else a slack one."""
    n = int(rng.integers(3, 30))
    factor = rng.normal(size=(n + 5, n))
    S = factor.T @ factor / (n + 5) + 0.01 * np.eye(n)
    S /= np.mean(np.diag(S))
    m = rng.normal(0.5, 1.0, size=n)
    m /= m.max()
    G, h = np.zeros((0, n)), np.zeros(0)
    if kind == "gross":
        lower, upper = np.full(n, -0.3), np.full(n, max(0.4, 1.5 / n))
        center = np.zeros(n)
        limit = rng.uniform(1.0, 1.6) if binding else 20.0
    else:
        cap = rng.uniform(1.5 / n, 1.0)
        lower, upper = np.zeros(n), np.full(n, cap)
        if rng.random() < 0.5:  # previous weights at the caps, the rest in one name
            k = int(1 / cap)
            center = np.zeros(n)
            center[:k], center[k % n] = cap, 1.0 - k * cap
        else:
            center = np.minimum(rng.dirichlet(np.ones(n)), cap)
            center /= center.sum()
        limit = rng.uniform(0.02, 0.6) if binding else 2.0
        groups = int(rng.integers(0, 3))
        G = (rng.random((groups, n)) < 0.4).astype(float)
        h = rng.uniform(0.2, 0.8, size=groups)
        G, h = G[G.any(axis=1)], h[G.any(axis=1)]  # a group of no asset is no row
    qp = DenseQP(S, np.zeros(n), np.ones((1, n)), np.ones(1), G, h, lower, upper)
    return qp, m, center, limit


def charnes_cooper_reference(qp: DenseQP, m, center, limit) -> np.ndarray | None:
    """The weights y / kappa of the Charnes-Cooper QP over (y, kappa) (an independent
    formulation), by the tests' tight reference solve (``tight_reference``: SCS at 1e-12
    first; Clarabel at its 1e-10 gap left a flat optimum 5.8e-6 loose, seed 7568 'gross')."""
    y, kappa = cp.Variable(len(m)), cp.Variable(nonneg=True)
    rows = [m @ y == 1, cp.sum(y) == kappa, cp.norm1(y - center * kappa) <= limit * kappa]
    rows += [y >= qp.lower * kappa] if np.all(np.isfinite(qp.lower)) else []
    rows += (
        [y <= qp.upper * kappa, qp.G @ y <= qp.h * kappa] if len(qp.h) else [y <= qp.upper * kappa]
    )
    problem = cp.Problem(cp.Minimize(cp.quad_form(y, cp.psd_wrap(qp.S))), rows)
    return None if solve_reference(problem) != cp.OPTIMAL else y.value / y.value.sum()


def check_sharpe_answer(qp, m, center, limit, solution) -> None:
    """The weights are feasible, maximize the Sharpe ratio (the scale-1 L1 QP's KKT
    conditions at t = 2w'Sw/m'w, by an LP certificate from w alone) and match the reference."""
    w = solution.x
    t = 2.0 * w @ qp.S @ w / (m @ w)
    assert certificate(replace(qp, c=-t * m), center, limit, w) <= CERTIFICATE_ATOL
    assert solution.kkt_residual <= 1e-9
    reference = charnes_cooper_reference(qp, m, center, limit)
    assert reference is not None
    assert np.max(np.abs(w - reference)) <= ATOL


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["turnover", "gross"]),
    st.booleans(),
)
def test_the_sharpe_path_is_exact_certified_and_warm_starts(seed, kind, binding):
    """Every answer given is the optimum, and its own start re-solves it; ActiveSetError
    (the backend then hands the problem to cvxpy) only where Clarabel finds no portfolio."""
    qp, m, center, limit = sharpe_problem(np.random.default_rng(seed), kind, binding)
    try:
        solution = solve_sharpe_l1(qp, m, L1Row(center, limit))
    except ActiveSetError:
        assert charnes_cooper_reference(qp, m, center, limit) is None
        return
    check_sharpe_answer(qp, m, center, limit, solution)
    warm = solve_sharpe_l1(qp, m, L1Row(center, limit), solution.start)
    assert warm.iterations <= 2
    assert np.max(np.abs(warm.x - solution.x)) <= 1e-12


def test_the_sharpe_path_settles_every_feasible_random_problem():
    """Seeded problems of every kind: every feasible one is settled and certified (546 of 546
    of 600 when measured; the bracketed search before it settled 553 of 557, the
    Charnes-Cooper kernel before that 55-65% beside caps); the infeasible ones (previous
    weights outside a group limit the turnover cannot reach, no positive excess return)
    raise ActiveSetError."""
    rng = np.random.default_rng(11)
    settled = 0
    for k in range(40):
        qp, m, center, limit = sharpe_problem(rng, ("turnover", "gross")[k % 2], k % 3 != 0)
        try:
            solution = solve_sharpe_l1(qp, m, L1Row(center, limit))
        except ActiveSetError:
            assert charnes_cooper_reference(qp, m, center, limit) is None
            continue
        check_sharpe_answer(qp, m, center, limit, solution)
        settled += 1
    assert settled >= 37  # the batch's feasible problems, all settled (else the loop fails)


def test_a_window_warm_started_from_the_last_one_gives_the_cold_answer():
    rng = np.random.default_rng(3)
    qp, m, center, limit = sharpe_problem(rng, "turnover", True)
    first = solve_sharpe_l1(qp, m, L1Row(center, limit))
    moved = m + 0.05 * rng.normal(size=len(m))  # the next window's means
    cold = solve_sharpe_l1(qp, moved, L1Row(first.x, limit))
    warm = solve_sharpe_l1(qp, moved, L1Row(first.x, limit), first.start)
    assert np.max(np.abs(warm.x - cold.x)) <= 1e-10
    check_sharpe_answer(qp, moved, first.x, limit, warm)


def test_no_positive_excess_return_in_the_constraints_is_not_settled():
    """Every feasible portfolio loses against the rate: ActiveSetError, not an answer (the
    allocator then names the conflict through cvxpy)."""
    n = 4
    qp = DenseQP(np.eye(n), np.zeros(n), np.ones((1, n)), np.ones(1), np.zeros((0, n)),
                 np.zeros(0), np.zeros(n), np.full(n, 1.0))  # fmt: skip
    m = np.array([1.0, -1.0, -1.0, -1.0])
    center = np.array([0.0, 1.0, 0.0, 0.0])
    with pytest.raises(ActiveSetError, match="positive excess return"):
        solve_sharpe_l1(qp, m, L1Row(center, 0.4))  # at most 0.2 moves into the winner


# --------------------------------------------------------------------------- the allocator
@dataclass(frozen=True)
class FixedCap(cx.Constraint):
    """``w <= 0.5`` written without ``ctx.scale``: not homogeneous in the Charnes-Cooper scale."""

    def build(self, ctx):
        return [ctx.weights <= 0.5]


def test_a_row_not_homogeneous_in_the_scale_is_refused_by_name(crypto_2021):
    n = crypto_2021.shape[1]
    constraints = [cx.TurnoverLimit(0.4), FixedCap()]
    named = cx.MaximumSharpeAllocator(constraints=constraints, solver="ACTIVE_SET")
    with pytest.raises(cx.UnsupportedProblemError, match=r"TurnoverLimit.*not homogeneous"):
        named.allocate(crypto_2021, previous_weights=np.full(n, 1.0 / n))


@pytest.mark.parametrize("year", ["2021", "2023", "2024"])
def test_maximum_sharpe_with_turnover_caps_and_groups_on_rolling_windows(year, crypto_returns):
    """Three months of windows warm-started from each other, each previous answer the next
    window's previous weights: the default chain stays on ACTIVE_SET and matches Clarabel."""
    returns = crypto_returns.loc[year]
    n = returns.shape[1]
    constraints = [
        cx.TurnoverLimit(0.3),
        cx.WeightBounds(0.0, 0.3),
        cx.GroupLimits(("BTC/USDT", "ETH/USDT"), upper=0.35),
    ]
    exact = cx.MaximumSharpeAllocator(constraints=constraints)
    reference = cx.MaximumSharpeAllocator(constraints=constraints, solver="CLARABEL")
    previous = np.full(n, 1.0 / n)
    for end in range(150, 240, 30):
        window = returns.iloc[end - 150 : end]
        try:
            expected = reference.allocate(window, previous_weights=previous).to_numpy()
        except cx.InfeasibleError:
            continue  # no portfolio beats the rate in this window
        weights = exact.allocate(window, previous_weights=previous).to_numpy()
        assert exact.info_.solver == "ACTIVE_SET", exact.info_.fallback_from
        assert exact.info_.kkt_residual <= 1e-9
        assert np.max(np.abs(weights - expected)) <= ATOL
        assert np.abs(weights - previous).sum() <= 0.3 + 1e-12
        previous = weights


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["turnover", "gross"]),
    st.booleans(),
)
def test_a_start_from_an_unrelated_window_gives_the_exact_answer(seed, kind, binding):
    """The start of a window with other previous weights and other means (what a backtest
    whose previous weights are not the last answer passes) leads the path to the same
    certified optimum as a cold solve; ActiveSetError only where Clarabel finds none."""
    rng = np.random.default_rng(seed)
    qp, m, center, limit = sharpe_problem(rng, kind, binding)
    n = len(m)
    other_center = center
    if kind == "turnover":  # unrelated previous weights under the same caps
        other_center = np.minimum(rng.dirichlet(np.ones(n)), qp.upper)
        other_center /= other_center.sum()
    other_m = m + 0.3 * rng.normal(size=n)
    try:
        start = solve_sharpe_l1(qp, other_m, L1Row(other_center, limit)).start
    except ActiveSetError:
        start = None
    reference = charnes_cooper_reference(qp, m, center, limit)
    try:
        warm = solve_sharpe_l1(qp, m, L1Row(center, limit), start)
    except ActiveSetError:
        assert reference is None
        return
    check_sharpe_answer(qp, m, center, limit, warm)
    cold = solve_sharpe_l1(qp, m, L1Row(center, limit))
    assert np.max(np.abs(warm.x - cold.x)) <= 1e-9


def factor_returns(n: int, rows: int, seed: int) -> pd.DataFrame:
    """Daily returns of a seeded factor model (``benchmarks/common.factor_returns``: a market
    and sector factors, specific noise, a small positive drift)."""
    rng = np.random.default_rng(seed)
    k = min(10, max(2, n // 20))
    factor_vol = np.r_[0.010, np.full(k, 0.006)]
    factors = rng.standard_normal((rows, k + 1)) * factor_vol
    loadings = np.c_[rng.normal(1.0, 0.3, n), rng.normal(0.0, 0.7, (n, k))]
    specific = rng.uniform(0.008, 0.022, n)
    drift = rng.uniform(0.0002, 0.0012, n)
    values = drift + factors @ loadings.T + rng.standard_normal((rows, n)) * specific
    index = pd.date_range("2020-01-01", periods=rows, freq="D", name="timestamp")
    return pd.DataFrame(values, index=index, columns=[f"A{i:03d}" for i in range(n)])


def row_9_setup() -> tuple[pd.DataFrame, list]:
    """``bench_composed.py`` row 9 at n = 100: the history for 12 windows of 500 rows 5
    apart, and its constraints (caps 0.1, the lowest-volatility quarter <= 0.15, turnover
    <= 0.5)."""
    n = 100
    history = factor_returns(n, 500 + 5 * 12, seed=n)
    group = tuple(history.std().sort_values().index[: n // 4])
    constraints = [
        cx.WeightBounds(0.0, 0.1),
        cx.GroupLimits(group, upper=0.15),
        cx.TurnoverLimit(0.5),
    ]
    return history, constraints


def test_unrelated_previous_weights_on_rolling_windows_settle_on_the_path():
    """``bench_composed.py`` row 9 at n = 100 (caps 0.1, the lowest-volatility quarter <=
    0.15, turnover <= 0.5, previous weights drawn afresh each window): every window stays
    on ACTIVE_SET without a fallback and matches Clarabel. Before the path, windows 4, 6
    and 7 of these ran out of the search's budget and went to Clarabel. In windows 1, 6 and
    11 the kernel warm-started at the fixed point of the last working set's piece cycles
    (87-95 systems by the march from t = 0; the ladder's rungs left window 7 at 115). The
    homotopy from the last window's KKT point settles every window after the first in at
    most 40 systems (measured 12-33)."""
    history, constraints = row_9_setup()
    n, length = history.shape[1], 500
    exact = cx.MaximumSharpeAllocator(constraints=constraints)
    reference = cx.MaximumSharpeAllocator(constraints=constraints, solver="CLARABEL")
    for k in range(12):
        window = history.iloc[5 * k : 5 * k + length]
        previous = pd.Series(
            np.random.default_rng(1000 + k).dirichlet(np.full(n, 5.0)), index=history.columns
        )
        weights = exact.allocate(window, previous_weights=previous).to_numpy()
        assert exact.info_.solver == "ACTIVE_SET", exact.info_.fallback_from
        assert not exact.info_.fallback_from
        assert exact.info_.kkt_residual <= 1e-9
        if k > 0:
            assert exact.info_.iterations <= 40
        expected = reference.allocate(window, previous_weights=previous).to_numpy()
        assert np.max(np.abs(weights - expected)) <= ATOL
        assert np.abs(weights - previous.to_numpy()).sum() <= 0.5 + 1e-12


def test_a_backtest_holding_the_last_answer_takes_the_kernel_at_the_guess():
    """Row 9's problem re-solved as a backtest does (previous weights the last answer): the
    L1 row's center lies within its limit of the last answer, so the kernel warm at the
    guessed t comes before the homotopy and settles each window after the first few in a
    few systems (measured 2-4 from window 4; the homotopy first took 5-12)."""
    history, constraints = row_9_setup()
    n, length = history.shape[1], 500
    exact = cx.MaximumSharpeAllocator(constraints=constraints)
    previous = pd.Series(np.full(n, 1.0 / n), index=history.columns)
    for k in range(12):
        window = history.iloc[5 * k : 5 * k + length]
        previous = exact.allocate(window, previous_weights=previous)
        assert exact.info_.solver == "ACTIVE_SET", exact.info_.fallback_from
        if k >= 4:
            assert exact.info_.iterations <= 6, (k, exact.info_.iterations)


def test_the_march_from_an_interior_point_reaches_the_kernels_minimum_variance():
    """``l1_interior``: from a point strictly inside every row and the L1 row, the march to
    the problem's own linear term (c = 0: minimum variance under the L1 row) ends on the
    kernel's optimum, to rounding; where no point is strictly inside, ActiveSetError."""
    rng = np.random.default_rng(5)
    checked = 0
    for k in range(12):
        qp, _, center, limit = sharpe_problem(rng, ("turnover", "gross")[k % 2], True)
        problem = _Problem(qp, L1Row(center, limit))
        try:
            expected = solve_l1_qp(qp, L1Row(center, limit))
        except ActiveSetError:
            continue
        try:
            found, _ = march_from_interior(problem, 1000)
        except ActiveSetError as exc:
            assert "interior point" in str(exc)
            continue
        x, _ = l1_piece(problem, np.zeros(len(center)), found.sets, 0.0).at(0.0)
        assert np.max(np.abs(x - expected.x)) <= 1e-9
        checked += 1
    assert checked >= 6


def test_where_the_kernel_cycles_at_every_start_the_interior_march_settles(monkeypatch):
    """The kernel refusing every start (as it cycles on some windows even at t = 0): the
    answer still comes from the path, from the interior point, and is the optimum."""

    def cycling(*args, **kwargs):
        raise ActiveSetError("the working set repeats (cycling) with the L1 row")

    monkeypatch.setattr(l1_sharpe, "solve_l1_qp", cycling)
    rng = np.random.default_rng(7)
    settled = 0
    for k in range(10):
        qp, m, center, limit = sharpe_problem(rng, ("turnover", "gross")[k % 2], k % 3 != 0)
        reference = charnes_cooper_reference(qp, m, center, limit)
        try:
            solution = solve_sharpe_l1(qp, m, L1Row(center, limit))
        except ActiveSetError:
            assert reference is None or len(m) > l1_sharpe.INTERIOR_MAX
            continue
        w = solution.x
        t = 2.0 * w @ qp.S @ w / (m @ w)
        assert certificate(replace(qp, c=-t * m), center, limit, w) <= CERTIFICATE_ATOL
        assert reference is not None and np.max(np.abs(w - reference)) <= ATOL
        settled += 1
    assert settled >= 7
