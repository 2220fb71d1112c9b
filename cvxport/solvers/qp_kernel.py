"""An exact dense QP solve with general linear rows, by primal-dual active sets.

    minimize x' S x + c' x   subject to   E x = e,   G x <= h,   lower <= x <= upper

with S symmetric positive definite on the free entries. A working set (entries held at a
bound, inequality rows held with equality) turns the KKT conditions into one linear system:
with R = [E; G_active] and d its right-hand side, on the free entries F

    2 S_FF x_F + R_F' mu = -(2 S_FB x_B + c_F),    R_F x_F = d - R_B x_B,

solved by a Cholesky factor of S_FF and the Schur complement R_F S_FF^-1 R_F' (a few rows).
The working set is corrected from the primal and dual signs at once (Hintermueller, Ito &
Kunisch 2003) until every KKT condition holds to rounding: the answer is then the optimum of
the convex QP, certified by ``kkt_residual``. A backtest passes the previous solve's working
set, which usually holds again (one or two systems). When a working set repeats, the
problems with one equality row and bounds finish by the monotone primal method of
``active_set.py``; anything else this method cannot settle (a singular block, rows that are
dependent on the working set, cycling) raises ``ActiveSetError`` and the next backend solves
the same declared problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dpotrf, dpotrs

from cvxport.solvers.active_set import (
    CONDITION_FLOOR,
    PRIMAL_TOLERANCE,
    ActiveSetError,
    _feasible_point,
    _primal_active_set,
)
from cvxport.solvers.covariance_operator import operator_of

DUAL_TOLERANCE = 1e-11  # multipliers, relative to the largest row multiplier
BLOCK_ITERATIONS = 40


@dataclass(frozen=True)
class DenseQP:
    """The QP of the module: S (n, n), c (n,), E (me, n), e (me,), G (mi, n), h (mi,),
    lower and upper (n,) (-inf / inf where there is none)."""

    S: np.ndarray
    c: np.ndarray
    E: np.ndarray
    e: np.ndarray
    G: np.ndarray
    h: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class WorkingSet:
    """Entries held at their lower / upper bound (n,) and inequality rows held (mi,)."""

    at_lower: np.ndarray
    at_upper: np.ndarray
    rows: np.ndarray


@dataclass(frozen=True)
class QPSolution:
    """A KKT point: x (n,), its working set, objective x'Sx + c'x, linear systems solved,
    and the largest KKT violation (primal in x's units, dual relative to the multipliers)."""

    x: np.ndarray
    working_set: WorkingSet
    objective: float
    iterations: int
    kkt_residual: float


def solve_dense_qp(qp: DenseQP, start: WorkingSet | None = None) -> QPSolution:
    """Return the exact optimum of ``qp`` (see the module); ActiveSetError when this method
    cannot settle it."""
    return solve_active_set(qp, start, _solve_working, primal_fallback)


def solve_active_set(qp, start: WorkingSet | None, solve_working, primal_fallback) -> QPSolution:
    """The working-set iterations over any QP record with S, c, E, e, G, h, lower, upper:
    ``solve_working(qp, at_lower, at_upper, rows) -> (x, mu)`` solves one working set's KKT
    system (dense Cholesky here; Woodbury in ``factor_qp``) and
    ``primal_fallback(qp, iterations)`` finishes where the updates cycle.

    Block updates change every wrong entry at once; where they repeat a working set or reach
    one whose system is singular, the method goes back to the last solvable working set and
    changes only its worst entry (a single-change step) until the KKT conditions hold.
    """
    n, mi = len(qp.c), len(qp.h)
    if np.any(qp.lower > qp.upper):
        raise ActiveSetError("a lower bound is above its upper bound")
    sets = _start(qp, start, n, mi)
    seen: set[bytes] = set()
    single = False
    candidates = iter(())  # single-change working sets still to try from the last good one
    limit = BLOCK_ITERATIONS + 4 * (n + mi)
    for iteration in range(1, limit + 1):
        try:
            x, mu = solve_working(qp, *sets)
        except ActiveSetError:
            if start is not None and iteration == 1:  # a stale warm start: begin cold
                return solve_active_set(qp, None, solve_working, primal_fallback)
            single = True
            sets = next(candidates, None)
            if sets is None:
                return primal_fallback(qp, iteration)
            continue
        Sx = qp.S @ x
        gradient = changes_gradient(qp, sets, x, mu, Sx)
        changes = _changes(qp, sets, x, mu, gradient)
        if changes is None:
            return _solution(qp, x, gradient, mu, sets, iteration, Sx)
        state = np.packbits(np.concatenate(sets)).tobytes()
        if state in seen and single:
            break
        if state in seen:
            single = True
        seen.add(state)
        candidates = _single_changes(sets, changes)
        sets = next(candidates) if single else _block_change(sets, changes)
    return primal_fallback(qp, iteration)


def changes_gradient(
    qp: DenseQP, sets, x: np.ndarray, mu: np.ndarray, Sx: np.ndarray | None = None
) -> np.ndarray:
    """The Lagrangian gradient 2Sx + c + R'mu (n,): the bound multipliers on held entries;
    ``Sx``: S @ x when the caller has it.

    2 (S x), not (2 S) x: the same numbers (doubling is exact) without an n x n temporary."""
    Sx = qp.S @ x if Sx is None else Sx
    return 2.0 * Sx + qp.c + _rows_transpose(qp, sets[2]) @ mu


def _changes(qp: DenseQP, sets, x: np.ndarray, mu: np.ndarray, gradient=None):
    """Violations of the KKT conditions at (x, mu), each as (n,) or (mi,) amounts (> 0 where
    wrong), or None when every condition holds; ``gradient``: ``changes_gradient``'s answer
    when the caller has it."""
    at_lower, at_upper, rows = sets
    if gradient is None:
        gradient = changes_gradient(qp, sets, x, mu)
    dual_scale = max(float(np.abs(mu).max(initial=0.0)), 1e-300)
    free = ~(at_lower | at_upper)
    below = np.where(free, qp.lower - x, 0.0)
    above = np.where(free, x - qp.upper, 0.0)
    violated = np.where(rows, 0.0, qp.G @ x - qp.h)
    row_mu = np.zeros(len(qp.h))
    row_mu[np.flatnonzero(rows)] = mu[len(qp.e) :]
    dropped = np.where(rows, -row_mu, 0.0) / dual_scale
    released = np.where(at_lower, -gradient, np.where(at_upper, gradient, 0.0)) / dual_scale
    primal = (below, above, violated)
    dual = (dropped, released)
    if all(v.max(initial=0.0) <= PRIMAL_TOLERANCE for v in primal) and all(
        v.max(initial=0.0) <= DUAL_TOLERANCE for v in dual
    ):
        return None
    return below, above, violated, dropped, released


def _block_change(sets, changes):
    at_lower, at_upper, rows = sets
    below, above, violated, dropped, released = changes
    release = released > DUAL_TOLERANCE
    at_lower = (at_lower & ~release) | (below > PRIMAL_TOLERANCE)
    at_upper = (at_upper & ~release) | (above > PRIMAL_TOLERANCE)
    rows = (rows & ~(dropped > DUAL_TOLERANCE)) | (violated > PRIMAL_TOLERANCE)
    return at_lower, at_upper, rows


def _single_changes(sets, changes):
    """Working sets that change one entry each, the largest violation first (primal before
    dual): the next is tried when the system of the previous is singular."""
    at_lower, at_upper, rows = sets
    below, above, violated, dropped, released = changes
    scored = []
    for kind, amounts, tolerance in (
        (0, below, PRIMAL_TOLERANCE),
        (1, above, PRIMAL_TOLERANCE),
        (2, violated, PRIMAL_TOLERANCE),
        (3, dropped, DUAL_TOLERANCE),
        (4, released, DUAL_TOLERANCE),
    ):
        for j in np.flatnonzero(amounts > tolerance):
            scored.append((kind >= 3, -float(amounts[j]), kind, int(j)))
    for _, _, kind, j in sorted(scored):
        new = [at_lower.copy(), at_upper.copy(), rows.copy()]
        if kind < 3:
            new[kind][j] = True
        elif kind == 3:
            new[2][j] = False
        else:
            new[0][j] = new[1][j] = False
        yield tuple(new)


def _start(qp: DenseQP, start: WorkingSet | None, n: int, mi: int):
    if start is None or len(start.at_lower) != n or len(start.rows) != mi:
        return np.zeros(n, bool), np.zeros(n, bool), np.zeros(mi, bool)
    at_lower = start.at_lower & np.isfinite(qp.lower)
    at_upper = start.at_upper & ~at_lower & np.isfinite(qp.upper)
    return at_lower, at_upper, start.rows.copy()


def _rows_transpose(qp: DenseQP, rows: np.ndarray) -> np.ndarray:
    """R' (n, me + active) of the working rows."""
    return np.vstack([qp.E, qp.G[rows]]).T


def working_set_solver(solve_kkt):
    """The ``solve_working(qp, at_lower, at_upper, rows) -> (x, mu)`` of ``solve_active_set``
    that holds the working set's entries at their bounds and rows with equality, then calls
    ``solve_kkt(qp.S, qp.c, free, x, R, d)`` (``solve_kkt_system``'s arguments)."""

    def solve_working(
        qp: DenseQP, at_lower: np.ndarray, at_upper: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        x = np.where(at_lower, qp.lower, np.where(at_upper, qp.upper, 0.0))
        free = ~(at_lower | at_upper)
        R = np.vstack([qp.E, qp.G[rows]])
        d = np.concatenate([qp.e, qp.h[rows]])
        return solve_kkt(qp.S, qp.c, free, x, R, d)

    return solve_working


def solve_kkt_system(
    S: np.ndarray, c: np.ndarray, free: np.ndarray, x: np.ndarray, R: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``2 S_FF x_F + R_F' mu = -(2 S_FB x_B + c_F)``, ``R x = d`` for the free entries
    ``free`` (n,) of ``x`` (n,; held entries already at their values) and the multipliers mu
    (rows of R,); ActiveSetError when the block or the rows are (nearly) singular."""
    # blocks by ``take`` on index arrays: the entries of S[np.ix_(free, free)], 10x faster
    kept, held = free.nonzero()[0], (~free).nonzero()[0]
    if not len(kept):
        raise ActiveSetError("every entry is held at a bound")
    x = x.copy()
    rows_kept = S.take(kept, axis=0)
    hessian = 2.0 * rows_kept.take(kept, axis=1)
    pull = 2.0 * (rows_kept.take(held, axis=1) @ x.take(held)) + c.take(kept)
    # factor the block scaled to unit diagonal (D^-1 H D^-1): pivots then measure correlation,
    # not each asset's return scale (returns scaled 1e-6 beside 1e3 stay solvable)
    diagonal = hessian.diagonal()
    if not (diagonal > 0).all():
        raise ActiveSetError("a free entry has no curvature (zero variance)")
    unit = 1.0 / np.sqrt(diagonal)
    factor, info = dpotrf(hessian * (unit[:, None] * unit), lower=False, clean=False)
    if info != 0:
        raise ActiveSetError(f"the free block is singular or not positive definite ({info})")
    pivots = factor.diagonal() ** 2
    if pivots.min() < CONDITION_FLOOR * pivots.max():
        raise ActiveSetError("the free block is nearly singular")
    R_free = R.take(kept, axis=1)
    right = np.concatenate((pull[:, None], R_free.T), axis=1)  # [pull, R_F'] (|F|, 1 + m)
    solved, info = dpotrs(factor, right * unit[:, None], lower=False)
    if info != 0:  # pragma: no cover - dpotrs fails only on bad arguments
        raise ActiveSetError(f"LAPACK dpotrs failed ({info})")
    solved *= unit[:, None]
    return solve_rows(x, free, R, d, solved[:, 0], solved[:, 1:], (kept, held, R_free))


def solve_rows(
    x: np.ndarray,
    free: np.ndarray,
    R: np.ndarray,
    d: np.ndarray,
    pull_part: np.ndarray,
    rows_part: np.ndarray,
    blocks: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Finish a working set's KKT system from the block solves ``pull_part`` = H_FF^-1 pull
    (|F|,) and ``rows_part`` = H_FF^-1 R_F' (|F|, m): the multipliers mu (m,) from the Schur
    complement R_F H_FF^-1 R_F' (Cholesky), and x (n,) with x_F set in place. ``blocks``:
    the positions of the free and the held entries and R_F, when the caller has them."""
    if blocks is None:
        kept, held = np.flatnonzero(free), np.flatnonzero(~free)
        blocks = (kept, held, R.take(kept, axis=1))
    kept, held, R_free = blocks
    if len(d) == 0:
        x[kept] = -pull_part
        return x, np.zeros(0)
    schur = R_free @ rows_part
    rhs = -(d - R.take(held, axis=1) @ x.take(held)) - R_free @ pull_part
    schur_factor, info = dpotrf(schur, lower=False, clean=False)
    if info != 0:
        raise ActiveSetError("the working rows are dependent on the free entries")
    pivots = schur_factor.diagonal() ** 2
    if pivots.min() < CONDITION_FLOOR * pivots.max():
        raise ActiveSetError("the working rows are nearly dependent")
    mu, _ = dpotrs(schur_factor, rhs, lower=False)
    x[kept] = -(pull_part + rows_part @ mu)
    return x, mu


_solve_working = working_set_solver(solve_kkt_system)


def _solution(qp, x, gradient, mu, sets, iterations, Sx=None) -> QPSolution:
    """The solution record; ``Sx``: S @ x when the caller has it (for the objective)."""
    at_lower, at_upper, rows = sets
    free = ~(at_lower | at_upper)
    dual_scale = max(float(np.abs(mu).max(initial=0.0)), 1e-300)
    signed = gradient / dual_scale
    primal = max(
        float(np.where(free, np.maximum(qp.lower - x, x - qp.upper), 0.0).max(initial=0.0)),
        float((qp.G @ x - qp.h).max(initial=0.0)),
        float(np.abs(qp.E @ x - qp.e).max(initial=0.0)),
        0.0,
    )
    dual = max(
        float(np.where(at_lower, -signed, np.where(at_upper, signed, 0.0)).max(initial=0.0)),
        float((-mu[len(qp.e) :] / dual_scale).max(initial=0.0)),
        float(np.abs(signed[free]).max(initial=0.0)),
        0.0,
    )
    objective = float(x @ (qp.S @ x if Sx is None else Sx) + qp.c @ x)
    working = WorkingSet(at_lower.copy(), at_upper.copy(), rows.copy())
    return QPSolution(x, working, objective, iterations, max(primal, dual))


def primal_fallback(qp: DenseQP, iterations: int) -> QPSolution:
    """The monotone primal method where it applies: one equality row, bounds, no linear term,
    no other rows (minimum variance under bounds; long-only Charnes-Cooper). ``qp.S`` is an
    (n, n) array or an ``OperatorMatrix`` (the factor form)."""
    if len(qp.h) or len(qp.e) != 1 or np.any(qp.c) or abs(qp.e[0]) == 0:
        raise ActiveSetError("the working set repeats (cycling) with general rows")
    row = qp.E[0] / qp.e[0]
    if np.all(row == 1.0):
        start = _feasible_point(qp.lower, qp.upper)
    elif np.all(qp.lower == 0) and np.all(np.isinf(qp.upper)) and row.max() > 0:
        start = np.zeros(len(row))
        best = int(np.argmax(row))
        start[best] = 1.0 / row[best]
    else:
        raise ActiveSetError("the working set repeats (cycling) and no feasible start is known")
    op = operator_of(qp.S)
    solution = _primal_active_set(op, row, qp.lower, qp.upper, start, iterations)
    x = solution.weights
    working = WorkingSet(solution.at_lower, solution.at_upper, np.zeros(len(qp.h), bool))
    return QPSolution(x, working, op.variance(x), solution.iterations, solution.kkt_residual)
