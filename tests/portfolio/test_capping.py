"""Proportional capping of closed-form weights (capped-index style) against a hand-computed
example, an iterative capping loop written as index rulebooks state it, and its fixed point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxport as cx
from cvxport.allocators.capping import proportional_capping

CAPS = {"A": 60.0, "B": 25.0, "C": 10.0, "D": 5.0}  # cap weights 0.60, 0.25, 0.10, 0.05


def _returns() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    index = pd.date_range("2024-01-01", periods=60, freq="D", name="timestamp")
    return pd.DataFrame(rng.normal(0, 0.02, (60, 4)), index=index, columns=list(CAPS))


def _market_cap(bounds, capping) -> pd.Series:
    allocator = cx.MarketCapAllocator(CAPS, constraints=[bounds], capping=capping)
    return allocator.allocate(_returns())


def test_hand_example_two_rounds_of_capping():
    # Cap 35%. Round 1: A 0.60 -> 0.35; B, C, D (0.40 together) must fill 0.65: times 1.625,
    # B = 0.40625 > 0.35. Round 2: B -> 0.35; C, D (0.24375) must fill 0.30: C = 0.20,
    # D = 0.10, in the ratio 2:1 of their caps. Fixed point: lam = 2, clip(2 t, 0, 0.35).
    weights = _market_cap(cx.WeightBounds(0.0, 0.35), "proportional")
    np.testing.assert_allclose(weights, [0.35, 0.35, 0.20, 0.10], rtol=0, atol=1e-15)
    # today's default, the Euclidean projection clip(t + nu, 0, 0.35): A capped, B, C, D
    # shifted by the same nu: 0.35 + 0.40 + 3 nu = 1, nu = 1/12; B = 1/3 < 0.35, so
    # (0.35, 1/3, 11/60, 2/15): C:D is no longer 2:1
    projected = _market_cap(cx.WeightBounds(0.0, 0.35), "projection")
    np.testing.assert_allclose(projected, [0.35, 1 / 3, 11 / 60, 2 / 15], rtol=0, atol=1e-6)
    assert cx.MarketCapAllocator().capping == "projection"  # the default is unchanged


def test_hand_example_with_a_floor():
    # Bounds [0.12, 0.35]: D's 0.10 is raised to 0.12, A and B capped at 0.35, C takes the
    # rest 1 - 0.82 = 0.18 (lam = 1.8: 1.8 * 0.10 = 0.18 lies inside [0.12, 0.35]).
    weights = _market_cap(cx.WeightBounds(0.12, 0.35), "proportional")
    np.testing.assert_allclose(weights, [0.35, 0.35, 0.18, 0.12], rtol=0, atol=1e-15)


def _rulebook_capping(target: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Capping as index rulebooks state it: cap every name above its cap, hand the excess to
    the uncapped names in proportion to their weights, repeat until none exceeds its cap."""
    weights = target / target.sum()
    capped = np.zeros(len(target), dtype=bool)
    for _ in range(len(target) + 1):
        over = ~capped & (weights > cap)
        if not over.any():
            return weights
        capped |= over
        weights[capped] = cap[capped]
        free = ~capped
        weights[free] = target[free] * (1 - cap[capped].sum()) / target[free].sum()
    raise AssertionError("the rulebook loop did not settle")


targets = st.lists(st.floats(0.01, 100.0), min_size=2, max_size=12).map(np.array)


@settings(max_examples=200, deadline=None)
@given(target=targets, cap_share=st.floats(0.0, 1.0), data=st.data())
def test_caps_only_equal_the_rulebook_loop(target, cap_share, data):
    n = len(target)
    caps = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    caps = 1 / n + cap_share * caps  # sum of caps >= 1: feasible
    weights = proportional_capping(target, np.zeros(n), caps)
    np.testing.assert_allclose(weights, _rulebook_capping(target, caps), rtol=0, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(target=targets, data=st.data())
def test_fixed_point_with_floors_and_caps(target, data):
    n = len(target)
    draw = st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)
    low = np.array(data.draw(draw)) * data.draw(st.floats(0.0, 1.0)) / n  # sums to <= 1
    high = low + np.array(data.draw(draw)) * data.draw(st.floats(0.0, 2.0))
    if high.sum() < 1:
        high += (1 - high.sum()) / n + 1e-9
    weights = proportional_capping(target, low, high)
    assert abs(weights.sum() - 1) <= 1e-12
    assert np.all(weights >= low - 1e-15) and np.all(weights <= high + 1e-15)
    # w = clip(lam * t, low, high) for one lam: the names strictly inside share w / t = lam,
    # a name at its cap has lam * t >= cap, one at its floor lam * t <= floor
    inside = (weights > low + 1e-12) & (weights < high - 1e-12)
    if inside.any():
        ratios = weights[inside] / target[inside]
        lam = ratios.mean()
        np.testing.assert_allclose(ratios, lam, rtol=1e-12)
        at_cap, at_floor = ~inside & (weights >= high - 1e-12), ~inside & (weights <= low + 1e-12)
        assert np.all(lam * target[at_cap & ~at_floor] >= high[at_cap & ~at_floor] * (1 - 1e-9))
        assert np.all(lam * target[at_floor & ~at_cap] <= low[at_floor & ~at_cap] * (1 + 1e-9))


def test_inverse_volatility_capped_proportionally_keeps_the_ratios():
    returns = _returns() * [1.0, 0.2, 1.0, 1.0]  # B: a fifth of the volatility, over the cap
    allocator = cx.InverseVolatilityAllocator(
        constraints=[cx.WeightBounds(0.0, 0.4)], capping="proportional"
    )
    weights = allocator.allocate(returns)
    inverse_vol = 1 / returns.std()
    assert weights["B"] == pytest.approx(0.4, abs=1e-15)
    others = weights.drop("B")
    np.testing.assert_allclose(
        others / others.sum(), inverse_vol.drop("B") / inverse_vol.drop("B").sum(), rtol=1e-12
    )
    assert allocator.info_ is None  # no solver


def test_proportional_capping_refuses_what_it_cannot_honour():
    group = cx.GroupLimits(["A", "B"], upper=0.5)
    with pytest.raises(cx.InvalidInputError, match=r"capping='proportional'.*GroupLimits"):
        cx.MarketCapAllocator(CAPS, constraints=[group], capping="proportional").allocate(
            _returns()
        )
    with pytest.raises(cx.InvalidInputError, match=r"MarketCapAllocator\.capping"):
        cx.MarketCapAllocator(CAPS, capping="pro-rata")
    with pytest.raises(cx.InvalidInputError, match=r"InverseVolatilityAllocator\.capping"):
        cx.InverseVolatilityAllocator(capping=None)


def test_the_manager_backtests_proportional_capping_under_the_config_bounds():
    # the spec's caps (BTC 800bn, ETH 300bn, SOL 50bn) under max_position_weight=0.5: BTC's
    # 800/1150 = 0.696 is capped at 0.5 and ETH and SOL share the other 0.5 in the ratio 6:1,
    # ETH = 3/7 and SOL = 1/14 (the projection would give 0.359 and 0.141 instead)
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    caps = {"BTC/USDT": 800e9, "ETH/USDT": 300e9, "SOL/USDT": 50e9}
    allocator = cx.MarketCapAllocator(caps, capping="proportional")
    config = cx.PortfolioConfig(
        symbols=symbols, allocator=allocator, min_position_weight=0.05, max_position_weight=0.5
    )
    result = cx.PortfolioManager(config).backtest(cx.load_bundled_prices(symbols))
    expected = np.tile([0.5, 3 / 7, 1 / 14], (len(result.allocation_history), 1))
    np.testing.assert_allclose(result.allocation_history.to_numpy(), expected, atol=1e-12)
