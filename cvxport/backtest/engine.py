"""The backtest loop: holdings in units and cash, trades at the close, costs on notional.

Timing (no look-ahead): at bar t the target uses returns up to and including t (closes known
at t's close) and trades fill at t's close. Between rebalances the holdings' units stay fixed,
so weights drift with prices. Equity at bar t is measured after t's trades and costs, so
equity_t - equity_{t-1} = units_{t-1} . (p_t - p_{t-1}) - cost_t exactly.

The loop visits rebalance bars only: the bars between two trades are filled in one vectorized
step (units and cash are constant there). A policy with a schedule (calendar) names its bars in
advance; any other policy is asked at every bar with the weights held at that bar's close.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from cvxport.backtest.costs import post_cost_equity
from cvxport.errors import InfeasibleError, InvalidInputError
from cvxport.rebalancing.base import RebalanceContext, Rebalancer

CASH_DUST = 1e-12  # |cash| below this fraction of equity after a rebalance is rounding: 0

#: (returns window (lookback, n), current weights (n,)) -> target weights (n,) summing to 1
AllocateFn = Callable[[pd.DataFrame, np.ndarray], np.ndarray]


@dataclass
class BacktestRun:
    """Raw arrays of one run (the manager turns them into a PortfolioResult)."""

    index: pd.DatetimeIndex
    equity: np.ndarray
    weights: np.ndarray
    costs: np.ndarray
    exposure: np.ndarray
    rebalance_rows: list[int]
    targets: list[np.ndarray]
    turnover: list[float]
    trades: list[dict]
    units: np.ndarray
    cash: float
    skipped: list[tuple[pd.Timestamp, str]]


class _Book:
    """Units, cash and the per-bar records of one run (rows: 0 = the all-cash start)."""

    def __init__(self, values: np.ndarray, start: int, initial_capital: float) -> None:
        self.values = values  # (T, n) closes
        self.start = start  # bar of row 0
        n_rows, n_assets = len(values) - start, values.shape[1]
        self.units, self.cash = np.zeros(n_assets), float(initial_capital)
        self.equity, self.costs = np.empty(n_rows), np.zeros(n_rows)
        self.weights, self.exposure = np.zeros((n_rows, n_assets)), np.zeros(n_rows)
        self.equity[0] = self.cash

    def current_weights(self, row: int) -> tuple[np.ndarray, float, np.ndarray]:
        """(values held (n,), equity, weights (n,)) at ``row``'s close, before trading."""
        held = self.units * self.values[self.start + row]
        value = self.cash + float(held.sum())
        return held, value, held / value

    def hold(self, first: int, stop: int) -> None:
        """Record rows first..stop-1 without trading (vectorized: units and cash constant)."""
        if first >= stop:
            return
        held = self.values[self.start + first : self.start + stop] * self.units
        equity = self.cash + held.sum(axis=1)
        self.equity[first:stop] = equity
        self.weights[first:stop] = held / equity[:, None]
        self.exposure[first:stop] = self.weights[first:stop].sum(axis=1)


def run_backtest(
    prices: pd.DataFrame,
    allocate: AllocateFn,
    rebalancer: Rebalancer,
    lookback: int,
    transaction_cost: float,
    initial_capital: float,
    periods_per_year: int,
    progress: bool | None = None,
    on_infeasible: str = "raise",
) -> BacktestRun:
    """Simulate the portfolio over aligned closes.

    Args:
        prices: (T, n) positive closes, quote currency, ascending DatetimeIndex.
        allocate: returns target weights from a returns window and the current weights.
        rebalancer: decides at each bar whether to trade; scales gross exposure.
        lookback: bars of returns given to ``allocate`` (the first trade is at bar
            ``lookback``; bar ``lookback - 1`` is the all-cash start).
        transaction_cost: cost per unit of traded notional (fraction).
        initial_capital: starting cash, quote currency.
        periods_per_year: bars per year, passed to the rebalancer.
        progress: show a tqdm bar (None: only when attached to a terminal).
        on_infeasible: 'raise' stops at an infeasible rebalance (naming the date); 'hold'
            keeps the current holdings and records the date and reason in ``skipped``.
    """
    values = prices.to_numpy(dtype=float)
    n_bars = len(values)
    if n_bars < lookback + 1:
        raise InvalidInputError(
            f"{n_bars} bars of prices but lookback={lookback} needs at least {lookback + 1}"
        )
    # one float block: slicing windows from it is a view, not a copy per column
    returns = pd.DataFrame(
        values[1:] / values[:-1] - 1.0, index=prices.index[1:], columns=prices.columns
    )
    symbols = list(prices.columns)
    start = lookback - 1
    index = prices.index[start:]
    book = _Book(values, start, initial_capital)
    n_rows = len(index)
    target = None
    rebalance_rows, targets, turnovers, trades = [], [], [], []
    skipped: list[tuple[pd.Timestamp, str]] = []
    schedule = rebalancer.schedule(index)
    # the base policy's exposure is 1.0: skip building its context (a history slice)
    scales_exposure = getattr(rebalancer.exposure, "__func__", None) is not Rebalancer.exposure
    scheduled = None if schedule is None else np.flatnonzero(schedule[1:]) + 1

    def context(row: int, current: np.ndarray, history: bool = False) -> RebalanceContext:
        """What the policy sees at ``row``; ``history`` adds the returns up to the bar."""
        return RebalanceContext(
            timestamp=index[row],
            previous_timestamp=index[row - 1] if row > 1 else None,
            current_weights=current,
            target_weights=target,
            returns_window=returns.iloc[: start + row] if history else None,
            periods_per_year=periods_per_year,
        )

    def next_due(row: int) -> int:
        """The first rebalance row >= ``row`` (n_rows when there is none)."""
        if scheduled is not None:
            i = int(np.searchsorted(scheduled, row))
            return int(scheduled[i]) if i < len(scheduled) else n_rows
        while row < n_rows:
            if rebalancer.should_rebalance(context(row, book.current_weights(row)[2])):
                return row
            row += 1
        return n_rows

    bar_progress = tqdm(
        total=n_rows - 1, disable=None if progress is None else not progress, leave=False
    )
    row = 1
    while row < n_rows:
        due = next_due(row)
        book.hold(row, due)
        bar_progress.update(due - row)
        if due >= n_rows:
            break
        row = due
        bar = start + row
        held, value, current = book.current_weights(row)
        full = None
        try:
            full = np.asarray(allocate(returns.iloc[bar - lookback : bar], current), dtype=float)
        except InfeasibleError as exc:
            if on_infeasible == "raise":
                raise InfeasibleError(f"at {index[row]}: {exc}", exc.conflicting) from exc
            skipped.append((index[row], str(exc)))
        if full is not None:
            target = full * (
                rebalancer.exposure(full, context(row, current, history=True))
                if scales_exposure
                else 1.0
            )
            made, notional = _trade(
                book, row, held, value, target, transaction_cost, index, symbols
            )
            trades += made
            rebalance_rows.append(row)
            targets.append(target)
            turnovers.append(notional / (2.0 * value))
        book.hold(row, row + 1)
        bar_progress.update(1)
        row += 1
    bar_progress.close()
    return BacktestRun(
        index=index,
        equity=book.equity,
        weights=book.weights,
        costs=book.costs,
        exposure=book.exposure,
        rebalance_rows=rebalance_rows,
        targets=targets,
        turnover=turnovers,
        trades=trades,
        units=book.units,
        cash=book.cash,
        skipped=skipped,
    )


def _trade(
    book: _Book,
    row: int,
    held: np.ndarray,
    value: float,
    target: np.ndarray,
    rate: float,
    index: pd.DatetimeIndex,
    symbols: list[str],
) -> tuple[list[dict], float]:
    """Move ``book`` to ``target`` at ``row``'s close, paying costs; return the trade dicts
    and the traded notional (quote currency)."""
    price = book.values[book.start + row]
    after = post_cost_equity(value, held, target, rate)
    new_units = target * after / price
    delta = new_units - book.units
    traded = np.abs(delta) * price
    notional = float(traded.sum())
    cost = rate * notional
    cash = book.cash - float(delta @ price) - cost
    if abs(cash) <= CASH_DUST * value:  # rounding left by a fully invested target
        cash = 0.0
    book.units, book.cash = new_units, cash
    book.costs[row] = cost
    timestamp = index[row]
    moved = np.flatnonzero(traded > 0)
    quantities, prices, values = np.abs(delta[moved]), price[moved], traded[moved]
    made = [
        {
            "timestamp": timestamp,
            "symbol": symbols[i],
            "action": "BUY" if buy else "SELL",
            "quantity": q,
            "price": p,
            "value": v,
            "cost": rate * v,
        }
        for i, buy, q, p, v in zip(
            moved.tolist(),
            (delta[moved] > 0).tolist(),
            quantities.tolist(),
            prices.tolist(),
            values.tolist(),
            strict=True,
        )
    ]
    return made, notional
