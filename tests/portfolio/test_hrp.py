"""Hierarchical risk parity: a 4-asset example worked by hand, bounds, and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import returns_with_covariance

import cvxport as cx
from cvxport.allocators.hrp import correlation_distance, hrp_weights, quasi_diagonal_order

# Two blocks, uncorrelated with each other, given in the scrambled column order C, A, D, B:
#   A: variance 1, B: variance 4, corr(A, B) = 0.8, so cov(A, B) = 0.8 * 1 * 2 = 1.6
#   C: variance 1, D: variance 1, corr(C, D) = 0.6, so cov(C, D) = 0.6
COLUMNS = ["C", "A", "D", "B"]
BLOCKS = np.array(
    [
        # C    A    D    B
        [1.0, 0.0, 0.6, 0.0],  # C
        [0.0, 1.0, 0.0, 1.6],  # A
        [0.6, 0.0, 1.0, 0.0],  # D
        [0.0, 1.6, 0.0, 4.0],  # B
    ]
)
# Worked by hand:
# 1. Distances sqrt((1 - rho) / 2): d(A,B) = sqrt(0.1) = 0.316, d(C,D) = sqrt(0.2) = 0.447,
#    across blocks sqrt(0.5) = 0.707. Single linkage merges {A,B}, then {C,D}, then both.
#    scipy lists leaves of a merge smaller cluster id first: A (1), B (3), then C (0), D (2).
# 2. Bisection of [A, B, C, D] into [A, B] | [C, D].
#    Inverse-variance portfolio of [A, B]: (1/1, 1/4) normalized = (0.8, 0.2);
#      V_AB = 0.64 * 1 + 0.04 * 4 + 2 * 0.8 * 0.2 * 1.6 = 0.64 + 0.16 + 0.512 = 1.312.
#    Of [C, D]: (0.5, 0.5); V_CD = 0.25 + 0.25 + 2 * 0.25 * 0.6 = 0.8.
#    Share of [A, B] = 1 - 1.312 / (1.312 + 0.8) = 0.8 / 2.112 = 25/66; of [C, D]: 41/66.
# 3. [A] | [B]: V_A = 1, V_B = 4, A gets 1 - 1/5 = 0.8 of 25/66 = 10/33, B gets 5/66.
#    [C] | [D]: equal variances, 41/132 each. Total 20/66 + 5/66 + 41/66 = 1.
HAND = pd.Series({"C": 41 / 132, "A": 10 / 33, "D": 41 / 132, "B": 5 / 66})


def test_distance_and_order_of_the_hand_example():
    distance = correlation_distance(BLOCKS)
    assert distance[1, 3] == pytest.approx(np.sqrt(0.1), abs=1e-15)
    assert distance[0, 2] == pytest.approx(np.sqrt(0.2), abs=1e-15)
    assert distance[0, 1] == pytest.approx(np.sqrt(0.5), abs=1e-15)
    order = [COLUMNS[i] for i in quasi_diagonal_order(BLOCKS)]
    assert order == ["A", "B", "C", "D"]


def test_hrp_weights_of_the_hand_example():
    weights = hrp_weights(BLOCKS)
    np.testing.assert_allclose(weights, HAND[COLUMNS].to_numpy(), rtol=0, atol=1e-15)


def test_hrp_allocator_on_returns_with_the_hand_covariance():
    # scale to daily returns: variances x 1e-4 (volatility 1% and 2%); HRP is scale-free
    returns = returns_with_covariance(BLOCKS * 1e-4, n_periods=300, seed=5, columns=COLUMNS)
    np.testing.assert_allclose(returns.cov().to_numpy(), BLOCKS * 1e-4, atol=1e-18)
    allocator = cx.HRPAllocator()
    weights = allocator.allocate(returns)
    pd.testing.assert_series_equal(weights, HAND[COLUMNS], check_names=False, atol=1e-12)
    assert list(allocator.order_) == ["A", "B", "C", "D"]
    assert allocator.info_ is None  # no solver involved


def test_linkage_method_is_configurable_and_checked():
    # the blocks are clear: average and complete linkage find the same tree
    for method in ("average", "complete"):
        np.testing.assert_allclose(hrp_weights(BLOCKS, method=method), HAND[COLUMNS], atol=1e-15)
    returns = returns_with_covariance(BLOCKS * 1e-4, n_periods=300, columns=COLUMNS)
    with pytest.raises(cx.InvalidInputError, match="'nearest'"):
        cx.HRPAllocator(linkage_method="nearest").allocate(returns)


def test_bounds_clamp_the_bisection_by_hand():
    # WeightBounds(0.1, 0.4). Top split: [A, B] share 25/66 = 0.379 lies within
    # [max(0.1 + 0.1, 1 - 0.8), min(0.8, 1 - 0.2)] = [0.2, 0.8]: unchanged.
    # [A] | [B]: A's share 0.8 * 25/66 = 0.303 is clamped to at most 25/66 - 0.1 (B >= 0.1),
    # so A = 25/66 - 1/10 = 0.2788, B = 0.1. C = D = 41/132 = 0.3106 are inside the bounds.
    returns = returns_with_covariance(BLOCKS * 1e-4, n_periods=300, columns=COLUMNS)
    weights = cx.HRPAllocator().allocate(returns, constraints=[cx.WeightBounds(0.1, 0.4)])
    expected = pd.Series({"C": 41 / 132, "A": 25 / 66 - 0.1, "D": 41 / 132, "B": 0.1})
    pd.testing.assert_series_equal(weights, expected[COLUMNS], check_names=False, atol=1e-12)


def test_bounds_are_honoured_on_real_data(crypto_returns):
    unbounded = cx.HRPAllocator().allocate(crypto_returns)
    assert unbounded.min() < 0.05 or unbounded.max() > 0.4  # the bounds have work to do
    bounds = cx.WeightBounds(0.05, 0.4)
    weights = cx.HRPAllocator(constraints=[bounds]).allocate(crypto_returns)
    assert weights.min() >= 0.05 - 1e-12 and weights.max() <= 0.4 + 1e-12
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)


def test_per_symbol_bounds_are_honoured(crypto_returns):
    bounds = cx.WeightBounds({"DOGE/USDT": 0.15}, {"BTC/USDT": 0.08, "LTC/USDT": 0.2})
    weights = cx.HRPAllocator().allocate(crypto_returns, constraints=[bounds])
    lower, upper = bounds.bounds(crypto_returns.columns)
    assert np.all(weights.to_numpy() >= lower - 1e-12)
    assert np.all(weights.to_numpy() <= upper + 1e-12)
    assert weights["DOGE/USDT"] >= 0.15 - 1e-12 and weights["BTC/USDT"] <= 0.08 + 1e-12


@pytest.mark.parametrize(
    "constraint",
    [
        cx.GroupLimits(("BTC/USDT", "ETH/USDT"), upper=0.3, name="majors"),
        cx.WeightOrdering("BTC/USDT", "ETH/USDT"),
        cx.TurnoverLimit(0.2),
    ],
    ids=["group", "ordering", "turnover"],
)
def test_constraints_other_than_bounds_are_refused_by_name(constraint, crypto_returns):
    with pytest.raises(cx.InvalidInputError, match=type(constraint).__name__) as info:
        cx.HRPAllocator().allocate(crypto_returns, constraints=[constraint])
    assert repr(constraint) in str(info.value)


def test_two_uncorrelated_assets_get_inverse_variance_weights():
    # one bisection of two singletons: alpha = 1 - V1 / (V1 + V2) = V2 / (V1 + V2)
    weights = hrp_weights(np.diag([1.0, 3.0]))
    np.testing.assert_allclose(weights, [0.75, 0.25], atol=1e-15)
