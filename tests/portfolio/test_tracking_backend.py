"""ACTIVE_SET_TE: a variance objective under linear rows and a tracking-error limit measured
with the same sample covariance, exact against tight Clarabel, a KKT certificate recomputed
from the weights alone, the tracking error against its definition, the unattainable limit
named, warm starts across windows, and the problems it leaves to cvxpy.

Tolerances: weights within ``SOLVER_ATOL['CLARABEL']`` (5e-6, conftest) of Clarabel at
``SOLVER_OPTIONS``; a binding tracking error equal to the limit within 1e-12 relative; the
certificate's stationarity residual within CERTIFICATE_RTOL of the gradient's size.
"""

from __future__ import annotations

import re

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from tight_reference import solve_reference

import cvxport as cx
from cvxport.solvers import SOLVER_OPTIONS
from cvxport.solvers.parametric_qp import holds, interior_point, march, piece
from cvxport.solvers.qp_kernel import DenseQP, WorkingSet
from cvxport.solvers.tracking_backend import TrackingBackend
from cvxport.solvers.tracking_kernel import (
    EllipsoidRow,
    LimitUnattainableError,
    NotProportionalError,
    TrackingStart,
    solve_tracking_qp,
)

ATOL = SOLVER_ATOL["CLARABEL"]
ACTIVE = 1e-9  # a bound or row counts as held within this (weight units)
# the exact answers give 1e-15 to 1e-13 (measured on these problems); reading the held set at
# ACTIVE moves the residual by about ||S|| * ACTIVE relative to the gradient
CERTIFICATE_RTOL = 1e-7
PERIODS = 252


def returns_panel(n: int, periods: int, seed: int) -> pd.DataFrame:
    """(periods, n) daily returns of a 3-factor model with specific noise."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(1.0, 0.5, size=(3, n))
    factors = rng.normal(0.0, 0.01, size=(periods, 3))
    noise = rng.normal(0.0, 0.01, size=(periods, n)) * rng.uniform(0.5, 2.0, size=n)
    index = pd.date_range("2024-01-01", periods=periods, freq="D")
    return pd.DataFrame(
        factors @ loadings + noise, index=index, columns=[f"A{i}" for i in range(n)]
    )


def stacked_covariance(returns: pd.DataFrame, benchmark: np.ndarray) -> np.ndarray:
    """(n + 1, n + 1) sample covariance (ddof 1) of the assets and the benchmark returns."""
    return np.cov(np.column_stack([returns.to_numpy(), benchmark]), rowvar=False, ddof=1)


def tracking_error(weights: np.ndarray, returns: pd.DataFrame, benchmark: np.ndarray) -> float:
    """The definition: annualized standard deviation (ddof 1) of the active returns."""
    return float(np.std(returns.to_numpy() @ weights - benchmark, ddof=1) * np.sqrt(PERIODS))


def reference(problem: dict, limit: float | None, objective: str = "variance") -> np.ndarray:
    """The same problem through plain cvxpy and Clarabel at the library's tight options, on
    O(1)-scaled data: minimize the variance (or the utility) under the bounds, the group
    row and ||L'[w; -1]|| <= limit (L L' the stacked covariance), by the first of
    ``tight_reference.REFERENCE_SOLVERS`` to meet its tolerances."""
    returns, benchmark = problem["returns"], problem["benchmark_returns"]
    C = stacked_covariance(returns, benchmark)
    n = returns.shape[1]
    scale = float(np.mean(np.diag(C)[:n]))
    w = cp.Variable(n)
    rows = [cp.sum(w) == 1, w >= 0, w <= problem["upper"]]
    if problem["group"]:
        rows.append(cp.sum(w[: problem["group"]]) <= problem["cap"])
    if limit is not None:
        rows.append(
            cp.norm(active_factor(problem, w, C / scale)) <= limit / np.sqrt(PERIODS * scale)
        )
    goal = cp.quad_form(w, cp.psd_wrap(C[:n, :n] / scale))
    if objective == "utility":
        mean = returns.mean().to_numpy() / scale
        goal = problem["aversion"] * goal - mean @ w
    solved = cp.Problem(cp.Minimize(goal), rows)
    assert solve_reference(solved) == cp.OPTIMAL, solved.status
    return np.asarray(w.value)


def active_factor(problem: dict, w: cp.Variable, C: np.ndarray) -> cp.Expression:
    """L'(w - b) with L L' the assets' block of ``C`` where the benchmark is a portfolio b of
    the assets (the stacked C is then singular, and the conic solvers stop short of their
    tolerances on it); else L'[w; -1] with L L' the stacked C."""
    n = w.shape[0]
    if "benchmark_weights" in problem:
        factor = np.linalg.cholesky(C[:n, :n]).T
        return factor @ w - factor @ problem["benchmark_weights"]
    values, vectors = np.linalg.eigh(C)
    factor = np.sqrt(np.clip(values, 0, None))[:, None] * vectors.T
    return factor @ cp.hstack([w, -1.0])


def smallest_tracking_error(problem: dict) -> float:
    """min TE over the bounds and the group row (annualized), by Clarabel."""
    returns, benchmark = problem["returns"], problem["benchmark_returns"]
    n = returns.shape[1]
    C = stacked_covariance(returns, benchmark)
    w = cp.Variable(n)
    rows = [cp.sum(w) == 1, w >= 0, w <= problem["upper"]]
    if problem["group"]:
        rows.append(cp.sum(w[: problem["group"]]) <= problem["cap"])
    z = cp.hstack([w, -1.0])
    cp.Problem(cp.Minimize(cp.quad_form(z, cp.psd_wrap(C))), rows).solve(
        solver="CLARABEL", **SOLVER_OPTIONS["CLARABEL"]
    )
    return tracking_error(np.asarray(w.value), returns, benchmark)


def certificate(
    problem: dict, weights: np.ndarray, limit: float, objective: str = "variance"
) -> float:
    """The smallest max |stationarity residual| over multipliers with the KKT signs, by an LP
    from the weights alone, relative to the gradient's largest entry: grad f + nu grad TE^2
    + lam 1 + rho g - lower + upper = 0 (grad f = 2 S w for the variance, 2 a S w - mean for
    the utility with aversion a) with nu >= 0 only if the limit is tight, rho >= 0 only if
    the group row is tight, bound multipliers >= 0 on held bounds. Also checks the primal
    conditions (AssertionError)."""
    returns, benchmark = problem["returns"], problem["benchmark_returns"]
    n = returns.shape[1]
    C = stacked_covariance(returns, benchmark)
    S, cross = C[:n, :n], C[:n, n]
    upper = problem["upper"]
    assert abs(weights.sum() - 1) <= ACTIVE
    assert np.all(weights >= -ACTIVE) and np.all(weights <= upper + ACTIVE)
    te = tracking_error(weights, returns, benchmark)
    assert te <= limit * (1 + 1e-12)
    gradient = 2 * S @ weights
    if objective == "utility":
        gradient = problem["aversion"] * gradient - returns.mean().to_numpy()
    columns, bounds = [np.ones(n)], [(None, None)]
    if problem["group"]:
        row = np.r_[np.ones(problem["group"]), np.zeros(n - problem["group"])]
        assert row @ weights <= problem["cap"] + ACTIVE
        (
            columns.append(row),
            bounds.append((0, None if row @ weights >= problem["cap"] - ACTIVE else 0)),
        )
    te_gradient = 2 * (S @ weights - cross)
    columns.append(te_gradient), bounds.append((0, None if te >= limit * (1 - 1e-9) else 0))
    for i in range(n):
        if weights[i] <= ACTIVE:
            columns.append(-np.eye(n)[i]), bounds.append((0, None))
        if weights[i] >= upper - ACTIVE:
            columns.append(np.eye(n)[i]), bounds.append((0, None))
    A = np.column_stack(columns)
    m = A.shape[1]
    scale = np.max(np.abs(gradient))
    result = linprog(
        np.r_[np.zeros(m), 1.0],
        A_ub=np.vstack([np.column_stack([A, -np.ones(n)]), np.column_stack([-A, -np.ones(n)])]),
        b_ub=np.r_[-gradient, gradient],
        bounds=[*bounds, (0, None)],
        method="highs",
    )
    assert result.status == 0, result.message
    return float(result.fun) / scale


def allocator(problem: dict, limit: float, **kw) -> cx.MeanRiskAllocator:
    """MeanRiskAllocator of the problem: variance, bounds, the group row, the TE limit."""
    constraints = [cx.WeightBounds(0.0, problem["upper"])]
    symbols = list(problem["returns"].columns)
    if problem["group"]:
        constraints.append(cx.GroupLimits(tuple(symbols[: problem["group"]]), 0.0, problem["cap"]))
    measure = cx.TrackingError(periods_per_year=PERIODS, **problem.get("measure", {}))
    constraints.append(cx.RiskLimit(measure, limit))
    return cx.MeanRiskAllocator(risk="variance", constraints=constraints, **kw)


@st.composite
def tracking_problems(draw):
    """Random sizes, bounds, an optional group row, a benchmark given three ways (weights
    in the measure, weights at allocate, returns at allocate), a binding or slack limit."""
    n = draw(st.integers(4, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    returns = returns_panel(n, 2 * n + 40, seed)
    upper = float(rng.uniform(1.6 / n, 0.6))
    group = draw(st.integers(0, max(0, n // 2)))
    cap = float(max(0.0, 1 - (n - group) * upper) + rng.uniform(0.05, 0.5))
    kind = draw(st.sampled_from(["measure weights", "allocate weights", "returns"]))
    b = rng.dirichlet(np.ones(n))
    R = returns.to_numpy()
    problem = {"returns": returns, "upper": upper, "group": group, "cap": cap}
    series = pd.Series(b, index=returns.columns)
    if kind == "measure weights":
        problem.update(measure={"benchmark_weights": series.to_dict()}, data={})
        problem.update(benchmark_returns=R @ b, benchmark_weights=b)
    elif kind == "allocate weights":
        problem.update(data={"benchmark_weights": series}, benchmark_returns=R @ b)
        problem["benchmark_weights"] = b
    else:  # a benchmark that is not a portfolio of the assets
        benchmark = R @ b + rng.normal(0, 0.004, size=len(R))
        problem.update(data={"benchmark_returns": pd.Series(benchmark, index=returns.index)})
        problem["benchmark_returns"] = benchmark
    problem["aversion"] = float(rng.uniform(0.5, 20.0))
    problem["binding"] = draw(st.booleans())
    problem["share"] = float(
        rng.uniform(0.05, 0.95) if problem["binding"] else rng.uniform(1.05, 2)
    )
    return problem


def limit_for(problem: dict, objective: str = "variance") -> float:
    """A limit between the smallest TE and the TE of the unlimited optimum (binding), or
    above the latter (slack), as the problem's ``share`` says."""
    free = reference(problem, None, objective)
    unlimited = tracking_error(free, problem["returns"], problem["benchmark_returns"])
    least = smallest_tracking_error(problem)
    # Clarabel's smallest value is good to about 1e-6 relative: keep binding limits clear of it
    assume(unlimited - least > 1e-3 * unlimited)
    return least + problem["share"] * (unlimited - least)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tracking_problems(), st.sampled_from(["min_risk", "utility"]))
def test_tracking_limit_matches_a_tight_reference_with_a_certificate(problem, objective):
    kind = "utility" if objective == "utility" else "variance"
    limit = limit_for(problem, kind)
    extra = (
        {"objective": "utility", "risk_aversion": problem["aversion"]} if kind == "utility" else {}
    )
    model = allocator(problem, limit, **extra)
    weights = model.allocate(problem["returns"], **problem["data"]).to_numpy()
    info = model.info_
    assert info.solver == "ACTIVE_SET_TE", info.fallback_from
    assert info.kkt_residual <= 1e-10
    expected = reference(problem, limit, kind)
    assert np.max(np.abs(weights - expected)) <= ATOL
    te = tracking_error(weights, problem["returns"], problem["benchmark_returns"])
    if problem["binding"]:
        assert te == pytest.approx(limit, rel=1e-12)
    else:
        assert te < limit
    assert certificate(problem, weights, limit, kind) <= CERTIFICATE_RTOL


def test_binding_limit_lies_on_its_definition_and_raises_the_variance():
    problem = tracking_problem(n=40)
    free = cx.MeanRiskAllocator(risk="variance", constraints=[cx.WeightBounds(0, 0.1)])
    unlimited = free.allocate(problem["returns"]).to_numpy()
    assert free.info_.solver == "ACTIVE_SET"
    limit = 0.5 * tracking_error(unlimited, problem["returns"], problem["benchmark_returns"])
    model = allocator(problem, limit)
    weights = model.allocate(problem["returns"], **problem["data"]).to_numpy()
    b = problem["data"]["benchmark_weights"].to_numpy()
    S = problem["returns"].cov().to_numpy()  # ddof 1
    assert np.sqrt(PERIODS * (weights - b) @ S @ (weights - b)) == pytest.approx(limit, rel=1e-12)
    assert model.risk_ == pytest.approx(weights @ S @ weights, rel=1e-12)  # the variance
    assert weights @ S @ weights > unlimited @ S @ unlimited
    assert certificate(problem, weights, limit) <= CERTIFICATE_RTOL


def tracking_problem(n: int, seed: int = 3) -> dict:
    """Bounds [0, 0.1], no group, equal-weight benchmark given at allocate."""
    returns = returns_panel(n, 3 * n, seed)
    b = pd.Series(np.full(n, 1 / n), index=returns.columns)
    return {
        "returns": returns,
        "upper": 0.1,
        "group": 0,
        "cap": 1.0,
        "data": {"benchmark_weights": b},
        "benchmark_returns": returns.to_numpy() @ b.to_numpy(),
        "benchmark_weights": b.to_numpy(),
    }


def test_warm_starts_across_windows_give_the_cold_answers():
    """One allocator over rolling windows with the benchmark switching between far (the
    limit binds) and the unlimited optimum itself (slack): every answer equals a fresh
    allocator's."""
    returns = returns_panel(25, 200, 11)
    model = allocator({"returns": returns, "upper": 0.2, "group": 0}, 0.03)
    free = cx.MeanRiskAllocator(risk="variance", constraints=[cx.WeightBounds(0, 0.2)])
    seen = set()
    for start in range(0, 60, 6):
        window = returns.iloc[start : start + 120]
        if start % 12:
            benchmark = free.allocate(window)  # the unlimited optimum: TE 0, the limit slack
        else:
            benchmark = pd.Series(np.full(25, 1 / 25), index=returns.columns)
        weights = model.allocate(window, benchmark_weights=benchmark)
        fresh = allocator({"returns": returns, "upper": 0.2, "group": 0}, 0.03)
        expected = fresh.allocate(window, benchmark_weights=benchmark)
        assert model.info_.solver == fresh.info_.solver == "ACTIVE_SET_TE"
        assert np.max(np.abs(weights - expected)) <= 1e-10
        te = tracking_error(weights.to_numpy(), window, window.to_numpy() @ benchmark.to_numpy())
        seen.add(bool(te >= 0.03 * (1 - 1e-9)))
    assert seen == {True, False}  # both cases met


def test_unattainable_limit_names_the_limit():
    returns = returns_panel(20, 80, 5)
    benchmark = pd.Series(np.r_[1.0, np.zeros(19)], index=returns.columns)  # one asset
    problem = {
        "returns": returns,
        "upper": 0.1,
        "group": 0,
        "benchmark_returns": returns.to_numpy() @ benchmark.to_numpy(),
    }
    least = smallest_tracking_error(problem)
    model = allocator(problem, 0.5 * least)
    with pytest.raises(cx.InfeasibleError, match=r"RiskLimit\(.*TrackingError") as raised:
        model.allocate(returns, benchmark_weights=benchmark)
    found = re.search(
        r"smallest value the other constraints allow is ([-+0-9.e]+)", str(raised.value)
    )
    assert found and float(found.group(1)) == pytest.approx(least, rel=1e-5)
    assert any(isinstance(c, cx.RiskLimit) for c in raised.value.conflicting)


@pytest.mark.parametrize(
    ("method", "covariance", "reason"),
    [
        (cx.MeanRiskAllocator, "ledoit_wolf", "not a multiple"),  # a shrunk dense covariance
        (cx.MinimumVarianceAllocator, "pca", "factor model"),  # solved in factor form
    ],
)
def test_another_covariance_falls_back_to_cvxpy_visibly(method, covariance, reason):
    problem = tracking_problem(n=15)
    limit = cx.RiskLimit(cx.TrackingError(periods_per_year=PERIODS), 0.02)
    model = method(constraints=[cx.WeightBounds(0, 0.1), limit], covariance=covariance)
    model.allocate(problem["returns"], **problem["data"])
    assert model.info_.solver == "CLARABEL"
    name, why = model.info_.fallback_from[0]
    assert name == "ACTIVE_SET_TE" and reason in why


def test_problems_it_does_not_take_are_refused_by_name():
    problem = tracking_problem(n=10)
    returns = problem["returns"]
    plain = cx.MinimumVarianceAllocator(solver="ACTIVE_SET_TE")
    with pytest.raises(cx.UnsupportedProblemError, match="tracking-error row"):
        plain.allocate(returns)
    limit = cx.RiskLimit(cx.TrackingError(periods_per_year=PERIODS), 0.05)
    sharpe = cx.MaximumSharpeAllocator(constraints=[limit], solver="ACTIVE_SET_TE")
    with pytest.raises(cx.UnsupportedProblemError, match="Charnes-Cooper"):
        sharpe.allocate(returns, **problem["data"])
    two = cx.MeanRiskAllocator(
        risk="variance", constraints=[limit, cx.RiskLimit(cx.TrackingError(), 0.01)]
    )
    two.allocate(returns, **problem["data"])  # two limits: cvxpy solves it
    assert two.info_.solver == "CLARABEL"


def test_minimum_variance_allocator_takes_the_limit_too():
    problem = tracking_problem(n=20)
    b = problem["data"]["benchmark_weights"]
    limit = cx.RiskLimit(cx.TrackingError(b.to_dict(), periods_per_year=PERIODS), 0.01)
    model = cx.MinimumVarianceAllocator(constraints=[cx.WeightBounds(0, 0.1), limit])
    weights = model.allocate(problem["returns"]).to_numpy()
    assert model.info_.solver == "ACTIVE_SET_TE"
    expected = reference(problem, 0.01)
    assert np.max(np.abs(weights - expected)) <= ATOL


def test_kernel_refuses_a_row_with_another_quadratic_form():
    rng = np.random.default_rng(0)
    n = 6
    F = rng.normal(size=(10, n))
    S = F.T @ F
    qp = DenseQP(S, np.zeros(n), np.ones((1, n)), np.ones(1), np.zeros((0, n)), np.zeros(0),
                 np.zeros(n), np.ones(n))  # fmt: skip
    other = rng.normal(size=(n, n))
    with pytest.raises(NotProportionalError):
        solve_tracking_qp(qp, EllipsoidRow(other, np.zeros(n), 1.0))
    scaled = solve_tracking_qp(qp, EllipsoidRow(3.0 * F, 3.0 * F @ np.full(n, 1 / n), 0.5))
    assert scaled.kkt_residual <= 1e-12


def test_zero_limit_on_a_feasible_benchmark_returns_the_benchmark():
    problem = tracking_problem(n=12)
    model = allocator(problem, 0.0)
    weights = model.allocate(problem["returns"], **problem["data"])
    assert model.info_.solver == "ACTIVE_SET_TE"
    assert np.max(np.abs(weights - problem["data"]["benchmark_weights"])) <= 1e-9


def test_a_target_return_row_is_read_at_every_solve():
    problem = tracking_problem(n=15)
    returns = problem["returns"]
    target = float(returns.mean().quantile(0.7))
    model = allocator(problem, 0.03, target_return=target)
    weights = model.allocate(returns, **problem["data"]).to_numpy()
    assert model.info_.solver == "ACTIVE_SET_TE"
    assert returns.mean().to_numpy() @ weights >= target - 1e-12
    model.target_return = None
    plain = allocator(problem, 0.03)
    assert (
        np.max(
            np.abs(
                model.allocate(returns, **problem["data"])
                - plain.allocate(returns, **problem["data"])
            )
        )
        <= 1e-10
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(3, 25), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_parametric_march_from_an_interior_point_reaches_the_optimum(n, groups, seed):
    """The fallback path alone (no block updates): from the LP interior point x0, optimal for
    the linear term -2 S x0, along the line to c; the answer satisfies the KKT conditions
    of the piece and matches Clarabel."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n + 5, n))
    S = F.T @ F / (n + 5) + 0.01 * np.eye(n)
    S /= np.mean(np.diag(S))
    c = rng.normal(size=n)
    upper = np.full(n, rng.uniform(1.5 / n, 1.0))
    G = (rng.random((groups, n)) < 0.5).astype(float)
    h = G @ np.full(n, 1 / n) + rng.uniform(0.0, 0.3, size=groups)  # equal weight holds
    qp = DenseQP(S, c, np.ones((1, n)), np.ones(1), G, h, np.zeros(n), upper)
    x0, tight = interior_point(qp)
    origin = -2 * S @ x0
    base = DenseQP(S, origin, qp.E, qp.e, G, h, qp.lower, qp.upper)
    line = c - origin
    found, _ = march(base, line, piece(base, line, tight), 0.0, 1.0)
    assert holds(base, found, 1.0)
    x = found.x_c + found.x_d
    w = cp.Variable(n)
    rows = [cp.sum(w) == 1, w >= 0, w <= upper] + ([G @ w <= h] if groups else [])
    cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(S)) + c @ w), rows).solve(
        solver="CLARABEL", **SOLVER_OPTIONS["CLARABEL"]
    )
    assert np.max(np.abs(x - w.value)) <= ATOL


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(3, 25), st.integers(0, 2), st.integers(0, 2**32 - 1), st.booleans())
def test_kernel_from_any_warm_start_matches_a_tight_reference(n, groups, seed, linear):
    """solve_tracking_qp started from a wrong multiplier and a random working set (what a
    previous window may leave) gives the tight reference's answer, the row tight or slack."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n + 5, n))
    S = F.T @ F / (n + 5) + 0.01 * np.eye(n)
    A = np.linalg.cholesky(S).T * rng.uniform(0.5, 2.0)  # A'A proportional to S
    S /= np.mean(np.diag(S))
    c = rng.normal(size=n) * 0.2 if linear else np.zeros(n)
    upper = np.full(n, rng.uniform(1.5 / n, 1.0))
    G = (rng.random((groups, n)) < 0.5).astype(float)
    h = G @ np.full(n, 1 / n) + rng.uniform(0.01, 0.3, size=groups)
    qp = DenseQP(S, c, np.ones((1, n)), np.ones(1), G, h, np.zeros(n), upper)
    b = rng.dirichlet(np.ones(n))
    radius = float(np.linalg.norm(A @ (np.full(n, 1 / n) - b))) * rng.uniform(0.3, 3.0)
    start = TrackingStart(
        float(rng.uniform(0, 1)),
        WorkingSet(rng.random(n) < 0.3, np.zeros(n, bool), rng.random(groups) < 0.5),
    )
    w = cp.Variable(n)
    rows = [cp.sum(w) == 1, w >= 0, w <= upper] + ([G @ w <= h] if groups else [])
    try:
        solution = solve_tracking_qp(qp, EllipsoidRow(A, A @ b, radius), start)
    except LimitUnattainableError as exc:  # the limit is below the smallest attainable value
        cp.Problem(cp.Minimize(cp.norm(A @ (w - b))), rows).solve(solver="CLARABEL")
        assert exc.smallest == pytest.approx(float(np.linalg.norm(A @ (w.value - b))), rel=1e-6)
        assert exc.smallest > radius
        return
    assert solution.kkt_residual <= 1e-9
    rows.append(cp.norm(A @ (w - b)) <= radius)
    problem = cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(S)) + c @ w), rows)
    assert solve_reference(problem) == cp.OPTIMAL, problem.status
    assert np.max(np.abs(solution.x - w.value)) <= ATOL


def test_the_conflict_found_exactly_is_cvxpys_deletion_filter():
    """An unattainable limit names the same irreducible conflict as the cvxpy feasibility
    problems of constraints.diagnose (reached through Clarabel), found without them."""
    returns = returns_panel(20, 60, 8)
    benchmark = pd.Series(np.r_[1.0, np.zeros(19)], index=returns.columns)
    constraints = [
        cx.WeightBounds(0.0, 0.6),
        cx.GroupLimits(tuple(returns.columns[:3]), 0.0, 0.5),
        cx.RiskLimit(cx.TrackingError(periods_per_year=PERIODS), 0.01),
    ]
    found = {}
    for solver in (None, "CLARABEL"):
        model = cx.MeanRiskAllocator(risk="variance", constraints=constraints, solver=solver)
        with pytest.raises(cx.InfeasibleError, match="infeasible because of") as raised:
            model.allocate(returns, benchmark_weights=benchmark)
        found[solver] = raised.value.conflicting
    assert list(found[None]) == list(found["CLARABEL"])
    assert [type(c).__name__ for c in found[None]] == ["GroupLimits", "RiskLimit"]


def test_a_backtest_with_a_tracking_limit_matches_the_cvxpy_path(monkeypatch):
    """The manager backtests a user's MeanRiskAllocator with a tracking-error limit against
    fixed benchmark weights: every rebalance runs on ACTIVE_SET_TE (warm-started from the
    last; the limit binds at some, not all) and equals the same backtest solved by Clarabel."""
    thetas = []
    solve = TrackingBackend.solve

    def counted(self, problem, values):
        out = solve(self, problem, values)
        thetas.append(problem.backend_state["ACTIVE_SET_TE"]["start"].theta)
        return out

    monkeypatch.setattr(TrackingBackend, "solve", counted)
    symbols = list(cx.data.BUNDLED_SYMBOLS)
    benchmark = {s: 0.5 if s == "BTC/USDT" else 0.5 / (len(symbols) - 1) for s in symbols}
    limit = cx.RiskLimit(cx.TrackingError(benchmark, periods_per_year=365), 0.25)
    histories = {}
    for solver in (None, "CLARABEL"):
        allocator = cx.MeanRiskAllocator(risk="variance", constraints=[limit], solver=solver)
        config = cx.PortfolioConfig(symbols=symbols, allocator=allocator)
        result = cx.PortfolioManager(config).backtest(cx.load_bundled_prices(symbols))
        histories[solver] = result.allocation_history
    assert len(thetas) == len(histories[None]) > 10
    assert 0 < sum(t > 0 for t in thetas) < len(thetas)  # binding and slack rebalances
    gap = (histories[None] - histories["CLARABEL"]).abs().to_numpy().max()
    assert gap <= ATOL
