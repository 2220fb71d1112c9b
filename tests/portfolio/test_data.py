"""Tests of cvxport.data: the bundled dataset, price alignment and simple returns."""

from __future__ import annotations

import gzip
import importlib.util
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvxport.data import (
    BUNDLED_SYMBOLS,
    AlignedPrices,
    align_prices,
    load_bundled_market_caps,
    load_bundled_prices,
    prices_to_returns,
)
from cvxport.errors import InvalidInputError

# The repository lives at <root>/main and the shared data at <root>/shared/data.
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared data folder absent")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_bundled_data.py"


def closes(dates, values, column="close") -> pd.DataFrame:
    """A per-symbol frame like the spec's, with one close column."""
    index = pd.DatetimeIndex(pd.to_datetime(dates), name="timestamp")
    return pd.DataFrame({column: np.asarray(values, dtype=float)}, index=index)


def days(start: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D")


# --------------------------------------------------------------------------- bundled prices


def test_bundled_prices_cover_the_eleven_pairs_on_one_calendar():
    data = load_bundled_prices()
    assert tuple(data) == BUNDLED_SYMBOLS
    assert len(BUNDLED_SYMBOLS) == 11
    btc = data["BTC/USDT"]
    assert isinstance(btc.index, pd.DatetimeIndex)
    assert btc.index.name == "timestamp"
    assert btc.index[0] == pd.Timestamp("2020-09-22")
    assert btc.index[-1] == pd.Timestamp("2026-01-05")
    assert len(btc) == 1932
    assert (btc.index.to_series().diff().dropna() == pd.Timedelta(days=1)).all()
    for frame in data.values():
        assert frame.index.equals(btc.index)
        assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
        assert (frame.dtypes == "float64").all()
        assert frame.notna().all().all()


def test_bundled_prices_spot_values():
    data = load_bundled_prices()
    assert data["BTC/USDT"].loc["2020-09-22", "close"] == 10529.61
    assert data["BTC/USDT"].loc["2021-11-10", "high"] == 69000.0
    assert data["BTC/USDT"].loc["2026-01-05", "close"] == 93859.71
    assert data["BTC/USDT"].loc["2026-01-05", "volume"] == 20673.59584


@needs_shared
@pytest.mark.parametrize("symbol", BUNDLED_SYMBOLS)
def test_bundled_prices_equal_the_source_files(symbol):
    path = SHARED / "crypto" / "binance_spot_1d" / f"{symbol.replace('/', '')}_1d.csv"
    source = pd.read_csv(path, index_col="timestamp", parse_dates=True)
    expected = source.loc["2020-09-22":"2026-01-05"]
    assert source.index[-1] == pd.Timestamp("2026-01-06")  # the partial candle, dropped
    pd.testing.assert_frame_equal(load_bundled_prices([symbol])[symbol], expected)


@needs_shared
def test_build_script_regenerates_the_shipped_files_byte_for_byte(tmp_path):
    spec = importlib.util.spec_from_file_location("make_bundled_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(SHARED), "--out", str(tmp_path)])
    shipped = resources.files("cvxport.data").joinpath("bundled")
    for built in sorted(tmp_path.iterdir()):
        assert built.read_bytes() == shipped.joinpath(built.name).read_bytes(), built.name
    text = gzip.decompress((tmp_path / "binance_spot_1d.csv.gz").read_bytes()).decode()
    assert "BTC/USDT,2020-09-22,10417.22,10572.71,10353.0,10529.61,43991.235476\n" in text


def test_bundled_files_ship_with_sources_and_licence():
    shipped = resources.files("cvxport.data").joinpath("bundled")
    sources = shipped.joinpath("SOURCES.md").read_text(encoding="utf-8")
    assert "Binance spot market data" in sources
    assert "data by CoinGecko" in sources
    assert "MIT" in shipped.joinpath("LICENSE.hathix-historical-crypto-data").read_text()


def test_bundled_prices_subset_order_and_window():
    data = load_bundled_prices(["ETH/USDT", "BTC/USDT"], start="2021-01-01", end="2021-01-31")
    assert list(data) == ["ETH/USDT", "BTC/USDT"]
    assert len(data["ETH/USDT"]) == 31
    assert data["BTC/USDT"].index[0] == pd.Timestamp("2021-01-01")
    assert data["BTC/USDT"].index[-1] == pd.Timestamp("2021-01-31")


def test_bundled_prices_are_copies():
    first = load_bundled_prices(["BTC/USDT"])["BTC/USDT"]
    first.loc[:, "close"] = -1.0
    first.loc[:, "close"] = -1.0
    del first["volume"]
    again = load_bundled_prices(["BTC/USDT"])["BTC/USDT"]
    assert again.loc["2020-09-22", "close"] == 10529.61
    assert "volume" in again.columns


def test_bundled_prices_unknown_symbol_lists_available():
    with pytest.raises(InvalidInputError, match=r"'FOO/USDT'.*available: BTC/USDT, ETH/USDT"):
        load_bundled_prices(["BTC/USDT", "FOO/USDT"])


def test_bundled_prices_bad_window():
    with pytest.raises(InvalidInputError, match=r"start='2030-01-01'.*2020-09-22 to 2026-01-05"):
        load_bundled_prices(start="2030-01-01")
    with pytest.raises(InvalidInputError, match="end='not a date' is not a date"):
        load_bundled_prices(end="not a date")


# --------------------------------------------------------------------------- market caps


def test_market_caps_2021_12_31():
    caps = load_bundled_market_caps()
    assert tuple(caps) == BUNDLED_SYMBOLS
    assert caps["BTC/USDT"] == pytest.approx(8.93e11, rel=1e-3)  # not the intraday 9.10e11 row
    assert caps["ETH/USDT"] == pytest.approx(4.42e11, rel=1e-3)
    assert caps["SOL/USDT"] == pytest.approx(5.33e10, rel=1e-3)
    assert caps["BTC/USDT"] == 892648631305.5416


def test_market_caps_other_day_and_subset():
    caps = load_bundled_market_caps("2021-01-01", ["ETH/USDT", "BTC/USDT"])
    assert caps == {"ETH/USDT": 84037694047.35515, "BTC/USDT": 539438036435.6701}


@needs_shared
def test_market_caps_equal_the_midnight_source_rows():
    ids = {"BTC/USDT": "bitcoin", "AVAX/USDT": "avalanche-2", "LTC/USDT": "litecoin"}
    for symbol, coin in ids.items():
        source = pd.read_csv(SHARED / "crypto" / "coingecko_2021" / "coins" / f"{coin}.csv")
        stamps = pd.to_datetime(source["timestamp"], unit="ms")
        is_midnight = stamps == stamps.dt.normalize()
        midnight = source[is_midnight].set_index(stamps[is_midnight])
        for day in ["2021-01-01", "2021-06-15", "2021-12-31"]:
            expected = midnight.loc[pd.Timestamp(day), "marketCap"]
            assert load_bundled_market_caps(day, [symbol])[symbol] == expected


def test_market_caps_unknown_date_or_symbol():
    with pytest.raises(InvalidInputError, match=r"'2022-01-01'.*2021-01-01 to 2021-12-31"):
        load_bundled_market_caps("2022-01-01")
    with pytest.raises(InvalidInputError, match="'DOGE'"):
        load_bundled_market_caps(symbols=["DOGE"])


# --------------------------------------------------------------------------- alignment


def test_align_bundled_dict_and_wide_frame_give_the_same_panel():
    data = load_bundled_prices()
    from_dict = align_prices(data)
    wide = pd.DataFrame({s: f["close"] for s, f in data.items()})
    from_wide = align_prices(wide)
    pd.testing.assert_frame_equal(from_dict.prices, from_wide.prices)
    assert from_dict.prices.shape == (1932, 11)
    assert list(from_dict.prices.columns) == list(BUNDLED_SYMBOLS)
    assert from_dict.prices.index.name == "timestamp"
    assert from_dict.filled == {}
    assert from_dict.start == pd.Timestamp("2020-09-22")
    assert from_dict.end == pd.Timestamp("2026-01-05")


def test_start_symbol_is_the_latest_listing():
    btc = closes(days("2017-08-17", 1300), np.linspace(4000, 10000, 1300))
    sol = closes(days("2020-08-11", 200), np.linspace(3, 4, 200))
    eth = closes(days("2017-08-17", 1200), np.linspace(300, 400, 1200))  # ends first
    aligned = align_prices({"BTC/USDT": btc, "SOL/USDT": sol, "ETH/USDT": eth})
    assert isinstance(aligned, AlignedPrices)
    assert aligned.start_symbol == "SOL/USDT"
    assert aligned.start == pd.Timestamp("2020-08-11")
    assert aligned.end == eth.index[-1]
    assert list(aligned.prices.columns) == ["BTC/USDT", "SOL/USDT", "ETH/USDT"]
    pd.testing.assert_series_equal(
        aligned.prices["BTC/USDT"],
        btc["close"].loc["2020-08-11" : eth.index[-1]].rename("BTC/USDT"),
        check_freq=False,
    )


@needs_shared
def test_start_symbol_on_the_source_files():
    folder = SHARED / "crypto" / "binance_spot_1d"
    data = {
        f"{s}/USDT": pd.read_csv(
            folder / f"{s}USDT_1d.csv", index_col="timestamp", parse_dates=True
        )
        for s in ["BTC", "SOL"]
    }
    aligned = align_prices(data)
    assert aligned.start_symbol == "SOL/USDT"
    assert aligned.start == pd.Timestamp("2020-08-11")
    assert aligned.end == pd.Timestamp("2026-01-06")


def test_symbols_selects_the_order():
    a, b = closes(days("2021-01-01", 5), [1, 2, 3, 4, 5]), closes(days("2021-01-01", 5), [5] * 5)
    aligned = align_prices({"A": a, "B": b}, symbols=["B", "A"])
    assert list(aligned.prices.columns) == ["B", "A"]


@pytest.mark.parametrize("column", ["close", "Close", "CLOSE"])
def test_close_column_in_any_case(column):
    frame = closes(days("2021-01-01", 3), [1.0, 2.0, 3.0], column=column)
    frame["Open"] = 1.0
    aligned = align_prices({"X": frame})
    assert aligned.prices["X"].tolist() == [1.0, 2.0, 3.0]


def test_unsorted_and_string_index_is_sorted():
    frame = pd.DataFrame(
        {"close": [3.0, 1.0, 2.0]}, index=["2021-01-03", "2021-01-01", "2021-01-02"]
    )
    aligned = align_prices({"X": frame})
    assert aligned.prices.index.equals(pd.DatetimeIndex(days("2021-01-01", 3), name="timestamp"))
    assert aligned.prices["X"].tolist() == [1.0, 2.0, 3.0]


def test_leading_and_trailing_nan_mean_not_listed():
    index = days("2021-01-01", 6)
    wide = pd.DataFrame(
        {"A": [1, 2, 3, 4, 5, 6], "B": [np.nan, np.nan, 1, 2, 3, np.nan]}, index=index, dtype=float
    )
    aligned = align_prices(wide)
    assert aligned.start_symbol == "B"
    assert (aligned.start, aligned.end) == (index[2], index[4])
    assert aligned.prices["A"].tolist() == [3.0, 4.0, 5.0]


def test_gap_is_refused_by_default_naming_symbol_and_dates():
    full = days("2021-01-01", 10)
    a = closes(full, np.arange(1, 11))
    b = closes(full.delete([3, 4]), np.arange(1, 9))
    with pytest.raises(InvalidInputError, match=r"'B'.*2 bar\(s\): 2021-01-04, 2021-01-05"):
        align_prices({"A": a, "B": b})


def test_many_missing_dates_are_shown_with_a_count():
    full = days("2021-01-01", 20)
    b = closes(full[::2], np.ones(10))
    with pytest.raises(InvalidInputError, match=r"'B' has no close on 9 bar\(s\).* and 6 more"):
        align_prices({"A": closes(full, np.ones(20)), "B": b}, max_forward_fill=0)


def test_forward_fill_is_bounded_by_the_longest_gap():
    full = days("2021-01-01", 10)
    wide = pd.DataFrame({"A": np.arange(1.0, 11.0), "B": np.arange(1.0, 11.0)}, index=full)
    wide.loc[full[2:4], "B"] = np.nan  # a gap of 2 bars
    wide.loc[full[7], "B"] = np.nan  # a gap of 1 bar
    with pytest.raises(InvalidInputError, match=r"'B'.*longest gap 2.*max_forward_fill=1"):
        align_prices(wide, max_forward_fill=1)
    aligned = align_prices(wide, max_forward_fill=2)
    assert aligned.filled == {"B": [full[2], full[3], full[7]]}
    assert aligned.prices["B"].tolist() == [1, 2, 2, 2, 5, 6, 7, 7, 9, 10]
    assert aligned.prices.notna().all().all()


def test_gap_is_measured_whole_across_the_window_start():
    full = days("2021-01-01", 10)
    a = closes(full, np.arange(1, 11))
    b = closes(full[[0, 1, 5, 6, 7, 8, 9]], np.arange(1, 8))  # missing 2021-01-03 .. 01-05
    c = closes(full[4:], np.arange(1, 7))  # listed from 2021-01-05: B misses 3 bars in a row
    with pytest.raises(InvalidInputError, match=r"'B'.*2021-01-05.*longest gap 3"):
        align_prices({"A": a, "B": b, "C": c}, max_forward_fill=2)
    aligned = align_prices({"A": a, "B": b, "C": c}, max_forward_fill=3)
    assert aligned.start_symbol == "C"
    assert aligned.filled == {"B": [full[4]]}
    assert aligned.prices["B"].iloc[0] == 2.0


def test_row_without_any_price_is_not_a_bar():
    wide = pd.DataFrame(
        {"A": [1.0, np.nan, 3.0], "B": [1.0, np.nan, 2.0]}, index=days("2021-01-01", 3)
    )
    aligned = align_prices(wide)
    assert len(aligned.prices) == 2 and aligned.filled == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "dict of frames is empty"),
        (pd.DataFrame(), r"price frame is empty"),
        ({"A": pd.DataFrame(columns=["close"])}, "no data for 'A': its frame is empty"),
        ({"A": closes(["2021-01-01"], [np.nan])}, "no data for 'A': every close is NaN"),
        ({"A": pd.Series([1.0])}, "'A' must be a DataFrame"),
        (
            {"A": pd.DataFrame({"open": [1.0], "price": [2.0]}, index=days("2021-01-01", 1))},
            r"'A' has no close column; its columns: \['open', 'price'\]",
        ),
        (
            {"A": pd.DataFrame({"close": [1.0], "Close": [1.0]}, index=days("2021-01-01", 1))},
            "'A' has several close columns",
        ),
        ([1, 2], "got list"),
    ],
)
def test_refuses_empty_or_malformed_input(data, message):
    with pytest.raises(InvalidInputError, match=message):
        align_prices(data)


def test_refuses_symbols_without_data_and_data_not_requested():
    data = {
        "A": closes(days("2021-01-01", 3), [1, 2, 3]),
        "B": closes(days("2021-01-01", 3), [1] * 3),
    }
    with pytest.raises(
        InvalidInputError, match=r"no data for symbol\(s\) 'C'; the data has 'A', 'B'"
    ):
        align_prices(data, symbols=["A", "B", "C"])
    with pytest.raises(InvalidInputError, match=r"data for symbol\(s\) 'B' not in symbols"):
        align_prices(data, symbols=["A"])
    with pytest.raises(InvalidInputError, match="'A' is requested twice"):
        align_prices(data, symbols=["A", "B", "A"])
    with pytest.raises(InvalidInputError, match="symbols is empty"):
        align_prices(data, symbols=[])


def test_refuses_duplicate_timestamps():
    frame = closes(["2021-01-01", "2021-01-03", "2021-01-02", "2021-01-03"], [1, 2, 3, 4])
    with pytest.raises(InvalidInputError, match="'X' has duplicate timestamp 2021-01-03"):
        align_prices({"X": frame})
    wide = pd.DataFrame([[1.0, 1.0], [2.0, 2.0]], index=days("2021-01-01", 2), columns=["A", "A"])
    with pytest.raises(InvalidInputError, match="column 'A' twice"):
        align_prices(wide)


@pytest.mark.parametrize(
    ("value", "shown"), [(np.inf, "inf"), (-np.inf, "-inf"), (0.0, "0.0"), (-2.5, "-2.5")]
)
def test_refuses_non_finite_or_non_positive_prices(value, shown):
    frame = closes(days("2021-01-01", 4), [1.0, 2.0, value, 3.0])
    with pytest.raises(InvalidInputError, match=rf"'X' .* price {shown} on 2021-01-03"):
        align_prices({"A": closes(days("2021-01-01", 4), [1] * 4), "X": frame})


def test_refuses_too_few_common_bars():
    a = closes(days("2021-01-01", 5), [1] * 5)
    b = closes(days("2021-01-05", 5), [1] * 5)
    with pytest.raises(InvalidInputError, match=r"only 1 common bar.*need at least min_bars=2"):
        align_prices({"A": a, "B": b})
    c = closes(days("2021-02-01", 5), [1] * 5)
    with pytest.raises(InvalidInputError, match=r"only 0 common.*2021-02-01.*'C'.*'A'"):
        align_prices({"A": a, "C": c})
    with pytest.raises(InvalidInputError, match=r"only 5 common bar\(s\).*min_bars=6"):
        align_prices({"A": a}, min_bars=6)


@pytest.mark.parametrize(
    "values", [["1.0", "2.0"], [True, False], pd.array(["a", "b"], dtype="string")]
)
def test_refuses_non_numeric_close(values):
    frame = pd.DataFrame({"close": values}, index=days("2021-01-01", 2))
    with pytest.raises(InvalidInputError, match="close prices of 'X' are not numeric"):
        align_prices({"X": frame})


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (["2021-01-01", "yesterday-ish"], "index of 'X' does not parse as timestamps"),
        ([0, 1], r"index of 'X' holds numbers"),
        ([pd.Timestamp("2021-01-01"), pd.NaT], r"index of 'X' has a missing timestamp"),
    ],
)
def test_refuses_index_that_is_not_timestamps(index, message):
    frame = pd.DataFrame({"close": [1.0, 2.0]}, index=index)
    with pytest.raises(InvalidInputError, match=message):
        align_prices({"X": frame})


def test_refuses_mixed_time_zones():
    naive = closes(days("2021-01-01", 3), [1, 2, 3])
    aware = naive.tz_localize("UTC")
    with pytest.raises(InvalidInputError, match=r"'B' has time-zone-aware.*'A' has naive"):
        align_prices({"A": naive, "B": aware})


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_forward_fill": -1}, "max_forward_fill"),
        ({"min_bars": 0}, "min_bars"),
        ({"max_forward_fill": 1.5}, "max_forward_fill"),
    ],
)
def test_refuses_bad_counts(kwargs, name):
    with pytest.raises(InvalidInputError, match=name):
        align_prices({"A": closes(days("2021-01-01", 3), [1, 2, 3])}, **kwargs)


def test_caller_frames_are_not_mutated():
    a = pd.DataFrame(
        {"Close": [3.0, 1.0, np.nan, 2.0], "volume": [1, 2, 3, 4]},
        index=["2021-01-04", "2021-01-01", "2021-01-03", "2021-01-02"],
    )
    b = closes(days("2021-01-01", 4), [1, 2, 3, 4])
    wide = pd.DataFrame({"A": [1.0, np.nan, 3.0], "B": [1.0, 2.0, 3.0]}, index=["x1", "x2", "x3"])
    wide.index = ["2021-01-01", "2021-01-02", "2021-01-03"]
    before = [a.copy(deep=True), b.copy(deep=True), wide.copy(deep=True)]
    aligned = align_prices({"A": a, "B": b}, max_forward_fill=1)
    align_prices(wide, max_forward_fill=1)
    aligned.prices.iloc[:, :] = 99.0
    for frame, copy in zip([a, b, wide], before, strict=True):
        pd.testing.assert_frame_equal(frame, copy)


# --------------------------------------------------------------------------- returns


def test_prices_to_returns():
    prices = pd.DataFrame(
        {"A": [100.0, 110.0, 99.0], "B": [1.0, 1.0, 2.0]}, index=days("2021-01-01", 3)
    )
    returns = prices_to_returns(prices)
    expected = pd.DataFrame({"A": [0.1, -0.1], "B": [0.0, 1.0]}, index=prices.index[1:])
    pd.testing.assert_frame_equal(returns, expected)


def test_prices_to_returns_refuses_bad_prices():
    with pytest.raises(InvalidInputError, match="at least 2 rows"):
        prices_to_returns(pd.DataFrame({"A": [1.0]}))
    bad = pd.DataFrame({"A": [1.0, np.nan, 2.0]}, index=days("2021-01-01", 3))
    with pytest.raises(InvalidInputError, match=r"'A' .* nan on 2021-01-02"):
        prices_to_returns(bad)
    with pytest.raises(InvalidInputError, match="no columns"):
        prices_to_returns(pd.DataFrame(index=days("2021-01-01", 3)))


# --------------------------------------------------------------------------- properties


@st.composite
def panels(draw):
    """A wide frame of positive closes with random listing, delisting and interior gaps."""
    n_symbols = draw(st.integers(1, 4))
    n_rows = draw(st.integers(3, 25))
    values = draw(
        st.lists(st.floats(0.01, 1e4), min_size=n_rows * n_symbols, max_size=n_rows * n_symbols)
    )
    table = np.array(values).reshape(n_rows, n_symbols)
    for j in range(n_symbols):
        first = draw(st.integers(0, n_rows // 3))
        last = draw(st.integers(first + 1, n_rows - 1))
        table[:first, j] = np.nan
        table[last + 1 :, j] = np.nan
        holes = draw(st.lists(st.integers(first + 1, max(first + 1, last - 1)), max_size=3))
        table[[h for h in holes if h < last], j] = np.nan
    names = [f"S{j}" for j in range(n_symbols)]
    return pd.DataFrame(table, index=days("2021-01-01", n_rows), columns=names)


def longest_gap(column: pd.Series, window: pd.Index) -> int:
    """Longest run of NaN bars inside a symbol's listing that touches the window."""
    listed = column.loc[column.first_valid_index() : column.last_valid_index()]
    longest, run = 0, []
    for stamp, value in listed.items():
        if np.isnan(value):
            run.append(stamp)
            continue
        if any(s in window for s in run):
            longest = max(longest, len(run))
        run = []
    return longest


@settings(max_examples=150, deadline=None)
@given(panels(), st.integers(0, 3))
def test_alignment_properties(wide, max_forward_fill):
    rows = wide.dropna(how="all")
    start = max(wide[c].first_valid_index() for c in wide)
    end = min(wide[c].last_valid_index() for c in wide)
    window = rows.loc[start:end]
    # Gaps are measured on the bars where some symbol trades, over each symbol's listing.
    worst = max(longest_gap(rows[c], window.index) for c in rows)
    as_dict = {c: wide[[c]].rename(columns={c: "Close"}).dropna() for c in wide}
    if len(window) < 2 or worst > max_forward_fill:
        with pytest.raises(InvalidInputError):
            align_prices(wide, max_forward_fill=max_forward_fill)
        with pytest.raises(InvalidInputError):
            align_prices(as_dict, max_forward_fill=max_forward_fill)
        return
    aligned = align_prices(wide, max_forward_fill=max_forward_fill)
    pd.testing.assert_frame_equal(
        aligned.prices, align_prices(as_dict, max_forward_fill=max_forward_fill).prices
    )
    prices = aligned.prices
    assert prices.notna().all().all()
    assert (aligned.start, aligned.end) == (start, end)
    assert wide[aligned.start_symbol].first_valid_index() == start
    assert prices.index.equals(pd.DatetimeIndex(window.index, name="timestamp"))
    observed = window.notna()
    assert (prices[observed] == window[observed]).sum().sum() == observed.sum().sum()
    expected_filled = {c: list(window.index[~observed[c]]) for c in wide if (~observed[c]).any()}
    assert aligned.filled == expected_filled
    expected = rows.ffill().loc[start:end].rename_axis("timestamp")
    pd.testing.assert_frame_equal(prices, expected, check_freq=False)
