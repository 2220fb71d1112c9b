"""Reports of backtest results: one self-contained HTML file (``html_report``) and its tables."""

from __future__ import annotations

from cvxport.reports.html import html_report
from cvxport.reports.tables import metric_unit, metrics_table, monthly_returns, rebalance_summary

__all__ = ["html_report", "metric_unit", "metrics_table", "monthly_returns", "rebalance_summary"]
