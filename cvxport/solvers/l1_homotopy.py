"""A start for ``l1_sharpe``'s path from the last window's answer, by a homotopy between the
last window's L1 QP and this one's at the last trade-off t.

The last answer x* is optimal for P(t) of the last window: 2 S' x* - t m' + R' mu* = g*
(R the working rows: E, held G rows, the L1 row; g* 0 on free entries and of the right sign
on held ones), on the face of its working set, whose rows and bounds this window keeps, at
the last center a'. With this window's S, x* is then the optimum of the same QP for the
linear term c0 = g* - 2 S x* - R' mu* (same working set, same multipliers: nothing needs
to hold but what held). Along tau in [0, 1] the linear term c0 + tau (c - c0) (c = -t m) and
the center a' + tau (a - a') move together; the KKT system is linear in both, so the optimum
is piecewise affine in tau and ``l1_path.march`` follows it from tau = 0 to 1, where it is
this window's P(t). The march's length is about the number of working-set changes between
the two answers: 9-34 systems on ``bench_composed.py`` row 9 at n = 100 (previous weights
drawn afresh each window, 180 windows of six histories; 31-58 at n = 500, 42-46 at n =
1000), where the path from t = 0 takes 60-110 at n = 100 and the kernel warm-started at t
cycles in a third to a half of the windows.

As the breakpoints move, a change can leave working rows dependent on the free entries; the
march then asks ``l1_exchanges`` for the constraint that leaves. Where no exchange holds (a
corner where two constraints must change at once: 20 of 361 random small problems, none of
the benchmark's windows), where the last window's rows, bounds or limit differ (the start
does not hold at tau = 0) or where the end does not hold on this window's path (6 more),
ActiveSetError sends ``l1_sharpe`` to its other starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.l1_exchanges import exchanges, holds_ahead
from cvxport.solvers.l1_kernel import L1Row, _Problem
from cvxport.solvers.l1_path import L1Piece, holds, l1_piece, march


@dataclass(frozen=True)
class L1Point:
    """A KKT point of an L1 QP: x (n,), the L1 row's center (n,) and limit, the working
    sets (``l1_kernel``'s tuple), the multipliers of [E; held G rows; L1 row if held] and the
    Lagrangian gradient g (n,, 0 on free entries)."""

    x: np.ndarray
    center: np.ndarray
    limit: float
    sets: tuple
    multipliers: np.ndarray
    gradient: np.ndarray


def point_of(problem: _Problem, p: L1Piece, t: float) -> L1Point:
    """The piece's KKT point at t."""
    x, mu = p.at(t)
    return L1Point(x, problem.a.copy(), problem.limit, p.sets, mu, p.g_c + t * p.g_d)


def march_from_point(problem: _Problem, last: L1Point, limit: int) -> tuple[tuple, int]:
    """The working sets optimal for ``problem`` (its qp.c the target linear term), reached
    from the last window's KKT point ``last`` (see the module); and the systems solved.
    ActiveSetError where the start does not hold or the march does not settle."""
    qp, a = problem.qp, problem.a
    if abs(last.limit - problem.limit) > 0 or len(last.x) != len(a):
        raise ActiveSetError("the last answer had another L1 row")
    if len(last.sets[4]) != len(qp.h):
        raise ActiveSetError("the last answer had other inequality rows")
    moving = _Problem(qp, L1Row(last.center, problem.limit))
    # an entry whose breakpoint lies inside its bounds at either end is free to leave it
    moving.interior = problem.interior | moving.interior
    sets = _sides_fixed(last.sets, moving)
    s = moving.signs(sets)
    R, _, l1_row = moving.rows(sets, s)
    if l1_row is not None:
        R = np.vstack([R, l1_row[0]])
    if R.shape[0] != len(last.multipliers):
        raise ActiveSetError("the last answer's rows do not match this problem's")
    origin = last.gradient - 2.0 * (qp.S @ last.x) - R.T @ last.multipliers
    moving.qp = replace(qp, c=origin)
    moving.center_slope = a - last.center
    line = qp.c - origin
    p = l1_piece(moving, line, sets, 0.0)
    if not holds(moving, p, 0.0):
        raise ActiveSetError("the last answer is not optimal at the homotopy's start")

    def recover(last_piece: L1Piece, sets, tau: float) -> L1Piece:
        """A piece that holds at a dependent corner (``l1_exchanges``)."""
        for candidate in exchanges(moving, last_piece, sets, tau):
            try:
                piece = l1_piece(moving, line, candidate, tau)
            except ActiveSetError:
                continue
            if holds_ahead(moving, piece, tau):
                return piece
        raise ActiveSetError("no exchange at a dependent corner of the homotopy holds")

    found, _, systems = march(moving, line, p, 0.0, _one, limit, recover=recover)
    return _at_center(found.sets, problem), systems + 1


def _one(_piece: L1Piece) -> float:
    return 1.0


def _sides_fixed(sets, problem: _Problem) -> tuple:
    """``sets`` with the side of each entry whose breakpoint lay on a bound set to the one
    the bound gave it (a side the kernel did not read)."""
    at_lower, at_upper, at_break, side, rows, l1 = sets
    side = np.where(problem.fixed_side != 0, problem.fixed_side, side)
    return at_lower.copy(), at_upper.copy(), at_break.copy(), side, rows.copy(), l1


def _at_center(sets, problem: _Problem) -> tuple:
    """The sets at the end of the homotopy in ``problem``'s terms: an entry held at a
    breakpoint that now lies on a bound is held at that bound."""
    at_lower, at_upper, at_break, side, rows, l1 = sets
    qp, a = problem.qp, problem.a
    at_lower = at_lower | (at_break & (a <= qp.lower))
    at_upper = at_upper | (at_break & ~at_lower & (a >= qp.upper))
    at_break = at_break & problem.interior
    side = np.where(problem.fixed_side != 0, problem.fixed_side, side)
    return at_lower, at_upper, at_break, side, rows, l1
