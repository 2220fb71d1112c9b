"""Price data: the bundled crypto dataset and the alignment of per-symbol frames into a panel.

Prices are in the quote currency (USDT for the bundled Binance pairs), returns are fractions.
"""

from __future__ import annotations

from cvxport.data.alignment import AlignedPrices, align_prices, prices_to_returns
from cvxport.data.bundled import (
    BUNDLED_SYMBOLS,
    load_bundled_market_caps,
    load_bundled_market_caps_history,
    load_bundled_prices,
)
from cvxport.data.cash import add_cash_asset
from cvxport.data.csv_files import read_price_csv, read_price_files

__all__ = [
    "BUNDLED_SYMBOLS",
    "AlignedPrices",
    "add_cash_asset",
    "align_prices",
    "load_bundled_market_caps",
    "load_bundled_market_caps_history",
    "load_bundled_prices",
    "prices_to_returns",
    "read_price_csv",
    "read_price_files",
]
