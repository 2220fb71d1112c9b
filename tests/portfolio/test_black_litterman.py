"""Black-Litterman: the posterior against the precision-weighted closed form and against
PyPortfolioOpt's BlackLittermanModel on the same data, its limits (no views, certain views),
market caps as of the window, and the errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxport as cx
from cvxport.data import load_bundled_market_caps
from cvxport.errors import InvalidInputError
from cvxport.estimation.black_litterman import (
    BlackLitterman,
    BlackLittermanCovariance,
    View,
    absolute_view,
    black_litterman,
    implied_returns,
    relative_view,
    view_matrices,
    view_uncertainty,
)

RTOL = 1e-9  # two algebraically equal formulas in double precision (covariances ~1e-3)


def random_problem(rng, n, k):
    a = rng.normal(size=(n, n + 3)) * 0.02
    covariance = a @ a.T / (n + 3)
    weights = rng.uniform(0.1, 1.0, n)
    prior = implied_returns(covariance, weights / weights.sum(), 2.5)
    picks = rng.normal(size=(k, n))
    values = picks @ prior + rng.normal(0, 0.001, k)
    return covariance, prior, picks, values


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 12), k=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_posterior_matches_the_precision_weighted_closed_form(n, k, seed):
    rng = np.random.default_rng(seed)
    covariance, prior, picks, values = random_problem(rng, n, k)
    tau = 0.05
    confidences = list(rng.uniform(0.1, 0.9, k))
    omega = view_uncertainty(covariance, picks, tau, confidences)
    mean, posterior = black_litterman(covariance, prior, picks, values, omega, tau)
    # mu = [(tau S)^-1 + P' W^-1 P]^-1 [(tau S)^-1 pi + P' W^-1 Q], S_BL = S + that inverse
    precision = np.linalg.inv(tau * covariance) + picks.T @ np.linalg.inv(omega) @ picks
    rhs = np.linalg.solve(tau * covariance, prior) + picks.T @ np.linalg.solve(omega, values)
    expected_mean = np.linalg.solve(precision, rhs)
    expected_cov = covariance + np.linalg.inv(precision)
    assert np.allclose(mean, expected_mean, rtol=0, atol=RTOL * np.abs(expected_mean).max())
    assert np.allclose(posterior, expected_cov, rtol=0, atol=RTOL * np.abs(expected_cov).max())


def test_limits_no_views_and_certain_views():
    rng = np.random.default_rng(1)
    covariance, prior, picks, values = random_problem(rng, 6, 2)
    mean, posterior = black_litterman(
        covariance, prior, picks[:0], values[:0], np.zeros((0, 0)), 0.05
    )
    assert np.array_equal(mean, prior) and np.allclose(posterior, 1.05 * covariance, rtol=1e-15)
    certain = view_uncertainty(covariance, picks, 0.05, [1.0, 1.0])
    assert np.all(certain == 0)
    mean, _ = black_litterman(covariance, prior, picks, values, certain, 0.05)
    assert np.allclose(picks @ mean, values, rtol=0, atol=1e-12)  # the views hold exactly
    # He-Litterman's omega is Idzorek's at confidence 1/2
    assert np.allclose(
        view_uncertainty(covariance, picks, 0.05, [None, None]),
        view_uncertainty(covariance, picks, 0.05, [0.5, 0.5]),
        rtol=1e-15,
    )


@pytest.mark.parametrize("confidences", [(0.3, 0.8, 0.6), (None, None, None)])
def test_black_litterman_agrees_with_pypfopt(crypto_2021, confidences):
    pypfopt = pytest.importorskip("pypfopt")
    returns = crypto_2021
    symbols = list(returns.columns)
    caps = load_bundled_market_caps("2021-12-31", symbols)
    views = [
        absolute_view("BTC/USDT", 0.002, confidences[0]),
        relative_view("ETH/USDT", "SOL/USDT", 0.001, confidences[1]),
        relative_view({"ADA/USDT": 0.5, "DOT/USDT": 0.5}, "XRP/USDT", -0.0005, confidences[2]),
    ]
    model = BlackLitterman(views, market_caps="bundled", risk_aversion=2.5, tau=0.05)
    mean, posterior = model.posterior(returns)

    covariance = pd.DataFrame(np.cov(returns.to_numpy(), rowvar=False), symbols, symbols)
    pi = pypfopt.black_litterman.market_implied_prior_returns(
        pd.Series(caps), 2.5, covariance, risk_free_rate=0.0
    )
    picks, values, _ = view_matrices(views, symbols)
    idzorek = confidences[0] is not None
    peer = pypfopt.BlackLittermanModel(
        covariance,
        pi=pi,
        Q=values,
        P=picks,
        omega="idzorek" if idzorek else "default",
        view_confidences=list(confidences) if idzorek else None,
        tau=0.05,
        risk_aversion=2.5,
    )
    expected_mean = peer.bl_returns().to_numpy()
    expected_cov = peer.bl_cov().to_numpy()
    assert np.allclose(mean, expected_mean, rtol=0, atol=RTOL * np.abs(expected_mean).max())
    assert np.allclose(posterior, expected_cov, rtol=0, atol=RTOL * np.abs(expected_cov).max())
    assert np.allclose(BlackLittermanCovariance(model).estimate(returns), posterior, rtol=0, atol=0)


def test_market_caps_are_taken_as_of_the_window(crypto_2021, crypto_returns):
    window = crypto_2021.loc[:"2021-06-30"]
    model = BlackLitterman(market_caps="bundled")
    covariance = np.cov(window.to_numpy(), rowvar=False)
    caps = np.array(list(load_bundled_market_caps("2021-06-30", list(window.columns)).values()))
    expected = implied_returns(covariance, caps / caps.sum(), 2.5)
    assert np.allclose(model.estimate(window), expected, rtol=1e-12)
    frame = pd.DataFrame(
        [caps, 2 * caps[::-1]], index=pd.to_datetime(["2021-01-01", "2021-07-01"]),
        columns=window.columns,
    )  # fmt: skip
    assert np.allclose(BlackLitterman(market_caps=frame).estimate(window), expected, rtol=1e-12)
    with pytest.raises(InvalidInputError, match="at or before 2020-10-31"):
        BlackLitterman(market_caps=frame).estimate(crypto_returns.loc["2020-10"])


def test_posterior_feeds_any_method(crypto_2021):
    views = [absolute_view("BTC/USDT", 0.003, 0.9), relative_view("ETH/USDT", "BNB/USDT", 0.001)]
    model = BlackLitterman(views)
    allocator = cx.MaximumSharpeAllocator(
        expected_returns=model, covariance=BlackLittermanCovariance(model)
    )
    weights = allocator.allocate(crypto_2021)
    assert weights.sum() == pytest.approx(1.0, abs=1e-9)


def test_black_litterman_errors_name_the_culprit(crypto_2021):
    with pytest.raises(InvalidInputError, match="confidence"):
        absolute_view("BTC/USDT", 0.01, 0.0)
    with pytest.raises(InvalidInputError, match="non-zero weight"):
        View({"BTC/USDT": 0.0}, 0.01)
    with pytest.raises(InvalidInputError, match="'FOO/USDT' is not in the universe"):
        BlackLitterman([absolute_view("FOO/USDT", 0.01)]).estimate(crypto_2021)
    with pytest.raises(InvalidInputError, match="no prior for symbol 'ETH/USDT'"):
        BlackLitterman(prior={"BTC/USDT": 0.001}).estimate(crypto_2021)
    with pytest.raises(InvalidInputError, match="2022"):
        BlackLitterman().estimate(crypto_2021.set_axis(crypto_2021.index + pd.Timedelta("365D")))
    twice = [absolute_view("BTC/USDT", 0.01, 1.0), absolute_view("BTC/USDT", 0.02, 1.0)]
    with pytest.raises(InvalidInputError, match="linearly dependent"):
        BlackLitterman(twice).estimate(crypto_2021)
    with pytest.raises(InvalidInputError, match="tau"):
        BlackLitterman(tau=0.0)
