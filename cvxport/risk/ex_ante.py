"""Ex-ante tracking error: the active risk of the weights under the method's covariance model."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

from cvxport.constraints.base import ProblemContext, as_vector, thaw_mapping
from cvxport.constraints.window import per_symbol
from cvxport.errors import InvalidInputError
from cvxport.risk.moments import _covariance, _weights, quadratic_value, stacked_norm
from cvxport.risk.tracking import BenchmarkRelative


@dataclass(frozen=True)
class ExAnteTrackingError(BenchmarkRelative):
    """sqrt((w - b)' Sigma (w - b)), Sigma the method's covariance estimate, per-period fraction
    unless annualized (times sqrt(periods_per_year)).

    Where :class:`TrackingError` is the standard deviation of realized active returns on the
    window (its problems hold an n x n factor of their sample covariance), this is the active
    risk the covariance model predicts: with a factor model (``PCAFactorModel``,
    ``ExposureFactorModel``) the limit is the norm of [G'(y - b s); sqrt(d) (y - b s)], n k + n
    numbers, never the n x n matrix; with a dense covariance the norm of F (y - b s), F' F =
    Sigma. Homogeneous in ``ctx.scale`` (s), so it limits any method.

    Args:
        benchmark_weights: symbol -> fraction of NAV (missing symbols 0), or None for the
            ``benchmark_weights=`` given to ``allocate``.
        periods_per_year: annualize by sqrt(periods_per_year); None: per period.
    """

    def expression(self, ctx: ProblemContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Return the norm of the active weights' covariance terms (DPP)."""
        benchmark = None
        if self.benchmark_weights is not None:
            given = thaw_mapping(self.benchmark_weights)
            benchmark = as_vector(given, ctx.assets, 0.0, repr(self))
        return stacked_norm(ctx.active_covariance_terms(benchmark)) * self.factor, []

    def value(self, weights: Any, returns: Any, **data: Any) -> float:
        """Return the ex-ante tracking error of ``weights`` under ``covariance=`` (an array or a
        factor model; else the sample covariance of ``returns``), against the benchmark given
        here or as ``benchmark_weights=``."""
        w = _weights(weights, returns)
        columns = getattr(returns, "columns", None)
        if self.benchmark_weights is not None:
            given, default = dict(self.benchmark_weights), 0.0
        elif data.get("benchmark_weights") is not None:
            given, default = data["benchmark_weights"], None
        else:
            raise InvalidInputError(f"{self!r}.value needs benchmark_weights=")
        if columns is None:
            benchmark = np.asarray(given, dtype=float)
        else:
            benchmark = per_symbol(given, columns, "benchmark_weights", default=default)
        active = w - benchmark
        return (
            math.sqrt(max(quadratic_value(_covariance(returns, data), active), 0.0)) * self.factor
        )
