"""``comparison_report``: one self-contained HTML page comparing several backtests (the runs
of a parameter sweep, the allocation methods, the rebalancing policies)."""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from cvxport import plotting
from cvxport.backtest.result import PortfolioResult
from cvxport.errors import InvalidInputError
from cvxport.reports import tables
from cvxport.reports.figures import png_data_uri
from cvxport.reports.page import escape, figure_section, html_table, kv_table, page

logger = logging.getLogger(__name__)


def comparison_table(results: Mapping[str, PortfolioResult]) -> pd.DataFrame:
    """Metrics side by side: one row per result, one column per metric, ``key [unit]``.

    Values are in the report units of ``result.metrics`` (percent keys x 100); counts stay
    integers. A metric some results lack (e.g. ``alpha`` without a benchmark) is NaN there.
    """
    rows = {name: result.metrics for name, result in results.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = [f"{key} [{tables.metric_unit(key) or 'value'}]" for key in frame.columns]
    frame.index.name = "run"
    return frame


def comparison_report(
    results: Mapping[str, PortfolioResult],
    path: str | Path,
    *,
    title: str = "cvxport comparison report",
    provenance: Mapping[str, str] | None = None,
) -> Path:
    """Write one HTML page comparing backtests; return its path.

    Sections: metrics side by side (with units), equity curves on a log scale, drawdowns,
    risk against return, and the provenance (data ranges, package versions).

    Args:
        results: name -> ``PortfolioResult`` (at least one), e.g. ``{"lookback=30": r1, ...}``.
        path: The HTML file to write (its folder is created).
        title: The page's title.
        provenance: Extra rows for the provenance table, e.g. the sweep's grid.
    """
    if not isinstance(results, Mapping) or not results:
        raise InvalidInputError("comparison_report needs a non-empty {name: PortfolioResult}")
    wrong = [name for name, r in results.items() if not isinstance(r, PortfolioResult)]
    if wrong:
        raise InvalidInputError(f"comparison_report: {wrong} are not PortfolioResults")
    path = Path(path)
    curves = {str(name): r.equity_curve for name, r in results.items()}
    metrics = comparison_table(results)
    formats = {column: _formatter(column) for column in metrics.columns}
    vol = {n: r.metrics["volatility"] for n, r in results.items() if "volatility" in r.metrics}
    ret = {n: r.metrics["annualized_return"] for n, r in results.items() if n in vol}
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        f"<h1>{escape(title)}</h1><p class='sub'>{len(results)} backtests, generated {now}</p>",
        "<h2>Metrics</h2><div style='overflow-x:auto'>"
        + html_table(metrics, formats)
        + "</div><p class='note'>Units in brackets: percent keys are fraction x 100.</p>",
        figure_section(
            "Equity", png_data_uri(functools.partial(plotting.plot_equity_curves, curves))
        ),
        figure_section(
            "Drawdown", png_data_uri(functools.partial(plotting.plot_drawdowns, curves))
        ),
        figure_section(
            "Risk and return",
            png_data_uri(functools.partial(plotting.plot_risk_return, vol, ret), (7, 4.5)),
        ),
        "<h2>Provenance</h2><div class='grid'><div>"
        + kv_table("runs", {**_ranges(results), **dict(provenance or {})})
        + "</div><div>"
        + kv_table("versions", tables.versions())
        + "</div></div>",
    ]
    text = page(title, sections)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    logger.info("wrote comparison report %s (%d runs, %d bytes)", path, len(results), len(text))
    return path


def _formatter(column: str):
    if column.endswith("[count]"):
        return lambda v: "" if pd.isna(v) else f"{int(v):d}"
    if column.endswith("[percent]"):
        return lambda v: "" if pd.isna(v) else f"{v:,.2f} %"
    if column.endswith("[quote currency]"):
        return lambda v: "" if pd.isna(v) else f"{v:,.2f}"
    return lambda v: "" if pd.isna(v) else f"{v:,.3f}"


def _ranges(results: Mapping[str, PortfolioResult]) -> dict[str, str]:
    rows = {}
    for name, result in results.items():
        equity = result.equity_curve
        rows[str(name)] = (
            f"{equity.index[0].date()} to {equity.index[-1].date()}, {len(equity)} bars, "
            f"{len(result.prices.columns)} assets"
        )
    return rows
