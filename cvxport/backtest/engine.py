"""The backtest loop: holdings in units and cash, trades at the close, costs on notional.

Timing (no look-ahead): at bar t the target uses returns up to and including t (closes known
at t's close) and trades fill at t's close. Between rebalances the holdings' units stay fixed,
so weights drift with prices. Equity at bar t is measured after t's trades and costs, so
equity_t - equity_{t-1} = units_{t-1} . (p_t - p_{t-1}) - cost_t exactly.

The loop visits rebalance bars only: the bars between two trades are filled in one vectorized
step (units are constant there; negative cash grows at the borrow rate). A policy with a
schedule (calendar) names its bars in advance; any other policy is asked at every bar with the
weights held at that bar's close.

Financing and ruin (``RunPolicy``): negative cash pays ``borrow_rate`` (annual, compounded per
bar, charged at each bar's close on the cash held over the bar). With ``exposure_cap``, a bar
whose gross exposure sum|w| drifts above the cap is traded back to it at that bar's close
(weights scaled down in proportion, costs paid). When equity reaches zero or less at a close
the run is ruined: every position is sold at that close and the run ends there, outcome
``'ruined'`` (cash then holds the final, non-positive equity).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from cvxport.backtest.sizer import target_units
from cvxport.errors import (
    InfeasibleError,
    InvalidInputError,
    SolverError,
    UnsupportedProblemError,
)
from cvxport.rebalancing.base import RebalanceContext, Rebalancer

CASH_DUST = 1e-12  # |cash| below this fraction of equity after a rebalance is rounding: 0
CAP_SLACK = 1e-9  # relative excess of gross exposure over the cap taken as rounding

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
    financing: np.ndarray | None = None
    outcomes: list[tuple[pd.Timestamp, str, str]] | None = None
    deleverage_rows: list[int] | None = None
    ruined_row: int | None = None


@dataclass(frozen=True)
class RunPolicy:
    """What the engine does when a rebalance fails, cash is borrowed or exposure drifts.

    Attributes:
        on_infeasible: at a rebalance whose allocation raises ``InfeasibleError`` or
            ``SolverError``: 'raise' stops (naming the date), 'hold' keeps the holdings,
            'cash' sells everything, 'fallback' uses ``fallback`` (when that fails too, the
            holdings are kept). Each rebalance's outcome is recorded.
        fallback: the allocation used by 'fallback' (e.g. a minimum-variance allocator).
        fallback_name: its name in the outcomes ('fallback:<name>').
        borrow_rate: annual rate (fraction) paid on negative cash.
        exposure_cap: largest gross exposure sum|w| held between rebalances; None: no cap.
    """

    on_infeasible: str = "raise"
    fallback: AllocateFn | None = None
    fallback_name: str = "fallback"
    borrow_rate: float = 0.0
    exposure_cap: float | None = None


class _Book:
    """Units, cash and the per-bar records of one run (rows: 0 = the all-cash start)."""

    def __init__(
        self, values: np.ndarray, start: int, initial_capital: float, growth: float = 1.0
    ) -> None:
        self.values = values  # (T, n) closes
        self.start = start  # bar of row 0
        self.growth = growth  # per-bar growth factor of negative cash (1 + borrow rate)
        n_rows, n_assets = len(values) - start, values.shape[1]
        self.units, self.cash = np.zeros(n_assets), float(initial_capital)
        self.equity, self.costs = np.empty(n_rows), np.zeros(n_rows)
        self.financing, self.cash_rows = np.zeros(n_rows), np.zeros(n_rows)
        self.weights, self.exposure = np.zeros((n_rows, n_assets)), np.zeros(n_rows)
        self.equity[0] = self.cash_rows[0] = self.cash
        self.cash_row = 0  # the row at whose close ``cash`` was measured

    def cash_at(self, row: int) -> float:
        """Cash at ``row``'s close before trading (negative cash grows by ``growth``/bar)."""
        if self.cash < 0 and self.growth != 1.0:
            return self.cash * self.growth ** (row - self.cash_row)
        return self.cash

    def current_weights(self, row: int) -> tuple[np.ndarray, float, np.ndarray]:
        """(values held (n,), equity, weights (n,)) at ``row``'s close, before trading."""
        held = self.units * self.values[self.start + row]
        value = self.cash_at(row) + float(held.sum())
        return held, value, held / value

    def hold(self, first: int, stop: int, accrue: bool = True) -> None:
        """Record rows first..stop-1 without trading (vectorized: units constant; negative
        cash grows by ``growth`` per bar when ``accrue``)."""
        if first >= stop:
            return
        held = self.values[self.start + first : self.start + stop] * self.units
        cash: float | np.ndarray = self.cash
        if accrue and self.cash < 0 and self.growth != 1.0:
            steps = np.arange(first - self.cash_row, stop - self.cash_row)
            cash = self.cash * self.growth**steps
            previous = self.cash * self.growth ** (steps[0] - 1)
            self.financing[first:stop] = -np.diff(cash, prepend=previous)
            self.cash, self.cash_row = float(cash[-1]), stop - 1
        elif accrue:
            self.cash_row = stop - 1
        self.cash_rows[first:stop] = cash
        equity = cash + held.sum(axis=1)
        self.equity[first:stop] = equity
        with np.errstate(divide="ignore", invalid="ignore"):  # equity 0: ruin, caught by caller
            self.weights[first:stop] = held / equity[:, None]
        self.exposure[first:stop] = self.weights[first:stop].sum(axis=1)

    def rewind(self, row: int) -> None:
        """Make ``row``'s recorded cash the current cash (rows after it are recomputed)."""
        self.cash, self.cash_row = float(self.cash_rows[row]), row

    def first_event(self, first: int, stop: int, cap: float | None, due: int) -> tuple[str, int]:
        """The earliest of ('ruin', row) with equity <= 0 and ('cap', row) with sum|w| above
        ``cap`` (before ``due``) among rows first..stop-1; ('', stop) when neither occurs."""
        ruin = np.flatnonzero(self.equity[first:stop] <= 0)
        ruin_row = first + int(ruin[0]) if len(ruin) else stop
        cap_row = stop
        if cap is not None:
            gross = np.abs(self.weights[first : min(stop, due)]).sum(axis=1)
            over = np.flatnonzero(gross > cap * (1 + CAP_SLACK))
            cap_row = first + int(over[0]) if len(over) else stop
        if ruin_row < stop and ruin_row <= cap_row:
            return "ruin", ruin_row
        return ("cap", cap_row) if cap_row < stop else ("", stop)


def run_backtest(
    prices: pd.DataFrame,
    allocate: AllocateFn,
    rebalancer: Rebalancer,
    lookback: int,
    transaction_cost: float | np.ndarray,
    initial_capital: float,
    periods_per_year: int,
    progress: bool | None = None,
    on_infeasible: str = "raise",
    policy: RunPolicy | None = None,
) -> BacktestRun:
    """Simulate the portfolio over aligned closes.

    Args:
        prices: (T, n) positive closes, quote currency, ascending DatetimeIndex.
        allocate: returns target weights from a returns window and the current weights.
        rebalancer: decides at each bar whether to trade; scales gross exposure.
        lookback: bars of returns given to ``allocate`` (the first trade is at bar
            ``lookback``; bar ``lookback - 1`` is the all-cash start).
        transaction_cost: cost per unit of traded notional (fraction), or (n,) per symbol.
        initial_capital: starting cash, quote currency.
        periods_per_year: bars per year, passed to the rebalancer.
        progress: show a tqdm bar (None: only when attached to a terminal).
        on_infeasible: 'raise' stops at an infeasible rebalance (naming the date); 'hold'
            keeps the current holdings and records the date and reason in ``skipped``.
            Ignored when ``policy`` is given (see ``RunPolicy``).
        policy: fallbacks, borrow rate and exposure cap (default: ``RunPolicy(on_infeasible)``).
    """
    policy = policy or RunPolicy(on_infeasible)
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
    growth = (1.0 + policy.borrow_rate) ** (1.0 / periods_per_year)
    book = _Book(values, start, initial_capital, growth)
    n_rows = len(index)
    target = None
    rebalance_rows, targets, turnovers, trades = [], [], [], []
    skipped: list[tuple[pd.Timestamp, str]] = []
    outcomes: list[tuple[pd.Timestamp, str, str]] = []
    deleverage_rows: list[int] = []
    ruined_row = None
    schedule = rebalancer.schedule(index)
    # the base policy's exposure is 1.0: skip building its context (a history slice)
    scales_exposure = getattr(rebalancer.exposure, "__func__", None) is not Rebalancer.exposure
    scheduled = None if schedule is None else np.flatnonzero(schedule[1:]) + 1
    cap = policy.exposure_cap

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

    def decide(row: int, window: pd.DataFrame, current: np.ndarray) -> np.ndarray | None:
        """Target weights (before exposure) at ``row``, or None to hold; outcome recorded."""
        try:
            full = np.asarray(allocate(window, current), dtype=float)
            outcomes.append((index[row], "solved", ""))
            return full
        except UnsupportedProblemError:
            raise  # the configuration names a backend the method's problem is not for
        except (InfeasibleError, SolverError) as exc:
            if policy.on_infeasible == "raise":
                raise _dated(exc, index[row]) from exc
            reason = f"{type(exc).__name__}: {exc}"
        if policy.on_infeasible == "cash":
            outcomes.append((index[row], "cash", reason))
            return np.zeros(len(symbols))
        if policy.on_infeasible == "fallback" and policy.fallback is not None:
            try:
                full = np.asarray(policy.fallback(window, current), dtype=float)
                outcomes.append((index[row], f"fallback:{policy.fallback_name}", reason))
                return full
            except UnsupportedProblemError:
                raise
            except (InfeasibleError, SolverError) as exc:
                reason += f"; fallback {policy.fallback_name}: {type(exc).__name__}: {exc}"
        outcomes.append((index[row], "held", reason))
        skipped.append((index[row], reason.split(": ", 1)[1]))
        return None

    def trade(row: int, target_weights: np.ndarray) -> float:
        """Trade to ``target_weights`` at ``row``; record it; return the one-way turnover."""
        held, value, _ = book.current_weights(row)
        made, notional = _trade(
            book, row, held, value, target_weights, transaction_cost, index, symbols
        )
        trades.extend(made)
        book.hold(row, row + 1, accrue=False)
        return notional / (2.0 * value)

    bar_progress = tqdm(
        total=n_rows - 1, disable=None if progress is None else not progress, leave=False
    )
    row = 1
    while row < n_rows:
        due = next_due(row)
        stop = min(due + 1, n_rows)
        book.hold(row, stop)
        kind, event = book.first_event(row, stop, cap, due)
        if kind:
            book.rewind(event)
            bar_progress.update(event + 1 - row)
            if kind == "ruin":  # sell everything at this close and stop
                trade(event, np.zeros(len(symbols)))
                ruined_row = event
                break
            _, _, current = book.current_weights(event)
            trade(event, current * (cap / np.abs(current).sum()))
            deleverage_rows.append(event)
            row = event + 1
            continue
        bar_progress.update(stop - row)
        if due >= n_rows:
            break
        row = due
        bar = start + row
        current = book.current_weights(row)[2]
        full = decide(row, returns.iloc[bar - lookback : bar], current)
        if full is not None:
            scaled = scales_exposure and full.any()
            target = full * (
                rebalancer.exposure(full, context(row, current, history=True)) if scaled else 1.0
            )
            if cap is not None and np.abs(target).sum() > cap:
                target = target * (cap / np.abs(target).sum())
            turnovers.append(trade(row, target))
            rebalance_rows.append(row)
            targets.append(target)
        row += 1
    bar_progress.close()
    end = n_rows if ruined_row is None else ruined_row + 1
    return BacktestRun(
        index=index[:end],
        equity=book.equity[:end],
        weights=book.weights[:end],
        costs=book.costs[:end],
        exposure=book.exposure[:end],
        rebalance_rows=rebalance_rows,
        targets=targets,
        turnover=turnovers,
        trades=trades,
        units=book.units,
        cash=book.cash,
        skipped=skipped,
        financing=book.financing[:end],
        outcomes=outcomes,
        deleverage_rows=deleverage_rows,
        ruined_row=ruined_row,
    )


def _dated(exc: InfeasibleError | SolverError, when: pd.Timestamp) -> Exception:
    """The same error with the rebalance date in front of its message."""
    if isinstance(exc, InfeasibleError):
        return InfeasibleError(f"at {when}: {exc}", exc.conflicting)
    return SolverError(f"at {when}: {exc}", exc.solver, exc.status)


def _trade(
    book: _Book,
    row: int,
    held: np.ndarray,
    value: float,
    target: np.ndarray,
    rate: float | np.ndarray,
    index: pd.DatetimeIndex,
    symbols: list[str],
) -> tuple[list[dict], float]:
    """Move ``book`` to ``target`` at ``row``'s close, paying costs; return the trade dicts
    and the traded notional (quote currency)."""
    price = book.values[book.start + row]
    new_units = target_units(value, held, target, rate, price)
    delta = new_units - book.units
    traded = np.abs(delta) * price
    notional = float(traded.sum())
    per_symbol = np.ndim(rate) > 0  # e.g. 0 for a cash asset
    cost = float(rate @ traded) if per_symbol else rate * notional
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
            "cost": r * v,
        }
        for i, buy, q, p, v, r in zip(
            moved.tolist(),
            (delta[moved] > 0).tolist(),
            quantities.tolist(),
            prices.tolist(),
            values.tolist(),
            rate[moved].tolist() if per_symbol else [rate] * len(moved),
            strict=True,
        )
    ]
    return made, notional
