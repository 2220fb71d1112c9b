"""A start for ``l1_path.march`` where the kernel cycles: a march from an interior point.

x0 strictly inside every row, bound and the L1 row (the LP max s below) is the optimum of
the L1 QP for the linear term c0 = -2 S x0 with every multiplier 0 (nothing held, the L1
row slack, each entry on the side where it lies). ``march_from_interior`` follows the path
of c0 + tau (c - c0) from tau = 0 to 1, to the optimum for the problem's own c (the same
idea as ``parametric_qp.solve_along``'s start, with the L1 row in the LP). The free block
starts at all n entries and shrinks by about one a piece: about n^4 / 12 flops in all.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.optimize import linprog

from cvxport.solvers.active_set import PRIMAL_TOLERANCE, ActiveSetError
from cvxport.solvers.l1_kernel import L1Row, _Problem
from cvxport.solvers.l1_path import L1Piece, l1_piece, march


def march_from_interior(problem: _Problem, limit: int) -> tuple[L1Piece, int]:
    """The piece optimal at the problem's own linear term c (as t d's t = 0), by a march
    from a point x0 strictly inside every row, bound and the L1 row (an LP): x0 is optimal
    for the term -2 S x0 with every multiplier 0 (nothing held, the L1 row slack), and the
    march follows c0 + tau (c - c0) from tau = 0 to 1 (the start where the kernel cycles).
    Returns the piece (parametrized by tau) and the systems solved; ActiveSetError where
    the rows leave no interior point or the march does not settle."""
    qp = problem.qp
    x0 = _interior_point(problem)
    origin = -2.0 * (qp.S @ x0)
    shifted = _Problem(replace(qp, c=origin), L1Row(problem.a, problem.limit))
    line = qp.c - origin
    n, mi = len(x0), len(qp.h)
    side = np.where(x0 >= problem.a, 1.0, -1.0)
    none = np.zeros(n, bool)
    sets = (none, none.copy(), none.copy(), side, np.zeros(mi, bool), False)
    found, _, systems = march(shifted, line, l1_piece(shifted, line, sets), 0.0, _ONE, limit)
    return found, systems + 1


def _ONE(_piece: L1Piece) -> float:  # noqa: N802 (a constant target: tau = 1)
    return 1.0


def _interior_point(problem: _Problem) -> np.ndarray:
    """A point of E x = e as far inside the bounds, the G rows and the L1 row as the LP
    max s (s <= 1) finds: x - s >= lower, x + s <= upper, G x + s <= h, sum |x - a| + s <=
    T (x - a = p - q, p, q >= 0); ActiveSetError where s is not positive."""
    qp, a = problem.qp, problem.a
    n, mi, me = len(a), len(qp.h), len(qp.e)
    lower, upper = np.isfinite(qp.lower), np.isfinite(qp.upper)
    eye, zeros = np.eye(n), np.zeros
    # variables: x (n), p (n), q (n), s
    A_ub = np.vstack(
        [
            np.hstack([-eye[lower], zeros((lower.sum(), 2 * n)), np.ones((lower.sum(), 1))]),
            np.hstack([eye[upper], zeros((upper.sum(), 2 * n)), np.ones((upper.sum(), 1))]),
            np.hstack([qp.G, zeros((mi, 2 * n)), np.ones((mi, 1))]),
            np.hstack([zeros((1, n)), np.ones((1, 2 * n)), np.ones((1, 1))]),
        ]
    )
    b_ub = np.r_[-qp.lower[lower], qp.upper[upper], qp.h, problem.limit]
    A_eq = np.vstack(
        [
            np.hstack([qp.E, zeros((me, 2 * n + 1))]),
            np.hstack([eye, -eye, eye, zeros((n, 1))]),
        ]
    )
    result = linprog(
        np.r_[zeros(3 * n), -1.0],
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=A_eq,
        b_eq=np.r_[qp.e, a],
        bounds=[(None, None)] * n + [(0, None)] * (2 * n) + [(None, 1.0)],
        method="highs",
    )
    if result.status != 0 or result.x[-1] <= 1e3 * PRIMAL_TOLERANCE:
        raise ActiveSetError("the rows and the L1 row leave no interior point")
    return result.x[:n]
