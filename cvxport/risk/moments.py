"""Moment risk measures: variance, standard deviation, semi-variance, semi-deviation, MAD.

Units: per-period fractions of NAV (variances in squared fractions). Sample moments divide by
T - 1 (as ``np.cov`` and ``np.std(ddof=1)``); the mean absolute deviation divides by T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np

from cvxport.constraints.base import ProblemContext
from cvxport.errors import InvalidInputError
from cvxport.risk.base import RiskMeasure, need_periods, portfolio_returns


def _covariance(returns: Any, data: dict) -> Any:
    """The ``covariance=`` given (an (n, n) array or a factor model, kept as it is), else the
    sample covariance (ddof 1) of ``returns``."""
    given = data.get("covariance")
    if given is not None:
        return given if hasattr(given, "variance") else np.asarray(given, dtype=float)
    matrix = np.asarray(returns, dtype=float)
    return np.cov(matrix, rowvar=False).reshape(matrix.shape[1], -1)


def quadratic_value(covariance: Any, w: np.ndarray) -> float:
    """w' Sigma w of an (n, n) array or a factor model (O(n k), never n x n)."""
    if hasattr(covariance, "variance"):
        return float(covariance.variance(w))
    return float(w @ covariance @ w)


def stacked_norm(terms: list[cp.Expression]) -> cp.Expression:
    """The 2-norm of the terms stacked (the root of the sum of their squared norms)."""
    return cp.norm(terms[0] if len(terms) == 1 else cp.hstack(terms), 2)


def _weights(weights: Any, returns: Any) -> np.ndarray:
    columns = getattr(returns, "columns", None)
    if columns is not None and hasattr(weights, "reindex"):
        weights = weights.reindex(columns)
    return np.asarray(weights, dtype=float)


def centered(
    values: cp.Expression, periods: int, name: str
) -> tuple[cp.Expression, list[cp.Constraint]]:
    """(T,) ``values`` minus their mean, through one auxiliary variable m with T m = sum(values).

    Subtracting ``cp.sum(values) / T`` directly makes every coefficient depend on the whole
    window: cvxpy's DPP compile then builds a T x T x n tensor (1.9 s at T = 300, n = 8,
    against 0.06 s this way).
    """
    mean = cp.Variable(name=f"{name}_mean")
    return values - mean, [periods * mean == cp.sum(values)]


def centered_returns(
    ctx: ProblemContext, owner: RiskMeasure
) -> tuple[cp.Expression, list[cp.Constraint]]:
    """(T,) portfolio returns minus their window mean (affine in the weights), with its rows."""
    periods = need_periods(owner, ctx, least=2)
    return centered(ctx.returns @ ctx.weights, periods, "portfolio")


@dataclass(frozen=True)
class Variance(RiskMeasure):
    """w' Sigma w, Sigma the method's covariance estimate (``ctx.covariance``); per period.

    Homogeneous of degree 2: limits use its root, :class:`StandardDeviation`.
    """

    degree: ClassVar[int | None] = 2
    covariance_form: ClassVar[str | None] = "variance"

    def expression(self, ctx: ProblemContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Return ``sum_squares(F @ w)``, F' F = Sigma, or in factor form ``sum_squares(G' w)
        + sum_squares(sqrt(d) * w)`` (``ctx.covariance_terms``; DPP). ``MeanRiskAllocator``
        solves a variance objective as the exact QP instead (declared quadratic)."""
        return sum(cp.sum_squares(t) for t in ctx.covariance_terms()), []

    def value(self, weights: Any, returns: Any, **data: Any) -> float:
        """Return w' Sigma w (``covariance=`` if given, an array or a factor model, else the
        sample covariance, ddof 1)."""
        return quadratic_value(_covariance(returns, data), _weights(weights, returns))

    def root(self) -> RiskMeasure:
        """Return :class:`StandardDeviation`."""
        return StandardDeviation()


@dataclass(frozen=True)
class StandardDeviation(RiskMeasure):
    """sqrt(w' Sigma w), per-period fraction: ``norm(F w)`` with F' F = Sigma (``ctx``'s
    ``covariance_terms``: the factor form for a factor model; DPP)."""

    covariance_form: ClassVar[str | None] = "deviation"

    def expression(self, ctx: ProblemContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Return ``norm2(F @ w)`` (in factor form the norm of [G' w; sqrt(d) * w])."""
        return stacked_norm(ctx.covariance_terms()), []

    def value(self, weights: Any, returns: Any, **data: Any) -> float:
        """Return sqrt(w' Sigma w) (``covariance=`` if given, else the sample covariance)."""
        return math.sqrt(max(Variance().value(weights, returns, **data), 0.0))


def _check_target(owner: str, target: Any) -> None:
    if target is None:
        return
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not np.isfinite(target):
        raise InvalidInputError(
            f"{owner}.target must be None (the mean) or a per-period return, got {target!r}"
        )


@dataclass(frozen=True)
class SemiDeviation(RiskMeasure):
    """Downside deviation sqrt(sum(min(r_t - m, 0)^2) / (T - 1)), per-period fraction.

    Args:
        target: the threshold m, a per-period return (0.0 = losses); None: the window's mean
            portfolio return.
    """

    target: float | None = None

    def __post_init__(self) -> None:
        _check_target("SemiDeviation", self.target)

    def _downside(self, ctx: ProblemContext) -> tuple[cp.Expression, int, list[cp.Constraint]]:
        periods = need_periods(self, ctx, least=2)
        if self.target is None:
            deviation, rows = centered_returns(ctx, self)
        else:
            deviation, rows = ctx.returns @ ctx.weights - self.target * ctx.scale, []
        return cp.pos(-deviation), periods, rows

    def expression(self, ctx: ProblemContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Return ``norm2(pos(m - r)) / sqrt(T - 1)`` (m scaled by ``ctx.scale``)."""
        downside, periods, rows = self._downside(ctx)
        return cp.norm(downside, 2) / math.sqrt(periods - 1), rows

    def value(self, weights: Any, returns: Any, **data: Any) -> float:
        """Return the semi-deviation of the portfolio's returns on the window."""
        return math.sqrt(SemiVariance(self.target).value(weights, returns, **data))


@dataclass(frozen=True)
class SemiVariance(RiskMeasure):
    """Downside variance sum(min(r_t - m, 0)^2) / (T - 1), squared per-period fraction.

    Homogeneous of degree 2: limits use its root, :class:`SemiDeviation` (same ``target``).
    """

    target: float | None = None
    degree: ClassVar[int | None] = 2

    def __post_init__(self) -> None:
        _check_target("SemiVariance", self.target)

    def expression(self, ctx: ProblemContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Return ``sum_squares(pos(m - r)) / (T - 1)``."""
        downside, periods, rows = SemiDeviation(self.target)._downside(ctx)
        return cp.sum_squares(downside) / (periods - 1), rows

    def value(self, weights: Any, returns: Any, **data: Any) -> float:
        """Return the semi-variance of the portfolio's returns on the window."""
        r = portfolio_returns(weights, returns)
        threshold = r.mean() if self.target is None else self.target
        return float(np.sum(np.minimum(r - threshold, 0.0) ** 2) / (len(r) - 1))

    def root(self) -> RiskMeasure:
        """Return :class:`SemiDeviation` with the same target."""
        return SemiDeviation(self.target)


@dataclass(frozen=True)
class MeanAbsoluteDeviation(RiskMeasure):
    """sum |r_t - mean(r)| / T of the portfolio returns, per-period fraction (an LP)."""

    def expression(self, ctx: ProblemContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Return ``norm1(r - mean(r)) / T``."""
        deviation, rows = centered_returns(ctx, self)
        return cp.norm1(deviation) / ctx.n_periods, rows

    def value(self, weights: Any, returns: Any, **data: Any) -> float:
        """Return the mean absolute deviation of the portfolio's returns on the window."""
        r = portfolio_returns(weights, returns)
        return float(np.mean(np.abs(r - r.mean())))
