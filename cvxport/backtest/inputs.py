"""What a backtest takes from a :class:`PortfolioConfig` besides the allocator: the prices
aligned for the lookback (with the cash asset's closes where one is configured), the cost
rate per symbol and the benchmark's weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from cvxport.backtest.outcome import benchmark_returns
from cvxport.config import PortfolioConfig
from cvxport.data.alignment import AlignedPrices, align_prices
from cvxport.errors import InvalidInputError
from cvxport.periods import infer_periods_per_year, per_period_rate


def aligned_for_lookback(data, config: PortfolioConfig, lookback: int) -> AlignedPrices:
    """Align ``data`` to ``config.symbols``; refuse fewer than ``lookback + 1`` bars, naming
    the lookback, the symbol that set the common start and the window's dates."""
    cash = config.cash_asset
    symbols = [s for s in config.symbols if s != cash]
    if cash is not None and cash in (data.columns if isinstance(data, pd.DataFrame) else data):
        raise InvalidInputError(
            f"PortfolioConfig.cash_asset {cash!r} is also a symbol of the data: the backtest "
            "creates its closes (drop it from the data, or set cash_asset=None)"
        )
    aligned = align_prices(data, symbols, config.max_forward_fill)
    if cash is not None:
        aligned = with_cash_asset(aligned, config)
    n_bars = len(aligned.prices)
    if n_bars < lookback + 1:
        raise InvalidInputError(
            f"only {n_bars} common bar(s) from {aligned.start.date()} (first close of "
            f"{aligned.start_symbol!r}) to {aligned.end.date()}: lookback={lookback} needs at "
            f"least {lookback + 1} (PortfolioConfig.lookback, or the rebalancer's lookback)"
        )
    return aligned


def with_cash_asset(aligned: AlignedPrices, config: PortfolioConfig) -> AlignedPrices:
    """``aligned`` with ``config.cash_asset``'s closes: 1 at the first bar, compounding at
    ``config.risk_free_rate`` per bar (as ``cvxport.add_cash_asset``), in symbol order."""
    prices = aligned.prices
    ppy = config.periods_per_year or infer_periods_per_year(prices.index)
    growth = (1.0 + per_period_rate(config.risk_free_rate, ppy)) ** np.arange(len(prices))
    prices = prices.assign(**{config.cash_asset: growth})[config.symbols]
    return dataclasses.replace(aligned, prices=prices)


def transaction_rates(config: PortfolioConfig) -> float | np.ndarray:
    """``config.transaction_cost``, or per symbol with 0 for the cash asset."""
    if config.cash_asset is None:
        return config.transaction_cost
    return np.array([0.0 if s == config.cash_asset else config.transaction_cost
                     for s in config.symbols])  # fmt: skip


def benchmark_weights_of(config: PortfolioConfig) -> dict[str, float]:
    """The weights of ``config.benchmark`` when it is one of ``config.symbols``: 1 on it."""
    return {s: float(s == config.benchmark) for s in config.symbols}


def benchmark_returns_for_terms(bench: pd.Series, index: pd.DatetimeIndex) -> pd.Series:
    """The benchmark's returns at the dates of ``index`` it has a previous price for: what
    terms reading ``ctx.benchmark_returns`` get (a window beyond them is named there, never
    given a made-up 0); the report needs only the dates from the first rebalance on."""
    covered = index[index.isin(bench.index)]
    returns = benchmark_returns(bench, covered)
    first = len(covered) and covered[0] <= bench.index.min()  # no previous price
    return returns.iloc[1:] if first else returns
