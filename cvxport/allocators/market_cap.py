"""Market-capitalization weights: cap_i / sum(caps), point in time.

Caps are a snapshot (symbol -> cap, optionally dated by ``market_caps_as_of``) or a time series
(a DataFrame, dates x symbols). A rebalance uses the last row dated on or before its last
return's date; with no such row it is refused (``LookAheadError``). A dated snapshot later
than the rebalance is used with a ``LookAheadWarning`` naming both dates.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cvxport.allocators.capping import check_capping
from cvxport.allocators.symbol_data import positive_per_symbol
from cvxport.allocators.target import TargetAllocator
from cvxport.constraints.base import Constraint
from cvxport.errors import InvalidInputError, LookAheadError, LookAheadWarning


def caps_as_of(
    market_caps: Mapping[str, float] | pd.DataFrame | None,
    when: pd.Timestamp | None,
    snapshot_date: pd.Timestamp | None = None,
) -> Mapping[str, float] | None:
    """Return the caps known at ``when``: the last row of a time series dated <= ``when``.

    Raises:
        LookAheadError: every row of the series is dated after ``when`` (dates named).

    Warns:
        LookAheadWarning: a snapshot dated ``snapshot_date`` later than ``when``.
    """
    if isinstance(market_caps, pd.DataFrame):
        if when is None:
            return market_caps.iloc[-1].to_dict()
        known = market_caps.loc[market_caps.index <= when]
        if known.empty:
            raise LookAheadError(
                f"no market-cap snapshot on or before the rebalance at {when}: the series "
                f"starts at {market_caps.index[0]} (start the backtest later)"
            )
        return known.iloc[-1].to_dict()
    if snapshot_date is not None and when is not None and pd.Timestamp(snapshot_date) > when:
        warnings.warn(
            f"market caps dated {pd.Timestamp(snapshot_date).date()} are used at the rebalance "
            f"of {when}: the backtest sees the future (pass a time series of caps)",
            LookAheadWarning,
            stacklevel=4,
        )
    return market_caps


def check_market_caps(market_caps: Mapping[str, float] | None, assets: pd.Index) -> np.ndarray:
    """Return (n,) market caps aligned to ``assets``; refuse missing, unknown or bad ones.

    Args:
        market_caps: symbol -> market capitalization (any currency, same for all).
        assets: the universe.
    """
    if market_caps is None:
        raise InvalidInputError(
            "market-cap weighting needs market_caps={symbol: cap} (e.g. manager.set_market_caps)"
        )
    return positive_per_symbol(market_caps, assets, "market cap")


class MarketCapAllocator(TargetAllocator):
    """Weights proportional to market capitalization, capped or projected onto the constraints.

    Args:
        market_caps: default symbol -> cap mapping, or a DataFrame of caps (dates x symbols)
            used point in time; ``allocate(..., market_caps=...)`` overrides.
        market_caps_as_of: the date of a snapshot mapping (a later rebalance date warns).
        capping: how per-asset bounds cap the cap weights: 'projection' (the Euclidean
            projection onto the constraints, the default) or 'proportional' (as capped
            indices: excess handed to the uncapped names in proportion, their ratios kept;
            per-asset bounds only).
    """

    config_arguments: ClassVar[dict[str, str]] = {
        "constraints": "constraints",
        "solver": "solver",
        "long_only": "long_only",
        "market_caps": "market_caps",
        "market_caps_as_of": "market_caps_as_of",
    }

    data_keys = ("market_caps",)

    def __init__(
        self,
        market_caps: Mapping[str, float] | None = None,
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
        long_only: bool = True,
        market_caps_as_of: str | pd.Timestamp | None = None,
        capping: str = "projection",
    ) -> None:
        super().__init__(constraints, solver, fallback, long_only)
        self.capping = check_capping(capping, "MarketCapAllocator.capping")
        self.market_caps = market_caps
        self.market_caps_as_of = market_caps_as_of

    def target(self, returns: pd.DataFrame, data: Mapping[str, Any]) -> np.ndarray:
        """Return the (n,) cap weights known at the window's last date."""
        when = returns.index[-1] if isinstance(returns.index, pd.DatetimeIndex) else None
        given = data.get("market_caps", self.market_caps)
        as_of = None if "market_caps" in data else self.market_caps_as_of
        caps = check_market_caps(caps_as_of(given, when, as_of), returns.columns)
        return caps / caps.sum()
