"""Loaders for the dataset shipped with cvxport (see ``cvxport/data/bundled/SOURCES.md``).

- Binance spot daily OHLCV of 11 USDT pairs, 2020-09-22 to 2026-01-05, prices in USDT.
- CoinGecko market capitalizations in USD at 00:00 UTC of every day of 2021.

The files are parsed once per process and cached; every call returns fresh copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import pandas as pd

from cvxport.errors import InvalidInputError

BUNDLED_SYMBOLS: tuple[str, ...] = (
    "BTC/USDT",
    "ETH/USDT",
    "SOL/USDT",
    "BNB/USDT",
    "XRP/USDT",
    "ADA/USDT",
    "DOGE/USDT",
    "AVAX/USDT",
    "DOT/USDT",
    "LINK/USDT",
    "LTC/USDT",
)
_PRICES_FILE = "binance_spot_1d.csv.gz"
_MARKET_CAPS_FILE = "coingecko_market_caps_2021.csv.gz"
_OHLCV = ["open", "high", "low", "close", "volume"]

DateLike = str | pd.Timestamp | None


def load_bundled_prices(
    symbols: Sequence[str] | None = None, start: DateLike = None, end: DateLike = None
) -> dict[str, pd.DataFrame]:
    """Daily OHLCV frames of the bundled Binance pairs, prices in USDT.

    Args:
        symbols: Pair names such as ``'BTC/USDT'``; defaults to all of ``BUNDLED_SYMBOLS``.
        start: First day to keep (inclusive, the candle's open day in UTC); default 2020-09-22.
        end: Last day to keep (inclusive); default 2026-01-05.

    Returns:
        ``{symbol: frame}`` in the requested order. Each frame is indexed by a DatetimeIndex
        named ``'timestamp'`` (one row per day) with float columns open, high, low, close (USDT)
        and volume (base asset), as ``pd.read_csv(path, index_col='timestamp',
        parse_dates=True)`` gives for a per-symbol file. The frames are copies.

    Raises:
        InvalidInputError: An unknown symbol, an unparseable date, or an empty window.
    """
    names = _check_symbols(symbols)
    lo, hi = _parse_date(start, "start"), _parse_date(end, "end")
    frames = _read_prices()
    days = frames[BUNDLED_SYMBOLS[0]].index  # every pair has the same days
    if days[days.slice_indexer(lo, hi)].empty:
        raise InvalidInputError(
            f"no bundled prices between start={start!r} and end={end!r}; "
            f"the data covers {days[0].date()} to {days[-1].date()}"
        )
    return {name: frames[name].loc[lo:hi].copy() for name in names}


def load_bundled_market_caps(
    date: str | pd.Timestamp = "2021-12-31", symbols: Sequence[str] | None = None
) -> dict[str, float]:
    """CoinGecko market capitalizations in USD at 00:00 UTC of one day of 2021.

    The 00:00 UTC snapshot of day D is close to the Binance close of day D-1.

    Args:
        date: A day of 2021 (``'2021-12-31'`` by default).
        symbols: Pair names such as ``'BTC/USDT'``; defaults to all of ``BUNDLED_SYMBOLS``.

    Returns:
        ``{symbol: market cap in USD}`` in the requested order, keyed by pair name.

    Raises:
        InvalidInputError: An unknown symbol, or a date that is not a day of 2021.
    """
    names = _check_symbols(symbols)
    caps = _read_market_caps()
    day = _parse_date(date, "date")
    if day is None or day not in caps.index:
        raise InvalidInputError(
            f"no bundled market caps for date {date!r}; available: every day from "
            f"{caps.index[0].date()} to {caps.index[-1].date()}"
        )
    row = caps.loc[day]
    return {name: float(row[name]) for name in names}


def load_bundled_market_caps_history(symbols: Sequence[str] | None = None) -> pd.DataFrame:
    """CoinGecko market capitalizations in USD, one row per day of 2021 (a point-in-time
    series for ``MarketCapAllocator``: a rebalance uses the last row dated on or before it).

    Row D is the 00:00 UTC snapshot of day D; the Binance bar labelled D - 1 closes at that
    same instant, so a rebalance at the close of bar t using rows <= t is one day
    conservative and never sees a later snapshot.

    Args:
        symbols: Pair names such as ``'BTC/USDT'``; defaults to all of ``BUNDLED_SYMBOLS``.

    Returns:
        (365, n) float frame, DatetimeIndex named ``'date'``, columns the pair names (a copy).
    """
    names = _check_symbols(symbols)
    return _read_market_caps()[names].astype("float64").copy()


def _check_symbols(symbols: Sequence[str] | None) -> list[str]:
    """Requested pair names, or all; unknown ones raise an error listing the available."""
    if symbols is None:
        return list(BUNDLED_SYMBOLS)
    if isinstance(symbols, str):
        symbols = [symbols]
    unknown = [s for s in symbols if s not in BUNDLED_SYMBOLS]
    if unknown:
        raise InvalidInputError(
            f"unknown bundled symbol(s) {', '.join(map(repr, unknown))}; "
            f"available: {', '.join(BUNDLED_SYMBOLS)}"
        )
    return list(symbols)


def _parse_date(value: DateLike, name: str) -> pd.Timestamp | None:
    """A date argument as a Timestamp (None stays None); unparseable -> InvalidInputError."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{name}={value!r} is not a date") from exc
    if pd.isna(stamp):
        raise InvalidInputError(f"{name}={value!r} is not a date")
    return stamp


def _open_bundled(filename: str):
    """Binary handle on one shipped file, wherever the package is installed."""
    return resources.files("cvxport.data").joinpath("bundled", filename).open("rb")


@lru_cache(maxsize=1)
def _read_prices() -> dict[str, pd.DataFrame]:
    """Parse the long price file once into per-symbol frames (the cache; never hand it out)."""
    with _open_bundled(_PRICES_FILE) as fh:
        long = pd.read_csv(fh, compression="gzip", parse_dates=["timestamp"])
    frames = {}
    for name, group in long.groupby("symbol", sort=False):
        frames[name] = group.set_index("timestamp")[_OHLCV].astype("float64")
    return frames


@lru_cache(maxsize=1)
def _read_market_caps() -> pd.DataFrame:
    """Parse the market-cap file once into a (days, symbols) frame in USD (the cache)."""
    with _open_bundled(_MARKET_CAPS_FILE) as fh:
        long = pd.read_csv(fh, compression="gzip", parse_dates=["date"])
    caps = long.pivot(index="date", columns="symbol", values="market_cap_usd")
    caps.columns = [f"{ticker}/USDT" for ticker in caps.columns]
    return caps.sort_index()
