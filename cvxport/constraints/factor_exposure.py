"""Limits on a portfolio's exposure to a factor: lower <= sum_i B_i w_i <= upper."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.constraints.base import Constraint, ProblemContext, freeze_mapping, interval_rows
from cvxport.errors import InvalidInputError


@dataclass(frozen=True, repr=False)
class FactorExposureLimits(Constraint):
    """``lower <= sum_i exposures[i] * w_i <= upper`` for one factor (units of the exposures per
    unit of NAV: a beta of 1.2 at full weight is 1.2).

    The exposures are plain values given per symbol (a column of the frame given to
    ``ExposureFactorModel``: a sector dummy, size, momentum, a market beta); every symbol of
    the universe needs one. A linear row, so the exact backends take it like a group limit.

    Args:
        factor: the factor's name (used in messages).
        exposures: {symbol: exposure} or a Series indexed by symbol (kept as sorted pairs).
        lower, upper: the limits (-inf / inf for none).
    """

    factor: str
    exposures: Any
    lower: float = -np.inf
    upper: float = np.inf

    def __post_init__(self) -> None:
        if self.factor is None or isinstance(self.factor, bool) or self.factor == "":
            raise InvalidInputError(
                f"FactorExposureLimits.factor must name the factor, got {self.factor!r}"
            )
        for name in ("lower", "upper"):
            bound = getattr(self, name)
            if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
                raise InvalidInputError(
                    f"FactorExposureLimits({self.factor!r}).{name} must be a number, got {bound!r}"
                )
        values = self.exposures
        if isinstance(values, pd.Series):
            values = dict(values.items())
        if isinstance(values, tuple):
            values = dict(values)
        if not isinstance(values, Mapping) or not values:
            raise InvalidInputError(
                f"FactorExposureLimits({self.factor!r}): exposures must be a non-empty mapping "
                "{symbol: exposure} or Series"
            )
        text = [
            s for s, v in values.items() if isinstance(v, bool) or not isinstance(v, numbers.Real)
        ]
        if text:
            raise InvalidInputError(
                f"FactorExposureLimits({self.factor!r}): exposure of {text[0]!r} must be a number, "
                f"got {values[text[0]]!r}"
            )
        bad = [s for s, v in values.items() if not np.isfinite(float(v))]
        if bad:
            raise InvalidInputError(
                f"FactorExposureLimits({self.factor!r}): exposure of {bad[0]!r} is not finite"
            )
        lower, upper = float(self.lower), float(self.upper)
        if np.isnan(lower) or np.isnan(upper) or lower > upper or lower == upper == np.inf:
            raise InvalidInputError(
                f"FactorExposureLimits({self.factor!r}): need lower <= upper, got {lower}, {upper}"
            )
        object.__setattr__(self, "factor", str(self.factor))
        object.__setattr__(self, "exposures", freeze_mapping(values))
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)

    def __repr__(self) -> str:
        return (
            f"FactorExposureLimits({self.factor!r}, lower={self.lower}, upper={self.upper}, "
            f"{len(self.exposures)} symbols)"
        )

    @classmethod
    def from_frame(
        cls, exposures: pd.DataFrame, limits: Mapping[str, tuple[float, float]]
    ) -> list[FactorExposureLimits]:
        """Return one object per {factor: (lower, upper)} from a symbols x factors frame."""
        missing = [f for f in limits if f not in exposures.columns]
        if missing:
            raise InvalidInputError(f"no exposures to factor {missing[0]!r} in the frame")
        return [cls(f, exposures[f], lower, upper) for f, (lower, upper) in limits.items()]

    def vector(self, assets: pd.Index) -> np.ndarray:
        """Return the (n,) exposures over ``assets``."""
        values = dict(self.exposures)
        missing = [s for s in assets if s not in values]
        if missing:
            raise InvalidInputError(f"{self!r}: no exposure of {missing[0]!r} to {self.factor!r}")
        return np.array([values[s] for s in assets])

    def validate(self, assets: pd.Index) -> None:
        """Every symbol of the universe must have an exposure."""
        self.vector(assets)

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return ``lower * scale <= b' w <= upper * scale`` (infinite sides left out)."""
        exposure = self.vector(ctx.assets) @ ctx.weights
        return interval_rows(exposure, self.lower, self.upper, ctx.scale)
