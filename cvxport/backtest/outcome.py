"""What a backtest adds to its result beyond the curve: the benchmark, the per-rebalance
outcomes, financing and ruin (see ``cvxport.backtest.engine`` for the rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError
from cvxport.metrics.relative import relative_fractions
from cvxport.metrics.report import to_report_units

OUTCOME_COLUMNS = ["outcome", "reason"]


def benchmark_prices(benchmark: Any, data: Any) -> pd.Series | None:
    """Return the benchmark's closes: a symbol of ``data`` (its ``close`` column, or its
    column of a wide frame) or a user's price Series; None without a benchmark."""
    if benchmark is None:
        return None
    if isinstance(benchmark, pd.Series):
        series = benchmark
    elif isinstance(data, Mapping) and benchmark in data:
        frame = data[benchmark]
        if not isinstance(frame, pd.DataFrame) or "close" not in frame.columns:
            raise InvalidInputError(f"benchmark {benchmark!r}: its frame has no 'close' column")
        series = frame["close"]
    elif isinstance(data, pd.DataFrame) and benchmark in data.columns:
        series = data[benchmark]
    else:
        raise InvalidInputError(
            f"PortfolioConfig.benchmark {benchmark!r} is not a symbol of the data ({list(data)})"
        )
    return series.astype(float).rename("benchmark")


def without_benchmark(data: Any, benchmark: Any, symbols: list[str]) -> Any:
    """``data`` without the benchmark symbol's prices when it is not one of ``symbols``."""
    if not isinstance(benchmark, str) or benchmark in symbols:
        return data
    if isinstance(data, Mapping):
        return {s: frame for s, frame in data.items() if s != benchmark}
    if isinstance(data, pd.DataFrame):
        return data.drop(columns=[benchmark], errors="ignore")
    return data


def benchmark_returns(closes: pd.Series, index: pd.DatetimeIndex) -> pd.Series:
    """(T,) simple returns of the benchmark at the dates of ``index`` (over each date's
    previous price in the benchmark; 0 where there is none), like the asset returns.

    Raises:
        InvalidInputError: dates of ``index`` missing from the benchmark, or a price that is
            not finite and positive, naming the date.
    """
    missing = index.difference(closes.index)
    if len(missing):
        raise InvalidInputError(
            f"benchmark has no price at {len(missing)} date(s) of the backtest, first {missing[0]}"
        )
    on_dates = closes.loc[index]
    bad = np.flatnonzero(~(np.isfinite(on_dates.to_numpy()) & (on_dates.to_numpy() > 0)))
    if len(bad):
        raise InvalidInputError(f"benchmark price {on_dates.iloc[bad[0]]!r} at {index[bad[0]]}")
    ordered = closes.sort_index()
    return ordered.pct_change().loc[index].fillna(0.0).rename("benchmark")


def relative_report(
    returns: pd.Series, bench: pd.Series, periods_per_year: int, risk_free_rate: float
) -> dict[str, float]:
    """Alpha, beta, tracking error, information ratio in report units (see metrics.relative)."""
    return to_report_units(
        relative_fractions(returns, bench.loc[returns.index], periods_per_year, risk_free_rate)
    )


def ruined_fractions(equity: pd.Series) -> dict[str, float]:
    """The performance keys of a run that ended at equity <= 0: total return and drawdown
    exact (they may pass -100%), annualized return -100%, the ratios undefined (NaN)."""
    values = equity.to_numpy()
    peak = np.maximum.accumulate(values)
    return {
        "total_return": float(values[-1] / values[0] - 1.0),
        "annualized_return": -1.0,
        "volatility": float("nan"),
        "sharpe_ratio": float("nan"),
        "sortino_ratio": float("nan"),
        "max_drawdown": float(np.min(values / peak - 1.0)) if len(values) else 0.0,
        "calmar_ratio": float("nan"),
    }


def outcomes_frame(outcomes: list[tuple[pd.Timestamp, str, str]]) -> pd.DataFrame:
    """One row per attempted rebalance: outcome ('solved', 'held', 'cash',
    'fallback:<method>') and the reason of a failure ('' when solved)."""
    frame = pd.DataFrame(
        [o[1:] for o in outcomes],
        index=pd.DatetimeIndex([o[0] for o in outcomes], name="timestamp"),
        columns=OUTCOME_COLUMNS,
    )
    return frame
