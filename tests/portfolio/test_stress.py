"""Stress tests: hand-computed scenarios, VaR/ES closed forms, properties, a real manager."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvxport.allocators.risk_model import estimate_covariance
from cvxport.analysis import (
    PortfolioStressTester,
    blend_correlation,
    component_var,
    parametric_var_es,
    stress_covariance,
    stress_scenario,
)
from cvxport.config import PortfolioConfig
from cvxport.data import load_bundled_prices
from cvxport.errors import InvalidInputError
from cvxport.manager import PortfolioManager

HAND_ATOL = 1e-12  # closed forms in floats
Z95 = 1.6448536269514722  # standard normal quantile at 0.95
PDF_Z95 = 0.10313564037537128  # standard normal density at Z95
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def _cov(vols, corr) -> pd.DataFrame:
    vols = np.asarray(vols, dtype=float)
    names = list("ABC")[: len(vols)]
    return pd.DataFrame(np.outer(vols, vols) * np.asarray(corr), index=names, columns=names)


COV2 = _cov([0.02, 0.04], [[1.0, 0.2], [0.2, 1.0]])
W2 = pd.Series([0.6, 0.3], index=["A", "B"])  # 10% cash


def test_blend_correlation_by_hand():
    corr = pd.DataFrame([[1.0, 0.2], [0.2, 1.0]])
    blended = blend_correlation(corr, 0.5)
    np.testing.assert_allclose(blended, [[1.0, 0.6], [0.6, 1.0]], atol=HAND_ATOL)
    np.testing.assert_allclose(blend_correlation(corr, 0.0), corr, atol=HAND_ATOL)
    np.testing.assert_allclose(blend_correlation(corr, 1.0), np.ones((2, 2)), atol=HAND_ATOL)


def test_stress_covariance_by_hand():
    stressed = stress_covariance(COV2, correlation_increase=0.5, volatility_multiplier=2.0)
    # vols 4% and 8%, correlation 0.2 + 0.5 * 0.8 = 0.6
    expected = [[0.04**2, 0.6 * 0.04 * 0.08], [0.6 * 0.04 * 0.08, 0.08**2]]
    np.testing.assert_allclose(stressed, expected, atol=HAND_ATOL)
    assert list(stressed.index) == ["A", "B"]


def test_parametric_var_es_by_hand():
    cov = _cov([0.02], [[1.0]])
    var, es = parametric_var_es(pd.Series([1.0], index=["A"]), cov, confidence=0.95, horizon=4)
    # sigma_h = 2% * sqrt(4) = 4%
    assert var == pytest.approx(Z95 * 0.04, abs=HAND_ATOL)
    assert es == pytest.approx(PDF_Z95 / 0.05 * 0.04, abs=HAND_ATOL)


def test_price_shock_by_hand():
    result = stress_scenario(W2, None, {"A": -0.3, "B": -0.5})
    # P&L: 0.6 * -0.3 = -0.18, 0.3 * -0.5 = -0.15; cash unchanged
    assert result["portfolio_loss"] == pytest.approx(0.33, abs=HAND_ATOL)
    assert result["asset_pnl"] == pytest.approx({"A": -0.18, "B": -0.15}, abs=HAND_ATOL)
    assert result["worst_asset"] == "A"
    assert "stressed_var" not in result


def test_volatility_scenario_by_hand():
    result = stress_scenario(W2, COV2, {"volatility_multiplier": 2.0}, periods_per_year=365)
    variance = 0.36 * 0.0004 + 0.09 * 0.0016 + 2 * 0.6 * 0.3 * 0.2 * 0.02 * 0.04
    sigma = math.sqrt(variance)
    assert result["volatility"] == pytest.approx(sigma * math.sqrt(365), abs=HAND_ATOL)
    assert result["stressed_volatility"] == pytest.approx(2 * sigma * math.sqrt(365), abs=1e-12)
    assert result["var"] == pytest.approx(Z95 * sigma, abs=HAND_ATOL)
    assert result["stressed_var"] == pytest.approx(2 * Z95 * sigma, abs=HAND_ATOL)
    assert result["stressed_expected_shortfall"] == pytest.approx(
        2 * PDF_Z95 / 0.05 * sigma, abs=HAND_ATOL
    )
    # A covariance-only scenario loses its stressed VaR, split by Euler contributions.
    assert result["portfolio_loss"] == pytest.approx(result["stressed_var"], abs=HAND_ATOL)
    # (Sigma' w)_A = 4 * (0.6 * 4e-4 + 0.3 * 1.6e-4) = 4 * 2.88e-4
    cvar_a = 2 * Z95 * 0.6 * (0.6 * 0.0004 + 0.3 * 0.00016) / sigma
    assert result["asset_pnl"]["A"] == pytest.approx(-cvar_a, abs=HAND_ATOL)
    assert result["worst_asset"] == "A"


def test_mixed_scenario_uses_post_shock_exposures():
    scenario = {"A": -0.5, "correlation_increase": 1.0}
    result = stress_scenario(W2, COV2, scenario, periods_per_year=252)
    # Exposures 0.3 and 0.3; with correlation 1 the stressed sigma is 0.3*0.02 + 0.3*0.04.
    assert result["shock_loss"] == pytest.approx(0.3, abs=HAND_ATOL)
    assert result["stressed_var"] == pytest.approx(Z95 * 0.018, abs=HAND_ATOL)
    assert result["portfolio_loss"] == pytest.approx(0.3 + Z95 * 0.018, abs=HAND_ATOL)
    assert sum(result["asset_pnl"].values()) == pytest.approx(-result["portfolio_loss"], abs=1e-12)


def test_errors_name_the_culprit():
    with pytest.raises(InvalidInputError, match="'DOGE'"):
        stress_scenario(W2, COV2, {"DOGE": -0.2})
    with pytest.raises(InvalidInputError, match="'volatility_multiplyer'"):
        stress_scenario(W2, COV2, {"volatility_multiplyer": 2.0}, periods_per_year=252)
    with pytest.raises(InvalidInputError, match="'A'"):
        stress_scenario(W2, None, {"A": -1.5})
    with pytest.raises(InvalidInputError, match="correlation_increase"):
        stress_scenario(W2, COV2, {"correlation_increase": 1.5}, periods_per_year=252)
    with pytest.raises(InvalidInputError, match="covariance"):
        stress_scenario(W2, None, {"volatility_multiplier": 2.0})
    with pytest.raises(InvalidInputError, match=r"not finite for \['B'\]"):
        stress_scenario(pd.Series([0.5, np.nan], index=["A", "B"]), None, {"A": -0.1})
    with pytest.raises(InvalidInputError, match="confidence"):
        parametric_var_es(W2, COV2, confidence=1.0)
    with pytest.raises(InvalidInputError, match="horizon"):
        parametric_var_es(W2, COV2, horizon=0)


weights_strategy = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=5).filter(
    lambda xs: sum(xs) > 1e-3
)


@settings(max_examples=50, deadline=None)
@given(weights_strategy)
def test_zero_shock_gives_zero_loss(raw):
    weights = pd.Series(raw, index=[f"S{i}" for i in range(len(raw))]) / sum(raw)
    result = stress_scenario(weights, None, dict.fromkeys(weights.index, 0.0))
    assert result["portfolio_loss"] == 0.0
    assert result["worst_asset"] is None


@settings(max_examples=50, deadline=None)
@given(weights_strategy, st.floats(-1.0, 1.0))
def test_uniform_shock_gives_loss_minus_s(raw, shock):
    weights = pd.Series(raw, index=[f"S{i}" for i in range(len(raw))]) / sum(raw)
    result = stress_scenario(weights, None, dict.fromkeys(weights.index, shock))
    assert result["portfolio_loss"] == pytest.approx(-shock, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(2, 5).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-1, 1), min_size=n * (n + 1), max_size=n * (n + 1)),
            st.floats(0.0, 1.0),
        )
    )
)
def test_blended_correlation_is_a_correlation(data):
    values, increase = data
    n = int((math.sqrt(1 + 4 * len(values)) - 1) / 2)
    factor = np.array(values).reshape(n + 1, n)
    cov = factor.T @ factor + 1e-3 * np.eye(n)
    vol = np.sqrt(np.diag(cov))
    corr = pd.DataFrame(cov / np.outer(vol, vol))
    blended = blend_correlation(corr, increase).to_numpy()
    np.testing.assert_allclose(np.diag(blended), 1.0, atol=1e-12)
    assert np.linalg.eigvalsh(blended).min() >= -1e-12
    assert np.all(blended <= 1 + 1e-12)
    # every correlation moves toward 1, never past it
    assert np.all(blended >= corr.to_numpy() - 1e-12)


@settings(max_examples=50, deadline=None)
@given(weights_strategy, st.floats(0.5, 3.0), st.floats(0.0, 1.0), st.floats(-0.9, 0.5))
def test_asset_pnl_adds_up_to_the_loss(raw, multiplier, increase, shock):
    n = len(raw)
    names = [f"S{i}" for i in range(n)]
    weights = pd.Series(raw, index=names) / sum(raw)
    rng = np.random.default_rng(n)
    factor = rng.normal(size=(n + 2, n)) * 0.01
    cov = pd.DataFrame(factor.T @ factor, index=names, columns=names)
    scenario = {names[0]: shock, "volatility_multiplier": multiplier}
    scenario["correlation_increase"] = increase
    result = stress_scenario(weights, cov, scenario, periods_per_year=365)
    assert sum(result["asset_pnl"].values()) == pytest.approx(-result["portfolio_loss"], abs=1e-12)
    exposure = weights * (1 + pd.Series(scenario).reindex(names).fillna(0.0))
    stressed = stress_covariance(cov, increase, multiplier)
    assert component_var(exposure, stressed).sum() == pytest.approx(
        result["stressed_var"], abs=1e-12
    )


# --- the class, on a real PortfolioManager ------------------------------------------------------

SPEC_SCENARIOS = {
    "crypto_crash": {"BTC/USDT": -0.30, "ETH/USDT": -0.40, "SOL/USDT": -0.50},
    "correlation_spike": {"correlation_increase": 0.3},
    "volatility_shock": {"volatility_multiplier": 2.0},
}


@pytest.fixture(scope="module")
def data():
    return load_bundled_prices(SYMBOLS, start="2024-01-01")


@pytest.fixture(scope="module")
def manager(data) -> PortfolioManager:
    config = PortfolioConfig(symbols=SYMBOLS, rebalance_frequency="monthly", lookback=60)
    manager = PortfolioManager(config)
    manager.backtest(data, progress=False)
    return manager


def test_spec_scenarios_on_current_holdings(manager):
    results = PortfolioStressTester(manager).run_scenarios(SPEC_SCENARIOS)
    weights = manager.get_current_allocation()
    crash = results["crypto_crash"]
    expected = 0.3 * weights["BTC/USDT"] + 0.4 * weights["ETH/USDT"] + 0.5 * weights["SOL/USDT"]
    assert crash["portfolio_loss"] == pytest.approx(expected, abs=HAND_ATOL)
    assert crash["basis"] == "current holdings"
    cov = estimate_covariance(manager.returns_.iloc[-60:], "sample")
    sigma = math.sqrt(weights.to_numpy() @ cov @ weights.to_numpy())
    shock = results["volatility_shock"]
    assert shock["volatility"] == pytest.approx(sigma * math.sqrt(365), rel=1e-12)
    assert shock["portfolio_loss"] == pytest.approx(2 * Z95 * sigma, rel=1e-12)
    spike = results["correlation_spike"]
    assert spike["stressed_volatility"] >= spike["volatility"]
    assert spike["worst_asset"] in SYMBOLS


def test_target_basis(manager):
    tester = PortfolioStressTester(manager, use="target")
    weights, basis = tester.weights()
    assert basis == "target weights"
    pd.testing.assert_series_equal(weights, manager.get_target_allocation().astype(float))
    result = tester.run_scenarios({"all_down": dict.fromkeys(SYMBOLS, -0.1)})["all_down"]
    assert result["portfolio_loss"] == pytest.approx(0.1 * weights.sum(), abs=HAND_ATOL)


def test_manager_errors(data):
    fresh = PortfolioManager(PortfolioConfig(symbols=SYMBOLS))
    with pytest.raises(InvalidInputError, match="no positions"):
        PortfolioStressTester(fresh, use="current").run_scenarios(SPEC_SCENARIOS)
    with pytest.raises(InvalidInputError, match="target"):
        PortfolioStressTester(fresh).run_scenarios(SPEC_SCENARIOS)  # auto: no holdings, no target
    fresh.set_state({"BTC/USDT": 1.0}, cash=0.0, prices={"BTC/USDT": 50_000.0})
    tester = PortfolioStressTester(fresh)
    crash = tester.run_scenarios({"btc": {"BTC/USDT": -0.2}})["btc"]
    assert crash["portfolio_loss"] == pytest.approx(0.2, abs=HAND_ATOL)
    with pytest.raises(InvalidInputError, match="returns"):
        tester.run_scenarios({"vol": {"volatility_multiplier": 2.0}})
    with pytest.raises(InvalidInputError, match=r"'bad'.*'XRP/USDT'"):
        tester.run_scenarios({"ok": {"BTC/USDT": -0.1}, "bad": {"XRP/USDT": -0.1}})
    with pytest.raises(InvalidInputError, match="use"):
        PortfolioStressTester(fresh, use="live").run_scenarios({"btc": {"BTC/USDT": -0.2}})
