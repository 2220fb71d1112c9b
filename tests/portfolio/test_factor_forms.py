"""Every covariance method on a factor model, in factor form through every backend: the answers
agree with the dense form of the same covariance, and the n x n matrix is never formed.

The factor model reaches the methods through a covariance estimator giving it
(``factor_model``); the dense reference through one giving ``model.dense()`` (no
``factor_model``). "Never formed" is checked by making ``FactorModel.dense`` and the factor
estimator's dense ``estimate`` raise, and by the cvxpy problems holding no n x n Parameter.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvxport import EfficientFrontier
from cvxport.allocators.maximum_sharpe import MaximumSharpeAllocator
from cvxport.allocators.mean_risk import MeanRiskAllocator
from cvxport.allocators.minimum_variance import MinimumVarianceAllocator
from cvxport.allocators.risk_budget import RiskParityAllocator
from cvxport.constraints import FactorExposureLimits, GroupLimits, WeightBounds
from cvxport.constraints.base import ProblemContext
from cvxport.errors import InfeasibleError, InvalidInputError
from cvxport.estimation import FactorModel, PCAFactorModel
from cvxport.estimation.factor_cvxpy import factor_width
from cvxport.risk import ExAnteTrackingError, RiskLimit, StandardDeviation, Variance

# Factor form against dense form of the same covariance, same backend (fraction of NAV). Both
# exact (ACTIVE_SET, NEWTON): rounding (seen 3e-16). Clarabel on both forms: each within its
# measured QP error of the optimum (conftest.SOLVER_ATOL); worst seen between the forms 3e-7
# (the variance limit of 'max_return', a second-order cone), 1.2e-9 on the log barrier.
EXACT_ATOL = 1e-10
FORMS_ATOL = 1e-6


class FactorEstimator:
    """Gives a fixed factor model; its dense ``estimate`` must not be called."""

    def __init__(self, model: FactorModel) -> None:
        self.model = model

    def factor_model(self, returns: pd.DataFrame) -> FactorModel:
        return self.model

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        raise AssertionError("the dense covariance of a factor model was asked for")


class DenseEstimator:
    """Gives the dense matrix of the same model (the reference)."""

    def __init__(self, model: FactorModel) -> None:
        self.model = model

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        return self.model.dense()


def factor_case(n: int, k: int, seed: int, periods: int = 120):
    """(model, returns): a market factor plus k - 1 sector-like ones, daily units."""
    rng = np.random.default_rng(seed)
    loadings = np.c_[rng.normal(1.0, 0.3, n), rng.normal(0.0, 0.7, (n, k - 1))]
    factor_covariance = np.diag(np.r_[1e-4, np.full(k - 1, 3.6e-5)])
    specific = rng.uniform(0.008, 0.022, n) ** 2
    symbols = [f"S{i}" for i in range(n)]
    model = FactorModel(loadings, factor_covariance, specific, symbols)
    index = pd.bdate_range("2024-01-01", periods=periods)
    drift = rng.uniform(2e-4, 1.5e-3, n)
    noise = rng.normal(0.0, 0.01, (periods, n))
    returns = pd.DataFrame(noise - noise.mean(axis=0) + drift, index=index, columns=symbols)
    return model, returns


@pytest.fixture
def no_dense(monkeypatch):
    """Make forming a factor model's n x n matrix an error for the test's duration."""

    def refuse(self):
        raise AssertionError("FactorModel.dense() was called on a factor-form path")

    monkeypatch.setattr(FactorModel, "dense", refuse)


def both(make, model, returns, data=None, **kwargs):
    """(weights in factor form with dense() refused, dense-form weights, factor allocator);
    ``data``: ``previous_weights`` for both."""
    extra = {} if data is None else {"previous_weights": data}
    original = FactorModel.dense

    def refuse(self):
        raise AssertionError("FactorModel.dense() was called on a factor-form path")

    FactorModel.dense = refuse
    try:
        fast = make(covariance=FactorEstimator(model), **kwargs)
        factor_weights = fast.allocate(returns, **extra)
    finally:
        FactorModel.dense = original
    slow = make(covariance=DenseEstimator(model), **kwargs)
    return factor_weights.to_numpy(), slow.allocate(returns, **extra).to_numpy(), fast


def no_square_parameter(allocator, n: int) -> None:
    for problem in allocator._problems.values():
        shapes = [p.shape for p in problem.problem.parameters()]
        steps = problem.backend_state.get("NEWTON_QP", {}).get("problems")
        if steps is not None:  # NEWTON_QP's own step problems, in factor form too
            shapes += [p.shape for p in steps.step.parameters() + steps.phase_one.parameters()]
        assert all(np.prod(shape) < n * n for shape in shapes), shapes


METHODS = {
    "min_variance": (MinimumVarianceAllocator, {}),
    "max_sharpe": (MaximumSharpeAllocator, {}),
    "risk_parity": (RiskParityAllocator, {}),
    "mr_variance": (MeanRiskAllocator, {"risk": Variance()}),
    "mr_target": (MeanRiskAllocator, {"risk": Variance(), "target_return": 8e-4}),
    "mr_utility": (MeanRiskAllocator, {"risk": "variance", "objective": "utility"}),
    "mr_ratio": (MeanRiskAllocator, {"risk": StandardDeviation(), "objective": "ratio"}),
    "mr_deviation": (MeanRiskAllocator, {"risk": "standard_deviation"}),
    "mr_max_return": (
        MeanRiskAllocator,
        {"risk": Variance(), "objective": "max_return", "max_risk": 1.5e-4},
    ),
    "mr_deviation_utility": (
        MeanRiskAllocator,
        {"risk": StandardDeviation(), "objective": "utility", "risk_aversion": 3.0},
    ),
}


@pytest.mark.parametrize("solver", [None, "CLARABEL"])
@pytest.mark.parametrize("method", list(METHODS))
def test_factor_form_agrees_with_dense_and_never_forms_n_by_n(method, solver):
    n = 40
    model, returns = factor_case(n, 3, seed=7)
    make, kwargs = METHODS[method]
    kwargs = {**kwargs, "solver": solver}
    if make is not RiskParityAllocator:
        kwargs["constraints"] = [WeightBounds(0.0, 0.1)]
    factor_weights, dense_weights, fast = both(make, model, returns, **kwargs)
    exact = fast.info_.solver in ("ACTIVE_SET", "NEWTON")
    assert np.max(np.abs(factor_weights - dense_weights)) <= (EXACT_ATOL if exact else FORMS_ATOL)
    assert factor_weights.sum() == pytest.approx(1.0, abs=1e-9)
    no_square_parameter(fast, n)
    if solver is None and method in ("min_variance", "max_sharpe", "mr_variance", "mr_ratio"):
        assert fast.info_.solver == "ACTIVE_SET"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(3, 30),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**31),
    method=st.sampled_from(sorted(METHODS)),
)
def test_factor_and_dense_forms_agree_on_clarabel_at_random_sizes(n, k, seed, method):
    model, returns = factor_case(n, k, seed)
    make, kwargs = METHODS[method]
    kwargs = {**kwargs, "solver": "CLARABEL"}
    if method == "mr_target":  # a target every portfolio under the bounds can reach
        kwargs["target_return"] = float(np.median(returns.mean()))
    if method == "mr_max_return":  # a limit above the minimum variance
        kwargs["max_risk"] = 2.0 * float(np.max(model.variances()))
    factor_weights, dense_weights, _ = both(make, model, returns, **kwargs)
    if method == "mr_deviation_utility":
        # mu'w - a sqrt(w'Sw) is nearly flat at its optimum: Clarabel leaves the weights of
        # either form about 4e-6 from the optimum (n = 3, seen) with utilities equal to 1e-12
        mean = returns.mean().to_numpy()

        def utility(w):
            return mean @ w - 3.0 * np.sqrt(model.variance(w))

        assert utility(factor_weights) == pytest.approx(utility(dense_weights), abs=1e-10)
        return
    exact, _, default = both(make, model, returns, **{**kwargs, "solver": None})
    if default.info_.solver in ("ACTIVE_SET", "NEWTON"):
        # each form within Clarabel's measured error of the exact optimum: on a flat optimum
        # (maximum Sharpe, n = 19, seen) the dense form was 3.9e-6 from it, the factor form
        # 1.0e-6, 2.9e-6 apart, both with Sharpe ratios 1e-10 relative below the exact one
        for weights in (factor_weights, dense_weights):
            assert np.max(np.abs(weights - exact)) <= SOLVER_ATOL["CLARABEL"]
    else:
        assert np.max(np.abs(factor_weights - dense_weights)) <= FORMS_ATOL


def test_risk_limits_and_linear_rows_in_factor_form_on_every_scale(no_dense):
    """A standard-deviation limit (a cone row: Clarabel) in minimum variance (scale 1),
    maximum Sharpe (kappa) and risk parity (sum y), beside a group and a factor-exposure limit,
    against the dense form."""
    n = 30
    model, returns = factor_case(n, 3, seed=3)
    beta = dict(zip(returns.columns, model.loadings[:, 0], strict=True))
    rows = [
        WeightBounds(0.0, 0.2),
        GroupLimits(tuple(returns.columns[:10]), 0.0, 0.25, "g"),
        FactorExposureLimits("market", beta, 0.8, 1.05),
    ]
    for make, extra, limit in (
        (MinimumVarianceAllocator, rows, 0.0095),  # 0.0087 at the optimum: not binding
        (MaximumSharpeAllocator, rows, 0.0093),  # 0.0099 without it: binding
        (RiskParityAllocator, [], 0.0093),  # 0.0096 without it: binding
    ):
        constraints = [*extra, RiskLimit(StandardDeviation(), limit)]
        fast = make(covariance=FactorEstimator(model), constraints=constraints)
        factor_weights = fast.allocate(returns).to_numpy()
        # risk parity under a row over the window's data: Newton steps as QPs (NEWTON_QP)
        assert fast.info_.solver == ("NEWTON_QP" if make is RiskParityAllocator else "CLARABEL")
        no_square_parameter(fast, n)
        assert model.variance(factor_weights) <= limit**2 * (1 + 1e-6)
        slow = make(covariance=_UndoDense(model), constraints=constraints)
        dense_weights = slow.allocate(returns).to_numpy()
        assert np.max(np.abs(factor_weights - dense_weights)) <= FORMS_ATOL


class _UndoDense(DenseEstimator):
    """The dense reference inside a test that refuses ``FactorModel.dense``: builds the matrix
    from the model's parts."""

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        g = self.model.exposure_root
        return g @ g.T + np.diag(self.model.specific_variances)


def test_the_factor_width_is_padded_so_a_changing_number_of_factors_reuses_the_problem():
    n = 25
    allocator = MinimumVarianceAllocator(solver="CLARABEL", constraints=[WeightBounds(0, 0.2)])
    builds = []
    for k in (2, 3, 4, 5):
        model, returns = factor_case(n, k, seed=k)
        allocator.covariance = FactorEstimator(model)
        weights = allocator.allocate(returns).to_numpy()
        builds.append(allocator.build_count_)
        reference = MinimumVarianceAllocator(
            covariance=DenseEstimator(model), constraints=[WeightBounds(0, 0.2)]
        ).allocate(returns)
        assert np.max(np.abs(weights - reference.to_numpy())) <= FORMS_ATOL
    assert [factor_width(k) for k in (2, 3, 4, 5)] == [2, 4, 4, 8]
    assert builds == [1, 2, 2, 3]  # one problem per width, reused across k = 3, 4


def test_a_real_factor_estimator_through_clarabel_never_forms_n_by_n(no_dense, monkeypatch):
    """PCAFactorModel (its own dense estimate refused) at n = 400 > T: minimum variance with a
    group limit on Clarabel, the problem's largest Parameter n x k."""
    n, periods = 400, 150
    model, returns = factor_case(n, 4, seed=11, periods=periods)
    shocks = np.random.default_rng(1).normal(0, 0.01, (periods, 4)) @ model.loadings.T
    returns = returns + shocks
    monkeypatch.setattr(PCAFactorModel, "estimate", FactorEstimator.estimate)
    group = GroupLimits(tuple(returns.columns[:40]), 0.0, 0.05, "g")
    allocator = MinimumVarianceAllocator(
        covariance=PCAFactorModel(n_factors=4), constraints=[WeightBounds(0, 0.02), group]
    )
    weights = allocator.allocate(returns, solver="CLARABEL")
    assert weights.sum() == pytest.approx(1.0, abs=1e-8)
    assert weights.iloc[:40].sum() <= 0.05 + 1e-7
    no_square_parameter(allocator, n)


def test_variance_measures_value_a_factor_model_without_the_matrix(no_dense):
    model, returns = factor_case(12, 2, seed=5)
    w = np.full(12, 1 / 12)
    g, d = model.exposure_root, model.specific_variances
    expected = float(w @ (g @ g.T + np.diag(d)) @ w)
    assert Variance().value(w, returns, covariance=model) == pytest.approx(expected, rel=1e-12)
    deviation = StandardDeviation().value(w, returns, covariance=model)
    assert deviation == pytest.approx(np.sqrt(expected), rel=1e-12)


def test_factor_window_data_exist_only_in_a_factor_form_problem():
    ctx = ProblemContext(cp.Variable(3), 1.0, pd.Index(["a", "b", "c"]))
    with pytest.raises(InvalidInputError, match="factor_root"):
        ctx.data("factor_root")


# --- the frontier ----------------------------------------------------------------------------


def clarabel_frontier_point(model, mean, target, upper):
    """min w'Sw s.t. sum(w) = 1, mean'w >= target, 0 <= w <= upper: plain cvxpy on the dense
    matrix (unit-scaled), Clarabel at tolerances 1e-12."""
    g = model.exposure_root
    dense = g @ g.T + np.diag(model.specific_variances)
    w = cp.Variable(len(mean))
    rows = [cp.sum(w) == 1, mean @ w >= target, w >= 0, w <= upper]
    scaled = dense / np.mean(np.diag(dense))
    cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(scaled))), rows).solve(
        solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    return w.value


def test_frontier_in_factor_form_matches_the_dense_frontier_and_exact_points(no_dense):
    n, upper = 30, 0.15
    model, returns = factor_case(n, 3, seed=2)
    bounds = [WeightBounds(0.0, upper)]
    fast = EfficientFrontier(returns, bounds, covariance=FactorEstimator(model))
    frontier = fast.calculate(8)
    assert "ACTIVE_SET" in fast._problem.backend_state  # the points went to the exact path
    assert isinstance(fast.covariance_, FactorModel)
    mean = fast.expected_returns_.to_numpy()
    weights = frontier[list(returns.columns)].to_numpy()
    ppy = fast.periods_per_year_
    for row, target in zip(weights[1:], frontier["target_return"].to_numpy()[1:], strict=True):
        reference = clarabel_frontier_point(model, mean, target / ppy, upper)
        assert np.max(np.abs(row - reference)) <= FORMS_ATOL
    clarabel = EfficientFrontier(
        returns, bounds, covariance=FactorEstimator(model), solver="CLARABEL"
    )
    dense = EfficientFrontier(returns, bounds, covariance=_UndoDense(model), solver="CLARABEL")
    on_clarabel, reference = clarabel.calculate(8), dense.calculate(8)
    assert np.max(np.abs(on_clarabel.to_numpy() - reference.to_numpy())) <= FORMS_ATOL
    assert np.max(np.abs(frontier.to_numpy() - reference.to_numpy())) <= FORMS_ATOL
    for method, args in (
        ("get_minimum_variance_portfolio", ()),
        ("get_maximum_sharpe_portfolio", ()),
        ("portfolio_for_return", (float(frontier["target_return"].iloc[4]),)),
        ("portfolio_for_risk", (float(frontier["volatility"].iloc[5]),)),
    ):
        mine = getattr(fast, method)(*args).to_numpy()
        theirs = getattr(dense, method)(*args).to_numpy()
        assert np.max(np.abs(mine - theirs)) <= FORMS_ATOL, method
    performance = fast.portfolio_performance(fast.get_minimum_variance_portfolio())
    assert performance == pytest.approx(
        dense.portfolio_performance(dense.get_minimum_variance_portfolio()), rel=1e-6
    )
    for frontier_object in (fast, clarabel):
        problems = (frontier_object._problem, frontier_object._sharpe_problem)
        for problem in (p for p in problems if p is not None):
            assert all(np.prod(p.shape) < n * n for p in problem.problem.parameters())


# --- the ex-ante tracking error ----------------------------------------------------------------


@pytest.mark.parametrize("given", ["in_the_measure", "as_data"])
def test_ex_ante_tracking_error_limit_in_factor_form_matches_dense(given):
    """RiskLimit(ExAnteTrackingError) at 0.2% a day, binding, in minimum variance, maximum Sharpe
    and MeanRisk 'max_return': factor and dense forms agree, the limit holds under the model."""
    n, limit = 30, 0.002
    model, returns = factor_case(n, 3, seed=4)
    benchmark = pd.Series(1.0 / n, index=returns.columns)
    if given == "in_the_measure":
        measure, data = ExAnteTrackingError(dict(benchmark)), {}
    else:
        measure, data = ExAnteTrackingError(), {"benchmark_weights": benchmark}
    bounds = [WeightBounds(0.0, 0.2)]
    cases = (
        (MinimumVarianceAllocator, {"constraints": [*bounds, RiskLimit(measure, limit)]}),
        (MaximumSharpeAllocator, {"constraints": [*bounds, RiskLimit(measure, limit)]}),
        (
            MeanRiskAllocator,
            {"risk": measure, "objective": "max_return", "max_risk": limit, "constraints": bounds},
        ),
    )
    for make, kwargs in cases:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(FactorModel, "dense", FactorEstimator.estimate)
            fast = make(covariance=FactorEstimator(model), **kwargs)
            factor_weights = fast.allocate(returns, **data).to_numpy()
        dense_weights = make(covariance=DenseEstimator(model), **kwargs).allocate(returns, **data)
        no_square_parameter(fast, n)
        active = factor_weights - benchmark.to_numpy()
        assert np.sqrt(model.variance(active)) == pytest.approx(limit, rel=1e-6)
        # minimum variance under the binding cone: Clarabel at the table's 1e-10 tolerances
        # leaves either form up to 1.1e-6 from the optimum (seen; 1.5e-7 at 1e-13)
        atol = SOLVER_ATOL["CLARABEL"] if make is MinimumVarianceAllocator else FORMS_ATOL
        assert np.max(np.abs(factor_weights - dense_weights.to_numpy())) <= atol
        if make is MeanRiskAllocator:
            assert fast.risk_ == pytest.approx(limit, rel=1e-6)


def test_ex_ante_tracking_error_value_is_the_model_active_risk():
    model, returns = factor_case(8, 2, seed=9)
    w = np.linspace(0.05, 0.2, 8)
    w /= w.sum()
    b = np.full(8, 1 / 8)
    g = model.exposure_root
    dense = g @ g.T + np.diag(model.specific_variances)
    expected = np.sqrt((w - b) @ dense @ (w - b))
    measure = ExAnteTrackingError(dict(zip(returns.columns, b, strict=True)), periods_per_year=252)
    assert measure.value(w, returns, covariance=model) == pytest.approx(
        expected * np.sqrt(252), rel=1e-12
    )
    assert ExAnteTrackingError().value(
        w, returns, covariance=dense, benchmark_weights=pd.Series(b, index=returns.columns)
    ) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(InvalidInputError, match="benchmark_weights"):
        ExAnteTrackingError().value(w, returns, covariance=model)
    with pytest.raises(InvalidInputError, match="mapping"):
        ExAnteTrackingError([0.5, 0.5])


def test_an_infeasible_risk_limit_in_factor_form_is_named(no_dense):
    model, returns = factor_case(20, 2, seed=6)
    limit = RiskLimit(StandardDeviation(), 1e-4)  # far below the least risk of any portfolio
    allocator = MinimumVarianceAllocator(
        covariance=FactorEstimator(model), constraints=[WeightBounds(0, 0.2), limit]
    )
    with pytest.raises(InfeasibleError) as caught:
        allocator.allocate(returns)
    assert limit in caught.value.conflicting


def test_inverse_volatility_reads_a_factor_model_diagonal(no_dense):
    from cvxport import InverseVolatilityAllocator

    model, returns = factor_case(15, 2, seed=8)
    weights = InverseVolatilityAllocator(covariance=FactorEstimator(model)).allocate(returns)
    expected = 1.0 / np.sqrt(model.variances())
    assert np.allclose(weights.to_numpy(), expected / expected.sum(), rtol=1e-12, atol=0)


def test_mean_risk_frontier_of_the_variance_in_factor_form(no_dense):
    from cvxport.analysis import mean_risk_frontier

    model, returns = factor_case(25, 3, seed=12)
    bounds = [WeightBounds(0.0, 0.2)]
    fast = mean_risk_frontier(
        returns, "variance", 6, bounds, covariance=FactorEstimator(model), solver="CLARABEL"
    )
    slow = mean_risk_frontier(
        returns, "variance", 6, bounds, covariance=_UndoDense(model), solver="CLARABEL"
    )
    assert np.max(np.abs(fast.to_numpy() - slow.to_numpy())) <= FORMS_ATOL
    exact = mean_risk_frontier(returns, "variance", 6, bounds, covariance=FactorEstimator(model))
    assert np.max(np.abs(exact.to_numpy() - slow.to_numpy())) <= FORMS_ATOL


@pytest.mark.parametrize(
    "make, kwargs",
    [
        (MinimumVarianceAllocator, {}),
        (MaximumSharpeAllocator, {}),
        (MeanRiskAllocator, {"risk": Variance()}),
    ],
)
def test_cost_terms_beside_the_factor_form(make, kwargs):
    """A transaction-cost term takes the problem to Clarabel: the variance stays in factor
    form there (the cost's own rows beside it)."""
    from cvxport.constraints.costs import TransactionCost

    model, returns = factor_case(20, 3, seed=4)
    previous = pd.Series(1 / 20, index=returns.columns)
    kwargs = {**kwargs, "costs": TransactionCost(0.001), "constraints": [WeightBounds(0, 0.2)]}
    factor_weights, dense_weights, fast = both(make, model, returns, **kwargs, data=previous)
    assert fast.info_.solver == "CLARABEL"
    assert np.max(np.abs(factor_weights - dense_weights)) <= FORMS_ATOL
