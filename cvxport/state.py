"""``PortfolioState``: what the portfolio holds now (units and cash) and the last known prices."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cvxport.errors import InconsistentFillError, InvalidInputError

# A fill may exceed its order by float rounding only (relative).
FILL_QUANTITY_RTOL = 1e-9


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
        source: where the holdings come from: 'initial' (config.initial_capital),
            'backtest' (a simulated book), 'user' (set_state), 'broker' (balances read from
            the broker), 'journal' (replayed) or 'live' (confirmed fills applied). Only a
            simulated ('initial', 'backtest') state is replaced by the broker's balances
            before a live rebalance; any other must agree with them.
    """

    holdings: dict[str, float] = field(default_factory=dict)
    cash: float = 0.0
    prices: dict[str, float] = field(default_factory=dict)
    timestamp: pd.Timestamp | None = None
    source: str = field(default="initial", compare=False)

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

    def apply_fill(self, fill: Any, commit: Callable[[dict, float], None] | None = None) -> None:
        """Book a confirmed fill: units of its symbol, cash less value and commission.

        The fill is checked against its order first (see :func:`check_fill`); ``commit`` is
        called with the new holdings and cash before they are assigned (the journal writes
        the fill and the state in one transaction there), so an error in either leaves the
        state unchanged.

        Raises:
            InconsistentFillError: the fill contradicts its order (named).
        """
        check_fill(fill)
        sign = 1.0 if fill.side.value == "BUY" else -1.0
        holdings = dict(self.holdings)
        holdings[fill.symbol] = holdings.get(fill.symbol, 0.0) + sign * fill.quantity
        cash = self.cash - sign * fill.quantity * fill.price - fill.commission
        if commit is not None:
            commit(holdings, cash)
        self.holdings, self.cash, self.source = holdings, cash, "live"
        self.prices[fill.symbol] = float(fill.price)


def check_fill(fill: Any) -> None:
    """Refuse a fill that contradicts its order: another symbol or side, a quantity not in
    (0, ordered], a price not finite and > 0, a commission not finite and >= 0.

    Raises:
        InconsistentFillError: naming the order's symbol, side, client order id and the field.
    """
    order = fill.order
    what = f"fill of {order.side.value} {order.quantity:g} {order.symbol!r}"
    if order.client_order_id:
        what += f" (client order id {order.client_order_id})"
    problems = []
    if fill.symbol != order.symbol:
        problems.append(f"symbol {fill.symbol!r} is not the order's")
    if fill.side != order.side:
        problems.append(f"side {getattr(fill.side, 'value', fill.side)!r} is not the order's")
    quantity = _float_or_nan(fill.quantity)
    if not 0 < quantity <= order.quantity * (1 + FILL_QUANTITY_RTOL):
        problems.append(f"quantity {fill.quantity!r} is not in (0, {order.quantity:g}]")
    price = _float_or_nan(fill.price)
    if not (math.isfinite(price) and price > 0):
        problems.append(f"price {fill.price!r} is not finite and > 0")
    commission = _float_or_nan(fill.commission)
    if not (math.isfinite(commission) and commission >= 0):
        problems.append(f"commission {fill.commission!r} is not finite and >= 0")
    if problems:
        raise InconsistentFillError(f"{what} refused: {'; '.join(problems)}")


def _float_or_nan(value: Any) -> float:
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
