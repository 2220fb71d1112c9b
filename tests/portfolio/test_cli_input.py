"""The command line on real-world files: date columns and formats, windows, gaps, risk budgets,
one-line errors for every malformed input, the output folder checked first, options a command
ignores refused, ``--version``, defaults in ``--help``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvxport import AllocationMethod, PortfolioConfig, PortfolioManager
from cvxport.cli import main
from cvxport.data import read_price_files

SYMBOLS = ("AAA", "BBB", "CCC")


def write_prices(folder, n_bars=90, date_format="%Y-%m-%d", column="timestamp", starts=None):
    """Seeded per-symbol CSVs of daily closes from 2023-01-01; ``starts`` delays a symbol."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    index = pd.date_range("2023-01-01", periods=n_bars, freq="D")
    for symbol in SYMBOLS:
        close = 40 * np.cumprod(1 + rng.normal(5e-4, 0.02, n_bars))
        frame = pd.DataFrame({column: index.strftime(date_format), "close": close})
        frame.iloc[(starts or {}).get(symbol, 0) :].to_csv(folder / f"{symbol}.csv", index=False)
    return folder


def run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    assert err.startswith("cvxport: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


# --- malformed input: one line naming the file and the line or column -----------------------
MALFORMED = {
    "unterminated_quote": (
        b'timestamp,close\n2023-01-01,1\n2023-01-02,"2\n2023-01-03,3\n',
        ["not a well-formed CSV", "line 3"],
    ),
    "ragged_row": (b"timestamp,close\n2023-01-01,1\n2023-01-02,2,9\n", ["line 3"]),
    "empty_file": (b"", ["empty file"]),
    "blank_file": (b"\n \n", ["empty file"]),
    "header_only": (b"timestamp,close\n", ["no data rows"]),
    "binary_garbage": (
        bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8)),
        ["binary data"],
    ),
    "not_utf8": (b"timestamp,close\n2023-01-01,1\n2023-01-02,\xff\xfe\n", ["not UTF-8"]),
    "unparseable_date": (
        b"timestamp,close\n2023-01-01,1\n2023-01-02,2\n2023-02-30,3\n",
        ["line 4", "column 'timestamp'", "'2023-02-30'"],
    ),
    "empty_date": (b"timestamp,close\n2023-01-01,1\n,2\n", ["line 3", "empty cell"]),
    "day_first_dates": (
        b"Date,Close\n01/01/2023,1\n12/01/2023,2\n13/01/2023,3\n",
        ["line 4", "column 'Date'", "'13/01/2023'", "--dayfirst"],
    ),
    "no_date_column": (b"when,close\n2023-01-01,1\n", ["no date column", "'when'"]),
    "no_close_column": (b"timestamp,open\n2023-01-01,1\n", ["no column 'close'", "'open'"]),
    "numeric_dates": (b"timestamp,close\n1672531200000,1\n", ["holds numbers", "line 2"]),
    "bad_price": (
        b"timestamp,close\n2023-01-01,1\n2023-01-02,n/a?\n",
        ["line 3", "column 'close'", "'n/a?' is not a number"],
    ),
    "duplicate_date": (
        b"timestamp,close\n2023-01-01,1\n2023-01-02,2\n2023-01-01,3\n",
        ["2023-01-01 appears twice", "lines 2 and 4"],
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_file_is_one_line_naming_file_and_place(case, tmp_path, capsys):
    content, fragments = MALFORMED[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(content)
    out = tmp_path / "out"
    code, _, err = run(["backtest", "--data", str(path), "--output", str(out)], capsys)
    assert_one_line_error(code, err, str(path), *fragments)
    assert not out.exists()


def test_missing_file_and_empty_folder(tmp_path, capsys):
    code, _, err = run(["backtest", "--data", str(tmp_path / "nope.csv")], capsys)
    assert_one_line_error(code, err, "nope.csv: no such file or folder")
    (tmp_path / "empty").mkdir()
    code, _, err = run(["backtest", "--data", str(tmp_path / "empty")], capsys)
    assert_one_line_error(code, err, "no CSV files found")


# --- dates: any column, day first, formats, windows -------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("%d/%m/%Y", ["--dayfirst"]),
        ("%d/%m/%Y", ["--date-format", "%d/%m/%Y"]),
        ("%d.%m.%Y %H:%M", ["--date-format", "%d.%m.%Y %H:%M"]),
    ],
)
def test_day_first_dates_read_as_the_same_days(fmt, options, tmp_path):
    iso = read_price_files([write_prices(tmp_path / "iso")])
    other = read_price_files(
        [write_prices(tmp_path / "dm", date_format=fmt, column="Date")],
        date_format=options[1] if len(options) == 2 else None,
        dayfirst=options == ["--dayfirst"],
    )
    for symbol in SYMBOLS:
        pd.testing.assert_frame_equal(other[symbol], iso[symbol])


def test_date_column_by_name_and_by_default(tmp_path, capsys):
    folder = write_prices(tmp_path / "in", column="Trade Day")
    code, _, err = run(["backtest", "--data", str(folder), "--output", str(tmp_path)], capsys)
    assert_one_line_error(code, err, "no date column", "--date-column")
    base = ["backtest", "--data", str(folder), "--lookback", "20", "--method", "equal_weight"]
    code, _, err = run([*base, "--date-column", "Trade Day", "--output", str(tmp_path)], capsys)
    assert code == 0, err
    # 'Date' is found without the option (any case)
    folder = write_prices(tmp_path / "in2", column="Date")
    code, _, err = run([*base[:2], str(folder), *base[3:], "--output", str(tmp_path)], capsys)
    assert code == 0, err


def test_timezone_offsets_become_utc(tmp_path):
    path = tmp_path / "X.csv"
    path.write_text("timestamp,close\n2023-01-01T02:00:00+02:00,1\n2023-01-02T00:00:00Z,2\n")
    frame = read_price_files([path])["X"]
    assert list(frame.index) == [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-01-02")]


def test_start_and_end_cut_csv_data(tmp_path, capsys):
    folder = write_prices(tmp_path / "in")
    out = tmp_path / "out"
    code, _, err = run(
        ["backtest", "--data", str(folder), "--start", "2023-01-15", "--end", "2023-03-10",
         "--lookback", "20", "--method", "equal_weight", "--output", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    equity = pd.read_csv(out / "equity_curve.csv", index_col=0, parse_dates=True)["equity"]
    # the first bar kept is 2023-01-15; 20 returns need 21 closes, so the first allocation is
    # on 2023-02-04 and the curve starts the bar before it (all cash)
    assert equity.index[0] == pd.Timestamp("2023-02-03")
    assert equity.index[-1] == pd.Timestamp("2023-03-10")


def test_window_outside_the_file_names_it(tmp_path, capsys):
    folder = write_prices(tmp_path / "in")
    code, _, err = run(["backtest", "--data", str(folder), "--start", "2030-01-01"], capsys)
    assert_one_line_error(code, err, "AAA.csv", "start=2030-01-01", "2023-01-01 to 2023-03-31")


def test_bad_start_date_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["backtest", "--start", "someday"])
    assert info.value.code == 2 and "--start" in capsys.readouterr().err


def test_forward_fill_limit(tmp_path, capsys):
    folder = write_prices(tmp_path / "in")
    frame = pd.read_csv(folder / "BBB.csv")
    frame.drop(index=[40, 41]).to_csv(folder / "BBB.csv", index=False)  # a 2-bar gap
    base = ["backtest", "--data", str(folder), "--lookback", "20", "--output", str(tmp_path / "o")]
    code, _, err = run(base, capsys)
    assert_one_line_error(code, err, "BBB", "max_forward_fill=0")
    code, _, err = run([*base, "--max-forward-fill", "1"], capsys)
    assert_one_line_error(code, err, "max_forward_fill=1")
    code, _, err = run([*base, "--max-forward-fill", "2"], capsys)
    assert code == 0, err


# --- risk budgets ---------------------------------------------------------------------------
def test_risk_budgeting_from_the_command_line(tmp_path, capsys):
    folder = write_prices(tmp_path / "in")
    out = tmp_path / "out"
    budget = {"AAA": 0.5, "BBB": 0.3, "CCC": 0.2}
    code, stdout, err = run(
        ["backtest", "--data", str(folder), "--method", "risk_budgeting", "--lookback", "30",
         "--min-weight", "0", "--max-weight", "1", "--output", str(out),
         "--risk-budget", *[f"{s}={b}" for s, b in budget.items()]],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "risk_budgeting" in stdout
    config = PortfolioConfig(
        symbols=list(SYMBOLS),
        allocation_method=AllocationMethod.RISK_BUDGETING,
        risk_budget=budget,
        lookback=30,
    )
    data = read_price_files([folder])
    expected = PortfolioManager(config).backtest(data).allocation_history
    written = pd.read_csv(out / "allocation_history.csv", index_col=0, parse_dates=True)
    np.testing.assert_allclose(written.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--risk-budget", "AAA=1"], "--risk-budget is used only by --method risk_budgeting"),
        (["--method", "risk_budgeting"], "risk budgeting needs risk_budget"),
    ],
)
def test_risk_budget_misuse(args, message, tmp_path, capsys):
    folder = write_prices(tmp_path / "in")
    code, _, err = run(["backtest", "--data", str(folder), "--lookback", "20", *args], capsys)
    assert_one_line_error(code, err, message)


def test_risk_budget_syntax_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["backtest", "--method", "risk_budgeting", "--risk-budget", "BTC/USDT:0.5"])
    assert info.value.code == 2 and "SYMBOL=SHARE" in capsys.readouterr().err


# --- output folder checked before any work --------------------------------------------------
def test_output_that_is_a_file_is_refused_before_loading(tmp_path, capsys):
    blocker = tmp_path / "report.txt"
    blocker.write_text("keep me")
    bad_data = tmp_path / "bad.csv"
    bad_data.write_bytes(b"")  # would fail later: the output is checked first
    for output, message in ((blocker, "is a file"), (blocker / "sub", "lies under the file")):
        code, _, err = run(["backtest", "--data", str(bad_data), "--output", str(output)], capsys)
        assert_one_line_error(code, err, f"--output {output}", message)
    assert blocker.read_text() == "keep me"


# --- options a command ignores, ranges, version, help ---------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["frontier", "--method", "hrp"],
        ["frontier", "--cost", "0.01"],
        ["frontier", "--lookback", "30"],
        ["frontier", "--frequency", "weekly"],
        ["frontier", "--progress"],
        ["frontier", "--confidence", "0.9"],
        ["backtest", "--window", "30"],
        ["stress", "--points", "10"],
        ["frontier", "--window", "0"],
        ["frontier", "--window", "-5"],
        ["frontier", "--points", "0"],
        ["stress", "--confidence", "1.5"],
        ["backtest", "--max-forward-fill", "-1"],
        ["backtest", "--dayfirst", "--date-format", "%d/%m/%Y"],
    ],
)
def test_ignored_or_out_of_range_options_are_refused(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main([*args, "--output", str(tmp_path / "out")])
    assert info.value.code == 2
    assert "usage: cvxport" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_date_options_need_csv_data(capsys):
    code, _, err = run(["backtest", "--dayfirst"], capsys)
    assert_one_line_error(code, err, "--dayfirst applies to --data files only")


def test_version(capsys):
    from cvxport import __version__

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"cvxport {__version__}"


@pytest.mark.parametrize("command", ["backtest", "frontier", "stress"])
def test_help_shows_the_same_bound_defaults(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--min-weight MIN_WEIGHT fraction of NAV (default: 0.05)" in text
    assert "--max-weight MAX_WEIGHT fraction of NAV (default: 0.4)" in text
    assert "(default: cvxport-report)" in text


# --- the report header says what set the start ----------------------------------------------
def test_header_says_the_lookback_set_the_start(tmp_path, capsys):
    folder = write_prices(tmp_path / "in")
    base = ["backtest", "--lookback", "20", "--method", "equal_weight"]
    code, out, err = run([*base, "--data", str(folder), "--output", str(tmp_path / "a")], capsys)
    assert code == 0, err
    assert "data from 2023-01-01 for every symbol, then 20 bars of lookback" in out
    late = write_prices(tmp_path / "late", starts={"BBB": 10})
    code, out, err = run([*base, "--data", str(late), "--output", str(tmp_path / "b")], capsys)
    assert code == 0, err
    assert "common start 2023-01-11 set by BBB (listed last), then 20 bars of lookback" in out


def test_semicolons_and_decimal_commas_as_spreadsheets_export_them(tmp_path, capsys):
    path = tmp_path / "EUR.csv"
    path.write_text("Datum;Open;Close\n01.02.2023;1.230,0;1.234,5\n02.02.2023;1.234,5;1.240,25\n")
    frame = read_price_files([path], date_column="Datum", dayfirst=True)["EUR"]
    assert list(frame.index) == [pd.Timestamp("2023-02-01"), pd.Timestamp("2023-02-02")]
    assert frame["Close"].tolist() == [1234.5, 1240.25]
    assert frame["Open"].tolist() == [1230.0, 1234.5]
    tabs = tmp_path / "TAB.csv"
    tabs.write_text("timestamp\tclose\n2023-01-01\t5.5\n2023-01-02\t6\n")
    assert read_price_files([tabs])["TAB"]["close"].tolist() == [5.5, 6.0]
    path.write_text("Datum;Close\n01.02.2023;1.234,5\n02.02.2023;zwei\n")
    code, _, err = run(["backtest", "--data", str(path), "--date-column", "Datum"], capsys)
    assert_one_line_error(code, err, "line 3, column 'Close': 'zwei' is not a number")


def test_benchmark_is_a_backtest_option_only(tmp_path, capsys):
    for command in ("frontier", "stress"):
        with pytest.raises(SystemExit) as info:
            main([command, "--benchmark", "BTC/USDT", "--output", str(tmp_path / "out")])
        assert info.value.code == 2
    assert "unrecognized arguments: --benchmark" in capsys.readouterr().err


def test_output_piped_to_a_reader_that_stops_early(tmp_path):
    """``cvxport backtest ... | head -1``: no BrokenPipeError traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    folder = write_prices(tmp_path / "in")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable, "-m", "cvxport", "backtest", "--data", str(folder), "--lookback", "20",
        "--method", "equal_weight", "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        run = subprocess.run(command, stdout=write, stderr=subprocess.PIPE, env=env, timeout=120)
    finally:
        os.close(write)
    assert b"Traceback" not in run.stderr and run.returncode == 1, run.stderr[-500:]


def test_rebalance_refuses_backtest_only_options(capsys):
    for option in (["--progress"], ["--benchmark", "BTC/USDT"], ["--output", "x"]):
        with pytest.raises(SystemExit) as info:
            main(["rebalance", "--dry-run", *option])
        assert info.value.code == 2
        assert f"unrecognized arguments: {option[0]}" in capsys.readouterr().err
