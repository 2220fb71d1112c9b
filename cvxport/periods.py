"""Periods per year: the annualization factor of a time index (an integer count of periods).

Rules of `infer_periods_per_year`, applied to the median spacing ``d`` between consecutive
timestamps:

| Median spacing ``d``     | Periods per year                                               |
|--------------------------|----------------------------------------------------------------|
| ``d < 18 h`` (intraday)  | median bars per calendar day x days per year                   |
| ``18 h <= d < 36 h``     | days per year                                                  |
| ``d >= 36 h``            | ``round(365.25 days / d)``, at least 1 (weekly 52, monthly 12) |

Days per year is 365 for 24/7 data (crypto: the index contains Saturdays or Sundays) and 252
for business-day data. Hourly crypto bars therefore give 24 * 365 = 8760, and hourly
exchange bars (7 per session) give 7 * 252 = 1764. Pass ``periods_per_year`` explicitly
when an index is too short or too irregular for these rules (an intraday index spanning
less than a day, say, counts only the bars it holds).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError

DAYS_PER_YEAR_CALENDAR = 365
DAYS_PER_YEAR_BUSINESS = 252
_DAYS_PER_YEAR_MEAN = 365.25
_INTRADAY_BELOW = pd.Timedelta(hours=18)
_DAILY_BELOW = pd.Timedelta(hours=36)


def validate_periods_per_year(value: object) -> int:
    """Check an annualization factor and return it as an ``int`` (periods per year).

    Args:
        value: A positive integer (``bool`` is refused; a float is accepted only when it is
            integral, e.g. ``252.0``).

    Returns:
        The value as a Python ``int``.

    Raises:
        InvalidInputError: If the value is not a positive integer; the message names
            ``periods_per_year`` and the value.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"periods_per_year must be a positive integer, got {value!r}")
    as_float = float(value)
    if not math.isfinite(as_float) or not as_float.is_integer() or as_float < 1:
        raise InvalidInputError(f"periods_per_year must be a positive integer, got {value!r}")
    return int(as_float)


def infer_periods_per_year(index: pd.DatetimeIndex) -> int:
    """Infer the number of periods per year of a time index (see the module table).

    Args:
        index: Strictly increasing timestamps, at least 2, without NaT.

    Returns:
        Periods per year, a positive integer (e.g. 252, 365, 52, 12, 8760).

    Raises:
        InvalidInputError: If ``index`` is not a ``pd.DatetimeIndex``, has fewer than 2
            points, contains NaT, or is not strictly increasing (naming the first bad
            timestamp).
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise InvalidInputError(f"index must be a pandas DatetimeIndex, got {type(index).__name__}")
    if len(index) < 2:
        raise InvalidInputError(f"index needs at least 2 timestamps, got {len(index)}")
    if index.hasnans:
        position = int(np.flatnonzero(index.isna())[0])
        raise InvalidInputError(f"index contains NaT at position {position}")
    steps = index[1:] - index[:-1]
    not_increasing = np.flatnonzero(steps <= pd.Timedelta(0))
    if len(not_increasing):
        bad = index[int(not_increasing[0]) + 1]
        raise InvalidInputError(f"index must be strictly increasing; first bad timestamp {bad}")

    has_weekend = bool((index.day_of_week >= 5).any())
    days_per_year = DAYS_PER_YEAR_CALENDAR if has_weekend else DAYS_PER_YEAR_BUSINESS
    median_step = steps.median()
    if median_step < _INTRADAY_BELOW:
        bars_per_day = pd.Series(1, index=index).groupby(index.normalize()).size()
        return max(1, round(float(bars_per_day.median()))) * days_per_year
    if median_step < _DAILY_BELOW:
        return days_per_year
    return max(1, round(_DAYS_PER_YEAR_MEAN * pd.Timedelta(days=1) / median_step))


def per_period_rate(annual_rate: float, periods_per_year: int) -> float:
    """Convert an annual fraction to a per-period fraction by compounding:
    (1 + annual_rate) ** (1 / periods_per_year) - 1."""
    return (1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0
