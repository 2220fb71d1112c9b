"""The opening allocation: from an empty book (all cash) turnover limits do not apply.

Any fully invested target trades sum|w - 0| = sum|w| >= 1 of NAV from cash, so a
``TurnoverLimit`` below 1 would make the first allocation of every backtest (and of a live
portfolio funded in cash) infeasible forever. The portfolio is opened by the same method
without its ``TurnoverLimit`` objects; every later allocation keeps them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from cvxport.allocators.base import Allocator
from cvxport.constraints.base import Constraint
from cvxport.constraints.trading import TurnoverLimit


def _has_turnover(constraints: Sequence[Constraint] | None) -> bool:
    return any(isinstance(c, TurnoverLimit) for c in constraints or ())


class OpeningAllocations:
    """Choose per call between ``allocator`` with ``extra`` call constraints and, when nothing
    is held, a copy of it without turnover limits (built on first use)."""

    def __init__(self, allocator: Allocator, extra: Sequence[Constraint] = ()) -> None:
        self.allocator, self.extra = allocator, tuple(extra)
        self.limited = _has_turnover(allocator.constraints) or _has_turnover(self.extra)
        self._opening: tuple[Allocator, tuple[Constraint, ...]] | None = None

    def choose(self, current: np.ndarray) -> tuple[Allocator, tuple[Constraint, ...]]:
        """Return (allocator, call constraints) for the (n,) ``current`` weights."""
        if not self.limited or np.any(current):
            return self.allocator, self.extra
        if self._opening is None:
            opening = copy.deepcopy(self.allocator)
            kept = [c for c in opening.constraints or () if not isinstance(c, TurnoverLimit)]
            opening.constraints = kept
            extra = tuple(c for c in self.extra if not isinstance(c, TurnoverLimit))
            self._opening = (opening, extra)
        return self._opening
