"""Hierarchical risk parity (Lopez de Prado, 2016) with scipy's clustering.

1. Distance d_ij = sqrt((1 - rho_ij) / 2) from the correlation matrix.
2. ``scipy.cluster.hierarchy.linkage`` (single by default, as in the original method) and
   ``leaves_list`` give the quasi-diagonal order. With ``optimal_ordering=True`` (skfolio's
   and Riskfolio-Lib's default; off by default as in the original method) the leaves are
   reordered by ``optimal_leaf_ordering`` so that neighbours are as close as the tree allows,
   which moves the bisection's halves and hence the weights.
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
from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
from scipy.spatial.distance import squareform

from cvxport.allocators.base import Allocator, is_per_asset_bound, per_asset_bounds
from cvxport.allocators.risk_model import estimate_covariance
from cvxport.constraints.base import Constraint
from cvxport.errors import InfeasibleError, InvalidInputError
from cvxport.estimation import CovarianceEstimator

LINKAGE_METHODS = ("single", "complete", "average", "weighted", "centroid", "median", "ward")


def check_linkage_method(value: object) -> str:
    """Return ``value`` if it is one of ``LINKAGE_METHODS``, else InvalidInputError."""
    if value not in LINKAGE_METHODS:
        raise InvalidInputError(
            f"HRPAllocator.linkage_method {value!r} is not one of {LINKAGE_METHODS}"
        )
    return value


def correlation_distance(covariance: np.ndarray) -> np.ndarray:
    """Return the (n, n) distance sqrt((1 - rho) / 2) of a covariance matrix."""
    vol = np.sqrt(np.diag(covariance))
    correlation = np.clip(covariance / np.outer(vol, vol), -1.0, 1.0)
    distance = np.sqrt(np.clip((1.0 - correlation) / 2.0, 0.0, None))
    np.fill_diagonal(distance, 0.0)
    return 0.5 * (distance + distance.T)


def quasi_diagonal_order(
    covariance: np.ndarray, method: str = "single", optimal_ordering: bool = False
) -> np.ndarray:
    """Return the (n,) leaf order of the hierarchical clustering of assets; with
    ``optimal_ordering`` the order minimizing the sum of distances between neighbours."""
    if len(covariance) == 1:
        return np.array([0])
    distances = squareform(correlation_distance(covariance), checks=False)
    tree = linkage(distances, method=method)
    if optimal_ordering:
        tree = optimal_leaf_ordering(tree, distances)
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
    optimal_ordering: bool = False,
) -> np.ndarray:
    """Return (n,) HRP weights for a covariance matrix, within optional per-asset bounds."""
    n = len(covariance)
    lower = np.zeros(n) if lower is None else lower
    upper = np.ones(n) if upper is None else upper
    if np.any(lower > upper) or lower.sum() > 1 + 1e-12 or upper.sum() < 1 - 1e-12:
        # the clamps below would then return weights outside the bounds
        raise InfeasibleError(
            f"HRP bounds admit no weights summing to 1: lower {lower}, upper {upper}"
        )
    weights = np.ones(n)
    stack = [quasi_diagonal_order(covariance, method, optimal_ordering)]
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
        optimal_ordering: reorder the tree's leaves optimally before the bisection
            (``scipy.cluster.hierarchy.optimal_leaf_ordering``); off by default.
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
        optimal_ordering: bool = False,
    ) -> None:
        super().__init__(constraints, long_only=True)
        self.linkage_method = check_linkage_method(linkage_method)
        self.covariance = covariance
        self.optimal_ordering = optimal_ordering  # checked by Allocator.__setattr__

    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        check_linkage_method(self.linkage_method)
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
        ordering = self.optimal_ordering
        self.order_ = assets[quasi_diagonal_order(covariance, self.linkage_method, ordering)]
        self.info_ = None
        return hrp_weights(covariance, self.linkage_method, lower, upper, ordering)
