"""Exchanges at the dependent corners of ``l1_homotopy``'s march.

Along that homotopy the breakpoints move, so a change the march makes (an entry held at its
breakpoint or bound, a row held) can leave working rows that are dependent on the free
entries: a held G row whose entries are all held, the L1 row beside the budget row with every
free entry on one side, or a mix of rows. The system is then singular and, as the held values
keep moving, inconsistent one step on: one constraint of the dependency has to leave.

The rows' dependency beta (beta' R = 0 on the free entries, from an SVD) gives the dual side:
the multipliers of the corner are those of the piece before the change moved by s beta, the
gradient on the held entries by s delta (delta = beta' R), for any s that keeps every dual
condition (held rows and nu >= 0, an entry at a bound on the right sign, one at a breakpoint
within [-nu, nu]). At each end of that interval one condition is tight and its constraint
leaves: the row is dropped, the entry released the way the condition points (the ratio test
of parametric active-set solvers such as qpOASES, "ensure linear independence"). The end is
chosen by the drift of the dependency, beta' (rhs_d - R held_d): on ``bench_composed.py``
row 9 (n = 100, four histories, 144 corners) the end against the drift's sign held in every
corner. Each exchange is checked before the march goes on (``holds_ahead``); where neither
end holds, the single exchanges of the dependency are tried one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

import numpy as np

from cvxport.solvers.l1_changes import apply_change
from cvxport.solvers.l1_kernel import _Problem
from cvxport.solvers.l1_path import DROP_L1, L1Piece, _key, _stacked_rows, center, measured

# the constraint a tight dual condition names: a held row, the L1 row, an entry at its
# lower / upper bound, an entry at its breakpoint with g = nu (leaves below) or -nu (above)
ROW, L1, LOWER, UPPER, BELOW, ABOVE = range(6)


def exchanges(problem: _Problem, p: L1Piece, sets, tau: float) -> Iterator[tuple]:
    """Working sets that leave one constraint of the dependency of ``sets`` (singular) at
    tau, ``p`` the piece before the change: the ratio test's two ends, the drift's first,
    then every single exchange (see the module); each working set once."""
    rows_of, beta, delta = _dependency_of(problem, sets)
    seen: set[bytes] = set()
    candidates = chain(  # the single exchanges only where neither end holds
        _ratio_ends(problem, p, sets, tau, rows_of, beta, delta),
        _single_exchanges(problem, p, sets, tau, beta, delta),
    )
    for candidate in candidates:
        key = _key(candidate)
        if key not in seen:
            seen.add(key)
            yield candidate


def holds_ahead(problem: _Problem, p: L1Piece, tau: float) -> bool:
    """Whether the piece's KKT conditions hold at tau and every one tight there holds as
    tau grows (an exchange that the next step of length 0 would undo does not)."""
    value, slope, floor = measured(problem, p, tau)
    if np.any(value < -floor):
        return False
    tight = value <= floor
    return bool(np.all(slope[tight] >= -1e-9 * np.maximum(1.0, np.abs(slope[tight]))))


def _dependency_of(problem: _Problem, sets):
    """(R (rows, n) of ``sets``, beta (rows,) with beta' R = 0 on the free entries (the
    right singular vector of the smallest singular value), delta = beta' R (n,))."""
    free = ~problem.held(sets)
    R, _ = _stacked_rows(problem, sets, problem.signs(sets))
    _, _, vt = np.linalg.svd(R[:, free].T, full_matrices=True)
    beta = vt[-1]
    delta = beta @ R
    delta[free] = 0.0
    return R, beta, delta


def _ratio_ends(problem: _Problem, p: L1Piece, sets, tau, R, beta, delta) -> list[tuple]:
    """The working sets of the ratio test's two ends, the one against the drift first."""
    at_lower, at_upper, at_break, rows, l1 = sets[0], sets[1], sets[2], sets[4], sets[5]
    me, held_rows = len(problem.qp.e), np.flatnonzero(rows)
    mu = _multipliers_before(problem, p, sets, tau, len(R))
    g = p.g_c + tau * p.g_d
    nu, nu_rate = (float(mu[-1]), float(beta[-1])) if l1 else (0.0, 0.0)
    lower = np.flatnonzero(at_lower & (delta != 0))
    upper = np.flatnonzero(at_upper & (delta != 0))
    breaks = np.flatnonzero(at_break & ((delta != 0) | (nu_rate != 0)))
    # every dual condition as value + s rate >= 0, with the constraint it names
    value = np.concatenate([mu[me : me + len(held_rows)], [nu] if l1 else [], g[lower],
                            -g[upper], nu - g[breaks], nu + g[breaks]])  # fmt: skip
    rate = np.concatenate([beta[me : me + len(held_rows)], [nu_rate] if l1 else [],
                           delta[lower], -delta[upper], nu_rate - delta[breaks],
                           nu_rate + delta[breaks]])  # fmt: skip
    kind = np.repeat([ROW, L1, LOWER, UPPER, BELOW, ABOVE],
                     [len(held_rows), int(bool(l1)), len(lower), len(upper), len(breaks),
                      len(breaks)])  # fmt: skip
    index = np.concatenate([held_rows, [-1] if l1 else [], lower, upper, breaks, breaks])
    drift = _drift(problem, sets, R, beta, delta)
    ends = []
    for way in sorted((1.0, -1.0), key=lambda w: w * drift):  # against the drift first
        falling = np.flatnonzero(rate * way < -1e-12)
        if len(falling):
            k = falling[np.argmin(np.maximum(value[falling], 0.0) / -(rate[falling] * way))]
            ends.append(_leave(problem, p, sets, tau, int(kind[k]), int(index[k])))
    return ends


def _multipliers_before(problem: _Problem, p: L1Piece, sets, tau: float, count: int):
    """The multipliers of the rows of ``sets`` (E, held G rows, L1 row) taken from the piece
    ``p`` before the change at tau (a row held by the change: 0)."""
    me, after = len(problem.qp.e), sets[4]
    mu_before = p.mu_c + tau * p.mu_d
    by_row, nu = problem.split(p.sets, mu_before)
    mu = np.zeros(count)
    mu[:me] = mu_before[:me]
    mu[me : me + int(after.sum())] = by_row[after]
    if sets[5]:
        mu[-1] = nu  # 0 where the change holds the L1 row
    return mu


def _drift(problem: _Problem, sets, R, beta, delta) -> float:
    """How the dependency's right-hand side moves along tau with every held value:
    beta' rhs_d - delta' held_d (breakpoints move with ``center_slope``)."""
    slope = problem.center_slope
    if slope is None:
        return 0.0
    at_break, l1 = sets[2], sets[5]
    moving = float(beta[-1] * (problem.signs(sets) @ slope)) if l1 else 0.0
    return moving - float(delta[at_break] @ slope[at_break])


def _leave(problem: _Problem, p: L1Piece, sets, tau: float, kind: int, i: int) -> tuple:
    """``sets`` with the constraint ``kind`` (on row or entry i) left."""
    at_lower, at_upper, at_break, side, rows, l1 = sets
    if kind == L1:  # entries leave their breakpoints the way their gradient pulls
        z = p.x_c + tau * p.x_d - center(problem, tau)
        return apply_change(sets, DROP_L1, None, z, -(p.g_c + tau * p.g_d))
    at_lower, at_upper, at_break = at_lower.copy(), at_upper.copy(), at_break.copy()
    side, rows = side.copy(), rows.copy()
    if kind == ROW:
        rows[i] = False
    elif kind == LOWER:
        at_lower[i], side[i] = False, -1.0
    elif kind == UPPER:
        at_upper[i], side[i] = False, 1.0
    else:
        at_break[i], side[i] = False, (-1.0 if kind == BELOW else 1.0)
    return at_lower, at_upper, at_break, side, rows, l1


def _single_exchanges(problem: _Problem, p: L1Piece, sets, tau, beta, delta) -> Iterator[tuple]:
    """Every single exchange of the dependency: each inequality row in it dropped, then each
    held entry in it released (both ways from a breakpoint), nearest to leaving first."""
    at_lower, at_upper, at_break, rows = sets[0], sets[1], sets[2], sets[4]
    me, held_rows = len(problem.qp.e), np.flatnonzero(rows)
    for r in np.flatnonzero(np.abs(beta) > 1e-9):
        if me <= r < me + len(held_rows):
            yield _leave(problem, p, sets, tau, ROW, int(held_rows[r - me]))
        elif r >= me:
            yield _leave(problem, p, sets, tau, L1, -1)
    g = p.g_c + tau * p.g_d
    nu = float(p.mu_c[-1] + tau * p.mu_d[-1]) if p.sets[5] else 0.0
    slack = np.where(at_lower, g, np.where(at_upper, -g, nu - np.abs(g)))
    entries = np.flatnonzero(np.abs(delta) > 1e-9)
    for i in entries[np.argsort(slack[entries])]:
        if at_lower[i]:
            yield _leave(problem, p, sets, tau, LOWER, int(i))
        elif at_upper[i]:
            yield _leave(problem, p, sets, tau, UPPER, int(i))
        elif at_break[i]:
            yield _leave(problem, p, sets, tau, BELOW, int(i))
            yield _leave(problem, p, sets, tau, ABOVE, int(i))
