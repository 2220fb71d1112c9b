"""One run of a sweep, in whatever process it lands: the backtest of one config, as a row.

A run never raises: a failure becomes a row with ``status == 'error'`` and its error text,
so one bad config cannot stop the others. Rows hold plain Python scalars only, so the table
is the same, bit for bit, whichever process computed it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from cvxport.config import PortfolioConfig
from cvxport.manager import PortfolioManager
from cvxport.methods import AllocationMethod
from cvxport.research.grid import configure, param_label

STATUS_COLUMNS = ["status", "error", "outcome", "n_warnings"]


def data_for(data: Any, config: PortfolioConfig) -> Any:
    """The part of ``data`` a config uses: its symbols (and a benchmark symbol)."""
    if not isinstance(data, Mapping):
        return data
    wanted = list(config.symbols)
    if isinstance(config.benchmark, str) and config.benchmark not in wanted:
        wanted.append(config.benchmark)
    missing = [s for s in wanted if s not in data]
    if missing:
        from cvxport.errors import InvalidInputError

        raise InvalidInputError(f"the sweep's data has no prices for {missing}")
    return {s: data[s] for s in wanted}


def run_one(
    run: int,
    params: Mapping[str, Any],
    base: PortfolioConfig,
    data: Any,
    market_caps: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Backtest ``base`` with ``params``; return the row (run id, parameters, status, error,
    outcome, the number of warnings, and every scalar metric in the report's units)."""
    row: dict[str, Any] = {"run": run}
    row.update({key: param_label(value) for key, value in params.items()})
    row.update(status="ok", error="", outcome="", n_warnings=0)
    try:
        config = configure(base, params)
        manager = PortfolioManager(config)
        if (
            market_caps is not None
            and config.allocation_method == AllocationMethod.MARKET_CAP_WEIGHT
        ):
            manager.set_market_caps(market_caps[list(config.symbols)])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = manager.backtest(data_for(data, config), progress=False)
    except Exception as exc:  # a failed run is a row, never the end of the sweep
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
        return row
    row.update(outcome=result.outcome, n_warnings=len(caught))
    for key, value in result.metrics.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            row[key] = value
    return row


def run_chunk(
    chunk: Sequence[tuple[int, Mapping[str, Any]]],
    base: PortfolioConfig,
    data: Any,
    market_caps: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Rows of several runs (one task of a parallel backend)."""
    return [run_one(run, params, base, data, market_caps) for run, params in chunk]
