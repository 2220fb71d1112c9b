"""Limits on trading: turnover against the weights held before the allocation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.arguments import number
from cvxport.constraints.base import Constraint, ProblemContext
from cvxport.constraints.window import per_symbol
from cvxport.errors import InvalidInputError


@dataclass(frozen=True)
class TurnoverLimit(Constraint):
    """``sum |w - w_prev| <= limit`` (two-way turnover, fraction of NAV).

    The previous weights are passed at allocation time as ``previous_weights`` (a Series by
    symbol or an (n,) array); they enter as a Parameter, so changing them needs no rebuild.
    """

    limit: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", number(self.limit, "TurnoverLimit.limit", low=0.0))

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return ``norm1(w - w_prev * scale) <= limit * scale``."""
        previous = ctx.parameter("previous_weights", (ctx.n_assets,))
        return [cp.norm1(ctx.weights - previous * ctx.scale) <= self.limit * ctx.scale]

    def l1_row(self, ctx: ProblemContext) -> tuple[np.ndarray, float]:
        """Return ``sum |w - center| <= limit`` (weight units, at scale 1) as (center (n,),
        limit): the previous weights at their current value, for exact backends
        (``l1_kernel``; under Charnes-Cooper they scale both by kappa)."""
        previous = ctx.parameter("previous_weights", (ctx.n_assets,)).value
        return np.asarray(previous, dtype=float), float(self.limit)

    def parameter_values(self, assets: pd.Index, data: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``previous_weights`` aligned to ``assets`` (missing symbols count as 0)."""
        previous = data.get("previous_weights")
        if previous is None:
            raise InvalidInputError(
                f"{self!r} needs previous_weights=... (the weights held before this allocation)"
            )
        values = per_symbol(previous, assets, "previous_weights", default=0.0)
        return {"previous_weights": values}
