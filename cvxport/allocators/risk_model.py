"""Shared estimation steps of the risk-based allocators (covariance in, checked ndarray out)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError
from cvxport.estimation import CovarianceEstimator, clip_to_psd, get_covariance_estimator


def estimate_covariance(returns: pd.DataFrame, estimator: str | CovarianceEstimator) -> np.ndarray:
    """Return the (n, n) PSD covariance of (T, n) returns, per-period units.

    Raises:
        InvalidInputError: the estimator returned a wrong shape or non-finite values, or an
            asset has zero variance (naming it).
    """
    n = returns.shape[1]
    covariance = np.asarray(get_covariance_estimator(estimator).estimate(returns), dtype=float)
    if covariance.shape != (n, n) or not np.all(np.isfinite(covariance)):
        raise InvalidInputError(
            f"covariance estimator {estimator!r} returned shape {covariance.shape} "
            f"(expected {(n, n)}) or non-finite values"
        )
    flat = np.nonzero(np.diag(covariance) <= 0)[0]
    if len(flat):
        raise InvalidInputError(
            f"returns of {returns.columns[flat[0]]!r} have zero variance over the window "
            f"{returns.index[0]} .. {returns.index[-1]}"
        )
    return clip_to_psd(covariance)
