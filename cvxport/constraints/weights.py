"""Limits on individual weights: long-only, per-asset bounds, and ordering between two assets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.arguments import number_or_mapping, text
from cvxport.constraints.base import (
    Constraint,
    ProblemContext,
    as_vector,
    check_known_symbols,
    freeze_mapping,
    thaw_mapping,
)
from cvxport.errors import InfeasibleError, InvalidInputError


@dataclass(frozen=True)
class LongOnly(Constraint):
    """No short positions: every weight >= 0."""

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return ``w >= 0``."""
        return [ctx.weights >= 0]

    @property
    def is_bounds_only(self) -> bool:
        """Bounds individual weights only."""
        return True

    def bounds(self, assets: pd.Index) -> tuple[np.ndarray, np.ndarray]:
        """Return (lower, upper) arrays of shape (n,), fractions of NAV."""
        return np.zeros(len(assets)), np.full(len(assets), np.inf)


@dataclass(frozen=True)
class WeightBounds(Constraint):
    """Per-asset weight limits, fractions of NAV (0.05 = 5%).

    ``lower`` and ``upper`` are scalars or mappings symbol -> bound; symbols missing from a
    mapping take 0 (lower) or 1 (upper).
    """

    lower: float | Mapping[str, float] = 0.0
    upper: float | Mapping[str, float] = 1.0

    def __post_init__(self) -> None:
        for name in ("lower", "upper"):  # a number or a mapping symbol -> number, finite
            value = thaw_mapping(getattr(self, name))  # a frozen mapping passed back in
            value = number_or_mapping(value, f"WeightBounds.{name}")
            object.__setattr__(self, name, freeze_mapping(value))

    def bounds(self, assets: pd.Index) -> tuple[np.ndarray, np.ndarray]:
        """Return (lower, upper) arrays of shape (n,), fractions of NAV."""
        lower = as_vector(thaw_mapping(self.lower), assets, 0.0, repr(self))
        upper = as_vector(thaw_mapping(self.upper), assets, 1.0, repr(self))
        return lower, upper

    def validate(self, assets: pd.Index) -> None:
        """Check lower <= upper per symbol and that the bounds admit weights summing to 1."""
        lower, upper = self.bounds(assets)
        bad = np.nonzero(lower > upper)[0]
        if len(bad):
            s = assets[bad[0]]
            raise InvalidInputError(
                f"{self!r}: lower bound {lower[bad[0]]} > upper bound {upper[bad[0]]} for {s!r}"
            )
        if lower.sum() > 1 + 1e-12 or upper.sum() < 1 - 1e-12:
            raise InfeasibleError(
                f"{self!r} cannot sum to 1 over {len(assets)} assets: the lower bounds sum to "
                f"{lower.sum():.6g} and the upper bounds to {upper.sum():.6g}",
                conflicting=(self,),
            )

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return ``lower * scale <= w <= upper * scale``."""
        lower, upper = self.bounds(ctx.assets)
        return [ctx.weights >= lower * ctx.scale, ctx.weights <= upper * ctx.scale]

    @property
    def is_bounds_only(self) -> bool:
        """Bounds individual weights only."""
        return True


@dataclass(frozen=True)
class WeightOrdering(Constraint):
    """Weight of ``larger`` >= weight of ``smaller`` (e.g. BTC at least as much as ETH)."""

    larger: str
    smaller: str

    def __post_init__(self) -> None:
        text(self.larger, "WeightOrdering.larger")
        text(self.smaller, "WeightOrdering.smaller")
        if self.larger == self.smaller:
            raise InvalidInputError(f"WeightOrdering orders {self.larger!r} against itself")

    def validate(self, assets: pd.Index) -> None:
        """Both symbols must be in the universe."""
        check_known_symbols((self.larger, self.smaller), assets, repr(self))

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return ``w[larger] >= w[smaller]`` (homogeneous, no scale needed)."""
        return [ctx.weight(self.larger) >= ctx.weight(self.smaller)]
