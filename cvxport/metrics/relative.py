"""Metrics of a portfolio relative to a benchmark: alpha, beta, tracking error, information
ratio. Both inputs are per-period simple returns (fractions) on the same dates.

Definitions (empyrical's, with the risk-free rate per period ``rf = (1 + r)^(1/ppy) - 1``):

* ``beta`` = cov(r_p - rf, r_b - rf) / var(r_b - rf) (population moments; the ratio does not
  depend on ddof), a plain ratio;
* ``alpha`` = (1 + mean(r_p - rf - beta (r_b - rf)))^ppy - 1, an annual fraction;
* ``tracking_error`` = std(r_p - r_b, ddof=1) x sqrt(ppy), an annual fraction;
* ``information_ratio`` = mean(r_p - r_b) / std(r_p - r_b, ddof=1) x sqrt(ppy), a plain ratio
  (0.0 when the tracking error is 0), i.e. the annualized active return (mean x ppy) over the
  tracking error, as ``AttributionAnalyzer`` reports it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError
from cvxport.metrics.performance import ZERO_STD_ATOL, _check_risk_free_rate
from cvxport.periods import per_period_rate


def _pair(portfolio: pd.Series, benchmark: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(portfolio, pd.Series) or not isinstance(benchmark, pd.Series):
        raise InvalidInputError("portfolio and benchmark returns must be pandas Series")
    if not portfolio.index.equals(benchmark.index):
        missing = portfolio.index.difference(benchmark.index)
        raise InvalidInputError(
            "benchmark returns are not on the portfolio's dates"
            + (f" (missing {list(missing[:3])})" if len(missing) else "")
        )
    p, b = portfolio.to_numpy(dtype=float), benchmark.to_numpy(dtype=float)
    if len(p) < 2:
        raise InvalidInputError(f"relative metrics need at least 2 returns, got {len(p)}")
    for name, values, series in (("portfolio", p, portfolio), ("benchmark", b, benchmark)):
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise InvalidInputError(f"{name} return is not finite at {series.index[bad[0]]}")
    return p, b


def beta(portfolio: pd.Series, benchmark: pd.Series, risk_free_rate: float = 0.0,
         periods_per_year: int = 365) -> float:  # fmt: skip
    """Return the beta of ``portfolio`` on ``benchmark`` (plain ratio; see module docstring).

    Raises:
        InvalidInputError: misaligned or non-finite returns, or a constant benchmark.
    """
    p, b = _pair(portfolio, benchmark)
    rf = per_period_rate(_check_risk_free_rate(risk_free_rate), periods_per_year)
    pe, be = p - rf, b - rf
    deviation = be - be.mean()
    variance = float(np.mean(deviation**2))
    if variance <= ZERO_STD_ATOL**2:
        raise InvalidInputError("benchmark returns are constant: beta is undefined")
    return float(np.mean(deviation * pe)) / variance


def alpha(portfolio: pd.Series, benchmark: pd.Series, risk_free_rate: float = 0.0,
          periods_per_year: int = 365) -> float:  # fmt: skip
    """Return Jensen's alpha, annualized by compounding (annual fraction; module docstring)."""
    p, b = _pair(portfolio, benchmark)
    rf = per_period_rate(_check_risk_free_rate(risk_free_rate), periods_per_year)
    slope = beta(portfolio, benchmark, risk_free_rate, periods_per_year)
    return (1.0 + float(np.mean((p - rf) - slope * (b - rf)))) ** periods_per_year - 1.0


def tracking_error(portfolio: pd.Series, benchmark: pd.Series, periods_per_year: int) -> float:
    """Return std(r_p - r_b, ddof=1) x sqrt(ppy) (annual fraction)."""
    p, b = _pair(portfolio, benchmark)
    std = float(np.std(p - b, ddof=1))
    return 0.0 if std <= ZERO_STD_ATOL else std * math.sqrt(periods_per_year)


def information_ratio(portfolio: pd.Series, benchmark: pd.Series, periods_per_year: int) -> float:
    """Return mean(r_p - r_b) / std(r_p - r_b, ddof=1) x sqrt(ppy) (ratio; 0 at zero TE)."""
    p, b = _pair(portfolio, benchmark)
    std = float(np.std(p - b, ddof=1))
    if std <= ZERO_STD_ATOL:
        return 0.0
    return float(np.mean(p - b)) / std * math.sqrt(periods_per_year)


def relative_fractions(portfolio: pd.Series, benchmark: pd.Series, periods_per_year: int,
                       risk_free_rate: float = 0.0) -> dict[str, float]:  # fmt: skip
    """Return ``alpha``, ``beta``, ``tracking_error``, ``information_ratio`` (fractions/ratios)."""
    return {
        "alpha": alpha(portfolio, benchmark, risk_free_rate, periods_per_year),
        "beta": beta(portfolio, benchmark, risk_free_rate, periods_per_year),
        "tracking_error": tracking_error(portfolio, benchmark, periods_per_year),
        "information_ratio": information_ratio(portfolio, benchmark, periods_per_year),
    }
