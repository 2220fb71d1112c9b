"""Checks on a returns panel before it reaches an estimator or a cvxpy Parameter."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError


def validate_returns(returns: pd.DataFrame, min_rows: int = 2) -> pd.DataFrame:
    """Return ``returns`` as a float frame after checking it, else raise InvalidInputError.

    Args:
        returns: (T, n) simple periodic returns (fractions), rows timestamps, columns symbols.
        min_rows: fewest rows accepted.

    Raises:
        InvalidInputError: not a DataFrame, duplicate or empty symbols, timestamps repeated
            or out of order (naming the first; EWMA estimates depend on the order), fewer than
            ``min_rows`` rows, non-numeric columns, or NaN/inf (naming symbol and timestamp).
    """
    if not isinstance(returns, pd.DataFrame):
        raise InvalidInputError(
            f"returns must be a pandas DataFrame (rows: timestamps, columns: symbols), "
            f"got {type(returns).__name__}"
        )
    if returns.shape[1] == 0:
        raise InvalidInputError("returns has no columns (symbols)")
    if not returns.columns.is_unique:
        duplicated = returns.columns[returns.columns.duplicated()].unique().tolist()
        raise InvalidInputError(f"returns has duplicate symbols: {duplicated}")
    check_time_order(returns.index)
    if len(returns) < min_rows:
        raise InvalidInputError(
            f"returns has {len(returns)} rows; at least {min_rows} are needed to estimate risk"
        )
    try:
        values = returns.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"returns has non-numeric values: {exc}") from exc
    bad = ~np.isfinite(values)
    if bad.any():
        rows, cols = np.nonzero(bad)
        first = int(np.argmin(rows * values.shape[1] + cols))
        row, col = rows[first], cols[first]
        raise InvalidInputError(
            f"returns of {returns.columns[col]!r} is {values[row, col]} at {returns.index[row]} "
            f"({int(bad[:, col].sum())} non-finite values in that column)"
        )
    if bool((returns.dtypes == np.float64).all()):
        return returns  # already a float frame: no copy
    return pd.DataFrame(values, index=returns.index, columns=returns.columns)


def check_time_order(index: pd.Index) -> None:
    """Refuse a returns index with a repeated timestamp or one out of ascending order.

    Raises:
        InvalidInputError: naming the first repeated or out-of-order timestamp and its row.
    """
    if not index.is_unique:
        repeated = np.flatnonzero(index.duplicated())
        row = int(repeated[0])
        raise InvalidInputError(
            f"returns has the timestamp {index[row]} twice (again at row {row}); each row "
            "must be one period (drop or aggregate the duplicates)"
        )
    try:
        ascending = index.is_monotonic_increasing
    except TypeError:  # labels that cannot be ordered (mixed types)
        ascending = False
    if ascending:
        return
    position = next(
        (i for i in range(1, len(index)) if not _before(index[i - 1], index[i])), len(index) - 1
    )
    raise InvalidInputError(
        f"returns is not in time order: row {position} ({index[position]}) comes after "
        f"{index[position - 1]}; sort it first (returns.sort_index())"
    )


def _before(first: object, second: object) -> bool:
    try:
        return bool(first < second)
    except TypeError:
        return False
