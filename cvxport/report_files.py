"""Write a backtest's report files: plots (PNG) and result tables (CSV)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import matplotlib

from cvxport.backtest.result import PortfolioResult


def save_figure(draw: Callable, path: Path, figsize: tuple[float, float] = (9, 4.5)) -> Path:
    """Call ``draw(ax)`` on a fresh figure (Agg backend), save it as PNG at ``path``, close it."""
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    draw(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_backtest_report(result: PortfolioResult, folder: Path) -> list[Path]:
    """Write equity, drawdown and weights plots and the result tables into ``folder``.

    Returns:
        The paths written, in order.
    """
    from cvxport import plotting

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw, data in (
        ("equity_curve.png", plotting.plot_equity_curve, result.equity_curve),
        ("drawdown.png", plotting.plot_drawdown, result.equity_curve),
        ("weights.png", plotting.plot_weights, result.weights_history),
    ):
        written.append(save_figure(functools.partial(draw, data), folder / name))
    tables = {
        "equity_curve.csv": result.equity_curve.to_frame(),
        "weights_history.csv": result.weights_history,
        "allocation_history.csv": result.allocation_history,
        "trades.csv": result.trades_frame,
        "metrics.csv": _metrics_frame(result.metrics),
    }
    for name, frame in tables.items():
        frame.to_csv(folder / name, index=name != "trades.csv")
        written.append(folder / name)
    return written


def _metrics_frame(metrics: dict[str, float]):
    import pandas as pd

    from cvxport.metrics.report import METRIC_UNITS

    rows = [(k, v, METRIC_UNITS.get(k, "")) for k, v in metrics.items()]
    return pd.DataFrame(rows, columns=["metric", "value", "unit"]).set_index("metric")
