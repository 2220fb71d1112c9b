"""A method whose objective's domain is long only (the log-barrier risk budget) names a short
bound it cannot honour, as LongOnly() beside it does elsewhere, instead of dropping it."""

from __future__ import annotations

import pytest

import cvxport as cx


@pytest.mark.parametrize(
    "make",
    [
        lambda c: cx.RiskParityAllocator(constraints=c),
        lambda c: cx.RiskBudgetAllocator(
            constraints=c, risk_budget={"BTC/USDT": 0.5, "ETH/USDT": 0.5}
        ),
    ],
    ids=["risk_parity", "risk_budgeting"],
)
def test_a_short_bound_on_a_long_only_method_is_named_not_dropped(crypto_2021, make):
    # the log barrier's domain is long only: WeightBounds(-0.2, 0.5) asked for shorts it
    # cannot give (before: solved long only, the negative bound silently dropped)
    returns = crypto_2021[["BTC/USDT", "ETH/USDT"]]
    with pytest.raises(cx.InvalidInputError, match=r"LongOnly\(\) contradicts WeightBounds"):
        make([cx.WeightBounds(-0.2, 0.8)]).allocate(returns)
    make([cx.WeightBounds(0.0, 0.8)]).allocate(returns)  # a long-only bound is fine
