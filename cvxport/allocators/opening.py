"""The opening allocation: from an empty book (all cash), turnover limits below 1 do not apply.

Any fully invested target trades sum|w - 0| = sum|w| >= 1 of NAV from cash, so a
``TurnoverLimit`` below 1 would make the first allocation of every backtest (and of a live
portfolio funded in cash) infeasible forever. The portfolio is opened by the same method
without those ``TurnoverLimit`` objects; a limit of 1 or more can be met from cash and stays
(it bounds the opening gross exposure of a long/short book), and every later allocation keeps
them all.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from cvxport.allocators.base import Allocator
from cvxport.constraints.base import Constraint
from cvxport.constraints.trading import TurnoverLimit


def _unreachable(constraint: Constraint) -> bool:
    """True for a turnover limit no invested portfolio meets from cash (below 1)."""
    return isinstance(constraint, TurnoverLimit) and constraint.limit < 1.0


def _has_unreachable(constraints: Sequence[Constraint] | None) -> bool:
    return any(_unreachable(c) for c in constraints or ())


class OpeningAllocations:
    """Choose per call between ``allocator`` with ``extra`` call constraints and, when nothing
    is held, a copy of it without its turnover limits below 1 (built on first use)."""

    def __init__(self, allocator: Allocator, extra: Sequence[Constraint] = ()) -> None:
        self.allocator, self.extra = allocator, tuple(extra)
        self.limited = _has_unreachable(allocator.constraints) or _has_unreachable(self.extra)
        self._opening: tuple[Allocator, tuple[Constraint, ...]] | None = None

    def choose(self, current: np.ndarray) -> tuple[Allocator, tuple[Constraint, ...]]:
        """Return (allocator, call constraints) for the (n,) ``current`` weights."""
        if not self.limited or np.any(current):
            return self.allocator, self.extra
        if self._opening is None:
            opening = copy.deepcopy(self.allocator)
            opening.constraints = [c for c in opening.constraints or () if not _unreachable(c)]
            extra = tuple(c for c in self.extra if not _unreachable(c))
            self._opening = (opening, extra)
        return self._opening
