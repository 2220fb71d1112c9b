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
    closes = _closes(data, symbols)
    panel = pd.concat(closes, axis=1, sort=True).dropna(how="all")
    firsts = {s: c.first_valid_index() for s, c in closes.items()}
    lasts = {s: c.last_valid_index() for s, c in closes.items()}
    start_symbol = max(closes, key=firsts.__getitem__)  # ties: the first requested
    end_symbol = min(closes, key=lasts.__getitem__)
    start, end = firsts[start_symbol], lasts[end_symbol]
    window = panel.index.slice_indexer(start, end)
    n_bars = len(panel.index[window])
    if n_bars < min_bars:
        raise InvalidInputError(
            f"only {n_bars} common bar(s) between the start {_fmt(start)} (first close of "
            f"{start_symbol!r}) and the end {_fmt(end)} (last close of {end_symbol!r}); "
            f"need at least min_bars={min_bars}"
        )
    filled = _check_gaps(panel, window, firsts, lasts, max_forward_fill)
    prices = panel.ffill().iloc[window].rename_axis(None, axis=1)
    # No freq: whether pandas infers one depends on how the input indexes overlapped.
    prices.index = pd.DatetimeIndex(prices.index, freq=None, name="timestamp")
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
    for column in prices.columns:
        _check_values(column, _numeric(column, prices[column]), prices.index, allow_nan=False)
    values = prices.astype("float64")
    return (values / values.shift(1) - 1.0).iloc[1:]


def _closes(data: object, symbols: Sequence[str] | None) -> dict[str, pd.Series]:
    """Validated float close series per symbol, in the requested order, sorted by time."""
    if isinstance(data, pd.DataFrame):
        if data.shape[0] == 0 or data.shape[1] == 0:
            raise InvalidInputError(f"the price frame is empty (shape {data.shape})")
        duplicated = data.columns[data.columns.duplicated()]
        if len(duplicated):
            raise InvalidInputError(f"the price frame has column {duplicated[0]!r} twice")
        index = _datetime_index(data.index, f"the price frame (columns {list(data.columns)})")
        raw = {column: data[column].set_axis(index) for column in data.columns}
    elif isinstance(data, Mapping):
        if not data:
            raise InvalidInputError("no price data: the dict of frames is empty")
        raw = dict(data)
    else:
        raise InvalidInputError(
            f"data must be a dict of frames or a DataFrame of closes, got {type(data).__name__}"
        )
    names = _select(list(raw), symbols)
    closes = {}
    for name in names:
        series = raw[name] if isinstance(data, pd.DataFrame) else _close_column(name, raw[name])
        closes[name] = _clean(name, series)
    aware = [name for name, series in closes.items() if series.index.tz is not None]
    if aware and len(aware) < len(closes):
        naive = next(name for name in closes if name not in aware)
        raise InvalidInputError(
            f"{aware[0]!r} has time-zone-aware timestamps but {naive!r} has naive ones"
        )
    return closes


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
    values = _numeric(symbol, series)
    index = _datetime_index(series.index, repr(symbol))
    clean = pd.Series(values, index=index, name=symbol)
    if not index.is_monotonic_increasing:
        clean = clean.sort_index(kind="stable")
    duplicated = clean.index[clean.index.duplicated()]
    if len(duplicated):
        raise InvalidInputError(f"{symbol!r} has duplicate timestamp {_fmt(duplicated[0])}")
    _check_values(symbol, clean.to_numpy(), clean.index, allow_nan=True)
    if clean.isna().all():
        raise InvalidInputError(f"no data for {symbol!r}: every close is NaN")
    return clean


def _numeric(symbol: object, series: pd.Series) -> np.ndarray:
    """The values of a numeric (not boolean) column as float64; otherwise an error."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        raise InvalidInputError(f"close prices of {symbol!r} are not numeric (dtype {dtype})")
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _check_values(symbol: object, values: np.ndarray, index: pd.Index, *, allow_nan: bool) -> None:
    """Refuse inf, non-positive (and, unless allowed, NaN) prices, naming the first one."""
    nan = np.isnan(values)
    bad = np.flatnonzero((~nan & (~np.isfinite(values) | (values <= 0))) | (nan & ~allow_nan))
    if len(bad):
        i = bad[0]
        raise InvalidInputError(
            f"{symbol!r} has a non-finite or non-positive price {float(values[i])!r} on "
            f"{_fmt(index[i])} ({len(bad)} such value(s))"
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
    panel: pd.DataFrame, window: slice, firsts: dict, lasts: dict, max_forward_fill: int
) -> dict[str, list[pd.Timestamp]]:
    """Forward-fillable bars per symbol inside the window; too long a gap raises."""
    filled, problems = {}, []
    stamps = panel.index
    in_window = np.zeros(len(stamps), dtype=bool)
    in_window[window] = True
    for symbol in panel.columns:
        listed = (stamps >= firsts[symbol]) & (stamps <= lasts[symbol])
        missing = panel[symbol].isna().to_numpy() & listed
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
        elif dates:
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
