"""Mean and covariance estimators, PSD repair and unit scaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL
from sklearn.covariance import OAS, LedoitWolf

import cvxport as cx
from cvxport.estimation import (
    clip_to_psd,
    get_covariance_estimator,
    get_expected_returns_estimator,
    unit_scale_factor,
    unit_scaled,
)

ATOL = SOLVER_ATOL["CLARABEL"]

# Three rows, two assets, worked by hand below (halflife 1 bar: weights 1/4, 1/2, 1).
SMALL = pd.DataFrame([[1.0, 2.0], [3.0, 0.0], [2.0, 4.0]], columns=["X", "Y"])


def test_sample_covariance_is_numpy_and_pandas_with_ddof_1(crypto_returns):
    estimate = cx.SampleCovariance().estimate(crypto_returns)
    np.testing.assert_allclose(
        estimate, np.cov(crypto_returns.to_numpy(), rowvar=False), rtol=1e-12
    )
    np.testing.assert_allclose(estimate, crypto_returns.cov().to_numpy(), rtol=1e-12)
    biased = cx.SampleCovariance(ddof=0).estimate(crypto_returns)
    np.testing.assert_allclose(biased * len(crypto_returns), estimate * (len(crypto_returns) - 1))


@pytest.mark.parametrize(
    ("ours", "theirs"), [(cx.LedoitWolfCovariance, LedoitWolf), (cx.OASCovariance, OAS)]
)
def test_shrinkage_estimators_equal_scikit_learn(ours, theirs, crypto_returns):
    expected = theirs().fit(crypto_returns.to_numpy()).covariance_
    np.testing.assert_allclose(ours().estimate(crypto_returns), expected, rtol=1e-12)


def test_ewma_covariance_by_hand():
    # Normalized weights 1/7, 2/7, 4/7. Weighted means: X (1 + 6 + 8)/7 = 15/7,
    # Y (2 + 0 + 16)/7 = 18/7. Deviations: X (-8, 6, -1)/7, Y (-4, -18, 10)/7.
    # Weighted second moments: XX (64 + 72 + 4)/343 = 20/49, YY (16 + 648 + 400)/343 = 152/49,
    # XY (32 - 216 - 40)/343 = -32/49. Unbiasing 1 / (1 - sum w^2) = 1 / (1 - 21/49) = 7/4:
    # XX 5/7, YY 38/7, XY -8/7.
    estimate = cx.EWMACovariance(halflife=1).estimate(SMALL)
    np.testing.assert_allclose(estimate, [[5 / 7, -8 / 7], [-8 / 7, 38 / 7]], rtol=1e-14)
    np.testing.assert_allclose(cx.EWMAMean(halflife=1).estimate(SMALL), [15 / 7, 18 / 7])


def test_ewma_estimators_equal_pandas_ewm(crypto_2021):
    halflife = 30
    mean = crypto_2021.ewm(halflife=halflife).mean().iloc[-1].to_numpy()
    cov = crypto_2021.ewm(halflife=halflife).cov(bias=False).loc[crypto_2021.index[-1]]
    np.testing.assert_allclose(cx.EWMAMean(halflife).estimate(crypto_2021), mean, rtol=1e-10)
    np.testing.assert_allclose(
        cx.EWMACovariance(halflife).estimate(crypto_2021), cov.to_numpy(), rtol=1e-10
    )


def test_long_halflife_tends_to_the_sample_estimates(crypto_2021):
    np.testing.assert_allclose(
        cx.EWMACovariance(halflife=1e9).estimate(crypto_2021),
        crypto_2021.cov().to_numpy(),
        rtol=1e-6,
    )


def test_clip_to_psd_by_hand():
    # [[1, 2], [2, 1]] has eigenvalues 3 (vector (1, 1)/sqrt 2) and -1: the nearest PSD
    # matrix keeps 3 v v' = [[1.5, 1.5], [1.5, 1.5]].
    np.testing.assert_allclose(
        clip_to_psd(np.array([[1.0, 2.0], [2.0, 1.0]])), np.full((2, 2), 1.5)
    )
    psd = np.array([[2.0, 1.0], [1.0, 2.0]])
    np.testing.assert_array_equal(clip_to_psd(psd), psd)  # already PSD: unchanged


def test_singular_sample_covariance_is_made_psd_and_allocations_work(crypto_returns):
    returns = crypto_returns.iloc[-6:]  # 6 rows, 11 assets: rank at most 5
    sample = cx.SampleCovariance().estimate(returns)
    assert np.linalg.matrix_rank(sample) <= 5
    repaired = clip_to_psd(sample)
    eigenvalues = np.linalg.eigvalsh(repaired)
    assert eigenvalues.min() >= -1e-15 * eigenvalues.max()
    np.testing.assert_allclose(repaired, repaired.T, rtol=0, atol=0)
    for allocator in (
        cx.MinimumVarianceAllocator(),
        cx.RiskParityAllocator(),
        cx.HRPAllocator(),
        cx.InverseVolatilityAllocator(),
    ):
        weights = allocator.allocate(returns)
        assert weights.sum() == pytest.approx(1.0, abs=ATOL)
        assert weights.min() >= -ATOL


@dataclass(frozen=True)
class Scaled:
    """A covariance estimator object: the sample covariance times ``factor``."""

    factor: float

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        return self.factor * np.cov(returns.to_numpy(), rowvar=False)


def test_unit_scaling_divides_by_the_average_variance(crypto_returns):
    sample = cx.SampleCovariance().estimate(crypto_returns)
    assert unit_scale_factor(sample) == pytest.approx(np.mean(np.diag(sample)), rel=1e-15)
    assert np.mean(np.diag(unit_scaled(sample))) == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("factor", [1e-8, 1e4])
@pytest.mark.parametrize(
    "make",
    [
        lambda cov: cx.MinimumVarianceAllocator(covariance=cov),
        lambda cov: cx.MinimumVarianceAllocator(
            covariance=cov, constraints=[cx.WeightBounds(0.05, 0.4)]
        ),
        lambda cov: cx.MaximumSharpeAllocator(covariance=cov),
        lambda cov: cx.RiskParityAllocator(covariance=cov, solver="CLARABEL"),
    ],
    ids=["min_variance", "min_variance_bounded", "max_sharpe", "risk_parity"],
)
def test_the_units_of_the_covariance_do_not_change_the_weights(make, factor, crypto_2021):
    reference = make("sample").allocate(crypto_2021)
    rescaled = make(Scaled(factor)).allocate(crypto_2021)
    # with the scale absorbed, both solves are the same O(1) problem
    np.testing.assert_allclose(rescaled, reference, atol=2 * ATOL, rtol=0)


def test_estimators_chosen_by_name_reach_the_allocator(crypto_returns):
    # unbounded minimum variance with Ledoit-Wolf: normalized LW^-1 1
    lw = LedoitWolf().fit(crypto_returns.to_numpy()).covariance_
    closed = np.linalg.solve(lw, np.ones(11))
    allocator = cx.MinimumVarianceAllocator(covariance="ledoit_wolf", long_only=False)
    np.testing.assert_allclose(allocator.allocate(crypto_returns), closed / closed.sum(), atol=ATOL)
    # unbounded maximum Sharpe with EWMA means: normalized S^-1 mu_ewma (1' S^-1 mu > 0)
    mu = crypto_returns.ewm(halflife=365).mean().iloc[-1].to_numpy()
    closed = np.linalg.solve(crypto_returns.cov().to_numpy(), mu)
    assert closed.sum() > 0
    allocator = cx.MaximumSharpeAllocator(expected_returns=cx.EWMAMean(365), long_only=False)
    # per unit of gross exposure, as in test_solvers
    gross = np.abs(closed / closed.sum()).sum()
    np.testing.assert_allclose(
        allocator.allocate(crypto_returns), closed / closed.sum(), atol=ATOL * gross
    )


def test_estimator_names_and_objects_are_resolved_or_refused():
    assert isinstance(get_covariance_estimator("OAS"), cx.OASCovariance)
    assert isinstance(get_covariance_estimator("ewma"), cx.EWMACovariance)
    assert isinstance(get_expected_returns_estimator("sample"), cx.SampleMean)
    obj = Scaled(2.0)
    assert get_covariance_estimator(obj) is obj
    with pytest.raises(cx.InvalidInputError, match=r"'shrunk'.*ledoit_wolf"):
        get_covariance_estimator("shrunk")
    with pytest.raises(cx.InvalidInputError, match="estimate"):
        get_covariance_estimator(42)
    with pytest.raises(cx.InvalidInputError, match="'median'"):
        get_expected_returns_estimator("median")
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(cx.InvalidInputError, match="halflife"):
            cx.EWMACovariance(halflife=bad)
        with pytest.raises(cx.InvalidInputError, match="halflife"):
            cx.EWMAMean(halflife=bad)


def test_a_covariance_estimator_returning_garbage_is_named(crypto_2021):
    with pytest.raises(cx.InvalidInputError, match="shape"):
        cx.MinimumVarianceAllocator(covariance=Scaled(float("nan"))).allocate(crypto_2021)


def test_an_asset_with_zero_variance_is_named(crypto_2021):
    returns = crypto_2021.copy()
    returns["USDC/USDT"] = 0.0
    with pytest.raises(cx.InvalidInputError, match="'USDC/USDT' have zero variance"):
        cx.MinimumVarianceAllocator().allocate(returns)
