"""Plots: each function renders to PNG under Agg and returns Axes with the expected artists."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cvxport import plotting
from cvxport.errors import InvalidInputError

DATES = pd.date_range("2024-01-01", periods=6, freq="D")
EQUITY = pd.Series([100.0, 104.0, 98.0, 101.0, 95.0, 107.0], index=DATES)
WEIGHTS = pd.DataFrame(
    {"A": [0.0, 0.5, 0.55, 0.5, 0.45, 0.5], "B": [0.0, 0.5, 0.45, 0.5, 0.5, 0.5]}, index=DATES
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _saved(ax, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000


def test_frontier(tmp_path):
    frontier = pd.DataFrame({"volatility": [0.2, 0.25, 0.35], "target_return": [0.1, 0.15, 0.2]})
    assets = pd.DataFrame(
        {"volatility": [0.2, 0.4], "expected_return": [0.08, 0.2]}, index=["A", "B"]
    )
    special = {"minimum_variance": (0.2, 0.1), "maximum_sharpe": (0.25, 0.15)}
    ax = plotting.plot_frontier(frontier, assets, risk_free_rate=0.05, **special)
    _saved(ax, tmp_path, "frontier")
    cml = ax.get_lines()[-1]
    xs, ys = cml.get_data()
    assert ys[0] == pytest.approx(0.05) and (ys[1] - ys[0]) / (xs[1] - xs[0]) == pytest.approx(0.4)
    assert [t.get_text() for t in ax.texts] == ["A", "B"]
    assert "%" in ax.get_xlabel() and "%" in ax.get_ylabel()
    with pytest.raises(InvalidInputError, match="volatility"):
        plotting.plot_frontier(pd.DataFrame({"target_return": [0.1]}))


def test_risk_contributions(tmp_path):
    ax = plotting.plot_risk_contributions({"A": 0.7, "B": 0.3})
    _saved(ax, tmp_path, "risk")
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == pytest.approx([0.7, 0.3])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B"]
    assert "variance" in ax.get_ylabel()


def test_correlation_heatmap(tmp_path):
    corr = pd.DataFrame([[1.0, -0.25], [-0.25, 1.0]], index=["A", "B"], columns=["A", "B"])
    ax = plotting.plot_correlation_heatmap(corr)
    _saved(ax, tmp_path, "heatmap")
    assert sorted(t.get_text() for t in ax.texts) == ["-0.25", "-0.25", "1.00", "1.00"]
    image = ax.get_images()[0]
    assert image.get_clim() == (-1.0, 1.0)
    np.testing.assert_array_equal(image.get_array(), corr.to_numpy())


def test_stress_results(tmp_path):
    results = {
        "crash": {"portfolio_loss": 0.33, "worst_asset": "A"},
        "rally": {"portfolio_loss": -0.1, "worst_asset": None},
    }
    ax = plotting.plot_stress_results(results)
    _saved(ax, tmp_path, "stress")
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.33, -0.1])
    assert [t.get_text() for t in ax.texts] == ["A"]
    assert "loss" in ax.get_ylabel().lower()


def test_backtest_report_plots(tmp_path):
    fig, axes = plt.subplots(3, 1)
    ax = plotting.plot_equity_curve(EQUITY, ax=axes[0])
    assert ax is axes[0]
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), EQUITY.to_numpy())
    ax = plotting.plot_drawdown(EQUITY, ax=axes[1])
    assert ax.collections and "Drawdown" in ax.get_ylabel()
    lowest = min(path.vertices[:, 1].min() for path in ax.collections[0].get_paths())
    assert lowest == pytest.approx(95 / 104 - 1)
    ax = plotting.plot_weights(WEIGHTS, ax=axes[2])
    assert len(ax.collections) == 2  # one stacked band per symbol
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A", "B"]
    path = tmp_path / "report.png"
    fig.savefig(path)
    assert path.stat().st_size > 1000
