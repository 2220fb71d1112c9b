"""Pure metric functions returning fractions and ratios, and the spec's report units."""

from __future__ import annotations

from cvxport.metrics.allocation import (
    diversification_ratio,
    hhi,
    portfolio_volatility,
    risk_contributions,
)
from cvxport.metrics.performance import (
    annualized_return,
    annualized_turnover,
    calmar_ratio,
    downside_deviation,
    drawdown,
    max_drawdown,
    rebalance_turnover,
    sharpe_ratio,
    simple_returns,
    sortino_ratio,
    total_return,
    volatility,
)
from cvxport.metrics.report import (
    METRIC_UNITS,
    performance_fractions,
    performance_report,
    to_report_units,
)

__all__ = [
    "METRIC_UNITS",
    "annualized_return",
    "annualized_turnover",
    "calmar_ratio",
    "diversification_ratio",
    "downside_deviation",
    "drawdown",
    "hhi",
    "max_drawdown",
    "performance_fractions",
    "performance_report",
    "portfolio_volatility",
    "rebalance_turnover",
    "risk_contributions",
    "sharpe_ratio",
    "simple_returns",
    "sortino_ratio",
    "to_report_units",
    "total_return",
    "volatility",
]
