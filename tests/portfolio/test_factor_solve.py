"""Factor-form solves: Woodbury against dense solves, the factor-form active set, maximum Sharpe
and Newton risk budget against their dense versions, Clarabel and the KKT conditions, and the
DPP factor-form cvxpy variance."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_active_set import kkt_violation

from cvxport.allocators.risk_budget import newton_risk_budget as dense_newton
from cvxport.allocators.risk_budget import risk_shares
from cvxport.estimation import FactorModel
from cvxport.estimation.covariance_operator import (
    DenseCovarianceOperator,
    FactorCovarianceOperator,
    as_operator,
    woodbury_solve,
)
from cvxport.estimation.factor_cvxpy import factor_variance
from cvxport.estimation.factor_qp import FactorQP, solve_factor_qp, solve_qp
from cvxport.estimation.factor_solve import (
    ActiveSetError,
    bounded_min_variance,
    long_only_max_sharpe,
    newton_risk_budget,
)
from cvxport.solvers import active_set as dense_active_set
from cvxport.solvers.qp_kernel import DenseQP, solve_dense_qp

EXACT_ATOL = 1e-10  # factor form vs dense exact solve: both exact, rounding differs (seen 2e-16)
# Clarabel (tolerances 1e-12) on the DPP factor form vs the active set, unit-scaled data:
# worst seen 4.4e-10 over 10 random bounded problems of 60 assets; 1e-8 leaves 20x room.
CLARABEL_ATOL = 1e-8
CLARABEL_OPTIONS = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


def market_model(n: int, k: int, seed: int) -> FactorModel:
    """A unit-scaled factor model shaped like daily equity or crypto returns: a market factor
    (betas near 1) plus k - 1 sector-like factors and specific vols of 0.8-2.2% a day."""
    rng = np.random.default_rng(seed)
    loadings = np.c_[rng.normal(1.0, 0.3, n), rng.normal(0.0, 0.7, (n, k - 1))]
    factor_covariance = np.diag(np.r_[1e-4, np.full(k - 1, 3.6e-5)])
    specific = rng.uniform(0.008, 0.022, n) ** 2
    model = FactorModel(loadings, factor_covariance, specific, [f"A{i}" for i in range(n)])
    return model.unit_scaled()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 8), seed=st.integers(0, 2**31), data=st.data())
def test_woodbury_solves_any_block_of_a_factor_covariance(n, k, seed, data):
    rng = np.random.default_rng(seed)
    root, specific = rng.normal(size=(n, k)), rng.uniform(0.01, 1.0, n)
    dense = root @ root.T + np.diag(specific)
    free = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    free[0] = True
    rhs = rng.normal(size=(free.sum(), 2))
    x = woodbury_solve(root[free], specific[free], rhs)
    block = dense[np.ix_(free, free)]
    assert np.allclose(block @ x, rhs, rtol=0, atol=1e-11 * np.abs(block).max() * np.abs(x).max())
    op = FactorCovarianceOperator(
        FactorModel(root, np.eye(k), specific, [str(i) for i in range(n)])
    )
    ref = DenseCovarianceOperator(dense)
    w = np.where(free, 0.0, rng.normal(size=n))
    assert np.allclose(op.coupling(free, w), ref.coupling(free, w), rtol=1e-10, atol=1e-12)
    assert np.allclose(op.diagonal(), ref.diagonal(), rtol=1e-12)
    shift = rng.uniform(0, 1, n)
    assert np.allclose(
        op.shifted_solve(shift, dense @ w + shift * w), w, rtol=0, atol=1e-9 * np.abs(w).max()
    )


BOUNDS = {
    "long_only": (0.0, 1.0),
    "capped": (0.0, 0.05),
    "long_short": (-0.02, 0.06),
}


@pytest.mark.parametrize("bounds", list(BOUNDS))
@pytest.mark.parametrize("seed", range(3))
def test_factor_active_set_agrees_with_dense_and_clarabel(bounds, seed):
    n, k = 60, 4
    model = market_model(n, k, seed)
    dense = model.dense()
    lower, upper = (np.full(n, b) for b in BOUNDS[bounds])
    fast = bounded_min_variance(model, lower, upper)
    reference = dense_active_set.bounded_min_variance(dense, lower, upper)
    assert np.max(np.abs(fast.weights - reference.weights)) <= EXACT_ATOL
    assert fast.variance == pytest.approx(reference.variance, rel=1e-12)
    assert kkt_violation(dense, fast.weights, lower, upper) <= 1.0
    w = cp.Variable(n)
    variance, parameters = factor_variance(w, max_factors=k + 2)  # padded: k may change
    parameters.assign(model)
    problem = cp.Problem(cp.Minimize(variance), [cp.sum(w) == 1, w >= lower, w <= upper])
    assert problem.is_dpp()
    problem.solve(solver="CLARABEL", **CLARABEL_OPTIONS)
    assert np.max(np.abs(w.value - fast.weights)) <= CLARABEL_ATOL
    # warm start from the answer: one linear solve confirms it
    again = bounded_min_variance(model, lower, upper, start=(fast.at_lower, fast.at_upper))
    assert again.iterations == 1
    assert np.max(np.abs(again.weights - fast.weights)) <= EXACT_ATOL


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 80), k=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_factor_active_set_meets_the_kkt_conditions_at_random_sizes(n, k, seed):
    model = market_model(n, k, seed)
    upper = np.full(n, min(1.0, 3.0 / n))
    lower = np.zeros(n)
    solution = bounded_min_variance(model, lower, upper)
    assert kkt_violation(model.dense(), solution.weights, lower, upper) <= 1.0
    assert solution.kkt_residual <= 1e-11


@pytest.mark.parametrize("seed", range(3))
def test_factor_max_sharpe_agrees_with_dense_and_kkt(seed):
    n = 80
    model = market_model(n, 5, seed)
    rng = np.random.default_rng(seed)
    excess = rng.normal(0.0, 0.05, n)
    fast = long_only_max_sharpe(model, excess)
    dense = model.dense()
    reference = dense_active_set.long_only_max_sharpe(dense, excess)
    assert np.max(np.abs(fast.weights - reference.weights)) <= EXACT_ATOL
    # KKT of min y'Sy s.t. excess'y = 1, y >= 0: Sy = nu excess + lambda, lambda >= 0 on y = 0
    y = fast.weights / (excess @ fast.weights)
    gradient = dense @ y
    nu = (y @ gradient) / (excess @ y)
    multiplier = (gradient - nu * excess) / abs(nu)
    held = y > 1e-12
    assert np.max(np.abs(multiplier[held])) <= 1e-10
    assert np.min(multiplier[~held], initial=0.0) >= -1e-10
    with pytest.raises(ActiveSetError, match="positive excess mean"):
        long_only_max_sharpe(model, -np.abs(excess))


@pytest.mark.parametrize(("n", "k"), [(5, 1), (120, 6)])
def test_factor_newton_risk_budget_matches_budgets_and_dense(n, k):
    model = market_model(n, k, seed=n)
    budget = np.random.default_rng(n).uniform(0.5, 1.5, n)
    budget /= budget.sum()
    weights, iterations = newton_risk_budget(model, budget)
    dense = model.dense()
    reference, _ = dense_newton(dense, budget)
    reference = reference / reference.sum()  # the dense backend returns y, not weights
    assert np.max(np.abs(weights - reference)) <= EXACT_ATOL
    # the Newton stopping rule (decrement 1e-14) leaves shares within 1e-6 (the dense contract)
    assert np.max(np.abs(risk_shares(weights, dense) - budget)) <= 1e-6
    assert iterations < 50


def test_operators_refuse_what_they_cannot_solve():
    model = FactorModel(np.ones((3, 1)), np.eye(1) * 1e12, np.ones(3), ["a", "b", "c"])
    with pytest.raises(ActiveSetError, match="nearly singular"):
        bounded_min_variance(model, np.zeros(3), np.ones(3))
    with pytest.raises(ActiveSetError, match="lower bound above upper"):
        bounded_min_variance(model, np.ones(3), np.zeros(3))
    assert isinstance(as_operator(np.eye(2)), DenseCovarianceOperator)
    with pytest.raises(Exception, match="square"):
        as_operator(np.ones(3))
    with pytest.raises(Exception, match="does not fit"):
        factor_variance(cp.Variable(3), 1)[1].assign(market_model(3, 2, 0))


def group_problem(seed: int, linear: bool):
    """Minimum variance (or mean-variance) of 80 assets, 0 <= w <= 10%, two group rows."""
    n = 80
    model = market_model(n, 5, seed)
    rng = np.random.default_rng(seed)
    groups = np.zeros((2, n))
    groups[0, : n // 8] = 1.0  # a group capped below its unconstrained weight
    groups[1, rng.permutation(n)[: n // 4]] = 1.0
    c = -rng.normal(0, 0.5, n) / 2 if linear else np.zeros(n)  # x'Sx - mu'x / 2
    rows = (np.ones((1, n)), np.ones(1), groups, np.array([0.04, 0.3]))
    return model, c, rows, (np.zeros(n), np.full(n, 8.0 / n))


@pytest.mark.parametrize(("seed", "linear"), [(0, False), (1, False), (0, True)])
def test_factor_qp_with_group_rows_agrees_with_dense_kernel_and_clarabel(seed, linear):
    model, c, (E, e, G, h), (lower, upper) = group_problem(seed, linear)
    qp = FactorQP.build(model, c, E, e, G, h, lower, upper)
    fast = solve_factor_qp(qp)
    dense = model.dense()
    reference = solve_dense_qp(DenseQP(dense, c, E, e, G, h, lower, upper))
    assert np.max(np.abs(fast.x - reference.x)) <= EXACT_ATOL
    assert fast.kkt_residual <= 1e-10 and fast.working_set.rows[0]  # the group limit binds
    assert fast.objective == pytest.approx(reference.objective, rel=1e-12, abs=1e-15)
    w = cp.Variable(len(c))
    variance, parameters = factor_variance(w, max_factors=5)
    parameters.assign(model)
    constraints = [E @ w == e, w >= lower, w <= upper, G @ w <= h]
    objective = cp.Minimize(variance + c @ w)
    cp.Problem(objective, constraints).solve(solver="CLARABEL", **CLARABEL_OPTIONS)
    assert np.max(np.abs(w.value - fast.x)) <= CLARABEL_ATOL
    again = solve_factor_qp(qp, start=fast.working_set)
    assert again.iterations == 1 and np.max(np.abs(again.x - fast.x)) <= EXACT_ATOL
    # one entry point for either covariance
    assert np.array_equal(solve_qp(model, c, E, e, G, h, lower, upper).x, fast.x)
    assert np.array_equal(solve_qp(dense, c, E, e, G, h, lower, upper).x, reference.x)


def test_factor_qp_gives_up_where_the_dense_kernel_does():
    # seed 2: the capped group's members all end at bounds, its row becomes dependent on the
    # working set and the single-change steps cycle, in the dense kernel as in factor form:
    # both raise ActiveSetError and the next backend (cvxpy) solves the declared problem
    model, c, (E, e, G, h), (lower, upper) = group_problem(2, False)
    with pytest.raises(ActiveSetError):
        solve_dense_qp(DenseQP(model.dense(), c, E, e, G, h, lower, upper))
    with pytest.raises(ActiveSetError, match="cycling"):
        solve_factor_qp(FactorQP.build(model, c, E, e, G, h, lower, upper))
