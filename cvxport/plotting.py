"""Matplotlib figures of results and analyses; every function takes ``ax=None``, returns the Axes.

Inputs are fractions (0.05 = 5%); axes show them in percent through a tick formatter. No
function calls ``plt.show()``: save with ``ax.figure.savefig(path)`` or show it yourself.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

from cvxport.errors import InvalidInputError
from cvxport.metrics.performance import drawdown

_PERCENT = PercentFormatter(xmax=1.0)


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    return ax


def plot_frontier(
    frontier: pd.DataFrame,
    assets: pd.DataFrame | None = None,
    minimum_variance: tuple[float, float] | None = None,
    maximum_sharpe: tuple[float, float] | None = None,
    risk_free_rate: float = 0.0,
    ax: Axes | None = None,
) -> Axes:
    """Plot an efficient frontier with its assets, special portfolios and capital market line.

    Args:
        frontier: DataFrame with ``volatility`` and ``target_return`` columns, annual fractions
            (as ``EfficientFrontier.calculate`` returns).
        assets: per-symbol ``volatility`` and ``expected_return`` columns, annual fractions.
        minimum_variance: (volatility, expected return) of the minimum variance portfolio.
        maximum_sharpe: (volatility, expected return) of the tangency portfolio; the capital
            market line is drawn from ``(0, risk_free_rate)`` through it.
        risk_free_rate: the line's intercept, annual fraction.
        ax: Axes to draw on; a new figure when None.
    """
    for column in ("volatility", "target_return"):
        if column not in frontier.columns:
            raise InvalidInputError(f"frontier lacks the column {column!r}")
    ax = _axes(ax)
    ax.plot(frontier["volatility"], frontier["target_return"], lw=2, label="Efficient frontier")
    right = float(frontier["volatility"].max())
    if assets is not None and len(assets):
        ax.scatter(assets["volatility"], assets["expected_return"], marker="o", label="Assets")
        for symbol, row in assets.iterrows():
            ax.annotate(str(symbol), (row["volatility"], row["expected_return"]), fontsize=8)
        right = max(right, float(assets["volatility"].max()))
    if minimum_variance is not None:
        ax.scatter(*minimum_variance, marker="*", s=200, zorder=3, label="Minimum variance")
    if maximum_sharpe is not None:
        ax.scatter(*maximum_sharpe, marker="*", s=200, zorder=3, label="Maximum Sharpe")
        volatility, expected = maximum_sharpe
        slope = (expected - risk_free_rate) / volatility if volatility > 0 else 0.0
        xs = np.array([0.0, right * 1.05])
        ax.plot(xs, risk_free_rate + slope * xs, ls="--", label="Capital market line")
    ax.xaxis.set_major_formatter(_PERCENT)
    ax.yaxis.set_major_formatter(_PERCENT)
    ax.set_xlabel("Volatility (annualized, %)")
    ax.set_ylabel("Expected return (annualized, %)")
    ax.set_title("Efficient frontier")
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_risk_contributions(contributions: Mapping[str, float] | pd.Series, ax=None) -> Axes:
    """Bar chart of each asset's share of portfolio variance (fractions summing to 1)."""
    series = pd.Series(contributions, dtype=float)
    ax = _axes(ax)
    ax.bar([str(s) for s in series.index], series.to_numpy())
    ax.axhline(0.0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(_PERCENT)
    ax.set_xlabel("Asset")
    ax.set_ylabel("Share of portfolio variance (%)")
    ax.set_title("Risk contributions")
    ax.tick_params(axis="x", labelrotation=45)
    return ax


def plot_correlation_heatmap(correlation: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Heatmap of a correlation matrix (values in [-1, 1], annotated to 2 decimals)."""
    if not isinstance(correlation, pd.DataFrame) or correlation.shape[0] != correlation.shape[1]:
        raise InvalidInputError("correlation must be a square DataFrame")
    ax = _axes(ax)
    values = correlation.to_numpy(dtype=float)
    image = ax.imshow(values, vmin=-1.0, vmax=1.0, cmap="RdBu_r")
    labels = [str(s) for s in correlation.columns]
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), [str(s) for s in correlation.index])
    for (i, j), value in np.ndenumerate(values):
        color = "white" if abs(value) > 0.6 else "black"
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=color)
    ax.figure.colorbar(image, ax=ax, label="Correlation")
    ax.set_title("Correlation matrix")
    return ax


def plot_stress_results(results: Mapping[str, Mapping], ax: Axes | None = None) -> Axes:
    """Bar chart of ``portfolio_loss`` (fraction, positive = loss) per stress scenario.

    Args:
        results: scenario name -> result dict, as ``PortfolioStressTester.run_scenarios``
            returns; the worst asset of each scenario labels its bar.
    """
    names = list(results)
    losses = [float(results[name]["portfolio_loss"]) for name in names]
    ax = _axes(ax)
    bars = ax.bar(names, losses, color=["tab:red" if x > 0 else "tab:green" for x in losses])
    for bar, name in zip(bars, names, strict=True):
        worst = results[name].get("worst_asset")
        if worst is not None:
            top = (bar.get_x() + bar.get_width() / 2, bar.get_height())
            ax.annotate(str(worst), top, ha="center", va="bottom", fontsize=8)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(_PERCENT)
    ax.set_xlabel("Scenario")
    ax.set_ylabel("Portfolio loss (% of value)")
    ax.set_title("Stress scenarios")
    return ax


def _equity_axis(ax: Axes, log_scale: bool) -> None:
    """Label the y axis in quote currency, on a log scale (ticks 1, 2, 5 per decade, plain
    numbers) when ``log_scale``; the caller decides (a log scale needs every value > 0)."""
    if log_scale:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel("Equity (quote currency, log scale)")
    else:
        ax.set_ylabel("Equity (quote currency)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))


def plot_equity_curve(
    equity: pd.Series,
    ax: Axes | None = None,
    benchmark: pd.Series | None = None,
    log_scale: bool = True,
) -> Axes:
    """Line plot of an equity curve (quote currency) over time, on a log scale by default.

    Args:
        equity: (T,) positive equity values, quote currency.
        ax: Axes to draw on; a new figure when None.
        benchmark: (T',) a benchmark's value in the same currency (e.g. a buy-and-hold of the
            same assets from the same capital), drawn dashed and labelled with its name.
        log_scale: equal vertical distances are equal growth factors; ticks are plain numbers
            (no offset, no scientific notation). Linear when some equity is <= 0 (ruin).
    """
    ax = _axes(ax)
    ax.plot(equity.index, equity.to_numpy(dtype=float), lw=1.6, label=str(equity.name or "Equity"))
    if benchmark is not None:
        name = str(benchmark.name or "Benchmark")
        ax.plot(benchmark.index, benchmark.to_numpy(dtype=float), lw=1.2, ls="--", label=name)
        ax.legend(loc="upper left", fontsize=8)
    # a ruined curve (equity <= 0) stays linear
    _equity_axis(ax, log_scale and bool((equity.to_numpy(dtype=float) > 0).all()))
    ax.margins(x=0)  # the same date range as the drawdown and weights plots
    ax.set_xlabel("Date")
    ax.set_title("Equity curve")
    return ax


def plot_drawdown(equity: pd.Series, ax: Axes | None = None) -> Axes:
    """Filled plot of the drawdown from the running peak (fractions <= 0, shown in percent)."""
    series = drawdown(equity)
    ax = _axes(ax)
    ax.fill_between(series.index, series.to_numpy(), 0.0, color="tab:red", alpha=0.4)
    ax.margins(x=0)
    ax.yaxis.set_major_formatter(_PERCENT)
    ax.set_xlabel("Date")
    ax.set_ylabel("Drawdown (%)")
    ax.set_title("Drawdown")
    return ax


def distinct_colors(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours, all different for n <= 20: tab20's ten strong hues, then its light ones.

    Beyond 20, evenly spaced samples of the 'turbo' colour map.
    """
    if n <= 20:
        tab20 = plt.get_cmap("tab20").colors
        return list(tab20[0::2] + tab20[1::2])[:n]
    cmap = plt.get_cmap("turbo")
    return [tuple(cmap(x)[:3]) for x in np.linspace(0.05, 0.95, n)]


def plot_weights(weights_history: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Stacked area of weights over time (fractions of equity; the gap to 100% is cash).

    Each symbol has its own colour (``distinct_colors``); the legend sits outside the data, to
    the right of the axes (save with ``bbox_inches='tight'`` to keep it in the file).
    """
    if not isinstance(weights_history, pd.DataFrame):
        raise InvalidInputError(
            "weights_history must be a DataFrame (rows: dates, columns: symbols)"
        )
    ax = _axes(ax)
    values = weights_history.to_numpy(dtype=float).T
    labels = [str(s) for s in weights_history.columns]
    colors = distinct_colors(len(labels))
    ax.stackplot(weights_history.index, values, labels=labels, colors=colors)
    ax.set_ylim(0.0, max(1.0, float(np.nanmax(values.sum(axis=0), initial=0.0))))
    ax.margins(x=0)
    ax.yaxis.set_major_formatter(_PERCENT)
    ax.set_xlabel("Date")
    ax.set_ylabel("Weight (% of equity)")
    ax.set_title("Weights")
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        frameon=False,
        ncol=1 if len(labels) <= 14 else 2,
    )
    return ax


def plot_equity_curves(curves: Mapping[str, pd.Series], ax: Axes | None = None) -> Axes:
    """Several equity curves (quote currency) on one log-scale chart, each its own colour.

    Args:
        curves: name -> (T,) positive equity series, e.g. the results of a parameter sweep.
        ax: Axes to draw on; a new figure when None. The legend sits outside, on the right.
    """
    if not curves:
        raise InvalidInputError("plot_equity_curves needs at least one curve")
    ax = _axes(ax)
    for (name, equity), color in zip(curves.items(), distinct_colors(len(curves)), strict=True):
        ax.plot(equity.index, equity.to_numpy(dtype=float), lw=1.2, color=color, label=str(name))
    _equity_axis(ax, all((equity.to_numpy(dtype=float) > 0).all() for equity in curves.values()))
    ax.set_xlabel("Date")
    ax.set_title("Equity curves")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return ax


def plot_drawdowns(curves: Mapping[str, pd.Series], ax: Axes | None = None) -> Axes:
    """The drawdown of several equity curves (fractions <= 0, shown in percent), one colour each."""
    ax = _axes(ax)
    colors = distinct_colors(len(curves))
    for (name, equity), color in zip(curves.items(), colors, strict=True):
        ax.plot(equity.index, drawdown(equity).to_numpy(), lw=1.0, color=color, label=str(name))
    ax.yaxis.set_major_formatter(_PERCENT)
    ax.set_xlabel("Date")
    ax.set_ylabel("Drawdown (%)")
    ax.set_title("Drawdowns")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return ax


def plot_risk_return(
    volatility: Mapping[str, float] | pd.Series,
    annualized_return: Mapping[str, float] | pd.Series,
    ax: Axes | None = None,
) -> Axes:
    """Scatter of annualized return against volatility, one labelled point per portfolio.

    Args:
        volatility, annualized_return: name -> value in percent (as ``result.metrics``).
    """
    x, y = pd.Series(volatility, dtype=float), pd.Series(annualized_return, dtype=float)
    ax = _axes(ax)
    colors = distinct_colors(len(x))
    for (name, vol), color in zip(x.items(), colors, strict=True):
        ax.scatter(vol, y[name], color=color, s=40, zorder=3)
        ax.annotate(
            str(name), (vol, y[name]), fontsize=8, xytext=(4, 3), textcoords="offset points"
        )
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=100.0))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=100.0))
    ax.set_xlabel("Volatility (annualized, %)")
    ax.set_ylabel("Return (annualized, %)")
    ax.set_title("Risk and return")
    return ax


def plot_sweep(
    table: pd.DataFrame,
    x: str = "volatility",
    y: str = "annualized_return",
    hue: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Scatter the successful runs of a sweep table (``cvxport.research.run_sweep``).

    Args:
        table: one row per run, with a ``status`` column and the metric columns ``x`` and
            ``y`` (report units: percent for returns and volatility).
        x, y: metric columns on the axes.
        hue: a parameter column coloring the points (default: the first parameter column).
    """
    for column in (x, y, "status"):
        if column not in table.columns:
            raise InvalidInputError(f"the sweep table has no column {column!r}")
    ax = _axes(ax)
    ok = table[table["status"] == "ok"]
    if hue is None:
        hue = next(iter(table.columns[: list(table.columns).index("status")]), None)
    groups = [(None, ok)] if hue is None else list(ok.groupby(hue, sort=True))
    for color, (label, group) in zip(distinct_colors(len(groups)), groups, strict=True):
        ax.scatter(group[x], group[y], s=18, color=color, label=label, alpha=0.8)
    ax.set_xlabel(x.replace("_", " ") + (" (%)" if x in ("volatility", "max_drawdown") else ""))
    ax.set_ylabel(y.replace("_", " ") + (" (%)" if "return" in y else ""))
    failed = len(table) - len(ok)
    ax.set_title(f"{len(ok)} runs" + (f" ({failed} failed, not shown)" if failed else ""))
    if hue is not None:
        ax.legend(title=hue, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax.grid(alpha=0.3)
    return ax
