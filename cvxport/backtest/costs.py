"""Proportional transaction costs and the trade sizing that pays for them."""

from __future__ import annotations

import numpy as np

COST_TOLERANCE = 1e-13  # relative change of post-cost equity at which sizing stops


def post_cost_equity(
    equity: float,
    current_values: np.ndarray,
    target_weights: np.ndarray,
    cost_rate: float | np.ndarray,
) -> float:
    """Return equity E' after costs such that E' = E - rate * sum |w * E' - h|.

    Args:
        equity: equity before trading (quote currency).
        current_values: (n,) values of the holdings before trading.
        target_weights: (n,) target weights (fractions of post-cost equity, sum <= cap).
        cost_rate: cost per unit of traded notional (0.001 = 10 bps).

    The map is a contraction (slope <= rate * sum|w| < 1), so fixed-point iteration converges
    geometrically; the accounting itself stays exact because costs are charged on the trades
    actually made.
    """
    if np.ndim(cost_rate) == 0:
        if cost_rate == 0.0:
            return equity
        cost = lambda traded: cost_rate * float(traded.sum())  # noqa: E731
    else:  # a rate per symbol, e.g. 0 for a cash asset
        rates = np.asarray(cost_rate, dtype=float)
        if not rates.any():
            return equity
        cost = lambda traded: float(rates @ traded)  # noqa: E731
    after = equity
    for _ in range(100):
        updated = equity - cost(np.abs(target_weights * after - current_values))
        if abs(updated - after) <= COST_TOLERANCE * abs(equity):
            return updated
        after = updated
    return after
