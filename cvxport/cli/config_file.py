"""``--config FILE.toml``: PortfolioConfig fields at the top level, the data source in ``[data]``.

Example::

    allocation_method = "risk_budgeting"
    min_position_weight = 0.05
    max_position_weight = 0.6
    risk_budget = { "BTC/USDT" = 0.5, "ETH/USDT" = 0.3, "SOL/USDT" = 0.2 }

    [data]
    paths = ["prices/"]          # relative to this file
    date_column = "Date"
    dayfirst = true
    start = "2022-01-01"

Each top-level key is assigned to a ``PortfolioConfig``, so it is validated exactly as the
library validates it (same checks, same message, prefixed with the file). The file's values
replace the options' defaults; options given on the command line win over the file.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

from cvxport.config import PortfolioConfig
from cvxport.errors import CvxportError, InvalidInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# PortfolioConfig field -> the option's dest; fields without an option go to config_fields.
FIELD_OPTIONS = {
    "initial_capital": "capital",
    "symbols": "symbols",
    "allocation_method": "method",
    "rebalance_frequency": "frequency",
    "min_position_weight": "min_weight",
    "max_position_weight": "max_weight",
    "transaction_cost": "cost",
    "lookback": "lookback",
    "risk_free_rate": "risk_free_rate",
    "solver": "solver",
    "risk_budget": "risk_budget",
    "max_forward_fill": "max_forward_fill",
    "benchmark": "benchmark",
}

# [data] key -> (the option's dest, accepted types)
DATA_KEYS: dict[str, tuple[str, tuple[type, ...]]] = {
    "paths": ("data", (list,)),
    "date_column": ("date_column", (str,)),
    "date_format": ("date_format", (str,)),
    "dayfirst": ("dayfirst", (bool,)),
    "start": ("start", (str, datetime.date)),
    "end": ("end", (str, datetime.date)),
}


# tables of the sweep command's file, skipped here (cvxport.cli.sweep reads them)
SWEEP_SECTIONS = ("grid", "sweep")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read and validate a TOML config; return ``{option dest: value}`` for ``set_defaults``.

    Fields without a command-line option (e.g. ``covariance``, ``on_infeasible``) are returned
    under ``config_fields`` as a dict.

    Raises:
        InvalidInputError: naming the file, and the field (PortfolioConfig's own message) or
            the TOML line at fault.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        raise InvalidInputError(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--config {path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path}: not valid TOML: {exc}") from None
    data = table.pop("data", {})
    for section in SWEEP_SECTIONS:  # read by the sweep command (cvxport.cli.sweep)
        table.pop(section, None)
    config = PortfolioConfig()
    for key, value in table.items():
        try:
            setattr(config, key, value)
        except CvxportError as exc:
            raise InvalidInputError(f"{path}: {exc}") from None
    values: dict[str, Any] = {"config_fields": {}}
    for key in table:
        value = getattr(config, key)
        value = getattr(value, "value", value)  # AllocationMethod -> its value
        if key in FIELD_OPTIONS:
            values[FIELD_OPTIONS[key]] = value
        else:
            values["config_fields"][key] = value
    values.update(_data_table(path, data))
    return values


def _data_table(path: Path, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path}: 'data' must be a table ([data]), got {data!r}")
    values = {}
    for key, value in data.items():
        if key not in DATA_KEYS:
            raise InvalidInputError(f"{path}: [data] has no key {key!r}; keys: {list(DATA_KEYS)}")
        dest, types = DATA_KEYS[key]
        if not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            raise InvalidInputError(f"{path}: [data] {key} must be a {names}, got {value!r}")
        if key == "paths":
            if not value or not all(isinstance(p, str) for p in value):
                raise InvalidInputError(f"{path}: [data] paths must be a list of paths")
            value = [str(path.parent / p) for p in value]
        values[dest] = value
    return values
