"""Tests of PortfolioManager.backtest and the engine: the spec's snippets, accounting
identities, no look-ahead, data errors, the infeasible policy and one problem build per run."""

from __future__ import annotations

import copy
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL, SPEC_SYMBOLS, spec_config

import cvxport.allocators.base as allocators_base
from cvxport import (
    AllocationMethod,
    InfeasibleError,
    InvalidInputError,
    PortfolioConfig,
    PortfolioManager,
    Rebalancer,
    ThresholdRebalancer,
    load_bundled_prices,
)
from cvxport.problem import ParametrizedProblem

CAPITAL = 100_000.0
# Money identities are exact up to float rounding: 1e-9 of the capital (quote currency).
MONEY_ATOL = 1e-9 * CAPITAL


# --- data -----------------------------------------------------------------------------------
def synthetic_prices(
    seed: int,
    n_assets: int = 4,
    n_bars: int = 160,
    drift: float | np.ndarray = 3e-4,
    start: str = "2022-01-01",
    freq: str = "D",
) -> pd.DataFrame:
    """(n_bars, n_assets) seeded positive closes, columns A0.., a 24/7 daily index."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0, 0.015, size=(n_bars, 1))
    returns = drift + 0.8 * market + rng.normal(0.0, 0.02, size=(n_bars, n_assets))
    returns[0] = 0.0
    index = pd.date_range(start, periods=n_bars, freq=freq, name="timestamp")
    columns = [f"A{i}" for i in range(n_assets)]
    return pd.DataFrame(100.0 * np.cumprod(1.0 + returns, axis=0), index=index, columns=columns)


def as_frames(prices: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The spec's dict of per-symbol frames with a close column."""
    return {s: prices[[s]].rename(columns={s: "close"}) for s in prices.columns}


def make_manager(prices: pd.DataFrame, **fields) -> PortfolioManager:
    settings = {
        "initial_capital": CAPITAL,
        "symbols": list(prices.columns),
        "allocation_method": AllocationMethod.EQUAL_WEIGHT,
        "rebalance_frequency": "monthly",
        "transaction_cost": 0.0,
        "lookback": 10,
    }
    settings.update(fields)
    return PortfolioManager(PortfolioConfig(**settings))


def held_units(result) -> pd.DataFrame:
    """Units held after each bar's trades, reconstructed from weights x equity / prices."""
    return result.weights_history.mul(result.equity_curve, axis=0) / result.prices


@pytest.fixture(scope="module")
def portfolio_data() -> dict[str, pd.DataFrame]:
    return load_bundled_prices(SPEC_SYMBOLS)


def project_to_bounds(target: np.ndarray, low: float, high: float) -> np.ndarray:
    """Euclidean projection onto {sum(w) = 1, low <= w <= high} by bisection on the shift."""
    lo, hi = float(np.min(target)) - high - 1.0, float(np.max(target)) - low + 1.0
    for _ in range(200):
        tau = 0.5 * (lo + hi)
        if np.clip(target - tau, low, high).sum() > 1.0:
            lo = tau
        else:
            hi = tau
    return np.clip(target - 0.5 * (lo + hi), low, high)


# --- the spec's snippets ----------------------------------------------------------------------
def test_spec_backtest_printing_block(portfolio_data, capsys):
    manager = PortfolioManager(spec_config())
    result = manager.backtest(portfolio_data)

    print(f"Total Return: {result.metrics['total_return']:.2f}%")
    print(f"Annualized Return: {result.metrics['annualized_return']:.2f}%")
    print(f"Volatility: {result.metrics['volatility']:.2f}%")
    print(f"Sharpe Ratio: {result.metrics['sharpe_ratio']:.2f}")
    print(f"Max Drawdown: {result.metrics['max_drawdown']:.2f}%")
    print(f"Calmar Ratio: {result.metrics['calmar_ratio']:.2f}")
    ax = result.equity_curve.plot(title="Portfolio Equity")
    print(result.allocation_history.tail())
    print(f"Rebalances: {len(result.rebalance_dates)}")

    out = capsys.readouterr().out
    assert ax.get_title() == "Portfolio Equity"
    plt.close("all")
    assert f"Rebalances: {len(result.rebalance_dates)}" in out
    assert "BTC/USDT" in out  # the allocation table
    # Percent keys are fractions x 100 of the curve itself; ratios are plain.
    equity = result.equity_curve
    assert result.metrics["total_return"] == pytest.approx(
        100 * (equity.iloc[-1] / equity.iloc[0] - 1), rel=1e-12
    )
    drawdown = (equity / equity.cummax() - 1).min()
    assert result.metrics["max_drawdown"] == pytest.approx(100 * drawdown, rel=1e-12)
    assert result.metrics["calmar_ratio"] == pytest.approx(
        result.metrics["annualized_return"] / abs(result.metrics["max_drawdown"]), rel=1e-9
    )
    # Monthly: the first allocation plus the first bar of every later month.
    dates = pd.DatetimeIndex(result.rebalance_dates)
    assert (dates[1:].day == 1).all()
    assert dates[0] == equity.index[1]
    history = result.allocation_history
    assert np.allclose(history.sum(axis=1), 1.0, atol=1e-8)
    assert history.to_numpy().min() >= 0.05 - 1e-7
    assert history.to_numpy().max() <= 0.40 + 1e-7
    assert result.start_symbol in SPEC_SYMBOLS
    assert result.periods_per_year == 365
    trades = result.trades_frame
    assert set(trades["action"]) <= {"BUY", "SELL"}
    assert trades["cost"].sum() == pytest.approx(result.metrics["total_costs"], rel=1e-12)


def test_spec_allocation_methods_on_one_manager(portfolio_data):
    """Every ``config.allocation_method = ...`` of the spec, on the same manager."""
    config = spec_config()
    manager = PortfolioManager(config)
    caps = {"BTC/USDT": 800_000_000_000, "ETH/USDT": 300_000_000_000, "SOL/USDT": 50_000_000_000}
    results = {}
    for method in AllocationMethod:
        config.allocation_method = method
        if method is AllocationMethod.MARKET_CAP_WEIGHT:
            manager.set_market_caps(caps)
        if method is AllocationMethod.RISK_BUDGETING:
            config.risk_budget = {"BTC/USDT": 0.5, "ETH/USDT": 0.3, "SOL/USDT": 0.2}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = manager.backtest(portfolio_data)
        held = [w for w in caught if "held" in str(w.message)]
        assert bool(held) == bool(result.skipped_rebalances), method
        results[method] = result
        history = result.allocation_history
        assert len(history) == len(result.rebalance_dates) > 10, method
        assert np.allclose(history.sum(axis=1), 1.0, atol=1e-6), method
        assert history.to_numpy().min() >= 0.05 - 1e-6, method
        assert history.to_numpy().max() <= 0.40 + 1e-6, method
        assert manager.get_target_allocation().equals(history.iloc[-1].rename("target"))

    # Equal weight: 33.3% each (inside the 5%-40% bounds).
    assert np.allclose(results[AllocationMethod.EQUAL_WEIGHT].allocation_history, 1 / 3)
    # Market cap: the caps' shares projected onto the bounds, computed by hand.
    shares = np.array(list(caps.values()), dtype=float) / sum(caps.values())
    expected = project_to_bounds(shares, 0.05, 0.40)
    market_cap = results[AllocationMethod.MARKET_CAP_WEIGHT].allocation_history
    np.testing.assert_allclose(market_cap, np.tile(expected, (len(market_cap), 1)), atol=1e-6)
    np.testing.assert_allclose(expected, [0.4, 0.4, 0.2], atol=1e-12)
    # Different methods give different portfolios on this data.
    last = {m: r.allocation_history.iloc[-1].to_numpy() for m, r in results.items()}
    inverse_vol = last[AllocationMethod.INVERSE_VOLATILITY]
    assert not np.allclose(last[AllocationMethod.MINIMUM_VARIANCE], inverse_vol, atol=1e-3)


def test_market_cap_method_without_caps_is_refused(portfolio_data):
    config = spec_config()
    config.allocation_method = AllocationMethod.MARKET_CAP_WEIGHT
    manager = PortfolioManager(config)
    with pytest.raises(InvalidInputError, match="market_caps"):
        manager.backtest(portfolio_data)
    assert manager.result_ is None


# --- identities -------------------------------------------------------------------------------
def test_daily_equal_weight_without_costs_earns_the_mean_asset_return():
    prices = synthetic_prices(seed=1, n_assets=5, n_bars=120)
    manager = make_manager(prices, rebalance_frequency="daily", lookback=5)
    result = manager.backtest(prices)

    asset_returns = prices.pct_change().loc[result.equity_curve.index]
    expected = asset_returns.mean(axis=1).iloc[2:]  # row 0 all cash, row 1 first allocation
    np.testing.assert_allclose(result.returns.iloc[1:], expected, rtol=0, atol=1e-12)
    assert result.returns.iloc[0] == pytest.approx(0.0, abs=1e-15)  # zero cost: no loss
    assert len(result.rebalance_dates) == len(result.equity_curve) - 1
    assert result.metrics["total_costs"] == 0.0


class InitialOnlyRebalancer(Rebalancer):
    """Allocate once (the first bar, when there is no target yet), then never again."""

    def should_rebalance(self, ctx) -> bool:
        return ctx.target_weights is None


def test_an_exposure_given_on_the_policy_object_is_used():
    """The engine skips the exposure context only for the base policy's exposure (1.0)."""
    prices = synthetic_prices(seed=2, n_assets=3, n_bars=60)
    policy = InitialOnlyRebalancer()
    policy.exposure = lambda weights, ctx: 0.5  # half in cash, set on the instance
    result = make_manager(prices, rebalancer=policy).backtest(prices)
    np.testing.assert_allclose(result.allocation_history.sum(axis=1), 0.5, atol=1e-12)


@pytest.mark.parametrize("cost", [0.0, 0.002])
def test_never_rebalancing_is_buy_and_hold(cost):
    prices = synthetic_prices(seed=2, n_assets=4, n_bars=150)
    manager = make_manager(
        prices,
        allocation_method=AllocationMethod.MINIMUM_VARIANCE,
        rebalancer=InitialOnlyRebalancer(),
        transaction_cost=cost,
        lookback=20,
    )
    result = manager.backtest(prices)

    assert len(result.rebalance_dates) == 1
    start = result.rebalance_dates[0]
    assert start == result.equity_curve.index[1]
    assert {t["timestamp"] for t in result.trades} == {start}
    target = result.allocation_history.iloc[0].to_numpy()
    # From cash, E' = C - cost * E' gives E' = C / (1 + cost); units = w E' / p_start.
    units = target * (CAPITAL / (1 + cost)) / prices.loc[start].to_numpy()
    path = prices.loc[start:]
    np.testing.assert_allclose(result.equity_curve.loc[start:], path @ units, rtol=1e-12)
    np.testing.assert_allclose(held_units(result).loc[start:], np.tile(units, (len(path), 1)))
    # Weights drift with prices: w_t = units p_t / equity_t.
    drifted = (path * units).div(path @ units, axis=0)
    np.testing.assert_allclose(result.weights_history.loc[start:], drifted, atol=1e-12)
    assert result.costs.loc[start] == pytest.approx(CAPITAL * cost / (1 + cost), rel=1e-12)
    assert (result.costs.drop(start) == 0).all()


@pytest.mark.parametrize(
    "fields",
    [
        {"allocation_method": AllocationMethod.MINIMUM_VARIANCE, "rebalance_frequency": "weekly"},
        {"allocation_method": AllocationMethod.INVERSE_VOLATILITY, "rebalancer": "threshold"},
    ],
    ids=["min-variance-weekly", "inverse-vol-threshold"],
)
def test_accounting_identity_on_every_bar(fields):
    """equity_t - equity_{t-1} = units_{t-1} . (p_t - p_{t-1}) - cost_t, cost = rate x notional."""
    rate = 0.0025
    fields = dict(fields)
    if fields.get("rebalancer") == "threshold":
        fields["rebalancer"] = ThresholdRebalancer(drift_threshold=0.02)
    prices = synthetic_prices(seed=3, n_assets=6, n_bars=200)
    result = make_manager(prices, transaction_cost=rate, lookback=15, **fields).backtest(prices)

    equity, p = result.equity_curve, result.prices
    units = held_units(result)
    assert np.allclose(units.iloc[0], 0.0)  # the start is all cash
    assert equity.iloc[0] == CAPITAL
    market_move = (units.shift(1) * p.diff()).sum(axis=1).iloc[1:]
    np.testing.assert_allclose(
        equity.diff().iloc[1:], market_move - result.costs.iloc[1:], rtol=0, atol=MONEY_ATOL
    )
    # Cost = rate x traded notional, from the trade list; trades only on rebalance dates.
    trades = result.trades_frame
    notional = trades.groupby("timestamp")["value"].sum().reindex(equity.index, fill_value=0.0)
    np.testing.assert_allclose(result.costs, rate * notional, rtol=1e-12, atol=0)
    np.testing.assert_allclose(trades["cost"], rate * trades["value"], rtol=1e-15)
    assert set(trades["timestamp"]) <= set(result.rebalance_dates)
    assert len(result.rebalance_dates) > 3
    # Every trade is the change of units at its bar's close, at that close.
    change = units.diff().fillna(units)
    for trade in result.trades:
        when, symbol = trade["timestamp"], trade["symbol"]
        signed = trade["quantity"] * (1 if trade["action"] == "BUY" else -1)
        assert signed == pytest.approx(change.at[when, symbol], rel=1e-9)
        assert trade["price"] == p.at[when, symbol]
        assert trade["value"] == pytest.approx(trade["quantity"] * trade["price"], rel=1e-12)
    # Units stay put between rebalances.
    quiet = ~equity.index.isin(result.rebalance_dates)
    assert np.allclose(change[quiet].iloc[1:], 0.0, atol=1e-9)
    # The first allocation from cash pays its cost: C / (1 + rate) is left invested.
    first = result.rebalance_dates[0]
    assert result.costs.loc[first] == pytest.approx(CAPITAL * rate / (1 + rate), rel=1e-12)
    assert equity.loc[first] == pytest.approx(CAPITAL / (1 + rate), rel=1e-12)
    # Turnover is half the traded notional over pre-trade equity.
    before = equity.shift(1) + market_move.reindex(equity.index)
    expected = notional[result.rebalance_dates] / (2 * before[result.rebalance_dates])
    np.testing.assert_allclose(result.turnover, expected, rtol=1e-9)


# --- no look-ahead ------------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["monthly", "threshold"])
def test_no_look_ahead(policy):
    prices = synthetic_prices(seed=4, n_assets=5, n_bars=170)
    fields = {"allocation_method": AllocationMethod.MINIMUM_VARIANCE, "transaction_cost": 0.001}
    if policy == "threshold":
        fields["rebalancer"] = ThresholdRebalancer(drift_threshold=0.03)
    base = make_manager(prices, lookback=20, **fields).backtest(prices)
    assert len(base.rebalance_dates) >= 4
    # Cut at a rebalance bar in the middle, so trades at t itself are covered.
    t = base.rebalance_dates[len(base.rebalance_dates) // 2]
    after = prices.index > t
    rng = np.random.default_rng(99)
    perturbed = prices.copy()
    perturbed.loc[after] *= rng.uniform(0.6, 1.6, size=(int(after.sum()), prices.shape[1]))
    other = make_manager(prices, lookback=20, **fields).backtest(perturbed)

    for name in ("weights_history", "equity_curve", "costs"):
        left, right = getattr(base, name).loc[:t], getattr(other, name).loc[:t]
        pd.testing.assert_frame_equal(
            pd.DataFrame(left), pd.DataFrame(right), check_exact=False, rtol=0, atol=1e-12
        )
    pd.testing.assert_frame_equal(
        base.allocation_history.loc[:t], other.allocation_history.loc[:t], rtol=0, atol=1e-12
    )
    trades = base.trades_frame[base.trades_frame["timestamp"] <= t]
    trades_other = other.trades_frame[other.trades_frame["timestamp"] <= t]
    pd.testing.assert_frame_equal(trades, trades_other, check_exact=False, rtol=1e-12)
    # The perturbation does change what comes after t.
    later = base.equity_curve.index > t
    assert not np.allclose(base.equity_curve[later], other.equity_curve[later])


# --- data errors --------------------------------------------------------------------------------
def manager_snapshot(manager: PortfolioManager) -> dict:
    return {
        "state": copy.deepcopy(manager.state),
        "target": manager.target_,
        "returns": manager.returns_,
        "result": manager.result_,
        "ppy": manager.periods_per_year_,
        "log": list(manager.trade_log),
        "caps": manager.market_caps,
        "config": copy.deepcopy(vars(manager.config)),
    }


def _missing(frames):
    del frames["A2"]
    return frames


def _extra(frames):
    frames["ZZZ"] = frames["A0"].copy()
    return frames


def _short(frames):
    return {s: f.iloc[:10] for s, f in frames.items()}


def _set(symbol: str, row: int, value: float):
    def edit(frames):
        frames[symbol].iloc[row, 0] = value
        return frames

    return edit


def _duplicate(frames):
    frames["A2"] = pd.concat([frames["A2"], frames["A2"].iloc[[5]]])
    return frames


DATE_21 = "2022-01-21"
DATA_ERRORS = {
    "symbol without data": (_missing, ["'A2'"]),
    "data without symbol": (_extra, ["'ZZZ'"]),
    "fewer bars than lookback": (_short, ["'A0'", "2022-01-10"]),
    "NaN price": (_set("A1", 20, np.nan), ["'A1'", DATE_21]),
    "infinite price": (_set("A1", 20, np.inf), ["'A1'", DATE_21]),
    "negative price": (_set("A3", 20, -5.0), ["'A3'", DATE_21]),
    "zero price": (_set("A0", 20, 0.0), ["'A0'", DATE_21]),
    "duplicate timestamp": (_duplicate, ["'A2'", "2022-01-06"]),
}


@pytest.mark.parametrize("case", list(DATA_ERRORS))
def test_data_errors_name_symbol_and_date_and_change_nothing(case):
    prices = synthetic_prices(seed=5, n_assets=4, n_bars=40)
    manager = make_manager(prices, lookback=12)
    good = manager.backtest(as_frames(prices))  # a previous run the failure must not disturb
    before = manager_snapshot(manager)
    edit, names = DATA_ERRORS[case]
    with pytest.raises(InvalidInputError) as info:
        manager.backtest(edit(as_frames(prices)))
    for name in names:
        assert name in str(info.value), (case, str(info.value))
    after = manager_snapshot(manager)
    assert after["state"] == before["state"]
    assert after["result"] is good
    assert after["target"] is before["target"] and after["returns"] is before["returns"]
    assert after["log"] == before["log"] and after["config"] == before["config"]
    assert after["ppy"] == before["ppy"] and after["caps"] == before["caps"]


def test_fewer_bars_than_lookback_in_a_wide_frame():
    prices = synthetic_prices(seed=5, n_assets=3, n_bars=30)
    manager = make_manager(prices, lookback=30)  # needs lookback + 1 bars
    with pytest.raises(InvalidInputError, match=r"only 30 common bar.*'A0'.*2022-01-30.*31"):
        manager.backtest(prices)
    assert manager.result_ is None and manager.target_ is None
    assert manager.state.cash == CAPITAL and not manager.state.has_positions


# --- infeasible rebalances ------------------------------------------------------------------------
def falling_prices(n_bars: int = 120) -> pd.DataFrame:
    """Three assets whose every lookback window has a negative mean return."""
    prices = synthetic_prices(seed=6, n_assets=3, n_bars=n_bars, drift=0.0)
    trend = np.exp(-0.03 * np.arange(n_bars))[:, None]  # -3% a bar, far beyond the noise
    return prices * trend


def bounded_max_sharpe(**fields) -> dict:
    return {
        "allocation_method": AllocationMethod.MAXIMUM_SHARPE,
        "min_position_weight": 0.1,
        "max_position_weight": 0.6,
        "transaction_cost": 0.001,
        "lookback": 20,
        **fields,
    }


def test_infeasible_hold_records_skipped_rebalances_and_warns():
    prices = falling_prices()
    window_means = prices.pct_change().rolling(20).mean()
    manager = make_manager(prices, **bounded_max_sharpe(on_infeasible="hold"))
    with pytest.warns(UserWarning, match="held"):
        result = manager.backtest(prices)

    calendar = [result.equity_curve.index[1]] + [
        d for d in result.equity_curve.index[2:] if d.day == 1
    ]
    assert (window_means.loc[calendar] < 0).all(axis=None)  # nothing beats rf = 0
    assert [when for when, _ in result.skipped_rebalances] == calendar
    assert all("risk-free" in why for _, why in result.skipped_rebalances)
    assert result.rebalance_dates == [] and result.trades == []
    assert (result.equity_curve == CAPITAL).all()  # held: still all cash
    assert result.metrics["n_skipped_rebalances"] == len(calendar)


def test_infeasible_hold_keeps_the_holdings():
    """Rising then falling prices: later rebalances are held, units do not change there."""
    trend = np.exp(np.r_[0.03 * np.arange(100), 3.0 - 0.03 * np.arange(1, 101)])
    prices = synthetic_prices(seed=7, n_assets=3, n_bars=200, drift=0.0) * trend[:, None]
    manager = make_manager(prices, **bounded_max_sharpe(on_infeasible="hold"))
    with pytest.warns(UserWarning, match="held"):
        result = manager.backtest(prices)

    skipped = [when for when, _ in result.skipped_rebalances]
    assert result.rebalance_dates and skipped
    assert max(result.rebalance_dates) < min(skipped)
    # Best return over {sum w = 1, 0.1 <= w <= 0.6}: 0.1 to each, the rest to the best asset.
    returns = prices.pct_change()
    for when in result.rebalance_dates + skipped:
        mu = returns.loc[:when].iloc[-20:].mean().to_numpy()
        best = 0.1 * mu.sum() + 0.5 * mu.max()
        assert (best <= 0) == (when in skipped), when
    units = held_units(result)
    first_skip = skipped[0]
    frozen = units.loc[first_skip:]
    np.testing.assert_allclose(frozen, np.tile(frozen.iloc[0], (len(frozen), 1)), rtol=1e-12)
    assert all(t["timestamp"] < first_skip for t in result.trades)


def test_infeasible_raise_names_the_date():
    prices = falling_prices()
    manager = make_manager(prices, **bounded_max_sharpe(on_infeasible="raise"))
    with pytest.raises(InfeasibleError) as info:
        manager.backtest(prices)
    first = prices.index[20]  # lookback 20: bar 19 is the start, bar 20 the first allocation
    assert str(first.date()) in str(info.value)
    assert "risk-free" in str(info.value)
    assert manager.result_ is None and manager.target_ is None


# --- one problem build per backtest ---------------------------------------------------------------
@pytest.mark.parametrize(
    "method",
    [
        AllocationMethod.MINIMUM_VARIANCE,
        AllocationMethod.MAXIMUM_SHARPE,
        AllocationMethod.RISK_PARITY,
        AllocationMethod.EQUAL_WEIGHT,
    ],
)
def test_backtest_builds_the_problem_once(method, monkeypatch):
    prices = synthetic_prices(seed=8, n_assets=4, n_bars=200, drift=5e-3)
    manager = make_manager(
        prices,
        allocation_method=method,
        min_position_weight=0.1,
        max_position_weight=0.5,
        transaction_cost=0.001,
        lookback=20,
        solver="CLARABEL",  # named: the cvxpy problem, also where an exact fast path exists
    )
    allocators = []
    original = PortfolioManager.make_allocator

    def keep(self):
        allocators.append(original(self))
        return allocators[-1]

    built = []

    class CountingProblem(ParametrizedProblem):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(PortfolioManager, "make_allocator", keep)
    monkeypatch.setattr(allocators_base, "ParametrizedProblem", CountingProblem)
    result = manager.backtest(prices)

    assert not result.skipped_rebalances
    assert len(result.rebalance_dates) >= 6
    assert len(allocators) == 1
    assert allocators[0].build_count_ == 1
    assert len(built) == 1
    assert allocators[0].info_ is not None and allocators[0].info_.build_count == 1


def test_minimum_variance_backtest_takes_the_active_set_path_and_matches_cvxpy():
    """Default solver: every rebalance solved by active sets, no cvxpy problem built; the
    weights equal the cvxpy (Clarabel) backtest's within Clarabel's tolerance."""
    prices = synthetic_prices(seed=8, n_assets=6, n_bars=400, drift=5e-3)
    fields = dict(
        allocation_method=AllocationMethod.MINIMUM_VARIANCE,
        min_position_weight=0.05,
        max_position_weight=0.4,
        transaction_cost=0.001,
        lookback=60,
    )
    fast = make_manager(prices, **fields)
    allocators = []
    original = fast.make_allocator
    fast.make_allocator = lambda: allocators.append(original()) or allocators[-1]
    result = fast.backtest(prices)
    (allocator,) = allocators
    assert allocator.info_.solver == "ACTIVE_SET" and allocator.build_count_ == 1
    reference = make_manager(prices, solver="CLARABEL", **fields).backtest(prices)
    assert result.rebalance_dates == reference.rebalance_dates
    np.testing.assert_allclose(
        result.allocation_history.to_numpy(),
        reference.allocation_history.to_numpy(),
        atol=SOLVER_ATOL["CLARABEL"],
        rtol=0,
    )
