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
from cvxport.solvers.l1_kernel import L1Row, L1WorkingSet, _Problem, solve_l1_qp
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
