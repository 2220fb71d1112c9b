"""Risk measures by name, for configuration files and ``PortfolioConfig.risk_measure``."""

from __future__ import annotations

from cvxport.errors import InvalidInputError
from cvxport.risk.base import RiskMeasure
from cvxport.risk.ex_ante import ExAnteTrackingError
from cvxport.risk.moments import (
    MeanAbsoluteDeviation,
    SemiDeviation,
    SemiVariance,
    StandardDeviation,
    Variance,
)
from cvxport.risk.tail import CDaR, CVaR
from cvxport.risk.tracking import TrackingError

#: name -> measure class, built with its defaults (CVaR and CDaR at beta 0.95)
RISK_MEASURES: dict[str, type[RiskMeasure]] = {
    "variance": Variance,
    "standard_deviation": StandardDeviation,
    "semi_variance": SemiVariance,
    "semi_deviation": SemiDeviation,
    "mad": MeanAbsoluteDeviation,
    "cvar": CVaR,
    "cdar": CDaR,
    "tracking_error": TrackingError,
    "ex_ante_tracking_error": ExAnteTrackingError,
}


def risk_measure(value: RiskMeasure | str) -> RiskMeasure:
    """Return a measure object for an object or a name of ``RISK_MEASURES`` ('cvar')."""
    if isinstance(value, RiskMeasure):
        return value
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key in RISK_MEASURES:
            return RISK_MEASURES[key]()
    raise InvalidInputError(
        f"unknown risk measure {value!r}; give a RiskMeasure object or one of {list(RISK_MEASURES)}"
    )
