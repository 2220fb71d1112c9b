"""``python -m cvxport sweep``: many backtests from a grid in a TOML file; the results table
as CSV and Parquet, and a plot.

The file is the ``--config`` file (PortfolioConfig fields at the top level, ``[data]``) plus::

    [grid]                       # every combination is one run
    allocation_method = ["equal_weight", "minimum_variance", "risk_parity"]
    lookback = [30, 60, 90]
    rebalance_frequency = ["weekly", "monthly"]

    [sweep]                      # optional; the options below win over it
    backend = "joblib"           # serial | joblib | dask
    n_jobs = 2
    scheduler = "tcp://10.0.0.5:8786"   # dask
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cvxport.cli.common import (
    add_bounds_options,
    add_data_options,
    add_output_options,
    add_portfolio_options,
    load_input,
    portfolio_config,
    positive_int,
)
from cvxport.errors import InvalidInputError
from cvxport.report_files import save_figure

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SWEEP_KEYS = {"backend": str, "n_jobs": int, "scheduler": str, "metric": str}


def read_sweep_tables(path: str | Path) -> tuple[dict[str, list], dict[str, Any]]:
    """Return the ``[grid]`` and ``[sweep]`` tables of the file (both checked, named)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot read it ({exc})") from None
    grid, sweep = table.get("grid"), table.get("sweep", {})
    if not isinstance(grid, dict) or not grid:
        raise InvalidInputError(f"{path}: needs a [grid] table of field = [values]")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise InvalidInputError(f"{path}: [grid] {key} must be a non-empty list")
    if not isinstance(sweep, dict):
        raise InvalidInputError(f"{path}: 'sweep' must be a table ([sweep])")
    for key, value in sweep.items():
        if key not in SWEEP_KEYS or not isinstance(value, SWEEP_KEYS[key]):
            raise InvalidInputError(
                f"{path}: [sweep] {key} = {value!r}: keys are "
                + ", ".join(f"{k} ({t.__name__})" for k, t in SWEEP_KEYS.items())
            )
    return grid, sweep


def command_sweep(args: argparse.Namespace) -> int:
    """Run the grid's backtests; write sweep.csv, sweep.parquet and sweep.png."""
    from cvxport.data import load_bundled_market_caps_history
    from cvxport.plotting import plot_sweep
    from cvxport.reports import sweep_report
    from cvxport.research import expand_grid, run_sweep

    if not args.config:
        raise InvalidInputError("sweep needs --config FILE.toml with a [grid] table")
    grid, sweep = read_sweep_tables(args.config)
    options = {**sweep, **{k: v for k, v in vars(args).items() if k in SWEEP_KEYS and v}}
    try:
        import pyarrow  # noqa: F401  (Parquet output)
    except ImportError:
        raise InvalidInputError("sweep writes Parquet: pip install 'cvxport[research]'") from None
    symbols = list(args.symbols or [])
    for values in grid.get("symbols", []):
        symbols += [s for s in values if s not in symbols]
    if symbols:
        args.symbols = symbols
    data = load_input(args)
    base = portfolio_config(args, list(args.symbols or data))
    runs = expand_grid(grid, base)
    caps = None if args.data else load_bundled_market_caps_history()
    backend = options.get("backend", "serial")
    progress = getattr(args, "progress", False)
    table = run_sweep(
        base, runs, data, backend=backend, n_jobs=options.get("n_jobs", 2),
        client=options.get("scheduler"), market_caps=caps, progress=progress,
    )  # fmt: skip
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "sweep.csv")
    table.to_parquet(out / "sweep.parquet")
    save_figure(lambda ax: plot_sweep(table, ax=ax), out / "sweep.png", (9, 5))
    metric = options.get("metric", "sharpe_ratio")
    sweep_report(table, out / "sweep.html", metric=metric)
    ok = table[table["status"] == "ok"]
    print(
        f"cvxport sweep: {len(table)} runs ({backend}), {len(ok)} ok, {len(table) - len(ok)} failed"
    )
    if metric in ok.columns and len(ok):
        shown = [c for c in table.columns[: list(table.columns).index("status")]] + [metric]
        print(f"best 5 by {metric}:")
        print(ok.sort_values(metric, ascending=False)[shown].head(5).to_string())
    print(f"wrote sweep.csv, sweep.parquet, sweep.png, sweep.html to {out}/")
    return 0


def register(commands) -> None:
    """Add the ``sweep`` sub-command to the sub-parsers ``commands``."""
    sweep = commands.add_parser(
        "sweep",
        help="many backtests from a [grid] in a TOML --config file (CSV, Parquet, plot)",
        description=__doc__.split(": ", 1)[1].split("\n\n")[0],
    )
    add_data_options(sweep)
    add_bounds_options(sweep)
    add_portfolio_options(sweep)
    group = sweep.add_argument_group("sweep")
    group.add_argument("--backend", choices=["serial", "joblib", "dask"], help="(default: serial)")
    group.add_argument("--n-jobs", type=positive_int, help="joblib processes (default: 2)")
    group.add_argument("--scheduler", help="Dask scheduler address for --backend dask")
    group.add_argument("--metric", help="metric ranking the printed runs (default: sharpe_ratio)")
    group.add_argument("--progress", action="store_true", help="show the sweep's progress")
    add_output_options(sweep, default="cvxport-sweep")
    sweep.set_defaults(func=command_sweep)
