"""Command line: ``python -m cvxport backtest|frontier|stress`` on the bundled data or CSV files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from cvxport.cli_analysis import add_analysis_commands
from cvxport.config import PortfolioConfig
from cvxport.data import BUNDLED_SYMBOLS, load_bundled_market_caps_history, load_bundled_prices
from cvxport.errors import CvxportError, InvalidInputError
from cvxport.manager import PortfolioManager
from cvxport.methods import AllocationMethod
from cvxport.metrics.report import METRIC_UNITS
from cvxport.rebalancing import REBALANCE_FREQUENCIES
from cvxport.report_files import write_backtest_report

SPEC_SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def read_csv_prices(paths: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Read per-symbol CSV files (or every ``*.csv`` in a folder); the file stem is the symbol.

    Each file needs a ``timestamp`` column (dates) and a ``close`` column.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(path.glob("*.csv"))
        elif path.is_file():
            files.append(path)
        else:
            raise InvalidInputError(f"no such file or folder: {raw}")
    if not files:
        raise InvalidInputError(f"no CSV files found in {list(paths)}")
    data = {}
    for file in files:
        frame = pd.read_csv(file)
        if "timestamp" not in frame.columns:
            raise InvalidInputError(f"{file.name} has no 'timestamp' column: {list(frame.columns)}")
        data[file.stem] = frame.set_index(pd.to_datetime(frame.pop("timestamp")))
    return data


def load_input(args: argparse.Namespace) -> dict[str, pd.DataFrame]:
    """Return the price dict the command works on (bundled unless ``--data`` is given)."""
    if args.data:
        data = read_csv_prices(args.data)
        symbols = args.symbols or list(data)
        missing = [s for s in symbols if s not in data]
        if missing:
            raise InvalidInputError(f"--symbols {missing} not among the files: {list(data)}")
        return {s: data[s] for s in symbols}
    start, end = args.start, args.end
    if getattr(args, "method", None) == AllocationMethod.MARKET_CAP_WEIGHT.value:
        # point-in-time caps cover 2021: by default the first rebalance is on 2021-01-01
        caps = load_bundled_market_caps_history()
        start = start or str((caps.index[0] - pd.Timedelta(days=args.lookback)).date())
        end = end or str(caps.index[-1].date())
    return load_bundled_prices(args.symbols or SPEC_SYMBOLS, start=start, end=end)


def make_manager(args: argparse.Namespace, symbols: list[str]) -> PortfolioManager:
    """Build the manager the options describe."""
    config = PortfolioConfig(
        initial_capital=args.capital,
        symbols=symbols,
        allocation_method=args.method,
        rebalance_frequency=args.frequency,
        min_position_weight=args.min_weight,
        max_position_weight=args.max_weight,
        transaction_cost=args.cost,
        lookback=args.lookback,
        solver=args.solver,
        risk_free_rate=args.risk_free_rate,
    )
    manager = PortfolioManager(config)
    if config.allocation_method == AllocationMethod.MARKET_CAP_WEIGHT:
        if args.data:
            raise InvalidInputError("market_cap_weight needs caps; only the bundled data has them")
        manager.set_market_caps(load_bundled_market_caps_history(symbols))
    return manager


def format_metrics(metrics: dict[str, float]) -> str:
    """Return the metrics as an aligned two-column table with units."""
    lines = []
    for key, value in metrics.items():
        unit = "%" if METRIC_UNITS.get(key) == "percent" else ""
        shown = f"{value:>14d}" if isinstance(value, int) else f"{value:>14.2f}"
        lines.append(f"  {key:<24}{shown}{unit}")
    return "\n".join(lines)


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


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="cvxport", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    backtest = commands.add_parser("backtest", help="backtest report (default: bundled data)")
    add_common_options(backtest)
    backtest.set_defaults(func=command_backtest)
    add_analysis_commands(commands, add_common_options)
    return parser


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Add data, method and portfolio options shared by every command."""
    methods = [m.value for m in AllocationMethod]
    parser.add_argument("--data", nargs="+", help="CSV files or folders (default: bundled)")
    parser.add_argument(
        "--symbols", nargs="+", help=f"symbols (bundled: {', '.join(BUNDLED_SYMBOLS)})"
    )
    parser.add_argument("--start", help="first date of the bundled data used")
    parser.add_argument("--end", help="last date of the bundled data used")
    parser.add_argument("--method", default="risk_parity", choices=methods)
    parser.add_argument("--frequency", default="monthly", choices=list(REBALANCE_FREQUENCIES))
    parser.add_argument("--min-weight", type=float, default=0.05, help="fraction, 0.05 = 5%%")
    parser.add_argument("--max-weight", type=float, default=0.40, help="fraction, 0.40 = 40%%")
    parser.add_argument("--cost", type=float, default=0.001, help="per traded notional")
    parser.add_argument("--capital", type=float, default=100_000.0)
    parser.add_argument("--lookback", type=int, default=60, help="bars of returns")
    parser.add_argument("--risk-free-rate", type=float, default=0.0, help="annual fraction")
    parser.add_argument(
        "--solver", default=None, help="cvxpy solver (default: exact fast paths, else CLARABEL)"
    )
    parser.add_argument("--output", default="cvxport-report", help="output folder")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m cvxport`` and the ``cvxport`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CvxportError as exc:
        print(f"cvxport: error: {exc}", file=sys.stderr)
        return 2
