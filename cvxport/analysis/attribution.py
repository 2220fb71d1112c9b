"""Return attribution: per-asset contributions linked over time, and active-return statistics.

Periods. A return at timestamp t covers the bar from the previous row of ``weights_history``
to t. ``weights_history`` holds the weights after each bar's trades (fractions of equity,
cash excluded), so the weights held during the bar ending at t are the previous row's. Every
date of ``portfolio_returns`` must be a row of ``weights_history`` other than its first.

Alignment (explicit, never silent). ``benchmark_returns`` and the asset returns must hold a
value at every period of ``portfolio_returns``; their dates before the first period or after
the last are dropped; a date inside that window that is not a period is refused (it would mean
the two series measure different bars), as is any missing or non-finite value, with the dates
named.

Contributions. Per period, ``c_it = w_i,t-1 * r_it`` and the residual ``e_t = r_pt - sum_i c_it``
(transaction costs, cash interest: whatever start-of-period weights times asset returns do not
explain). They are linked with Carino's method: ``k_t = ln(1 + r_pt) / r_pt`` (1 when
``r_pt = 0``), ``k = ln(1 + R) / R`` for the total return ``R = prod(1 + r_pt) - 1``, and the
linked contribution is ``C_i = sum_t c_it k_t / k``. Then, exactly in real arithmetic,
``sum_i C_i + residual = R`` (``residual = sum_t e_t k_t / k``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError
from cvxport.metrics.performance import ZERO_STD_ATOL
from cvxport.periods import infer_periods_per_year, validate_periods_per_year

_SHOW = 3  # dates named in an error message


def _dates(index: pd.Index) -> str:
    shown = ", ".join(str(d) for d in index[:_SHOW])
    return shown + (f" (and {len(index) - _SHOW} more)" if len(index) > _SHOW else "")


def _finite(frame: pd.DataFrame | pd.Series, name: str) -> None:
    values = np.asarray(frame, dtype=float).reshape(len(frame), -1)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        where = "" if isinstance(frame, pd.Series) else f" for {frame.columns[col]!r}"
        raise InvalidInputError(f"{name} is not finite{where} at {frame.index[row]}")


def align_to_periods(data: pd.Series | pd.DataFrame, periods: pd.Index, name: str):
    """Return ``data`` on exactly ``periods`` (see the module docstring for the rule).

    Raises:
        InvalidInputError: periods missing from ``data``, extra dates inside the window, or
            non-finite values, naming the dates.
    """
    if not isinstance(data, (pd.Series, pd.DataFrame)):
        raise InvalidInputError(f"{name} must be a pandas Series or DataFrame")
    if data.index.has_duplicates:
        raise InvalidInputError(
            f"{name} has duplicate dates {_dates(data.index[data.index.duplicated()])}"
        )
    try:
        missing = periods.difference(data.index)
        inside = data.index[(data.index >= periods[0]) & (data.index <= periods[-1])]
    except TypeError as exc:
        raise InvalidInputError(f"{name} dates cannot be compared with the periods: {exc}") from exc
    if len(missing):
        raise InvalidInputError(f"{name} has no value at the periods {_dates(missing)}")
    extra = inside.difference(periods)
    if len(extra):
        raise InvalidInputError(
            f"{name} has dates inside the window {periods[0]} .. {periods[-1]} that are not "
            f"periods of the portfolio returns: {_dates(extra)}"
        )
    aligned = data.loc[periods].astype(float)
    _finite(aligned, name)
    return aligned


def carino_factors(returns: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Return (k_t of shape (T,), k, total return R) of Carino's linking (fractions)."""
    r = np.asarray(returns, dtype=float)
    if np.any(r <= -1):
        raise InvalidInputError("a period return <= -100% cannot be linked (log of <= 0)")
    k_t = np.ones_like(r)
    nonzero = r != 0
    k_t[nonzero] = np.log1p(r[nonzero]) / r[nonzero]
    total = float(np.expm1(np.log1p(r).sum()))
    k = math.log1p(total) / total if total != 0 else 1.0
    return k_t, k, total


def start_weights(weights_history: pd.DataFrame, periods: pd.Index) -> pd.DataFrame:
    """Return (P, n) weights held during each period: the previous row of ``weights_history``."""
    if not isinstance(weights_history, pd.DataFrame) or weights_history.shape[1] == 0:
        raise InvalidInputError("weights_history must be a DataFrame (dates x symbols)")
    if weights_history.index.has_duplicates or not weights_history.index.is_monotonic_increasing:
        raise InvalidInputError("weights_history dates must be unique and increasing")
    unknown = periods.difference(weights_history.index[1:])
    if len(unknown):
        raise InvalidInputError(
            "portfolio_returns has dates that are not rows of weights_history after its first "
            f"(no start-of-period weights): {_dates(unknown)}"
        )
    position = weights_history.index.get_indexer(periods) - 1
    held = weights_history.iloc[position].astype(float)
    held.index = periods
    _finite(held, "weights_history")
    return held


class AttributionAnalyzer:
    """Per-asset return contributions (Carino-linked) and active-return statistics."""

    def calculate(
        self,
        portfolio_returns: pd.Series,
        weights_history: pd.DataFrame,
        benchmark_returns: pd.Series,
        asset_returns: pd.DataFrame | None = None,
        periods_per_year: int | None = None,
    ) -> dict[str, Any]:
        """Attribute the portfolio's return to its assets and compare it with a benchmark.

        Args:
            portfolio_returns: (P,) simple returns per period, fractions (``result.returns``).
            weights_history: (T, n) weights after each bar, fractions of equity.
            benchmark_returns: simple returns per period, fractions, covering every period.
            asset_returns: (>= P, n) simple asset returns; default
                ``weights_history.attrs['asset_returns']``.
            periods_per_year: default ``weights_history.attrs['periods_per_year']``, else
                inferred from the portfolio returns' dates.

        Returns:
            ``return_contribution`` (symbol -> linked contribution, fraction of initial value),
            ``residual`` (costs and cash, linked alike), ``total_return`` (``R``, equal to the
            sum of both), ``benchmark_total_return``; ``active_return`` = mean of
            ``r_p - r_b`` per period x ppy (annual fraction, arithmetic); ``tracking_error`` =
            std(``r_p - r_b``, ddof=1) x sqrt(ppy) (annual fraction); ``information_ratio`` =
            active_return / tracking_error (0.0 when the tracking error is 0); and
            ``n_periods``, ``start``, ``end``, ``periods_per_year``.

        Raises:
            InvalidInputError: missing asset returns, symbols or values, or misaligned dates
                (named).
        """
        if not isinstance(portfolio_returns, pd.Series) or len(portfolio_returns) < 2:
            raise InvalidInputError("portfolio_returns must be a pandas Series of >= 2 returns")
        periods = portfolio_returns.index
        if periods.has_duplicates or not periods.is_monotonic_increasing:
            raise InvalidInputError("portfolio_returns dates must be unique and increasing")
        _finite(portfolio_returns, "portfolio_returns")
        held = start_weights(weights_history, periods)
        if asset_returns is None:
            asset_returns = weights_history.attrs.get("asset_returns")
            if asset_returns is None:
                raise InvalidInputError(
                    "no asset returns: pass asset_returns=... or a weights_history whose "
                    "attrs['asset_returns'] holds them (as a backtest result's does)"
                )
        if not isinstance(asset_returns, pd.DataFrame):
            raise InvalidInputError("asset_returns must be a DataFrame (dates x symbols)")
        missing = [s for s in held.columns if s not in asset_returns.columns]
        if missing:
            raise InvalidInputError(f"asset_returns lacks symbols {missing}")
        if not isinstance(benchmark_returns, pd.Series):
            raise InvalidInputError("benchmark_returns must be a pandas Series")
        assets = align_to_periods(asset_returns[list(held.columns)], periods, "asset_returns")
        bench = align_to_periods(benchmark_returns, periods, "benchmark_returns")
        ppy = periods_per_year or weights_history.attrs.get("periods_per_year")
        ppy = infer_periods_per_year(periods) if ppy is None else validate_periods_per_year(ppy)

        r_p = portfolio_returns.to_numpy(dtype=float)
        per_period = held.to_numpy() * assets.to_numpy()
        residual = r_p - per_period.sum(axis=1)
        k_t, k, total = carino_factors(r_p)
        linked = (k_t[:, None] * per_period).sum(axis=0) / k
        active = r_p - bench.to_numpy()
        mean, std = float(active.mean()), float(active.std(ddof=1))
        tracking = std * math.sqrt(ppy) if std > ZERO_STD_ATOL else 0.0
        active_return = mean * ppy
        return {
            "return_contribution": dict(zip(held.columns, map(float, linked), strict=True)),
            "residual": float((k_t * residual).sum() / k),
            "total_return": total,
            "benchmark_total_return": float(np.prod(1.0 + bench.to_numpy()) - 1.0),
            "active_return": active_return,
            "tracking_error": tracking,
            "information_ratio": active_return / tracking if tracking > 0 else 0.0,
            "n_periods": len(periods),
            "start": periods[0],
            "end": periods[-1],
            "periods_per_year": ppy,
        }
