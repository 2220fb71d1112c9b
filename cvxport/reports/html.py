"""``html_report``: one self-contained HTML file for any backtest result.

Figures are embedded as base64 PNG, styles inline, no script and no link to anything outside
the file, so it opens offline and can be mailed as it is.
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cvxport import plotting
from cvxport.backtest.result import PortfolioResult
from cvxport.errors import InvalidInputError
from cvxport.reports import tables
from cvxport.reports.figures import png_data_uri
from cvxport.reports.page import escape, figure_section, html_table, kv_table, page

logger = logging.getLogger(__name__)


def html_report(
    result: PortfolioResult,
    path: str | Path,
    *,
    config: object | None = None,
    benchmark: pd.Series | str | None = "auto",
    title: str = "cvxport backtest report",
    provenance: Mapping[str, str] | None = None,
) -> Path:
    """Write a self-contained HTML report of a backtest result; return its path.

    Args:
        result: A ``PortfolioResult`` (``PortfolioManager.backtest``).
        path: The HTML file to write (its folder is created).
        config: The ``PortfolioConfig`` used, listed under provenance (and its lookback sets
            the risk contributions' window).
        benchmark: An equity or price series drawn against the equity curve (rescaled to the
            starting capital); ``'buy_and_hold'`` for an equal-weight buy and hold of the same
            assets; ``'auto'`` for the result's own benchmark (``benchmark_returns``, from
            ``PortfolioConfig.benchmark``) when it has one, else the buy and hold; None: none.
        title: The page's title.
        provenance: Extra rows for the provenance table, e.g. ``{"data": "prices/*.csv"}``.
    """
    if not isinstance(result, PortfolioResult):
        raise InvalidInputError(f"html_report needs a PortfolioResult, got {type(result).__name__}")
    path = Path(path)
    bench = _benchmark(result, benchmark, config)
    lookback = getattr(config, "lookback", None)
    sections = [
        _header(result, config, title),
        _metrics_section(result, bench),
        figure_section("Equity", _equity_figure(result, bench), "equity curve, log scale"),
        figure_section(
            "Drawdown", png_data_uri(functools.partial(plotting.plot_drawdown, result.equity_curve))
        ),
        figure_section("Weights over time", _weights_figure(result), "weights over time"),
        _risk_section(result, lookback),
        _monthly_section(result),
        _rebalance_section(result),
        _provenance_section(result, config, provenance),
    ]
    text = page(title, sections)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    logger.info("wrote HTML report %s (%d bytes)", path, len(text))
    return path


def _benchmark(
    result: PortfolioResult, benchmark: pd.Series | str | None, config: object | None
) -> pd.Series | None:
    if benchmark is None:
        return None
    if isinstance(benchmark, str):
        if benchmark == "auto":
            return tables.default_benchmark(result, getattr(config, "benchmark", None))
        if benchmark == "buy_and_hold":
            return tables.buy_and_hold(result)
        raise InvalidInputError(
            f"benchmark must be a Series, 'auto', 'buy_and_hold' or None, got {benchmark!r}"
        )
    if not isinstance(benchmark, pd.Series):
        raise InvalidInputError(f"benchmark must be a pandas Series, got {type(benchmark)}")
    series = benchmark.astype(float).reindex(result.equity_curve.index).ffill().dropna()
    if series.empty or not (series > 0).all():
        raise InvalidInputError(
            "benchmark must have positive values on the backtest's dates "
            f"{result.equity_curve.index[0].date()} to {result.equity_curve.index[-1].date()}"
        )
    scaled = series / series.iloc[0] * float(result.equity_curve.iloc[0])
    return scaled.rename(benchmark.name or "Benchmark")


def _header(result: PortfolioResult, config: object | None, title: str) -> str:
    equity = result.equity_curve
    method = getattr(getattr(config, "allocation_method", None), "value", None)
    what = f"{method}, " if method else ""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ruin = ""
    if getattr(result, "outcome", "completed") == "ruined":
        ruin = (
            f"<p class='alert'>Ruined on {escape(pd.Timestamp(result.ruined_at).date())}: equity "
            "reached zero, every position was sold and the backtest ended there.</p>"
        )
    return (
        f"<h1>{escape(title)}</h1><p class='sub'>{escape(what)}"
        f"{len(result.prices.columns)} assets, "
        f"{equity.index[0].date()} to {equity.index[-1].date()}, generated {now}</p>{ruin}"
    )


def _metrics_section(result: PortfolioResult, bench: pd.Series | None) -> str:
    table = tables.metrics_table(result.metrics)
    shown = pd.DataFrame(
        {
            "value": [
                tables.format_value(v, u)
                for v, u in zip(table["value"], table["unit"], strict=True)
            ],
            "unit": table["unit"],
            "description": table["description"],
        },
        index=table.index,
    )
    note = ""
    if bench is not None:
        growth = float(bench.iloc[-1] / bench.iloc[0] - 1.0)
        note = f"<p class='note'>{escape(bench.name)}: total return {growth * 100:,.2f} %.</p>"
    return "<h2>Performance</h2>" + html_table(shown, {}) + note


def _equity_figure(result: PortfolioResult, bench: pd.Series | None) -> str:
    draw = functools.partial(
        plotting.plot_equity_curve, result.equity_curve.rename("Portfolio"), benchmark=bench
    )
    return png_data_uri(draw)


def _weights_figure(result: PortfolioResult) -> str:
    return png_data_uri(functools.partial(plotting.plot_weights, result.weights_history))


def _risk_section(result: PortfolioResult, lookback: int | None) -> str:
    frame = tables.final_risk_contributions(result, lookback)
    window = f"the last {lookback} bars" if lookback else "the whole backtest"
    if frame["risk_share"].isna().all():
        return (
            "<h2>Risk contributions</h2><p class='note'>The last target holds no risk (all "
            "cash, or assets without variance): no risk contributions.</p>"
        )
    uri = png_data_uri(
        functools.partial(plotting.plot_risk_contributions, frame["risk_share"]), (6, 3.6)
    )
    frame.index.name = "asset"
    pct = "{:.2%}".format
    return (
        "<h2>Risk contributions</h2><p class='note'>Last target weights and each asset's share "
        f"of portfolio variance, sample covariance of {window} of daily returns.</p>"
        f"<div class='grid'><div>{html_table(frame, {'weight': pct, 'risk_share': pct})}</div>"
        f"<div><img src='{uri}' alt='risk contributions'></div></div>"
    )


def _monthly_section(result: PortfolioResult) -> str:
    table = tables.monthly_returns(result.equity_curve)
    table.index.name = "year"
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    table.columns = [*names, "Year"]

    def cell(value: float) -> str:
        if not np.isfinite(value):
            return ""
        strength = min(abs(value) / 0.3, 1.0)
        rgb = (46, 160, 67) if value >= 0 else (207, 34, 46)
        color = f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{0.12 + 0.6 * strength:.2f})"
        return f"<span style='background:{color};padding:1px 4px'>{value * 100:.1f}</span>"

    return (
        "<h2>Monthly returns (%)</h2>"
        + html_table(table, dict.fromkeys(table.columns, cell), "monthly")
        + "<p class='note'>Return of each calendar month in percent; Year compounds them.</p>"
    )


def _rebalance_section(result: PortfolioResult) -> str:
    table = tables.rebalance_summary(result)
    capital = float(result.equity_curve.iloc[0])
    total_costs = float(result.costs.sum())
    text = (
        f"<p class='note'>Turnover is one-way traded notional as a fraction of equity, summed "
        f"over the year's rebalances; costs are in quote currency ({total_costs:,.2f} in all, "
        f"{total_costs / capital:.2%} of the starting capital).</p>"
    )
    skipped = ""
    if result.skipped_rebalances:
        items = "".join(
            f"<li>{escape(pd.Timestamp(when).date())}: {escape(why)}</li>"
            for when, why in result.skipped_rebalances[:20]
        )
        skipped = f"<p>Rebalances held (infeasible):</p><ul>{items}</ul>"
    outcomes = getattr(result, "rebalance_outcomes", None)
    if isinstance(outcomes, pd.DataFrame) and len(outcomes):
        counts = outcomes["outcome"].value_counts()
        shown = ", ".join(f"{escape(name)} {count}" for name, count in counts.items())
        skipped += f"<p class='note'>Outcomes of the {len(outcomes)} rebalances: {shown}.</p>"
    formats = {"turnover": "{:.2%}".format, "costs": "{:,.2f}".format}
    return "<h2>Rebalances and costs</h2>" + html_table(table, formats) + text + skipped


def _provenance_section(
    result: PortfolioResult, config: object | None, extra: Mapping[str, str] | None
) -> str:
    solver = getattr(config, "solver", None)
    lookback = getattr(config, "lookback", None)
    rows = {
        "solver": solver or "default (each method's exact path where it has one, else CLARABEL)",
        **tables.data_provenance(result),
        **({"lookback": f"{lookback} bars before each allocation"} if lookback else {}),
        **dict(extra or {}),
    }
    parts = ["<h2>Provenance</h2>", kv_table("run", rows)]
    settings = tables.config_table(config)
    if settings:
        parts.append(kv_table("configuration", settings))
    parts.append(kv_table("versions", tables.versions()))
    return (
        parts[0] + "<div class='grid'>" + "".join(f"<div>{p}</div>" for p in parts[1:]) + "</div>"
    )
