"""Maximum Sharpe with one L1 row, exactly, by following the L1 QP's path in its trade-off.

    maximize m'w / sqrt(w'Sw)   over  C = {E w = e, G w <= h, lower <= w <= upper,
                                           sum_i |w_i - a_i| <= T}

(m the excess means, E holding sum(w) = 1). At the optimum w* the first-order condition
m - (m'w*/w*'Sw*) S w* in N_C(w*) is, multiplied by 2 w*'Sw*/m'w* > 0, the optimality
condition of the L1 QP of ``l1_kernel``

    P(t):   minimize w'Sw - t m'w   over C,    at   t = g(w*) = 2 w*'Sw* / m'w*.

So the maximum Sharpe portfolio is the solution w(t) of P(t) at a fixed point t = g(w(t)).
The solutions of P(t) form a continuous piecewise-affine path; on one working set w(t) = w0
+ t w1 with w1'S w0 = 0 and m'w1 = 2 w1'S w1 (the piece's KKT system), so g(w(t)) - t =
(2 w0'Sw0 - t m'w0) / m'w(t): the fixed point of a piece is t = 2 w0'Sw0 / m'w0, and the
sign of g - t, one on each side of the answer, says which way it lies.

``l1_path.march`` follows the path from a point where the kernel settles, breakpoint by
breakpoint (one working-set change per piece, one Cholesky factor of the free block each,
S times the held entries carried from piece to piece), toward the fixed point of the piece
it is on, until that point lies on the piece itself. The start, first settled of: the last
window's working set where it holds at its own fixed point (one system); the homotopy from
the last window's KKT point to this window's P(t) at the last t (``l1_homotopy``: this
window's previous weights, means and covariance reached together, one working-set change
per piece, the dependent corners exchanged by ``l1_exchanges``) and the rungs of ``LADDER``
(the kernel at fractions of the t guessed from the last working set, then the march), the
homotopy first where the L1 row's center lies more than its limit from the last answer (as
previous weights unrelated to it do), else after the first rung (as in a backtest holding
the last answer, where the kernel settles in 2-4 systems and the homotopy takes 5-12); the
kernel at t = 0 (minimum variance, cold, ``COLD_SYSTEMS``); the minimum variance point
reached by ``l1_interior.march_from_interior`` (a march from a point strictly inside every
row, where the kernel cycles even at t = 0; up to ``INTERIOR_MAX`` assets). The answer is
the piece's point at the fixed point, checked by the kernel's own KKT conditions
(``kkt_residual``). Where the path does not settle (a working set repeated at one t, more
than ``PATH_STEPS + 4 (n + rows)`` pieces, a singular system) ActiveSetError is raised and
cvxpy solves the problem; likewise where no feasible portfolio has a positive excess return.

Measured: of 600 random problems (n = 3-29; turnover under caps with 0-2 group rows,
previous weights random or at the caps, binding or slack; gross exposure long/short), the
path settled all 546 that Clarabel solves, within 9e-7 of it (Clarabel's own accuracy), and
raised for the 54 it finds infeasible; of 1000 more, each solved cold and from the start of
a window with other previous weights and means, every warm answer matched the cold one
within 7e-16 (the homotopy answered 778, the other starts the rest). On ``bench_composed.py``
row 9 (previous weights drawn afresh each window, a group row, turnover <= 0.5) the kernel
warm-started near the answer cycles in a third to a half of the windows and the march from
t = 0 takes 90 / 360-400 / 600-750 pieces at n = 100 / 500 / 1000; the homotopy settled
201 of 201 windows (nine histories) in 9-34 / 31-58 / 42-46 systems (benchmarks/README.md,
"fifth session").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.l1_homotopy import L1Point, march_from_point, point_of
from cvxport.solvers.l1_interior import march_from_interior
from cvxport.solvers.l1_kernel import L1Row, L1WorkingSet, _Problem, _solution, solve_l1_qp
from cvxport.solvers.l1_path import L1Piece, free_sides, holds, l1_piece, march
from cvxport.solvers.qp_kernel import DenseQP

FIXED_POINT_TOLERANCE = 1e-12  # |g(w(t)) - t| relative to t at the answer
PATH_STEPS = 20  # path pieces, at most PATH_STEPS + 4 (n + group rows)
REACH = 1e12  # no change beyond t = REACH mean(diag S) / max |m| (t's units: S / m)
# the march from an interior point holds the entries one by one from a free block of n: n =
# 100 took 20-25 ms for 99-107 pieces (about Clarabel's time), n = 500 9.4 s for 623 pieces
# on a loaded machine (Clarabel: 0.2-0.6 s): beyond INTERIOR_MAX assets cvxpy answers
INTERIOR_MAX = 200
COLD_SYSTEMS = 60  # the kernel at t = 0, cold (9-18 where it settles on the benchmarks)
#: where the homotopy does not settle, the rungs tried from the last window's working set,
#: as (fraction of the guessed t, warm from that working set or cold, most systems): the
#: kernel settles more readily at a smaller t (fewer entries trade against the L1 row) and
#: the march closes the gap (on row 9's windows at n = 100, mean systems 71-88 -> 33-50
#: against the kernel at the guess then t = 0)
LADDER = ((1.0, True, 16), (0.9, True, 40), (0.75, True, 16), (0.5, False, 40))


@dataclass(frozen=True)
class SharpeStart:
    """Where the last solve ended: its working set and trade-off t (units of S / m), and
    its KKT point of P(t) (``l1_homotopy``'s start; None where it is not known)."""

    working_set: L1WorkingSet
    trade_off: float
    point: L1Point | None = None


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
    path does not settle."""
    m = np.asarray(excess, dtype=float)
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
            guess = root if np.isfinite(root) else guess
            if np.isfinite(root) and holds(problem, p, root):
                return _certified(base, m, l1, p, root, systems)
        except ActiveSetError:
            pass
        starts = [(share * guess, start.working_set if warm else None, budget)
                  for share, warm, budget in LADDER]  # fmt: skip
        point = start.point  # a start of another shape (assets, rows) has none to use
        if point is not None and len(point.x) == n and len(point.sets[4]) == mi:
            # the homotopy first, or second beside the last answer
            near = np.abs(l1.center - point.x).sum() <= l1.limit
            starts.insert(int(near), (start.trade_off, "homotopy", 0))
    starts += [(0.0, None, COLD_SYSTEMS)]
    starts += [(0.0, "interior", limit)] if n <= INTERIOR_MAX else []  # the march's budget
    for k, (t0, warm, budget) in enumerate(starts):
        try:
            if warm == "homotopy":
                return _from_last_point(base, m, l1, start, limit, systems)
            if warm == "interior":  # minimum variance by a march from an interior point
                found, cost = march_from_interior(problem, limit)
                systems += cost
                p = l1_piece(problem, d, found.sets, 0.0)
            else:
                at_t0 = replace(base, c=t0 * d)
                solution = solve_l1_qp(at_t0, l1, warm, budget)
                systems += solution.iterations
                p = _piece_of(problem, d, solution, t0)
            p, t, steps = _march(problem, d, p, t0, m, limit)
            return _certified(base, m, l1, p, t, systems + steps)
        except ActiveSetError as exc:
            if "positive excess return" in str(exc) or k == len(starts) - 1:
                raise
            systems += getattr(exc, "systems", 0) if warm == "homotopy" else budget
    raise ActiveSetError("the L1 QP is not settled at any trade-off tried")  # pragma: no cover


def _from_last_point(base: DenseQP, m, l1: L1Row, start: SharpeStart, limit: int, systems):
    """The answer reached from the last window's KKT point (``l1_homotopy``) at its t,
    then along this window's path to the fixed point; ActiveSetError where either march
    does not settle."""
    t0, d = start.trade_off, -m
    found, cost = march_from_point(_Problem(replace(base, c=t0 * d), l1), start.point, limit)
    problem = _Problem(base, l1)
    p = l1_piece(problem, d, found, t0)
    if not holds(problem, p, t0):
        raise ActiveSetError("the homotopy's end does not hold on this window's path")
    p, t, steps = _march(problem, d, p, t0, m, limit)
    return _certified(base, m, l1, p, t, systems + cost + 1 + steps)


def _march(problem, d, p, t0, m, limit):
    """(piece, t, systems) at the fixed point, marching from t0."""
    target = lambda q: _fixed_point_on(m, q)  # noqa: E731
    S = problem.qp.S
    reach = REACH * float(np.mean(np.diag(S))) / max(float(np.abs(m).max()), 1e-300)
    p, t, systems = march(problem, d, p, t0, target, limit, reach)
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
    """The t where g(x_c + t x_d) = t on the piece: 2 gamma / alpha (the module's root with
    delta = 0 and beta = 2 epsilon, which the piece's KKT system gives: w1 is 0 on held
    entries and on the rows, c is 0), refined by Newton steps on the quadratic (2 epsilon -
    beta) t^2 + (4 delta - alpha) t + 2 gamma = 0 of the rounded numbers (at t ~ 60 the
    closed form alone left g - t at 2e-12 relative); inf where alpha = m'w0 <= 0 (the
    return along the piece is then below 2 epsilon t, the fixed point lies beyond)."""
    alpha, beta = float(m @ p.x_c), float(m @ p.x_d)
    if alpha <= 0:
        return np.inf
    gamma, delta, epsilon = float(p.x_c @ p.Sx_c), float(p.x_c @ p.Sx_d), float(p.x_d @ p.Sx_d)
    t = 2.0 * gamma / alpha
    for _ in range(2):
        slope = 2.0 * (2.0 * epsilon - beta) * t + 4.0 * delta - alpha
        if slope == 0:
            break
        t -= ((2.0 * epsilon - beta) * t * t + (4.0 * delta - alpha) * t + 2.0 * gamma) / slope
    return t if np.isfinite(t) and t > 0 else np.inf


def _certified(qp: DenseQP, m, l1: L1Row, p: L1Piece, t: float, systems: int) -> SharpeSolution:
    """The piece's point at t checked as the L1 QP's optimum by the kernel's own KKT
    conditions (else the kernel from its working set), if it is the fixed point;
    ActiveSetError otherwise."""
    problem = _Problem(replace(qp, c=-t * m), l1)
    x, mu = p.at(t)
    if problem.changes(p.sets, x, mu, p.s) is None:
        solution = _solution(problem, p.sets, x, mu, p.s, 0)
        point = point_of(problem, p, t)
    else:
        solution = solve_l1_qp(problem.qp, l1, p.working_set, 4)
        ws = solution.working_set
        sets = (ws.at_lower, ws.at_upper, ws.at_break, ws.side, ws.rows, ws.l1)
        point = point_of(problem, l1_piece(problem, np.zeros(len(m)), sets, 0.0), 0.0)
    w = solution.x
    ret, var = float(m @ w), float(w @ qp.S @ w)
    if ret <= 0 or abs(2.0 * var / ret - t) > FIXED_POINT_TOLERANCE * max(t, 1e-300):
        raise ActiveSetError("the L1 path's fixed point does not hold")
    residual = max(solution.kkt_residual, abs(2.0 * var / ret - t) / t)
    start = SharpeStart(solution.working_set, t, point)
    return SharpeSolution(w, start, systems + solution.iterations, residual, var)
