"""Shared estimation steps of the risk-based allocators (covariance in, checked ndarray out)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError
from cvxport.estimation import (
    CovarianceEstimator,
    ExpectedReturnsEstimator,
    FactorModel,
    clip_to_psd,
    get_covariance_estimator,
    get_expected_returns_estimator,
    unit_scale_factor,
    unit_scaled,
)


def estimate_mean(returns: pd.DataFrame, estimator: str | ExpectedReturnsEstimator) -> np.ndarray:
    """Return the (n,) expected returns of (T, n) returns as floats, per-period fractions."""
    return np.asarray(get_expected_returns_estimator(estimator).estimate(returns), dtype=float)


def estimate_covariance(returns: pd.DataFrame, estimator: str | CovarianceEstimator) -> np.ndarray:
    """Return the (n, n) PSD covariance of (T, n) returns, per-period units.

    Raises:
        InvalidInputError: the estimator returned a wrong shape or non-finite values, or an
            asset has zero variance (naming it).
    """
    return _checked_covariance(returns, get_covariance_estimator(estimator), estimator)


def _checked_covariance(
    returns: pd.DataFrame, model: CovarianceEstimator, estimator: str | CovarianceEstimator
) -> np.ndarray:
    """``estimate_covariance`` with the estimator ``estimator`` already resolved to ``model``."""
    n = returns.shape[1]
    covariance = np.asarray(model.estimate(returns), dtype=float)
    if covariance.shape != (n, n) or not np.isfinite(covariance).all():
        raise InvalidInputError(
            f"covariance estimator {estimator!r} returned shape {covariance.shape} "
            f"(expected {(n, n)}) or non-finite values"
        )
    flat = (covariance.diagonal() <= 0).nonzero()[0]
    if len(flat):
        raise InvalidInputError(
            f"returns of {returns.columns[flat[0]]!r} have zero variance over the window "
            f"{returns.index[0]} .. {returns.index[-1]}"
        )
    return clip_to_psd(covariance)


def estimate_risk_model(
    returns: pd.DataFrame, estimator: str | CovarianceEstimator
) -> np.ndarray | FactorModel:
    """Return the estimator's factor model (loadings, factor covariance, specific variances;
    never the n x n matrix) when it has one (``factor_model``), else the checked (n, n)
    covariance of :func:`estimate_covariance`; per-period units."""
    model = get_covariance_estimator(estimator)
    if hasattr(model, "factor_model"):
        return model.factor_model(returns)
    return _checked_covariance(returns, model, estimator)


def average_variance(covariance: np.ndarray | FactorModel) -> float:
    """The mean of the diagonal (per-period variance units), of an array or a factor model
    (1 when it is not positive): the factor that ``unit_scaled_model`` divides by."""
    if isinstance(covariance, FactorModel):
        average = float(np.mean(covariance.variances()))
        return average if average > 0 else 1.0
    return unit_scale_factor(covariance)


def model_deviation(covariance: np.ndarray | FactorModel) -> float:
    """sqrt(``average_variance``): the per-period standard deviation a problem's data scale is
    chosen from (``Allocator._problem(deviation=...)``), O(n) from the estimate at hand."""
    return math.sqrt(average_variance(covariance))


def unit_scaled_model(covariance: np.ndarray | FactorModel) -> np.ndarray | FactorModel:
    """The covariance (array or factor model) divided by its average variance."""
    if isinstance(covariance, FactorModel):
        return covariance.unit_scaled()
    return unit_scaled(covariance)


def scaled_model(covariance: np.ndarray | FactorModel, c: float) -> np.ndarray | FactorModel:
    """c Sigma (c > 0) of an array or a factor model (its F and d times c, never n x n)."""
    if isinstance(covariance, FactorModel):
        return covariance.scaled(c)
    return c * covariance


def marginal_risk(covariance: np.ndarray | FactorModel, weights: np.ndarray) -> np.ndarray:
    """(n,) Sigma w, of an array or a factor model (without forming n x n)."""
    if isinstance(covariance, FactorModel):
        return covariance.matvec(weights)
    return covariance @ weights
