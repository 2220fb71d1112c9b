"""The allocate() contract checked on what an allocator returns: (n,) finite weights summing to
1 within its per-asset bounds (fractions of NAV), or an InvalidInputError naming the allocator.

Built-in methods meet it by construction (their solvers report ``info_.sum_error`` and
``info_.max_bound_violation``), so only the shape and finiteness are checked for them; a
user's allocator gets the sum and the bounds checked too, since nothing else would notice a
short position under ``LongOnly()`` or weights summing to 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cvxport.constraints.base import Constraint
from cvxport.constraints.bound_conflicts import bound_objects
from cvxport.errors import InvalidInputError

TOLERANCE = 1e-6  # fractions of NAV: sum and bounds of a user's answer


def as_weights(owner: str, answer: Any, assets: pd.Index) -> np.ndarray:
    """Return ``answer`` (an (n,) array, list, or a Series read by symbol) as finite floats."""
    if isinstance(answer, pd.Series):
        missing = [s for s in assets if s not in answer.index]
        if missing:
            raise InvalidInputError(f"{owner} returned no weight for {missing}")
        twice = answer.index[answer.index.duplicated()].unique()
        if len(twice):
            raise InvalidInputError(f"{owner} returned weights for {list(twice)} twice")
        answer = answer.reindex(assets)
    if np.iscomplexobj(answer):
        raise InvalidInputError(f"{owner} returned {answer!r}, not real numbers")
    try:
        weights = np.asarray(answer, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{owner} returned {answer!r}, not numbers") from exc
    if weights.shape != (len(assets),):
        raise InvalidInputError(
            f"{owner} returned weights of shape {weights.shape}, expected ({len(assets)},)"
        )
    bad = ~np.isfinite(weights)
    if bad.any():
        raise InvalidInputError(
            f"{owner} returned weights that are not finite for {list(assets[bad])}"
        )
    return weights


def check_user_weights(
    owner: str, weights: np.ndarray, assets: pd.Index, constraints: Sequence[Constraint]
) -> None:
    """Refuse (n,) ``weights`` that do not sum to 1 or leave a per-asset bound object of
    ``constraints`` by more than ``TOLERANCE``, naming the object and the symbol."""
    total = float(weights.sum())
    if abs(total - 1.0) > TOLERANCE:
        raise InvalidInputError(
            f"{owner} returned weights that sum to {total:.6g}, not 1 (hold cash as an asset: "
            "cvxport.add_cash_asset)"
        )
    for constraint in bound_objects(constraints):
        lower, upper = constraint.bounds(assets)
        outside = (weights < lower - TOLERANCE) | (weights > upper + TOLERANCE)
        if outside.any():
            i = int(np.argmax(outside))
            hint = " (long_only=False allows short positions)" if lower[i] == 0 else ""
            raise InvalidInputError(
                f"{owner} returned {weights[i]:.6g} for {assets[i]!r}, outside {constraint!r} "
                f"([{lower[i]:.6g}, {upper[i]:.6g}]){hint if weights[i] < 0 else ''}"
            )
