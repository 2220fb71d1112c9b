"""The homotopy from the last window's KKT point (``l1_homotopy``) and its exchanges at the
dependent corners (``l1_exchanges``): where the march ends on a working set that holds, it is
the kernel's optimum of this window's L1 QP, exchanges included; a working set that does not
hold is never taken for one.

Tolerances: x within 1e-9 of the kernel's cold answer (both exact active-set solutions of a
strictly convex QP; measured gaps are below 1e-14).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from test_l1_sharpe import sharpe_problem

from cvxport.solvers import l1_homotopy
from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.l1_kernel import L1Row, _Problem, solve_l1_qp
from cvxport.solvers.l1_path import PRIMAL_KINDS, _layout, holds, is_primal, l1_piece
from cvxport.solvers.l1_sharpe import solve_sharpe_l1
from cvxport.solvers.qp_kernel import DenseQP

GAP = 1e-9


def test_the_homotopy_ends_on_the_kernels_optimum_through_its_corners(monkeypatch):
    """Turnover problems (caps, 0-2 group rows, binding or slack), each reached from the KKT
    point of a window with other previous weights and other means: most marches settle, many
    through dependent corners; every end that holds is the cold kernel's optimum of the same
    QP, and an end that does not hold is refused by ``holds`` (as ``l1_sharpe`` does)."""
    corners = []
    exchanges = l1_homotopy.exchanges

    def counted(*args):
        corners.append(args[3])
        return exchanges(*args)

    monkeypatch.setattr(l1_homotopy, "exchanges", counted)
    settled = refused = tried = 0
    for seed in range(0, 300, 2):
        rng = np.random.default_rng(seed)
        qp, m, center, limit = sharpe_problem(rng, "turnover", bool(seed % 3))
        n = len(m)
        other = np.minimum(rng.dirichlet(np.ones(n)), qp.upper)
        try:
            start = solve_sharpe_l1(
                qp, m + 0.3 * rng.normal(size=n), L1Row(other / other.sum(), limit)
            ).start
        except ActiveSetError:
            continue  # no portfolio of that window beats the rate
        tried += 1
        t = start.trade_off
        target = replace(qp, c=-t * m)
        try:
            sets, _ = l1_homotopy.march_from_point(
                _Problem(target, L1Row(center, limit)), start.point, 400
            )
        except ActiveSetError:
            continue  # l1_sharpe then takes its other starts
        problem = _Problem(replace(qp, c=np.zeros(n)), L1Row(center, limit))
        piece = l1_piece(problem, -m, sets, t)
        if not holds(problem, piece, t):
            refused += 1
            continue
        expected = solve_l1_qp(target, L1Row(center, limit)).x
        assert np.max(np.abs(piece.at(t)[0] - expected)) <= GAP, seed
        settled += 1
    assert tried >= 100
    assert settled >= 0.8 * tried, (settled, refused, tried)  # measured: 102 of 120
    assert len(corners) >= 20  # exchanges exercised, not only plain pieces (measured: 44)


def test_is_primal_names_the_primal_kinds():
    """``is_primal``'s comparison agrees with ``PRIMAL_KINDS`` on every layout entry."""
    for l1 in (False, True):
        kinds, _ = _layout(7, 3, l1)
        assert np.array_equal(is_primal(kinds), np.isin(kinds, PRIMAL_KINDS))


def test_a_start_of_another_shape_gives_the_cold_answer():
    """A start from a problem with other group rows, or other assets, is not used by the
    homotopy (found by review: IndexError and ValueError before): the answer is the cold
    one, to rounding."""
    rng = np.random.default_rng(0)
    n = 8
    factor = rng.normal(size=(n + 5, n))
    S = factor.T @ factor / (n + 5) + 0.01 * np.eye(n)
    m = rng.normal(0.5, 1.0, n)
    m /= m.max()
    lower, upper, budget = np.zeros(n), np.full(n, 0.4), (np.ones((1, n)), np.ones(1))
    group = np.r_[np.ones(4), np.zeros(4)][None, :]
    one_row = DenseQP(S, np.zeros(n), *budget, group, np.array([0.3]), lower, upper)
    start = solve_sharpe_l1(one_row, m, L1Row(np.full(n, 1 / n), 0.6)).start
    far = np.r_[np.zeros(5), 0.2, 0.4, 0.4]
    two_rows = np.vstack([group, 1.0 - group])
    for G in (np.zeros((0, n)), two_rows):
        qp = DenseQP(S, np.zeros(n), *budget, G, np.array([0.3, 0.9])[: len(G)], lower, upper)
        warm = solve_sharpe_l1(qp, m, L1Row(far, 0.6), start)
        cold = solve_sharpe_l1(qp, m, L1Row(far, 0.6))
        assert np.max(np.abs(warm.x - cold.x)) <= GAP
    wider = n + 1
    factor = rng.normal(size=(wider + 5, wider))
    S = factor.T @ factor / (wider + 5) + 0.01 * np.eye(wider)
    qp = DenseQP(S, np.zeros(wider), np.ones((1, wider)), np.ones(1), np.zeros((0, wider)),
                 np.zeros(0), np.zeros(wider), np.full(wider, 0.4))  # fmt: skip
    m = np.r_[m, 0.5]
    warm = solve_sharpe_l1(qp, m, L1Row(np.full(wider, 1 / wider), 0.6), start)
    cold = solve_sharpe_l1(qp, m, L1Row(np.full(wider, 1 / wider), 0.6))
    assert np.max(np.abs(warm.x - cold.x)) <= GAP
