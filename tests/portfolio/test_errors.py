"""Every error a user meets when allocating: raised before anything changes, naming the culprit."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import cvxport as cx
from cvxport.allocators import ALLOCATORS
from cvxport.solvers import SOLVER_OPTIONS

SPEC_BUDGET = {"BTC/USDT": 0.5, "ETH/USDT": 0.3, "SOL/USDT": 0.2}
SPEC = list(SPEC_BUDGET)


def data_for(method: cx.AllocationMethod, columns) -> dict:
    if method is cx.AllocationMethod.MARKET_CAP_WEIGHT:
        return {"market_caps": dict.fromkeys(columns, 1.0)}
    if method is cx.AllocationMethod.RISK_BUDGETING:
        return {"risk_budget": dict.fromkeys(columns, 1 / len(columns))}
    return {}


def test_the_error_tree():
    assert issubclass(cx.InvalidInputError, cx.CvxportError)
    assert issubclass(cx.InvalidInputError, ValueError)
    assert issubclass(cx.InfeasibleError, cx.CvxportError)
    assert issubclass(cx.SolverError, cx.CvxportError)


# --------------------------------------------------------------------------- returns


@pytest.mark.parametrize("method", list(cx.AllocationMethod))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_returns_name_the_symbol_and_first_timestamp(method, bad, crypto_2021):
    returns = crypto_2021[SPEC].copy()
    returns.iloc[40, 2] = bad  # SOL on 2021-02-10: the first by time
    returns.iloc[40, 1] = 1.0
    returns.iloc[90, 0] = np.nan  # BTC later
    allocator = ALLOCATORS[method]()
    with pytest.raises(cx.InvalidInputError, match=r"'SOL/USDT'.*2021-02-10") as info:
        allocator.allocate(returns, **data_for(method, SPEC))
    assert "BTC" not in str(info.value)
    assert allocator.info_ is None and allocator.build_count_ == 0
    assert not hasattr(allocator, "weights_")


def test_of_two_bad_values_on_one_date_the_first_column_is_named(crypto_2021):
    returns = crypto_2021[SPEC].copy()
    returns.iloc[7, [1, 2]] = np.nan
    with pytest.raises(cx.InvalidInputError, match=r"'ETH/USDT'.*2021-01-08"):
        cx.MinimumVarianceAllocator().allocate(returns)


@pytest.mark.parametrize("rows", [0, 1])
@pytest.mark.parametrize("method", list(cx.AllocationMethod))
def test_fewer_than_two_rows(method, rows, crypto_2021):
    with pytest.raises(cx.InvalidInputError, match=f"{rows} rows; at least 2"):
        ALLOCATORS[method]().allocate(crypto_2021[SPEC].iloc[:rows], **data_for(method, SPEC))


def test_duplicate_symbols_are_named(crypto_2021):
    returns = crypto_2021[["BTC/USDT", "ETH/USDT", "BTC/USDT"]]
    with pytest.raises(cx.InvalidInputError, match=re.escape("duplicate symbols: ['BTC/USDT']")):
        cx.EqualWeightAllocator().allocate(returns)


def test_returns_must_be_a_frame_of_numbers(crypto_2021):
    with pytest.raises(cx.InvalidInputError, match="DataFrame"):
        cx.MinimumVarianceAllocator().allocate(crypto_2021.to_numpy())
    words = crypto_2021[SPEC].astype(object)
    words.iloc[3, 1] = "n/a"
    with pytest.raises(cx.InvalidInputError, match="non-numeric"):
        cx.MinimumVarianceAllocator().allocate(words)


def test_data_a_method_does_not_take_is_named(crypto_2021):
    with pytest.raises(cx.InvalidInputError, match=r"MinimumVarianceAllocator.*'risk_budget'"):
        cx.MinimumVarianceAllocator().allocate(crypto_2021[SPEC], risk_budget=SPEC_BUDGET)


# --------------------------------------------------------------------------- budgets and caps


@pytest.mark.parametrize(
    ("budget", "pattern"),
    [
        ({**SPEC_BUDGET, "DOGE/USDT": 0.0}, r"not in the universe: \['DOGE/USDT'\]"),
        ({"BTC/USDT": 0.5, "ETH/USDT": 0.5}, r"missing for \['SOL/USDT'\]"),
        (
            {"BTC/USDT": 0.9, "ETH/USDT": 0.3, "SOL/USDT": -0.2},
            r"'SOL/USDT' must be > 0 and finite, got -0\.2\b",
        ),
        ({"BTC/USDT": 0.7, "ETH/USDT": 0.3, "SOL/USDT": 0.0}, r"'SOL/USDT' must be > 0"),
        ({"BTC/USDT": 0.5, "ETH/USDT": 0.3, "SOL/USDT": 0.3}, "sum to 1, they sum to 1.1"),
        (None, "needs risk_budget="),
    ],
    ids=["unknown", "missing", "negative", "zero", "sum", "none"],
)
def test_bad_risk_budgets_are_named(budget, pattern, crypto_2021):
    allocator = cx.RiskBudgetAllocator()
    with pytest.raises(cx.InvalidInputError, match=pattern):
        allocator.allocate(crypto_2021[SPEC], risk_budget=budget)
    assert allocator.info_ is None


@pytest.mark.parametrize(
    ("caps", "pattern"),
    [
        ({"BTC/USDT": 9.0, "ETH/USDT": 4.0, "SOL/USDT": 1.0, "DOGE/USDT": 1.0}, r"\['DOGE/USDT'\]"),
        ({"BTC/USDT": 9.0, "ETH/USDT": 4.0}, r"market cap missing for \['SOL/USDT'\]"),
        ({"BTC/USDT": 9.0, "ETH/USDT": -4.0, "SOL/USDT": 1.0}, r"'ETH/USDT' must be .*got -4\.0\b"),
        (None, "needs market_caps="),
    ],
    ids=["unknown", "missing", "negative", "none"],
)
def test_bad_market_caps_are_named(caps, pattern, crypto_2021):
    with pytest.raises(cx.InvalidInputError, match=pattern):
        cx.MarketCapAllocator().allocate(crypto_2021[SPEC], market_caps=caps)


# --------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    ("bounds", "pattern"),
    [
        (cx.WeightBounds(0.5, 0.4), r"lower bound 0\.5 > upper bound 0\.4 for 'BTC/USDT'"),
        (
            cx.WeightBounds({"ETH/USDT": 0.3}, {"ETH/USDT": 0.2}),
            r"lower bound 0\.3 > upper bound 0\.2 for 'ETH/USDT'",
        ),
    ],
)
def test_lower_above_upper_is_named(bounds, pattern, crypto_2021):
    with pytest.raises(cx.InvalidInputError, match=pattern):
        cx.MinimumVarianceAllocator().allocate(crypto_2021[SPEC], constraints=[bounds])


@pytest.mark.parametrize("method", list(cx.AllocationMethod))
def test_bounds_that_cannot_sum_to_one_over_two_assets(method, crypto_2021):
    bounds = cx.WeightBounds(0.05, 0.4)
    pair = ["BTC/USDT", "ETH/USDT"]
    allocator = ALLOCATORS[method]()
    with pytest.raises(cx.InfeasibleError, match=re.escape(repr(bounds))) as info:
        allocator.allocate(crypto_2021[pair], constraints=[bounds], **data_for(method, pair))
    assert "over 2 assets" in str(info.value) and "upper bounds to 0.8" in str(info.value)
    assert info.value.conflicting == (bounds,)
    assert allocator.info_ is None and allocator.build_count_ == 0


def test_lower_bounds_summing_above_one(crypto_2021):
    bounds = cx.WeightBounds(0.3, 1.0)
    with pytest.raises(cx.InfeasibleError, match=re.escape("lower bounds sum to 1.2")) as info:
        cx.HRPAllocator().allocate(crypto_2021.iloc[:, :4], constraints=[bounds])
    assert info.value.conflicting == (bounds,)


# Clarabel stops on the infeasible log barrier and cvxpy then evaluates log(y) at y <= 0.
@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
@pytest.mark.parametrize(
    "make",
    [
        cx.MinimumVarianceAllocator,
        cx.MaximumSharpeAllocator,
        cx.RiskParityAllocator,
        cx.EqualWeightAllocator,
        cx.InverseVolatilityAllocator,
    ],
)
def test_group_limits_contradicting_bounds_name_both_objects(make, crypto_2021):
    bounds = cx.WeightBounds(0.05, 0.4)
    group = cx.GroupLimits(("BTC/USDT", "ETH/USDT"), lower=0.9, name="majors")  # > 2 * 0.4
    bystander = cx.WeightOrdering("BTC/USDT", "ETH/USDT")
    with pytest.raises(cx.InfeasibleError) as info:
        make().allocate(crypto_2021, constraints=[bystander, bounds, group])
    message = str(info.value)
    assert repr(bounds) in message and repr(group) in message
    assert repr(bystander) not in message
    assert set(info.value.conflicting) == {bounds, group}
    assert len(info.value.conflicting) == 2


# --------------------------------------------------------------------------- maximum Sharpe


def test_all_means_below_the_risk_free_rate_names_the_best_asset(crypto_returns):
    returns = crypto_returns.loc["2022"][SPEC]  # a bear year: every mean is negative
    means = returns.mean()
    assert (means < 0).all()
    best = means.idxmax()
    with pytest.raises(cx.InfeasibleError, match=re.escape(f"the best is {best!r}")) as info:
        cx.MaximumSharpeAllocator().allocate(returns)
    assert f"{means[best]:.6g}" in str(info.value)


def test_a_risk_free_rate_above_every_mean_names_the_best_asset(crypto_2021):
    returns = crypto_2021[SPEC]
    # SOL has the best mean in 2021, 1.66% a day; 100,000% a year (rate 1000) compounds to
    # 1001 ** (1 / 365) - 1 = 1.91% a day, above every mean.
    assert returns.mean().idxmax() == "SOL/USDT"
    with pytest.raises(cx.InfeasibleError, match="'SOL/USDT'"):
        cx.MaximumSharpeAllocator(risk_free_rate=1000.0).allocate(returns)


def test_bounds_forcing_a_losing_portfolio_leave_no_maximum_sharpe(crypto_returns):
    returns = crypto_returns.loc["2025"]  # BNB and XRP gained, most others lost
    losers = [s for s in returns.columns if returns[s].mean() < 0]
    group = cx.GroupLimits(tuple(losers), lower=0.99, name="losers")
    with pytest.raises(cx.InfeasibleError, match="risk-free rate"):
        cx.MaximumSharpeAllocator().allocate(returns, constraints=[group])


def test_an_unattained_maximum_sharpe_is_an_error_not_huge_weights(crypto_returns):
    # Without LongOnly or bounds, the fully invested Sharpe ratio has no maximum when
    # 1' S^-1 mu < 0 (here with 60-day EWMA means): the supremum is approached by
    # zero-net-investment portfolios, whose weights per unit of NAV grow without bound.
    mu = crypto_returns.ewm(halflife=60).mean().iloc[-1].to_numpy()
    assert np.linalg.solve(crypto_returns.cov().to_numpy(), mu).sum() < 0
    allocator = cx.MaximumSharpeAllocator(expected_returns=cx.EWMAMean(60), long_only=False)
    with pytest.raises(cx.InfeasibleError, match="not attained"):
        allocator.allocate(crypto_returns)


# --------------------------------------------------------------------------- solvers


@pytest.mark.parametrize("name", ["GUROBI", "no_such_solver"])
def test_a_solver_that_is_not_installed_is_named(name, crypto_2021):
    with pytest.raises(cx.SolverError, match=f"'{name}' is not installed") as info:
        cx.MinimumVarianceAllocator(solver=name).allocate(crypto_2021)
    assert info.value.solver == name.upper()
    with pytest.raises(cx.SolverError, match=name):
        cx.MinimumVarianceAllocator().allocate(crypto_2021, solver=name)


def test_a_solver_that_fails_is_named_with_its_status(monkeypatch, crypto_2021):
    monkeypatch.setitem(SOLVER_OPTIONS, "OSQP", {**SOLVER_OPTIONS["OSQP"], "max_iter": 1})
    allocator = cx.MinimumVarianceAllocator(solver="OSQP")
    with pytest.raises(cx.SolverError, match=r"OSQP.*user_limit") as info:
        allocator.allocate(crypto_2021)
    assert info.value.solver == "OSQP"
    assert allocator.info_ is None


def test_a_solver_that_cannot_take_the_problem_is_named(crypto_2021):
    with pytest.raises(cx.SolverError, match="OSQP") as info:
        cx.RiskParityAllocator(solver="OSQP").allocate(crypto_2021)
    assert info.value.solver == "OSQP"


def test_infeasibility_is_final_and_not_passed_to_the_fallback(crypto_2021):
    bounds = cx.WeightBounds(0.05, 0.4)
    group = cx.GroupLimits(("BTC/USDT", "ETH/USDT"), lower=0.9)
    allocator = cx.MinimumVarianceAllocator(solver="CLARABEL", fallback=("ECOS", "SCS"))
    with pytest.raises(cx.InfeasibleError, match="CLARABEL reports"):
        allocator.allocate(crypto_2021, constraints=[bounds, group])


def test_an_exact_backend_that_cannot_take_the_problem_is_named(crypto_2021):
    group = cx.GroupLimits(("BTC/USDT", "ETH/USDT"), upper=0.5)
    with pytest.raises(cx.UnsupportedProblemError, match=r"NEWTON does not accept.*GroupLimits"):
        cx.RiskParityAllocator(constraints=[group], solver="NEWTON").allocate(crypto_2021)
    with pytest.raises(cx.UnsupportedProblemError, match="ACTIVE_SET does not accept"):
        cx.RiskParityAllocator(solver="ACTIVE_SET").allocate(crypto_2021)
    with pytest.raises(cx.UnsupportedProblemError, match=r"TurnoverLimit.*at most one L1"):
        cx.MinimumVarianceAllocator(
            constraints=[cx.TurnoverLimit(0.5), cx.GrossExposure(1.0)], solver="ACTIVE_SET"
        ).allocate(
            crypto_2021,
            previous_weights=np.full(len(crypto_2021.columns), 1 / len(crypto_2021.columns)),
        )


def test_a_failed_call_leaves_the_last_answer_in_place(crypto_2021):
    allocator = cx.MinimumVarianceAllocator()
    weights = allocator.allocate(crypto_2021)
    info = allocator.info_
    with pytest.raises(cx.InvalidInputError):
        allocator.allocate(crypto_2021.iloc[:1])
    assert allocator.info_ is info
    pd.testing.assert_series_equal(allocator.weights_, weights)
