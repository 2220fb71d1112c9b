"""Walk-forward selection: the choice is the training argmax, the stitched curve is the chosen
configs' test backtests chained, and later prices cannot change earlier output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvxport import InvalidInputError, PortfolioConfig, PortfolioManager, load_bundled_prices
from cvxport.research import configure, run_sweep, walk_forward

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
BASE = PortfolioConfig(symbols=SYMBOLS, transaction_cost=0.001)
GRID = {"allocation_method": ["equal_weight", "minimum_variance", "inverse_volatility"],
        "lookback": [20, 40]}  # fmt: skip
TRAIN, TEST = 90, 45


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return load_bundled_prices(SYMBOLS, start="2022-06-01", end="2023-06-30")


@pytest.fixture(scope="module")
def result(data):
    return walk_forward(BASE, GRID, data, train=TRAIN, test=TEST, progress=False)


def test_each_choice_is_the_training_argmax_on_training_data_only(result, data):
    folds = result.folds
    assert len(folds) == len(result.sweeps) >= 6
    for (_, fold), table in zip(folds.iterrows(), result.sweeps, strict=True):
        cut = {s: f.loc[fold["train_start"] : fold["train_end"]] for s, f in data.items()}
        pd.testing.assert_frame_equal(table, run_sweep(BASE, GRID, cut, progress=False))
        assert fold["run"] == table["sharpe_ratio"].idxmax()
        assert fold["score"] == table["sharpe_ratio"].max()
        assert fold["train_end"] < fold["test_start"]


def test_the_stitched_curve_chains_the_chosen_test_backtests(result, data):
    dates = pd.DatetimeIndex(data["BTC/USDT"].index)
    equity = result.equity
    assert equity.iloc[0] == BASE.initial_capital and equity.index[0] == dates[TRAIN - 1]
    assert equity.index.is_unique and list(equity.index) == list(dates[TRAIN - 1 :])
    for _, fold in result.folds.iterrows():
        config = configure(BASE, {k: fold[k] for k in GRID})
        start = dates.get_loc(fold["test_start"])
        window = {s: f.iloc[start - config.lookback : start + TEST] for s, f in data.items()}
        direct = PortfolioManager(config).backtest(window).equity_curve
        before = equity.index[equity.index.get_loc(fold["test_start"]) - 1]
        chained = equity.loc[before : fold["test_end"]] / equity.loc[before]
        np.testing.assert_allclose(chained.to_numpy(), (direct / direct.iloc[0]).to_numpy(),
                                   rtol=1e-12)  # fmt: skip
    assert result.metrics["total_return"] == pytest.approx(
        100 * (equity.iloc[-1] / equity.iloc[0] - 1), rel=1e-12
    )


def test_later_prices_do_not_change_earlier_output(result, data):
    cut = result.folds.loc[3, "test_start"] + pd.Timedelta(days=10)
    shocked = {}
    for i, (symbol, frame) in enumerate(data.items()):
        frame = frame.copy()
        later = frame.index > cut
        frame.loc[later, ["open", "high", "low", "close"]] *= np.linspace(0.5, 1.8, later.sum())[
            :, None
        ] ** (i + 1)
        shocked[symbol] = frame
    other = walk_forward(BASE, GRID, shocked, train=TRAIN, test=TEST, progress=False)
    early = result.equity.index <= cut
    pd.testing.assert_series_equal(other.equity[early], result.equity[early], check_exact=True)
    known = result.folds["train_end"] <= cut
    pd.testing.assert_frame_equal(other.folds[known], result.folds[known])
    assert not np.allclose(other.equity[~early], result.equity[~early])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"metric": "luck"}, "luck"),
        ({"train": 30}, "lookback"),
        ({"test": 1}, "test"),
        ({"train": 10_000}, "10000"),
    ],
)
def test_bad_options_are_refused_by_name(options, match, data):
    settings = {"train": TRAIN, "test": TEST, "progress": False, **options}
    with pytest.raises(InvalidInputError, match=match):
        walk_forward(BASE, GRID, data, **settings)
