"""Hierarchical risk parity (Lopez de Prado, 2016) with scipy's clustering.

1. Distance d_ij = sqrt((1 - rho_ij) / 2) from the correlation matrix.
2. ``scipy.cluster.hierarchy.linkage`` (single by default, as in the original method) and
   ``leaves_list`` give the quasi-diagonal order.
3. Recursive bisection of the ordered list into halves; the left half gets the share
   alpha = 1 - V_left / (V_left + V_right) of its parent, where V is the variance of the
   half's inverse-variance portfolio. With per-asset bounds, alpha is clamped so that each
   half's total stays within the sums of its members' bounds, which keeps every final weight
   within its bounds whenever the bounds admit weights summing to 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

from cvxport.allocators.base import Allocator, is_per_asset_bound, per_asset_bounds
from cvxport.allocators.risk_model import estimate_covariance
from cvxport.constraints.base import Constraint
from cvxport.errors import InvalidInputError
from cvxport.estimation import CovarianceEstimator

LINKAGE_METHODS = ("single", "complete", "average", "weighted", "centroid", "median", "ward")


def correlation_distance(covariance: np.ndarray) -> np.ndarray:
    """Return the (n, n) distance sqrt((1 - rho) / 2) of a covariance matrix."""
    vol = np.sqrt(np.diag(covariance))
    correlation = np.clip(covariance / np.outer(vol, vol), -1.0, 1.0)
    distance = np.sqrt(np.clip((1.0 - correlation) / 2.0, 0.0, None))
    np.fill_diagonal(distance, 0.0)
    return 0.5 * (distance + distance.T)


def quasi_diagonal_order(covariance: np.ndarray, method: str = "single") -> np.ndarray:
    """Return the (n,) leaf order of the hierarchical clustering of assets."""
    if len(covariance) == 1:
        return np.array([0])
    tree = linkage(squareform(correlation_distance(covariance), checks=False), method=method)
    return leaves_list(tree)


def cluster_variance(covariance: np.ndarray, members: np.ndarray) -> float:
    """Variance of the inverse-variance portfolio of ``members``."""
    sub = covariance[np.ix_(members, members)]
    ivp = 1.0 / np.diag(sub)
    ivp /= ivp.sum()
    return float(ivp @ sub @ ivp)


def hrp_weights(
    covariance: np.ndarray,
    method: str = "single",
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> np.ndarray:
    """Return (n,) HRP weights for a covariance matrix, within optional per-asset bounds."""
    n = len(covariance)
    lower = np.zeros(n) if lower is None else lower
    upper = np.ones(n) if upper is None else upper
    weights = np.ones(n)
    stack = [quasi_diagonal_order(covariance, method)]
    while stack:
        items = stack.pop()
        if len(items) < 2:
            continue
        left, right = items[: len(items) // 2], items[len(items) // 2 :]
        v_left, v_right = cluster_variance(covariance, left), cluster_variance(covariance, right)
        alpha = 1.0 - v_left / (v_left + v_right)
        parent = weights[items[0]]  # every member of ``items`` carries the parent's total
        share_left = np.clip(
            alpha * parent,
            max(lower[left].sum(), parent - upper[right].sum()),
            min(upper[left].sum(), parent - lower[right].sum()),
        )
        weights[left] = share_left
        weights[right] = parent - share_left
        stack += [left, right]
    return weights


class HRPAllocator(Allocator):
    """Hierarchical risk parity; honours per-asset bounds and refuses other constraints.

    Args:
        linkage_method: scipy linkage method (``'single'`` as in the original paper).
        covariance: estimator name or object for Sigma.
        constraints: only bound objects (``LongOnly``, ``WeightBounds``) are accepted.
    """

    config_arguments: ClassVar[dict[str, str]] = {
        "constraints": "constraints",
        "covariance": "covariance",
    }

    def __init__(
        self,
        linkage_method: str = "single",
        covariance: str | CovarianceEstimator = "sample",
        constraints: Sequence[Constraint] | None = None,
    ) -> None:
        super().__init__(constraints, long_only=True)
        self.linkage_method = linkage_method
        self.covariance = covariance

    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        if self.linkage_method not in LINKAGE_METHODS:
            raise InvalidInputError(
                f"linkage_method {self.linkage_method!r} is not one of {LINKAGE_METHODS}"
            )
        bounds = per_asset_bounds(constraints, returns.columns, 0.0, 1.0)
        if bounds is None:
            refused = [c for c in constraints if not is_per_asset_bound(c)]
            raise InvalidInputError(
                f"HRPAllocator honours only per-asset bounds; it cannot apply {refused} "
                "(use a convex method such as MinimumVarianceAllocator for these)"
            )
        assets = returns.columns
        lower, upper = bounds
        covariance = estimate_covariance(returns, self.covariance)
        self.order_ = assets[quasi_diagonal_order(covariance, self.linkage_method)]
        self.info_ = None
        return hrp_weights(covariance, self.linkage_method, lower, upper)
