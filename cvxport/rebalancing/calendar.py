"""Calendar rebalancing: trade on the first bar of each new day, week, month or quarter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError
from cvxport.rebalancing.base import RebalanceContext, Rebalancer

#: rebalance_frequency -> pandas period alias (weeks end on Sunday: W-SUN)
REBALANCE_FREQUENCIES: dict[str, str] = {
    "daily": "D",
    "weekly": "W-SUN",
    "monthly": "M",
    "quarterly": "Q",
}


@dataclass(frozen=True)
class CalendarRebalancer(Rebalancer):
    """Rebalance at the first bar whose calendar period differs from the previous bar's."""

    frequency: str = "monthly"

    def __post_init__(self) -> None:
        if self.frequency not in REBALANCE_FREQUENCIES:
            raise InvalidInputError(
                f"frequency must be one of {list(REBALANCE_FREQUENCIES)}, got {self.frequency!r}"
            )

    def is_new_period(self, ctx: RebalanceContext) -> bool:
        """True on the first bar of a new period (and on the very first bar)."""
        if ctx.previous_timestamp is None:
            return True
        alias = REBALANCE_FREQUENCIES[self.frequency]
        return ctx.timestamp.to_period(alias) != ctx.previous_timestamp.to_period(alias)

    def should_rebalance(self, ctx: RebalanceContext) -> bool:
        """Rebalance at the first bar of each new period."""
        return self.is_new_period(ctx)

    def schedule(self, index: pd.DatetimeIndex) -> np.ndarray:
        """Return (T,) booleans: row 1 and every row opening a new period (vectorized)."""
        periods = index.to_period(REBALANCE_FREQUENCIES[self.frequency])
        due = np.zeros(len(index), dtype=bool)
        due[1:] = periods[1:] != periods[:-1]
        if len(index) > 1:
            due[1] = True
        return due
