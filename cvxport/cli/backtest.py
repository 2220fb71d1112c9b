"""``python -m cvxport backtest``: metrics table, plots (PNG), result tables (CSV), HTML report."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd

from cvxport.cli.common import (
    add_benchmark_option,
    add_common_options,
    format_metrics,
    load_input,
    make_manager,
)
from cvxport.report_files import write_backtest_report
from cvxport.reports import html_report

logger = logging.getLogger(__name__)


def start_note(data: dict[str, pd.DataFrame], result, lookback: int) -> str:
    """Say what set the first date of the equity curve: the lookback, after the common start.

    When every symbol's data starts on the same bar the lookback alone set the start; else the
    symbol listed last set the common start and the lookback followed it.
    """
    # a cash asset (PortfolioConfig.cash_asset) is created by the backtest, not in the data
    firsts = {s: _first_close(data[s]) for s in result.prices.columns if s in data}
    latest = max(firsts.values())
    if all(first == latest for first in firsts.values()):
        return f"data from {latest.date()} for every symbol, then {lookback} bars of lookback"
    return (
        f"common start {latest.date()} set by {result.start_symbol} (listed last), then "
        f"{lookback} bars of lookback"
    )


def _first_close(frame: pd.DataFrame) -> pd.Timestamp:
    columns = [c for c in frame.columns if str(c).lower() == "close"]
    return frame[columns[0]].first_valid_index() if columns else frame.index.min()


def command_backtest(args: argparse.Namespace) -> int:
    """Run a backtest, print the metrics table, write plots (PNG) and tables (CSV)."""
    data = load_input(args)
    manager = make_manager(args, list(data))
    result = manager.backtest(data, progress=args.progress)
    config = manager.config
    print(
        f"cvxport backtest: {config.allocation_method.value}, "
        f"{config.rebalance_frequency} rebalancing, bounds [{config.min_position_weight}, "
        f"{config.max_position_weight}], cost {config.transaction_cost}, "
        f"{len(config.symbols)} assets, "
        f"{result.equity_curve.index[0].date()} to {result.equity_curve.index[-1].date()} "
        f"({start_note(data, result, config.lookback)})"
    )
    print(format_metrics(result.metrics))
    written = write_backtest_report(result, Path(args.output))
    if args.html:
        source = ", ".join(args.data) if args.data else "bundled Binance spot daily closes"
        provenance = {
            "data source": source,
            "start": start_note(data, result, config.lookback),
            "command": "cvxport " + " ".join(sys.argv[1:]) if sys.argv[1:] else "cvxport",
        }
        page = Path(args.output) / "report.html"
        written.append(html_report(result, page, config=config, provenance=provenance))
    print(f"wrote {len(written)} files to {args.output}/: " + ", ".join(p.name for p in written))
    return 0


def register(commands) -> None:
    """Add the ``backtest`` sub-command to the sub-parsers ``commands``."""
    backtest = commands.add_parser(
        "backtest",
        help="backtest report (default: bundled data)",
        description=__doc__.split(": ", 1)[1],
    )
    add_common_options(backtest)
    add_benchmark_option(backtest)
    backtest.add_argument(
        "--html", action="store_true", help="also write report.html, one self-contained page"
    )
    backtest.set_defaults(func=command_backtest)
