"""Analyses of portfolios and backtests: frontier, stress tests, attribution, metrics."""

from cvxport.analysis.attribution import AttributionAnalyzer, carino_factors
from cvxport.analysis.frontier import EfficientFrontier
from cvxport.analysis.mean_risk_frontier import mean_risk_frontier
from cvxport.analysis.portfolio_metrics import PortfolioMetrics
from cvxport.analysis.stress import (
    PortfolioStressTester,
    blend_correlation,
    component_var,
    parametric_var_es,
    stress_covariance,
    stress_scenario,
)

__all__ = [
    "AttributionAnalyzer",
    "EfficientFrontier",
    "PortfolioMetrics",
    "PortfolioStressTester",
    "blend_correlation",
    "carino_factors",
    "component_var",
    "mean_risk_frontier",
    "parametric_var_es",
    "stress_covariance",
    "stress_scenario",
]
