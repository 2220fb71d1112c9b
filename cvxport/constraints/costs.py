"""Transaction costs as an objective term: what a trade from the previous weights costs.

    cost(w) = rate * sum |w - w_prev| + impact * sum (w - w_prev)^2

per unit of NAV (``rate`` 0.001 = 10 bps of traded notional; ``impact`` a quadratic market
impact coefficient, fraction of NAV per unit of squared traded fraction). The term is built
from the context like a constraint (``ctx.previous_weights``, ``ctx.scale``), homogeneous of
degree one in the scale (the impact part as quad_over_lin), so minimum variance subtracts
nothing from its meaning (minimize variance + cost_weight * cost) and maximum Sharpe becomes
the Sharpe ratio net of costs ((mu'w - cost(w) - rf) / sigma(w), Charnes-Cooper kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from cvxport.constraints.base import ProblemContext
from cvxport.errors import InvalidInputError


@dataclass(frozen=True)
class TransactionCost:
    """Proportional (``rate``) and quadratic (``impact``) cost of the trade w - w_prev, in
    fractions of NAV; ``cost_weight`` scales it against variance in minimum variance."""

    rate: float = 0.001
    impact: float = 0.0
    cost_weight: float = 1.0

    def __post_init__(self) -> None:
        for name in ("rate", "impact", "cost_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidInputError(f"TransactionCost.{name} must be a number, got {value!r}")
            if not np.isfinite(value) or value < 0:
                raise InvalidInputError(f"TransactionCost.{name} must be >= 0, got {value!r}")

    def expression(self, ctx: ProblemContext) -> cp.Expression:
        """The cost of moving from ``ctx.previous_weights`` to ``ctx.weights`` (per unit NAV,
        times ``ctx.scale``)."""
        trade = ctx.weights - ctx.previous_weights * ctx.scale
        cost = self.rate * cp.norm1(trade)
        if self.impact:
            scale = ctx.scale
            if isinstance(scale, (int, float)):
                cost = cost + self.impact * cp.sum_squares(trade) / scale
            else:
                cost = cost + self.impact * cp.quad_over_lin(trade, scale)
        return cost

    def value(self, weights: np.ndarray, previous_weights: np.ndarray) -> float:
        """The cost of the trade, computed directly (fractions of NAV)."""
        trade = np.asarray(weights, float) - np.asarray(previous_weights, float)
        return float(self.rate * np.abs(trade).sum() + self.impact * (trade**2).sum())
