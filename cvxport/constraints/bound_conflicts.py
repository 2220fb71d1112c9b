"""Per-asset bound objects that contradict each other, named before any solve.

Two bound objects can be impossible together (``WeightBounds({'a': 0.5})`` with
``WeightBounds(upper={'a': 0.3})``) though each is fine alone, and ``LongOnly()`` (added by
``long_only=True``) contradicts a negative lower bound, which would otherwise be dropped
silently. Both are decided exactly from the bounds' arrays: bounds admit weights summing to
1 if and only if lower <= upper per asset and sum(lower) <= 1 <= sum(upper).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cvxport.constraints.base import Constraint
from cvxport.constraints.diagnose import describe_conflict
from cvxport.constraints.weights import LongOnly
from cvxport.errors import InfeasibleError, InvalidInputError

SUM_TOLERANCE = 1e-12  # fractions of NAV, as WeightBounds.validate


def bound_objects(constraints: Sequence[Constraint]) -> list[Constraint]:
    """Return the constraints that only bound individual weights and say how (``bounds``)."""
    return [c for c in constraints if c.is_bounds_only and hasattr(c, "bounds")]


def _combined(bounds: Sequence[Constraint], assets: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = np.full(len(assets), -np.inf), np.full(len(assets), np.inf)
    for constraint in bounds:
        c_lower, c_upper = constraint.bounds(assets)
        lower, upper = np.maximum(lower, c_lower), np.minimum(upper, c_upper)
    return lower, upper


def _feasible(bounds: Sequence[Constraint], assets: pd.Index) -> bool:
    lower, upper = _combined(bounds, assets)
    return bool(
        np.all(lower <= upper)
        and lower.sum() <= 1 + SUM_TOLERANCE
        and upper.sum() >= 1 - SUM_TOLERANCE
    )


def check_bound_objects(constraints: Sequence[Constraint], assets: pd.Index) -> None:
    """Raise when the per-asset bound objects among ``constraints`` contradict each other.

    Raises:
        InvalidInputError: ``LongOnly()`` beside a bound object with a negative lower bound
            (naming both, the symbol and ``long_only=False``).
        InfeasibleError: the bound objects cannot hold together with sum(w) == 1;
            ``conflicting`` is a smallest set of them that cannot (a deletion filter).
    """
    bounds = bound_objects(constraints)
    if len(bounds) < 2:
        return  # one object alone is checked by its own validate()
    long_only = next((c for c in bounds if isinstance(c, LongOnly)), None)
    if long_only is not None:
        for constraint in bounds:
            lower = constraint.bounds(assets)[0]
            short = np.isfinite(lower) & (lower < 0)  # -inf: no lower bound at all
            if short.any():
                i = int(np.argmax(short))
                raise InvalidInputError(
                    f"{long_only!r} contradicts {constraint!r}, whose lower bound for "
                    f"{assets[i]!r} is {lower[i]:.6g} (a short position): pass "
                    "long_only=False to the allocator to allow short positions (HRP and risk "
                    "budgeting are long-only by construction), or a lower bound >= 0"
                )
    if _feasible(bounds, assets):
        return
    kept = list(bounds)
    for candidate in list(kept):
        rest = [c for c in kept if c is not candidate]
        if not _feasible(rest, assets):
            kept = rest
    lower, upper = _combined(kept, assets)
    crossed = np.flatnonzero(lower > upper)
    detail = (
        f"for {assets[crossed[0]]!r} the lower bound {lower[crossed[0]]:.6g} exceeds the upper "
        f"bound {upper[crossed[0]]:.6g}"
        if len(crossed)
        else f"the lower bounds sum to {lower.sum():.6g} and the upper bounds to {upper.sum():.6g}"
    )
    raise InfeasibleError(
        f"the bounds conflict: {describe_conflict(kept)} ({detail})", conflicting=tuple(kept)
    )
