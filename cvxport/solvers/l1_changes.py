"""The working-set changes of ``l1_kernel``'s active-set loop.

A working set is a tuple (at_lower (n,), at_upper (n,), at_break (n,), side (n,, +1 / -1),
rows (mi,), l1): entries held at a bound or at their breakpoint, the side of each entry, the
inequality rows held, and whether the L1 row is held. ``_Problem.changes`` measures nine kinds
of violation (``TOLERANCES``); the changes below correct them, all at once (``block_change``)
or one at a time (``single_changes``).
"""

from __future__ import annotations

import numpy as np

from cvxport.solvers.active_set import PRIMAL_TOLERANCE
from cvxport.solvers.qp_kernel import DUAL_TOLERANCE

#: the tolerance of each kind of violation ``_Problem.changes`` returns: five primal (below,
#: above, crossed, violated rows, L1 excess; x's units), four dual (relative)
TOLERANCES = (PRIMAL_TOLERANCE,) * 5 + (DUAL_TOLERANCE,) * 4


def apply_change(sets, kind: int, mask: np.ndarray | None, z: np.ndarray, pull: np.ndarray):
    """The working set with the change ``kind`` made on the entries or rows of ``mask``;
    z (n,) are the terms, ``pull`` (n,) the side each breakpoint would leave to."""
    return _change(_copied(sets), kind, mask, z, pull)


def _copied(sets) -> tuple:
    """A working set whose arrays are copies (``_change`` then writes into them)."""
    return (sets[0].copy(), sets[1].copy(), sets[2].copy(), sets[3].copy(), sets[4].copy(),
            sets[5])  # fmt: skip


def _change(sets, kind: int, mask: np.ndarray | None, z: np.ndarray, pull: np.ndarray):
    """``apply_change``'s change made in the arrays of ``sets`` (the caller's own copies); the
    working set is returned."""
    at_lower, at_upper, at_break, side, rows, l1 = sets
    if kind == 0:
        at_lower |= mask
    elif kind == 1:
        at_upper |= mask
    elif kind == 2:
        at_break |= mask
    elif kind == 3:
        rows |= mask
    elif kind == 4:  # hold the L1 row, each free entry on the side where it is
        l1 = True
        side = np.where(at_lower | at_upper | at_break, side, np.where(z >= 0, 1.0, -1.0))
    elif kind == 5:
        rows &= ~mask
    elif kind == 6:  # drop the L1 row: entries leave their breakpoints
        l1 = False
        side = np.where(at_break, np.where(pull > 0, 1.0, -1.0), side)
        at_break[:] = False
    elif kind == 7:  # off a bound, on the side the bound lies
        side = np.where(mask & at_lower, -1.0, np.where(mask & at_upper, 1.0, side))
        at_lower &= ~mask
        at_upper &= ~mask
    else:  # off the breakpoint, to the side it pulls to
        side = np.where(mask, np.where(pull > 0, 1.0, -1.0), side)
        at_break &= ~mask
    return at_lower, at_upper, at_break, side, rows, l1


def block_change(sets, amounts, z, pull, peaks=None):
    """Every wrong entry and row changed at once (primal additions, then dual releases);
    ``peaks``: each kind's largest amount (``_Problem.changes``), when the caller has them."""
    sets = _copied(sets)  # once: the changes below write into these copies in turn
    for kind, (amount, tolerance) in enumerate(zip(amounts, TOLERANCES, strict=True)):
        if peaks is not None and peaks[kind] <= tolerance:
            continue  # no entry of this kind above its tolerance (a NaN peak is not <=)
        mask = amount > tolerance
        if mask.any() and not (kind == 6 and not sets[5]):
            sets = _change(sets, kind, mask, z, pull)
    if not sets[5]:  # sides only matter under the L1 row: keep them where the entries are
        free = ~(sets[0] | sets[1] | sets[2])
        sets = (*sets[:3], np.where(free, np.where(z >= 0, 1.0, -1.0), sets[3]), *sets[4:])
    return sets


def single_changes(sets, amounts, z, pull):
    """Working sets that change one entry or row each, the largest violation first (primal
    before dual): the next is tried when the system of the previous is singular."""
    scored = []
    for kind, amount in enumerate(amounts):
        tolerance = PRIMAL_TOLERANCE if kind < 5 else DUAL_TOLERANCE
        for j in np.flatnonzero(amount > tolerance):
            scored.append((kind >= 5, kind == 4, -float(amount[j]), kind, int(j)))
    for *_, kind, j in sorted(scored):
        mask = np.zeros(len(amounts[3]) if kind in (3, 5) else len(z), bool)
        if kind not in (4, 6):
            mask[j] = True
        yield apply_change(sets, kind, mask, z, pull)
