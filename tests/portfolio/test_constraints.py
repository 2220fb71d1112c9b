"""Constraint objects: they hold in every convex method, they bind, and they explain conflicts."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL

import cvxport as cx
from cvxport.constraints import conflicting_constraints, is_feasible

ATOL = SOLVER_ATOL["CLARABEL"]
MAJORS = ("BTC/USDT", "ETH/USDT")


def convex_allocators():
    """One allocator per convex method (risk parity through cvxpy whenever constraints exist)."""
    return {
        "minimum_variance": cx.MinimumVarianceAllocator(),
        "maximum_sharpe": cx.MaximumSharpeAllocator(),
        "risk_parity": cx.RiskParityAllocator(),
        "equal_weight": cx.EqualWeightAllocator(),
    }


METHODS = list(convex_allocators())


# --------------------------------------------------------------------------- group limits


@pytest.mark.parametrize("method", METHODS)
def test_group_upper_limit_holds_and_binds(method, crypto_2021):
    free = convex_allocators()[method].allocate(crypto_2021)
    limit = round(float(free[list(MAJORS)].sum()) * 0.5, 3)  # half of what the method wants
    group = cx.GroupLimits(MAJORS, upper=limit, name="majors")
    weights = convex_allocators()[method].allocate(crypto_2021, constraints=[group])
    assert weights[list(MAJORS)].sum() == pytest.approx(limit, abs=ATOL)
    assert weights.sum() == pytest.approx(1.0, abs=ATOL)
    assert weights.min() >= -ATOL


@pytest.mark.parametrize("method", ["minimum_variance", "maximum_sharpe", "risk_parity"])
def test_group_lower_limit_holds_and_binds(method, crypto_2021):
    alts = ("DOGE/USDT", "DOT/USDT", "LINK/USDT")
    free = convex_allocators()[method].allocate(crypto_2021)
    assert free[list(alts)].sum() < 0.4
    group = cx.GroupLimits(alts, lower=0.4, name="alts")
    weights = convex_allocators()[method].allocate(crypto_2021, constraints=[group])
    assert weights[list(alts)].sum() == pytest.approx(0.4, abs=ATOL)


# --------------------------------------------------------------------------- turnover


def turnover(weights: pd.Series, previous: pd.Series) -> float:
    return float((weights - previous.reindex(weights.index).fillna(0.0)).abs().sum())


@pytest.mark.parametrize("method", METHODS)
def test_turnover_limit_holds_against_previous_weights(method, crypto_2021):
    previous = pd.Series(0.5 / 9, index=crypto_2021.columns)
    previous[list(MAJORS)] = [0.3, 0.2]
    limit = 0.1
    free = convex_allocators()[method].allocate(crypto_2021)
    assert turnover(free, previous) > limit + 0.05
    allocator = convex_allocators()[method]
    weights = allocator.allocate(
        crypto_2021, constraints=[cx.TurnoverLimit(limit)], previous_weights=previous
    )
    assert turnover(weights, previous) == pytest.approx(limit, abs=2 * ATOL)  # holds, binds
    # new previous weights are a Parameter value: no rebuild
    equal = pd.Series(1 / 11, index=crypto_2021.columns)
    again = allocator.allocate(
        crypto_2021, constraints=[cx.TurnoverLimit(limit)], previous_weights=equal
    )
    assert turnover(again, equal) <= limit + 2 * ATOL
    assert allocator.build_count_ == 1


def test_previous_weights_as_array_or_partial_series(crypto_2021):
    limit = cx.TurnoverLimit(0.1)
    allocator = cx.MinimumVarianceAllocator(constraints=[limit])
    partial = pd.Series({"ETH/USDT": 0.6, "SOL/USDT": 0.4})  # missing symbols count as 0
    weights = allocator.allocate(crypto_2021, previous_weights=partial)
    assert turnover(weights, partial) <= 0.1 + 2 * ATOL
    as_array = partial.reindex(crypto_2021.columns).fillna(0.0).to_numpy()
    same = allocator.allocate(crypto_2021, previous_weights=as_array)
    np.testing.assert_allclose(same.to_numpy(), weights.to_numpy(), atol=2 * ATOL)


def test_missing_previous_weights_is_a_named_error(crypto_2021):
    limit = cx.TurnoverLimit(0.1)
    with pytest.raises(
        cx.InvalidInputError, match=r"TurnoverLimit\(limit=0\.1\).*previous_weights"
    ):
        cx.MinimumVarianceAllocator().allocate(crypto_2021, constraints=[limit])


def test_previous_weights_with_unknown_symbol_or_wrong_shape_are_named(crypto_2021):
    limit = cx.TurnoverLimit(0.1)
    allocator = cx.MinimumVarianceAllocator(constraints=[limit])
    with pytest.raises(cx.InvalidInputError, match="PEPE/USDT"):
        allocator.allocate(crypto_2021, previous_weights=pd.Series({"PEPE/USDT": 1.0}))
    with pytest.raises(cx.InvalidInputError, match=r"shape \(3,\)"):
        allocator.allocate(crypto_2021, previous_weights=np.ones(3) / 3)


# --------------------------------------------------------------------------- bounds, ordering


@pytest.mark.parametrize("method", METHODS)
def test_per_symbol_weight_bounds(method, crypto_2021):
    bounds = cx.WeightBounds(
        lower={"DOGE/USDT": 0.12, "LTC/USDT": 0.1}, upper={"BTC/USDT": 0.07, "SOL/USDT": 0.2}
    )
    lower, upper = bounds.bounds(crypto_2021.columns)
    # symbols left out of a mapping take 0 (lower) and 1 (upper)
    assert lower.sum() == pytest.approx(0.22) and np.count_nonzero(upper < 1) == 2
    weights = convex_allocators()[method].allocate(crypto_2021, constraints=[bounds])
    w = weights.to_numpy()
    assert np.all(w >= lower - ATOL) and np.all(w <= upper + ATOL)
    assert weights["DOGE/USDT"] >= 0.12 - ATOL and weights["BTC/USDT"] <= 0.07 + ATOL


def test_weight_bounds_mapping_with_unknown_symbol_is_named(crypto_2021):
    bounds = cx.WeightBounds(upper={"PEPE/USDT": 0.1})
    with pytest.raises(cx.InvalidInputError, match="PEPE/USDT"):
        cx.MinimumVarianceAllocator().allocate(crypto_2021, constraints=[bounds])


@pytest.mark.parametrize("method", METHODS)
def test_weight_ordering_holds_and_binds(method, crypto_2021):
    # Order BTC and SOL against the method's own preference on 2021 data.
    free = convex_allocators()[method].allocate(crypto_2021)
    pair = ["BTC/USDT", "SOL/USDT"]
    smaller, larger = free[pair].sort_values(ascending=False).index
    ordering = cx.WeightOrdering(larger=larger, smaller=smaller)
    weights = convex_allocators()[method].allocate(crypto_2021, constraints=[ordering])
    assert weights[larger] >= weights[smaller] - ATOL
    if method != "equal_weight":  # 1/n already satisfies any ordering
        assert free[smaller] > free[larger] + 0.01
        assert weights[larger] == pytest.approx(weights[smaller], abs=2 * ATOL)


def test_weight_ordering_with_unknown_symbol_is_named(crypto_2021):
    with pytest.raises(cx.InvalidInputError, match="PEPE/USDT"):
        cx.MinimumVarianceAllocator().allocate(
            crypto_2021, constraints=[cx.WeightOrdering("PEPE/USDT", "BTC/USDT")]
        )


def test_long_only_is_a_default_that_can_be_dropped(crypto_returns):
    shorting = cx.MinimumVarianceAllocator(long_only=False).allocate(crypto_returns)
    assert shorting.min() < -0.01
    long_only = cx.MinimumVarianceAllocator().allocate(crypto_returns)
    assert long_only.min() >= -ATOL


# --------------------------------------------------------------------------- objects


def test_constraints_are_frozen_hashable_and_shared_between_problems(crypto_2021):
    bounds = cx.WeightBounds({"BTC/USDT": 0.1}, 0.4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bounds.upper = 0.5
    assert hash(bounds) == hash(cx.WeightBounds({"BTC/USDT": 0.1}, 0.4))
    group = cx.GroupLimits(["BTC/USDT", "ETH/USDT"], upper=0.5)
    assert group == cx.GroupLimits(("BTC/USDT", "ETH/USDT"), upper=0.5)  # list -> tuple
    assert len({bounds, group, cx.LongOnly(), cx.LongOnly()}) == 3
    # one instance in three different problem forms (scale 1, kappa, sum(y))
    for allocator in (
        cx.MinimumVarianceAllocator(),
        cx.MaximumSharpeAllocator(),
        cx.RiskParityAllocator(),
    ):
        weights = allocator.allocate(crypto_2021, constraints=[bounds, group])
        assert weights["BTC/USDT"] >= 0.1 - ATOL and weights.max() <= 0.4 + ATOL
        assert weights[["BTC/USDT", "ETH/USDT"]].sum() <= 0.5 + ATOL


def test_duplicate_constraint_objects_count_once(crypto_2021):
    allocator = cx.MinimumVarianceAllocator(
        constraints=[cx.WeightBounds(0.0, 0.4)], solver="CLARABEL"
    )
    allocator.allocate(crypto_2021, constraints=[cx.WeightBounds(0.0, 0.4), cx.LongOnly()])
    (problem,) = allocator._problems.values()
    assert problem.constraints == (cx.LongOnly(), cx.WeightBounds(0.0, 0.4))


def test_non_constraint_objects_are_refused_by_name(crypto_2021):
    with pytest.raises(cx.InvalidInputError, match=re.escape("'w <= 0.4'")):
        cx.MinimumVarianceAllocator().allocate(crypto_2021, constraints=["w <= 0.4"])


# --------------------------------------------------------------------------- diagnosis


def test_conflicting_constraints_returns_exactly_the_objects_in_conflict(crypto_2021):
    assets = crypto_2021.columns
    bounds = cx.WeightBounds(0.05, 0.4)
    group = cx.GroupLimits(MAJORS, lower=0.9, name="majors")  # 0.9 > 2 * 0.4
    bystanders = [cx.LongOnly(), cx.WeightOrdering("BTC/USDT", "ETH/USDT"), cx.TurnoverLimit(2)]
    everything = [*bystanders[:2], bounds, group, bystanders[2]]
    data = {"previous_weights": np.full(11, 1 / 11)}
    assert not is_feasible(everything, assets, data)
    assert conflicting_constraints(everything, assets, data) == [bounds, group]
    assert is_feasible([*bystanders, bounds], assets, data)
    assert conflicting_constraints([*bystanders, group], assets, data) == []


def test_group_limits_checks_its_own_values():
    with pytest.raises(cx.InvalidInputError, match=re.escape("lower 0.6 > upper 0.5")):
        cx.GroupLimits(MAJORS, lower=0.6, upper=0.5, name="majors")
    with pytest.raises(cx.InvalidInputError, match="symbols"):
        cx.GroupLimits("BTC/USDT", upper=0.5)
    with pytest.raises(cx.InvalidInputError, match="PEPE/USDT"):
        cx.MinimumVarianceAllocator().allocate(
            pd.DataFrame(np.eye(3) * 0.01, columns=["A", "B", "C"]),
            constraints=[cx.GroupLimits(("A", "PEPE/USDT"), upper=0.5)],
        )


def test_turnover_limit_checks_its_value():
    with pytest.raises(cx.InvalidInputError, match=re.escape("TurnoverLimit.limit")):
        cx.TurnoverLimit(-0.1)
