"""Threshold (drift) rebalancing: trade when max |actual - target| exceeds a limit."""

from __future__ import annotations

import math
from dataclasses import dataclass

from cvxport.errors import InvalidInputError
from cvxport.rebalancing.base import RebalanceContext, Rebalancer, drift


@dataclass(frozen=True)
class ThresholdRebalancer(Rebalancer):
    """Rebalance when the L-infinity drift from the standing target exceeds ``drift_threshold``.

    Args:
        drift_threshold: absolute fraction of equity (0.05 = 5 percentage points), checked at
            every bar; the first bar (no target yet) always rebalances.
    """

    drift_threshold: float = 0.05

    def __post_init__(self) -> None:
        value = self.drift_threshold
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInputError(f"drift_threshold must be a number, got {value!r}")
        if not math.isfinite(value) or not 0 < value <= 1:
            raise InvalidInputError(f"drift_threshold must be in (0, 1], got {value!r}")

    def should_rebalance(self, ctx: RebalanceContext) -> bool:
        """True when there is no target yet or drift > drift_threshold."""
        if ctx.target_weights is None:
            return True
        return drift(ctx.current_weights, ctx.target_weights) > self.drift_threshold
