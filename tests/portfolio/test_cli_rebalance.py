"""``python -m cvxport rebalance`` against the fake Binance exchange: dry run sends nothing,
a run brings the account to the target, keys come from the environment only."""

from __future__ import annotations

import json
import sqlite3

import pytest

pytest.importorskip("ccxt")

from fake_exchange import API_KEY, SECRET, FakeBinance
from test_ccxt_broker import MARKETS

from cvxport.cli import main


@pytest.fixture
def setup(tmp_path, monkeypatch):
    fake = FakeBinance(MARKETS, {"USDT": 1_000.0, "BTC": 2.0}).start()
    settings = {k: v for k, v in fake.ccxt_config().items() if k not in ("apiKey", "secret")}
    (tmp_path / "ccxt.json").write_text(json.dumps(settings))
    journal = tmp_path / "live.sqlite"
    (tmp_path / "live.toml").write_text(
        f'journal_path = "{journal.as_posix()}"\ncash_buffer = 0.001\n'
    )
    monkeypatch.setenv("CVXPORT_API_KEY", API_KEY)
    monkeypatch.setenv("CVXPORT_API_SECRET", SECRET)
    argv = ["rebalance", "--config", str(tmp_path / "live.toml"), "--method", "equal_weight",
            "--lookback", "30", "--ccxt-config", str(tmp_path / "ccxt.json"), "--min-weight",
            "0", "--max-weight", "1"]  # fmt: skip
    yield fake, argv, journal
    fake.stop()


def test_dry_run_prints_the_orders_and_sends_nothing(setup, capsys):
    fake, argv, journal = setup
    assert main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "orders it would send (dry run, nothing sent): 3" in out
    assert "SELL" in out and "BTC/USDT" in out and "drift after:" in out
    assert fake.posted == []
    with sqlite3.connect(journal) as db:  # opened (its state replayed), nothing written
        assert db.execute("SELECT COUNT(*) FROM orders").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM states").fetchone() == (0,)
    assert API_KEY not in out and SECRET not in out


def test_rebalance_brings_the_account_to_the_target(setup, capsys):
    fake, argv, journal = setup
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "filled: 3" in out
    drift = float(out.split("drift after: ")[1].split("%")[0]) / 100
    assert drift < 0.005  # equal weights within the lots and the 0.1% cash buffer
    assert len(fake.posted) == 3 and fake.balance("USDT") >= 0
    assert journal.stat().st_mode & 0o777 == 0o600


def test_keys_must_come_from_the_environment(setup, monkeypatch, tmp_path, capsys):
    fake, argv, _ = setup
    monkeypatch.delenv("CVXPORT_API_SECRET")
    assert main(argv) == 2
    assert "CVXPORT_API_SECRET" in capsys.readouterr().err
    leaky = tmp_path / "leaky.json"
    leaky.write_text(json.dumps({"secret": "x"}))
    monkeypatch.setenv("CVXPORT_API_SECRET", SECRET)
    assert main([*argv[:-6], "--ccxt-config", str(leaky), *argv[-4:]]) == 2
    assert "environment variables" in capsys.readouterr().err
    assert fake.posted == []
