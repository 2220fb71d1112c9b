"""The L1 QP of ``l1_kernel`` along a linear term t d, by working-set pieces (a homotopy).

    minimize x'Sx + (c + t d)'x   over  E x = e,  G x <= h,  lower <= x <= upper,
                                        sum_i |x_i - a_i| <= T

For a fixed working set of ``l1_kernel`` (entries at a bound or at their breakpoint a_i,
sides, held rows, the L1 row held or not) the KKT system is linear in t: one Cholesky factor
of the free block gives x = x_c + t x_d, the multipliers (E, held rows [, nu]) mu_c + t mu_d
and the gradient g_c + t g_d (``parametric_qp.affine_kkt``). ``march`` follows the optimal
path from a t where a piece holds: the first condition to fail along the way changes the
working set by one entry or row (the parametric active set of ``parametric_qp``, with the L1
row's own events: a free entry reaching its breakpoint is held there, or, while the row is
not held, crosses to its other side; the row reaching its limit is held; an entry at its
breakpoint leaves it where |g_i| reaches nu; nu reaching 0 drops the row). A step of length
0 may not undo the change just made, and a working set seen twice at one t stops the march
(ActiveSetError): it cannot cycle. Ties are taken in the fixed order of ``_conditions``.

Where a held row (the L1 row or a G row) is implied by the others on the free entries (every
free entry on one side beside the budget row, a group holding every free entry), its
multiplier is not fixed by the system: the piece then carries it as the smallest value the
dual conditions allow, set by one of them (``_pin``), and a larger lower limit taking over
is a change of that choice, not of the working set. S times the held entries is carried
from piece to piece (the free columns alone per piece: 7-24 of 1000 on the benchmarks).

Where the problem's ``center_slope`` is set, the breakpoints move too (a + t center_slope,
with the L1 row's right-hand side): the held values at breakpoints and the right-hand sides
enter the system affinely, so the pieces stay affine (``l1_homotopy``'s homotopy between two
windows). A change that leaves the rows dependent there raises at once, for the caller's
``recover`` (``l1_exchanges``) instead of the implied-row treatment above.

``l1_interior.march_from_interior`` starts a march where the kernel cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from cvxport.solvers.active_set import PRIMAL_TOLERANCE, ActiveSetError
from cvxport.solvers.l1_kernel import L1WorkingSet, _apply, _Problem
from cvxport.solvers.parametric_qp import affine_kkt
from cvxport.solvers.qp_kernel import DUAL_TOLERANCE

# change kinds of ``_conditions`` (0-8 are ``l1_kernel._apply``'s), and FLIP: a free entry
# crossing its breakpoint while the L1 row is not held changes side only
TO_LOWER, TO_UPPER, TO_BREAK, ADD_ROW, HOLD_L1, DROP_ROW, DROP_L1, OFF_BOUND, OFF_BREAK = range(9)
FLIP = 9
REFRESH = 32  # pieces between full products S held_x
PRIMAL_KINDS = (TO_LOWER, TO_UPPER, TO_BREAK, ADD_ROW, HOLD_L1, FLIP)


def is_primal(kinds: np.ndarray) -> np.ndarray:
    """Whether each change kind corrects a primal condition (``PRIMAL_KINDS``: the kinds
    below DROP_ROW, and FLIP), without ``np.isin``'s sort."""
    return (kinds < DROP_ROW) | (kinds == FLIP)


@dataclass(frozen=True)
class L1Piece:
    """One working set's path in t: the kernel's sets (at_lower, at_upper, at_break, side,
    rows, l1), the L1 row's coefficients s (n,), x = x_c + t x_d (n,), multipliers of
    [E; held G rows; L1 row if held] mu_c + t mu_d, gradient g_c + t g_d (n,), S x_c and
    S x_d (n,). Where the
    L1 row or a G row is implied by the others on the free entries, its multiplier is not
    fixed by the system:
    ``implied`` = (shift, delta, pinned, mu0_c, mu0_d, g0_c, g0_d) gives mu = mu0 + lambda
    shift and g = g0 + lambda delta, lambda(t) the smallest multiplier of the implied row the
    dual conditions allow, set by the condition ``pinned`` (a position in ``_conditions``)."""

    sets: tuple
    s: np.ndarray
    x_c: np.ndarray
    x_d: np.ndarray
    mu_c: np.ndarray
    mu_d: np.ndarray
    g_c: np.ndarray
    g_d: np.ndarray
    Sx_c: np.ndarray
    Sx_d: np.ndarray
    implied: tuple | None = None
    held_x: np.ndarray | None = None  # held values (0 on free entries) and S held_x,
    held_product: np.ndarray | None = None  # carried from piece to piece
    age: int = 0  # pieces since held_product was formed in full
    held_d: np.ndarray | None = None  # where the held values move (``center_slope``): their
    held_d_product: np.ndarray | None = None  # slope (n,) and S held_d, carried likewise

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(x, mu) at t."""
        return self.x_c + t * self.x_d, self.mu_c + t * self.mu_d

    @property
    def working_set(self) -> L1WorkingSet:
        """The piece's working set as ``l1_kernel`` takes it to start."""
        at_lower, at_upper, at_break, side, rows, l1 = self.sets
        return L1WorkingSet(
            at_lower.copy(), at_upper.copy(), at_break.copy(), side.copy(), rows.copy(), l1
        )


def l1_piece(
    problem: _Problem, d: np.ndarray, sets, t: float | None = None, last: L1Piece | None = None
) -> L1Piece:
    """The working set's affine path in t (one Cholesky factor); where one held inequality
    row (the L1 row or a G row) is implied by the others on the free entries, the implied
    piece at t (``L1Piece``). ActiveSetError when the free block or the rows are (nearly)
    singular otherwise. ``last``: the piece before, whose S held_x is updated by the
    entries that changed (formed in full every REFRESH pieces)."""
    qp, slope = problem.qp, problem.center_slope
    at_lower, at_upper, at_break = sets[:3]
    held_x = np.where(
        at_lower, qp.lower, np.where(at_upper, qp.upper, np.where(at_break, problem.a, 0.0))
    )
    s = problem.signs(sets)
    R, rhs = _stacked_rows(problem, sets, s)
    moving, held_d, held_d_product = None, None, None
    held_product, age = _held_product(qp.S, held_x, last)
    if slope is not None:  # the breakpoints move with t, and the L1 row's right-hand side
        rhs_d = np.zeros(len(rhs))
        if sets[5]:
            rhs_d[-1] = s @ slope
        held_d = np.where(at_break, slope, 0.0)
        moving = (held_d, rhs_d)
        before = None if last is None else (last.held_d, last.held_d_product)
        held_d_product = _carried_product(qp.S, held_d, before, age)
    carried = {"held_x": held_x, "held_product": held_product, "age": age,
               "held_d": held_d, "held_d_product": held_d_product}  # fmt: skip
    products = held_product if moving is None else (held_product, held_d_product)
    free = ~problem.held(sets)
    try:
        path = affine_kkt(qp.S, qp.c, d, free, held_x, R, rhs, True, products, moving)
        return L1Piece(sets, s, *path, **carried)
    except ActiveSetError:
        if t is None or moving is not None:  # moving held values: the caller's exchange
            raise
    for r in range(len(R) - 1, len(qp.e) - 1, -1):  # the L1 row first, then held G rows
        others, other_rhs = np.delete(R, r, axis=0), np.delete(rhs, r)
        if _residual(others[:, free], R[r, free]) > 1e-9:
            continue
        rest = None if moving is None else (moving[0], np.delete(moving[1], r))
        rhs_d = 0.0 if moving is None else moving[1][r]
        try:
            x_c, x_d, mu_c, mu_d, g_c, g_d, Sx_c, Sx_d = affine_kkt(
                qp.S, qp.c, d, free, held_x, others, other_rhs, True, products, rest
            )
        except ActiveSetError:
            continue
        gap = float(R[r] @ (x_c + t * x_d)) - rhs[r] - t * rhs_d
        if abs(gap) > PRIMAL_TOLERANCE or abs(float(R[r] @ x_d) - rhs_d) > PRIMAL_TOLERANCE:
            continue
        beta, *_ = np.linalg.lstsq(others[:, free].T, R[r, free], rcond=None)
        delta = R[r] - others.T @ beta
        delta[free] = 0.0
        shift = np.insert(-beta, r, 1.0)
        mu_c, mu_d = np.insert(mu_c, r, 0.0), np.insert(mu_d, r, 0.0)
        implied = (shift, delta, -1, mu_c, mu_d, g_c, g_d)
        piece = L1Piece(sets, s, x_c, x_d, mu_c, mu_d, g_c, g_d, Sx_c, Sx_d, implied, **carried)
        return _pin(problem, piece, t, None)
    raise ActiveSetError("the working rows are dependent on the free entries")


def _stacked_rows(problem: _Problem, sets, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R (rows, n) and rhs of the working set: E, held G rows, then the L1 row s where it
    is held (``_Problem.rows`` stacked in one call: np.vstack costs more at n = 100)."""
    qp, rows = problem.qp, sets[4]
    R_parts, rhs_parts = [qp.E], [qp.e]
    if rows.any():
        R_parts.append(qp.G[rows])
        rhs_parts.append(qp.h[rows])
    if sets[5]:
        R_parts.append(s[None, :])
        rhs_parts.append([problem.limit + s @ problem.a])
    return np.concatenate(R_parts), np.concatenate(rhs_parts)


def _held_product(S: np.ndarray, held_x: np.ndarray, last: L1Piece | None):
    """(S held_x (n,), its age): updated from ``last`` by the columns of the entries whose
    held value changed, in full when there is no last piece, it is REFRESH pieces old or
    many entries changed."""
    if last is not None and last.held_product is not None and last.age < REFRESH:
        product = _updated(S, held_x, last.held_x, last.held_product)
        if product is not None:
            return product, last.age + 1
    return S @ held_x, 0


def _carried_product(S: np.ndarray, values: np.ndarray, before, age: int) -> np.ndarray:
    """S values (n,), updated from ``before`` = (last values, S last values) where few
    entries changed and ``age`` (``_held_product``'s) is not 0, else formed in full."""
    if age and before is not None and before[1] is not None:
        product = _updated(S, values, *before)
        if product is not None:
            return product
    return S @ values


def _updated(S: np.ndarray, values: np.ndarray, last_values, last_product):
    """S values from S last_values by the columns of the entries that changed; None where
    more than an eighth of them did (a full product is then as cheap)."""
    changed = np.flatnonzero(values != last_values)
    if len(changed) > max(1, len(values) // 8):
        return None
    return last_product + (values[changed] - last_values[changed]) @ S.take(changed, axis=0)


def _pin(problem: _Problem, p: L1Piece, t: float, pinned: int | None) -> L1Piece:
    """The implied piece ``p`` with its free multiplier lambda(t) set by the condition
    ``pinned`` (None: the largest lower limit at t, ties to the one rising fastest)."""
    shift, delta, _, mu0_c, mu0_d, g0_c, g0_d = p.implied
    implied = (shift, delta, -1, mu0_c, mu0_d, g0_c, g0_d)
    base = replace(p, mu_c=mu0_c, mu_d=mu0_d, g_c=g0_c, g_d=g0_d, implied=implied)
    value_c, value_d, _, _, q = _conditions(problem, base)  # at lambda = 0
    if pinned is None:
        lower = np.flatnonzero(q > 0)
        limits = -(value_c[lower] + t * value_d[lower]) / q[lower]
        top = limits.max()
        near = lower[limits >= top - 1e-12 * max(1.0, abs(top))]
        pinned = int(near[np.argmax(-value_d[near] / q[near])])
    lambda_c, lambda_d = -value_c[pinned] / q[pinned], -value_d[pinned] / q[pinned]
    return replace(
        p, mu_c=mu0_c + lambda_c * shift, mu_d=mu0_d + lambda_d * shift,
        g_c=g0_c + lambda_c * delta, g_d=g0_d + lambda_d * delta,
        implied=(*implied[:2], pinned, *implied[3:]),
    )  # fmt: skip


def _residual(A: np.ndarray, row: np.ndarray) -> float:
    """Largest entry of ``row`` minus its least-squares combination of A's rows."""
    if not A.size or not np.any(A):
        return float(np.max(np.abs(row), initial=0.0))
    beta, *_ = np.linalg.lstsq(A.T, row, rcond=None)
    return float(np.max(np.abs(A.T @ beta - row), initial=0.0))


def _conditions(problem: _Problem, p: L1Piece):
    """Every KKT condition of the piece as value_c + t value_d >= 0 (arrays in a fixed
    layout: seven blocks over the entries, two over the rows, the L1 row; inf where a
    condition does not apply), with the change that follows when it fails (kinds, the
    entry or row) and, for an implied piece, how the condition grows with its free
    multiplier (q; None otherwise)."""
    qp, a = problem.qp, problem.a
    a_d = 0.0 if problem.center_slope is None else problem.center_slope
    at_lower, at_upper, at_break, side, rows, l1 = p.sets
    n, mi = len(a), len(qp.h)
    free = ~(at_lower | at_upper | at_break)
    moving = free & problem.interior
    me, held = len(qp.e), int(rows.sum())
    nu_c, nu_d = (float(p.mu_c[-1]), float(p.mu_d[-1])) if l1 else (0.0, 0.0)
    value_c, value_d = np.empty(7 * n + 2 * mi + 1), np.zeros(7 * n + 2 * mi + 1)
    entries_c, entries_d = value_c[: 7 * n].reshape(7, n), value_d[: 7 * n].reshape(7, n)
    entries_c[0], entries_d[0] = p.x_c - qp.lower, p.x_d  # free: to the lower bound
    entries_c[1], entries_d[1] = qp.upper - p.x_c, -p.x_d  # to the upper bound
    entries_c[2], entries_d[2] = side * (p.x_c - a), side * (p.x_d - a_d)  # to the breakpoint
    entries_c[3], entries_d[3] = p.g_c, p.g_d  # at lower: g >= 0
    entries_c[4], entries_d[4] = -p.g_c, -p.g_d  # at upper: g <= 0
    # at a breakpoint |g| <= nu (0 while the L1 row is not held): g reaching nu leaves
    # below a, -nu above
    entries_c[5], entries_d[5] = nu_c - p.g_c, nu_d - p.g_d
    entries_c[6], entries_d[6] = nu_c + p.g_c, nu_d + p.g_d
    applies = np.empty((7, n), bool)  # row by row: np.vstack costs more at n = 100
    applies[0] = applies[1] = free
    applies[2], applies[3], applies[4] = moving, at_lower, at_upper
    applies[5] = applies[6] = at_break
    entries_c[~applies] = np.inf
    entries_d[~applies] = 0.0
    row_c, row_d = value_c[7 * n : -1].reshape(2, mi), value_d[7 * n : -1].reshape(2, mi)
    row_c[0], row_d[0] = qp.h - qp.G @ p.x_c, -(qp.G @ p.x_d)  # open rows: reached
    row_c[1, :], row_d[1, :] = np.inf, 0.0  # held rows: multiplier >= 0
    row_c[1, rows], row_d[1, rows] = p.mu_c[me : me + held], p.mu_d[me : me + held]
    row_c[0, rows], row_d[0, rows] = np.inf, 0.0
    if l1:
        value_c[-1], value_d[-1] = nu_c, nu_d
    else:
        value_c[-1] = problem.limit - float(p.s @ (p.x_c - a))
        value_d[-1] = -float(p.s @ (p.x_d - a_d))
    kinds, index = _layout(n, mi, bool(l1))
    q = None
    if p.implied is not None:
        shift, delta = p.implied[:2]
        nu_q = shift[-1] if l1 else 0.0
        q = np.zeros(len(value_c))
        entries_q, rows_q = q[: 7 * n].reshape(7, n), q[7 * n : -1].reshape(2, mi)
        entries_q[3], entries_q[4] = delta, -delta
        entries_q[5], entries_q[6] = nu_q - delta, nu_q + delta
        entries_q[~applies] = 0.0
        rows_q[1, rows] = shift[me : me + held]
        q[-1] = nu_q
    return value_c, value_d, kinds, index, q


@lru_cache(maxsize=32)
def _layout(n: int, mi: int, l1: bool) -> tuple[np.ndarray, np.ndarray]:
    """(kinds, index) of ``_conditions``'s layout, built once per shape (read-only)."""
    entry_kinds = [TO_LOWER, TO_UPPER, TO_BREAK if l1 else FLIP, OFF_BOUND, OFF_BOUND,
                   OFF_BREAK, OFF_BREAK]  # fmt: skip
    kinds = np.r_[np.repeat(entry_kinds, n), np.repeat([ADD_ROW, DROP_ROW], mi),
                  DROP_L1 if l1 else HOLD_L1].astype(int)  # fmt: skip
    index = np.r_[np.tile(np.arange(n), 7), np.tile(np.arange(mi), 2), 0].astype(int)
    kinds.flags.writeable = index.flags.writeable = False
    return kinds, index


def holds(problem: _Problem, p: L1Piece, t: float) -> bool:
    """Whether the piece's working set satisfies the L1 QP's KKT conditions at t."""
    value, _, floor = measured(problem, p, t)
    return bool(np.all(value >= -floor))


def measured(problem: _Problem, p: L1Piece, t: float):
    """Every KKT condition of the piece at t (``_conditions``'s layout): its value (n_c,),
    its slope in t (with the condition that sets an implied multiplier held flat) and the
    tolerance it is measured with (primal in x's units, dual relative to ``_scale``)."""
    x, mu = p.at(t)
    value_c, value_d, kinds, _, _ = _conditions(problem, p)
    dual_floor = DUAL_TOLERANCE * _scale(problem, p, x, mu, t)
    floor = np.where(is_primal(kinds), PRIMAL_TOLERANCE, dual_floor)
    slope = value_d.copy()
    if p.implied is not None:
        slope[p.implied[2]] = 0.0  # the condition that sets the implied multiplier
    return value_c + t * value_d, slope, floor


def _scale(problem: _Problem, p: L1Piece, x, mu, t: float) -> float:
    """What dual conditions are measured against (``l1_kernel._dual_scale``): the largest
    multiplier or term of the objective gradient 2Sx + c + t d at t."""
    terms = np.abs(2.0 * (p.Sx_c + t * p.Sx_d))
    return max(float(np.abs(mu).max(initial=0.0)), float(terms.max(initial=0.0)), 1e-300)


def march(
    problem: _Problem,
    d: np.ndarray,
    p: L1Piece,
    t0: float,
    target: Callable[[L1Piece], float],
    limit: int,
    reach: float = np.inf,
    recover: Callable[[L1Piece, tuple, float], L1Piece] | None = None,
) -> tuple[L1Piece, float, int]:
    """Follow the optimal path from t0 (where ``p`` holds) toward ``target(piece)`` (a t
    recomputed on every piece); return the piece that holds there, that t and the systems
    solved. A change beyond ``reach`` does not count (slopes of rounding size on a piece
    that no longer moves); with an infinite target the march then ends there (t = inf).
    ActiveSetError (its ``systems``: those solved before it) when it cannot go on within
    ``limit`` systems. ``recover(piece, sets,
    t)``: a piece that holds at t where the change from ``piece`` to ``sets`` leaves a
    singular system (the caller's own way)."""
    t, systems = t0, 0
    seen: set[bytes] = set()
    last = None  # (kind, index) of the last change: not undone by a step of length 0
    goal = target(p)
    try:
        for _ in range(4 * limit):
            if systems >= limit:
                break
            direction = 1.0 if goal >= t else -1.0
            value_c, value_d, kinds, index, q = _conditions(problem, p)
            slope = value_d * direction
            if p.implied is not None:
                slope[p.implied[2]] = 0.0  # the condition that sets nu holds along the piece
            falling = np.flatnonzero(slope < 0)
            steps = np.maximum(value_c[falling] + t * value_d[falling], 0.0) / -slope[falling]
            zero = steps <= 0.0
            if last is not None and zero.any():
                undo = np.isin(kinds[falling], UNDOES[last[0]]) & (index[falling] == last[1])
                steps[undo & zero] = np.inf
            k = int(np.argmin(steps)) if len(steps) else -1
            if k < 0 or steps[k] >= abs(goal - t) or abs(t + direction * steps[k]) > reach:
                return p, goal, systems
            best, row = float(steps[k]), int(falling[k])
            kind, j = int(kinds[row]), int(index[row])
            if best > 0:
                seen.clear()
                t += direction * best
            else:  # a step of length 0: the working sets met at this t may not repeat
                key = _key(p.sets) + (b"" if p.implied is None else bytes([row % 251]))
                if key in seen:
                    raise ActiveSetError("the L1 path repeats a working set at one trade-off")
                seen.add(key)
            if q is not None and q[row] > 0:  # a larger lower limit of nu: it now sets nu
                p = _pin(problem, p, t, row)
                continue
            sets = _change(problem, p, t, direction, kind, j)
            last = (kind, j)
            if kind != FLIP:  # a side change of a free entry leaves the piece as it is
                try:
                    p = l1_piece(problem, d, sets, t, p)
                except ActiveSetError:
                    if recover is None:
                        raise
                    p = recover(p, sets, t)
                    last = None
                systems += 1
                goal = target(p)
            else:
                p = replace(p, sets=sets, s=problem.signs(sets))
    except ActiveSetError as exc:  # the systems solved before it, for the caller's count
        exc.systems = getattr(exc, "systems", 0) + systems
        raise
    exhausted = ActiveSetError(f"the L1 path changed its working set more than {limit} times")
    exhausted.systems = systems
    raise exhausted


# the changes that undo one of each kind on the same entry or row
UNDOES = {
    TO_LOWER: [OFF_BOUND], TO_UPPER: [OFF_BOUND], OFF_BOUND: [TO_LOWER, TO_UPPER],
    TO_BREAK: [OFF_BREAK], OFF_BREAK: [TO_BREAK], ADD_ROW: [DROP_ROW], DROP_ROW: [ADD_ROW],
    HOLD_L1: [DROP_L1], DROP_L1: [HOLD_L1], FLIP: [FLIP],
}  # fmt: skip


def center(problem: _Problem, t: float) -> np.ndarray:
    """The L1 row's center at t (n,): a, or a + t center_slope where it moves."""
    slope = problem.center_slope
    return problem.a if slope is None else problem.a + t * slope


def _key(sets) -> bytes:
    at_lower, at_upper, at_break, side, rows, l1 = sets
    flags = np.concatenate([at_lower, at_upper, at_break, side > 0, rows, [l1]])
    return np.packbits(flags).tobytes()


def _change(problem: _Problem, p: L1Piece, t: float, direction: float, kind: int, j: int):
    """The working set after the change ``kind`` on entry or row j at t."""
    n = len(problem.a)
    x = p.x_c + t * p.x_d
    g = p.g_c + t * p.g_d
    z = x - center(problem, t)
    mask = np.zeros(len(problem.qp.h) if kind in (ADD_ROW, DROP_ROW) else n, bool)
    mask[j] = True
    if kind == FLIP:
        side = p.sets[3].copy()
        side[j] = -side[j]
        return (*p.sets[:3], side, *p.sets[4:])
    if kind == HOLD_L1:  # sides as they are (kept by the flips)
        return (*p.sets[:5], True)
    if kind == DROP_L1:  # entries at a breakpoint leave it the way their gradient moves
        pull = -(p.g_d * direction)
        return _apply(p.sets, DROP_L1, None, z, np.where(pull == 0, -g, pull))
    if kind == OFF_BREAK:  # g = nu: below a; g = -nu: above
        return _apply(p.sets, OFF_BREAK, mask, z, -g)
    return _apply(p.sets, kind, mask, z, -g)


def free_sides(problem: _Problem, p: L1Piece, t: float, direction: float) -> tuple:
    """The sets with each free entry's side where it lies at t (where the way it moves when
    it is at its breakpoint), for a piece whose L1 row is not held."""
    at_lower, at_upper, at_break, side, rows, l1 = p.sets
    if l1:
        return p.sets
    z = p.x_c + t * p.x_d - center(problem, t)
    lean = np.where(np.abs(z) > PRIMAL_TOLERANCE, z, direction * p.x_d)
    free = ~(at_lower | at_upper | at_break)
    side = np.where(free, np.where(lean >= 0, 1.0, -1.0), side)
    return at_lower, at_upper, at_break, side, rows, l1
