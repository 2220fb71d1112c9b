"""Walk-forward selection: choose a config on a training window by a named metric, hold it
over the next test window, roll forward; stitch the test windows' equity.

No look-ahead: fold k's choice sees only bars before its test window (the training sweep
is run on data cut at the training window's last bar), and its test backtest is cut at the
test window's last bar and begins ``lookback`` bars earlier, so its first trade is at the
test window's first bar with the returns known then. Each test window starts from cash at
the previous window's final equity: the switch pays the full cost of entering the chosen
portfolio (a conservative simplification: holdings are not carried across windows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cvxport.config import PortfolioConfig
from cvxport.data.alignment import align_prices
from cvxport.errors import InvalidInputError
from cvxport.manager import PortfolioManager
from cvxport.metrics.report import performance_report
from cvxport.periods import infer_periods_per_year
from cvxport.research.grid import Grid, configure, expand_grid
from cvxport.research.runner import data_for
from cvxport.research.sweep import run_sweep


@dataclass
class WalkForwardResult:
    """The stitched out-of-sample run and the choice made at each fold.

    Attributes:
        equity: stitched out-of-sample equity, quote currency; its first value is the
            initial capital at the bar before the first test window.
        returns: simple returns of ``equity`` (fractions).
        folds: one row per fold: train_start, train_end, test_start, test_end, the chosen
            ``run`` (grid order; -1 when no run of the training sweep succeeded: that test
            window is held in cash), ``score`` (the training metric of the choice) and the
            chosen parameters.
        sweeps: the training sweep table of each fold.
        metrics: the spec's performance report of ``equity`` (report units).
    """

    equity: pd.Series
    returns: pd.Series
    folds: pd.DataFrame
    sweeps: list[pd.DataFrame]
    metrics: dict[str, float]


def _cut(data: Any, start: pd.Timestamp, end: pd.Timestamp) -> Any:
    if isinstance(data, Mapping):
        return {s: frame.loc[start:end] for s, frame in data.items()}
    return data.loc[start:end]


def walk_forward(
    base: PortfolioConfig,
    grid: Grid,
    data: Mapping[str, pd.DataFrame] | pd.DataFrame,
    *,
    train: int,
    test: int,
    metric: str = "sharpe_ratio",
    maximize: bool = True,
    market_caps: pd.DataFrame | None = None,
    **sweep_options: Any,
) -> WalkForwardResult:
    """Roll a training window of ``train`` bars and a test window of ``test`` bars.

    Args:
        base, grid, data, market_caps: as for ``run_sweep``; every run trades
            ``base.symbols`` (the folds are cut on their common bars).
        train: bars per training window (each config is backtested over it, its lookback
            included, so ``train`` must exceed every lookback).
        test: bars per test window (the last one may be shorter).
        metric: the key of ``PortfolioResult.metrics`` that ranks the configs.
        maximize: True to choose the largest ``metric`` (False: smallest); ties go to the
            earliest run of the grid.
        sweep_options: ``backend``, ``n_jobs``, ``client``, ``progress`` of ``run_sweep``.

    Raises:
        InvalidInputError: bad window lengths, fewer bars than one fold, an unknown metric.
    """
    for name, value in (("train", train), ("test", test)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise InvalidInputError(f"walk_forward {name} must be an integer >= 2, got {value!r}")
    runs = expand_grid(grid, base)
    for run, params in enumerate(runs):
        needed = _lookback(base, params)
        if needed is not None and needed >= train:
            raise InvalidInputError(
                f"walk_forward train={train} bars is not longer than the lookback {needed} of "
                f"run {run} ({params}): that config could never be evaluated"
            )
    dates = align_prices(data_for(data, base), base.symbols, base.max_forward_fill).prices.index
    if len(dates) < train + 1:
        raise InvalidInputError(
            f"walk_forward needs more than train={train} bars, the data has {len(dates)}"
        )
    ppy = base.periods_per_year or infer_periods_per_year(dates)
    capital, folds, sweeps = base.initial_capital, [], []
    pieces = [pd.Series([capital], index=[dates[train - 1]])]
    for first in range(0, len(dates) - train, test):
        train_dates = dates[first : first + train]
        test_dates = dates[first + train : first + train + test]
        table = run_sweep(base, runs, _cut(data, train_dates[0], train_dates[-1]),
                          market_caps=market_caps, **sweep_options)  # fmt: skip
        sweeps.append(table)
        run, score = _choose(table, metric, maximize)
        fold = {"train_start": train_dates[0], "train_end": train_dates[-1],
                "test_start": test_dates[0], "test_end": test_dates[-1], "run": run,
                "score": score}  # fmt: skip
        if run < 0:
            growth = pd.Series(1.0, index=test_dates)
        else:
            fold.update(runs[run])
            growth = _test_growth(base, runs[run], data, dates, first + train, test_dates,
                                  market_caps)  # fmt: skip
        pieces.append(capital * growth)
        capital = float(capital * growth.iloc[-1])
        folds.append(fold)
    equity = pd.concat(pieces).rename("equity")
    equity.index.name = "timestamp"
    returns = equity.pct_change().iloc[1:].rename("returns")
    metrics = performance_report(equity, ppy, base.risk_free_rate) if len(equity) > 2 else {}
    return WalkForwardResult(equity, returns, pd.DataFrame(folds), sweeps, metrics)


def _choose(table: pd.DataFrame, metric: str, maximize: bool) -> tuple[int, float]:
    """The best run by ``metric`` among successful runs, and its value; (-1, nan) if none."""
    ok = table[table["status"] == "ok"]
    if len(ok) and metric not in ok.columns:
        numeric = [c for c in ok.columns if pd.api.types.is_float_dtype(ok[c])]
        raise InvalidInputError(
            f"walk_forward metric {metric!r} is not a metric; use one of {numeric}"
        )
    scores = ok[metric].dropna() if len(ok) else pd.Series(dtype=float)
    if scores.empty:
        return -1, float("nan")
    best = scores.idxmax() if maximize else scores.idxmin()
    return int(best), float(scores.loc[best])


def _lookback(base: PortfolioConfig, params: Mapping[str, Any]) -> int | None:
    """Bars of history a run needs before its first trade (None for an invalid config,
    which its training sweep reports as an error row)."""
    try:
        config = configure(base, params)
    except Exception:
        return None
    rebalancer = PortfolioManager(config).rebalancer()
    return max(config.lookback, getattr(rebalancer, "lookback", 0))


def _test_growth(base, params, data, dates, start_bar, test_dates, market_caps) -> pd.Series:
    """Equity of the chosen config over ``test_dates`` divided by its starting capital."""
    config = configure(base, params)
    manager = PortfolioManager(config)
    lookback = _lookback(base, params)
    if market_caps is not None and config.allocation_method.value == "market_cap_weight":
        manager.set_market_caps(market_caps[list(config.symbols)])
    window = _cut(data_for(data, config), dates[start_bar - lookback], test_dates[-1])
    result = manager.backtest(window, progress=False)
    equity = result.equity_curve
    if not np.array_equal(equity.index[1:], test_dates[: len(equity) - 1]):
        raise InvalidInputError(f"the test backtest's bars do not match the fold {test_dates[0]}")
    growth = equity.iloc[1:] / equity.iloc[0]
    if result.outcome == "ruined":  # everything sold: the rest of the window is the cash left
        growth = growth.reindex(test_dates, method="ffill")
    return growth
