"""The rebalancing policy interface: when to trade, and how much gross exposure to hold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RebalanceContext:
    """What a policy sees at one bar, before any trade.

    Attributes:
        timestamp: the bar's time; trades fill at its close.
        previous_timestamp: the bar before, or None on the first bar.
        current_weights: (n,) weights held, fractions of equity (cash excluded).
        target_weights: (n,) standing target from the last rebalance (exposure included),
            or None before the first one.
        returns_window: (lookback, n) simple returns up to and including this bar.
        periods_per_year: bars per year of the data.
    """

    timestamp: pd.Timestamp
    previous_timestamp: pd.Timestamp | None
    current_weights: np.ndarray
    target_weights: np.ndarray | None
    returns_window: pd.DataFrame | None = None
    periods_per_year: int = 365


class Rebalancer:
    """Base policy: subclasses decide ``should_rebalance`` and may scale ``exposure``."""

    def should_rebalance(self, ctx: RebalanceContext) -> bool:
        """Return True to recompute the target and trade at this bar's close."""
        raise NotImplementedError

    def schedule(self, index: pd.DatetimeIndex) -> np.ndarray | None:
        """Return (T,) booleans of the rebalance bars when known in advance, else None.

        Row 0 of ``index`` is the all-cash start (never traded); row 1 is the first bar.
        A policy that returns a schedule is not asked ``should_rebalance`` per bar.
        """
        return None

    def exposure(self, weights: np.ndarray, ctx: RebalanceContext) -> float:
        """Return the gross exposure (fraction of equity in assets) for new target ``weights``."""
        return 1.0


def drift(current: np.ndarray, target: np.ndarray) -> float:
    """Return max |current - target| (L-infinity drift, absolute fractions of equity)."""
    return float(np.max(np.abs(np.asarray(current) - np.asarray(target))))
