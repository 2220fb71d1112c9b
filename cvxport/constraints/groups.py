"""Limits on the total weight of a group of assets (a sector, a basket)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.constraints.base import Constraint, ProblemContext
from cvxport.errors import InvalidInputError


@dataclass(frozen=True)
class GroupLimits(Constraint):
    """``lower <= sum of weights of symbols <= upper``, fractions of NAV.

    Args:
        symbols: the group's members.
        lower: least total weight of the group.
        upper: most total weight of the group.
        name: label used in messages.
    """

    symbols: tuple[str, ...]
    lower: float = 0.0
    upper: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        symbols = self.symbols
        if isinstance(symbols, str) or not isinstance(symbols, Iterable):
            raise InvalidInputError(f"GroupLimits.symbols must be a sequence, got {symbols!r}")
        object.__setattr__(self, "symbols", tuple(symbols))
        if not self.symbols:
            raise InvalidInputError("GroupLimits.symbols is empty")
        for name in ("lower", "upper"):
            if not np.isfinite(getattr(self, name)):
                raise InvalidInputError(f"GroupLimits.{name} must be finite")
        if self.lower > self.upper:
            raise InvalidInputError(
                f"GroupLimits {self.name or self.symbols}: lower {self.lower} > upper {self.upper}"
            )

    def validate(self, assets: pd.Index) -> None:
        """Every member must be in the universe."""
        missing = [s for s in self.symbols if s not in assets]
        if missing:
            raise InvalidInputError(f"{self!r} names symbols not in the universe: {missing}")

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return ``lower * scale <= sum(w[group]) <= upper * scale``."""
        total = cp.sum(ctx.weights[[ctx.index_of(s) for s in self.symbols]])
        return [total >= self.lower * ctx.scale, total <= self.upper * ctx.scale]
