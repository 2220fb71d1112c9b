"""``PortfolioState``: what the portfolio holds now (units and cash) and the last known prices."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cvxport.errors import InvalidInputError


def as_number(value: Any, what: str) -> float:
    """``value`` as a float (anything ``float()`` takes), or InvalidInputError naming ``what``."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what} must be a number, got {value!r}") from None


def check_prices(prices: Mapping[str, float], symbols: list[str] | None = None) -> dict:
    """Return prices as a dict of floats; refuse missing, non-finite or non-positive ones.

    Args:
        prices: symbol -> price in quote currency.
        symbols: symbols that must all be priced (None: no requirement).
    """
    if isinstance(prices, pd.Series):
        prices = prices.to_dict()
    if not isinstance(prices, Mapping):
        raise InvalidInputError(f"prices must be a mapping symbol -> price, got {prices!r}")
    out = {}
    for symbol, price in prices.items():
        value = as_number(price, f"price of {symbol!r}")
        if not math.isfinite(value) or value <= 0:
            raise InvalidInputError(
                f"price of {symbol!r} must be positive and finite, got {price!r}"
            )
        out[symbol] = value
    missing = [s for s in symbols or [] if s not in out]
    if missing:
        raise InvalidInputError(f"no price for {missing}")
    return out


@dataclass
class PortfolioState:
    """Holdings in units of each asset, cash in quote currency, and the prices last seen.

    Attributes:
        holdings: symbol -> units held (base-asset units).
        cash: quote currency.
        prices: symbol -> last price, quote currency.
        timestamp: when the state was last updated.
    """

    holdings: dict[str, float] = field(default_factory=dict)
    cash: float = 0.0
    prices: dict[str, float] = field(default_factory=dict)
    timestamp: pd.Timestamp | None = None

    @property
    def has_positions(self) -> bool:
        """True when any holding is non-zero."""
        return any(units != 0 for units in self.holdings.values())

    def market_values(self, prices: Mapping[str, float] | None = None) -> pd.Series:
        """Return the value of each holding (quote currency) at ``prices`` or the last prices."""
        prices = check_prices(prices if prices is not None else self.prices, list(self.holdings))
        return pd.Series({s: u * prices[s] for s, u in self.holdings.items()}, dtype=float)

    def equity(self, prices: Mapping[str, float] | None = None) -> float:
        """Return cash plus the value of every holding, quote currency."""
        return float(self.cash + self.market_values(prices).sum())

    def weights(self, prices: Mapping[str, float] | None = None) -> pd.Series:
        """Return holdings as fractions of equity (cash excluded, so they may sum below 1)."""
        equity = self.equity(prices)
        if equity <= 0:
            raise InvalidInputError(f"portfolio equity is {equity}; weights are undefined")
        return self.market_values(prices) / equity
