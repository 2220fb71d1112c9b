"""The trade sizer shared by the backtest engine and live rebalancing.

From holdings (units), cash and prices it sizes the trades that reach target weights after
paying proportional costs, keeping an optional cash buffer, then rounds each order the way the
exchange rounds it: buys truncated to the lot size (as ccxt's ``amount_to_precision``), sells
rounded up to it within the holding, so their proceeds cover the buys. Orders below the
exchange's minimum amount or notional are skipped and reported, and buys are scaled down when
a skipped sell would otherwise spend more cash than there is. Sells come first. Without market
limits and buffer, the numbers are exactly the backtest engine's.
Units: quantities in base-asset units, prices, values and costs in the quote currency,
weights and the buffer as fractions (0.02 = 2%).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

import numpy as np

from cvxport.backtest.costs import post_cost_equity
from cvxport.errors import InvalidInputError

__all__ = ["MarketLimits", "TradePlan", "size_trades", "target_units"]

# Trades worth at most this fraction of equity are float noise: not sent.
DUST_FRACTION = 1e-9
# Buys overspending cash by at most this fraction are float noise (brokers accept 1e-9).
CASH_SLACK = 1e-10


def _step(value: float, step: float, rounding: str) -> float:
    """``value`` to a multiple of ``step`` in decimal arithmetic (no binary-float residue)."""
    v, s = Decimal(repr(float(value))), Decimal(repr(float(step)))
    return float((v / s).to_integral_value(rounding) * s)


@dataclass(frozen=True)
class MarketLimits:
    """One symbol's exchange rules (ccxt's ``market['precision']`` and ``['limits']``).

    Attributes:
        amount_step: Lot size, base units: quantities are multiples of it (None: any).
        price_tick: Price increment, quote currency (None: any).
        min_amount: Smallest quantity, base units (None: no minimum).
        min_notional: Smallest quantity x price, quote currency (None: no minimum).
    """

    amount_step: float | None = None
    price_tick: float | None = None
    min_amount: float | None = None
    min_notional: float | None = None

    def __post_init__(self) -> None:
        for name in ("amount_step", "price_tick", "min_amount", "min_notional"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidInputError(f"MarketLimits.{name} must be a number, got {value!r}")
            positive = name in ("amount_step", "price_tick")
            if not math.isfinite(value) or value < 0 or (positive and value == 0):
                raise InvalidInputError(
                    f"MarketLimits.{name} must be finite and > 0, got {value!r}"
                )
            object.__setattr__(self, name, float(value))

    def round_amount(self, quantity: float) -> float:
        """``quantity`` truncated to the lot size (the exchange never rounds an amount up)."""
        return (
            quantity if self.amount_step is None else _step(quantity, self.amount_step, ROUND_DOWN)
        )

    def round_amount_up(self, quantity: float) -> float:
        """``quantity`` rounded up to the lot size (a multiple the exchange keeps as is)."""
        return quantity if self.amount_step is None else _step(quantity, self.amount_step, ROUND_UP)

    def round_price(self, price: float) -> float:
        """``price`` rounded to the nearest tick."""
        return price if self.price_tick is None else _step(price, self.price_tick, ROUND_HALF_UP)

    def refusal(self, quantity: float, price: float) -> str | None:
        """Why the exchange would refuse ``quantity`` at ``price`` (None: it would take it)."""
        if quantity <= 0:
            return f"rounds to 0 at lot size {self.amount_step:g}"
        if self.min_amount is not None and quantity < self.min_amount:
            return f"quantity {quantity:g} < minimum amount {self.min_amount:g}"
        if self.min_notional is not None and quantity * price < self.min_notional:
            return f"notional {quantity * price:.8g} < minimum notional {self.min_notional:g}"
        return None


def target_units(
    equity: float,
    held: np.ndarray,
    target: np.ndarray,
    cost_rate: float,
    price: np.ndarray,
    cash_buffer: float = 0.0,
) -> np.ndarray:
    """(n,) units that hold ``target`` of the post-cost equity, ``cash_buffer`` of it in cash.

    Args:
        equity: cash plus holdings' value before trading, quote currency.
        held: (n,) value of each holding, quote currency.
        target: (n,) target weights, fractions of post-cost equity.
        cost_rate: cost per unit of traded notional (0.001 = 10 bps).
        price: (n,) prices, quote currency per unit.
        cash_buffer: fraction of equity left in cash (0.01 = 1%), in [0, 1).
    """
    if cash_buffer:
        target = target * (1.0 - cash_buffer)
    after = post_cost_equity(equity, held, target, cost_rate)
    return target * after / price


@dataclass
class TradePlan:
    """Sized trades. ``trades`` and ``skipped`` are the manager's trade dicts (symbol,
    action, quantity, price, value, cost); a skipped one also has a ``reason``."""

    trades: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    new_units: np.ndarray | None = None


def _trade(symbol: str, delta: float, price: float, rate: float) -> dict:
    value = abs(delta) * price
    return {
        "symbol": symbol,
        "action": "BUY" if delta > 0 else "SELL",
        "quantity": float(abs(delta)),
        "price": float(price),
        "value": float(value),
        "cost": float(rate * value),
    }


def size_trades(
    symbols: Sequence[str],
    units: np.ndarray,
    cash: float,
    price: np.ndarray,
    target: np.ndarray,
    cost_rate: float,
    cash_buffer: float = 0.0,
    limits: Mapping[str, MarketLimits] | None = None,
) -> TradePlan:
    """Size the trades from ``units`` and ``cash`` to ``target`` at ``price`` (all (n,)).

    Returns:
        The trades (sells first, then buys, each in symbol order), the trades skipped as below
        an exchange minimum (with the reason), and the units after the trades.

    Raises:
        InvalidInputError: equity (cash plus holdings) is not positive.
    """
    held = units * price
    equity = cash + float(held.sum())
    if not equity > 0:
        raise InvalidInputError(f"portfolio equity is {equity}: nothing to rebalance")
    ideal = target_units(equity, held, target, cost_rate, price, cash_buffer)
    delta = ideal - units
    limits = limits or {}
    plan = TradePlan()
    for i in np.flatnonzero(np.abs(delta) * price <= DUST_FRACTION * equity):
        delta[i] = 0.0
    for i, symbol in enumerate(symbols):
        market = limits.get(symbol)
        if market is None or delta[i] == 0:
            continue
        if delta[i] > 0:
            quantity = market.round_amount(delta[i])
        else:  # up to the lot, so the proceeds cover the buys; never beyond the holding
            quantity = min(market.round_amount_up(-delta[i]), market.round_amount(units[i]))
        reason = market.refusal(quantity, price[i])
        if reason is not None:
            plan.skipped.append({**_trade(symbol, delta[i], price[i], cost_rate), "reason": reason})
            delta[i] = 0.0
        else:
            delta[i] = math.copysign(quantity, delta[i])
    if limits:
        _fit_buys_to_cash(symbols, delta, cash, price, cost_rate, limits, plan)
    for i in np.argsort(np.sign(delta), kind="stable"):
        if delta[i] != 0:
            plan.trades.append(_trade(symbols[i], delta[i], price[i], cost_rate))
    # untouched trades land exactly on the ideal units (as the engine books them)
    plan.new_units = np.where(delta == ideal - units, ideal, units + delta)
    return plan


def _fit_buys_to_cash(symbols, delta, cash, price, rate, limits, plan) -> None:
    """Scale buys down (then re-round) when rounding or a skipped sell left too little cash."""
    flows = delta * price
    sells = flows < 0
    available = cash - float(flows[sells].sum()) * (1 - rate)
    spend = float(flows[~sells].sum()) * (1 + rate)
    if spend <= available + CASH_SLACK * spend or spend <= 0:
        return
    scale = max(available, 0.0) / spend
    for i in np.flatnonzero(delta > 0):
        market = limits.get(symbols[i], MarketLimits())
        quantity = market.round_amount(delta[i] * scale)
        reason = market.refusal(quantity, price[i]) if quantity > 0 else "no cash left"
        if reason is not None:
            plan.skipped.append({**_trade(symbols[i], delta[i], price[i], rate), "reason": reason})
            quantity = 0.0
        delta[i] = quantity
