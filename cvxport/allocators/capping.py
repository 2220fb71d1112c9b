"""Capping a closed-form target the way capped indices do: proportional redistribution.

A name above its cap is set to the cap and the excess is handed to the names still uncapped
in proportion to their weights, round after round, until no name exceeds its cap (names
below a floor are raised to it and the deficit taken from the uncapped names alike). A name
once capped stays capped (the others only grow), so the rounds end at

    w_i = clip(lam * t_i, lower_i, upper_i),   sum(w) = 1,

for one scalar lam > 0: uncapped names keep the target's ratios w_i / w_j = t_i / t_j. The
sum is nondecreasing and piecewise linear in lam, with breakpoints lower_i / t_i and
upper_i / t_i, so lam is found exactly by bisection over the sorted breakpoints and one
linear equation on the segment found (O(n log n), no solver). ``capping='projection'`` is
the other choice: the Euclidean projection of the target onto the constraints, which shifts
every uncapped name by the same amount instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cvxport.allocators.base import is_per_asset_bound, per_asset_bounds
from cvxport.constraints.base import Constraint
from cvxport.errors import InfeasibleError, InvalidInputError

CAPPING_METHODS = ("projection", "proportional")
SUM_TOLERANCE = 1e-12  # fractions of NAV


def proportional_capping(target: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Return (n,) weights clip(lam * target, lower, upper) summing to 1 (see the module).

    Args:
        target: (n,) positive closed-form weights (fractions of NAV, any positive scale).
        lower, upper: (n,) per-asset bounds, fractions of NAV (lower <= upper).

    Raises:
        InvalidInputError: a target weight is not positive and finite.
        InfeasibleError: the bounds cannot sum to 1.
    """
    target = np.asarray(target, dtype=float)
    if not np.all(np.isfinite(target) & (target > 0)):
        raise InvalidInputError(f"proportional capping needs positive targets, got {target}")
    lower, upper = np.maximum(lower, 0.0), np.asarray(upper, dtype=float)  # lam * t > 0
    if lower.sum() > 1 + SUM_TOLERANCE or upper.sum() < 1 - SUM_TOLERANCE:
        raise InfeasibleError(
            f"bounds summing to {lower.sum():.6g} (lower) and {upper.sum():.6g} (upper) "
            "admit no weights summing to 1"
        )
    points = np.unique(np.concatenate([lower / target, upper / target]))
    points = points[np.isfinite(points)]

    def total(lam: float) -> float:
        return float(np.clip(lam * target, lower, upper).sum())

    # the first breakpoint where the sum reaches 1 (bisection over the sorted breakpoints: the
    # sum is nondecreasing); lam lies in the segment before it, where the free names (strictly
    # between their bounds) scale linearly
    low_k, k = -1, len(points)  # total(points[low_k]) < 1 <= total(points[k])
    while k - low_k > 1:
        middle_k = (low_k + k) // 2
        if total(points[middle_k]) < 1.0:
            low_k = middle_k
        else:
            k = middle_k
    if k == len(points):  # only where the upper bounds sum to 1 within the tolerance
        return np.clip(points[-1] * target, lower, upper)
    high = points[k]
    low = points[k - 1] if k > 0 else 0.0
    middle = 0.5 * (low + high)
    free = (middle * target > lower) & (middle * target < upper)
    fixed = np.where(middle * target <= lower, lower, upper)
    if not free.any():
        return np.clip(high * target, lower, upper)
    lam = (1.0 - fixed[~free].sum()) / target[free].sum()
    weights = np.where(free, lam * target, fixed)
    return weights


def check_capping(value: object, name: str) -> str:
    """Return ``value`` if it is one of ``CAPPING_METHODS``."""
    if value not in CAPPING_METHODS:
        raise InvalidInputError(f"{name} must be one of {CAPPING_METHODS}, got {value!r}")
    return value


def capped_target(
    target: np.ndarray, constraints: Sequence[Constraint], assets: pd.Index
) -> np.ndarray:
    """Return ``target`` capped proportionally within the per-asset bounds of
    ``constraints``; InvalidInputError naming any constraint that is more than a bound."""
    bounds = per_asset_bounds(constraints, assets)
    if bounds is None:
        refused = [c for c in constraints if not is_per_asset_bound(c)]
        raise InvalidInputError(
            f"capping='proportional' honours only per-asset bounds; it cannot apply {refused} "
            "(use capping='projection' for these)"
        )
    return proportional_capping(target, *bounds)
