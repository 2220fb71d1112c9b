"""Risk measures as small frozen objects: objective terms and limits (see ``base``)."""

from cvxport.risk.base import RiskMeasure, measure_expression, portfolio_returns, tail_mean
from cvxport.risk.ex_ante import ExAnteTrackingError
from cvxport.risk.limit import RiskLimit
from cvxport.risk.moments import (
    MeanAbsoluteDeviation,
    SemiDeviation,
    SemiVariance,
    StandardDeviation,
    Variance,
)
from cvxport.risk.names import RISK_MEASURES, risk_measure
from cvxport.risk.tail import CDaR, CVaR, drawdowns
from cvxport.risk.tracking import TrackingError

__all__ = [
    "RISK_MEASURES",
    "CDaR",
    "CVaR",
    "ExAnteTrackingError",
    "MeanAbsoluteDeviation",
    "RiskLimit",
    "RiskMeasure",
    "SemiDeviation",
    "SemiVariance",
    "StandardDeviation",
    "TrackingError",
    "Variance",
    "drawdowns",
    "measure_expression",
    "portfolio_returns",
    "risk_measure",
    "tail_mean",
]
