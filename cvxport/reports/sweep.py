"""The HTML page of a sweep's results: the runs ranked by a metric, failures listed, the plot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError
from cvxport.plotting import plot_sweep
from cvxport.reports.figures import png_data_uri
from cvxport.reports.page import escape, figure_section, html_table, page
from cvxport.reports.tables import metric_unit


def sweep_report(
    table: pd.DataFrame, path: str | Path, metric: str = "sharpe_ratio", title: str = "Sweep"
) -> Path:
    """Write one self-contained HTML page for a sweep table (``cvxport.research.run_sweep``):
    the successful runs ranked by ``metric`` (with their units), the failed runs with their
    error, and the risk/return plot of the runs. Returns the file's path.

    Raises:
        InvalidInputError: ``table`` has no ``status`` column or lacks ``metric``.
    """
    if "status" not in table.columns:
        raise InvalidInputError("sweep_report needs a run_sweep table (no 'status' column)")
    if metric not in table.columns:
        raise InvalidInputError(f"sweep_report: the table has no metric column {metric!r}")
    ok = table[table["status"] == "ok"].sort_values(metric, ascending=False)
    failed = table[table["status"] != "ok"]
    parameters = list(table.columns[: list(table.columns).index("status")])
    shown = [*parameters, *[c for c in table.columns if metric_unit(c)]]
    ranked = ok[shown].rename(columns=lambda c: f"{c} ({metric_unit(c)})" if metric_unit(c) else c)
    ranked.index.name = "run"
    numeric = {c: _number for c in ranked.columns if pd.api.types.is_numeric_dtype(ranked[c])}
    sections = [
        f"<h1>{escape(title)}</h1><p class='sub'>{len(table)} runs, {len(ok)} ok, "
        f"{len(failed)} failed; ranked by {escape(metric)}; written "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC</p>",
        f"<h2>Runs by {escape(metric)}</h2>" + html_table(ranked, numeric),
    ]
    if len(ok):
        sections.append(
            figure_section("Risk and return", png_data_uri(lambda ax: plot_sweep(table, ax=ax)))
        )
    if len(failed):
        errors = failed[[*parameters, "error"]].copy()
        errors.index.name = "run"
        sections.append("<h2>Failed runs</h2>" + html_table(errors, {}))
    path = Path(path)
    path.write_text(page(title, sections), encoding="utf-8")
    return path


def _number(value: object) -> str:
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return "" if pd.isna(value) else f"{float(value):,.4g}"
