"""``python -m cvxport backtest``: metrics table, plots (PNG) and result tables (CSV)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cvxport.cli.common import add_common_options, format_metrics, load_input, make_manager
from cvxport.report_files import write_backtest_report


def command_backtest(args: argparse.Namespace) -> int:
    """Run a backtest, print the metrics table, write plots (PNG) and tables (CSV)."""
    data = load_input(args)
    manager = make_manager(args, list(data))
    result = manager.backtest(data, progress=args.progress)
    print(
        f"cvxport backtest: {manager.config.allocation_method.value}, "
        f"{args.frequency} rebalancing, bounds [{args.min_weight}, {args.max_weight}], "
        f"cost {args.cost}, {len(data)} assets, {result.equity_curve.index[0].date()} to "
        f"{result.equity_curve.index[-1].date()} (start set by {result.start_symbol})"
    )
    print(format_metrics(result.metrics))
    written = write_backtest_report(result, Path(args.output))
    print(f"wrote {len(written)} files to {args.output}/: " + ", ".join(p.name for p in written))
    return 0


def register(commands) -> None:
    """Add the ``backtest`` sub-command to the sub-parsers ``commands``."""
    backtest = commands.add_parser("backtest", help="backtest report (default: bundled data)")
    add_common_options(backtest)
    backtest.set_defaults(func=command_backtest)
