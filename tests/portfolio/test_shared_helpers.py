"""Helpers shared by several allocators and plots: each caller keeps its own behaviour and
message (the refactoring that merged them must not change what a user sees)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import cvxport as cx
from cvxport import plotting
from cvxport.allocators.maximum_sharpe import excess_over_risk_free
from cvxport.allocators.risk_model import estimate_mean
from cvxport.allocators.sharpe_checks import MAX_GROSS_EXPOSURE, refuse_unattained_ratio

BASE = {"constraints": "constraints", "solver": "solver", "long_only": "long_only"}
SHARPE = {
    **BASE,
    "covariance": "covariance",
    "expected_returns": "expected_returns",
    "risk_free_rate": "risk_free_rate",
    "periods_per_year": "periods_per_year",
    "costs": "costs",
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_config_arguments_are_the_lists_each_constructor_takes():
    assert cx.MinimumVarianceAllocator.config_arguments == {
        **BASE,
        "covariance": "covariance",
        "costs": "costs",
    }
    assert cx.MaximumSharpeAllocator.config_arguments == SHARPE
    assert cx.MeanRiskAllocator.config_arguments == {
        **SHARPE,
        "risk": "risk_measure",
        "objective": "mean_risk_objective",
        "target_return": "target_return",
        "max_risk": "max_risk",
        "risk_aversion": "risk_aversion",
    }


def test_excess_over_risk_free_compounds_the_annual_rate_per_period():
    index = pd.date_range("2024-01-01", periods=30, freq="D")  # weekends too
    mean = np.array([0.001, -0.002, 0.0005])
    assert excess_over_risk_free(mean, 0.0, None, index) is mean  # nothing inferred or copied
    expected = mean - (1.04 ** (1 / 252) - 1)  # the definition, not the helper
    np.testing.assert_allclose(excess_over_risk_free(mean, 0.04, 252, index), expected, rtol=1e-15)
    inferred = excess_over_risk_free(mean, 0.04, None, index)  # daily bars: 365 a year
    np.testing.assert_allclose(inferred, mean - (1.04 ** (1 / 365) - 1), rtol=1e-15)


def test_estimate_mean_is_the_sample_mean_as_floats():
    returns = pd.DataFrame({"A": [0.01, 0.03], "B": [-0.02, 0.0]})
    out = estimate_mean(returns, "sample")
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [0.02, -0.01], rtol=1e-15)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("return/risk ratio", [cx.LongOnly()]),
            "the return/risk ratio is not attained by a fully invested portfolio under "
            "[LongOnly()] (gross exposure 2e+06 x NAV); add LongOnly() or WeightBounds",
        ),
        (
            ("maximum Sharpe ratio", [], ": the optimum has kappa -> 0", "zero net; "),
            "the maximum Sharpe ratio is not attained by a fully invested portfolio under []: "
            "the optimum has kappa -> 0 (zero net; gross exposure 2e+06 x NAV); add LongOnly() "
            "or WeightBounds",
        ),
    ],
)
def test_an_unattained_ratio_names_the_ratio_and_the_gross_exposure(args, message):
    refuse_unattained_ratio(np.array([MAX_GROSS_EXPOSURE, -0.0]), *args)  # at the limit: kept
    with pytest.raises(cx.InfeasibleError) as info:
        refuse_unattained_ratio(np.array([1e6 + 0.5, -1e6 + 0.5]), *args)
    assert str(info.value) == message
    assert info.value.conflicting == ()


def test_an_unattained_mean_risk_ratio_is_an_error_not_huge_weights(crypto_returns):
    # the case of test_errors' maximum Sharpe one, through MeanRiskAllocator's ratio
    mu = crypto_returns.ewm(halflife=60).mean().iloc[-1].to_numpy()
    assert np.linalg.solve(crypto_returns.cov().to_numpy(), mu).sum() < 0
    allocator = cx.MeanRiskAllocator(
        risk=cx.StandardDeviation(),
        objective="ratio",
        expected_returns=cx.EWMAMean(60),
        long_only=False,
    )
    with pytest.raises(cx.InfeasibleError, match="return/risk ratio is not attained"):
        allocator.allocate(crypto_returns)


DATES = pd.date_range("2024-01-01", periods=4, freq="D")
GROWING = pd.Series([100.0, 120.0, 90.0, 130.0], index=DATES)
RUINED = pd.Series([100.0, 40.0, -5.0, -10.0], index=DATES)


@pytest.mark.parametrize(
    ("draw", "scale"),
    [
        (lambda: plotting.plot_equity_curve(GROWING), "log"),
        (lambda: plotting.plot_equity_curve(GROWING, log_scale=False), "linear"),
        (lambda: plotting.plot_equity_curve(RUINED), "linear"),
        (lambda: plotting.plot_equity_curves({"a": GROWING, "b": GROWING * 2}), "log"),
        (lambda: plotting.plot_equity_curves({"a": GROWING, "ruin": RUINED}), "linear"),
    ],
)
def test_equity_axes_are_log_only_when_every_value_is_positive(draw, scale):
    ax = draw()
    assert ax.get_yscale() == scale
    label = "Equity (quote currency, log scale)" if scale == "log" else "Equity (quote currency)"
    assert ax.get_ylabel() == label
    assert ax.yaxis.get_major_formatter()(12345.6, 0) == "12,346"


def test_config_estimator_errors_name_the_config_field():
    with pytest.raises(cx.InvalidInputError, match=r"^PortfolioConfig\.covariance: unknown"):
        cx.PortfolioConfig(covariance="nope")
    with pytest.raises(cx.InvalidInputError, match=r"^PortfolioConfig\.expected_returns: "):
        cx.PortfolioConfig(expected_returns="nope")


def test_the_mean_risk_ratio_and_maximum_sharpe_need_the_bar_length_only_for_a_nonzero_rate():
    # one excess-return helper: at rf = 0 neither infers periods per year (a RangeIndex is
    # fine; mean-risk used to refuse it), at rf != 0 both need them
    rng = np.random.default_rng(0)
    returns = pd.DataFrame(rng.normal(0.001, 0.01, (50, 3)), columns=list("ABC"))
    ratio = cx.MeanRiskAllocator(risk=cx.StandardDeviation(), objective="ratio")
    sharpe = cx.MaximumSharpeAllocator()
    np.testing.assert_allclose(ratio.allocate(returns), sharpe.allocate(returns), atol=1e-6)
    ratio.risk_free_rate = sharpe.risk_free_rate = 0.01
    for allocator in (ratio, sharpe):
        with pytest.raises(cx.InvalidInputError, match="DatetimeIndex"):
            allocator.allocate(returns)
    ratio.periods_per_year = sharpe.periods_per_year = 252
    np.testing.assert_allclose(ratio.allocate(returns), sharpe.allocate(returns), atol=1e-6)
