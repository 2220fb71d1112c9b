"""Tracking error: the standard deviation of active returns against a benchmark."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

from cvxport.constraints.base import ProblemContext, as_vector, freeze_mapping, thaw_mapping
from cvxport.constraints.window import benchmark_returns_for, per_symbol
from cvxport.errors import InvalidInputError
from cvxport.periods import validate_periods_per_year
from cvxport.risk.base import RiskMeasure, need_periods, portfolio_returns
from cvxport.risk.moments import centered


@dataclass(frozen=True)
class TrackingError(RiskMeasure):
    """std(r_p - r_b) over the window (ddof 1), per-period fraction unless annualized.

    The benchmark is, in this order: ``benchmark_weights`` given here (symbol -> fraction of
    NAV, missing symbols 0; r_b = returns @ b, usable in a backtest), else the window's
    ``ctx.benchmark_returns``, which ``allocate(..., benchmark_returns=...)`` or
    ``allocate(..., benchmark_weights=...)`` provides. Written homogeneous in ``ctx.scale``:
    active returns R y - scale * r_b.

    Args:
        benchmark_weights: fixed benchmark weights by symbol, or None (the window's data).
        periods_per_year: annualize by sqrt(periods_per_year); None: per period.
    """

    benchmark_weights: Any = None
    periods_per_year: int | None = None

    def __post_init__(self) -> None:
        if self.benchmark_weights is not None:
            if not isinstance(self.benchmark_weights, (Mapping, tuple)):
                raise InvalidInputError(
                    "TrackingError.benchmark_weights must be a mapping symbol -> weight, got "
                    f"{self.benchmark_weights!r}"
                )
            frozen = freeze_mapping(dict(self.benchmark_weights))
            object.__setattr__(self, "benchmark_weights", frozen)
        if self.periods_per_year is not None:
            try:
                ppy = validate_periods_per_year(self.periods_per_year)
            except Exception as exc:
                raise InvalidInputError(f"TrackingError.periods_per_year: {exc}") from None
            object.__setattr__(self, "periods_per_year", ppy)

    @property
    def factor(self) -> float:
        """sqrt(periods_per_year), or 1 per period."""
        return math.sqrt(self.periods_per_year or 1)

    def expression(self, ctx: ProblemContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Return ``norm2(a - mean(a)) / sqrt(T - 1)`` with a = R y - scale * r_b."""
        periods = need_periods(self, ctx, least=2)
        if self.benchmark_weights is None:
            benchmark = ctx.benchmark_returns
        else:
            weights = as_vector(thaw_mapping(self.benchmark_weights), ctx.assets, 0.0, repr(self))
            benchmark = ctx.returns @ weights
        active = ctx.returns @ ctx.weights - ctx.scale * benchmark
        deviation, rows = centered(active, periods, "active")
        return cp.norm(deviation, 2) * (self.factor / math.sqrt(periods - 1)), rows

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
