"""A user's allocator is held to the allocate() contract: (n,) finite weights summing to 1 within
the per-asset bounds it was given (LongOnly included), or a named error; never NaN weights, a
raw pandas error, a silent 2x leverage or a short position under long_only=True."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import cvxport as cx

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def user_allocator(answer):
    """An Allocator subclass whose _allocate returns ``answer(returns)``."""

    class Answer(cx.Allocator):
        def _allocate(self, returns, constraints, solver, data):
            return answer(returns)

    return Answer


@pytest.fixture(scope="module")
def returns(crypto_2021):
    return crypto_2021[SYMBOLS]


BAD = {
    "nan": (lambda r: np.full(3, np.nan), "not finite"),
    "none": (lambda r: None, "shape"),
    "too short": (lambda r: np.ones(2) / 2, "shape"),
    "strings": (lambda r: np.array(["a", "b", "c"]), "numbers"),
    "missing symbol": (lambda r: pd.Series({"BTC/USDT": 1.0}), "SOL/USDT"),
    "sums to 2": (lambda r: np.full(3, 2 / 3), "sum to 2"),
    "short under long_only": (lambda r: np.array([1.5, -0.5, 0.0]), "LongOnly.*long_only=False"),
    # was a raw pandas ValueError (reindex on duplicate labels)
    "symbol twice": (
        lambda r: pd.Series([0.5, 0.25, 0.25, 0.0], index=[*r.columns, "SOL/USDT"]),
        "SOL/USDT.*twice",
    ),
    # was the real part kept behind a numpy ComplexWarning
    "complex": (lambda r: np.array([0.5 + 0.1j, 0.25, 0.25]), "not real numbers"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_answer_is_named(returns, case):
    answer, message = BAD[case]
    with pytest.raises(cx.InvalidInputError, match=rf"Answer.*({message})"):
        user_allocator(answer)().allocate(returns)


def test_the_configs_bounds_are_checked_in_a_backtest():
    data = cx.load_bundled_prices(SYMBOLS, start="2024-01-01", end="2024-06-30")
    heavy = user_allocator(lambda r: np.array([0.8, 0.1, 0.1]))
    config = cx.PortfolioConfig(symbols=SYMBOLS, allocator=heavy(), max_position_weight=0.5)
    with pytest.raises(cx.InvalidInputError, match=re.escape("WeightBounds(lower=0.0, upper=0.5)")):
        cx.PortfolioManager(config).backtest(data)  # before: held 80% BTC silently


def test_good_answers_pass_as_given(returns):
    ordered = user_allocator(lambda r: pd.Series([0.6, 0.3, 0.1], index=r.columns[::-1]))
    weights = ordered().allocate(returns)  # a Series is read by symbol
    np.testing.assert_array_equal(weights.to_numpy(), [0.1, 0.3, 0.6])
    short = user_allocator(lambda r: np.array([1.2, -0.2, 0.0]))
    bounds = cx.WeightBounds(-0.3, 1.5)
    np.testing.assert_allclose(
        short(long_only=False, constraints=[bounds]).allocate(returns), [1.2, -0.2, 0.0]
    )
