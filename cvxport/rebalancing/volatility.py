"""Volatility targeting: scale gross exposure so forecast volatility meets a target."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError
from cvxport.rebalancing.base import RebalanceContext, Rebalancer
from cvxport.rebalancing.calendar import CalendarRebalancer


def forecast_volatility(weights: np.ndarray, returns_window: np.ndarray, periods_per_year: int):
    """Annualized volatility sqrt(w' Sigma w * ppy) from (T, n) per-period returns (ddof=1)."""
    covariance = np.atleast_2d(np.cov(returns_window, rowvar=False, ddof=1))
    return math.sqrt(max(float(weights @ covariance @ weights), 0.0) * periods_per_year)


@dataclass(frozen=True)
class VolatilityTargetRebalancer(Rebalancer):
    """Calendar rebalancing whose gross exposure targets an annualized volatility.

    exposure = min(leverage_cap, target_volatility / forecast), the forecast being the
    annualized volatility of the fully invested target over the last ``lookback`` bars; the
    rest of equity is held in cash.

    Args:
        target_volatility: annual fraction (0.15 = 15%).
        lookback: bars of returns in the forecast.
        frequency: calendar of rebalances ('daily', 'weekly', 'monthly', 'quarterly').
        leverage_cap: largest gross exposure (1.0 = no borrowing).
    """

    target_volatility: float = 0.15
    lookback: int = 20
    frequency: str = "monthly"
    leverage_cap: float = 1.0

    def __post_init__(self) -> None:
        CalendarRebalancer(self.frequency)  # validates the frequency
        for name in ("target_volatility", "leverage_cap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidInputError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise InvalidInputError(f"{name} must be > 0, got {value!r}")
        if isinstance(self.lookback, bool) or not isinstance(self.lookback, int):
            raise InvalidInputError(f"lookback must be an integer >= 2, got {self.lookback!r}")
        if self.lookback < 2:
            raise InvalidInputError(f"lookback must be an integer >= 2, got {self.lookback!r}")

    def should_rebalance(self, ctx: RebalanceContext) -> bool:
        """Rebalance at the first bar of each calendar period of ``frequency``."""
        return CalendarRebalancer(self.frequency).should_rebalance(ctx)

    def schedule(self, index: pd.DatetimeIndex) -> np.ndarray:
        """Return the calendar schedule of ``frequency`` (see CalendarRebalancer.schedule)."""
        return CalendarRebalancer(self.frequency).schedule(index)

    def exposure(self, weights: np.ndarray, ctx: RebalanceContext) -> float:
        """Return min(leverage_cap, target / forecast) for the fully invested ``weights``."""
        window = ctx.returns_window.to_numpy()[-self.lookback :]
        forecast = forecast_volatility(np.asarray(weights), window, ctx.periods_per_year)
        if forecast == 0.0:
            return self.leverage_cap
        return min(self.leverage_cap, self.target_volatility / forecast)
