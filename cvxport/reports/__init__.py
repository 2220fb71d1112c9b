"""Reports of backtest results: one self-contained HTML file per result (``html_report``) or
for several results side by side (``comparison_report``), a sweep's table
(``sweep_report``), and their tables."""

from __future__ import annotations

from cvxport.reports.compare import comparison_report, comparison_table
from cvxport.reports.html import html_report
from cvxport.reports.sweep import sweep_report
from cvxport.reports.tables import metric_unit, metrics_table, monthly_returns, rebalance_summary

__all__ = [
    "comparison_report",
    "comparison_table",
    "html_report",
    "metric_unit",
    "metrics_table",
    "monthly_returns",
    "rebalance_summary",
    "sweep_report",
]
