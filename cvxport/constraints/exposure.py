"""Limits on the portfolio's exposure: gross (leverage) and net, for long/short portfolios.

Weights are fractions of NAV; with ``long_only=False`` and negative lower bounds they may be
short. Gross exposure is sum |w| (1 = unlevered, 2 = 2x), net exposure sum(w) (the budget row
of every method fixes it to 1; cash is held as an explicit asset, ``cvxport.add_cash_asset``,
whose weight a bound sets).
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.arguments import symbols
from cvxport.constraints.base import (
    Constraint,
    ProblemContext,
    check_known_symbols,
    interval_rows,
)
from cvxport.errors import InfeasibleError, InvalidInputError


def _check_number(owner: str, name: str, value: object, low: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{owner}.{name} must be a number, got {value!r}")
    if not np.isfinite(value) or value < low:
        raise InvalidInputError(f"{owner}.{name} must be finite and >= {low}, got {value!r}")


@dataclass(frozen=True)
class GrossExposure(Constraint):
    """``sum |w| <= limit``: leverage, multiples of NAV (1.6 = 160% gross)."""

    limit: float

    def __post_init__(self) -> None:
        _check_number("GrossExposure", "limit", self.limit, 0.0)

    def validate(self, assets: pd.Index) -> None:
        """A fully invested portfolio has gross exposure >= 1."""
        if self.limit < 1.0 - 1e-12:
            raise InfeasibleError(
                f"{self!r}: weights summing to 1 have gross exposure >= 1", conflicting=(self,)
            )

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return ``norm1(w) <= limit * scale``."""
        return [cp.norm1(ctx.weights) <= self.limit * ctx.scale]

    def l1_row(self, ctx: ProblemContext) -> tuple[np.ndarray, float]:
        """Return ``sum |w - center| <= limit`` (weight units, at scale 1) as (center (n,) = 0,
        limit), for exact backends (``l1_kernel``)."""
        return np.zeros(ctx.n_assets), float(self.limit)


@dataclass(frozen=True)
class NetExposure(Constraint):
    """``lower <= sum(w[symbols]) <= upper``: long minus short weight of a subset (all assets
    when ``symbols`` is empty), fractions of NAV; e.g. a sector kept near market-neutral with
    ``NetExposure(-0.05, 0.05, symbols=(...))``."""

    lower: float = -np.inf
    upper: float = np.inf
    symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("lower", "upper"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or np.isnan(value):
                raise InvalidInputError(f"NetExposure.{name} must be a number, got {value!r}")
        if self.lower > self.upper:
            raise InvalidInputError(f"NetExposure: lower {self.lower} > upper {self.upper}")
        given = self.symbols
        empty = isinstance(given, (list, tuple)) and not given  # every asset
        object.__setattr__(self, "symbols", () if empty else symbols(given, "NetExposure.symbols"))

    def validate(self, assets: pd.Index) -> None:
        """Every named symbol must be in the universe."""
        check_known_symbols(self.symbols, assets, repr(self))

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return ``lower * scale <= sum(w[symbols]) <= upper * scale`` (finite sides)."""
        if self.symbols:
            total = cp.sum(ctx.weights[[ctx.index_of(s) for s in self.symbols]])
        else:
            total = cp.sum(ctx.weights)
        return interval_rows(total, self.lower, self.upper, ctx.scale)
