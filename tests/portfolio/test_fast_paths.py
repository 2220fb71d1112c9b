"""The re-solve fast paths of allocate() refuse exactly what the full checks refuse.

Each fast path (time order on the index's numbers, float64 from the blocks, constraint checks
remembered per universe, weights already on the universe's index, a plain Parameter's value
stored directly) is compared with the pandas / cvxpy path it shortcuts: same answer where the
input is good, the same named error where it is not.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import cvxport as cx
from cvxport.constraints.window import per_symbol
from cvxport.errors import InvalidInputError
from cvxport.estimation import validate_returns
from cvxport.estimation.validation import _all_float64, _strictly_increasing
from cvxport.problem import assign

DAYS = pd.date_range("2024-01-01", periods=6, freq="D")


def frame(index, columns=("A", "B", "C")) -> pd.DataFrame:
    rng = np.random.default_rng(len(index))
    return pd.DataFrame(rng.normal(0, 0.01, (len(index), len(columns))), index, list(columns))


def pandas_decides(index: pd.Index) -> bool:
    """The definition the fast path must agree with: unique and ascending."""
    try:
        return bool(index.is_unique and index.is_monotonic_increasing)
    except TypeError:
        return False


@pytest.mark.parametrize(
    "index",
    [
        DAYS,
        DAYS.tz_localize("UTC"),
        DAYS[::-1],
        DAYS[[0, 1, 1, 2, 3, 4]],
        pd.DatetimeIndex([pd.NaT, *DAYS[1:]]),
        pd.DatetimeIndex([*DAYS[:-1], pd.NaT]),
        pd.timedelta_range("1D", periods=6),
        pd.Index([1, 2, 3, 5, 8, 13]),
        pd.Index([1, 2, 3, 3, 8, 13]),
        pd.Index([0.5, 1.0, np.nan, 2.0, 3.0, 4.0]),
        pd.Index([np.nan, 1.0, 2.0, 3.0, 4.0, 5.0]),
        pd.RangeIndex(6),
        pd.period_range("2024-01", periods=6, freq="M"),
        pd.Index(list("abcdef")),
    ],
)
def test_time_order_fast_path_agrees_with_pandas(index):
    fast = _strictly_increasing(index)
    assert not fast or pandas_decides(index)  # never accepts what pandas refuses
    returns = frame(index)
    if pandas_decides(index):
        assert validate_returns(returns) is returns
    else:
        with pytest.raises(InvalidInputError, match=r"twice|time order"):
            validate_returns(returns)


def test_float64_columns_from_the_blocks():
    mixed = frame(DAYS).astype({"B": np.float32})
    assert _all_float64(frame(DAYS)) and not _all_float64(mixed)
    out = validate_returns(mixed)
    assert out is not mixed and (out.dtypes == np.float64).all()
    np.testing.assert_array_equal(out.to_numpy(), mixed.to_numpy(dtype=float))


def test_remembered_constraint_checks_still_refuse_a_new_universe():
    group = cx.GroupLimits(("A", "B"), 0.0, 0.5)
    allocator = cx.MinimumVarianceAllocator(constraints=[group])
    allocator.allocate(frame(DAYS))
    allocator.allocate(frame(DAYS))  # same objects, same universe: remembered
    with pytest.raises(InvalidInputError, match=r"not in the universe: \['B'\]"):
        allocator.allocate(frame(DAYS, ("A", "C", "D")))
    allocator.constraints = [cx.WeightBounds(0.0, 0.2)]  # cannot sum to 1 over 3 assets
    with pytest.raises(cx.InfeasibleError, match="cannot sum to 1"):
        allocator.allocate(frame(DAYS))


def test_weights_on_the_universe_index_match_the_reindex_path():
    assets = pd.Index(["A", "B", "C"])
    given = pd.Series([0.5, np.nan, 0.5], index=assets)
    shuffled = given.iloc[[2, 0, 1]]  # the reindex path
    np.testing.assert_array_equal(
        per_symbol(given, assets, "previous_weights", default=0.0),
        per_symbol(shuffled, assets, "previous_weights", default=0.0),
    )
    for series in (given, shuffled):
        with pytest.raises(InvalidInputError, match="NaN"):
            per_symbol(series, assets, "prices", default=None)


def test_assign_stores_plain_values_and_leaves_the_rest_to_cvxpy():
    plain = cp.Parameter(3)
    value = np.array([0.1, -0.2, 0.3])
    assign(plain, value)
    np.testing.assert_array_equal(plain.value, value)
    nonneg = cp.Parameter(3, nonneg=True)
    with pytest.raises(ValueError, match="nonnegative"):
        assign(nonneg, value)
    with pytest.raises(ValueError):
        assign(plain, np.array([np.nan, 0.0, 0.0]))
    with pytest.raises(ValueError, match="dimensions"):
        assign(plain, np.zeros(2))


@pytest.mark.parametrize(
    "weights",
    [
        np.array([0.2, 0.3, 0.5]),
        np.array([0.2, 0.3, 0.5])[::-1],  # a strided view
        np.array([1, 0, 0]),  # integers: the constructor keeps their dtype
        [0.2, 0.3, 0.5],  # a list: the constructor
        np.array([0.2, np.nan, 0.8]),
    ],
)
def test_weight_series_matches_the_constructor(weights):
    """The block-manager Series is the constructor's Series (values, dtype, index, name) and
    owns its values: writing to it leaves the weights given unchanged."""
    from cvxport.allocators.base import _FROM_BLOCK, weight_series

    assets = pd.Index(["A", "B", "C"], name="symbol")
    fast = weight_series(weights, assets)
    pd.testing.assert_series_equal(fast, pd.Series(weights, index=assets, name="weight"))
    assert fast.index is assets
    before = np.array(weights, copy=True)
    fast.iloc[0] = 7.0 if fast.dtype.kind == "f" else 7
    np.testing.assert_array_equal(np.asarray(weights), before)
    assert _FROM_BLOCK is not None  # the pandas the tests run on has the fast path


def test_allocate_returns_the_constructors_series():
    returns = frame(pd.date_range("2024-01-01", periods=40, freq="D"))
    weights = cx.MinimumVarianceAllocator().allocate(returns)
    expected = pd.Series(weights.to_numpy(), index=returns.columns, name="weight")
    pd.testing.assert_series_equal(weights, expected)
    np.testing.assert_allclose(weights.sum(), 1.0, atol=1e-12)
