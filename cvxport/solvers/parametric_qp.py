"""The QP of ``qp_kernel`` along a line of linear terms, c + t d, by working-set pieces.

    minimize x'Sx + (c + t d)'x   subject to   E x = e,  G x <= h,  lower <= x <= upper

For a fixed working set the KKT system is linear in t, so one Cholesky factor of the free
block gives the whole piece: x = x_c + t x_d, row multipliers mu_c + t mu_d and the gradient
2Sx + c + t d + R'mu = g_c + t g_d (zero on free entries; the bound multipliers on held
ones). ``holds`` says whether the piece's KKT conditions hold at t. ``march`` follows the
optimal path from a t where they hold to another: the first condition to fail along the way
(a free entry reaching a bound, a row reaching its limit, a multiplier reaching zero) changes
the working set by that one entry (the parametric active-set method of Best 1996; a strictly
convex QP's path is continuous and piecewise affine). It is the fallback where the block
updates of ``qp_kernel`` cycle (a linear term, general rows): ``solve_along`` marches from
the last point known optimal, or else from an interior point x0 of the rows (an LP), which
is the optimum for the linear term -2 S x0 with every multiplier 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dpotrf, dpotrs
from scipy.optimize import linprog

from cvxport.solvers.active_set import CONDITION_FLOOR, PRIMAL_TOLERANCE, ActiveSetError
from cvxport.solvers.qp_kernel import (
    DUAL_TOLERANCE,
    DenseQP,
    WorkingSet,
    solve_dense_qp,
    solve_rows,
)


@dataclass(frozen=True)
class Piece:
    """One working set's path in t: sets = (at_lower (n,), at_upper (n,), rows (mi,)),
    x = x_c + t x_d (n,), multipliers of [E; held G rows] mu_c + t mu_d, gradient g_c + t g_d."""

    sets: tuple
    x_c: np.ndarray
    x_d: np.ndarray
    mu_c: np.ndarray
    mu_d: np.ndarray
    g_c: np.ndarray
    g_d: np.ndarray

    @property
    def working_set(self) -> WorkingSet:
        """The piece's working set as ``qp_kernel`` takes it to start."""
        return WorkingSet(*(np.asarray(s).copy() for s in self.sets))


def piece(qp: DenseQP, d: np.ndarray, sets) -> Piece:
    """The working set's affine path in t, from one Cholesky factor of the free block;
    ActiveSetError when the block or the working rows are (nearly) singular."""
    at_lower, at_upper, rows = sets
    held_x = np.where(at_lower, qp.lower, np.where(at_upper, qp.upper, 0.0))
    R = np.vstack([qp.E, qp.G[rows]])
    rhs = np.r_[qp.e, qp.h[rows]]
    path = affine_kkt(qp.S, qp.c, d, ~(at_lower | at_upper), held_x, R, rhs)
    return Piece((at_lower, at_upper, rows), *path)


def affine_kkt(
    S, c, d, free, held_x, R, rhs, products: bool = False, held_product=None, moving=None
) -> tuple[np.ndarray, ...]:
    """One working set's KKT solution along the linear term c + t d, from one Cholesky
    factor of the free block S_FF: (x_c, x_d, mu_c, mu_d, g_c, g_d) with x = x_c + t x_d
    (n,; held entries at ``held_x``, which is 0 on the free entries), multipliers of the
    rows R x = rhs mu_c + t mu_d and the gradient 2Sx + c + t d + R'mu = g_c + t g_d (0 on
    free entries); ActiveSetError when the block or the rows on the free entries are
    (nearly) singular. ``products``: S x_c and S x_d follow, from one pass over S (one
    product of S by two columns, not two: S is read once, which is what a product costs at
    n = 1000). ``held_product``: S held_x (n,) where the caller has it; the products then
    come from the free columns alone (|F| n, not n^2). ``moving`` = (held_d, rhs_d): held
    values (0 on the free entries) and right-hand sides that move with t too (held_x + t
    held_d, rhs + t rhs_d; ``products`` only); the solution stays affine in t, as the system
    is linear in them; ``held_product`` is then the pair (S held_x, S held_d) or None."""
    kept = np.flatnonzero(free)
    if not len(kept):
        raise ActiveSetError("every entry is held at a bound")
    held_d_product = None
    if moving is not None and held_product is not None:
        held_product, held_d_product = held_product
    rows_kept = S.take(kept, axis=0)  # blocks by take: S[np.ix_(...)] is ~10x slower
    hessian = 2.0 * rows_kept.take(kept, axis=1)
    diagonal = hessian.diagonal()
    if not diagonal.min() > 0:  # NaN fails too
        raise ActiveSetError("a free entry has no curvature (zero variance)")
    unit = 1.0 / np.sqrt(diagonal)
    factor, info = dpotrf(hessian * np.outer(unit, unit), lower=False, clean=False)
    if info != 0:
        raise ActiveSetError(f"the free block is singular or not positive definite ({info})")
    pivots = factor.diagonal() ** 2
    if pivots.min() < CONDITION_FLOOR * pivots.max():
        raise ActiveSetError("the free block is nearly singular")
    R_free = R.take(kept, axis=1)
    columns = np.empty((len(kept), 2 + len(R)))
    if held_product is None:  # S_FH held_x_H: held_x is 0 on the free entries
        columns[:, 0] = 2.0 * (rows_kept @ held_x) + c[kept]
    else:
        columns[:, 0] = 2.0 * held_product[kept] + c[kept]
    columns[:, 1] = d[kept]
    if held_d_product is not None:
        columns[:, 1] += 2.0 * held_d_product[kept]
    elif moving is not None:
        columns[:, 1] += 2.0 * (rows_kept @ moving[0])
    columns[:, 2:] = R_free.T
    columns *= unit[:, None]
    solved, info = dpotrs(factor, columns, lower=False)
    if info != 0:  # pragma: no cover - dpotrs fails only on bad arguments
        raise ActiveSetError(f"LAPACK dpotrs failed ({info})")
    solved *= unit[:, None]
    if not products:
        x_c, mu_c = solve_rows(held_x.copy(), free, R, rhs, solved[:, 0], solved[:, 2:])
        zero_x, zero_rhs = np.zeros(len(held_x)), np.zeros(len(rhs))
        x_d, mu_d = solve_rows(zero_x, free, R, zero_rhs, solved[:, 1], solved[:, 2:])
        g_c = 2.0 * (S @ x_c) + c + R.T @ mu_c  # 2 (S x): no n x n temporary
        g_d = 2.0 * (S @ x_d) + d + R.T @ mu_d
        g_c[kept] = 0.0  # zero by the system; rounding kept out of the sign checks
        g_d[kept] = 0.0
        return x_c, x_d, mu_c, mu_d, g_c, g_d
    held_d = None if moving is None else moving[0]
    x_free, mu = _solve_both(held_x, held_d, R, R_free, rhs, solved, moving)
    x = np.empty((2, len(held_x)))  # rows: x_c, x_d
    x[0] = held_x
    x[1] = 0.0 if held_d is None else held_d
    x[:, kept] = x_free.T
    if held_product is not None:  # S x = S held_x + S_:F x_F, S symmetric
        Sx = x_free.T @ rows_kept
        Sx[0] += held_product
        if held_d_product is not None:  # x_d is held_d on the held entries
            Sx[1] += held_d_product
        elif held_d is not None:
            Sx[1] += S @ held_d
    else:
        Sx = x @ S  # S symmetric: (S x)' = x' S, both parts in one pass
    g = 2.0 * Sx + mu.T @ R
    g[0] += c
    g[1] += d
    g[:, kept] = 0.0  # zero by the system; rounding kept out of the sign checks
    return x[0], x[1], mu[:, 0], mu[:, 1], g[0], g[1], Sx[0], Sx[1]


def _solve_both(held_x, held_d, R, R_free, rhs, solved, moving):
    """``solve_rows`` for the c part (column 0 of ``solved``) and the d part (column 1)
    from one Cholesky factor of the Schur complement: (x on the free entries (k, 2), mu
    (rows, 2)); held_x and held_d are 0 on the free entries."""
    if len(rhs) == 0:
        return -solved[:, :2], np.zeros((0, 2))
    rows_part = solved[:, 2:]
    schur_factor, info = dpotrf(R_free @ rows_part, lower=False, clean=False)
    if info != 0:
        raise ActiveSetError("the working rows are dependent on the free entries")
    pivots = schur_factor.diagonal() ** 2
    if pivots.min() < CONDITION_FLOOR * pivots.max():
        raise ActiveSetError("the working rows are nearly dependent")
    free_rhs = np.empty((len(rhs), 2))
    free_rhs[:, 0] = rhs - R @ held_x
    free_rhs[:, 1] = 0.0 if moving is None else moving[1] - R @ held_d
    free_rhs += R_free @ solved[:, :2]
    mu, _ = dpotrs(schur_factor, -free_rhs, lower=False)
    return -(solved[:, :2] + rows_part @ mu), mu


def _conditions(qp: DenseQP, p: Piece):
    """Every KKT condition of the piece as value_c + t value_d >= 0 (arrays), with the
    change that follows when it fails: (kind, index) per entry."""
    at_lower, at_upper, rows = p.sets
    free = ~(at_lower | at_upper)
    me = len(qp.e)
    Gx_c, Gx_d = qp.G @ p.x_c, qp.G @ p.x_d
    held_rows = np.flatnonzero(rows)
    parts = [
        (np.where(free, p.x_c - qp.lower, np.inf), np.where(free, p.x_d, 0.0), 0),  # to lower
        (np.where(free, qp.upper - p.x_c, np.inf), np.where(free, -p.x_d, 0.0), 1),  # to upper
        (np.where(rows, np.inf, qp.h - Gx_c), np.where(rows, 0.0, -Gx_d), 2),  # row reached
        (np.where(at_lower, p.g_c, np.inf), np.where(at_lower, p.g_d, 0.0), 3),  # leave lower
        (np.where(at_upper, -p.g_c, np.inf), np.where(at_upper, -p.g_d, 0.0), 4),  # leave upper
    ]
    row_c, row_d = np.full(len(qp.h), np.inf), np.zeros(len(qp.h))
    row_c[held_rows], row_d[held_rows] = p.mu_c[me:], p.mu_d[me:]
    parts.append((row_c, row_d, 5))  # drop a row whose multiplier reaches 0
    return parts


def holds(qp: DenseQP, p: Piece, t: float) -> bool:
    """Whether the piece's working set satisfies the QP's KKT conditions at t."""
    g = p.g_c + t * p.g_d
    mu = p.mu_c + t * p.mu_d
    scale = max(float(np.max(np.abs(mu), initial=0.0)), float(np.max(np.abs(g), initial=0.0)))
    scale = max(scale, 1e-300)
    for value_c, value_d, kind in _conditions(qp, p):
        value = value_c + t * value_d
        floor = -PRIMAL_TOLERANCE if kind < 3 else -DUAL_TOLERANCE * scale
        if np.any(value < floor):
            return False
    return True


def march(qp: DenseQP, d: np.ndarray, p: Piece, t0: float, t1: float) -> tuple[Piece, int]:
    """Follow the optimal path from t0 (where ``p`` holds) to t1; return the piece that
    holds at t1 and the systems solved. ActiveSetError when it cannot go on."""
    t, systems = t0, 0
    limit = 4 * (len(qp.c) + len(qp.h)) + 10
    for _ in range(limit):
        direction = 1.0 if t1 >= t else -1.0
        best, change = abs(t1 - t), None
        for value_c, value_d, kind in _conditions(qp, p):
            slope = value_d * direction
            falling = slope < 0
            if not falling.any():
                continue
            value = value_c[falling] + t * value_d[falling]
            steps = np.maximum(value, 0.0) / -slope[falling]
            j = int(np.argmin(steps))
            if steps[j] < best:
                best, change = float(steps[j]), (kind, int(np.flatnonzero(falling)[j]))
        if change is None:
            return p, systems
        t += direction * best
        at_lower, at_upper, rows = (s.copy() for s in p.sets)
        kind, j = change
        if kind == 0:
            at_lower[j] = True
        elif kind == 1:
            at_upper[j] = True
        elif kind == 2:
            rows[j] = True
        elif kind == 3:
            at_lower[j] = False
        elif kind == 4:
            at_upper[j] = False
        else:
            rows[j] = False
        p = piece(qp, d, (at_lower, at_upper, rows))
        systems += 1
    raise ActiveSetError("the parametric path changed its working set too often")


def solve_along(
    qp: DenseQP, d: np.ndarray, t: float, start: WorkingSet | None, known: tuple | None
) -> tuple[Piece, int]:
    """The piece that holds at t for the linear term c + t d, and the systems solved: the
    block updates of ``qp_kernel`` (warm from ``start``), else a march from ``known`` =
    (t_known, piece), else from the problem without a linear term along tau (c + t d)."""
    at = DenseQP(qp.S, qp.c + t * d, qp.E, qp.e, qp.G, qp.h, qp.lower, qp.upper)
    try:
        solution = solve_dense_qp(at, start)
        ws = solution.working_set
        return piece(qp, d, (ws.at_lower, ws.at_upper, ws.rows)), solution.iterations + 1
    except ActiveSetError:
        if known is not None:
            found, systems = march(qp, d, known[1], known[0], t)
            return found, systems
    x0, tight = interior_point(qp)
    origin = -2.0 * (qp.S @ x0)  # with this linear term x0 itself is optimal (multipliers 0)
    base = DenseQP(qp.S, origin, qp.E, qp.e, qp.G, qp.h, qp.lower, qp.upper)
    line = qp.c + t * d - origin
    found, systems = march(base, line, piece(base, line, tight), 0.0, 1.0)
    return piece(qp, d, found.sets), systems + 2


def interior_point(qp: DenseQP) -> tuple[np.ndarray, tuple]:
    """A point of the rows as far inside the inequalities as the LP max s (s <= 1): x - s >=
    lower, x + s <= upper, G x + s <= h, E x = e finds, and the working set of those it
    touches (none when s > 0); ActiveSetError when the rows cannot hold."""
    n, mi = len(qp.c), len(qp.h)
    lower, upper = np.isfinite(qp.lower), np.isfinite(qp.upper)
    eye = np.eye(n)
    A_ub = np.vstack(
        [
            np.column_stack([-eye[lower], np.ones(lower.sum())]),
            np.column_stack([eye[upper], np.ones(upper.sum())]),
            np.column_stack([qp.G, np.ones(mi)]),
        ]
    )
    b_ub = np.r_[-qp.lower[lower], qp.upper[upper], qp.h]
    A_eq = np.column_stack([qp.E, np.zeros(len(qp.e))]) if len(qp.e) else None
    result = linprog(
        np.r_[np.zeros(n), -1.0],
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=A_eq,
        b_eq=qp.e if len(qp.e) else None,
        bounds=[(None, None)] * n + [(None, 1.0)],
        method="highs",
    )
    if result.status != 0 or result.x[-1] < -PRIMAL_TOLERANCE:
        raise ActiveSetError("the linear rows have no feasible point (phase one)")
    x = result.x[:n]
    touching = PRIMAL_TOLERANCE if result.x[-1] <= PRIMAL_TOLERANCE else -np.inf
    at_lower = lower & (x - qp.lower <= touching)
    at_upper = upper & ~at_lower & (qp.upper - x <= touching)
    rows = qp.h - qp.G @ x <= touching
    x = np.where(at_lower, qp.lower, np.where(at_upper, qp.upper, x))
    return x, (at_lower, at_upper, rows)
