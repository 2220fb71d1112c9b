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
