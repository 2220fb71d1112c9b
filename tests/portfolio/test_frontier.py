"""EfficientFrontier: a two-asset frontier by hand, one build, shape, agreement with allocators."""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from cvxport.allocators import MaximumSharpeAllocator, MinimumVarianceAllocator
from cvxport.analysis import EfficientFrontier
from cvxport.constraints import GroupLimits, WeightBounds
from cvxport.data import align_prices, load_bundled_prices, prices_to_returns
from cvxport.errors import InfeasibleError, InvalidInputError

# Clarabel at the SOLVER_OPTIONS tolerances on unit-scaled data: weights agree with a closed form
# or another formulation to about 1e-8 (measured: at most 1e-9 here); 1e-6 leaves room.
WEIGHT_ATOL = 1e-6
# Annual volatility and return of a solved point: weights error x O(1) annual figures.
FIGURE_ATOL = 1e-6
# The shape tests compare differences of solved points: solver noise is far below 1e-9.
SHAPE_ATOL = 1e-9
PPY = 252


@dataclass(frozen=True)
class FixedCovariance:
    """A covariance 'estimator' returning a given matrix (per period), for hand computations."""

    matrix: tuple

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        return np.array(self.matrix, dtype=float)


@dataclass(frozen=True)
class FixedMean:
    """An expected-returns 'estimator' returning given means (per period)."""

    values: tuple

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        return np.array(self.values, dtype=float)


# Two assets: vols 2% and 4% per period, correlation 0.25, means 0.1% and 0.2% per period.
S1, S2, RHO = 0.02, 0.04, 0.25
COV2 = ((S1**2, RHO * S1 * S2), (RHO * S1 * S2, S2**2))
MU2 = (0.001, 0.002)


@pytest.fixture(scope="module")
def dummy_returns() -> pd.DataFrame:
    index = pd.bdate_range("2024-01-01", periods=30)
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(0, 0.01, (30, 2)), index=index, columns=["A", "B"])


@pytest.fixture(scope="module")
def two_asset(dummy_returns) -> EfficientFrontier:
    return EfficientFrontier(
        dummy_returns,
        covariance=FixedCovariance(COV2),
        expected_returns=FixedMean(MU2),
        periods_per_year=PPY,
        risk_free_rate=0.02,
    )


@pytest.fixture(scope="module")
def bundled_returns() -> pd.DataFrame:
    return prices_to_returns(align_prices(load_bundled_prices()).prices)


def _variance(w1: float) -> float:
    w2 = 1 - w1
    return w1**2 * S1**2 + w2**2 * S2**2 + 2 * w1 * w2 * RHO * S1 * S2


def test_two_asset_minimum_variance_by_hand(two_asset):
    # w1 = (s2^2 - s12) / (s1^2 + s2^2 - 2 s12) = (16 - 2) / (4 + 16 - 4) = 0.875
    weights = two_asset.get_minimum_variance_portfolio()
    np.testing.assert_allclose(weights.to_numpy(), [0.875, 0.125], atol=WEIGHT_ATOL)
    perf = two_asset.portfolio_performance(weights)
    assert perf["expected_return"] == pytest.approx(0.001125 * PPY, abs=FIGURE_ATOL)
    assert perf["volatility"] == pytest.approx(math.sqrt(_variance(0.875) * PPY), abs=FIGURE_ATOL)


def test_two_asset_frontier_by_hand(two_asset):
    frontier = two_asset.calculate(n_points=5)
    # From the minimum variance return 0.1125% to the best asset's 0.2% per period.
    targets = np.linspace(0.001125, 0.002, 5)
    np.testing.assert_allclose(frontier["target_return"], targets * PPY, atol=FIGURE_ATOL)
    # On a two-asset long-only frontier the target fixes the weights: w2 = (t - mu1) / (mu2 - mu1).
    w2 = (targets - 0.001) / 0.001
    np.testing.assert_allclose(frontier["B"], w2, atol=WEIGHT_ATOL)
    np.testing.assert_allclose(frontier["A"], 1 - w2, atol=WEIGHT_ATOL)
    vols = np.sqrt([_variance(1 - x) * PPY for x in w2])
    np.testing.assert_allclose(frontier["volatility"], vols, atol=FIGURE_ATOL)
    rf = 1.02 ** (1 / PPY) - 1
    sharpe = (targets - rf) / np.sqrt([_variance(1 - x) for x in w2]) * math.sqrt(PPY)
    np.testing.assert_allclose(frontier["sharpe_ratio"], sharpe, atol=1e-5)
    assert list(frontier.columns) == ["target_return", "volatility", "sharpe_ratio", "A", "B"]


def test_two_asset_maximum_sharpe_by_hand(two_asset):
    # Unconstrained tangency w ~ Sigma^-1 (mu - rf); here both weights are positive.
    excess = np.array(MU2) - (1.02 ** (1 / PPY) - 1)
    raw = np.linalg.solve(np.array(COV2), excess)
    expected = raw / raw.sum()
    assert (expected > 0).all()
    weights = two_asset.get_maximum_sharpe_portfolio()
    np.testing.assert_allclose(weights.to_numpy(), expected, atol=WEIGHT_ATOL)


def test_one_build_for_100_points(bundled_returns):
    ef = EfficientFrontier(bundled_returns, constraints=[WeightBounds(0.0, 0.4)])
    frontier = ef.calculate(n_points=100)
    assert len(frontier) == 100
    assert ef.build_count_ == 1
    problem = ef._problem.problem
    # The covariance is a constant and the target a Parameter: DPP, so cvxpy compiled it once
    # and every later solve only substituted Parameter values into the cached program.
    assert problem.is_dpp()
    program = problem._cache.param_prog
    assert program is not None
    ef.calculate(n_points=100)
    ef.get_minimum_variance_portfolio()
    assert ef.build_count_ == 1
    assert problem._cache.param_prog is program


def test_frontier_shape_on_bundled_data(bundled_returns):
    ef = EfficientFrontier(bundled_returns, constraints=[WeightBounds(0.0, 0.4)])
    frontier = ef.calculate(n_points=60)
    ret, vol = frontier["target_return"].to_numpy(), frontier["volatility"].to_numpy()
    assert np.all(np.diff(ret) > 0)
    assert np.all(np.diff(vol) > -SHAPE_ATOL)  # volatility rises with return
    # Concave: the slope d(return)/d(volatility) falls along the curve.
    slopes = np.diff(ret) / np.diff(vol)
    assert np.all(np.diff(slopes) < SHAPE_ATOL * np.abs(slopes[1:]).max())
    weights = frontier[bundled_returns.columns].to_numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-9)
    assert weights.min() > -1e-8 and weights.max() < 0.4 + 1e-8
    # Spans from the minimum variance return to the highest feasible return (LP by hand:
    # long-only with a 40% cap puts 40%, 40%, 20% on the three best means).
    assert ef.periods_per_year_ == 365  # daily bars with weekends
    mean = bundled_returns.mean().sort_values(ascending=False).to_numpy() * 365
    top = 0.4 * mean[0] + 0.4 * mean[1] + 0.2 * mean[2]
    assert ret[-1] == pytest.approx(top, rel=1e-7)
    low = ef.portfolio_performance(ef.get_minimum_variance_portfolio())
    assert ret[0] == pytest.approx(low["expected_return"], abs=FIGURE_ATOL)


@pytest.mark.parametrize(
    "constraints",
    [None, [WeightBounds(0.02, 0.3)], [GroupLimits(("BTC/USDT", "ETH/USDT"), 0.3, 0.6)]],
)
def test_special_portfolios_agree_with_allocators(bundled_returns, constraints):
    ef = EfficientFrontier(bundled_returns, constraints=constraints, risk_free_rate=0.04)
    low = ef.get_minimum_variance_portfolio()
    best = ef.get_maximum_sharpe_portfolio()
    expected_low = MinimumVarianceAllocator(constraints=constraints).allocate(bundled_returns)
    expected_best = MaximumSharpeAllocator(risk_free_rate=0.04, constraints=constraints).allocate(
        bundled_returns
    )
    np.testing.assert_allclose(low, expected_low, atol=WEIGHT_ATOL)
    np.testing.assert_allclose(best, expected_best, atol=WEIGHT_ATOL)
    # The tangency portfolio beats every frontier point's Sharpe ratio.
    frontier = ef.calculate(n_points=30)
    assert ef.portfolio_performance(best)["sharpe_ratio"] >= frontier["sharpe_ratio"].max() - 1e-6


def test_unbounded_return_is_named(dummy_returns):
    ef = EfficientFrontier(
        dummy_returns,
        covariance=FixedCovariance(COV2),
        expected_returns=FixedMean(MU2),
        long_only=False,
    )
    with pytest.raises(InvalidInputError, match="unbounded"):
        ef.calculate(n_points=3)


def test_no_asset_beats_the_risk_free_rate(dummy_returns):
    ef = EfficientFrontier(
        dummy_returns,
        covariance=FixedCovariance(COV2),
        expected_returns=FixedMean((-0.001, -0.002)),
        periods_per_year=PPY,
    )
    with pytest.raises(InfeasibleError, match="'A'"):
        ef.get_maximum_sharpe_portfolio()


@pytest.mark.parametrize("n_points", [1, 0, 2.5, True, "10"])
def test_bad_n_points(two_asset, n_points):
    with pytest.raises(InvalidInputError, match="n_points"):
        two_asset.calculate(n_points=n_points)


def test_bad_inputs_are_named(dummy_returns):
    with pytest.raises(InvalidInputError, match="risk_free_rate"):
        EfficientFrontier(dummy_returns, risk_free_rate=-2).calculate(3)
    with pytest.raises(InvalidInputError, match="'Z'"):
        EfficientFrontier(dummy_returns, constraints=[WeightBounds(upper={"Z": 0.5})]).calculate(3)
    bad = dummy_returns.copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(InvalidInputError, match="'B'"):
        EfficientFrontier(bad).calculate(3)


def test_plot_frontier(two_asset, tmp_path):
    ax = two_asset.plot_frontier()
    path = tmp_path / "frontier.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 0
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == [
        "Efficient frontier",
        "Assets",
        "Minimum variance",
        "Maximum Sharpe",
        "Capital market line",
    ]
    assert "annualized" in ax.get_xlabel() and "%" in ax.get_xlabel()
    assert "annualized" in ax.get_ylabel() and "%" in ax.get_ylabel()
    # The capital market line passes through the tangency portfolio.
    best = two_asset.portfolio_performance(two_asset.get_maximum_sharpe_portfolio())
    cml = next(line for line in ax.get_lines() if line.get_label() == "Capital market line")
    xs, ys = cml.get_data()
    slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
    assert ys[0] + slope * best["volatility"] == pytest.approx(best["expected_return"], rel=1e-9)
    matplotlib.pyplot.close(ax.figure)
