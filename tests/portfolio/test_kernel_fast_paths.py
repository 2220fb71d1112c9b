"""The exact kernels' shortcuts give what the general computation they replace gives.

``l1_kernel`` and ``qp_kernel`` reuse within one working set what the general code computed
twice (S x, the stacked rows, the largest violations, max |c|) and skip what cannot apply
(row stacking and held-row scans without held inequality rows, violation kinds with nothing
above tolerance). Each shortcut is compared here with the general path on random QPs with and
without inequality rows, long-only and long/short, cold and warm-started: the same working
sets, the same certificate (bitwise), the same objective to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

from cvxport.solvers import l1_changes, l1_kernel, qp_kernel
from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.l1_kernel import L1Row, _Problem, solve_l1_qp
from cvxport.solvers.qp_kernel import DenseQP, solve_dense_qp


def random_qp(seed: int) -> tuple[DenseQP, L1Row]:
    """A feasible QP over n = 5..40 weights (sum 1, bounds, 0-3 sparse rows that equal weights
    meet, sometimes a linear term) and an L1 row around previous weights near equal weights
    (turnover) or around 0 (gross exposure)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    F = rng.normal(size=(n, max(2, n // 5)))
    S = F @ F.T / n + np.diag(rng.uniform(0.2, 1.0, n))
    c = rng.normal(size=n) * 0.1 if seed % 3 == 0 else np.zeros(n)
    mi = seed % 4
    G = rng.normal(size=(mi, n)) * (rng.random((mi, n)) < 0.3)
    h = G.sum(axis=1) / n + rng.uniform(0.0, 0.05, mi)  # equal weights meet every row
    long_short = seed % 2 == 1
    lower = np.full(n, -0.2) if long_short else np.zeros(n)
    upper = np.full(n, 0.2) if long_short else np.full(n, min(1.0, 3.0 / n + 0.05))
    qp = DenseQP(S, c, np.ones((1, n)), np.ones(1), G, h, lower, upper)
    if long_short:  # gross exposure sum |x| <= limit, at least sum x = 1
        return qp, L1Row(np.zeros(n), float(rng.uniform(1.05, 1.8)))
    return qp, L1Row(rng.dirichlet(np.full(n, 20.0)), float(rng.uniform(0.3, 1.5)))


def solved(seed: int):
    qp, l1 = random_qp(seed)
    try:
        return qp, l1, solve_l1_qp(qp, l1)
    except ActiveSetError:
        pytest.skip("no exact answer for this draw (infeasible or unsettled)")


def sets_of(solution) -> tuple:
    ws = solution.working_set
    return (ws.at_lower, ws.at_upper, ws.at_break, ws.side, ws.rows, ws.l1)


@pytest.mark.parametrize("seed", range(24))
def test_l1_certificate_from_shared_measures_matches_the_general_one(seed):
    """The solution record from the loop's measures (S x, gradient, scale) and largest
    violations is the one computed from x and mu alone."""
    qp, l1, solution = solved(seed)
    sets = sets_of(solution)
    problem = _Problem(qp, l1)
    x, mu, s = problem.solve(sets)
    np.testing.assert_array_equal(x, solution.x)
    measured = problem.measure(sets, x, mu, s)
    assert problem.changes(sets, x, mu, s, measured) is None  # the optimum's working set
    fast = l1_kernel._solution(problem, sets, x, mu, s, 1, measured, problem.peaks)
    general = l1_kernel._solution(_Problem(qp, l1), sets, x, mu, s, 1)
    assert fast.kkt_residual == general.kkt_residual
    assert fast.kkt_residual == solution.kkt_residual
    np.testing.assert_allclose(fast.objective, general.objective, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(fast.objective, x @ qp.S @ x + qp.c @ x, rtol=1e-13)


@pytest.mark.parametrize("seed", range(24))
def test_l1_reused_rows_and_scale_match_recomputed_ones(seed):
    """The gradient from the rows ``solve`` stacked, the dual scale from S x and max |c|
    given, and the multiplier split without inequality rows equal their general forms."""
    qp, l1, solution = solved(seed)
    sets = sets_of(solution)
    problem = _Problem(qp, l1)
    x, mu, s = problem.solve(sets)
    gradient, scale, Sx = problem.measure(sets, x, mu, s)
    np.testing.assert_array_equal(Sx, qp.S @ x)
    fresh = _Problem(qp, l1)  # nothing stacked: rows from the working set
    R, _, row = fresh.rows(sets, s)
    stacked = np.vstack([qp.E, qp.G[sets[4]], *([row[0]] if row else [])])
    np.testing.assert_array_equal(R, np.vstack([qp.E, qp.G[sets[4]]]))
    np.testing.assert_array_equal(gradient, 2.0 * (qp.S @ x) + qp.c + stacked.T @ mu)
    np.testing.assert_array_equal(gradient, fresh.gradient(sets, x, mu, s))
    terms = np.concatenate([np.abs(mu), np.abs(2.0 * (qp.S @ x)), np.abs(qp.c)])
    assert scale == max(float(terms.max(initial=0.0)), 1e-300)
    assert scale == l1_kernel._dual_scale(qp, x, mu)
    row_mu, nu = problem.split(sets, mu)
    general = np.zeros(len(qp.h))
    general[sets[4]] = mu[len(qp.e) : len(qp.e) + int(sets[4].sum())]
    np.testing.assert_array_equal(row_mu, general)
    assert nu == (float(mu[-1]) if sets[5] else 0.0)


@pytest.mark.parametrize("seed", range(24))
def test_l1_block_change_with_peaks_matches_the_masks(seed):
    """Skipping the kinds whose largest violation is within tolerance changes nothing: the
    block changes of a cold start's first iterations are those of the full mask scan."""
    qp, l1 = random_qp(seed)
    problem = _Problem(qp, l1)
    sets = problem.start(None, len(qp.c), len(qp.h))
    for _ in range(4):
        try:
            x, mu, s = problem.solve(sets)
        except ActiveSetError:
            return  # a redirect or a singular system: the loop's other branches
        found = problem.changes(sets, x, mu, s)
        if found is None:
            return
        amounts, z, pull = found
        given = [np.copy(a) for a in sets[:5]]
        fast = l1_changes.block_change(sets, amounts, z, pull, problem.peaks)
        general = l1_changes.block_change(sets, amounts, z, pull)
        for a, b in zip(fast, general, strict=True):
            np.testing.assert_array_equal(a, b)
        for before, now in zip(given, sets[:5], strict=True):
            np.testing.assert_array_equal(before, now)  # the working set given is unchanged
        sets = fast


@pytest.mark.parametrize("seed", range(24))
def test_qp_solution_from_the_loops_product_matches_the_general_one(seed):
    """``qp_kernel``'s record with the loop's S x: the same certificate, the objective to
    rounding; warm starts from it give the same answer."""
    qp, _ = random_qp(seed)
    try:
        solution = solve_dense_qp(qp)
    except ActiveSetError:
        pytest.skip("no exact answer for this draw")
    ws = solution.working_set
    sets = (ws.at_lower, ws.at_upper, ws.rows)
    x, mu = qp_kernel._solve_working(qp, *sets)
    Sx = qp.S @ x
    gradient = qp_kernel.changes_gradient(qp, sets, x, mu, Sx)
    np.testing.assert_array_equal(gradient, qp_kernel.changes_gradient(qp, sets, x, mu))
    fast = qp_kernel._solution(qp, x, gradient, mu, sets, 1, Sx)
    general = qp_kernel._solution(qp, x, gradient, mu, sets, 1)
    assert fast.kkt_residual == general.kkt_residual == solution.kkt_residual
    np.testing.assert_allclose(fast.objective, general.objective, rtol=1e-14, atol=1e-15)
    again = solve_dense_qp(qp, ws)
    np.testing.assert_array_equal(again.x, solution.x)
    assert again.iterations == 1
