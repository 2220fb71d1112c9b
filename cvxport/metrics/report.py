"""Report units: the one table saying which report key prints as a percent.

The metric functions return fractions (0.05 = 5%) and plain ratios. The spec prints some
report keys with a literal ``%`` sign (``f"{report['total_return']:.2f}%"``), so those keys
are reported in percent; the conversion happens here and nowhere else.

| Key                     | Unit    | Report value          |
|-------------------------|---------|-----------------------|
| `total_return`          | percent | fraction x 100        |
| `annualized_return`     | percent | fraction x 100        |
| `volatility`            | percent | fraction x 100        |
| `max_drawdown`          | percent | fraction x 100 (<= 0) |
| `turnover`              | percent | fraction x 100        |
| `sharpe_ratio`          | ratio   | unchanged             |
| `sortino_ratio`         | ratio   | unchanged             |
| `calmar_ratio`          | ratio   | unchanged             |
| `diversification_ratio` | ratio   | unchanged             |
| `hhi`                   | ratio   | unchanged             |
| `alpha`                 | percent | fraction x 100        |
| `tracking_error`        | percent | fraction x 100        |
| `beta`                  | ratio   | unchanged             |
| `information_ratio`     | ratio   | unchanged             |

Keys outside the table pass through unchanged; `risk_contribution` in particular stays a
fraction per asset (the spec multiplies it by 100 when printing).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from cvxport.metrics.performance import (
    annualized_return,
    calmar_ratio,
    max_drawdown,
    sharpe_ratio,
    simple_returns,
    sortino_ratio,
    total_return,
    volatility,
)

PERCENT = "percent"
RATIO = "ratio"

METRIC_UNITS: dict[str, str] = {
    "total_return": PERCENT,
    "annualized_return": PERCENT,
    "volatility": PERCENT,
    "max_drawdown": PERCENT,
    "turnover": PERCENT,
    "sharpe_ratio": RATIO,
    "sortino_ratio": RATIO,
    "calmar_ratio": RATIO,
    "diversification_ratio": RATIO,
    "hhi": RATIO,
    "alpha": PERCENT,
    "tracking_error": PERCENT,
    "beta": RATIO,
    "information_ratio": RATIO,
}
"""Unit of each report key: ``"percent"`` (fraction x 100) or ``"ratio"`` (unchanged)."""

_UNIT_FACTORS = {PERCENT: 100.0, RATIO: 1.0}


def to_report_units(values: Mapping[str, float]) -> dict[str, float]:
    """Convert fractions to report units: percent keys x 100, other keys unchanged.

    Args:
        values: Metric values keyed by report key, fractions and ratios.

    Returns:
        A new dict with the same keys, in the units of `METRIC_UNITS`.
    """
    converted: dict[str, float] = {}
    for key, value in values.items():
        unit = METRIC_UNITS.get(key)
        converted[key] = value if unit is None else value * _UNIT_FACTORS[unit]
    return converted


def performance_fractions(
    equity: pd.Series, periods_per_year: int, risk_free_rate: float = 0.0
) -> dict[str, float]:
    """The spec's performance keys as fractions and plain ratios.

    Args:
        equity: Positive equity values, shape (T,), T >= 3 (volatility needs 2 returns).
        periods_per_year: Periods per year of the curve's spacing.
        risk_free_rate: Annual risk-free rate, a fraction > -1.

    Returns:
        ``total_return``, ``annualized_return``, ``volatility``, ``sharpe_ratio``,
        ``sortino_ratio``, ``max_drawdown``, ``calmar_ratio``.
    """
    returns = simple_returns(equity)
    return {
        "total_return": total_return(equity),
        "annualized_return": annualized_return(equity, periods_per_year),
        "volatility": volatility(returns, periods_per_year),
        "sharpe_ratio": sharpe_ratio(returns, periods_per_year, risk_free_rate),
        "sortino_ratio": sortino_ratio(returns, periods_per_year, risk_free_rate),
        "max_drawdown": max_drawdown(equity),
        "calmar_ratio": calmar_ratio(equity, periods_per_year),
    }


def performance_report(
    equity: pd.Series, periods_per_year: int, risk_free_rate: float = 0.0
) -> dict[str, float]:
    """The spec's performance keys in report units (percent where `METRIC_UNITS` says so).

    Same arguments and keys as `performance_fractions`; ``total_return``,
    ``annualized_return``, ``volatility`` and ``max_drawdown`` are in percent.
    """
    return to_report_units(performance_fractions(equity, periods_per_year, risk_free_rate))
