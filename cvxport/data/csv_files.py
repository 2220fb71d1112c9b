"""Read per-symbol price CSV files as real exports come: any date column, day-first dates,
',', ';' or tab separators, decimal commas (1.234,5).

Every malformed input (empty file, binary data, a bad quote, a missing column, a date or a
price that does not parse, a duplicate date) raises one ``InvalidInputError`` whose one-line
message starts with the file and names the line and column at fault. Line numbers count the
header as line 1.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from cvxport.errors import InvalidInputError

logger = logging.getLogger(__name__)

DATE_COLUMNS = ("timestamp", "date", "datetime", "time")
"""Column names tried, in order and in any case, when no date column is given."""

_SNIFF_BYTES = 65_536
_DAY_FIRST = re.compile(r"\s*(1[3-9]|2\d|3[01])[/.-]\d{1,2}[/.-]\d{2,4}")  # 13/01/2023


def read_price_files(
    paths: Sequence[str | Path],
    date_column: str | None = None,
    date_format: str | None = None,
    dayfirst: bool = False,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> dict[str, pd.DataFrame]:
    """Read CSV files (or every ``*.csv`` in a folder); each file's stem names its symbol.

    Args:
        paths: Files or folders.
        date_column, date_format, dayfirst, start, end: see :func:`read_price_csv`.

    Returns:
        ``{symbol: frame}`` in file order (folders sorted by name).
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.glob("*.csv") if p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise InvalidInputError(f"{raw}: no such file or folder")
    if not files:
        raise InvalidInputError(f"no CSV files found in {[str(p) for p in paths]}")
    data: dict[str, pd.DataFrame] = {}
    for file in files:
        if file.stem in data:
            raise InvalidInputError(f"{file}: a second file for symbol {file.stem!r}")
        data[file.stem] = read_price_csv(file, date_column, date_format, dayfirst, start, end)
    return data


def read_price_csv(
    path: str | Path,
    date_column: str | None = None,
    date_format: str | None = None,
    dayfirst: bool = False,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Read one price CSV into a frame indexed by date (a ``close`` column is required).

    Args:
        path: The CSV file (UTF-8, header row first).
        date_column: The column of dates; None tries ``DATE_COLUMNS`` in any case.
        date_format: A ``strftime`` format such as ``'%d/%m/%Y'``; None infers it from the
            first date (day first when ``dayfirst``).
        dayfirst: Read ambiguous dates such as 03/04/2024 as 3 April.
        start, end: First and last dates kept (inclusive); None keeps everything.

    Returns:
        The file's columns (``close`` and every other numeric column as float) indexed by a
        sorted, naive (UTC) DatetimeIndex named ``'timestamp'``.

    Raises:
        InvalidInputError: A message naming the file and the line or column at fault.
    """
    path = Path(path)
    frame = _read_table(path)
    column = _find_column(path, frame, date_column)
    dates = _parse_dates(path, frame[column], column, date_format, dayfirst)
    close = _find_column(path, frame, "close")
    comma = frame.attrs.get("decimal_comma", False)
    frame = frame.drop(columns=[column])
    if comma:  # 1.234,5 -> 1234.5 in every column that reads as numbers that way
        for name in frame.columns.drop(close):
            numbers = _from_decimal_comma(frame[name])
            if not (numbers.isna() & frame[name].notna()).any():
                frame[name] = numbers
        frame[close] = _parse_prices(path, frame[close], close, _from_decimal_comma)
    else:
        frame[close] = _parse_prices(path, frame[close], close)
    lines = [_line(at) for at in frame.index]
    frame.index = pd.DatetimeIndex(dates, name="timestamp")
    _check_unique(path, frame.index, lines)
    frame = frame.sort_index()
    window = frame.loc[start:end]
    if window.empty:
        raise InvalidInputError(
            f"{path}: no rows between start={_day(start)} and end={_day(end)}; the file covers "
            f"{_day(frame.index[0])} to {_day(frame.index[-1])}"
        )
    logger.debug("read %d rows of %s from %s", len(window), path.stem, path)
    return window


def _read_table(path: Path) -> pd.DataFrame:
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head.strip():
        raise InvalidInputError(f"{path}: empty file (expected a header row and price rows)")
    if b"\x00" in head:
        raise InvalidInputError(
            f"{path}: binary data, not a CSV text file (NUL byte at offset {head.index(0)})"
        )
    sep, decimal = _dialect(head)
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=str if decimal == "," else None,  # decimal commas: converted column by column
            encoding="utf-8-sig",
            skip_blank_lines=False,
        )
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    except pd.errors.EmptyDataError:
        raise InvalidInputError(f"{path}: empty file (no header row)") from None
    except pd.errors.ParserError as exc:
        detail = " ".join(str(exc).replace("Error tokenizing data. C error:", "").split())
        # pandas counts a string's start row from 0 (the header): make it a line number
        detail = re.sub(
            r"starting at row (\d+)", lambda m: f"starting on line {int(m[1]) + 1}", detail
        )
        raise InvalidInputError(f"{path}: not a well-formed CSV file: {detail}") from None
    frame = frame.dropna(how="all")  # blank lines; the index keeps the line numbers
    if frame.empty:
        raise InvalidInputError(f"{path}: no data rows under the header {list(frame.columns)}")
    frame.attrs["decimal_comma"] = decimal == ","
    return frame


def _dialect(head: bytes) -> tuple[str, str]:
    """The separator (',', ';' or tab: the most frequent in the header line) and the decimal
    mark (',' for ';'- or tab-separated files whose first row has a number like 1234,5; '.'
    then separates thousands)."""
    lines = head.decode("utf-8", errors="replace").splitlines()
    header = lines[0] if lines else ""
    sep = max([",", ";", "\t"], key=header.count)
    if not header.count(sep):
        sep = ","
    first_row = next((line for line in lines[1:] if line.strip()), "")
    decimal = "," if sep != "," and re.search(r"\d,\d", first_row) else "."
    return sep, decimal


def _find_column(path: Path, frame: pd.DataFrame, wanted: str | None) -> str:
    names = [str(c) for c in frame.columns]
    candidates = DATE_COLUMNS if wanted is None else (wanted,)
    for candidate in candidates:
        if candidate in names:
            return candidate
        matches = [c for c in names if c.lower() == candidate.lower()]
        if len(matches) == 1:
            return matches[0]
    what = f"column {wanted!r}" if wanted else f"date column (tried {list(DATE_COLUMNS)})"
    hint = "; name it with --date-column" if wanted != "close" else ""
    raise InvalidInputError(f"{path}: no {what}; its columns are {names}{hint}")


def _line(position: object) -> int:
    return int(position) + 2  # header is line 1, the first row line 2


def _parse_dates(
    path: Path, values: pd.Series, column: str, date_format: str | None, dayfirst: bool
) -> pd.DatetimeIndex:
    if pd.api.types.is_numeric_dtype(values.dtype):
        raise InvalidInputError(
            f"{path}: column {column!r} holds numbers ({values.iloc[0]!r} on line "
            f"{_line(values.index[0])}), not dates"
        )
    text = values.astype("string").str.strip()
    guessed = date_format or _guess_format(text, dayfirst)
    try:
        parsed = pd.to_datetime(text, format=guessed, dayfirst=dayfirst, errors="coerce", utc=True)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{path}: column {column!r}: {exc}") from None
    bad = parsed.isna()
    if bad.any():
        at = bad.idxmax()
        value = values.loc[at]
        shown = "an empty cell" if pd.isna(value) else repr(str(value))
        how = f"with format {guessed!r}" if guessed else "as a date"
        day_first = _DAY_FIRST.match(str(value))
        hint = " (day first? pass --dayfirst)" if day_first and not dayfirst else ""
        raise InvalidInputError(
            f"{path}: line {_line(at)}, column {column!r}: cannot read {shown} {how}{hint}"
        )
    return pd.DatetimeIndex(parsed).tz_localize(None)


def _guess_format(text: pd.Series, dayfirst: bool) -> str | None:
    """The format of the first date (pandas' guess), or None to let pandas parse each."""
    from pandas.tseries.api import guess_datetime_format

    first = text.dropna()
    return guess_datetime_format(first.iloc[0], dayfirst=dayfirst) if len(first) else None


def _from_decimal_comma(values: pd.Series) -> pd.Series:
    """Text such as '1.234,5' as the number 1234.5 (NaN where it is not a number)."""
    text = values.astype("string").str.strip().str.replace(".", "", regex=False)
    return pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")


def _parse_prices(path: Path, values: pd.Series, column: str, convert=None) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    if convert is not None:
        numbers = convert(values)
    else:
        numbers = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        at = bad.idxmax()
        raise InvalidInputError(
            f"{path}: line {_line(at)}, column {column!r}: {str(values.loc[at])!r} is not a number"
        )
    return numbers.astype("float64")


def _check_unique(path: Path, index: pd.DatetimeIndex, lines: list[int]) -> None:
    duplicated = index.duplicated()
    if duplicated.any():
        second = int(duplicated.argmax())
        first = int(index.get_indexer_for([index[second]])[0])
        raise InvalidInputError(
            f"{path}: date {_day(index[second])} appears twice (lines {lines[first]} and "
            f"{lines[second]})"
        )


def _day(value: object) -> str:
    if value is None:
        return "None"
    stamp = pd.Timestamp(value)
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)
