"""Per-symbol allocation data (market caps, risk budgets) checked against the universe."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError


def positive_per_symbol(
    values: Mapping[str, float], assets: pd.Index, what: str, hint: str = ""
) -> np.ndarray:
    """Return (n,) positive finite values aligned to ``assets`` from a symbol mapping.

    Args:
        values: symbol -> value.
        assets: the universe.
        what: the name used in messages ('market cap', 'risk budget').
        hint: appended to the message on a non-positive value.

    Raises:
        InvalidInputError: a symbol of the universe is missing, a symbol is not in the
            universe, or a value is not a positive finite number; each names the symbols.
    """
    if not isinstance(values, (Mapping, pd.Series)):
        raise InvalidInputError(
            f"{what} must be a mapping symbol -> value (e.g. {{'BTC/USDT': 0.5}}), got "
            f"{type(values).__name__} {values!r}"
        )
    given = dict(values.items())
    missing = [s for s in assets if s not in given]
    if missing:
        raise InvalidInputError(f"{what} missing for {missing}")
    unknown = [s for s in given if s not in assets]
    if unknown:
        raise InvalidInputError(f"{what} given for symbols not in the universe: {unknown}")
    for symbol in assets:
        if isinstance(given[symbol], bool) or not isinstance(given[symbol], numbers.Real):
            raise InvalidInputError(f"{what} of {symbol!r} must be a number, got {given[symbol]!r}")
    out = np.array([float(given[s]) for s in assets])
    bad = np.nonzero(~np.isfinite(out) | (out <= 0))[0]
    if len(bad):
        raise InvalidInputError(
            f"{what} of {assets[bad[0]]!r} must be > 0 and finite, got {float(out[bad[0]])!r}{hint}"
        )
    return out
