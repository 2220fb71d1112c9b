"""Factor models: the FactorModel record's algebra against its dense matrix, the principal
components model against the eigen-decomposition and a known structure, the exposures model
against the normal equations, and the errors naming what is wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxport as cx
from cvxport.errors import InvalidInputError
from cvxport.estimation import (
    COVARIANCE_ESTIMATORS,
    ExposureFactorModel,
    FactorModel,
    PCAFactorModel,
    get_covariance_estimator,
    get_factor_model_estimator,
)
from cvxport.estimation.factor_models import SPECIFIC_FLOOR, bai_ng_factors

RTOL = 1e-12  # algebraic identities: rounding only


def random_model(rng: np.random.Generator, n: int, k: int) -> FactorModel:
    a = rng.normal(size=(k, k))
    return FactorModel(
        rng.normal(size=(n, k)),
        a @ a.T / k,
        rng.uniform(0.1, 1.0, n),
        [f"S{i}" for i in range(n)],
    )


def known_structure(n: int, k: int, rows: int, seed: int = 0):
    """(returns, true covariance, true loadings) of a k-factor model with strong factors."""
    rng = np.random.default_rng(seed)
    loadings = np.c_[rng.normal(1.0, 0.3, n), rng.normal(0.0, 1.0, (n, k - 1))]
    factor_vol = np.r_[0.02, np.full(k - 1, 0.01)]
    specific = rng.uniform(0.005, 0.015, n) ** 2
    factors = rng.standard_normal((rows, k)) * factor_vol
    x = factors @ loadings.T + rng.standard_normal((rows, n)) * np.sqrt(specific)
    returns = pd.DataFrame(x, columns=[f"A{i}" for i in range(n)])
    covariance = loadings @ np.diag(factor_vol**2) @ loadings.T + np.diag(specific)
    return returns, covariance, loadings


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_factor_model_products_match_its_dense_matrix(n, k, seed):
    rng = np.random.default_rng(seed)
    model = random_model(rng, n, k)
    dense = model.loadings @ model.factor_covariance @ model.loadings.T
    dense += np.diag(model.specific_variances)
    scale = np.abs(dense).max()
    assert np.allclose(model.dense(), dense, rtol=0, atol=RTOL * scale)
    w = rng.normal(size=n)
    assert np.allclose(model.matvec(w), dense @ w, rtol=0, atol=RTOL * scale * np.abs(w).sum())
    many = rng.normal(size=(n, 3))
    assert np.allclose(model.matvec(many), dense @ many, rtol=0, atol=1e-10 * scale * n)
    assert model.variance(w) == pytest.approx(w @ dense @ w, rel=1e-10, abs=1e-12)
    assert np.allclose(model.variances(), np.diag(dense), rtol=1e-12)
    assert np.allclose(model.scaled(2.5).dense(), 2.5 * dense, rtol=0, atol=3 * RTOL * scale)
    assert np.mean(model.unit_scaled().variances()) == pytest.approx(1.0, rel=1e-12)
    correlation, vols = model.standardized()
    assert np.allclose(correlation.dense(), dense / np.outer(vols, vols), rtol=0, atol=1e-12)
    assert np.allclose(np.diag(correlation.dense()), 1.0, rtol=0, atol=1e-12)
    order = list(reversed(model.symbols))
    assert np.allclose(model.subset(order).dense(), dense[::-1, ::-1], rtol=0, atol=RTOL * scale)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 30), rows=st.integers(3, 60), data=st.data())
def test_pca_model_is_the_top_eigen_reconstruction_with_sample_variances(n, rows, data):
    seed = data.draw(st.integers(0, 2**31))
    rank = min(rows - 1, n)
    k = data.draw(st.integers(1, rank))
    x = np.random.default_rng(seed).normal(size=(rows, n)) * np.linspace(0.01, 0.03, n)
    returns = pd.DataFrame(x, columns=[f"A{i}" for i in range(n)])
    model = PCAFactorModel(n_factors=k).factor_model(returns)
    sample = np.cov(x, rowvar=False)
    values, vectors = np.linalg.eigh(sample)
    top = vectors[:, ::-1][:, :k] * values[::-1][:k] @ vectors[:, ::-1][:, :k].T
    low = model.loadings @ model.factor_covariance @ model.loadings.T
    scale = values[-1]
    assert np.allclose(low, top, rtol=0, atol=1e-9 * scale)
    # the specific variances are what the factors leave of each sample variance (or the floor)
    floor = SPECIFIC_FLOOR * np.mean(np.diag(sample))
    expected = np.maximum(np.diag(sample) - np.diag(top), floor)
    assert np.allclose(model.specific_variances, expected, rtol=0, atol=1e-9 * scale)
    if k == rank:  # every component kept: the sample covariance itself, up to the floor
        assert np.allclose(model.dense(), sample, rtol=0, atol=1e-9 * scale + floor)


@pytest.mark.parametrize(("n", "k"), [(100, 3), (200, 6)])
def test_pca_recovers_a_known_factor_structure(n, k):
    returns, covariance, loadings = known_structure(n, k, rows=2000)
    model = PCAFactorModel().factor_model(returns)
    assert model.n_factors == k  # Bai-Ng IC_p2
    # the estimated factor space is the true one: principal angles near 0
    q_true, _ = np.linalg.qr(loadings)
    cosines = np.linalg.svd(q_true.T @ model.loadings, compute_uv=False)
    assert cosines.min() > 0.99
    # and the model is as close to the truth as the sample covariance, which has n^2 noise
    error = np.linalg.norm(model.dense() - covariance) / np.linalg.norm(covariance)
    sample_error = np.linalg.norm(np.cov(returns.to_numpy(), rowvar=False) - covariance)
    assert error < 0.1
    assert error <= sample_error / np.linalg.norm(covariance)


def test_bai_ng_picks_the_elbow():
    eigenvalues = np.r_[10.0, 5.0, 2.0, np.full(17, 0.01)]
    assert bai_ng_factors(eigenvalues, eigenvalues.sum() + 0.2, n_rows=500, n_assets=200) == 3


def test_exposure_model_solves_the_normal_equations_each_period():
    returns, _, loadings = known_structure(60, 4, rows=300, seed=3)
    exposures = pd.DataFrame(loadings, index=returns.columns, columns=["mkt", "f1", "f2", "f3"])
    model = ExposureFactorModel(exposures.iloc[::-1]).factor_model(returns)  # order by symbol
    x = returns.to_numpy()
    factor_returns = np.linalg.solve(loadings.T @ loadings, loadings.T @ x.T).T
    residuals = x - factor_returns @ loadings.T
    assert model.factors == ("mkt", "f1", "f2", "f3")
    assert np.allclose(model.loadings, loadings, rtol=0, atol=0)
    assert np.allclose(
        model.factor_covariance, np.cov(factor_returns, rowvar=False), rtol=1e-9, atol=0
    )
    assert np.allclose(model.specific_variances, residuals.var(axis=0, ddof=1), rtol=1e-9)


def test_exposure_model_recovers_noise_free_factor_returns_exactly():
    rng = np.random.default_rng(5)
    loadings = rng.normal(size=(30, 3))
    factors = rng.normal(size=(100, 3)) * 0.01
    returns = pd.DataFrame(factors @ loadings.T, columns=[f"A{i}" for i in range(30)])
    model = ExposureFactorModel(pd.DataFrame(loadings, index=returns.columns)).factor_model(returns)
    assert np.allclose(model.factor_covariance, np.cov(factors, rowvar=False), rtol=1e-10)
    floor = SPECIFIC_FLOOR * np.mean(returns.var())
    assert np.allclose(model.specific_variances, floor, rtol=1e-6)


def test_exposures_per_rebalance_use_the_frame_in_force():
    returns, _, loadings = known_structure(20, 2, rows=50)
    returns.index = pd.date_range("2024-01-01", periods=50, freq="D")
    old = pd.DataFrame(loadings, index=returns.columns, columns=["a", "b"])
    new = old * 2.0
    by_date = {pd.Timestamp("2024-01-10"): old, pd.Timestamp("2024-02-10"): new}
    estimator = ExposureFactorModel(by_date)
    assert estimator.frame_for(returns) is new  # the window ends 2024-02-19
    assert estimator.frame_for(returns.loc[:"2024-02-09"]) is old
    assert estimator.frame_for(returns.loc[:"2024-02-10"]) is new
    with pytest.raises(InvalidInputError, match="at or before 2024-01-05"):
        estimator.factor_model(returns.iloc[:5])


def test_factor_model_errors_name_the_culprit():
    returns, _, loadings = known_structure(10, 2, rows=40)
    exposures = pd.DataFrame(loadings, index=returns.columns, columns=["mkt", "size"])
    with pytest.raises(InvalidInputError, match="'A3'"):
        ExposureFactorModel(exposures.drop("A3")).factor_model(returns)
    broken = exposures.copy()
    broken.loc["A4", "size"] = np.nan
    with pytest.raises(InvalidInputError, match="'A4' to 'size'"):
        ExposureFactorModel(broken).factor_model(returns)
    collinear = exposures.assign(twice=2 * exposures["mkt"])
    with pytest.raises(InvalidInputError, match="collinear"):
        ExposureFactorModel(collinear).factor_model(returns)
    with pytest.raises(InvalidInputError, match="'S1'"):
        FactorModel(np.ones((2, 1)), np.eye(1), np.array([1.0, 0.0]), ["S0", "S1"])
    with pytest.raises(InvalidInputError, match="symbols"):
        FactorModel(np.ones((2, 1)), np.eye(1), np.ones(2), ["S0", "S0"])
    with pytest.raises(InvalidInputError, match="do not fit"):
        FactorModel(np.ones((2, 1)), np.eye(2), np.ones(2), ["S0", "S1"])
    with pytest.raises(InvalidInputError, match="5 factors"):
        PCAFactorModel(n_factors=5).factor_model(returns.iloc[:4])
    with pytest.raises(InvalidInputError, match="n_factors"):
        PCAFactorModel(n_factors=0)
    with pytest.raises(InvalidInputError, match="svd_solver"):
        PCAFactorModel(svd_solver="qr")
    one = PCAFactorModel().factor_model(returns[["A0"]])  # one asset: one factor, exact
    assert one.n_factors == 1 and np.allclose(one.dense(), returns[["A0"]].var(), rtol=1e-5)
    with pytest.raises(InvalidInputError, match="unknown factor model"):
        get_factor_model_estimator("nope")


def test_factor_models_are_selectable_by_name_or_object(crypto_2021):
    assert isinstance(get_factor_model_estimator("pca"), PCAFactorModel)
    exposures = ExposureFactorModel(pd.DataFrame(np.ones((11, 1)), index=crypto_2021.columns))
    assert get_factor_model_estimator(exposures) is exposures
    assert COVARIANCE_ESTIMATORS["pca"] is PCAFactorModel
    dense = get_covariance_estimator("pca").estimate(crypto_2021)
    assert np.allclose(dense, PCAFactorModel().factor_model(crypto_2021).dense(), rtol=1e-14)
    # any covariance-based method takes a factor model as its covariance estimator
    weights = cx.MinimumVarianceAllocator(covariance=exposures).allocate(crypto_2021)
    assert weights.sum() == pytest.approx(1.0, abs=1e-9)
