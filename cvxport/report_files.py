"""Write a backtest's report files: plots (PNG) and result tables (CSV)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from cvxport import plotting
from cvxport.backtest.result import PortfolioResult
from cvxport.reports.tables import default_benchmark, metrics_table

logger = logging.getLogger(__name__)


def save_figure(draw: Callable, path: Path, figsize: tuple[float, float] = (9, 4.5)) -> Path:
    """Call ``draw(ax)`` on a fresh figure and save it as PNG at ``path``.

    The figure is a bare ``Figure`` (Agg canvas), outside pyplot: the caller's backend and open
    figures are left alone.
    """
    fig = Figure(figsize=figsize, layout="tight")
    draw(fig.subplots())
    fig.savefig(path, dpi=110, bbox_inches="tight")  # keeps legends placed outside the axes
    return path


def write_backtest_report(result: PortfolioResult, folder: Path) -> list[Path]:
    """Write equity (log scale, against the result's benchmark or else an equal-weight buy and
    hold), drawdown and weights plots and the result tables into ``folder``.

    Returns:
        The paths written, in order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    plot_equity = functools.partial(plotting.plot_equity_curve, benchmark=default_benchmark(result))
    for name, draw, data in (
        ("equity_curve.png", plot_equity, result.equity_curve.rename("Portfolio")),
        ("drawdown.png", plotting.plot_drawdown, result.equity_curve),
        ("weights.png", plotting.plot_weights, result.weights_history),
    ):
        written.append(save_figure(functools.partial(draw, data), folder / name))
    logger.info("wrote plots %s", [p.name for p in written])
    allocation = result.allocation_history.copy()
    allocation.index.name = "timestamp"  # the rebalance dates
    tables = {
        "equity_curve.csv": result.equity_curve.to_frame(),
        "weights_history.csv": result.weights_history,
        "allocation_history.csv": allocation,
        "trades.csv": result.trades_frame,
        "metrics.csv": metrics_table(result.metrics)[["value", "unit"]],
    }
    for name, frame in tables.items():
        frame.to_csv(folder / name, index=name != "trades.csv")
        written.append(folder / name)
    return written
