"""Performance metrics: pure functions of an equity curve or of simple periodic returns.

Every scalar is a fraction (0.05 = 5%) or a plain ratio, never a percent; the spec's report
units are applied in `cvxport.metrics.report`. Conventions:

* ``equity`` is a ``pd.Series`` of strictly positive, finite values (any currency unit; every
  metric is unchanged when it is scaled by a positive constant), indexed by time.
* ``returns`` is a ``pd.Series`` of finite simple returns per period, ``r_t = E_t / E_{t-1} - 1``.
* ``periods_per_year`` is the annualization factor (252 business days, 365 for 24/7 data; see
  `cvxport.periods.infer_periods_per_year`).
* ``risk_free_rate`` is an annual fraction, converted per period as
  ``(1 + risk_free_rate) ** (1 / periods_per_year) - 1``.
* A per-period standard deviation at most `ZERO_STD_ATOL` is float rounding of a constant
  series: `volatility` reports 0.0 and the ratios divided by it are defined as 0.0, never
  ``inf`` or ``nan``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError
from cvxport.periods import per_period_rate, validate_periods_per_year

ZERO_STD_ATOL = 1e-12
"""Per-period standard deviations at most this (a fraction) count as zero."""


def _first_bad(series: pd.Series, mask: np.ndarray) -> tuple[object, float]:
    """Label (timestamp) and value of the first True entry of ``mask``."""
    position = int(np.flatnonzero(mask)[0])
    return series.index[position], float(series.iloc[position])


def _check_series(values: object, name: str, *, min_length: int = 1) -> pd.Series:
    """Return ``values`` as a float Series after checking type, length and finiteness."""
    if not isinstance(values, pd.Series):
        raise InvalidInputError(f"{name} must be a pandas Series, got {type(values).__name__}")
    if len(values) < min_length:
        raise InvalidInputError(f"{name} needs at least {min_length} values, got {len(values)}")
    try:
        as_float = values.astype(float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numeric, got dtype {values.dtype}") from exc
    not_finite = ~np.isfinite(as_float.to_numpy())
    if not_finite.any():
        label, value = _first_bad(as_float, not_finite)
        raise InvalidInputError(f"{name} is {value} (not finite) at {label}")
    return as_float


def _check_equity(equity: object, *, min_length: int = 1) -> pd.Series:
    checked = _check_series(equity, "equity", min_length=min_length)
    not_positive = checked.to_numpy() <= 0
    if not_positive.any():
        label, value = _first_bad(checked, not_positive)
        raise InvalidInputError(f"equity must be positive; {value!r} at {label}")
    return checked


def _check_risk_free_rate(risk_free_rate: float) -> float:
    if isinstance(risk_free_rate, bool) or not isinstance(risk_free_rate, numbers.Real):
        raise InvalidInputError(f"risk_free_rate must be a number, got {risk_free_rate!r}")
    if not math.isfinite(risk_free_rate) or risk_free_rate <= -1:
        raise InvalidInputError(
            f"risk_free_rate must be a finite annual fraction > -1, got {risk_free_rate!r}"
        )
    return float(risk_free_rate)


def _std(values: np.ndarray, ddof: int) -> float:
    std = float(np.std(values, ddof=ddof))
    return 0.0 if std <= ZERO_STD_ATOL else std


def _excess_returns(returns: pd.Series, periods_per_year: int, risk_free_rate: float) -> np.ndarray:
    rate = _check_risk_free_rate(risk_free_rate)
    return returns.to_numpy() - per_period_rate(rate, periods_per_year)


def simple_returns(equity: pd.Series) -> pd.Series:
    """Simple returns per period of an equity curve, fractions.

    Args:
        equity: Positive equity values, shape (T,), T >= 2.

    Returns:
        ``E_t / E_{t-1} - 1``, shape (T - 1,), indexed by the later timestamp of each pair.
    """
    checked = _check_equity(equity, min_length=2)
    values = checked.to_numpy()
    return pd.Series(values[1:] / values[:-1] - 1.0, index=checked.index[1:], name="returns")


def total_return(equity: pd.Series) -> float:
    """Total return over the whole curve, a fraction: ``E_last / E_first - 1``.

    Args:
        equity: Positive equity values, shape (T,), T >= 2.
    """
    values = _check_equity(equity, min_length=2).to_numpy()
    return float(values[-1] / values[0] - 1.0)


def annualized_return(equity: pd.Series, periods_per_year: int) -> float:
    """Compound annual growth rate (CAGR), an annual fraction.

    The curve spans ``T - 1`` periods, i.e. ``(T - 1) / periods_per_year`` years, so
    ``CAGR = (E_last / E_first) ** (periods_per_year / (T - 1)) - 1``.

    Args:
        equity: Positive equity values, shape (T,), T >= 2.
        periods_per_year: Periods per year of the curve's spacing.

    Raises:
        InvalidInputError: On invalid inputs, or when the CAGR overflows a float (a large
            growth over a tiny fraction of a year).
    """
    ppy = validate_periods_per_year(periods_per_year)
    values = _check_equity(equity, min_length=2).to_numpy()
    growth = float(values[-1] / values[0])
    exponent = ppy / (len(values) - 1)
    try:
        return growth**exponent - 1.0
    except OverflowError as exc:
        raise InvalidInputError(
            f"equity growth {growth!r} over {1 / exponent!r} years overflows annualized_return"
        ) from exc


def volatility(returns: pd.Series, periods_per_year: int) -> float:
    """Annualized volatility, an annual fraction: sample std (ddof=1) * sqrt(periods_per_year).

    A per-period std at most `ZERO_STD_ATOL` is reported as exactly 0.0.

    Args:
        returns: Simple returns per period, shape (T,), T >= 2.
        periods_per_year: Periods per year of the returns.
    """
    ppy = validate_periods_per_year(periods_per_year)
    checked = _check_series(returns, "returns", min_length=2)
    return _std(checked.to_numpy(), ddof=1) * math.sqrt(ppy)


def sharpe_ratio(returns: pd.Series, periods_per_year: int, risk_free_rate: float = 0.0) -> float:
    """Annualized Sharpe ratio, a plain ratio: mean(excess) / std(excess, ddof=1) * sqrt(ppy).

    Excess returns subtract the per-period risk-free rate. When the per-period std is zero
    (at most `ZERO_STD_ATOL`) the ratio is defined as 0.0, whatever the mean.

    Args:
        returns: Simple returns per period, shape (T,), T >= 2.
        periods_per_year: Periods per year of the returns.
        risk_free_rate: Annual risk-free rate, a fraction > -1.
    """
    ppy = validate_periods_per_year(periods_per_year)
    checked = _check_series(returns, "returns", min_length=2)
    excess = _excess_returns(checked, ppy, risk_free_rate)
    std = _std(excess, ddof=1)
    if std == 0.0:
        return 0.0
    return float(np.mean(excess) / std * math.sqrt(ppy))


def downside_deviation(
    returns: pd.Series, periods_per_year: int, risk_free_rate: float = 0.0
) -> float:
    """Annualized downside deviation, an annual fraction.

    ``sqrt(mean(min(excess, 0) ** 2)) * sqrt(periods_per_year)``, the mean taken over all
    periods (not only the losing ones). At most `ZERO_STD_ATOL` per period is reported as 0.0.

    Args:
        returns: Simple returns per period, shape (T,), T >= 1.
        periods_per_year: Periods per year of the returns.
        risk_free_rate: Annual risk-free rate, a fraction > -1.
    """
    ppy = validate_periods_per_year(periods_per_year)
    checked = _check_series(returns, "returns")
    excess = _excess_returns(checked, ppy, risk_free_rate)
    return _downside(excess) * math.sqrt(ppy)


def _downside(excess: np.ndarray) -> float:
    deviation = float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)))
    return 0.0 if deviation <= ZERO_STD_ATOL else deviation


def sortino_ratio(returns: pd.Series, periods_per_year: int, risk_free_rate: float = 0.0) -> float:
    """Annualized Sortino ratio, a plain ratio: mean(excess) / downside deviation * sqrt(ppy).

    The downside deviation is per period, as in `downside_deviation`. When it is zero (no
    period below the risk-free rate) the ratio is defined as 0.0, never ``inf``.

    Args:
        returns: Simple returns per period, shape (T,), T >= 1.
        periods_per_year: Periods per year of the returns.
        risk_free_rate: Annual risk-free rate, a fraction > -1.
    """
    ppy = validate_periods_per_year(periods_per_year)
    checked = _check_series(returns, "returns")
    excess = _excess_returns(checked, ppy, risk_free_rate)
    deviation = _downside(excess)
    if deviation == 0.0:
        return 0.0
    return float(np.mean(excess) / deviation * math.sqrt(ppy))


def drawdown(equity: pd.Series) -> pd.Series:
    """Drawdown from the running peak, fractions <= 0: ``E_t / max_{s <= t} E_s - 1``.

    Args:
        equity: Positive equity values, shape (T,), T >= 1.

    Returns:
        Drawdown, shape (T,), same index, each value in (-1, 0].
    """
    checked = _check_equity(equity)
    values = checked.to_numpy()
    return pd.Series(
        values / np.maximum.accumulate(values) - 1.0, index=checked.index, name="drawdown"
    )


def max_drawdown(equity: pd.Series) -> float:
    """Maximum drawdown, a NEGATIVE fraction (-0.25 is a 25% fall from a peak) or 0.0.

    Args:
        equity: Positive equity values, shape (T,), T >= 1.
    """
    return float(drawdown(equity).min())


def calmar_ratio(equity: pd.Series, periods_per_year: int) -> float:
    """Calmar ratio, a plain ratio: ``annualized_return / |max_drawdown|``.

    Defined as 0.0 when the curve never falls below a previous peak (max drawdown 0).

    Args:
        equity: Positive equity values, shape (T,), T >= 2.
        periods_per_year: Periods per year of the curve's spacing.
    """
    cagr = annualized_return(equity, periods_per_year)
    worst = max_drawdown(equity)
    if worst == 0.0:
        return 0.0
    return cagr / abs(worst)


def rebalance_turnover(weights_before: pd.Series, weights_after: pd.Series) -> float:
    """One-way turnover of one rebalance, a fraction of NAV: ``sum |w_after - w_before| / 2``.

    One-way means buying 10% of NAV of one asset with the proceeds of selling 10% of another
    is a turnover of 0.10, not 0.20. The weights are aligned by symbol; a symbol present on
    one side only has weight 0 on the other (a full entry or exit).

    Args:
        weights_before: Weights before trading, fractions of NAV, indexed by symbol.
        weights_after: Weights after trading, fractions of NAV, indexed by symbol.
    """
    before = _check_series(weights_before, "weights_before")
    after = _check_series(weights_after, "weights_after")
    for name, weights in (("weights_before", before), ("weights_after", after)):
        if weights.index.has_duplicates:
            duplicated = list(weights.index[weights.index.duplicated()].unique())
            raise InvalidInputError(f"{name} has duplicate symbols {duplicated}")
    before, after = before.align(after, fill_value=0.0)
    return float(np.abs(after.to_numpy() - before.to_numpy()).sum() / 2.0)


def annualized_turnover(turnover_per_rebalance: pd.Series, n_years: float) -> float:
    """Annualized one-way turnover, a fraction of NAV per year: ``sum(turnover) / n_years``.

    Args:
        turnover_per_rebalance: One-way turnover of each rebalance (see
            `rebalance_turnover`), fractions >= 0, shape (K,). Empty means no rebalance and
            gives 0.0.
        n_years: Length of the period the rebalances cover, in years, > 0.
    """
    checked = _check_series(turnover_per_rebalance, "turnover_per_rebalance", min_length=0)
    negative = checked.to_numpy() < 0
    if negative.any():
        label, value = _first_bad(checked, negative)
        raise InvalidInputError(f"turnover_per_rebalance must be >= 0; {value!r} at {label}")
    if isinstance(n_years, bool) or not isinstance(n_years, numbers.Real):
        raise InvalidInputError(f"n_years must be a positive number, got {n_years!r}")
    if not math.isfinite(n_years) or n_years <= 0:
        raise InvalidInputError(f"n_years must be a positive finite number, got {n_years!r}")
    return float(checked.sum() / n_years)
