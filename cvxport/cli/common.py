"""Options and loading shared by the commands: data source, portfolio options, the manager.

Option groups: ``add_data_options`` (where the prices come from), ``add_bounds_options``
(weight bounds, risk-free rate, solver: every command that optimizes), ``add_portfolio_options``
(the backtest's settings) and ``add_output_options``. ``add_common_options`` adds them all, for
commands that run a backtest. A command adds only the groups it uses, so argparse refuses an
option the command would ignore.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import pandas as pd

from cvxport.config import PortfolioConfig
from cvxport.data import BUNDLED_SYMBOLS, load_bundled_market_caps_history, load_bundled_prices
from cvxport.data.csv_files import DATE_COLUMNS, read_price_files
from cvxport.errors import InvalidInputError
from cvxport.manager import PortfolioManager
from cvxport.methods import AllocationMethod
from cvxport.metrics.report import METRIC_UNITS
from cvxport.rebalancing import REBALANCE_FREQUENCIES

SPEC_SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
MIN_WEIGHT, MAX_WEIGHT = 0.05, 0.40  # the spec's bounds, the same for every command


# --- argument types: a bad value is argparse's usage error (exit code 2) --------------------
def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    """An integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def open_fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1, got {text}")
    return value


def date(text: str) -> str:
    """A date pandas can read (kept as the text given)."""
    try:
        pd.Timestamp(text)
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None
    return text


def budget_share(text: str) -> tuple[str, float]:
    """``SYMBOL=SHARE`` (a share of risk, fraction)."""
    symbol, sep, share = text.rpartition("=")
    try:
        value = float(share)
    except ValueError:
        value = None
    if not sep or not symbol or value is None:
        raise argparse.ArgumentTypeError(f"expected SYMBOL=SHARE such as BTC/USDT=0.5, got {text}")
    return symbol, value


# --- option groups -----------------------------------------------------------------------------
def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Where prices come from: the bundled data or CSV files, the window, the gaps allowed."""
    group = parser.add_argument_group("data")
    group.add_argument("--config", help="TOML file of PortfolioConfig fields and a [data] table")
    group.add_argument(
        "--data",
        nargs="+",
        help="CSV files or folders; the file stem is the symbol (default: the bundled data)",
    )
    group.add_argument(
        "--symbols",
        nargs="+",
        help=f"symbols (default: every file, or {', '.join(SPEC_SYMBOLS)} of the bundled "
        f"{', '.join(BUNDLED_SYMBOLS)})",
    )
    group.add_argument("--start", type=date, help="first date used (inclusive)")
    group.add_argument("--end", type=date, help="last date used (inclusive)")
    group.add_argument(
        "--date-column",
        help=f"CSV column of dates (default: the first of {', '.join(DATE_COLUMNS)}, any case)",
    )
    dates = group.add_mutually_exclusive_group()
    dates.add_argument("--date-format", help="strftime format of the CSV dates, e.g. %%d/%%m/%%Y")
    dates.add_argument("--dayfirst", action="store_true", help="CSV dates are day first")
    group.add_argument(
        "--max-forward-fill",
        type=nonnegative_int,
        default=0,
        help="longest gap (bars) filled with the previous close",
    )


def add_bounds_options(parser: argparse.ArgumentParser) -> None:
    """Per-asset weight bounds, the risk-free rate and the solver."""
    group = parser.add_argument_group("optimization")
    group.add_argument("--min-weight", type=float, default=MIN_WEIGHT, help="fraction of NAV")
    group.add_argument("--max-weight", type=float, default=MAX_WEIGHT, help="fraction of NAV")
    group.add_argument("--risk-free-rate", type=float, default=0.0, help="annual fraction")
    group.add_argument("--solver", help="cvxpy solver (default: exact fast paths, else CLARABEL)")


def add_portfolio_options(parser: argparse.ArgumentParser) -> None:
    """The allocation method and the backtest's settings."""
    group = parser.add_argument_group("portfolio")
    group.add_argument(
        "--method",
        default="risk_parity",
        choices=[m.value for m in AllocationMethod],
        help="allocation method",
    )
    group.add_argument(
        "--risk-budget",
        nargs="+",
        type=budget_share,
        metavar="SYMBOL=SHARE",
        help="shares of risk for --method risk_budgeting, e.g. BTC/USDT=0.5 ETH/USDT=0.5",
    )
    group.add_argument(
        "--frequency",
        default="monthly",
        choices=list(REBALANCE_FREQUENCIES),
        help="calendar rebalancing: first bar of each new period",
    )
    group.add_argument("--cost", type=float, default=0.001, help="fraction of traded notional")
    group.add_argument("--capital", type=float, default=100_000.0, help="quote currency")
    group.add_argument("--lookback", type=int, default=60, help="bars of returns")


def add_benchmark_option(parser: argparse.ArgumentParser) -> None:
    """``--benchmark SYMBOL``: loaded with the data, compared against, not held."""
    parser.add_argument(
        "--benchmark",
        metavar="SYMBOL",
        help="a bundled symbol or --data file to compare against (adds alpha, beta, "
        "tracking error); not held unless also listed in --symbols",
    )


def add_output_options(parser: argparse.ArgumentParser, default: str = "cvxport-report") -> None:
    """The output folder (checked writable before any work)."""
    parser.add_argument("--output", default=default, help="output folder")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Every option of a command that runs a backtest: data, bounds, portfolio, progress bar,
    output."""
    add_data_options(parser)
    add_bounds_options(parser)
    add_portfolio_options(parser)
    parser.add_argument("--progress", action="store_true", help="show the backtest's progress")
    add_output_options(parser)


# --- checks and loading ------------------------------------------------------------------------
def check_output_folder(folder: str | Path) -> Path:
    """Refuse an output folder that cannot be created or written; create nothing.

    Probes the deepest existing ancestor with a temporary file (removed at once).
    """
    path = Path(folder)
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        what = "is a file" if existing == path else f"lies under the file {existing}"
        raise InvalidInputError(f"--output {folder}: {what}, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise InvalidInputError(
            f"--output {folder}: cannot write in {existing} ({os.strerror(exc.errno or 0)})"
        ) from None
    return path


def load_input(args: argparse.Namespace) -> dict[str, pd.DataFrame]:
    """Return the price dict the command works on (bundled unless ``--data`` is given)."""
    if args.data:
        data = read_price_files(
            args.data,
            date_column=args.date_column,
            date_format=args.date_format,
            dayfirst=args.dayfirst,
            start=args.start,
            end=args.end,
        )
        symbols = _with_benchmark(args, args.symbols or list(data))
        cash = (getattr(args, "config_fields", None) or {}).get("cash_asset")
        symbols = [s for s in symbols if s != cash]  # the backtest creates the cash asset
        missing = [s for s in symbols if s not in data]
        if missing:
            raise InvalidInputError(f"--symbols {missing} not among the files: {list(data)}")
        return {s: data[s] for s in symbols}
    for option in ("date_column", "date_format", "dayfirst"):
        if getattr(args, option):
            raise InvalidInputError(f"--{option.replace('_', '-')} applies to --data files only")
    start, end = args.start, args.end
    if getattr(args, "method", None) == AllocationMethod.MARKET_CAP_WEIGHT.value:
        # point-in-time caps cover 2021: by default the first rebalance is on 2021-01-01
        caps = load_bundled_market_caps_history()
        start = start or str((caps.index[0] - pd.Timedelta(days=args.lookback)).date())
        end = end or str(caps.index[-1].date())
    symbols = _with_benchmark(args, args.symbols or SPEC_SYMBOLS)
    cash = (getattr(args, "config_fields", None) or {}).get("cash_asset")
    symbols = [s for s in symbols if s != cash]  # the backtest creates the cash asset
    return load_bundled_prices(symbols, start=start, end=end)


def _with_benchmark(args: argparse.Namespace, symbols: list[str]) -> list[str]:
    benchmark = getattr(args, "benchmark", None)
    return [*symbols, benchmark] if benchmark and benchmark not in symbols else list(symbols)


def portfolio_config(args: argparse.Namespace, symbols: list[str]) -> PortfolioConfig:
    """The ``PortfolioConfig`` of the options (and the ``--config`` file), checked as a whole."""
    fields = dict(getattr(args, "config_fields", None) or {})
    benchmark = getattr(args, "benchmark", None)
    if benchmark and benchmark not in (args.symbols or []):
        symbols = [s for s in symbols if s != benchmark]  # compared against, not held
    if benchmark:
        fields["benchmark"] = benchmark
    cash = fields.get("cash_asset")
    if cash is not None and cash not in symbols:
        symbols = [*symbols, cash]  # not in the data: the backtest creates it
    fields.update(
        symbols=symbols,
        min_position_weight=args.min_weight,
        max_position_weight=args.max_weight,
        risk_free_rate=args.risk_free_rate,
        solver=args.solver,
        max_forward_fill=args.max_forward_fill,
    )
    if hasattr(args, "method"):
        fields.update(
            initial_capital=args.capital,
            allocation_method=args.method,
            rebalance_frequency=args.frequency,
            transaction_cost=args.cost,
            lookback=args.lookback,
        )
        budget = args.risk_budget
        if budget is not None and not isinstance(budget, dict):
            budget = dict(budget)
        if budget and AllocationMethod.parse(args.method) != AllocationMethod.RISK_BUDGETING:
            raise InvalidInputError(
                f"--risk-budget is used only by --method risk_budgeting, not {args.method}"
            )
        fields["risk_budget"] = budget
    config = PortfolioConfig(**fields)
    config.validate()
    return config


def make_manager(args: argparse.Namespace, symbols: list[str]) -> PortfolioManager:
    """Build the manager the options describe."""
    config = portfolio_config(args, symbols)
    manager = PortfolioManager(config)
    if config.allocation_method == AllocationMethod.MARKET_CAP_WEIGHT:
        if args.data:
            raise InvalidInputError("market_cap_weight needs caps; only the bundled data has them")
        manager.set_market_caps(load_bundled_market_caps_history(config.symbols))
    return manager


def format_metrics(metrics: dict[str, float]) -> str:
    """Return the metrics as an aligned two-column table with units."""
    lines = []
    for key, value in metrics.items():
        unit = "%" if METRIC_UNITS.get(key) == "percent" else ""
        shown = f"{value:>14d}" if isinstance(value, int) else f"{value:>14.2f}"
        lines.append(f"  {key:<24}{shown}{unit}")
    return "\n".join(lines)
