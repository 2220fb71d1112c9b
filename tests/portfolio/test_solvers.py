"""The solver table against the installed solvers, agreement of every solver with exact answers,
the explicit fallback chain, and compare_solvers (missing and failing solvers: test_errors)."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from conftest import (
    SOLVER_ATOL,
    exact_bounded_max_sharpe,
    exact_bounded_min_variance,
    synthetic_returns,
)

import cvxport as cx
from cvxport.solvers import EXACT_BACKENDS, SOLVER_OPTIONS, check_solver, installed_solvers

SOLVERS = ["CLARABEL", "OSQP", "ECOS", "SCS"]
QP_SOLVERS = [s for s in SOLVERS if s in installed_solvers()]
SPEC_BUDGET = {"BTC/USDT": 0.5, "ETH/USDT": 0.3, "SOL/USDT": 0.2}


def test_the_table_and_the_tolerances_name_the_same_solvers():
    assert set(SOLVER_OPTIONS) == set(SOLVER_ATOL) == set(SOLVERS)
    assert installed_solvers() == [s for s in SOLVER_OPTIONS if s in cp.installed_solvers()]
    # the house setup installs all four; a missing one would silently drop its tests
    assert set(installed_solvers()) == set(SOLVERS)


# --------------------------------------------------------------------------- the options table


def small_qp() -> cp.Problem:
    """A bounded minimum-variance QP at O(1) scale over 8 assets (fresh, nothing cached)."""
    rng = np.random.default_rng(1)
    factor = rng.normal(size=(50, 8))
    cov = factor.T @ factor / 50
    cov /= np.mean(np.diag(cov))
    w = cp.Variable(8)
    return cp.Problem(
        cp.Minimize(cp.quad_form(w, cp.psd_wrap(cov))), [cp.sum(w) == 1, w >= 0.05, w <= 0.4]
    )


@pytest.mark.parametrize("solver", QP_SOLVERS)
def test_every_option_name_is_accepted_by_the_installed_solver(solver):
    problem = small_qp()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # e.g. OSQP 1.x on 'polish'
        problem.solve(solver=solver, **SOLVER_OPTIONS[solver])
    assert problem.status == cp.OPTIMAL


@pytest.mark.parametrize("solver", QP_SOLVERS)
def test_the_installed_solver_refuses_unknown_option_names(solver):
    # So 'accepted' above means 'recognised': a misspelt key would raise here, not pass.
    with pytest.raises((TypeError, cp.error.SolverError)):
        small_qp().solve(solver=solver, **SOLVER_OPTIONS[solver], not_an_option=1)


@pytest.mark.parametrize("solver", QP_SOLVERS)
def test_the_tolerance_options_take_effect(solver):
    table = SOLVER_OPTIONS[solver]
    loose = {k: (1e-3 if isinstance(v, float) else v) for k, v in table.items()}
    assert loose != table  # every entry has tolerances
    tight_problem, loose_problem = small_qp(), small_qp()
    tight_problem.solve(solver=solver, **table)
    loose_problem.solve(solver=solver, **loose)
    assert tight_problem.solver_stats.num_iters > loose_problem.solver_stats.num_iters


@pytest.mark.parametrize(
    "solver", [s for s in QP_SOLVERS if any(k.startswith("max_iter") for k in SOLVER_OPTIONS[s])]
)
def test_the_iteration_limit_option_takes_effect(solver):
    (key,) = [k for k in SOLVER_OPTIONS[solver] if k.startswith("max_iter")]
    problem = small_qp()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Solution may be inaccurate"
        problem.solve(solver=solver, **{**SOLVER_OPTIONS[solver], key: 1})
    assert problem.status != cp.OPTIMAL
    assert problem.solver_stats.num_iters <= 1


def test_osqp_polishing_key_matches_the_installed_version():
    import osqp

    major = int(osqp.__version__.split(".")[0])
    key = "polishing" if major >= 1 else "polish"
    assert SOLVER_OPTIONS["OSQP"][key] is True
    assert {"polish", "polishing"} & set(SOLVER_OPTIONS["OSQP"]) == {key}
    polished, plain = small_qp(), small_qp()
    polished.solve(solver="OSQP", **SOLVER_OPTIONS["OSQP"])
    plain.solve(solver="OSQP", **{**SOLVER_OPTIONS["OSQP"], key: False})
    assert polished.solver_stats.extra_stats.info.status_polish == 1  # polished, successfully
    assert plain.solver_stats.extra_stats.info.status_polish == 0  # not performed


# --------------------------------------------------------------------------- agreement


def unit_cov(returns: pd.DataFrame) -> np.ndarray:
    cov = np.cov(returns.to_numpy(), rowvar=False)
    return cov / np.mean(np.diag(cov))


def reference(case: str, returns: pd.DataFrame, approx: np.ndarray) -> np.ndarray:
    """The exact answer: a closed form, or the KKT solution on the active set of ``approx``
    whose multiplier signs certify it."""
    cov, n = unit_cov(returns), returns.shape[1]
    mean = returns.mean().to_numpy()
    lower, upper = np.full(n, 0.05), np.full(n, 0.4)
    if case == "min_variance":
        w = np.linalg.solve(cov, np.ones(n))
        return w / w.sum()
    if case == "max_sharpe":
        w = np.linalg.solve(cov, mean)
        return w / w.sum()
    if case == "min_variance_bounded":
        w, nu, lo, hi = exact_bounded_min_variance(cov, approx, lower, upper)
        gradient = 2 * cov @ w
        assert np.all(gradient[lo] >= nu) and np.all(gradient[hi] <= nu)
    else:
        w, r, lo, hi = exact_bounded_max_sharpe(
            cov, mean / np.abs(mean).max(), approx, lower, upper
        )
        assert np.all(r[lo] >= 0) and np.all(r[hi] <= 0)
    free = w[~(lo | hi)]
    assert np.all((free > 0.05) & (free < 0.4))
    return w


CASES = {
    "min_variance": lambda solver: cx.MinimumVarianceAllocator(long_only=False, solver=solver),
    "max_sharpe": lambda solver: cx.MaximumSharpeAllocator(long_only=False, solver=solver),
    "min_variance_bounded": lambda solver: cx.MinimumVarianceAllocator(
        constraints=[cx.WeightBounds(0.05, 0.4)], solver=solver
    ),
    "max_sharpe_bounded": lambda solver: cx.MaximumSharpeAllocator(
        constraints=[cx.WeightBounds(0.05, 0.4)], solver=solver
    ),
}


@pytest.fixture(scope="module")
def datasets(crypto_returns):
    return {
        "crypto_all": crypto_returns,
        "crypto_2021": crypto_returns.loc["2021"],
        "crypto_2025": crypto_returns.loc["2025"][["BTC/USDT", "ETH/USDT", "BNB/USDT", "XRP/USDT"]],
        "synthetic": synthetic_returns(21, n_assets=8, n_periods=300),
    }


@pytest.mark.parametrize("dataset", ["crypto_all", "crypto_2021", "crypto_2025", "synthetic"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("solver", QP_SOLVERS)
def test_every_solver_agrees_with_the_exact_answer(solver, case, dataset, datasets):
    returns = datasets[dataset]
    allocator = CASES[case](solver)
    weights = allocator.allocate(returns).to_numpy()
    assert allocator.info_.solver == solver and allocator.info_.fallback_from == []
    exact = reference(case, returns, weights)
    # per unit of gross exposure: the unbounded tangency on 2025 data is 14x levered
    gross = max(1.0, np.abs(exact).sum())
    np.testing.assert_allclose(weights, exact, atol=SOLVER_ATOL[solver] * gross, rtol=0)


# --------------------------------------------------------------------------- names, fallback


def test_solver_names_are_case_insensitive_and_must_be_strings(synthetic):
    assert check_solver("clarabel") == "CLARABEL"
    with pytest.raises(cx.InvalidInputError, match="solver"):
        check_solver(None)


def test_fallback_is_explicit_and_recorded(monkeypatch, synthetic):
    monkeypatch.setitem(SOLVER_OPTIONS, "OSQP", {**SOLVER_OPTIONS["OSQP"], "max_iter": 1})
    allocator = cx.MinimumVarianceAllocator(solver="OSQP", fallback=("ECOS",))
    weights = allocator.allocate(synthetic)
    assert allocator.info_.solver == "ECOS"
    ((failed, message),) = allocator.info_.fallback_from
    assert failed == "OSQP" and "user_limit" in message
    reference_weights = cx.MinimumVarianceAllocator().allocate(synthetic)
    # both answers are within their solver's tolerance of the same optimum
    atol = SOLVER_ATOL["ECOS"] + SOLVER_ATOL["CLARABEL"]
    np.testing.assert_allclose(weights, reference_weights, atol=atol)


def test_risk_budget_falls_back_from_osqp_to_clarabel(crypto_returns):
    returns = crypto_returns[list(SPEC_BUDGET)]
    allocator = cx.RiskBudgetAllocator(solver="OSQP", fallback=("CLARABEL",))
    weights = allocator.allocate(returns, risk_budget=SPEC_BUDGET)
    assert allocator.info_.solver == "CLARABEL"
    assert [name for name, _ in allocator.info_.fallback_from] == ["OSQP"]
    assert "OSQP" in allocator.info_.fallback_from[0][1]
    newton = cx.RiskBudgetAllocator().allocate(returns, risk_budget=SPEC_BUDGET)
    np.testing.assert_allclose(weights, newton, atol=SOLVER_ATOL["CLARABEL"])


def test_when_every_solver_fails_each_is_named(monkeypatch, crypto_returns):
    monkeypatch.setitem(SOLVER_OPTIONS, "ECOS", {**SOLVER_OPTIONS["ECOS"], "max_iters": 1})
    allocator = cx.RiskBudgetAllocator(solver="OSQP", fallback=("ECOS",))
    with pytest.raises(cx.SolverError, match=r"OSQP.*ECOS"):
        allocator.allocate(crypto_returns[list(SPEC_BUDGET)], risk_budget=SPEC_BUDGET)


# --------------------------------------------------------------------------- info and compare


def test_every_solve_leaves_inspectable_info(crypto_returns):
    bounds = [cx.WeightBounds(0.05, 0.4)]
    allocator = cx.MinimumVarianceAllocator(constraints=bounds, solver="CLARABEL")
    allocator.allocate(crypto_returns)
    info = allocator.info_
    assert info.solver == "CLARABEL" and info.status == cp.OPTIMAL
    assert info.solve_time > 0 and info.total_time >= info.solve_time
    assert isinstance(info.iterations, int) and info.iterations > 0
    assert np.isfinite(info.objective)
    assert info.build_count == 1 and info.fallback_from == []
    assert 0 <= info.max_bound_violation <= SOLVER_ATOL["CLARABEL"]
    assert 0 <= info.sum_error <= SOLVER_ATOL["CLARABEL"]


def test_compare_solvers_tabulates_the_exact_backends_and_every_installed_solver(crypto_2021):
    allocator = cx.MinimumVarianceAllocator(constraints=[cx.WeightBounds(0.05, 0.4)])
    table = cx.compare_solvers(allocator, crypto_2021)
    assert list(table.index) == [*EXACT_BACKENDS, *installed_solvers()]
    assert table.loc["NEWTON", "status"] == "not applicable"
    assert "log-barrier" in table.loc["NEWTON", "error"]
    assert table.loc["HIGHS_LP", "status"] == "not applicable"  # a QP, not a linear program
    assert table.loc["ACTIVE_SET_TE", "status"] == "not applicable"
    assert "tracking-error row" in table.loc["ACTIVE_SET_TE", "error"]
    assert table.loc["NEWTON_QP", "status"] == "not applicable"
    assert "log-barrier" in table.loc["NEWTON_QP", "error"]
    solved = table.drop(["NEWTON", "HIGHS_LP", "ACTIVE_SET_TE", "NEWTON_QP"])
    assert (solved["status"] == cp.OPTIMAL).all()
    # the exact answer is the reference (lowest objective), every solver within its tolerance
    assert solved.loc["ACTIVE_SET", "max_weight_diff"] <= 1e-9
    for solver, row in solved.drop("ACTIVE_SET").iterrows():
        assert row["max_weight_diff"] <= SOLVER_ATOL[solver] + max(SOLVER_ATOL.values())
    assert allocator.info_ is None and allocator.build_count_ == 0  # the original is untouched


def test_compare_solvers_reports_a_solver_that_cannot_take_the_problem(crypto_returns):
    allocator = cx.RiskBudgetAllocator(solver="CLARABEL")
    table = cx.compare_solvers(
        allocator, crypto_returns[list(SPEC_BUDGET)], risk_budget=SPEC_BUDGET
    )
    assert table.loc["OSQP", "status"] == "error"
    assert "OSQP" in table.loc["OSQP", "error"]
    assert np.isnan(table.loc["OSQP", "max_weight_diff"])
    conic = ("CLARABEL", "ECOS", "SCS")
    for solver in conic:  # each within its tolerance of the optimum, as is the reference
        assert table.loc[solver, "status"] in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
        bound = SOLVER_ATOL[solver] + max(SOLVER_ATOL[s] for s in conic)
        assert table.loc[solver, "max_weight_diff"] <= bound
