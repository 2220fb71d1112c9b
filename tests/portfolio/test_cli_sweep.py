"""``python -m cvxport sweep``: a grid in a TOML file -> the table as CSV and Parquet (equal
after a round trip), a PNG plot, failing runs as rows; bad files are named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cvxport import PortfolioConfig
from cvxport.cli import main
from cvxport.research import run_sweep

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SWEEP_FILE = """\
symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
transaction_cost = 0.002

[data]
start = "2023-01-01"
end = "2023-09-30"

[grid]
allocation_method = ["equal_weight", "minimum_variance"]
lookback = [20, 40]
max_position_weight = [0.5, 0.2]

[sweep]
backend = "serial"
"""


def test_sweep_writes_csv_parquet_and_a_plot(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text(SWEEP_FILE)
    out = tmp_path / "out"
    code = main(["sweep", "--config", str(config), "--output", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "8 runs (serial), 4 ok, 4 failed" in printed.out
    csv = pd.read_csv(out / "sweep.csv", index_col="run")
    csv[["error", "outcome"]] = csv[["error", "outcome"]].fillna("")  # CSV has no empty string
    parquet = pd.read_parquet(out / "sweep.parquet")
    assert len(parquet) == 8 and (parquet["status"] == "error").sum() == 4
    assert (
        parquet.loc[parquet["max_position_weight"] == 0.2, "error"]
        .str.contains("InfeasibleError")
        .all()
    )
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False, rtol=1e-12)
    assert (out / "sweep.png").read_bytes().startswith(PNG_MAGIC)
    html = (out / "sweep.html").read_text()
    assert "8 runs, 4 ok, 4 failed" in html and "InfeasibleError" in html
    assert "<img src='data:image/png;base64," in html and "http" not in html
    # the same table as the API on the same data and config (the CLI's default bounds apply)
    from cvxport import load_bundled_prices

    data = load_bundled_prices(["BTC/USDT", "ETH/USDT", "SOL/USDT"], "2023-01-01", "2023-09-30")
    base = PortfolioConfig(symbols=list(data), transaction_cost=0.002, min_position_weight=0.05,
                           max_position_weight=0.40, allocation_method="risk_parity")  # fmt: skip
    grid = {"allocation_method": ["equal_weight", "minimum_variance"], "lookback": [20, 40],
            "max_position_weight": [0.5, 0.2]}  # fmt: skip
    expected = run_sweep(base, grid, data, progress=False)
    pd.testing.assert_frame_equal(parquet, expected, check_exact=True)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("lookback = 30\n", "needs a [grid] table"),
        ("[grid]\nlookback = 30\n", "lookback must be a non-empty list"),
        ("[grid]\nlookback = [30]\n[sweep]\nworkers = 2\n", "workers"),
        ("[grid]\nlookbak = [30]\n", "lookbak"),
    ],
)
def test_bad_sweep_files_are_named(tmp_path, capsys, text, match):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    code = main(["sweep", "--config", str(config), "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and match in err, err


def test_sweep_without_a_config_file_is_refused(tmp_path, capsys):
    assert main(["sweep", "--output", str(tmp_path)]) == 2
    assert "--config" in capsys.readouterr().err


def test_a_backtest_config_file_may_carry_the_sweep_tables(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text(SWEEP_FILE)
    code = main(["backtest", "--config", str(config), "--output", str(tmp_path / "bt")])
    assert code == 0, capsys.readouterr().err
    assert Path(tmp_path / "bt" / "metrics.csv").exists()
