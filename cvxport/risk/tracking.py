"""Tracking error: the standard deviation of active returns against a benchmark."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

from cvxport.arguments import number_or_mapping
from cvxport.constraints.base import ProblemContext, as_vector, freeze_mapping, thaw_mapping
from cvxport.constraints.window import benchmark_returns_for, per_symbol
from cvxport.errors import InvalidInputError
from cvxport.periods import validate_periods_per_year
from cvxport.risk.base import RiskMeasure, portfolio_returns


@dataclass(frozen=True)
class BenchmarkRelative(RiskMeasure):
    """Base of the measures against a benchmark: its weights (checked, frozen) and the
    annualization factor.

    Args:
        benchmark_weights: symbol -> fraction of NAV (missing symbols 0), or None.
        periods_per_year: annualize by sqrt(periods_per_year); None: per period.
    """

    benchmark_weights: Any = None
    periods_per_year: int | None = None

    def __post_init__(self) -> None:
        if self.benchmark_weights is not None:
            if not isinstance(self.benchmark_weights, (Mapping, tuple)):
                raise InvalidInputError(
                    f"{type(self).__name__}.benchmark_weights must be a mapping symbol -> weight, "
                    f"got {self.benchmark_weights!r}"
                )
            name = f"{type(self).__name__}.benchmark_weights"
            try:
                given = dict(self.benchmark_weights)
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"{name} must be a mapping symbol -> weight, got {self.benchmark_weights!r}"
                ) from None
            frozen = freeze_mapping(number_or_mapping(given, name))
            object.__setattr__(self, "benchmark_weights", frozen)
        if self.periods_per_year is not None:
            try:
                ppy = validate_periods_per_year(self.periods_per_year)
            except Exception as exc:
                raise InvalidInputError(f"{type(self).__name__}.periods_per_year: {exc}") from None
            object.__setattr__(self, "periods_per_year", ppy)

    @property
    def factor(self) -> float:
        """sqrt(periods_per_year), or 1 per period."""
        return math.sqrt(self.periods_per_year or 1)


@dataclass(frozen=True)
class TrackingError(BenchmarkRelative):
    """std(r_p - r_b) over the window (ddof 1), per-period fraction unless annualized.

    The benchmark is, in this order: ``benchmark_weights`` given here (symbol -> fraction of
    NAV, missing symbols 0; r_b = returns @ b, usable in a backtest), else the window's
    ``ctx.benchmark_returns``, which ``allocate(..., benchmark_returns=...)`` or
    ``allocate(..., benchmark_weights=...)`` provides. Written homogeneous in ``ctx.scale``:
    active returns R y - scale * r_b, through the factor of their sample covariance.

    Args:
        benchmark_weights: fixed benchmark weights by symbol, or None (the window's data).
        periods_per_year: annualize by sqrt(periods_per_year); None: per period.
    """

    def expression(self, ctx: ProblemContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Return ``norm2(G @ [y; -scale])``, G' G the sample covariance of [R, r_b] (the
        window's ``tracking_factor``; with fixed weights b, ``returns_factor`` @ (y - scale b)):
        exactly the standard deviation of R w - r_b, a cone of dimension n + 1, not T."""
        if self.benchmark_weights is None:
            factor = ctx.data("tracking_factor")
            n = ctx.n_assets
            active = factor[:, :n] @ ctx.weights - factor[:, n] * ctx.scale
        else:
            weights = as_vector(thaw_mapping(self.benchmark_weights), ctx.assets, 0.0, repr(self))
            factor = ctx.data("returns_factor")
            active = factor @ ctx.weights - (factor @ weights) * ctx.scale
        return cp.norm(active, 2) * self.factor, []

    def ellipsoid(self, ctx: ProblemContext) -> tuple[np.ndarray, np.ndarray]:
        """Return (A (m, n), a (m,)) with this measure = ``||A w - a||`` at scale 1, from the
        Parameters' current values (the factor ``expression`` uses, times ``factor``): what
        exact backends solve (``solvers.tracking_backend``); A'A is the returns' sample
        covariance times factor^2."""
        if self.benchmark_weights is None:
            G = np.asarray(ctx.data("tracking_factor").value, dtype=float)
            n = ctx.n_assets
            return G[:, :n] * self.factor, G[:, n] * self.factor
        weights = as_vector(thaw_mapping(self.benchmark_weights), ctx.assets, 0.0, repr(self))
        G = np.asarray(ctx.data("returns_factor").value, dtype=float) * self.factor
        return G, G @ weights

    def value(self, weights: Any, returns: Any, **data: Any) -> float:
        """Return the tracking error of ``weights`` (benchmark as in ``expression``, or
        ``benchmark_returns=`` / ``benchmark_weights=`` given here)."""
        portfolio = portfolio_returns(weights, returns)
        benchmark = self._benchmark(returns, data)
        return float(np.std(portfolio - benchmark, ddof=1) * self.factor)

    def _benchmark(self, returns: Any, data: Mapping[str, Any]) -> np.ndarray:
        columns = getattr(returns, "columns", None)
        if self.benchmark_weights is not None or data.get("benchmark_weights") is not None:
            given = self.benchmark_weights
            given = dict(given) if given is not None else data["benchmark_weights"]
            if columns is None and isinstance(given, Mapping):
                raise InvalidInputError(
                    f"{self!r}.value needs the returns as a DataFrame whose columns are the "
                    "symbols benchmark_weights names (got an array without symbols)"
                )
            if columns is None:
                return np.asarray(returns, dtype=float) @ np.asarray(given, dtype=float)
            default = 0.0 if self.benchmark_weights is not None else None
            weights = per_symbol(given, columns, "benchmark_weights", default=default)
            return returns.to_numpy(dtype=float) @ weights
        if data.get("benchmark_returns") is None:
            raise InvalidInputError(
                f"{self!r}.value needs benchmark_returns= or benchmark_weights="
            )
        if columns is None:
            return np.asarray(data["benchmark_returns"], dtype=float)
        return benchmark_returns_for(data["benchmark_returns"], returns)
