"""The exact dense QP of ``qp_kernel`` with one L1 row, by primal-dual active sets.

    minimize x' S x + c' x   subject to   E x = e,  G x <= h,  lower <= x <= upper,
                                          sum_i |x_i - a_i| <= T

(turnover: a = previous weights; gross exposure: a = 0). Each entry has a breakpoint at a_i.
Where a_i lies strictly between the entry's bounds, the working set gives the entry a side
(+1: x_i >= a_i, -1: x_i <= a_i) or holds it at a_i; elsewhere the side is fixed by the
bounds. With sides fixed and the L1 row held, the row is the linear row
``sum_i s_i (x_i - a_i) = T`` over the entries not at their breakpoint, and the system is
``qp_kernel.solve_kkt_system``'s. Optimality (all to rounding, ``kkt_residual``):

- primal: bounds, rows, ``sum |x - a| <= T``, every free entry on its side;
- dual: the Lagrangian gradient g = 2Sx + c + R' mu (mu the row multipliers, nu >= 0 the L1
  row's) is 0 on free entries, >= 0 / <= 0 on entries at their lower / upper bound, and within
  [-nu, nu] on entries at their breakpoint (the subgradient condition).

Wrong entries change at once (an entry crossing its breakpoint is held there, one at its
breakpoint with |g_i| > nu moves to the side of -g_i); a repeated working set or a singular
system goes back to single changes (both in ``l1_changes``). When every free entry lies on
one side, the L1 row is a combination of the other rows on them: x then comes from those
rows, and nu is taken from the interval where the dual conditions hold. Anything still
unsettled raises ``ActiveSetError`` and the next backend (cvxpy) solves the problem.

Maximum Sharpe with an L1 row is solved over the weights at scale 1 through this kernel
(``l1_sharpe``), not in the Charnes-Cooper variables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvxport.solvers.active_set import PRIMAL_TOLERANCE, ActiveSetError
from cvxport.solvers.l1_changes import TOLERANCES, apply_change, block_change, single_changes
from cvxport.solvers.qp_kernel import (
    BLOCK_ITERATIONS,
    DenseQP,
    solve_kkt_system,
)

_apply = apply_change  # the name modules built on this kernel import (before ``l1_changes``)


class _RedirectError(ActiveSetError):
    """The working set cannot hold (its L1 row is implied by the others and fails): the
    loop goes on from ``sets``."""

    def __init__(self, sets) -> None:
        super().__init__("the L1 row contradicts the other working rows")
        self.sets = sets


@dataclass(frozen=True)
class L1Row:
    """``sum_i |x_i - center_i| <= limit``: center (n,), limit >= 0 (units of x)."""

    center: np.ndarray
    limit: float


@dataclass(frozen=True)
class L1WorkingSet:
    """Entries held at lower / upper / breakpoint (n,), sides of the entries (n,, +1 / -1),
    inequality rows held (mi,), and whether the L1 row is held."""

    at_lower: np.ndarray
    at_upper: np.ndarray
    at_break: np.ndarray
    side: np.ndarray
    rows: np.ndarray
    l1: bool


@dataclass(frozen=True)
class L1Solution:
    """A KKT point: x (n,), its working set, objective x'Sx + c'x, linear systems solved,
    the largest KKT violation (primal in x's units, dual relative to the multipliers), and
    the L1 row's multiplier nu."""

    x: np.ndarray
    working_set: L1WorkingSet
    objective: float
    iterations: int
    kkt_residual: float
    nu: float


class _Problem:
    """The QP, the L1 row and the entries whose breakpoint lies inside their bounds."""

    def __init__(self, qp: DenseQP, l1: L1Row) -> None:
        self.qp, self.a, self.limit = qp, np.asarray(l1.center, float), float(l1.limit)
        self.single = False  # single changes only (after a repeat or a singular system)
        # outside the open interval the side is fixed: above a on [a, u], below on [l, a]
        above, below = self.a <= qp.lower, self.a >= qp.upper
        self.fixed_side = np.where(above, 1.0, np.where(below, -1.0, 0.0))
        self.interior = ~(above | below)
        #: (sets, s, [R; s]) of the last system solved with the L1 row held: the rows the
        #: gradient at its answer multiplies (``gradient``), kept by identity of sets and s
        self._stacked: tuple | None = None
        self._c_max: tuple = (None, 0.0)  # (c, max |c|): measured once per linear term
        self.peaks: list[float] = []  # the last ``changes``' largest amount of each kind
        #: ``l1_path`` only: the center moving along the path as a + t center_slope (n,)
        self.center_slope: np.ndarray | None = None

    def terms(self, x: np.ndarray) -> np.ndarray:
        """z = x - a (n,)."""
        return x - self.a

    def signs(self, sets) -> np.ndarray:
        """The L1 row's coefficients s (n,) of the working set (0 at a breakpoint)."""
        at_lower, at_upper, at_break, side, _, _ = sets
        inside = np.where(at_lower, -1.0, np.where(at_upper, 1.0, side))
        return np.where(at_break, 0.0, np.where(self.interior, inside, self.fixed_side))

    def held(self, sets) -> np.ndarray:
        """Entries held at a value: at a bound or at their breakpoint."""
        return sets[0] | sets[1] | sets[2]

    def rows(self, sets, s):
        """R (rows, n) and d of the working set: E, held G rows, then the L1 row (when
        held); and that row alone (or None)."""
        qp, rows, l1 = self.qp, sets[4], sets[5]
        if rows.any():
            R, d = np.vstack([qp.E, qp.G[rows]]), np.concatenate([qp.e, qp.h[rows]])
        else:  # no inequality row held: E and e themselves (never written to)
            R, d = qp.E, qp.e
        return R, d, ((s, self.limit + s @ self.a) if l1 else None)

    def split(self, sets, mu):
        """(G row multipliers (mi,), nu) of mu (E, held rows [, nu])."""
        qp, rows, l1 = self.qp, sets[4], sets[5]
        if not len(rows):  # no inequality rows
            return np.zeros(0), float(mu[-1]) if l1 else 0.0
        me, mg = len(qp.e), int(rows.sum())
        row_mu = np.zeros(len(qp.h))
        row_mu[rows] = mu[me : me + mg]
        return row_mu, float(mu[-1]) if l1 else 0.0

    def solve(self, sets):
        """x (n,), multipliers mu (E, held rows [, nu]) and s (n,)."""
        qp = self.qp
        at_lower, at_upper = sets[0], sets[1]
        x = np.where(at_lower, qp.lower, np.where(at_upper, qp.upper, self.a))
        s = self.signs(sets)
        free = ~self.held(sets)
        self._check_held_rows(sets, free, x)
        R, d, l1_row = self.rows(sets, s)
        if l1_row is None:
            return (*_solve_independent(qp, free, x, R, d), s)
        row, rhs = l1_row
        stacked = np.concatenate((R, row[None, :]))  # [R; s]: mu's order on every path below
        self._stacked = (sets, s, stacked)
        try:
            x_l1, mu = solve_kkt_system(qp.S, qp.c, free, x, stacked, np.concatenate((d, (rhs,))))
            return x_l1, mu, s
        except ActiveSetError:
            if _residual(R[:, free], row[free]) <= 1e-9 * max(1.0, np.abs(row).max()):
                return self._implied(sets, free, x, R, d, row, rhs, s)
        # the other rows are dependent on the free entries, the L1 row is not among them
        R_l1, d_l1 = np.vstack([row, R]), np.r_[rhs, d]
        x_l1, mu = _solve_independent(qp, free, x, R_l1, d_l1)
        return x_l1, np.r_[mu[1:], mu[0]], s

    def _check_held_rows(self, sets, free, x) -> None:
        """Held rows whose entries are all held (the rows are then dependent): one below its
        limit is dropped, one above it releases the entries that hold it up, by redirecting
        the loop (``_RedirectError``)."""
        qp, rows = self.qp, sets[4]
        if not rows.any():  # no held row: none can be fixed
            return
        fixed = rows & ~np.any(qp.G[:, free], axis=1)
        value = qp.G @ x
        idle = fixed & (value < qp.h - PRIMAL_TOLERANCE)
        if idle.any():
            raise _RedirectError(apply_change(sets, 5, idle, self.terms(x), np.zeros(len(x))))
        over = fixed & (value > qp.h + PRIMAL_TOLERANCE)
        if not over.any():
            return
        push = qp.G[over].sum(axis=0)  # > 0: the entry holds the rows up from above
        down = (push > 0) & (sets[1] | sets[2] & self.interior)
        up = (push < 0) & (sets[0] | sets[2] & self.interior)
        if not (down | up).any():
            raise ActiveSetError("a held row is above its limit with every entry held")
        pull = np.where(down, -1.0, 1.0)
        z = self.terms(x)
        sets = apply_change(sets, 7, (down & sets[1]) | (up & sets[0]), z, pull)
        raise _RedirectError(apply_change(sets, 8, (down | up) & sets[2], z, pull))

    def _implied(self, sets, free, x, R, d, row, rhs, s):
        """The working set whose L1 row is a combination of the other rows on the free
        entries (every free entry on one side, the others held): the row then holds or
        fails by itself, x comes from the other rows, and nu is any value for which the
        dual conditions hold (an interval, found exactly). ActiveSetError otherwise."""
        qp = self.qp
        x, mu = _solve_independent(qp, free, x, R, d)
        beta, *_ = np.linalg.lstsq(R[:, free].T, row[free], rcond=None)
        if np.max(np.abs(R[:, free].T @ beta - row[free]), initial=0.0) > 1e-9:
            raise ActiveSetError("the working rows are dependent on the free entries")
        at_lower, at_upper, at_break = sets[:3]
        g0 = 2.0 * (qp.S @ x) + qp.c + R.T @ mu
        z = self.terms(x)
        mu_rows, _ = self.split(sets, np.r_[mu, 0.0])
        gap = row @ x - rhs
        tolerance = 1e-10 * max(1.0, abs(rhs), self.limit)
        if gap < -tolerance:  # the row is slack: not held
            raise _RedirectError(apply_change(sets, 6, None, z, -g0))
        if gap > tolerance:  # held entries trade too much: free those that trade
            held = (at_lower | at_upper) & (np.abs(z) > PRIMAL_TOLERANCE)
            rows = sets[4]
            if not held.any() and rows.any():  # else the held rows force the trade: drop them
                mask = rows if not self.single else np.arange(len(rows)) == np.argmax(rows)
                raise _RedirectError(apply_change(sets, 5, mask, z, -g0))
            if not held.any():
                raise ActiveSetError("the L1 row contradicts the other working rows")
            traded = np.where(held, np.abs(z), 0.0)
            mask = held if not self.single else traded == traded.max()
            raise _RedirectError(apply_change(sets, 7, mask, z, -g0))
        delta = row - R.T @ beta  # d gradient / d nu with mu = mu0 - nu beta (0 on free entries)
        d_rows = self.split(sets, np.r_[beta, 0.0])[0][sets[4]]
        pull, slope = g0[at_break], delta[at_break]  # breakpoints: |g0 + nu delta| <= nu
        # every dual condition as p + q nu <= 0
        p = np.r_[-g0[at_lower], g0[at_upper], pull, -pull, -mu_rows[sets[4]]]
        q = np.r_[-delta[at_lower], delta[at_upper], slope - 1, -slope - 1, d_rows]
        nu = _interval_point(p, q)
        return x, np.r_[mu - nu * beta, nu], s

    def gradient(self, sets, x, mu, s, Sx: np.ndarray | None = None) -> np.ndarray:
        """The Lagrangian gradient 2Sx + c + R'mu (n,); ``Sx``: S @ x when the caller has it."""
        stacked = self._stacked
        if stacked is not None and stacked[0] is sets and stacked[1] is s:
            R = stacked[2]  # the rows ``solve`` stacked for this working set and these signs
        else:
            R, _, l1_row = self.rows(sets, s)
            if l1_row is not None:
                R = np.vstack([R, l1_row[0]])
        Sx = self.qp.S @ x if Sx is None else Sx
        return 2.0 * Sx + self.qp.c + R.T @ mu

    def measure(self, sets, x, mu, s):
        """(gradient (n,), dual scale, S x (n,)) at (x, mu): what ``changes`` and
        ``_solution`` measure the dual conditions with, computed once per working set."""
        qp = self.qp
        Sx = qp.S @ x
        if self._c_max[0] is not qp.c:  # a new linear term (``l1_sharpe`` replaces qp)
            self._c_max = (qp.c, float(np.abs(qp.c).max(initial=0.0)))
        scale = _dual_scale(qp, x, mu, Sx, self._c_max[1])
        return self.gradient(sets, x, mu, s, Sx), scale, Sx

    def changes(self, sets, x, mu, s, measured=None):
        """Violations at (x, mu) (> 0 where wrong), or None when every condition holds;
        with them the terms z (n,) and each breakpoint's pull (the side it would leave to).
        ``measured``: ``measure``'s answer at (x, mu) when the caller has it."""
        qp = self.qp
        at_lower, at_upper, at_break, side, rows, l1 = sets
        g, scale, _ = self.measure(sets, x, mu, s) if measured is None else measured
        row_mu, nu = self.split(sets, mu)
        z = self.terms(x)
        moving = ~self.held(sets)
        crossed = np.where(moving & self.interior & l1, -side * z, 0.0)
        free = moving & (crossed <= PRIMAL_TOLERANCE)
        below = np.where(free, qp.lower - x, 0.0)
        above = np.where(free, x - qp.upper, 0.0)
        if len(rows):
            violated = np.where(rows, 0.0, qp.G @ x - qp.h)
            dropped = np.where(rows, -row_mu, 0.0) / scale
        else:  # no inequality rows
            violated = dropped = row_mu
        excess = 0.0 if l1 else float(np.abs(z).sum() - self.limit)
        dropped_l1 = -nu / scale if l1 else 0.0
        pull = -g
        released = np.where(at_lower, pull, np.where(at_upper, g, 0.0)) / scale
        unbroken = np.where(at_break, np.abs(g) - nu, 0.0) / scale
        primal = (below, above, crossed, violated, np.array([excess]))
        dual = (dropped, np.array([dropped_l1]), released, unbroken)
        amounts = primal + dual
        #: the largest amount of each kind (NaN if one is NaN), for ``block_change``
        self.peaks = [float(v.max(initial=0.0)) for v in amounts]
        if all(p <= t for p, t in zip(self.peaks, TOLERANCES, strict=True)):
            return None
        return amounts, z, pull

    def start(self, start: L1WorkingSet | None, n: int, mi: int):
        qp = self.qp
        if start is None or len(start.at_lower) != n or len(start.rows) != mi:
            side = np.ones(n)
            return (np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool), side,
                    np.zeros(mi, bool), False)  # fmt: skip
        at_lower = start.at_lower & np.isfinite(qp.lower)
        at_upper = start.at_upper & ~at_lower & np.isfinite(qp.upper)
        at_break = start.at_break & ~at_lower & ~at_upper & self.interior
        return at_lower, at_upper, at_break, start.side.copy(), start.rows.copy(), start.l1


def _solve_independent(qp: DenseQP, free, x, R: np.ndarray, d: np.ndarray):
    """``solve_kkt_system`` over the rows of R that are independent on the free entries
    (kept first to last: a row with no free entry, or a combination of earlier rows, is
    dropped with multiplier 0); ActiveSetError if a dropped row fails at the answer."""
    try:
        return solve_kkt_system(qp.S, qp.c, free, x, R, d)
    except ActiveSetError:
        keep = _independent_rows(R[:, free])
        if keep.all():
            raise
    x, kept_mu = solve_kkt_system(qp.S, qp.c, free, x, R[keep], d[keep])
    gap = np.abs(R[~keep] @ x - d[~keep])
    if np.max(gap, initial=0.0) > PRIMAL_TOLERANCE * max(1.0, float(np.abs(d).max())):
        raise ActiveSetError("the working rows contradict each other on the free entries")
    mu = np.zeros(len(d))
    mu[keep] = kept_mu
    return x, mu


def _independent_rows(A: np.ndarray) -> np.ndarray:
    """(m,) True for each row of A (m, k) outside the span of the rows kept before it."""
    keep = np.zeros(len(A), bool)
    for i, row in enumerate(A):
        keep[i] = _residual(A[keep], row) > 1e-9 * max(float(np.abs(row).max(initial=0.0)), 1e-300)
    return keep


def _residual(A: np.ndarray, row: np.ndarray) -> float:
    """Largest entry of ``row`` (k,) minus its least-squares combination of A's rows."""
    if not len(A) or not np.any(A):
        return float(np.max(np.abs(row), initial=0.0))
    beta, *_ = np.linalg.lstsq(A.T, row, rcond=None)
    return float(np.max(np.abs(A.T @ beta - row), initial=0.0))


def _dual_scale(
    qp: DenseQP,
    x: np.ndarray,
    mu: np.ndarray,
    Sx: np.ndarray | None = None,
    c_max: float | None = None,
) -> float:
    """What dual conditions are measured against: the largest multiplier or, where all are
    near 0 (maximum Sharpe's budget row at the optimum of ``l1_sharpe``), the objective
    gradient's terms 2Sx and c; ``Sx`` (S @ x) and ``c_max`` (max |c|) when the caller has
    them. (max |2Sx| is 2 max |Sx| exactly: doubling is exact.)"""
    Sx = qp.S @ x if Sx is None else Sx
    c_max = float(np.abs(qp.c).max(initial=0.0)) if c_max is None else c_max
    return max(float(np.abs(mu).max(initial=0.0)), 2.0 * float(np.abs(Sx).max(initial=0.0)),
               c_max, 1e-300)  # fmt: skip


def _interval_point(p: np.ndarray, q: np.ndarray) -> float:
    """A nu >= 0 with p + q nu <= 0 for all entries (the middle of that interval, or its
    lower end when it is unbounded); where there is none, the middle of the nearest ends."""
    rising, falling = q > 0, q < 0
    low = max(0.0, float(np.max(-p[falling] / q[falling], initial=0.0)))
    high = float(np.min(-p[rising] / q[rising], initial=np.inf))
    if not np.isfinite(high):
        return low
    return max(0.0, 0.5 * (low + high))


def solve_l1_qp(
    qp: DenseQP, l1: L1Row, start: L1WorkingSet | None = None, systems: int | None = None
) -> L1Solution:
    """Return the exact optimum of ``qp`` under the L1 row ``l1`` (see the module);
    ActiveSetError when this method cannot settle it (within ``systems`` linear systems,
    when given)."""
    n, mi = len(qp.c), len(qp.h)
    if np.any(qp.lower > qp.upper):
        raise ActiveSetError("a lower bound is above its upper bound")
    problem = _Problem(qp, l1)
    sets = problem.start(start, n, mi)
    seen: set[bytes] = set()
    single = False
    candidates = iter(())
    limit = BLOCK_ITERATIONS + 4 * (n + mi)
    limit = limit if systems is None else min(limit, systems)
    for iteration in range(1, limit + 1):
        problem.single = single
        try:
            x, mu, s = problem.solve(sets)
        except _RedirectError as redirect:
            sets = redirect.sets
            continue
        except ActiveSetError:
            if start is not None and iteration == 1:  # a stale warm start: begin cold
                return solve_l1_qp(qp, l1, None, None if systems is None else systems - 1)
            single = True
            sets = next(candidates, None)
            if sets is None:
                raise
            continue
        measured = problem.measure(sets, x, mu, s)
        found = problem.changes(sets, x, mu, s, measured)
        if found is None:
            return _solution(problem, sets, x, mu, s, iteration, measured, problem.peaks)
        amounts, z, pull = found
        state = np.packbits(np.concatenate([*sets[:3], sets[3] > 0, sets[4], [sets[5]]]))
        key = state.tobytes()
        if key in seen and single:
            break
        if key in seen:
            single = True
        seen.add(key)
        candidates = single_changes(sets, amounts, z, pull)
        sets = next(candidates) if single else block_change(sets, amounts, z, pull, problem.peaks)
    raise ActiveSetError("the working set repeats (cycling) with the L1 row")


def _solution(
    problem: _Problem, sets, x, mu, s, iterations: int, measured=None, peaks=None
) -> L1Solution:
    """The solution record with its KKT residual, recomputed from x, mu and the sides;
    ``measured``: ``_Problem.measure``'s answer at (x, mu), and ``peaks``: the largest
    amounts ``_Problem.changes`` found there, when the caller has them (the dual signs of
    held bounds, rows, breakpoints and the L1 row are then those amounts: the largest of
    a / scale is the largest of a divided by scale, division being monotone)."""
    qp = problem.qp
    at_lower, at_upper, at_break, side, rows, l1 = sets
    g, scale, Sx = problem.measure(sets, x, mu, s) if measured is None else measured
    row_mu, nu = problem.split(sets, mu)
    free = ~problem.held(sets)
    moving = ~(at_lower | at_upper | at_break)
    z = problem.terms(x)
    pull = g
    primal = max(
        float(np.maximum(qp.lower - x, x - qp.upper).max(initial=0.0)),
        float((qp.G @ x - qp.h).max(initial=0.0)),
        float(np.abs(qp.E @ x - qp.e).max(initial=0.0)),
        float(np.abs(z).sum() - problem.limit),
        float(np.where(moving & (s != 0) & l1, -s * z, 0.0).max(initial=0.0)),
        float(np.abs(z[at_break]).max(initial=0.0)),
        0.0,
    )
    stationarity = float(np.abs(g[free]).max(initial=0.0)) / scale
    if peaks is not None:  # dropped rows, dropped L1 row, released bounds, unbroken breakpoints
        dual = max(peaks[7], stationarity, peaks[8], peaks[5], peaks[6], 0.0)
    else:
        dual = max(
            float(np.where(at_lower, -g, np.where(at_upper, g, 0.0)).max(initial=0.0)) / scale,
            stationarity,
            float(np.where(at_break, np.abs(pull) - nu, 0.0).max(initial=0.0)) / scale,
            float((-row_mu[rows]).max(initial=0.0)) / scale,
            -nu / scale,
            0.0,
        )
    objective = float(x @ Sx + qp.c @ x)
    working = L1WorkingSet(
        at_lower.copy(), at_upper.copy(), at_break.copy(), side.copy(), rows.copy(), bool(l1)
    )
    return L1Solution(x, working, objective, iterations, max(primal, dual), nu)
