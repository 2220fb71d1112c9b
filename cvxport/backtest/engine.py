"""The backtest loop: holdings in units and cash, trades at the close, costs on notional.

Timing (no look-ahead): at bar t the target uses returns up to and including t (closes known
at t's close) and trades fill at t's close. Between rebalances the holdings' units stay fixed,
so weights drift with prices. Equity at bar t is measured after t's trades and costs, so
equity_t - equity_{t-1} = units_{t-1} . (p_t - p_{t-1}) - cost_t exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

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
    n_bars, n_assets = values.shape
    if n_bars < lookback + 1:
        raise InvalidInputError(
            f"{n_bars} bars of prices but lookback={lookback} needs at least {lookback + 1}"
        )
    returns = prices.pct_change().iloc[1:]
    symbols = list(prices.columns)
    start = lookback - 1
    index = prices.index[start:]
    units, cash = np.zeros(n_assets), float(initial_capital)
    n_rows = n_bars - start
    equity, costs = np.empty(n_rows), np.zeros(n_rows)
    weights, exposure = np.zeros((n_rows, n_assets)), np.zeros(n_rows)
    equity[0] = cash
    target = None
    rebalance_rows, targets, turnovers, trades = [], [], [], []
    skipped: list[tuple[pd.Timestamp, str]] = []
    # a calendar is known in advance: one vectorized pass instead of a context per bar
    schedule = rebalancer.schedule(index)
    bars = tqdm(range(1, n_rows), disable=None if progress is None else not progress, leave=False)
    for row in bars:
        bar = start + row
        price = values[bar]
        held = units * price
        value = cash + float(held.sum())
        current = held / value
        due = None if schedule is None else bool(schedule[row])
        if due is not False:
            ctx = RebalanceContext(
                timestamp=index[row],
                previous_timestamp=index[row - 1] if row > 1 else None,
                current_weights=current,
                target_weights=target,
                periods_per_year=periods_per_year,
            )
            due = due or rebalancer.should_rebalance(ctx)
        full = None
        if due:
            window = returns.iloc[bar - lookback : bar]
            try:
                full = np.asarray(allocate(window, current), dtype=float)
            except InfeasibleError as exc:
                if on_infeasible == "raise":
                    raise InfeasibleError(f"at {index[row]}: {exc}", exc.conflicting) from exc
                skipped.append((index[row], str(exc)))
        if full is not None:
            ctx_window = replace(ctx, returns_window=returns.iloc[:bar])
            gross = rebalancer.exposure(full, ctx_window)
            target = full * gross
            after = post_cost_equity(value, held, target, transaction_cost)
            new_units = target * after / price
            delta = new_units - units
            traded = np.abs(delta) * price
            cost = transaction_cost * float(traded.sum())
            cash = cash - float(delta @ price) - cost
            if abs(cash) <= CASH_DUST * value:  # rounding left by a fully invested target
                cash = 0.0
            units = new_units
            costs[row] = cost
            rebalance_rows.append(row)
            targets.append(target)
            turnovers.append(float(traded.sum()) / (2.0 * value))
            for i in np.nonzero(traded > 0)[0]:
                trades.append(
                    {
                        "timestamp": index[row],
                        "symbol": symbols[i],
                        "action": "BUY" if delta[i] > 0 else "SELL",
                        "quantity": float(abs(delta[i])),
                        "price": float(price[i]),
                        "value": float(traded[i]),
                        "cost": transaction_cost * float(traded[i]),
                    }
                )
        held = units * price
        equity[row] = cash + float(held.sum())
        weights[row] = held / equity[row]
        exposure[row] = float(weights[row].sum())
    return BacktestRun(
        index=index,
        equity=equity,
        weights=weights,
        costs=costs,
        exposure=exposure,
        rebalance_rows=rebalance_rows,
        targets=targets,
        turnover=turnovers,
        trades=trades,
        units=units,
        cash=cash,
        skipped=skipped,
    )
