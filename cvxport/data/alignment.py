"""Align per-symbol price data into one panel of closes, refusing data it would have to guess.

Input is either the spec's dict ``{symbol: frame}`` (each frame with a close column named
``close`` in any case, indexed by timestamps) or one wide DataFrame of closes whose columns are
the symbols. Prices are in the quote currency (USDT for the bundled data).

Policy:

- **Window.** A symbol is listed from its first valid (non-NaN) close to its last one. The panel
  starts at the latest first valid timestamp over the symbols (that symbol is reported as
  ``start_symbol``) and ends at the earliest last valid timestamp.
- **Bars.** The panel's bars are the timestamps inside the window at which at least one symbol
  has a valid close (the union, sorted ascending); a row where no symbol has a price is not a bar.
- **Gaps.** Inside the window, a bar without a valid close for a symbol (absent row or NaN) is a
  gap. Every gap is an error naming the symbol and the missing dates, unless
  ``max_forward_fill`` is at least the length (in consecutive bars) of every gap of the panel:
  then those bars take the previous close and are listed in ``AlignedPrices.filled``.
  A gap is measured whole, also where it starts before the window.
- **Values.** Every close, inside the window or not, must be finite and positive; NaN before a
  symbol's first valid close means "not listed yet" and NaN after its last one "delisted".
- **Refusals.** Empty input, a requested symbol without data, data for a symbol not requested,
  no close column, a non-numeric close column, an index that is not (or does not parse to)
  timestamps, duplicate timestamps, bad values and fewer than ``min_bars`` common bars all raise
  ``InvalidInputError`` naming the symbol (and the date and value where there is one), before
  anything is returned. The caller's frames are never modified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError

_SHOWN_DATES = 3


@dataclass(frozen=True)
class AlignedPrices:
    """A gap-free panel of closes and how it was cut from the input.

    Attributes:
        prices: (T, n) closes in the quote currency, DatetimeIndex named ``'timestamp'``
            sorted ascending (no ``freq``), columns the symbols in the requested order.
        start_symbol: The symbol whose first valid close set the common start.
        start: First timestamp of the panel.
        end: Last timestamp of the panel.
        filled: ``{symbol: timestamps}`` of the bars forward-filled; symbols without fills are
            absent, so an empty dict means nothing was filled.
    """

    prices: pd.DataFrame
    start_symbol: str
    start: pd.Timestamp
    end: pd.Timestamp
    filled: dict[str, list[pd.Timestamp]]


def align_prices(
    data: Mapping[str, pd.DataFrame] | pd.DataFrame,
    symbols: Sequence[str] | None = None,
    max_forward_fill: int = 0,
    min_bars: int = 2,
) -> AlignedPrices:
    """Cut the common window of all symbols into a (T, n) panel of closes (see module policy).

    Args:
        data: ``{symbol: frame with a close column}`` or a wide DataFrame of closes (columns =
            symbols). Prices in the quote currency.
        symbols: Symbols to keep, in this order; default all, in the order of ``data``. Every
            symbol in ``data`` must be listed.
        max_forward_fill: Longest gap, in consecutive bars, that may be filled with the previous
            close; 0 (the default) refuses any gap.
        min_bars: Fewest common bars accepted.

    Returns:
        The panel, its window, the symbol that set the start and the forward-filled bars.

    Raises:
        InvalidInputError: The input breaks the policy; the message names symbol and date.
    """
    _check_count(max_forward_fill, "max_forward_fill", minimum=0)
    _check_count(min_bars, "min_bars", minimum=1)
    panel = _panel(data, symbols).dropna(how="all")
    listed = panel.notna().to_numpy()
    stamps = panel.index
    firsts = dict(zip(panel.columns, stamps[listed.argmax(axis=0)], strict=True))
    lasts = dict(zip(panel.columns, stamps[len(stamps) - 1 - listed[::-1].argmax(axis=0)],
                     strict=True))  # fmt: skip
    start_symbol = max(panel.columns, key=firsts.__getitem__)  # ties: the first requested
    end_symbol = min(panel.columns, key=lasts.__getitem__)
    start, end = firsts[start_symbol], lasts[end_symbol]
    window = stamps.slice_indexer(start, end)
    n_bars = len(stamps[window])
    if n_bars < min_bars:
        raise InvalidInputError(
            f"only {n_bars} common bar(s) between the start {_fmt(start)} (first close of "
            f"{start_symbol!r}) and the end {_fmt(end)} (last close of {end_symbol!r}); "
            f"need at least min_bars={min_bars}"
        )
    filled = _check_gaps(panel, listed, window, max_forward_fill)
    values = panel.to_numpy()
    if filled:
        values = panel.ffill().to_numpy()
    # one float block, no freq (whether pandas infers one depends on how the inputs overlapped)
    prices = pd.DataFrame(
        values[window],
        index=pd.DatetimeIndex(stamps[window], freq=None, name="timestamp"),
        columns=list(panel.columns),
    )
    return AlignedPrices(prices, start_symbol, start, end, filled)


def prices_to_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Simple returns ``p_t / p_{t-1} - 1`` as fractions (0.01 = 1%), first row dropped.

    Args:
        prices: (T, n) aligned prices, finite and positive (e.g. ``align_prices(...).prices``).

    Returns:
        (T - 1, n) simple returns with the index of ``prices`` from its second row.

    Raises:
        InvalidInputError: Not a DataFrame, fewer than 2 rows, or a non-finite or non-positive
            price (named by column, date and value).
    """
    if not isinstance(prices, pd.DataFrame):
        raise InvalidInputError(f"prices must be a DataFrame, got {type(prices).__name__}")
    if len(prices) < 2:
        raise InvalidInputError(f"returns need at least 2 rows of prices, got {len(prices)}")
    if prices.shape[1] == 0:
        raise InvalidInputError("prices has no columns (symbols)")
    values = np.column_stack([_numeric(c, prices[c]) for c in prices.columns])
    _check_values(list(prices.columns), values, prices.index, allow_nan=False)
    return pd.DataFrame(
        values[1:] / values[:-1] - 1.0, index=prices.index[1:], columns=prices.columns
    )


def _panel(data: object, symbols: Sequence[str] | None) -> pd.DataFrame:
    """Validated float closes (T, n), requested symbol order, sorted by time; NaN where a
    symbol has no close (not listed yet, delisted, or a gap)."""
    if isinstance(data, pd.DataFrame):
        return _wide_panel(data, symbols)
    if not isinstance(data, Mapping):
        raise InvalidInputError(
            f"data must be a dict of frames or a DataFrame of closes, got {type(data).__name__}"
        )
    if not data:
        raise InvalidInputError("no price data: the dict of frames is empty")
    names = _select(list(data), symbols)
    closes = {name: _clean(name, _close_column(name, data[name])) for name in names}
    aware = [name for name, series in closes.items() if series.index.tz is not None]
    if aware and len(aware) < len(closes):
        naive = next(name for name in closes if name not in aware)
        raise InvalidInputError(
            f"{aware[0]!r} has time-zone-aware timestamps but {naive!r} has naive ones"
        )
    return pd.concat(closes, axis=1, sort=True)


def _wide_panel(data: pd.DataFrame, symbols: Sequence[str] | None) -> pd.DataFrame:
    """The checks of ``_clean`` on a wide frame of closes, all columns at once."""
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise InvalidInputError(f"the price frame is empty (shape {data.shape})")
    duplicated = data.columns[data.columns.duplicated()]
    if len(duplicated):
        raise InvalidInputError(f"the price frame has column {duplicated[0]!r} twice")
    names = _select(list(data.columns), symbols)
    index = _datetime_index(data.index, f"the price frame (columns {list(data.columns)})")
    values = np.column_stack([_numeric(name, data[name]) for name in names])
    index, values = _sorted_checked(names, index, values)
    return pd.DataFrame(values, index=index, columns=names)


def _sorted_checked(
    names: list, index: pd.DatetimeIndex, values: np.ndarray
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Sort (T, n) closes of ``names`` by time; refuse duplicate timestamps, bad values and
    a column without any close, naming the symbol."""
    if not index.is_monotonic_increasing:
        order = np.argsort(index, kind="stable")
        index, values = index[order], values[order]
    repeated = index[index.duplicated()]
    if len(repeated):
        raise InvalidInputError(f"{names[0]!r} has duplicate timestamp {_fmt(repeated[0])}")
    _check_values(names, values, index, allow_nan=True)
    empty = np.flatnonzero(np.isnan(values).all(axis=0))
    if len(empty):
        raise InvalidInputError(f"no data for {names[empty[0]]!r}: every close is NaN")
    return index, values


def _select(available: list, symbols: Sequence[str] | None) -> list:
    """The requested symbols, checked against the data: none missing, none extra, no repeats."""
    if symbols is None:
        return available
    names = [symbols] if isinstance(symbols, str) else list(symbols)
    if not names:
        raise InvalidInputError("symbols is empty")
    repeated = [s for i, s in enumerate(names) if s in names[:i]]
    if repeated:
        raise InvalidInputError(f"symbol {repeated[0]!r} is requested twice")
    missing = [s for s in names if s not in available]
    if missing:
        raise InvalidInputError(
            f"no data for symbol(s) {_names(missing)}; the data has {_names(available)}"
        )
    extra = [s for s in available if s not in names]
    if extra:
        raise InvalidInputError(
            f"data for symbol(s) {_names(extra)} not in symbols={names}; drop it or request it"
        )
    return names


def _close_column(symbol: str, frame: object) -> pd.Series:
    """The one close column of a symbol's frame, matched case-insensitively."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(
            f"data for {symbol!r} must be a DataFrame with a close column, "
            f"got {type(frame).__name__}"
        )
    if frame.empty:
        raise InvalidInputError(f"no data for {symbol!r}: its frame is empty")
    matches = [c for c in frame.columns if isinstance(c, str) and c.lower() == "close"]
    if len(matches) != 1:
        problem = "no close column" if not matches else f"several close columns {matches}"
        raise InvalidInputError(f"{symbol!r} has {problem}; its columns: {list(frame.columns)}")
    return frame[matches[0]]


def _clean(symbol: str, series: pd.Series) -> pd.Series:
    """A new float series on a sorted, unique DatetimeIndex with finite positive values."""
    values = _numeric(symbol, series)[:, None]
    index = _datetime_index(series.index, repr(symbol))
    index, values = _sorted_checked([symbol], index, values)
    return pd.Series(values[:, 0], index=index, name=symbol)


def _numeric(symbol: object, series: pd.Series) -> np.ndarray:
    """The values of a numeric (not boolean) column as float64; otherwise an error."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        raise InvalidInputError(f"close prices of {symbol!r} are not numeric (dtype {dtype})")
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _check_values(symbols: object, values: np.ndarray, index: pd.Index, *, allow_nan: bool) -> None:
    """Refuse inf, non-positive (and, unless allowed, NaN) prices, naming the first one.

    ``values`` is (T,) for one symbol or (T, n) for a list of n symbols (checked in order).
    """
    if values.ndim == 1:
        symbols, values = [symbols], values[:, None]
    nan = np.isnan(values)
    bad = (~nan & (~np.isfinite(values) | (values <= 0))) | (nan & ~allow_nan)
    columns = np.flatnonzero(bad.any(axis=0))
    if len(columns):
        column = columns[0]
        rows = np.flatnonzero(bad[:, column])
        raise InvalidInputError(
            f"{symbols[column]!r} has a non-finite or non-positive price "
            f"{float(values[rows[0], column])!r} on {_fmt(index[rows[0]])} "
            f"({len(rows)} such value(s))"
        )


def _datetime_index(index: pd.Index, owner: str) -> pd.DatetimeIndex:
    """The index as a DatetimeIndex; numbers, unparseable text or NaT raise an error."""
    if not isinstance(index, pd.DatetimeIndex):
        if pd.api.types.is_numeric_dtype(index.dtype) or pd.api.types.is_bool_dtype(index.dtype):
            raise InvalidInputError(
                f"the index of {owner} holds numbers ({index.dtype}), not timestamps"
            )
        try:
            index = pd.DatetimeIndex(pd.to_datetime(index))
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidInputError(
                f"the index of {owner} does not parse as timestamps: {exc}"
            ) from exc
    if index.hasnans:
        raise InvalidInputError(f"the index of {owner} has a missing timestamp (NaT)")
    return index


def _check_gaps(
    panel: pd.DataFrame, listed: np.ndarray, window: slice, max_forward_fill: int
) -> dict[str, list[pd.Timestamp]]:
    """Forward-fillable bars per symbol inside the window; too long a gap raises.

    ``listed`` is (T, n): True where the symbol has a close. A symbol is listed from its first
    close to its last one; a missing close in between is a gap.
    """
    filled, problems = {}, []
    stamps = panel.index
    in_window = np.zeros(len(stamps), dtype=bool)
    in_window[window] = True
    seen = np.maximum.accumulate(listed, axis=0)
    ahead = np.maximum.accumulate(listed[::-1], axis=0)[::-1]
    missing_all = ~listed & seen & ahead
    for column in np.flatnonzero((missing_all & in_window[:, None]).any(axis=0)):
        symbol = panel.columns[column]
        missing = missing_all[:, column]
        edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
        runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
        longest = max((b - a for a, b in runs if in_window[a:b].any()), default=0)
        dates = list(stamps[missing & in_window])
        if longest > max_forward_fill:
            shown = ", ".join(_fmt(d) for d in dates[:_SHOWN_DATES])
            more = f" and {len(dates) - _SHOWN_DATES} more" if len(dates) > _SHOWN_DATES else ""
            problems.append(
                f"{symbol!r} has no close on {len(dates)} bar(s): {shown}{more} "
                f"(longest gap {longest} bar(s))"
            )
        else:
            filled[symbol] = dates
    if problems:
        raise InvalidInputError(
            "missing bars inside the common window "
            f"{_fmt(stamps[window][0])}..{_fmt(stamps[window][-1])}: {'; '.join(problems)}; "
            f"max_forward_fill={max_forward_fill} allows gaps of at most that many bars"
        )
    return filled


def _check_count(value: object, name: str, minimum: int) -> None:
    """Refuse a non-integer or too small count argument, naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _names(symbols: list) -> str:
    """Symbols as a readable, quoted list."""
    return ", ".join(repr(s) for s in symbols)


def _fmt(stamp: pd.Timestamp) -> str:
    """A timestamp as YYYY-MM-DD when it is midnight, else in ISO format."""
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat()
