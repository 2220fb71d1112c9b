"""The exact QP of ``qp_kernel`` with one tracking-error row measured with the objective's
covariance, by a parametric solve on the row's multiplier.

    minimize x'Sx + c'x   subject to   E x = e,  G x <= h,  lower <= x <= upper,
                                       ||A x - a|| <= r

where A'A = S / k for some k > 0: the tracking error sqrt((x - b)' Sigma (x - b)) (or the
standard deviation of R x - r_b over a window) uses the covariance of the objective, up to the
objective's unit scale k. With nu >= 0 the multiplier of the squared row ``||A x - a||^2 <=
r^2``, the Lagrangian divided by 1 + nu / k is

    x'Sx + (c + theta d)'x + rows,   d = -c - 2k A'a,   theta = (nu/k) / (1 + nu/k) in [0, 1):

the Hessian never changes, only the linear term. Each theta is a QP of ``qp_kernel`` whose
minimizer x(theta) is affine in theta while its working set holds (one Cholesky factor gives
x_c + theta x_d), and TE(theta) = ||A x(theta) - a|| does not increase with theta (the row
weighs more). theta = 0 is the problem without the row (done if it meets the limit); theta = 1
minimizes the tracking error alone, ||A x - a||^2 k + const: above r the limit is unattainable
(``LimitUnattainableError``). Between them, on a working set's piece TE^2 is a quadratic in
theta whose decreasing root is found in closed form; if the working set's KKT conditions hold
there, that root is the answer (exact to rounding), otherwise the QP is solved at the root
(warm-started block updates of ``qp_kernel``; where they cycle, ``parametric_qp`` marches
the path) and the search goes on from the new piece, bracketed by the thetas seen on either
side of the limit (bisection when the roots stall). Measured: a re-solve on the next rolling
window is one working-set solve and one factor (bench_composed row 8); every one of some 2,000
random problems of the tests (group rows, linear terms, random warm starts) settled here.

Certificate (``kkt_residual``), recomputed on the problem as stated with A itself (not S/k):
nu = k theta / (1 - theta), row multipliers mu / (1 - theta); the gradient 2Sx + c +
2 nu A'(Ax - a) + R'mu vanishes on free entries and has the bound's sign on held ones, row and
bound multipliers >= 0, TE <= r and TE = r where nu > 0, all relative to the gradient's terms.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.parametric_qp import Piece, holds, solve_along
from cvxport.solvers.qp_kernel import DenseQP, WorkingSet

PROPORTIONAL_TOLERANCE = 1e-9  # ||S v - k A'A v|| / ||S v|| on random probes v
UNATTAINABLE_TOLERANCE = 1e-9  # the smallest TE above r by more (relative, ``_unit``) fails
MAX_STEPS = 60  # QP solves along theta before giving up (ActiveSetError)
POLISH_STEPS = 3  # Newton steps on the closed-form root of the limit's quadratic


class NotProportionalError(ActiveSetError):
    """The row's quadratic form A'A is not a multiple of the objective's S."""


class LimitUnattainableError(ArithmeticError):
    """No point of the other rows meets the row: ``smallest`` is the least ||A x - a||."""

    def __init__(self, smallest: float, radius: float) -> None:
        super().__init__(f"the smallest attainable value is {smallest:.6g} > {radius:.6g}")
        self.smallest = smallest
        self.radius = radius


@dataclass(frozen=True)
class EllipsoidRow:
    """``||A x - a|| <= radius``: A (m, n), a (m,), radius >= 0 (units of A x)."""

    A: np.ndarray
    a: np.ndarray
    radius: float


@dataclass(frozen=True)
class TrackingStart:
    """Where the last solve ended: its theta in [0, 1] and the working set there."""

    theta: float
    working_set: WorkingSet


@dataclass(frozen=True)
class TrackingSolution:
    """A KKT point: x (n,), where to start the next solve, objective x'Sx + c'x, linear
    systems solved, the largest KKT violation, the row's multiplier nu (of ||Ax - a||^2
    <= r^2; 0 when slack) and its value ||A x - a||."""

    x: np.ndarray
    start: TrackingStart
    objective: float
    iterations: int
    kkt_residual: float
    nu: float
    value: float


def proportionality(S: np.ndarray, A: np.ndarray) -> float:
    """Return k > 0 with A'A = S / k, checked on two random probes (a nonzero difference D
    passes only if ||D v|| << ||D||_F for both, probability ~0); NotProportionalError else."""
    rows_norm = float(np.sum(A * A))
    trace = float(np.trace(S))
    if not (rows_norm > 0 and trace > 0):
        raise NotProportionalError("the row or the objective has no curvature")
    k = trace / rows_norm
    probes = _probes(S.shape[0])
    lhs = S @ probes
    gap = np.linalg.norm(lhs - k * (A.T @ (A @ probes)))
    if not gap <= PROPORTIONAL_TOLERANCE * np.linalg.norm(lhs):
        raise NotProportionalError(
            "the row's quadratic form is not a multiple of the objective's covariance "
            f"(relative gap {gap / np.linalg.norm(lhs):.1e})"
        )
    return k


@functools.cache
def _probes(n: int) -> np.ndarray:
    """(n, 2) fixed Gaussian probes (made once per size)."""
    probes = np.random.default_rng(0).standard_normal((n, 2))
    probes.flags.writeable = False
    return probes


def solve_tracking_qp(
    qp: DenseQP, row: EllipsoidRow, start: TrackingStart | None = None
) -> TrackingSolution:
    """Return the exact optimum of ``qp`` under ``row`` (see the module).

    Raises:
        LimitUnattainableError: the other rows keep ||A x - a|| above the radius.
        ActiveSetError: this method cannot settle the problem (the next backend solves it).
    """
    A, a, radius = np.asarray(row.A, float), np.asarray(row.a, float), float(row.radius)
    k = proportionality(qp.S, A)
    d = -qp.c - 2.0 * k * (A.T @ a)
    r2 = radius * radius
    theta = float(np.clip(start.theta, 0.0, 1.0)) if start is not None else 0.0
    sets = start.working_set if start is not None else None
    lo, hi, lo_known, hi_known = 0.0, 1.0, False, False
    systems, stalled, width, known = 0, 0, 1.0, None
    for _ in range(MAX_STEPS):
        p, used = solve_along(qp, d, theta, sets, known)
        systems += used
        known, sets = (theta, p), p.working_set
        z = A @ (p.x_c + theta * p.x_d) - a
        if z @ z <= r2:
            if theta == 0.0:  # the row is slack without a multiplier: the plain optimum
                return _finish(qp, row, k, p, 0.0, systems)
            hi, hi_known = theta, True
        else:
            if theta == 1.0:
                smallest = float(np.sqrt(z @ z))
                if smallest > radius + UNATTAINABLE_TOLERANCE * _unit(row):
                    raise LimitUnattainableError(smallest, radius)
                return _finish(qp, row, k, p, 1.0, systems)
            lo, lo_known = theta, True
        root = _root(p, A, a, r2)
        if root is not None and lo <= root <= hi and holds(qp, p, root):
            return _finish(qp, row, k, p, root, systems)
        stalled = stalled + 1 if hi - lo > 0.5 * width else 0
        width = hi - lo
        if root is not None and lo < root < hi and stalled < 2:
            theta = root
        elif not lo_known:
            theta = 0.0
        elif not hi_known:
            theta = 1.0
        else:
            theta, stalled = 0.5 * (lo + hi), 0
    raise ActiveSetError(f"the tracking row's multiplier was not settled in {MAX_STEPS} solves")


def _root(piece: Piece, A: np.ndarray, a: np.ndarray, r2: float) -> float | None:
    """The theta where ||A x(theta) - a||^2 = r^2 on the piece's line, on its decreasing
    side (the smaller root of a convex quadratic), or None when it stays above r^2."""
    u = A @ piece.x_c - a
    v = A @ piece.x_d
    alpha, beta, gamma = float(v @ v), float(u @ v), float(u @ u) - r2
    disc = beta * beta - alpha * gamma
    if disc < 0:
        return None
    s = np.sqrt(disc)
    if beta < 0:
        root = gamma / (s - beta)
    elif alpha == 0:
        return None  # flat or rising line: never reaches r from above
    else:
        root = (-beta - s) / alpha
    return _polished(u, v, r2, root)


def _polished(u: np.ndarray, v: np.ndarray, r2: float, root: float) -> float:
    """The root after Newton steps on ||u + theta v||^2 = r^2 evaluated from z itself: the
    closed form reads gamma = u'u - r^2, which loses digits where ||u|| >> r (a limit far
    below the benchmark's own volatility), and left the row 1e-11 relative above its limit."""
    for _ in range(POLISH_STEPS):
        z = u + root * v
        slope = 2.0 * float(z @ v)
        if slope >= 0.0:
            break  # not on the decreasing side: keep the closed form
        step = (float(z @ z) - r2) / slope
        root -= step
        if abs(step) <= 1e-16 * max(abs(root), 1e-300):
            break
    return root


def _unit(row: EllipsoidRow) -> float:
    """The row's scale: max(radius, ||a||) (||a||: the row's value at x = 0, e.g. the
    benchmark's own volatility), so a zero limit is measured against something."""
    return max(float(row.radius), float(np.linalg.norm(row.a)), 1e-300)


def _finish(
    qp: DenseQP, row: EllipsoidRow, k: float, piece: Piece, theta: float, systems: int
) -> TrackingSolution:
    """The solution at theta on the piece, with its certificate on the stated problem."""
    at_lower, at_upper, rows = piece.sets
    x = piece.x_c + theta * piece.x_d
    mu = piece.mu_c + theta * piece.mu_d
    A, a, radius = row.A, row.a, float(row.radius)
    z = A @ x - a
    value = float(np.sqrt(z @ z))
    primal = max(
        float(np.max(np.maximum(qp.lower - x, x - qp.upper), initial=0.0)),
        float(np.max(qp.G @ x - qp.h, initial=0.0)),
        float(np.max(np.abs(qp.E @ x - qp.e), initial=0.0)),
        max(value - radius, 0.0) / _unit(row),
    )
    if theta >= 1.0:  # the limit equals the smallest attainable value: no finite multiplier
        nu, dual = np.inf, 0.0
    else:
        nu = k * theta / (1.0 - theta)
        mu = mu / (1.0 - theta)
        R = np.vstack([qp.E, qp.G[rows]])
        terms = (2.0 * (qp.S @ x), qp.c, 2.0 * nu * (A.T @ z), R.T @ mu)
        g = sum(terms)
        scale = max(max(float(np.max(np.abs(t), initial=0.0)) for t in terms), 1e-300)
        free = ~(at_lower | at_upper)
        dual = (
            max(
                float(np.max(np.abs(g[free]), initial=0.0)),
                float(np.max(np.where(at_lower, -g, np.where(at_upper, g, 0.0)), initial=0.0)),
                float(np.max(-mu[len(qp.e) :], initial=0.0)),
            )
            / scale
        )
        if nu > 0:  # complementary slackness: the row holds with equality
            primal = max(primal, abs(value - radius) / _unit(row))
    objective = float(x @ qp.S @ x + qp.c @ x)
    ws = WorkingSet(at_lower.copy(), at_upper.copy(), rows.copy())
    return TrackingSolution(
        x, TrackingStart(theta, ws), objective, systems, max(primal, dual), nu, value
    )
