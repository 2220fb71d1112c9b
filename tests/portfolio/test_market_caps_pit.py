"""Point-in-time market caps: each rebalance uses the last snapshot dated on or before it; an
earlier rebalance is refused and a later dated snapshot is warned about, by name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cvxport import (
    AllocationMethod,
    LookAheadError,
    LookAheadWarning,
    PortfolioConfig,
    PortfolioManager,
    load_bundled_market_caps,
    load_bundled_market_caps_history,
    load_bundled_prices,
)
from cvxport.cli import main

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def cap_manager(**fields) -> PortfolioManager:
    config = PortfolioConfig(symbols=SYMBOLS, allocation_method=AllocationMethod.MARKET_CAP_WEIGHT,
                             lookback=20, rebalance_frequency="weekly", **fields)  # fmt: skip
    return PortfolioManager(config)


def test_the_history_is_the_daily_snapshots():
    history = load_bundled_market_caps_history(SYMBOLS)
    assert history.shape == (365, 3) and history.index.is_monotonic_increasing
    for day in ("2021-01-01", "2021-07-15", "2021-12-31"):
        assert history.loc[day].to_dict() == load_bundled_market_caps(day, SYMBOLS)


def test_each_rebalance_uses_the_last_snapshot_on_or_before_it():
    data = load_bundled_prices(SYMBOLS, start="2020-12-13", end="2021-12-31")
    history = load_bundled_market_caps_history(SYMBOLS)
    manager = cap_manager()
    manager.set_market_caps(history)
    result = manager.backtest(data)
    assert len(result.rebalance_dates) > 40
    for when, weights in result.allocation_history.iterrows():
        row = history[history.index <= when].iloc[-1]  # the snapshot known at that close
        assert history.index[history.index <= when][-1] <= when
        np.testing.assert_allclose(weights, row / row.sum(), rtol=1e-12)
    # a later snapshot cannot reach an earlier rebalance
    cut = result.rebalance_dates[20]
    perturbed = history.copy()
    perturbed.loc[perturbed.index > cut, "SOL/USDT"] *= 50.0
    other = cap_manager()
    other.set_market_caps(perturbed)
    changed = other.backtest(data)
    early = result.allocation_history.index <= cut
    np.testing.assert_array_equal(
        changed.allocation_history[early], result.allocation_history[early]
    )
    assert not np.allclose(changed.allocation_history[~early], result.allocation_history[~early])


def test_a_rebalance_before_the_first_snapshot_is_refused_naming_both_dates():
    data = load_bundled_prices(SYMBOLS, start="2020-11-01", end="2021-03-01")
    manager = cap_manager()
    manager.set_market_caps(load_bundled_market_caps_history(SYMBOLS))
    with pytest.raises(LookAheadError, match=r"2020-11-2\d.*starts at 2021-01-01"):
        manager.backtest(data)
    assert manager.result_ is None


def test_a_dated_snapshot_later_than_a_rebalance_warns_by_name():
    data = load_bundled_prices(SYMBOLS, start="2021-01-01", end="2021-06-30")
    caps = load_bundled_market_caps("2021-12-31", SYMBOLS)
    manager = cap_manager()
    manager.set_market_caps(caps, as_of="2021-12-31")
    with pytest.warns(LookAheadWarning, match="2021-12-31.*sees the future"):
        manager.backtest(data)
    manager.set_market_caps(caps, as_of="2020-12-31")  # dated before every rebalance: quiet
    with warnings.catch_warnings():
        warnings.simplefilter("error", LookAheadWarning)
        manager.backtest(data)


def test_a_series_with_a_bad_value_is_refused_naming_symbol_and_date():
    history = load_bundled_market_caps_history(SYMBOLS)
    history.iloc[5, 1] = -1.0
    with pytest.raises(Exception, match=r"ETH/USDT.*2021-01-06"):
        cap_manager().set_market_caps(history)


def test_the_cli_market_cap_backtest_rebalances_only_with_known_caps(tmp_path, capsys):
    code = main(["backtest", "--method", "market_cap_weight", "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2020-12-31 to 2021-12-31" in out  # the first rebalance is on the first snapshot
