"""The HIGHS_LP backend: declared LPs (CVaR, CDaR, maximum return under a CVaR limit, the
CVaR ratio) against tight Clarabel and HiGHS through cvxpy on random data, CVaR against the
empirical tail mean of the optimal portfolio's scenarios and CDaR against its definition in
numpy, warm starts across rolling windows equal to cold solves, the shift of the basis, the
refusal of problems that are not LPs, the one fallback contract, and a CDaR backtest through
the manager naming the backend.

Tolerances: an LP's optimum need not be unique, so answers are compared by objective, within
1e-8 relative (the benchmark's target; Clarabel at 1e-10 on O(1) data: worst seen 2e-10).
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import synthetic_returns
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_risk_measures import cvar_by_sorting, drawdowns_by_loop

import cvxport as cx
from cvxport.errors import UnsupportedProblemError
from cvxport.solvers import EXACT_BACKENDS, installed_solvers
from cvxport.solvers.highs_lp import HIGHS_LP_OPTIONS
from cvxport.solvers.lp_fold import fold_rows, unfold_duals
from cvxport.solvers.rolling_basis import balance, shift_statuses, window_shift

highspy = pytest.importorskip("highspy")

RTOL = 1e-8


def cdar_by_definition(weights: np.ndarray, returns: pd.DataFrame, beta: float) -> float:
    """The tail mean of the summed-return drawdowns (a loop), as ``cvar_by_sorting``."""
    return cvar_by_sorting(drawdowns_by_loop(returns.to_numpy() @ weights), beta)


MEASURES = {
    "cvar": (cx.CVaR, lambda w, r, b: cvar_by_sorting(-(r.to_numpy() @ w), b)),
    "cdar": (cx.CDaR, cdar_by_definition),
}


def allocator(measure, solver, upper=0.4, **kwargs) -> cx.MeanRiskAllocator:
    bounds = [cx.WeightBounds(0.0, upper)]
    return cx.MeanRiskAllocator(measure, constraints=bounds, solver=solver, **kwargs)


def close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b))


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(3, 9),
    periods=st.integers(40, 160),
    beta=st.sampled_from([0.8, 0.9, 0.95]),
    kind=st.sampled_from(sorted(MEASURES)),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_optimum_matches_clarabel_highs_and_the_definition(seed, n, periods, beta, kind):
    returns = synthetic_returns(seed, n_assets=n, n_periods=periods)
    make, definition = MEASURES[kind]
    upper = max(0.4, 1.5 / n)
    values = {}
    for solver in ("HIGHS_LP", "CLARABEL", "HIGHS"):
        trial = allocator(make(beta), solver, upper)
        weights = trial.allocate(returns).to_numpy()
        assert trial.info_.solver == solver and trial.info_.status == cp.OPTIMAL
        assert np.all(weights >= -1e-9) and np.all(weights <= upper + 1e-9)
        assert abs(weights.sum() - 1) <= 1e-9
        values[solver] = definition(weights, returns, beta)
        # risk_ (the library's value) is the definition, at the weights found
        assert trial.risk_ == pytest.approx(values[solver], rel=1e-12, abs=1e-15)
    best = min(values.values())
    assert close(values["HIGHS_LP"], best), values
    assert values["CLARABEL"] >= values["HIGHS_LP"] * (1 - RTOL)


def test_info_names_the_backend_and_the_declared_objective():
    returns = synthetic_returns(3, n_assets=6, n_periods=120)
    trial = allocator(cx.CVaR(0.9), None)
    weights = trial.allocate(returns).to_numpy()
    info = trial.info_
    assert info.solver == "HIGHS_LP" and info.fallback_from == []
    assert info.iterations > 0 and info.solve_time <= info.total_time
    assert 0 <= info.kkt_residual <= 1e-9  # HiGHS's primal, dual and complementarity figures
    # the declared objective: risk_weight * CVaR (risk_weight = 1 / mean asset std)
    reference = float(np.mean(returns.std(ddof=1)))
    assert info.objective == pytest.approx(trial.risk_ / reference, rel=1e-9)
    assert trial.risk_ == pytest.approx(cvar_by_sorting(-(returns.to_numpy() @ weights), 0.9))


@pytest.mark.parametrize("kind", sorted(MEASURES))
@pytest.mark.parametrize("step", [1, 5, 17])
def test_rolling_windows_start_from_the_shifted_basis_and_equal_cold_solves(kind, step):
    make, definition = MEASURES[kind]
    history = synthetic_returns(40 + step, n_assets=12, n_periods=260)
    rolling = allocator(make(0.95), None, upper=0.2)
    warm = []
    for i in range(4):
        window = history.iloc[i * step : i * step + 200]
        weights = rolling.allocate(window).to_numpy()
        warm.append(rolling.info_.warm_start)
        cold = allocator(make(0.95), "HIGHS_LP", upper=0.2)
        expected = cold.allocate(window).to_numpy()
        assert cold.info_.warm_start is False
        assert close(definition(weights, window, 0.95), definition(expected, window, 0.95))
    assert warm == [False, True, True, True]


def test_an_unrelated_window_starts_cold_and_the_same_window_from_its_basis():
    history = synthetic_returns(8, n_assets=10, n_periods=400)
    rolling = allocator(cx.CDaR(0.9), None, upper=0.25)
    rolling.allocate(history.iloc[:150])
    other = history.iloc[250:400]
    weights = rolling.allocate(other).to_numpy()
    assert rolling.info_.warm_start is False  # not a shift of the last window
    rolling.allocate(other)
    assert rolling.info_.warm_start is True and rolling.info_.iterations == 0
    expected = allocator(cx.CDaR(0.9), "CLARABEL", upper=0.25).allocate(other).to_numpy()
    assert cdar_by_definition(weights, other, 0.9) <= cdar_by_definition(expected, other, 0.9) * (
        1 + RTOL
    )


def test_as_many_assets_as_scenarios_keeps_the_weights_out_of_the_shift():
    history = synthetic_returns(5, n_assets=30, n_periods=40)
    rolling = allocator(cx.CVaR(0.8), None, upper=0.1)
    for i in range(3):  # T = n = 30: the weight block has T entries but is not a scenario block
        window = history.iloc[i * 5 : i * 5 + 30]
        weights = rolling.allocate(window).to_numpy()
        expected = allocator(cx.CVaR(0.8), "CLARABEL", upper=0.1).allocate(window).to_numpy()
        losses = -(window.to_numpy())
        assert cvar_by_sorting(losses @ weights, 0.8) <= cvar_by_sorting(losses @ expected, 0.8) * (
            1 + RTOL
        )
    layout = next(iter(rolling._problems.values())).backend_state["HIGHS_LP"]["layout"]
    assert layout.periods == 30 and len(layout.columns) == 1 and len(layout.rows) == 1


def test_maximum_return_under_a_cvar_limit_and_the_cvar_ratio():
    returns = synthetic_returns(12, n_assets=7, n_periods=150)
    least = allocator(cx.CVaR(0.9), "CLARABEL")
    least.allocate(returns)
    limit = 1.2 * least.risk_  # binding: between the least CVaR and that of the best return
    for kwargs in ({"objective": "max_return", "max_risk": limit}, {"objective": "ratio"}):
        answers = {}
        for solver in ("HIGHS_LP", "CLARABEL"):
            trial = allocator(cx.CVaR(0.9), solver, **kwargs)
            weights = trial.allocate(returns).to_numpy()
            mean = returns.mean().to_numpy() @ weights
            answers[solver] = mean if "max_risk" in kwargs else mean / trial.risk_
            if "max_risk" in kwargs:
                assert trial.risk_ <= limit * (1 + 1e-8)
        assert close(answers["HIGHS_LP"], answers["CLARABEL"]), answers


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 12),
    periods=st.integers(20, 90),
    step=st.integers(1, 12),
    kind=st.sampled_from(sorted(MEASURES)),
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_rolled_window_is_optimal_whatever_the_shift(seed, n, periods, step, kind):
    make, definition = MEASURES[kind]
    history = synthetic_returns(seed, n_assets=n, n_periods=periods + 3 * step)
    upper = max(0.3, 1.2 / n)
    rolling = allocator(make(0.9), None, upper)
    for i in range(4):
        window = history.iloc[i * step : i * step + periods]
        weights = rolling.allocate(window).to_numpy()
        assert rolling.info_.solver == "HIGHS_LP" and rolling.info_.fallback_from == []
        assert np.all(weights >= -1e-9) and np.all(weights <= upper + 1e-9)
        expected = allocator(make(0.9), "CLARABEL", upper).allocate(window).to_numpy()
        mine, theirs = definition(weights, window, 0.9), definition(expected, window, 0.9)
        assert mine <= theirs * (1 + RTOL) + 1e-15


def test_piecewise_linear_terms_are_lps_too():
    returns = synthetic_returns(9, n_assets=6, n_periods=120)
    previous = pd.Series(np.full(6, 1 / 6), index=returns.columns)
    cases = [
        (cx.MeanAbsoluteDeviation(), []),
        (cx.CVaR(0.9), [cx.TurnoverLimit(0.3)]),
    ]
    for measure, more in cases:
        values = {}
        for solver in ("HIGHS_LP", "CLARABEL"):
            constraints = [cx.WeightBounds(0.0, 0.4), *more]
            trial = cx.MeanRiskAllocator(measure, constraints=constraints, solver=solver)
            weights = trial.allocate(returns, previous_weights=previous).to_numpy()
            assert np.abs(weights - previous.to_numpy()).sum() <= 0.3 + 1e-8 or not more
            values[solver] = measure.value(weights, returns)
        assert close(values["HIGHS_LP"], values["CLARABEL"]), (measure, values)


def test_a_problem_that_is_not_an_lp_is_refused_by_name():
    returns = synthetic_returns(1, n_assets=5, n_periods=80)
    with pytest.raises(UnsupportedProblemError, match="HIGHS_LP does not accept"):
        cx.MinimumVarianceAllocator(solver="HIGHS_LP").allocate(returns)
    with pytest.raises(UnsupportedProblemError, match="not a linear"):
        allocator(cx.SemiDeviation(), "HIGHS_LP").allocate(returns)
    # by default an LP goes to HIGHS_LP, a QP still to the active set
    default = cx.MinimumVarianceAllocator(constraints=[cx.WeightBounds(0, 0.4)])
    default.allocate(returns)
    assert default.info_.solver == "ACTIVE_SET"


def test_a_failed_solve_falls_back_and_is_recorded(monkeypatch):
    returns = synthetic_returns(2, n_assets=5, n_periods=90)
    monkeypatch.setitem(HIGHS_LP_OPTIONS, "simplex_iteration_limit", 0)  # a real HiGHS limit
    trial = allocator(cx.CVaR(0.95), None)
    weights = trial.allocate(returns).to_numpy()
    assert trial.info_.solver == "HIGHS"  # CVaR's preferred cvxpy solver, next in the chain
    [(name, reason)] = trial.info_.fallback_from
    assert name == "HIGHS_LP" and "status" in reason
    expected = allocator(cx.CVaR(0.95), "CLARABEL").allocate(returns).to_numpy()
    losses = -returns.to_numpy()
    assert close(cvar_by_sorting(losses @ weights, 0.95), cvar_by_sorting(losses @ expected, 0.95))
    with pytest.raises(cx.SolverError, match="HIGHS_LP"):
        allocator(cx.CVaR(0.95), "HIGHS_LP").allocate(returns)


def test_an_impossible_limit_is_infeasible_and_named():
    returns = synthetic_returns(4, n_assets=5, n_periods=90)
    limit = cx.RiskLimit(cx.CVaR(0.95), 1e-6)
    trial = cx.MeanRiskAllocator(
        cx.CVaR(0.95), constraints=[cx.WeightBounds(0, 0.4), limit], solver="HIGHS_LP"
    )
    with pytest.raises(cx.InfeasibleError, match=r"RiskLimit\(measure=CVaR"):
        trial.allocate(returns)


def test_compare_solvers_lists_highs_lp_first_on_an_lp():
    returns = synthetic_returns(6, n_assets=4, n_periods=40)  # small: SCS at 1e-9 is slow
    table = cx.compare_solvers(allocator(cx.CDaR(0.9), None), returns)
    assert "HIGHS_LP" in EXACT_BACKENDS and list(table.index)[: len(EXACT_BACKENDS)] == list(
        EXACT_BACKENDS
    )
    assert table.loc["HIGHS_LP", "status"] == cp.OPTIMAL
    assert table.loc["ACTIVE_SET", "status"] == "not applicable"
    assert set(installed_solvers()) <= set(table.index)


def test_every_option_is_accepted_by_the_installed_highs():
    highs = highspy.Highs()
    for key, value in HIGHS_LP_OPTIONS.items():
        assert highs.setOptionValue(key, value) == highspy.HighsStatus.kOk, key
    assert highs.setOptionValue("no_such_option", 1) == highspy.HighsStatus.kError


# --- the basis shift ---------------------------------------------------------------------------
@given(st.integers(0, 1000), st.integers(1, 30), st.integers(1, 4))
@settings(max_examples=40, deadline=None)
def test_window_shift_finds_the_rows_the_window_moved(seed, periods, width):
    rng = np.random.default_rng(seed)
    history = rng.normal(size=(periods + 10, width))
    old = history[:periods]
    for s in range(0, min(periods, 10)):
        assert window_shift(old, history[s : s + periods]) == s
    assert window_shift(None, old) is None
    assert window_shift(old, rng.normal(size=(periods, width))) is None
    assert window_shift(old, history[: periods + 1]) is None  # another shape


def test_shift_statuses_moves_scenario_blocks_and_balance_counts_basics():
    statuses = np.array([7, 0, 1, 2, 3, 9, 10, 11, 12, 8])
    fill = np.full(10, -1)
    shifted = shift_statuses(statuses, (1, 5), 4, 1, fill)
    assert list(shifted) == [7, 1, 2, 3, -1, 10, 11, 12, -1, 8]
    basic = 1
    columns, rows = np.array([1, 0, 1, 0]), np.array([1, 1, 0])  # 3 basics, 3 rows
    assert balance(columns, rows, basic, np.ones(4, bool), np.ones(3, bool), columns, rows)
    rows = np.array([1, 1, 1])  # one basic too many: a free row is demoted
    assert balance(columns, rows, basic, np.ones(4, bool), np.ones(3, bool), columns, rows * 0)
    assert int(np.sum(columns == basic) + np.sum(rows == basic)) == 3
    rows = np.array([1, 1, 1])
    assert not balance(columns, rows, basic, np.zeros(4, bool), np.zeros(3, bool), columns, rows)


def test_a_cdar_backtest_rolls_through_highs_lp_and_each_rebalance_is_optimal(crypto_returns):
    prices = (1 + crypto_returns.iloc[-200:, :6]).cumprod() * 100
    config = cx.PortfolioConfig(
        symbols=list(prices.columns),
        allocation_method=cx.AllocationMethod.MEAN_RISK,
        risk_measure="cdar",
        lookback=90,
        rebalance_frequency="weekly",
        solver="highs_lp",  # a backend name, case-insensitive, as any solver
        constraints=(cx.WeightBounds(0.0, 0.4),),
    )
    result = cx.PortfolioManager(config).backtest(prices, progress=False)
    assert len(result.allocation_history) >= 10 and not result.skipped_rebalances
    returns = prices / prices.shift(1) - 1
    for date, target in result.allocation_history.iterrows():
        window = returns.loc[:date].iloc[-90:]
        expected = allocator(cx.CDaR(0.95), "CLARABEL").allocate(window).to_numpy()
        mine = cdar_by_definition(target.to_numpy(), window, 0.95)
        assert mine <= cdar_by_definition(expected, window, 0.95) * (1 + RTOL)


# --- bound rows folded into columns ---------------------------------------------------------
@given(seed=st.integers(0, 10_000), n=st.integers(2, 8), m=st.integers(1, 6))
@settings(max_examples=40, deadline=None)
def test_folded_rows_give_a_kkt_point_of_the_lp_with_the_rows(seed, n, m):
    """min c'x over sum x = 1, G x <= h, 0 <= x <= u written as rows (free columns): the
    folded LP's answer with the restored duals satisfies the original LP's KKT conditions."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=n)
    u = rng.uniform(1.2 / n, 1.0, n)
    G, h = rng.normal(size=(m, n)), rng.uniform(0.5, 1.0, m)
    rows = np.vstack([np.ones(n), G, np.eye(n), -np.eye(n)])
    upper = np.r_[1.0, h, u, np.zeros(n)]
    lower = np.r_[1.0, np.full(m + 2 * n, -np.inf)]
    matrix = sp.csr_matrix(rows)
    fold, col_lower, col_upper = fold_rows(
        matrix, lower, upper, np.full(n, -np.inf), np.full(n, np.inf)
    )
    assert len(fold.kept) == 1 + m and np.allclose(col_upper, u) and np.allclose(col_lower, 0)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    kept = matrix[fold.kept].tocsc()
    highs.passModel(
        n,
        len(fold.kept),
        kept.nnz,
        1,
        1,
        0.0,
        c,
        col_lower,
        col_upper,
        lower[fold.kept],
        upper[fold.kept],
        kept.indptr.astype(np.int32),
        kept.indices.astype(np.int32),
        kept.data,
        np.zeros(n, dtype=np.int32),
    )
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return  # G x <= h may leave nothing feasible; the folded LP is infeasible as well
    solution = highs.getSolution()
    x = np.asarray(solution.col_value)
    y = unfold_duals(fold, np.asarray(solution.row_dual), np.asarray(solution.col_dual))
    activity = rows @ x
    assert np.all(activity <= upper + 1e-9) and abs(activity[0] - 1) <= 1e-9
    assert np.all(y[1:] <= 1e-9)  # rows at their upper side: nonpositive duals (HiGHS signs)
    assert np.all(np.abs(y[1:] * (activity[1:] - upper[1:])) <= 1e-9)  # complementary
    assert np.allclose(c - rows.T @ y, 0.0, atol=1e-9)  # free columns: zero reduced cost
