"""Rebalancing policies: calendar, drift threshold and volatility target, one interface."""

from cvxport.rebalancing.base import RebalanceContext, Rebalancer, drift
from cvxport.rebalancing.calendar import REBALANCE_FREQUENCIES, CalendarRebalancer
from cvxport.rebalancing.threshold import ThresholdRebalancer
from cvxport.rebalancing.volatility import VolatilityTargetRebalancer, forecast_volatility

__all__ = [
    "REBALANCE_FREQUENCIES",
    "CalendarRebalancer",
    "RebalanceContext",
    "Rebalancer",
    "ThresholdRebalancer",
    "VolatilityTargetRebalancer",
    "drift",
    "forecast_volatility",
]
