"""Market-capitalization weights: cap_i / sum(caps)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cvxport.allocators.symbol_data import positive_per_symbol
from cvxport.allocators.target import TargetAllocator
from cvxport.constraints.base import Constraint
from cvxport.errors import InvalidInputError


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
    """Weights proportional to market capitalization, projected onto any constraints given.

    Args:
        market_caps: default symbol -> cap mapping; ``allocate(..., market_caps=...)`` overrides.
    """

    data_keys = ("market_caps",)

    def __init__(
        self,
        market_caps: Mapping[str, float] | None = None,
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
        long_only: bool = True,
    ) -> None:
        super().__init__(constraints, solver, fallback, long_only)
        self.market_caps = market_caps

    def target(self, returns: pd.DataFrame, data: Mapping[str, Any]) -> np.ndarray:
        """Return the (n,) cap weights."""
        caps = check_market_caps(data.get("market_caps", self.market_caps), returns.columns)
        return caps / caps.sum()
