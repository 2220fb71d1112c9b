"""Regenerate the dataset shipped in ``cvxport/data/bundled/`` from the shared data folder.

Usage (from the repository root)::

    python scripts/make_bundled_data.py ../shared/data

Writes, next to ``cvxport/data/bundled/SOURCES.md``:

- ``binance_spot_1d.csv.gz``: daily OHLCV of 11 Binance USDT pairs, 2020-09-22 to 2026-01-05,
  one long CSV (``symbol,timestamp,open,high,low,close,volume``); every value is the source
  text, unchanged.
- ``coingecko_market_caps_2021.csv.gz``: CoinGecko market caps in USD at 00:00 UTC of every
  day of 2021 (``date,symbol,market_cap_usd``); the extra intraday 2021-12-31 row is dropped.
- ``LICENSE.hathix-historical-crypto-data``: the MIT licence of the CoinGecko extract.

Gzip output is deterministic (mtime 0, no file name in the header), so rerunning the script on
the same input gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import shutil
from datetime import datetime, timezone
from pathlib import Path

# (ticker, CoinGecko id) in the order of cvxport.data.BUNDLED_SYMBOLS.
ASSETS = (
    ("BTC", "bitcoin"),
    ("ETH", "ethereum"),
    ("SOL", "solana"),
    ("BNB", "binancecoin"),
    ("XRP", "ripple"),
    ("ADA", "cardano"),
    ("DOGE", "dogecoin"),
    ("AVAX", "avalanche-2"),
    ("DOT", "polkadot"),
    ("LINK", "chainlink"),
    ("LTC", "litecoin"),
)
QUOTE = "USDT"
FIRST_DAY = "2020-09-22"
LAST_DAY = "2026-01-05"  # 2026-01-06 is a partial candle in the source
PRICE_HEADER = "timestamp,open,high,low,close,volume"
CAP_HEADER = "timestamp,readableTimestamp,coinId,price,marketCap,totalVolume"
LICENSE_NAME = "LICENSE.hathix-historical-crypto-data"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "cvxport" / "data" / "bundled"


def _write_gzip(path: Path, text: str) -> None:
    """Write text as gzip with a fixed header (mtime 0, no name) so the bytes are reproducible."""
    path.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


def price_rows(source: Path, ticker: str) -> list[str]:
    """Source lines of one pair inside the window, prefixed with the pair name, unchanged."""
    lines = (source / f"{ticker}{QUOTE}_1d.csv").read_text(encoding="utf-8").splitlines()
    if lines[0] != PRICE_HEADER:
        raise SystemExit(f"{ticker}: unexpected header {lines[0]!r}")
    rows = [line for line in lines[1:] if FIRST_DAY <= line[:10] <= LAST_DAY]
    days = [row[:10] for row in rows]
    expected = _calendar(FIRST_DAY, LAST_DAY)
    if days != expected:
        raise SystemExit(f"{ticker}: dates are not every day from {FIRST_DAY} to {LAST_DAY}")
    return [f"{ticker}/{QUOTE},{row}" for row in rows]


def market_cap_rows(source: Path, ticker: str, coin_id: str) -> dict[str, str]:
    """Market cap text by date (YYYY-MM-DD) for the 00:00 UTC rows of one coin file."""
    with (source / f"{coin_id}.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        if ",".join(next(reader)) != CAP_HEADER:
            raise SystemExit(f"{coin_id}: unexpected header")
        caps: dict[str, str] = {}
        for stamp, _, _, _, cap, _ in reader:
            moment = datetime.fromtimestamp(int(stamp) / 1000, tz=timezone.utc)
            if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
                continue  # the extra intraday row (download time) on 2021-12-31
            day = moment.strftime("%Y-%m-%d")
            if day in caps or not float(cap) > 0:
                raise SystemExit(f"{coin_id}: duplicate day or non-positive cap on {day}")
            caps[day] = cap
    if sorted(caps) != _calendar("2021-01-01", "2021-12-31"):
        raise SystemExit(f"{coin_id} ({ticker}): not every day of 2021 at 00:00 UTC")
    return caps


def _calendar(first: str, last: str) -> list[str]:
    """Every calendar day from first to last inclusive, as YYYY-MM-DD strings."""
    start = datetime.strptime(first, "%Y-%m-%d").toordinal()
    stop = datetime.strptime(last, "%Y-%m-%d").toordinal()
    return [datetime.fromordinal(day).strftime("%Y-%m-%d") for day in range(start, stop + 1)]


def main(argv: list[str] | None = None) -> None:
    """Build the bundled files from ``<shared data>/crypto``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shared_data", type=Path, help="the shared data folder (../shared/data)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    binance = args.shared_data / "crypto" / "binance_spot_1d"
    coingecko = args.shared_data / "crypto" / "coingecko_2021"
    args.out.mkdir(parents=True, exist_ok=True)

    prices = ["symbol," + PRICE_HEADER]
    for ticker, _ in ASSETS:
        prices.extend(price_rows(binance, ticker))
    _write_gzip(args.out / "binance_spot_1d.csv.gz", "\n".join(prices) + "\n")

    caps = {ticker: market_cap_rows(coingecko / "coins", ticker, cid) for ticker, cid in ASSETS}
    lines = ["date,symbol,market_cap_usd"]
    for day in sorted(caps["BTC"]):
        lines.extend(f"{day},{ticker},{caps[ticker][day]}" for ticker, _ in ASSETS)
    _write_gzip(args.out / "coingecko_market_caps_2021.csv.gz", "\n".join(lines) + "\n")

    shutil.copyfile(coingecko / LICENSE_NAME, args.out / LICENSE_NAME)
    for path in sorted(args.out.iterdir()):
        print(f"{path.name}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
