"""Allocation metrics: pure functions of a weight vector and, where needed, a covariance.

Weights are fractions of NAV indexed by symbol (a ``pd.Series``); a covariance is a
``pd.DataFrame`` of return covariances with the same symbols as index and columns, in any
order (it is aligned by label). Volatilities are in the covariance's period: an annualized
covariance gives an annual volatility. Scalars are fractions or plain ratios, never percents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError

ZERO_VARIANCE_RTOL = 1e-12
"""Portfolio variance at most this times ``|w|' |Sigma| |w|`` is float rounding of zero."""

SYMMETRY_RTOL = 1e-10
"""Largest ``|Sigma_ij - Sigma_ji|`` allowed, relative to ``max |Sigma|``."""


def _check_weights(weights: object, name: str = "weights") -> pd.Series:
    if not isinstance(weights, pd.Series):
        raise InvalidInputError(
            f"{name} must be a pandas Series indexed by symbol, got {type(weights).__name__}"
        )
    if len(weights) == 0:
        raise InvalidInputError(f"{name} is empty")
    if weights.index.has_duplicates:
        duplicated = list(weights.index[weights.index.duplicated()].unique())
        raise InvalidInputError(f"{name} has duplicate symbols {duplicated}")
    try:
        as_float = weights.astype(float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numeric, got dtype {weights.dtype}") from exc
    not_finite = ~np.isfinite(as_float.to_numpy())
    if not_finite.any():
        symbol = as_float.index[int(np.flatnonzero(not_finite)[0])]
        raise InvalidInputError(f"{name} is not finite for symbol {symbol!r}")
    return as_float


def _aligned(weights: object, covariance: object) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Check both inputs and return (symbols, w of shape (n,), Sigma of shape (n, n))."""
    w = _check_weights(weights)
    if not isinstance(covariance, pd.DataFrame):
        raise InvalidInputError(
            f"covariance must be a pandas DataFrame, got {type(covariance).__name__}"
        )
    for axis_name, labels in (("index", covariance.index), ("columns", covariance.columns)):
        if labels.has_duplicates:
            duplicated = list(labels[labels.duplicated()].unique())
            raise InvalidInputError(f"covariance {axis_name} has duplicate symbols {duplicated}")
        missing = [symbol for symbol in w.index if symbol not in labels]
        if missing:
            raise InvalidInputError(f"covariance {axis_name} lacks symbols {missing}")
        extra = [symbol for symbol in labels if symbol not in w.index]
        if extra:
            raise InvalidInputError(f"weights lack symbols {extra} of covariance {axis_name}")
    try:
        sigma = covariance.loc[w.index, w.index].to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("covariance must be numeric") from exc
    not_finite = ~np.isfinite(sigma)
    if not_finite.any():
        i, j = np.argwhere(not_finite)[0]
        raise InvalidInputError(f"covariance is not finite at ({w.index[i]!r}, {w.index[j]!r})")
    asymmetry = np.abs(sigma - sigma.T)
    if asymmetry.max() > SYMMETRY_RTOL * max(np.abs(sigma).max(), np.finfo(float).tiny):
        i, j = np.unravel_index(int(np.argmax(asymmetry)), asymmetry.shape)
        raise InvalidInputError(
            f"covariance is not symmetric at ({w.index[i]!r}, {w.index[j]!r}): "
            f"{sigma[i, j]!r} vs {sigma[j, i]!r}"
        )
    return w.index, w.to_numpy(), sigma


def _variance(w: np.ndarray, sigma: np.ndarray) -> float:
    """Portfolio variance ``w' Sigma w``; 0.0 when it is rounding of zero; errors if < 0."""
    variance = float(w @ sigma @ w)
    scale = float(np.abs(w) @ np.abs(sigma) @ np.abs(w))
    if abs(variance) <= ZERO_VARIANCE_RTOL * scale:
        return 0.0
    if variance < 0:
        raise InvalidInputError(
            f"covariance is not positive semidefinite: w' Sigma w = {variance!r} < 0"
        )
    return variance


def hhi(weights: pd.Series | np.ndarray) -> float:
    """Herfindahl-Hirschman concentration index, a plain ratio: ``sum w_i ** 2``.

    For long-only weights summing to 1 over n assets it lies in [1/n, 1]: 1/n for equal
    weights, 1 for a single asset. The weights are not renormalized.

    Args:
        weights: Weights, fractions of NAV, shape (n,), n >= 1 (a Series or a 1-D array).
    """
    if isinstance(weights, pd.Series):
        values = _check_weights(weights).to_numpy()
    else:
        try:
            values = np.asarray(weights, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError("weights must be numeric") from exc
        if values.ndim != 1 or values.size == 0:
            raise InvalidInputError(f"weights must be 1-D and non-empty, got shape {values.shape}")
        not_finite = ~np.isfinite(values)
        if not_finite.any():
            raise InvalidInputError(
                f"weights is not finite at position {int(np.flatnonzero(not_finite)[0])}"
            )
    return float(np.sum(values**2))


def portfolio_volatility(weights: pd.Series, covariance: pd.DataFrame) -> float:
    """Portfolio volatility ``sqrt(w' Sigma w)``, a fraction in the covariance's period.

    Args:
        weights: Weights, fractions of NAV, shape (n,), indexed by symbol.
        covariance: Return covariance, shape (n, n), the same symbols as index and columns.

    Raises:
        InvalidInputError: On misaligned symbols (naming them), non-finite or asymmetric
            covariance, or ``w' Sigma w < 0`` beyond rounding.
    """
    _, w, sigma = _aligned(weights, covariance)
    return float(np.sqrt(_variance(w, sigma)))


def risk_contributions(weights: pd.Series, covariance: pd.DataFrame) -> pd.Series:
    """Share of portfolio variance per asset, fractions summing to 1.

    ``RC_i = w_i (Sigma w)_i / (w' Sigma w)``. A short position or a hedge can have a
    negative share.

    Args:
        weights: Weights, fractions of NAV, shape (n,), indexed by symbol.
        covariance: Return covariance, shape (n, n), the same symbols as index and columns.

    Returns:
        Risk contributions, shape (n,), indexed like ``weights``.

    Raises:
        InvalidInputError: On misaligned symbols (naming them), invalid covariance, or zero
            portfolio variance (the shares are undefined).
    """
    symbols, w, sigma = _aligned(weights, covariance)
    if _variance(w, sigma) == 0.0:
        raise InvalidInputError("portfolio variance is zero: risk contributions are undefined")
    contributions = w * (sigma @ w)
    return pd.Series(contributions / contributions.sum(), index=symbols, name="risk_contribution")


def diversification_ratio(weights: pd.Series, covariance: pd.DataFrame) -> float:
    """Diversification ratio, a plain ratio: ``(w' sigma) / sqrt(w' Sigma w)``.

    ``sigma`` holds the asset volatilities ``sqrt(diag(Sigma))``: the ratio is the weighted
    average asset volatility over the portfolio volatility. It is >= 1 for long-only weights,
    and 1 for a single asset or perfectly correlated assets.

    Args:
        weights: Weights, fractions of NAV, shape (n,), indexed by symbol.
        covariance: Return covariance, shape (n, n), the same symbols as index and columns.

    Raises:
        InvalidInputError: On misaligned symbols (naming them), invalid covariance, a
            negative variance on the diagonal (naming the symbol), or zero portfolio variance.
    """
    symbols, w, sigma = _aligned(weights, covariance)
    diagonal = np.diag(sigma)
    if (diagonal < 0).any():
        symbol = symbols[int(np.flatnonzero(diagonal < 0)[0])]
        raise InvalidInputError(f"covariance has a negative variance for symbol {symbol!r}")
    variance = _variance(w, sigma)
    if variance == 0.0:
        raise InvalidInputError(
            "portfolio variance is zero: the diversification ratio is undefined"
        )
    return float(w @ np.sqrt(diagonal) / np.sqrt(variance))
