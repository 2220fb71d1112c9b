"""Checks of constructor arguments (constraints, allocators, config): each names the parameter.

A string where a number belongs, ``None`` where a value is required, a list where a mapping
symbol -> value belongs, or a negative count would otherwise surface as numpy's or Python's
own ``TypeError``/``ValueError`` deep in a solve, or be used as given (``tuple('OSQP')`` is
four solver names). Every function returns the value to store (normalized where said) and
raises ``InvalidInputError`` whose message starts with ``Owner.parameter``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from cvxport.errors import InvalidInputError


def number(value: Any, name: str, low: float = -math.inf, high: float = math.inf) -> float:
    """Return a real, finite number in [low, high] as float (bool refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{name} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out < low or out > high:
        if math.isinf(low) and math.isinf(high):
            where = "a finite number"
        elif math.isinf(high):
            where = f"a number >= {low:g}"
        else:
            where = f"a number in [{low:g}, {high:g}]"
        raise InvalidInputError(f"{name} must be {where}, got {value!r}")
    return out


def number_or_mapping(value: Any, name: str) -> float | dict[str, float]:
    """Return a finite number, or a mapping symbol -> finite number as a dict."""
    if isinstance(value, Mapping):
        out = {}
        for symbol, bound in value.items():
            if not isinstance(symbol, str):
                raise InvalidInputError(f"{name} has a key {symbol!r} that is not a symbol")
            out[symbol] = number(bound, f"{name}[{symbol!r}]")
        return out
    if isinstance(value, Iterable) and not isinstance(value, (str, numbers.Real)):
        raise InvalidInputError(
            f"{name} must be a number or a mapping symbol -> number (e.g. {{'BTC/USDT': 0.1}}), "
            f"not a {type(value).__name__}: a sequence does not say which symbol each value is"
        )
    return number(value, name)


def flag(value: Any, name: str) -> bool:
    """Return a bool (numpy's bool_ accepted); refuse 'yes', 1, None."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidInputError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def text(value: Any, name: str, allow_empty: bool = False) -> str:
    """Return a string (non-empty unless ``allow_empty``)."""
    if not isinstance(value, str) or not (value or allow_empty):
        raise InvalidInputError(f"{name} must be a {'' if allow_empty else 'non-empty '}string, "
                                f"got {value!r}")  # fmt: skip
    return value


def symbols(value: Any, name: str) -> tuple[str, ...]:
    """Return a non-empty tuple of symbol strings from a list or tuple (not a lone string)."""
    if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{name} must be a list of symbols, got {value!r}")
    out = tuple(value)
    if not out:
        raise InvalidInputError(f"{name} is empty")
    for symbol in out:
        text(symbol, f"{name} entry")
    twice = sorted({s for s in out if out.count(s) > 1})
    if twice:
        raise InvalidInputError(f"{name} lists {twice} twice (each symbol once)")
    return out


def optional_mapping(value: Any, name: str) -> Mapping | None:
    """Return None or a mapping symbol -> value (its contents are checked with the data)."""
    if value is not None and not isinstance(value, Mapping):
        raise InvalidInputError(
            f"{name} must be a mapping symbol -> value (e.g. {{'BTC/USDT': 0.5}}) or None, "
            f"got {type(value).__name__} {value!r}"
        )
    return value


def solver_names(value: Any, name: str) -> tuple[str, ...]:
    """Return a tuple of solver names from a list or tuple (None: no fallback)."""
    if value is None:
        return ()
    if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
        raise InvalidInputError(
            f"{name} must be a list of solver names such as ['OSQP', 'SCS'], got {value!r}"
        )
    out = tuple(value)
    for solver in out:
        text(solver, f"{name} entry")
    return out


def optional_solver(value: Any, name: str) -> str | None:
    """Return None or a solver name (whether it is installed is checked at the solve)."""
    return None if value is None else text(value, name)
