"""Runs of a sweep: a grid (or a list of configs) expanded into per-run parameters, and the
config each run uses (the base config with those fields set, validated per field)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from cvxport.config import PortfolioConfig
from cvxport.errors import InvalidInputError

Params = dict[str, Any]
Grid = Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any] | PortfolioConfig]


def expand_grid(grid: Grid, base: PortfolioConfig | None = None) -> list[Params]:
    """Return one parameter dict per run, in a fixed order.

    Args:
        grid: {config field: values} (their Cartesian product, the first key varying
            slowest), or a list of {field: value} dicts, or a list of ``PortfolioConfig``
            (each run's parameters are then the fields that differ from ``base``).
        base: the base config (needed only for a list of configs).

    Raises:
        InvalidInputError: an empty grid, a key that is no config field, a value list that
            is a string or empty.
    """
    names = {f.name for f in fields(PortfolioConfig)}
    if isinstance(grid, Mapping):
        for key, values in grid.items():
            if key not in names:
                raise InvalidInputError(f"grid key {key!r} is not a PortfolioConfig field")
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
                raise InvalidInputError(
                    f"grid[{key!r}] must be a non-empty list of values, got {values!r}"
                )
        keys = list(grid)
        runs = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        runs = [_params_of(item, base, names, i) for i, item in enumerate(grid)]
    else:
        raise InvalidInputError(f"grid must be a mapping or a list, got {type(grid).__name__}")
    if not runs:
        raise InvalidInputError("the grid has no runs")
    return runs


def _params_of(item: Any, base: PortfolioConfig | None, names: set[str], i: int) -> Params:
    if isinstance(item, PortfolioConfig):
        if base is None:
            return {f: getattr(item, f) for f in sorted(names)}
        return {
            f.name: getattr(item, f.name)
            for f in fields(PortfolioConfig)
            if repr(getattr(item, f.name)) != repr(getattr(base, f.name))
        }
    if isinstance(item, Mapping):
        unknown = [k for k in item if k not in names]
        if unknown:
            raise InvalidInputError(f"grid entry {i}: {unknown} are not PortfolioConfig fields")
        return dict(item)
    raise InvalidInputError(f"grid entry {i} must be a dict or a PortfolioConfig, got {item!r}")


def configure(base: PortfolioConfig, params: Mapping[str, Any]) -> PortfolioConfig:
    """Return a copy of ``base`` with ``params`` set (each validated; errors name the field)."""
    config = copy.deepcopy(base)
    for key, value in params.items():
        setattr(config, key, copy.deepcopy(value))
    config.validate()
    return config


def param_label(value: Any) -> Any:
    """A parameter as a table cell: numbers, strings and None as they are, enums by value,
    lists joined with ',', anything else by its repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "value") and isinstance(value.value, str):  # an Enum such as a method
        return value.value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    return repr(value)
