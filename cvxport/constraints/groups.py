"""Limits on the total weight of a group of assets (a sector, a basket)."""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import pandas as pd

from cvxport.arguments import number, symbols, text
from cvxport.constraints.base import Constraint, ProblemContext, check_known_symbols
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
        object.__setattr__(self, "symbols", symbols(self.symbols, "GroupLimits.symbols"))
        for name in ("lower", "upper"):
            object.__setattr__(self, name, number(getattr(self, name), f"GroupLimits.{name}"))
        text(self.name, "GroupLimits.name", allow_empty=True)
        if self.lower > self.upper:
            raise InvalidInputError(
                f"GroupLimits {self.name or self.symbols}: lower {self.lower} > upper {self.upper}"
            )

    def validate(self, assets: pd.Index) -> None:
        """Every member must be in the universe."""
        check_known_symbols(self.symbols, assets, repr(self))

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return ``lower * scale <= sum(w[group]) <= upper * scale``."""
        total = cp.sum(ctx.weights[[ctx.index_of(s) for s in self.symbols]])
        return [total >= self.lower * ctx.scale, total <= self.upper * ctx.scale]
