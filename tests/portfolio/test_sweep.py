"""Sweeps: serial, joblib processes and a two-worker Dask LocalCluster on loopback give the
same table, bit for bit; a failing config is a row with its error; rows match direct runs;
the data reaches each worker process once per sweep (counted where it is unpickled)."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pandas as pd
import pytest
from counted_data import CountedCaps, CountedPrices, arrivals
from dask.distributed import Client, LocalCluster

from cvxport import InvalidInputError, PortfolioConfig, PortfolioManager, load_bundled_prices
from cvxport.data import load_bundled_market_caps_history
from cvxport.research import configure, expand_grid, run_sweep

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
METHODS = ["equal_weight", "inverse_volatility", "minimum_variance", "risk_parity"]


@pytest.fixture(scope="module")
def client():
    """One two-worker cluster (processes, loopback, any free port) for the whole module."""
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,  # fmt: skip
        Client(cluster) as dask_client,
    ):
        yield dask_client


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return load_bundled_prices(SYMBOLS, start="2023-01-01", end="2023-12-31")


BASE = PortfolioConfig(symbols=SYMBOLS, transaction_cost=0.001)
GRID = [
    {"allocation_method": m, "lookback": lb, "rebalance_frequency": f}
    for m, lb, f in itertools.product(METHODS, [20, 40], ["weekly", "monthly", "quarterly"])
] + [
    {"allocation_method": "minimum_variance", "max_position_weight": 0.2},  # infeasible bounds
    {"symbols": ["BTC/USDT", "NOPE/USDT"]},  # no data
]


@pytest.fixture(scope="module")
def serial(data) -> pd.DataFrame:
    return run_sweep(BASE, GRID, data, progress=False)


def test_the_table_has_one_row_per_run_with_parameters_status_and_metrics(serial):
    assert len(serial) == 26 and list(serial.index) == list(range(26))
    for column in ("allocation_method", "lookback", "rebalance_frequency", "status", "error"):
        assert column in serial.columns
    assert {"sharpe_ratio", "total_return", "max_drawdown", "n_rebalances"} <= set(serial.columns)
    ok = serial[serial["status"] == "ok"]
    assert len(ok) == 24 and (ok["error"] == "").all() and ok["sharpe_ratio"].notna().all()
    failed = serial.loc[[24, 25]]
    assert (failed["status"] == "error").all() and failed["sharpe_ratio"].isna().all()
    assert failed.loc[24, "error"].startswith("InfeasibleError: PortfolioConfig bounds")
    assert "NOPE/USDT" in failed.loc[25, "error"]


def test_rows_equal_direct_backtests(serial, data):
    for run in (0, 7, 17):
        config = configure(BASE, GRID[run])
        result = PortfolioManager(config).backtest(data)
        row = serial.loc[run]
        for key, value in result.metrics.items():
            assert row[key] == value, (run, key)


def test_joblib_and_dask_give_the_serial_table_bit_for_bit(serial, data, client):
    tables = {
        "joblib-1": run_sweep(BASE, GRID, data, backend="joblib", n_jobs=1, progress=False),
        "joblib-2": run_sweep(BASE, GRID, data, backend="joblib", n_jobs=2, progress=False),
        "dask-client": run_sweep(BASE, GRID, data, backend="dask", client=client, progress=False),
        "dask-address": run_sweep(
            BASE, GRID, data, backend="dask", client=client.scheduler.address, progress=False
        ),
    }
    for name, table in tables.items():
        pd.testing.assert_frame_equal(table, serial, check_exact=True, obj=name)


def test_a_grid_mapping_is_its_cartesian_product_in_order():
    runs = expand_grid({"lookback": [20, 40], "allocation_method": ["hrp", "equal_weight"]})
    assert runs == [
        {"lookback": 20, "allocation_method": "hrp"},
        {"lookback": 20, "allocation_method": "equal_weight"},
        {"lookback": 40, "allocation_method": "hrp"},
        {"lookback": 40, "allocation_method": "equal_weight"},
    ]
    other = PortfolioConfig(symbols=SYMBOLS, lookback=30)
    assert expand_grid([other], BASE) == [{"lookback": 30}]


@pytest.mark.parametrize(
    ("grid", "match"),
    [
        ({"lookbak": [20]}, "lookbak"),
        ({"lookback": []}, "lookback"),
        ({"allocation_method": "hrp"}, "allocation_method"),
        ([], "no runs"),
        ([3], "entry 0"),
    ],
)
def test_bad_grids_are_refused_by_name(grid, match, data):
    with pytest.raises(InvalidInputError, match=match):
        run_sweep(BASE, grid, data, progress=False)


def test_bad_backends_are_refused_by_name(data):
    with pytest.raises(InvalidInputError, match="backend"):
        run_sweep(BASE, GRID[:1], data, backend="spark")
    with pytest.raises(InvalidInputError, match="client"):
        run_sweep(BASE, GRID[:1], data, backend="dask")
    with pytest.raises(InvalidInputError, match="n_jobs"):
        run_sweep(BASE, GRID[:1], data, backend="joblib", n_jobs=0)


def test_progress_bar_counts_runs(data, capsys):
    run_sweep(BASE, GRID[:2], data, progress=True)
    assert "sweep: 100%" in capsys.readouterr().err
    assert np.isfinite(run_sweep(BASE, GRID[:1], data, progress=False)["sharpe_ratio"]).all()


# --- the data reaches each worker process once per sweep, not once per run or per task ---

SHIPPING_GRID = [
    {"allocation_method": m, "lookback": lb}
    for m in ("equal_weight", "inverse_volatility", "market_cap_weight")
    for lb in (20, 30, 40, 50)
]  # 12 runs: 7 tasks on 2 workers, so data sent per task (or per run) would show


@pytest.fixture(scope="module")
def caps() -> pd.DataFrame:
    return load_bundled_market_caps_history()


def _counted_sweep(data, caps, log, **backend) -> pd.DataFrame:
    table = run_sweep(
        BASE, SHIPPING_GRID, CountedPrices(data, log), market_caps=CountedCaps(caps, log),
        progress=False, **backend,
    )  # fmt: skip
    assert (table["status"] == "ok").all(), table["error"].unique()
    return table


def test_dask_sends_the_data_to_each_worker_once(data, caps, client, tmp_path):
    log = tmp_path / "arrivals.log"
    table = _counted_sweep(data, caps, log, backend="dask", client=client)
    workers = set(client.run(os.getpid).values())
    assert len(workers) == 2 and os.getpid() not in workers
    for kind in ("prices", "caps"):
        assert arrivals(log, kind) == dict.fromkeys(workers, 1), kind
    # a second sweep ships its own data once more, and computes the same table
    log2 = tmp_path / "second.log"
    pd.testing.assert_frame_equal(
        _counted_sweep(data, caps, log2, backend="dask", client=client), table, check_exact=True
    )
    assert arrivals(log2, "prices") == dict.fromkeys(workers, 1)


def test_joblib_sends_the_data_to_each_process_once(data, caps, tmp_path):
    log = tmp_path / "arrivals.log"
    table = _counted_sweep(data, caps, log, backend="joblib", n_jobs=2)
    for kind in ("prices", "caps"):
        counts = arrivals(log, kind)
        assert 1 <= len(counts) <= 2 and os.getpid() not in counts, (kind, counts)
        assert set(counts.values()) == {1}, (kind, counts)
    serial = run_sweep(BASE, SHIPPING_GRID, data, market_caps=caps, progress=False)
    pd.testing.assert_frame_equal(table, serial, check_exact=True)
