"""Tests of PortfolioConfig: the spec's block, every field refused by name (at construction and
when assigned after the manager exists), cross-field checks, and changes honoured by the next
backtest."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cvxport import (
    AllocationMethod,
    CvxportError,
    InfeasibleError,
    InvalidInputError,
    PortfolioConfig,
    PortfolioManager,
    ThresholdRebalancer,
    VolatilityTargetRebalancer,
    WeightBounds,
)


def test_spec_configuration_block():
    config = PortfolioConfig(
        initial_capital=100000,
        symbols=["BTC/USDT", "ETH/USDT", "SOL/USDT"],
        allocation_method=AllocationMethod.RISK_PARITY,
        rebalance_frequency="monthly",
        min_position_weight=0.05,  # Min 5% per asset
        max_position_weight=0.40,  # Max 40% per asset
        transaction_cost=0.001,  # 0.1% commission
    )

    manager = PortfolioManager(config)

    assert manager.config is config
    assert config.initial_capital == 100000.0 and isinstance(config.initial_capital, float)
    assert config.allocation_method is AllocationMethod.RISK_PARITY
    assert config.weight_bounds() == WeightBounds(0.05, 0.40)
    assert config.all_constraints() == (WeightBounds(0.05, 0.40),)
    assert manager.state.cash == 100000.0 and not manager.state.has_positions
    config.validate()  # 3 x 5% <= 1 <= 3 x 40%


def test_defaults_and_parsing():
    config = PortfolioConfig()
    config.validate()
    assert config.lookback >= 2 and config.on_infeasible == "hold"
    assert config.all_constraints() == ()  # [0, 1] bounds add nothing
    config.allocation_method = "risk_parity"
    assert config.allocation_method is AllocationMethod.RISK_PARITY
    config.allocation_method = "MINIMUM_VARIANCE"
    assert config.allocation_method is AllocationMethod.MINIMUM_VARIANCE
    config.rebalance_frequency = "Weekly"
    assert config.rebalance_frequency == "weekly"
    config.symbols = ("A", "B")
    assert config.symbols == ["A", "B"]
    config.solver = "osqp"
    assert config.solver == "OSQP"


BAD_VALUES = [
    ("initial_capital", 0),
    ("initial_capital", -5.0),
    ("initial_capital", float("nan")),
    ("initial_capital", "100k"),
    ("initial_capital", True),
    ("symbols", "BTC/USDT"),
    ("symbols", []),
    ("symbols", ["A", "A"]),
    ("symbols", ["A", 1]),
    ("allocation_method", "magic"),
    ("allocation_method", 3),
    ("rebalance_frequency", "hourly"),
    ("rebalance_frequency", None),
    ("min_position_weight", -1.01),
    ("min_position_weight", 1.01),
    ("max_position_weight", 1.5),
    ("max_position_weight", -0.2),
    ("max_position_weight", float("inf")),
    ("transaction_cost", -0.001),
    ("transaction_cost", 0.9),
    ("lookback", 1),
    ("lookback", 20.5),
    ("lookback", True),
    ("risk_free_rate", float("nan")),
    ("risk_free_rate", -1.0),
    ("covariance", "crystal_ball"),
    ("expected_returns", "crystal_ball"),
    ("solver", "NO_SUCH_SOLVER"),
    ("solver", 7),
    ("periods_per_year", 0),
    ("periods_per_year", 365.0),
    ("constraints", [1]),
    ("rebalancer", "threshold"),
    ("risk_budget", [0.5, 0.5]),
    ("max_forward_fill", -1),
    ("on_infeasible", "skip"),
    ("borrow_rate", -0.01),
    ("borrow_rate", "5%"),
    ("exposure_cap", 0.0),
    ("exposure_cap", float("nan")),
    ("on_ruin", "ignore"),
    ("benchmark", 3),
    ("benchmark", ""),
    ("cash_buffer", -0.01),
    ("cash_buffer", 0.9),
    ("journal_path", 3),
    ("journal_path", ""),
    ("allocator", 3),
    ("allocator", "not_registered"),
    ("allow_short", 1),
    ("max_gross_exposure", 0.5),
    ("optimize_costs", "yes"),
    ("risk_measure", "vol"),
    ("risk_measure", 3),
    ("mean_risk_objective", "max"),
    ("target_return", "1%"),
    ("max_risk", -0.1),
    ("risk_aversion", -1.0),
    ("risk_aversion", None),
    ("cash_asset", 3),
    ("cash_asset", ""),
]


def _id(case) -> str:
    return f"{case[0]}={case[1]!r}"


@pytest.mark.parametrize(("field", "value"), BAD_VALUES, ids=[_id(c) for c in BAD_VALUES])
def test_bad_field_refused_at_construction(field, value):
    with pytest.raises(InvalidInputError, match=field):
        PortfolioConfig(**{field: value})


@pytest.mark.parametrize(("field", "value"), BAD_VALUES, ids=[_id(c) for c in BAD_VALUES])
def test_bad_field_refused_after_the_manager_exists(field, value):
    config = PortfolioConfig(symbols=["A", "B", "C"])
    manager = PortfolioManager(config)
    before = dataclasses.asdict(config)
    with pytest.raises(InvalidInputError, match=field):
        setattr(config, field, value)
    assert dataclasses.asdict(config) == before  # the old value stands
    assert manager.config is config


def test_every_field_is_validated():
    """The table of checks covers every dataclass field, and BAD_VALUES covers every field."""
    names = {f.name for f in dataclasses.fields(PortfolioConfig)}
    assert names == {field for field, _ in BAD_VALUES}


def test_unknown_field_names_are_refused():
    config = PortfolioConfig()
    with pytest.raises(InvalidInputError, match="lookbak"):
        config.lookbak = 30
    assert not hasattr(config, "lookbak")
    with pytest.raises(TypeError, match="lookbak"):
        PortfolioConfig(lookbak=30)


def test_min_above_max_is_refused_at_validate_and_backtest():
    config = PortfolioConfig(symbols=["A", "B", "C"])
    manager = PortfolioManager(config)
    config.min_position_weight = 0.5  # each assignment is valid on its own
    config.max_position_weight = 0.3
    with pytest.raises(InvalidInputError, match=r"min_position_weight.*max_position_weight"):
        config.validate()
    with pytest.raises(InvalidInputError, match=r"min_position_weight.*max_position_weight"):
        manager.backtest(prices_for(["A", "B", "C"]))
    assert manager.result_ is None and manager.target_ is None


@pytest.mark.parametrize(
    ("symbols", "low", "high", "field"),
    [
        (["A", "B", "C"], 0.4, 0.5, "min_position_weight"),  # 3 x 40% > 1
        (["A", "B", "C"], 0.0, 0.3, "max_position_weight"),  # 3 x 30% < 1
        (["A", "B"], 0.05, 0.4, "max_position_weight"),  # the spec's bounds over 2 symbols
    ],
)
def test_bounds_that_cannot_sum_to_one(symbols, low, high, field):
    config = PortfolioConfig(symbols=symbols, min_position_weight=low, max_position_weight=high)
    manager = PortfolioManager(config)
    with pytest.raises(InfeasibleError, match=field) as info:
        config.validate()
    assert isinstance(info.value, CvxportError)
    with pytest.raises(InfeasibleError, match=field):
        manager.backtest(prices_for(symbols))
    assert manager.result_ is None


def test_exact_bounds_are_feasible():
    PortfolioConfig(symbols=["A", "B", "C", "D"], min_position_weight=0.25).validate()
    PortfolioConfig(symbols=["A", "B", "C", "D"], max_position_weight=0.25).validate()
    PortfolioConfig(symbols=["A"] + [f"S{i}" for i in range(9)], max_position_weight=0.1).validate()


# --- changes after construction --------------------------------------------------------------
def prices_for(symbols, n_bars: int = 150, seed: int = 21) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    returns = rng.normal(5e-4, 0.02, size=(n_bars, len(symbols))) + rng.normal(0, 0.01, (n_bars, 1))
    index = pd.date_range("2022-01-01", periods=n_bars, freq="D", name="timestamp")
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0), index=index, columns=symbols)


CHANGES = [
    ("allocation_method", AllocationMethod.MINIMUM_VARIANCE),
    ("allocation_method", "inverse_volatility"),
    ("rebalance_frequency", "weekly"),
    ("min_position_weight", 0.1),
    ("max_position_weight", 0.3),
    ("transaction_cost", 0.01),
    ("lookback", 40),
    ("initial_capital", 5_000.0),
    ("risk_free_rate", 0.05),
    ("covariance", "ledoit_wolf"),
    ("periods_per_year", 252),
    ("rebalancer", ThresholdRebalancer(drift_threshold=0.02)),
    ("rebalancer", VolatilityTargetRebalancer(target_volatility=0.1, lookback=15)),
    ("solver", "OSQP"),
]


@pytest.mark.parametrize(("field", "value"), CHANGES, ids=[_id(c) for c in CHANGES])
def test_change_after_construction_is_honoured(field, value):
    """After ``config.<field> = value`` the same manager gives what a fresh one gives."""
    symbols = ["A", "B", "C", "D"]
    prices = prices_for(symbols)
    config = PortfolioConfig(
        symbols=symbols,
        allocation_method=AllocationMethod.MINIMUM_VARIANCE
        if field in ("covariance", "solver", "min_position_weight", "max_position_weight")
        else AllocationMethod.EQUAL_WEIGHT,
        lookback=20,
        transaction_cost=0.001,
    )
    manager = PortfolioManager(config)
    before = manager.backtest(prices)
    setattr(config, field, value)
    after = manager.backtest(prices)
    fresh = PortfolioManager(dataclasses.replace(config)).backtest(prices)

    pd.testing.assert_series_equal(after.equity_curve, fresh.equity_curve, rtol=1e-9)
    pd.testing.assert_frame_equal(after.allocation_history, fresh.allocation_history, rtol=1e-9)
    assert after.metrics == pytest.approx(fresh.metrics, rel=1e-9)
    changed = (
        not before.equity_curve.index.equals(after.equity_curve.index)
        or not np.allclose(before.equity_curve, after.equity_curve, rtol=1e-7)
        or before.metrics["sharpe_ratio"] != pytest.approx(after.metrics["sharpe_ratio"])
    )
    if field == "solver":  # same answer to the solver's accuracy
        np.testing.assert_allclose(before.allocation_history, after.allocation_history, atol=1e-6)
    else:
        assert changed, f"changing {field} changed nothing"
    if field == "rebalance_frequency":
        assert len(after.rebalance_dates) > len(before.rebalance_dates)
    if field == "lookback":
        assert after.equity_curve.index[0] == prices.index[39]
    if field == "initial_capital":
        assert after.equity_curve.iloc[0] == 5_000.0
    if field == "periods_per_year":
        assert after.periods_per_year == 252 and before.periods_per_year == 365


def test_symbols_changed_after_construction():
    prices = prices_for(["A", "B", "C", "D"])
    config = PortfolioConfig(symbols=["A", "B", "C", "D"], lookback=20)
    manager = PortfolioManager(config)
    manager.backtest(prices)
    config.symbols = ["A", "C"]
    with pytest.raises(InvalidInputError, match="'B'"):
        manager.backtest(prices)  # the data has symbols the config no longer lists
    result = manager.backtest(prices[["A", "C"]])
    assert list(result.weights_history.columns) == ["A", "C"]
    assert list(manager.get_target_allocation().index) == ["A", "C"]


def test_rebalancer_removed_goes_back_to_the_calendar():
    prices = prices_for(["A", "B"])
    config = PortfolioConfig(symbols=["A", "B"], lookback=20, rebalance_frequency="monthly")
    manager = PortfolioManager(config)
    calendar = manager.backtest(prices).rebalance_dates
    config.rebalancer = ThresholdRebalancer(drift_threshold=0.01)
    assert manager.backtest(prices).rebalance_dates != calendar
    config.rebalancer = None
    assert manager.backtest(prices).rebalance_dates == calendar


# --- fields a method would ignore ------------------------------------------------------------

IGNORED_BY_MINIMUM_VARIANCE = [
    ("target_return", 0.001),
    ("max_risk", 0.02),
    ("risk_measure", "cvar"),
    ("mean_risk_objective", "utility"),
    ("risk_aversion", 4.0),
]


@pytest.mark.parametrize("field, value", IGNORED_BY_MINIMUM_VARIANCE)
def test_a_mean_risk_field_with_another_method_is_named_not_ignored(field, value):
    config = PortfolioConfig(allocation_method="minimum_variance", **{field: value})
    with pytest.raises(InvalidInputError, match=rf"PortfolioConfig\.{field}.*minimum_variance"):
        config.validate()
    config.allocation_method = "mean_risk"  # the method that uses it
    if field != "mean_risk_objective":
        config.validate()


@pytest.mark.parametrize("method", ["equal_weight", "inverse_volatility", "hrp", "risk_parity"])
def test_optimize_costs_with_a_method_without_an_objective_is_named(method):
    config = PortfolioConfig(allocation_method=method, optimize_costs=True)
    with pytest.raises(InvalidInputError, match=rf"optimize_costs.*{method}"):
        config.validate()
    for taking in ("minimum_variance", "maximum_sharpe", "mean_risk"):
        config.allocation_method = taking
        config.validate()


def test_an_allocator_object_is_not_given_the_methods_fields():
    from cvxport import MinimumVarianceAllocator

    config = PortfolioConfig(allocator=MinimumVarianceAllocator(), optimize_costs=True)
    with pytest.raises(InvalidInputError, match=r"optimize_costs.*MinimumVarianceAllocator"):
        config.validate()
    config.optimize_costs = False
    config.validate()
