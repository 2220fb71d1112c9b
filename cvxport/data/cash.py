"""Cash as an explicit asset: a price series that grows at a risk-free rate.

Adding it to the universe lets any method hold cash (a budget below one in the risky assets):
a ``WeightBounds({"CASH": ...})`` or ``GroupLimits`` then sets how much. Its returns are the
per-period rate, constant, so it has zero variance and zero covariance with every asset.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cvxport.data.alignment import align_prices
from cvxport.errors import InvalidInputError
from cvxport.periods import infer_periods_per_year, per_period_rate


def add_cash_asset(
    data: Mapping[str, pd.DataFrame] | pd.DataFrame,
    symbol: str = "CASH",
    annual_rate: float = 0.0,
    periods_per_year: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Return the spec's dict of per-symbol frames with a cash asset ``symbol`` added.

    Args:
        data: the spec's dict of frames with a ``close`` column, or a wide frame of closes.
        symbol: the cash asset's name (must not be in ``data``).
        annual_rate: annual fraction (0.04 = 4%) the cash earns, compounded per bar.
        periods_per_year: bars per year; inferred from the dates when None.

    The cash closes start at 1 on the first common date of ``data`` and compound by
    (1 + annual_rate) ** (1 / periods_per_year) - 1 per bar.
    """
    if not isinstance(symbol, str) or not symbol:
        raise InvalidInputError(f"the cash symbol must be a non-empty string, got {symbol!r}")
    if isinstance(annual_rate, bool) or not isinstance(annual_rate, (int, float)):
        raise InvalidInputError(f"annual_rate must be a number, got {annual_rate!r}")
    if not -1 < annual_rate < 10:
        raise InvalidInputError(f"annual_rate must be in (-1, 10), got {annual_rate!r}")
    prices = align_prices(data).prices
    if symbol in prices.columns:
        raise InvalidInputError(f"{symbol!r} is already a symbol of the data")
    ppy = periods_per_year or infer_periods_per_year(prices.index)
    per_period = per_period_rate(annual_rate, ppy)
    growth = pd.Series((1.0 + per_period) ** np.arange(len(prices)), index=prices.index)
    out = {s: pd.DataFrame({"close": prices[s]}) for s in prices.columns}
    out[symbol] = pd.DataFrame({"close": growth})
    return out
