"""Options and loading shared by every command: data source, portfolio options, the manager."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from cvxport.config import PortfolioConfig
from cvxport.data import BUNDLED_SYMBOLS, load_bundled_market_caps, load_bundled_prices
from cvxport.errors import InvalidInputError
from cvxport.manager import PortfolioManager
from cvxport.methods import AllocationMethod
from cvxport.metrics.report import METRIC_UNITS
from cvxport.rebalancing import REBALANCE_FREQUENCIES

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
    return load_bundled_prices(args.symbols or SPEC_SYMBOLS, start=args.start, end=args.end)


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
        manager.set_market_caps(load_bundled_market_caps(symbols=symbols))
    return manager


def format_metrics(metrics: dict[str, float]) -> str:
    """Return the metrics as an aligned two-column table with units."""
    lines = []
    for key, value in metrics.items():
        unit = "%" if METRIC_UNITS.get(key) == "percent" else ""
        shown = f"{value:>14d}" if isinstance(value, int) else f"{value:>14.2f}"
        lines.append(f"  {key:<24}{shown}{unit}")
    return "\n".join(lines)


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
