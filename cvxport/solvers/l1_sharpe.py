"""Maximum Sharpe with one L1 row, exactly, by a search over the L1 QP at scale 1.

    maximize m'w / sqrt(w'Sw)   over  C = {E w = e, G w <= h, lower <= w <= upper,
                                           sum_i |w_i - a_i| <= T}

(m the excess means, E holding sum(w) = 1). At the optimum w* the first-order condition
m - (m'w*/w*'Sw*) S w* in N_C(w*) is, multiplied by 2 w*'Sw*/m'w* > 0, the optimality
condition of the L1 QP of ``l1_kernel``

    P(t):   minimize w'Sw - t m'w   over C,    at   t = g(w*) = 2 w*'Sw* / m'w*.

So the maximum Sharpe portfolio is the solution w(t) of P(t) at a fixed point t = g(w(t)).
On one working set w(t) = w0 + t w1 is affine, with m'w1 = 2 w1'Sw1 >= 0, and the Sharpe
ratio along it is stationary exactly where t = g(w(t)): t = (alpha delta - beta gamma) /
(beta delta - alpha epsilon) from alpha = m'w0, beta = m'w1, gamma = w0'Sw0, delta = w0'Sw1,
epsilon = w1'Sw1. The ratio is quasi-concave in t along the solution path (a positive linear
return over a convex risk, the return nondecreasing in t), so the sign of g(w(t)) - t says on
which side the fixed point lies: a bracket keeps the search safe (bisection where the
working set's root leaves it), and the root of the right working set ends it exactly.

This replaces the Charnes-Cooper form sum|y - a kappa| <= T kappa (kappa = sum(y)) for
``ACTIVE_SET``: there a cap y_i <= u kappa is a row, not a bound, and a breakpoint at a cap
is a row dependent on it; the kernel settled 55-65% of random capped problems. Here caps are
bounds and the scale-1 kernel's breakpoint sides apply unchanged. Of 600 random problems
(turnover under caps with 0-2 group rows, binding or slack; gross exposure long/short), 553 of
the 557 that Clarabel solves were settled, within 6e-8 of it, and 4 stopped at the search's
budget of linear systems (``SEARCH_SYSTEMS``); for the other 43 Clarabel finds no portfolio
(previous weights outside a group limit the turnover cannot reach, no positive excess
return). Where the search stops it raises ActiveSetError and cvxpy solves the problem.
A trade-off whose L1 QP does not settle is left for one between it and the last settled one
(for the last window's, minimum variance).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.l1_kernel import L1Row, L1WorkingSet, _Problem, _solution, solve_l1_qp
from cvxport.solvers.l1_path import L1Piece, free_sides, holds, l1_piece, march
from cvxport.solvers.qp_kernel import DenseQP

FIXED_POINT_TOLERANCE = 1e-12  # |g(w(t)) - t| relative to t at the answer
GROWTH = 8.0  # while no upper end is known, t grows at most this factor per step
SEARCH_ITERATIONS = 80  # L1 QP solves, at most
# linear systems, at most 40 + SMALL_SYSTEMS / n (a system costs ~n^3, so small problems get
# more): a backtest's window takes 4-20 (previous weights the last answer), a cold start up
# to 66 on the bundled data (n = 11); with unrelated previous weights beside a group row the
# L1 QP took 100-2000 at n = 100-500 (11 s at n = 500, Clarabel 0.6 s): past the budget the
# search stops and cvxpy solves
SEARCH_SYSTEMS, SMALL_SYSTEMS = 40, 2000
PATH_STEPS = 20  # path pieces, at most PATH_STEPS + 4 (n + group rows)
WARM_SYSTEMS = 10  # the kernel at the last window's t, warm: at most this many systems


@dataclass(frozen=True)
class SharpeStart:
    """Where the last search ended: its working set and trade-off t (units of S / m)."""

    working_set: L1WorkingSet
    trade_off: float


@dataclass(frozen=True)
class SharpeSolution:
    """The maximum Sharpe weights w (n,), summing to 1 where E says so; the L1 QP's
    working set and t at the answer; linear systems solved; the KKT residual of P(t) with
    the fixed-point gap |g - t| / t beside it; and the variance w'Sw."""

    x: np.ndarray
    start: SharpeStart
    iterations: int
    kkt_residual: float
    objective: float


def solve_sharpe_l1(
    qp: DenseQP, excess: np.ndarray, l1: L1Row, start: SharpeStart | None = None
) -> SharpeSolution:
    """Return the maximum Sharpe weights over ``qp``'s rows and bounds (its c is ignored)
    under the L1 row ``l1`` (at scale 1), for the excess means ``excess`` (n,), see the
    module; ActiveSetError when no feasible portfolio has a positive excess return or the
    L1 QP is not settled."""
    m = np.asarray(excess, dtype=float)
    try:
        return sharpe_by_path(qp, m, l1, start)
    except ActiveSetError as exc:
        if "positive excess return" in str(exc):
            raise
    return _search(qp, m, l1, start)


def sharpe_by_path(
    qp: DenseQP, m: np.ndarray, l1: L1Row, start: SharpeStart | None = None
) -> SharpeSolution:
    """The maximum Sharpe weights by following the L1 QP's path in t (``l1_path``) to the
    fixed point t = g(w(t)). The march begins at the first of: the start's working set
    where it holds at its own fixed point (done); the kernel at that point, warm from it;
    the kernel at t = 0 (minimum variance), cold."""
    n, mi = len(m), len(qp.h)
    base = replace(qp, c=np.zeros(n))
    problem = _Problem(base, l1)
    d = -m
    limit = PATH_STEPS + 4 * (n + mi)
    systems, starts = 0, []
    if start is not None and np.isfinite(start.trade_off) and start.trade_off > 0:
        sets = problem.start(start.working_set, n, mi)
        guess = float(start.trade_off)
        try:
            p = l1_piece(problem, d, sets, guess)
            systems += 1
            root = _fixed_point_on(m, p)
            if np.isfinite(root) and holds(problem, p, root):
                return _certified(base, m, l1, p, root, systems)
            guess = root if np.isfinite(root) else guess
        except ActiveSetError:
            pass
        starts = [(guess, start.working_set)]
    for t0, warm in [*starts, (0.0, None)]:
        try:
            at_t0 = replace(base, c=t0 * d)
            solution = solve_l1_qp(at_t0, l1, warm, WARM_SYSTEMS if warm else None)
            systems += solution.iterations
            p, t, steps = _march(problem, d, _piece_of(problem, d, solution, t0), t0, m, limit)
            return _certified(base, m, l1, p, t, systems + steps)
        except ActiveSetError as exc:
            if "positive excess return" in str(exc) or warm is None:
                raise
            systems += WARM_SYSTEMS
    raise ActiveSetError("the L1 QP is not settled at any trade-off tried")  # pragma: no cover


def _march(problem, d, p, t0, m, limit):
    """(piece, t, systems) at the fixed point, marching from t0."""
    target = lambda q: _fixed_point_on(m, q)  # noqa: E731
    p, t, systems = march(problem, d, p, t0, target, limit)
    if not np.isfinite(t):
        raise ActiveSetError("no portfolio in the constraints has a positive excess return")
    return p, t, systems


def _piece_of(problem: _Problem, d, solution, t: float) -> L1Piece:
    """The path piece of a kernel solution at t, free sides where the entries lie."""
    ws = solution.working_set
    sets = (ws.at_lower, ws.at_upper, ws.at_break, ws.side, ws.rows, ws.l1)
    p = l1_piece(problem, d, sets, t)
    return l1_piece(problem, d, free_sides(problem, p, t, 1.0), t) if not ws.l1 else p


def _fixed_point_on(m: np.ndarray, p: L1Piece) -> float:
    """The t where the Sharpe ratio is stationary along the piece's x_c + t x_d (see the
    module); inf where the return there is not positive (the fixed point lies beyond)."""
    w0, w1 = p.x_c, p.x_d
    alpha, beta = float(m @ w0), float(m @ w1)
    gamma, delta, epsilon = float(w0 @ p.Sx_c), float(w0 @ p.Sx_d), float(w1 @ p.Sx_d)
    denominator = beta * delta - alpha * epsilon
    if denominator != 0:
        root = (alpha * delta - beta * gamma) / denominator
    else:
        root = 2.0 * gamma / alpha if alpha > 0 else np.inf
    if not np.isfinite(root) or root < 0 or alpha + beta * root <= 0:
        return np.inf
    return float(root)


def _certified(qp: DenseQP, m, l1: L1Row, p: L1Piece, t: float, systems: int) -> SharpeSolution:
    """The piece's point at t checked as the L1 QP's optimum by the kernel's own KKT
    conditions (else the kernel from its working set), if it is the fixed point;
    ActiveSetError otherwise."""
    problem = _Problem(replace(qp, c=-t * m), l1)
    x, mu = p.at(t)
    if problem.changes(p.sets, x, mu, p.s) is None:
        solution = _solution(problem, p.sets, x, mu, p.s, 0)
    else:
        solution = solve_l1_qp(problem.qp, l1, p.working_set, 4)
    w = solution.x
    ret, var = float(m @ w), float(w @ qp.S @ w)
    if ret <= 0 or abs(2.0 * var / ret - t) > FIXED_POINT_TOLERANCE * max(t, 1e-300):
        raise ActiveSetError("the L1 path's fixed point does not hold")
    residual = max(solution.kkt_residual, abs(2.0 * var / ret - t) / t)
    start = SharpeStart(solution.working_set, t)
    return SharpeSolution(w, start, systems + solution.iterations, residual, var)


def _search(qp: DenseQP, m: np.ndarray, l1: L1Row, start: SharpeStart | None) -> SharpeSolution:
    """The bracketed search over t (see the module)."""
    low, high = 0.0, np.inf  # the fixed point lies in [low, high]
    if start is not None and np.isfinite(start.trade_off) and start.trade_off > 0:
        t, working = start.trade_off, start.working_set
    else:
        t, working = 0.0, None  # minimum variance first: g there is a lower end
    budget = SEARCH_SYSTEMS + SMALL_SYSTEMS // len(m)
    systems, settled = 0, None  # settled: the last t whose L1 QP was solved
    for _ in range(SEARCH_ITERATIONS):
        allowance = min(budget - systems, budget // 2)
        if allowance <= 0:
            break
        at_t = replace(qp, c=-t * m)
        try:
            solution = solve_l1_qp(at_t, l1, working, allowance)
        except ActiveSetError:
            systems += allowance  # what the attempt may have cost
            if settled is None and t > 0:  # the last window's trade-off: from minimum variance
                t, working = 0.0, None
                continue
            if settled is None or abs(t - settled) <= FIXED_POINT_TOLERANCE * t:
                raise
            t = 0.5 * (t + settled)  # an unsettled trade-off: step back toward a settled one
            continue
        settled = t
        working, systems = solution.working_set, systems + solution.iterations
        w = solution.x
        ret, var = float(m @ w), float(w @ qp.S @ w)
        g = 2.0 * var / ret if ret > 0 else np.inf
        if ret > 0 and abs(g - t) <= FIXED_POINT_TOLERANCE * max(t, 1e-300):
            residual = max(solution.kkt_residual, abs(g - t) / t)
            return SharpeSolution(w, SharpeStart(working, t), systems, residual, var)
        if g > t:
            low = t
        else:
            high = t
        t = _next_trade_off(at_t, l1, solution, m, t, g, low, high)
        systems += 1
    raise ActiveSetError(
        f"the maximum Sharpe search did not reach its fixed point in {systems} linear systems"
    )


def _next_trade_off(qp, l1, solution, m, t, g, low, high) -> float:
    """The working set's own root where it lies inside (low, high); else the fixed-point step
    g where it does; else the bracket's middle (doubling while the bracket is open)."""
    root = _piece_root(qp, l1, solution, m, t)
    reach = high if np.isfinite(high) else GROWTH * max(low, 1.0)  # no leap to t -> inf
    for candidate in (root, g):
        if candidate is not None and np.isfinite(candidate) and low < candidate < reach:
            return float(candidate)
    if np.isfinite(high):
        return 0.5 * (low + high)
    if low > 1e12 * max(1.0, float(np.mean(np.diag(qp.S)))):
        raise ActiveSetError("no portfolio in the constraints has a positive excess return")
    return GROWTH * max(low, 1.0)


def _piece_root(qp, l1, solution, m, t) -> float | None:
    """Where the Sharpe ratio is stationary along w0 + t w1 of the working set of
    ``solution`` (None where that working set does not solve at a second t)."""
    problem = _Problem(qp, l1)
    ws = solution.working_set
    sets = (ws.at_lower, ws.at_upper, ws.at_break, ws.side, ws.rows, ws.l1)
    step = max(1.0, t)
    problem.qp = replace(qp, c=qp.c - step * m)
    try:
        x_step, _, _ = problem.solve(sets)
    except ActiveSetError:
        return None
    w0 = solution.x - t * (x_step - solution.x) / step
    w1 = (x_step - solution.x) / step
    S = qp.S
    alpha, beta = float(m @ w0), float(m @ w1)
    gamma, delta, epsilon = float(w0 @ S @ w0), float(w0 @ S @ w1), float(w1 @ S @ w1)
    denominator = beta * delta - alpha * epsilon
    if beta <= 0 or denominator == 0:
        return None
    return (alpha * delta - beta * gamma) / denominator
