"""The trade sizer shared by the backtest and live rebalancing: exact without market limits,
exchange rounding (against ccxt's own decimal_to_precision), minimums skipped and reported,
a drifted portfolio brought back within one lot with cash never negative."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvxport.backtest.costs import post_cost_equity
from cvxport.backtest.sizer import MarketLimits, size_trades, target_units
from cvxport.errors import InvalidInputError

ccxt_precision = pytest.importorskip("ccxt.base.decimal_to_precision")

STEPS = [1e-8, 1e-5, 0.001, 0.01, 0.1, 1.0, 0.25, 5.0]
SYMBOLS = ["A", "B", "C", "D", "E"]


@settings(max_examples=300, deadline=None)
@given(
    quantity=st.floats(1e-9, 1e6, allow_nan=False, allow_infinity=False),
    step=st.sampled_from(STEPS),
)
def test_amounts_truncate_like_ccxt(quantity, step):
    """Quantities are truncated to the lot size exactly as ccxt's amount_to_precision does
    (TRUNCATE, TICK_SIZE counting), so the exchange receives the number we booked."""
    ours = MarketLimits(amount_step=step).round_amount(quantity)
    theirs = ccxt_precision.decimal_to_precision(
        quantity, ccxt_precision.TRUNCATE, step, ccxt_precision.TICK_SIZE
    )
    assert ours == float(theirs)
    assert ours <= quantity


@settings(max_examples=300, deadline=None)
@given(
    price=st.floats(1e-4, 1e6, allow_nan=False, allow_infinity=False),
    tick=st.sampled_from([0.01, 0.1, 1e-4, 0.5, 1e-8]),
)
def test_prices_round_like_ccxt(price, tick):
    ours = MarketLimits(price_tick=tick).round_price(price)
    theirs = ccxt_precision.decimal_to_precision(
        price, ccxt_precision.ROUND, tick, ccxt_precision.TICK_SIZE
    )
    assert ours == pytest.approx(float(theirs), rel=1e-15, abs=0)


def test_without_limits_the_numbers_are_the_engines():
    """No limits, no buffer: units are target * E' / price with E' the post-cost equity."""
    rng = np.random.default_rng(3)
    units, price = rng.uniform(0, 10, 5), rng.uniform(1, 100, 5)
    target = rng.dirichlet(np.ones(5))
    plan = size_trades(SYMBOLS, units, 123.0, price, target, 0.002)
    equity = 123.0 + float((units * price).sum())
    expected = target * post_cost_equity(equity, units * price, target, 0.002) / price
    np.testing.assert_array_equal(plan.new_units, expected)
    np.testing.assert_array_equal(
        target_units(equity, units * price, target, 0.002, price), expected
    )
    assert [t["action"] for t in plan.trades] == sorted(
        (t["action"] for t in plan.trades), reverse=True
    )  # sells first
    assert plan.skipped == []


def test_cash_buffer_stays_in_cash():
    price = np.array([10.0, 20.0])
    plan = size_trades(["A", "B"], np.zeros(2), 1_000.0, price, np.array([0.5, 0.5]), 0.0, 0.02)
    spent = sum(t["value"] for t in plan.trades)
    assert 1_000.0 - spent == pytest.approx(20.0, rel=1e-12)


def test_below_minimum_is_skipped_and_reported():
    limits = {"A": MarketLimits(amount_step=0.001, min_notional=10.0)}
    price = np.array([100.0, 1.0])
    units = np.array([1.0, 100.0])  # 100 in A, 100 in B: target 52/48 moves 4 of notional
    plan = size_trades(["A", "B"], units, 0.0, price, np.array([0.52, 0.48]), 0.0, 0.0, limits)
    assert [s["symbol"] for s in plan.skipped] == ["A"]
    assert "minimum notional 10" in plan.skipped[0]["reason"]
    # B's sale is not needed to fund A any more: with A skipped, B sells 4 and cash holds it
    assert plan.new_units[0] == 1.0


def test_non_positive_equity_is_refused():
    with pytest.raises(InvalidInputError, match="equity"):
        size_trades(["A"], np.zeros(1), 0.0, np.ones(1), np.ones(1), 0.0)


@pytest.mark.parametrize("field", ["amount_step", "price_tick", "min_amount", "min_notional"])
def test_bad_limits_are_named(field):
    with pytest.raises(InvalidInputError, match=field):
        MarketLimits(**{field: -1.0})


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rate=st.sampled_from([0.0, 0.001, 0.0075]),
    buffer=st.sampled_from([0.0, 0.001, 0.01]),
)
def test_drifted_portfolio_back_to_target_within_one_lot(seed, rate, buffer):
    """Random drifted holdings, lot sizes and minimums: applying the trades at the sizing
    prices, paying the fees, never leaves negative cash, and every symbol ends within one lot
    of the ideal (unrounded) units, or within the minimum of it when the trade was skipped."""
    rng = np.random.default_rng(seed)
    price = rng.uniform(0.5, 50_000, 5)
    steps = rng.choice(STEPS[:6], 5)
    limits = {
        s: MarketLimits(amount_step=float(st_), min_notional=float(rng.choice([0.0, 5.0, 10.0])))
        for s, st_ in zip(SYMBOLS, steps, strict=True)
    }
    units = np.array(
        [
            limits[s].round_amount(u)
            for s, u in zip(SYMBOLS, rng.uniform(0, 3, 5) * 20_000 / price, strict=True)
        ]
    )
    cash = float(rng.uniform(0, 5_000))
    target = rng.dirichlet(np.ones(5))
    plan = size_trades(SYMBOLS, units, cash, price, target, rate, buffer, limits)
    held = units * price
    ideal = target_units(cash + held.sum(), held, target, rate, price, buffer)
    after_cash = cash
    after = units.copy()
    for trade in plan.trades:
        i = SYMBOLS.index(trade["symbol"])
        sign = 1.0 if trade["action"] == "BUY" else -1.0
        after[i] += sign * trade["quantity"]
        after_cash -= sign * trade["value"] + trade["cost"]
        assert limits[trade["symbol"]].round_amount(trade["quantity"]) == trade["quantity"]
        assert trade["value"] >= limits[trade["symbol"]].min_notional
    assert after_cash >= -1e-9 * (cash + held.sum())
    np.testing.assert_array_equal(after, plan.new_units)
    skipped = {s["symbol"]: s for s in plan.skipped}
    scaled = any(s["reason"] == "no cash left" for s in plan.skipped) or any(
        s["action"] == "SELL" for s in plan.skipped
    )
    for i, symbol in enumerate(SYMBOLS):
        gap = abs(after[i] - ideal[i])
        if symbol in skipped:
            assert gap * price[i] <= max(limits[symbol].min_notional, steps[i] * price[i]) * 1.0001
        elif not scaled:
            assert gap <= steps[i] * (1 + 1e-9)
