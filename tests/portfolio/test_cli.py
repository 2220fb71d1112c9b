"""Tests of ``python -m cvxport backtest``: the report on the bundled data, CSV input, and the
errors (argparse's exit 2 on a bad option, exit code 2 with a message on a CvxportError)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cvxport import AllocationMethod, PortfolioConfig, PortfolioManager, load_bundled_prices
from cvxport.cli import main

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOTS = ["equity_curve.png", "drawdown.png", "weights.png"]
TABLES = [
    "equity_curve.csv",
    "weights_history.csv",
    "allocation_history.csv",
    "trades.csv",
    "metrics.csv",
]


def check_report(folder: Path) -> dict[str, pd.DataFrame]:
    """Every plot is a PNG, every table a CSV; return the tables."""
    for name in PLOTS:
        data = (folder / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000, name
    tables = {
        name: pd.read_csv(folder / name, index_col=None if name == "trades.csv" else 0)
        for name in TABLES
    }
    assert all(len(frame) for frame in tables.values())
    return tables


def test_backtest_on_the_bundled_data(tmp_path, capsys):
    code = main(["backtest", "--output", str(tmp_path)])
    captured = capsys.readouterr()

    assert code == 0, captured.err
    tables = check_report(tmp_path)
    out = captured.out
    for key in ("total_return", "annualized_return", "volatility", "sharpe_ratio"):
        assert key in out
    assert "max_drawdown" in out and "calmar_ratio" in out
    assert "risk_parity" in out and "monthly" in out
    # The defaults are the spec's configuration on BTC, ETH and SOL.
    config = PortfolioConfig(
        symbols=["BTC/USDT", "ETH/USDT", "SOL/USDT"],
        allocation_method=AllocationMethod.RISK_PARITY,
        min_position_weight=0.05,
        max_position_weight=0.40,
        transaction_cost=0.001,
    )
    result = PortfolioManager(config).backtest(load_bundled_prices(config.symbols))
    metrics = tables["metrics.csv"]
    for key, value in result.metrics.items():
        assert metrics.loc[key, "value"] == pytest.approx(value, rel=1e-9), key
    assert metrics.loc["total_return", "unit"] == "percent"
    assert metrics.loc["sharpe_ratio", "unit"] == "ratio"
    assert f"{result.metrics['total_return']:.2f}%" in out
    equity = tables["equity_curve.csv"]["equity"]
    np.testing.assert_allclose(equity, result.equity_curve, rtol=1e-12)
    assert len(tables["allocation_history.csv"]) == len(result.rebalance_dates)
    trades = tables["trades.csv"]
    assert list(trades.columns) == [
        "timestamp", "symbol", "action", "quantity", "price", "value", "cost"
    ]  # fmt: skip
    assert len(trades) == len(result.trades)


def write_csvs(folder: Path, symbols=("AAA", "BBB", "CCC"), n_bars: int = 120) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(41)
    index = pd.date_range("2023-01-01", periods=n_bars, freq="D")
    paths = []
    for symbol in symbols:
        close = 50 * np.cumprod(1 + rng.normal(5e-4, 0.02, n_bars))
        frame = pd.DataFrame(
            {"timestamp": index, "open": close, "high": close, "low": close, "close": close}
        )
        paths.append(folder / f"{symbol}.csv")
        frame.to_csv(paths[-1], index=False)
    return paths


@pytest.mark.parametrize("how", ["folder", "files"])
def test_backtest_on_csv_files(tmp_path, capsys, how):
    paths = write_csvs(tmp_path / "in")
    data = [str(tmp_path / "in")] if how == "folder" else [str(p) for p in paths]
    out_dir = tmp_path / "out"
    code = main(
        ["backtest", "--data", *data, "--output", str(out_dir), "--method", "minimum_variance",
         "--frequency", "weekly", "--lookback", "20", "--min-weight", "0.1",
         "--max-weight", "0.6", "--cost", "0.002"]
    )  # fmt: skip
    captured = capsys.readouterr()

    assert code == 0, captured.err
    tables = check_report(out_dir)
    allocation = tables["allocation_history.csv"]
    assert list(allocation.columns) == ["AAA", "BBB", "CCC"]
    assert allocation.to_numpy().min() >= 0.1 - 1e-6
    assert allocation.to_numpy().max() <= 0.6 + 1e-6
    dates = pd.DatetimeIndex(allocation.index[1:])
    assert set(dates.day_name()) == {"Monday"}
    assert "minimum_variance" in captured.out and "weekly" in captured.out
    trades = tables["trades.csv"]
    np.testing.assert_allclose(trades["cost"], 0.002 * trades["value"], rtol=1e-12)


def test_csv_subset_of_symbols(tmp_path, capsys):
    write_csvs(tmp_path / "in")
    code = main(
        ["backtest", "--data", str(tmp_path / "in"), "--symbols", "AAA", "CCC",
         "--output", str(tmp_path / "out"), "--lookback", "10", "--min-weight", "0.2",
         "--max-weight", "0.8"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    weights = pd.read_csv(tmp_path / "out" / "weights_history.csv", index_col=0)
    assert list(weights.columns) == ["AAA", "CCC"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "magic"], "--method"),
        (["--frequency", "hourly"], "--frequency"),
        (["--cost", "ten"], "--cost"),
        (["--lookback", "1.5"], "--lookback"),
        (["--no-such-option"], "--no-such-option"),
    ],
)
def test_bad_option_is_a_clear_usage_error(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["backtest", "--output", str(tmp_path), *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: cvxport" in err and "error:" in err and message in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_missing_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage: cvxport" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-weight", "0.5"], "min_position_weight"),  # 3 x 50% > 1
        (["--min-weight", "1.5"], "min_position_weight"),
        (["--max-weight", "0.3"], "max_position_weight"),  # 3 x 30% < 1
        (["--cost", "-0.01"], "transaction_cost"),
        (["--solver", "NO_SUCH_SOLVER"], "solver"),
        (["--symbols", "BTC/USDT", "NOPE/USDT"], "NOPE/USDT"),
        (["--start", "2030-01-01"], "2030-01-01"),
        (["--data", "no/such/folder"], "no/such/folder"),
        (["--lookback", "5000"], "lookback=5000"),
    ],
)
def test_cvxport_errors_exit_with_code_2(args, message, tmp_path, capsys):
    code = main(["backtest", "--output", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("cvxport: error: ") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_market_caps_need_the_bundled_data(tmp_path, capsys):
    write_csvs(tmp_path / "in")
    code = main(
        ["backtest", "--data", str(tmp_path / "in"), "--method", "market_cap_weight",
         "--output", str(tmp_path / "out")]
    )  # fmt: skip
    assert code == 2 and "market_cap_weight" in capsys.readouterr().err


def test_python_dash_m_cvxport(tmp_path):
    write_csvs(tmp_path / "in", n_bars=60)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [sys.executable, "-m", "cvxport", "backtest", "--data", str(tmp_path / "in"),
         "--lookback", "10", "--method", "equal_weight", "--output", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "sharpe_ratio" in run.stdout
    check_report(tmp_path / "out")


def test_frontier_command_writes_png_and_table(tmp_path, capsys):
    code = main(["frontier", "--output", str(tmp_path), "--points", "12"])
    out = capsys.readouterr().out
    assert code == 0
    assert (tmp_path / "frontier.png").stat().st_size > 0
    table = pd.read_csv(tmp_path / "frontier.csv")
    assert len(table) == 12 and table["volatility"].is_monotonic_increasing
    weights = table[["BTC/USDT", "ETH/USDT", "SOL/USDT"]].sum(axis=1)
    assert np.allclose(weights, 1.0, atol=1e-8)
    assert "maximum Sharpe weights" in out


def test_stress_command_runs_the_spec_scenarios(tmp_path, capsys):
    code = main(["stress", "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert (tmp_path / "stress.png").stat().st_size > 0
    table = pd.read_csv(tmp_path / "stress.csv", index_col=0)
    assert set(table.index) == {"crypto_crash", "correlation_spike", "volatility_shock"}
    # the crash shocks BTC -30%, ETH -40%, SOL -50%: the loss lies between the extremes
    assert 0.30 < table.loc["crypto_crash", "portfolio_loss"] < 0.50
    assert "crypto_crash: loss" in out
