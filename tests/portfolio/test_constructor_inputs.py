"""Constructor inputs a user gets wrong are named, never used as given: a group listing a symbol
twice (it would count twice), an ordering of a symbol against itself, ``None`` for a list of
symbols, benchmark weights that are not finite numbers."""

from __future__ import annotations

import pytest

import cvxport as cx


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: cx.GroupLimits(("BTC/USDT", "BTC/USDT"), upper=0.5), "twice"),
        (lambda: cx.NetExposure(0.0, 1.0, symbols=("BTC/USDT", "BTC/USDT")), "twice"),
        (lambda: cx.NetExposure(0.0, 1.0, symbols=None), "NetExposure.symbols"),
        (lambda: cx.NetExposure(0.0, 1.0, symbols=5), "NetExposure.symbols"),
        (lambda: cx.WeightOrdering("BTC/USDT", "BTC/USDT"), "itself"),
        (lambda: cx.TrackingError({"BTC/USDT": float("nan")}), "TrackingError.benchmark_weights"),
        (lambda: cx.TrackingError({"BTC/USDT": "x"}), "TrackingError.benchmark_weights"),
        (lambda: cx.TrackingError({1: 0.5}), "TrackingError.benchmark_weights"),
        (lambda: cx.TrackingError((("BTC/USDT",),)), "TrackingError.benchmark_weights"),
        (lambda: cx.ExAnteTrackingError({"BTC/USDT": float("inf")}), "ExAnteTrackingError"),
        (lambda: cx.FactorExposureLimits(None, {"BTC/USDT": 1.0}, lower=0), "factor"),
        (lambda: cx.FactorExposureLimits("mkt", {"BTC/USDT": 1.0}, lower="1"), r"lower"),
        (lambda: cx.FactorExposureLimits("mkt", {"BTC/USDT": 1.0}, upper=None), r"upper"),
        (lambda: cx.FactorExposureLimits("mkt", {"BTC/USDT": "x"}, lower=0), "BTC/USDT"),
    ],
)
def test_a_bad_constructor_input_is_named(make, match):
    with pytest.raises(cx.InvalidInputError, match=match):
        make()


def test_an_empty_net_exposure_still_means_every_asset():
    assert cx.NetExposure(0.0, 1.0).symbols == ()
    assert cx.NetExposure(0.0, 1.0, symbols=[]).symbols == ()
    assert cx.NetExposure(0.0, 1.0, symbols=["BTC/USDT"]).symbols == ("BTC/USDT",)
    frozen = cx.TrackingError({"ETH/USDT": 0.4, "BTC/USDT": 0.6})
    assert frozen == cx.TrackingError(frozen.benchmark_weights)  # sorted pairs round-trip
