"""HRP with optimal leaf ordering: off by default, reorders the leaves, moves the weights, keeps
the bounds, and equals a recursive bisection written here on scipy's reordered leaves."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
from scipy.spatial.distance import squareform

import cvxport as cx
from cvxport.allocators.hrp import hrp_weights


def _distances(returns: pd.DataFrame) -> np.ndarray:
    """Condensed sqrt((1 - rho) / 2) from pandas' correlation (independent of cvxport)."""
    distance = np.sqrt(np.clip((1 - returns.corr().to_numpy()) / 2, 0, None))
    np.fill_diagonal(distance, 0)
    return squareform(distance, checks=False)


def _bisection(covariance: np.ndarray, items: list[int]) -> dict[int, float]:
    """Lopez de Prado's recursive bisection of the ordered ``items`` (weights summing to 1)."""
    if len(items) == 1:
        return {items[0]: 1.0}
    left, right = items[: len(items) // 2], items[len(items) // 2 :]

    def variance(members):
        sub = covariance[np.ix_(members, members)]
        ivp = 1 / np.diag(sub) / np.sum(1 / np.diag(sub))
        return ivp @ sub @ ivp

    alpha = 1 - variance(left) / (variance(left) + variance(right))
    out = {i: alpha * w for i, w in _bisection(covariance, left).items()}
    out.update({i: (1 - alpha) * w for i, w in _bisection(covariance, right).items()})
    return out


@pytest.fixture
def window(crypto_returns) -> pd.DataFrame:
    return crypto_returns.loc["2021"]


def test_optimal_ordering_is_off_by_default(window):
    assert cx.HRPAllocator().optimal_ordering is False
    with pytest.raises(cx.InvalidInputError, match=r"HRPAllocator\.optimal_ordering"):
        cx.HRPAllocator(optimal_ordering="yes")


@pytest.mark.parametrize("method", ["single", "average", "ward"])
def test_weights_equal_a_recursive_bisection_on_the_reordered_leaves(window, method):
    covariance = window.cov().to_numpy()
    tree = linkage(_distances(window), method=method)
    for optimal in (False, True):
        leaves = leaves_list(optimal_leaf_ordering(tree, _distances(window)) if optimal else tree)
        allocator = cx.HRPAllocator(linkage_method=method, optimal_ordering=optimal)
        weights = allocator.allocate(window)
        assert list(allocator.order_) == list(window.columns[leaves])
        by_index = _bisection(covariance, list(leaves))
        expected = np.array([by_index[i] for i in range(len(window.columns))])
        np.testing.assert_allclose(weights.to_numpy(), expected, rtol=0, atol=1e-12)


def test_ordering_shortens_the_chain_and_moves_the_weights(window):
    plain, optimal = cx.HRPAllocator(), cx.HRPAllocator(optimal_ordering=True)
    w_plain, w_optimal = plain.allocate(window), optimal.allocate(window)
    assert list(plain.order_) != list(optimal.order_)
    distance = squareform(_distances(window))
    columns = list(window.columns)

    def chain(order):  # sum of distances between neighbouring leaves
        positions = [columns.index(s) for s in order]
        return sum(distance[a, b] for a, b in pairwise(positions))

    assert chain(optimal.order_) <= chain(plain.order_) + 1e-12
    assert np.abs(w_optimal - w_plain).max() > 0.05  # 2021: the largest move is 8.7 points of NAV


def test_both_orderings_honour_bounds(window):
    bounds = cx.WeightBounds(0.04, 0.15)
    for optimal in (False, True):
        weights = cx.HRPAllocator(constraints=[bounds], optimal_ordering=optimal).allocate(window)
        assert weights.sum() == pytest.approx(1.0, abs=1e-12)
        assert weights.min() >= 0.04 - 1e-12 and weights.max() <= 0.15 + 1e-12


def test_hrp_weights_refuse_bounds_that_admit_no_portfolio(window):
    # the bisection's clamps return weights outside crossed bounds; the function says so
    covariance = window.cov().to_numpy()
    n = len(covariance)
    lower, upper = np.zeros(n), np.ones(n)
    lower[0], upper[0] = 0.5, 0.3
    with pytest.raises(cx.InfeasibleError, match="admit no weights summing to 1"):
        hrp_weights(covariance, lower=lower, upper=upper)
    with pytest.raises(cx.InfeasibleError, match="admit no weights summing to 1"):
        hrp_weights(covariance, upper=np.full(n, 0.05))
