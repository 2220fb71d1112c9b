"""``--config FILE.toml``: PortfolioConfig fields validated exactly as PortfolioConfig does,
a [data] table relative to the file, command-line options winning over the file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvxport import AllocationMethod, PortfolioConfig, PortfolioManager
from cvxport.cli import main
from cvxport.data import read_price_files
from cvxport.errors import CvxportError

SYMBOLS = ("AAA", "BBB", "CCC")


def write_prices(folder, n_bars=80):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    index = pd.date_range("2023-01-01", periods=n_bars, freq="D").strftime("%d/%m/%Y")
    for symbol in SYMBOLS:
        close = 30 * np.cumprod(1 + rng.normal(5e-4, 0.02, n_bars))
        pd.DataFrame({"Date": index, "Close": close}).to_csv(folder / f"{symbol}.csv", index=False)
    return folder


CONFIG = """\
allocation_method = "minimum_variance"
rebalance_frequency = "weekly"
min_position_weight = 0.1
max_position_weight = 0.6
transaction_cost = 0.002
lookback = 20
covariance = "ledoit_wolf"

[data]
paths = ["prices"]
date_column = "Date"
dayfirst = true
"""


def test_config_file_runs_like_the_api(tmp_path, capsys):
    write_prices(tmp_path / "prices")
    (tmp_path / "portfolio.toml").write_text(CONFIG)
    out = tmp_path / "out"
    code = main(["backtest", "--config", str(tmp_path / "portfolio.toml"), "--output", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "minimum_variance, weekly rebalancing, bounds [0.1, 0.6], cost 0.002" in captured.out
    config = PortfolioConfig(
        symbols=list(SYMBOLS),
        allocation_method=AllocationMethod.MINIMUM_VARIANCE,
        rebalance_frequency="weekly",
        min_position_weight=0.1,
        max_position_weight=0.6,
        transaction_cost=0.002,
        lookback=20,
        covariance="ledoit_wolf",  # a field without an option reaches the config too
    )
    data = read_price_files([tmp_path / "prices"], date_column="Date", dayfirst=True)
    expected = PortfolioManager(config).backtest(data)
    equity = pd.read_csv(out / "equity_curve.csv", index_col=0, parse_dates=True)["equity"]
    np.testing.assert_allclose(equity.to_numpy(), expected.equity_curve.to_numpy(), rtol=1e-12)


def test_options_win_over_the_file(tmp_path, capsys):
    write_prices(tmp_path / "prices")
    (tmp_path / "portfolio.toml").write_text(CONFIG)
    code = main(
        ["backtest", "--config", str(tmp_path / "portfolio.toml"), "--output", str(tmp_path / "o"),
         "--method", "equal_weight", "--max-weight", "0.5"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "equal_weight, weekly rebalancing, bounds [0.1, 0.5], cost 0.002" in out


def test_frontier_and_stress_read_the_same_file(tmp_path, capsys):
    write_prices(tmp_path / "prices")
    (tmp_path / "portfolio.toml").write_text(CONFIG)
    config = str(tmp_path / "portfolio.toml")
    code = main(["frontier", "--config", config, "--points", "5", "--output", str(tmp_path / "f")])
    out = capsys.readouterr().out
    assert code == 0 and "bounds [0.1, 0.6]" in out
    frontier = pd.read_csv(tmp_path / "f" / "frontier.csv")
    weights = frontier[list(SYMBOLS)].to_numpy()
    assert weights.min() >= 0.1 - 1e-6 and weights.max() <= 0.6 + 1e-6
    code = main(["stress", "--config", config, "--output", str(tmp_path / "s")])
    assert code == 0, capsys.readouterr().err


def pc_message(key, value):
    """The message PortfolioConfig itself gives for ``key = value``."""
    with pytest.raises(CvxportError) as info:
        setattr(PortfolioConfig(), key, value)
    return str(info.value)


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("transaction_cost = 0.9", "transaction_cost", 0.9),
        ('allocation_method = "magic"', "allocation_method", "magic"),
        ("lookback = 1", "lookback", 1),
        ("lookback = 20.5", "lookback", 20.5),
        ('symbols = "BTC/USDT"', "symbols", "BTC/USDT"),
        ('symbols = ["A", "A"]', "symbols", ["A", "A"]),
        ('rebalance_frequency = "hourly"', "rebalance_frequency", "hourly"),
        ('solver = "NO_SUCH_SOLVER"', "solver", "NO_SUCH_SOLVER"),
        ("risk_budget = [0.5, 0.5]", "risk_budget", [0.5, 0.5]),
        ('on_infeasible = "skip"', "on_infeasible", "skip"),
        ("max_forward_fill = -1", "max_forward_fill", -1),
        ("min_position_weight = true", "min_position_weight", True),
        ('covariance = "magic"', "covariance", "magic"),
        ("colour = 3", "colour", 3),
        ('rebalancer = "threshold"', "rebalancer", "threshold"),
    ],
)
def test_fields_are_validated_exactly_as_portfolio_config(line, key, value, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(line + "\n")
    code = main(["backtest", "--config", str(path), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"cvxport: error: {path}: {pc_message(key, value)}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("lookback = = 3\n", ["not valid TOML", "line 1"]),
        ('allocation_method = "hrp"\nlookback = 3\nlookback = 4\n', ["not valid TOML", "line 3"]),
        ("[data]\npath = ['x']\n", ["[data] has no key 'path'"]),
        ("[data]\ndayfirst = 'yes'\n", ["[data] dayfirst must be a bool"]),
        ("[data]\npaths = []\n", ["[data] paths must be a list of paths"]),
        ("data = 3\n", ["'data' must be a table"]),
    ],
)
def test_malformed_config_file_is_one_line(text, fragments, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code = main(["backtest", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and str(path) in err
    for fragment in fragments:
        assert fragment in err


def test_missing_config_file(tmp_path, capsys):
    code = main(["backtest", "--config", str(tmp_path / "nope.toml")])
    err = capsys.readouterr().err
    assert code == 2 and "nope.toml: no such file" in err
