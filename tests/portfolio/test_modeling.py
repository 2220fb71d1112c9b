"""The modeling layer: exact backends on linear rows, terms that see the window's data, long/short
exposure, transaction costs in the objective, and a user's own allocator in the manager."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from conftest import SOLVER_ATOL
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import lsq_linear

import cvxport as cx
from cvxport.allocators.base import Allocator
from cvxport.data import align_prices
from cvxport.estimation import unit_scaled
from cvxport.solvers.qp_kernel import DenseQP, solve_dense_qp

CLARABEL_TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
EXACT_ATOL = 1e-7  # ACTIVE_SET against Clarabel at 1e-12 (Clarabel's own error dominates)


@dataclass(frozen=True)
class AtMostHalfOf(cx.Constraint):
    """A user's linear rule: weight of ``small`` <= 0.5 * weight of ``large``."""

    small: str
    large: str

    def build(self, ctx):
        return [ctx.weight(self.small) <= 0.5 * ctx.weight(self.large)]


@dataclass(frozen=True)
class CVaRLimit(cx.Constraint):
    """A user's tail-risk limit through the window's scenarios (Rockafellar-Uryasev)."""

    beta: float
    limit: float

    def build(self, ctx):
        losses = -(ctx.returns @ ctx.weights)
        zeta = cp.Variable()
        tail = cp.sum(cp.pos(losses - zeta)) / ((1 - self.beta) * ctx.n_periods)
        return [zeta + tail <= self.limit * ctx.scale]


def empirical_cvar(losses: np.ndarray, beta: float) -> float:
    """Rockafellar-Uryasev CVaR of equally likely losses, from its definition as the minimum
    over zeta of zeta + E[(L - zeta)+] / (1 - beta), attained at the beta-quantile."""
    candidates = np.sort(losses)
    values = [z + np.mean(np.maximum(losses - z, 0)) / (1 - beta) for z in candidates]
    return float(min(values))


# --- the exact backend on general linear rows --------------------------------------------


@st.composite
def linear_problems(draw):
    n = draw(st.integers(3, 25))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    loadings = rng.normal(size=(n, 3))
    covariance = loadings @ loadings.T + np.diag(rng.uniform(0.05, 1.0, n))
    rows, rhs = [], []
    for _ in range(draw(st.integers(0, 3))):
        members = rng.choice(n, size=max(2, n // 3), replace=False)
        row = np.zeros(n)
        row[members] = 1.0
        rows += [row, -row]
        rhs += [rng.uniform(0.2, 0.7), -rng.uniform(0.0, 0.15)]
    upper = np.full(n, max(1.5 / n, rng.uniform(0.1, 0.6)))
    linear = rng.normal(size=n) * draw(st.sampled_from([0.0, 0.3]))
    G = np.array(rows).reshape(-1, n)
    return covariance, linear, G, np.array(rhs), np.zeros(n), upper


def kkt_certificate(qp: DenseQP, x: np.ndarray, active_tol: float = 1e-9) -> float:
    """Largest KKT violation of x, recomputed from x alone: primal feasibility, then the
    multipliers of the rows and bounds x holds with equality fitted by bounded least squares
    (equalities free, the rest >= 0); returns max(primal violation, stationarity residual
    relative to |2Sx + c|)."""
    primal = max(
        float(np.max(np.abs(qp.E @ x - qp.e), initial=0.0)),
        float(np.max(qp.G @ x - qp.h, initial=0.0)),
        float(np.max(qp.lower - x, initial=0.0)),
        float(np.max(x - qp.upper, initial=0.0)),
    )
    gradient = 2 * qp.S @ x + qp.c
    n = len(x)
    held_rows = qp.G[qp.G @ x - qp.h >= -active_tol]
    at_lower = np.flatnonzero(x - qp.lower <= active_tol)
    at_upper = np.flatnonzero(qp.upper - x <= active_tol)
    columns = [qp.E.T, held_rows.T, -np.eye(n)[:, at_lower], np.eye(n)[:, at_upper]]
    A = np.hstack([c.reshape(n, -1) for c in columns])
    low = np.r_[np.full(len(qp.e), -np.inf), np.zeros(A.shape[1] - len(qp.e))]
    fit = lsq_linear(A, -gradient, bounds=(low, np.full(A.shape[1], np.inf)), tol=1e-14)
    residual = np.max(np.abs(A @ fit.x + gradient)) / max(np.max(np.abs(gradient)), 1e-300)
    return max(primal, float(residual))


@settings(max_examples=60, deadline=None)
@given(linear_problems())
def test_property_the_active_set_with_rows_is_a_kkt_point_no_worse_than_clarabel(problem):
    covariance, linear, G, h, lower, upper = problem
    n = len(linear)
    x = cp.Variable(n)
    rows = [cp.sum(x) == 1, x >= lower, x <= upper]
    if len(h):
        rows.append(G @ x <= h)
    reference = cp.Problem(cp.Minimize(cp.quad_form(x, covariance) + linear @ x), rows)
    reference.solve(solver="CLARABEL", **CLARABEL_TIGHT)
    if reference.status != cp.OPTIMAL:
        return  # infeasible draw: nothing to compare
    qp = DenseQP(covariance, linear, np.ones((1, n)), np.ones(1), G, h, lower, upper)
    try:
        solution = solve_dense_qp(qp)
    except cx.solvers.active_set.ActiveSetError:
        return  # the chain hands it to Clarabel (tested below); never a wrong answer
    assert solution.kkt_residual <= 1e-9
    assert kkt_certificate(qp, solution.x) <= 1e-8  # independent of the kernel's own figure
    assert solution.objective <= reference.value + 1e-9 * max(1.0, abs(reference.value))
    # Clarabel's weights at 1e-12 carry its own error (up to 5e-7 on flat optima)
    np.testing.assert_allclose(solution.x, x.value, atol=1e-6, rtol=0)


def test_group_limits_and_a_users_linear_rule_are_solved_exactly(crypto_2021):
    group = cx.GroupLimits(("BTC/USDT", "ETH/USDT", "SOL/USDT"), lower=0.2, upper=0.45)
    rule = AtMostHalfOf("DOGE/USDT", "BTC/USDT")
    bounds = cx.WeightBounds(0.0, 0.3)
    fast = cx.MinimumVarianceAllocator(constraints=[bounds, group, rule])
    weights = fast.allocate(crypto_2021)
    assert fast.info_.solver == "ACTIVE_SET" and fast.info_.kkt_residual <= 1e-10
    # an independent plain-cvxpy formulation of the same problem
    n = crypto_2021.shape[1]
    cols = list(crypto_2021.columns)
    S = unit_scaled(np.cov(crypto_2021.to_numpy(), rowvar=False))
    w = cp.Variable(n)
    members = [cols.index(s) for s in group.symbols]
    rows = [cp.sum(w) == 1, w >= 0, w <= 0.3, cp.sum(w[members]) >= 0.2]
    rows += [cp.sum(w[members]) <= 0.45]
    rows += [w[cols.index("DOGE/USDT")] <= 0.5 * w[cols.index("BTC/USDT")]]
    cp.Problem(cp.Minimize(cp.quad_form(w, S)), rows).solve(solver="CLARABEL", **CLARABEL_TIGHT)
    np.testing.assert_allclose(weights, w.value, atol=EXACT_ATOL, rtol=0)
    table = cx.compare_solvers(fast, crypto_2021, solvers=["ACTIVE_SET", "CLARABEL", "OSQP"])
    assert table.loc["ACTIVE_SET", "status"] == "optimal"
    assert table["max_weight_diff"].max() <= SOLVER_ATOL["CLARABEL"]


def test_max_sharpe_with_bounds_and_a_group_is_exact_and_warm_starts_agree(crypto_returns):
    group = cx.GroupLimits(("BTC/USDT", "ETH/USDT"), upper=0.5)
    constraints = [cx.WeightBounds(0.0, 0.35), group]
    fast = cx.MaximumSharpeAllocator(constraints=constraints)
    named = cx.MaximumSharpeAllocator(constraints=constraints, solver="CLARABEL")
    for year in ("2021", "2023", "2024"):
        window = crypto_returns.loc[year]
        weights = fast.allocate(window)
        assert fast.info_.solver == "ACTIVE_SET"
        np.testing.assert_allclose(weights, named.allocate(window), atol=SOLVER_ATOL["CLARABEL"])
        cold = cx.MaximumSharpeAllocator(constraints=constraints).allocate(window)
        np.testing.assert_allclose(weights, cold, atol=1e-12, rtol=0)


# --- terms that see the data --------------------------------------------------------------


def test_a_users_cvar_limit_holds_against_the_empirical_tail(crypto_returns):
    window = crypto_returns.loc["2024"]
    limit = 0.0555  # between the least CVaR (0.0550) and minimum variance's (0.0566)
    allocator = cx.MinimumVarianceAllocator(constraints=[CVaRLimit(0.95, limit)])
    free = cx.MinimumVarianceAllocator().allocate(window)
    losses_free = -(window.to_numpy() @ free.to_numpy())
    assert empirical_cvar(losses_free, 0.95) > limit  # the limit binds
    weights = allocator.allocate(window)
    losses = -(window.to_numpy() @ weights.to_numpy())
    assert empirical_cvar(losses, 0.95) == pytest.approx(limit, abs=1e-7)
    # the same object works under Charnes-Cooper (homogeneous in ctx.scale)
    sharpe = cx.MaximumSharpeAllocator(constraints=[CVaRLimit(0.95, limit)])
    w = sharpe.allocate(window)
    assert empirical_cvar(-(window.to_numpy() @ w.to_numpy()), 0.95) <= limit + 1e-7


def test_benchmark_data_reaches_a_term_and_missing_data_is_named(crypto_2021):
    @dataclass(frozen=True)
    class ActiveReturnFloor(cx.Constraint):
        floor: float

        def build(self, ctx):
            mean_active = cp.sum(ctx.returns @ ctx.weights - ctx.benchmark_returns * ctx.scale)
            return [mean_active / ctx.n_periods >= self.floor * ctx.scale]

    benchmark = crypto_2021["BTC/USDT"]
    allocator = cx.MinimumVarianceAllocator(constraints=[ActiveReturnFloor(0.0)])
    weights = allocator.allocate(crypto_2021, benchmark_returns=benchmark)
    active = crypto_2021.to_numpy() @ weights.to_numpy() - benchmark.to_numpy()
    assert active.mean() >= -1e-9
    with pytest.raises(cx.InvalidInputError, match=r"benchmark_returns=\.\.\."):
        cx.MinimumVarianceAllocator(constraints=[ActiveReturnFloor(0.0)]).allocate(crypto_2021)


def test_a_term_that_is_not_dcp_or_not_dpp_is_named(crypto_2021):
    @dataclass(frozen=True)
    class Concave(cx.Constraint):
        def build(self, ctx):
            return [cp.sqrt(ctx.weights[0]) <= 0.5]

    @dataclass(frozen=True)
    class NotDpp(cx.Constraint):
        def build(self, ctx):
            return [ctx.returns @ (ctx.weights - ctx.benchmark_weights) <= 1]

    with pytest.raises(cx.InvalidInputError, match=r"Concave\(\) adds a row that is not DCP"):
        cx.MinimumVarianceAllocator(constraints=[Concave()]).allocate(crypto_2021)
    with pytest.raises(cx.InvalidInputError, match=r"NotDpp\(\) adds a row that is not DPP"):
        cx.MinimumVarianceAllocator(constraints=[NotDpp()]).allocate(crypto_2021)


# --- exposure and costs ---------------------------------------------------------------------


def test_long_short_with_a_gross_limit_matches_plain_cvxpy(crypto_2021):
    constraints = [
        cx.WeightBounds(-0.2, 0.5),
        cx.GrossExposure(1.5),
        cx.NetExposure(-0.1, 0.1, ("DOGE/USDT", "SOL/USDT")),
    ]
    allocator = cx.MinimumVarianceAllocator(long_only=False, constraints=constraints)
    weights = allocator.allocate(crypto_2021).to_numpy()
    S = unit_scaled(np.cov(crypto_2021.to_numpy(), rowvar=False))
    cols = list(crypto_2021.columns)
    pair = [cols.index("DOGE/USDT"), cols.index("SOL/USDT")]
    w = cp.Variable(len(cols))
    rows = [cp.sum(w) == 1, w >= -0.2, w <= 0.5, cp.norm1(w) <= 1.5]
    rows += [cp.sum(w[pair]) >= -0.1, cp.sum(w[pair]) <= 0.1]
    cp.Problem(cp.Minimize(cp.quad_form(w, S)), rows).solve(solver="CLARABEL", **CLARABEL_TIGHT)
    np.testing.assert_allclose(weights, w.value, atol=SOLVER_ATOL["CLARABEL"], rtol=0)
    assert weights.min() < -0.01  # it does short
    assert np.abs(weights).sum() <= 1.5 + 1e-7


def test_exposure_objects_refuse_bad_values():
    with pytest.raises(cx.InvalidInputError, match=r"GrossExposure\.limit"):
        cx.GrossExposure("2")
    with pytest.raises(cx.InfeasibleError, match="gross exposure >= 1"):
        cx.MinimumVarianceAllocator(constraints=[cx.GrossExposure(0.5)]).allocate(
            pd.DataFrame(np.random.default_rng(0).normal(size=(30, 3)), columns=list("abc"))
        )
    with pytest.raises(cx.InvalidInputError, match=r"NetExposure: lower"):
        cx.NetExposure(0.5, 0.1)
    with pytest.raises(cx.InvalidInputError, match=r"TransactionCost\.rate"):
        cx.TransactionCost(-0.01)
    with pytest.raises(cx.InvalidInputError, match=r"MinimumVarianceAllocator\.costs must be"):
        cx.MinimumVarianceAllocator(costs=0.001)
    allocator = cx.MaximumSharpeAllocator()
    with pytest.raises(cx.InvalidInputError, match=r"MaximumSharpeAllocator\.costs must be"):
        allocator.costs = "10 bps"  # checked when assigned later too
    assert allocator.costs is None


def test_transaction_costs_in_the_objective_match_plain_cvxpy(crypto_2021):
    n = crypto_2021.shape[1]
    previous = np.full(n, 1 / n)
    costs = cx.TransactionCost(rate=0.002, impact=0.01, cost_weight=1.0)
    allocator = cx.MinimumVarianceAllocator(costs=costs)
    weights = allocator.allocate(crypto_2021, previous_weights=previous).to_numpy()
    raw = np.cov(crypto_2021.to_numpy(), rowvar=False)
    w = cp.Variable(n)
    trade = w - previous
    objective = cp.quad_form(w, raw) + 0.002 * cp.norm1(trade) + 0.01 * cp.sum_squares(trade)
    scale = float(np.mean(np.diag(raw)))
    problem = cp.Problem(cp.Minimize(objective / scale), [cp.sum(w) == 1, w >= 0])
    problem.solve(solver="CLARABEL", **CLARABEL_TIGHT)
    np.testing.assert_allclose(weights, w.value, atol=SOLVER_ATOL["CLARABEL"], rtol=0)
    plain = cx.MinimumVarianceAllocator().allocate(crypto_2021).to_numpy()
    assert np.abs(weights - previous).sum() < np.abs(plain - previous).sum()  # it trades less
    assert costs.value(weights, previous) >= 0


def test_maximum_sharpe_net_of_costs_matches_a_direct_search(crypto_returns):
    window = crypto_returns.loc["2024"][["BTC/USDT", "ETH/USDT", "SOL/USDT"]]
    previous = np.array([0.6, 0.3, 0.1])
    costs = cx.TransactionCost(rate=0.0005)
    weights = cx.MaximumSharpeAllocator(costs=costs).allocate(window, previous_weights=previous)
    mean, cov = window.mean().to_numpy(), np.cov(window.to_numpy(), rowvar=False)

    def net_sharpe(w):
        return (mean @ w - costs.value(w, previous)) / np.sqrt(w @ cov @ w)

    grid = np.linspace(0, 1, 201)
    best = max(
        net_sharpe(np.array([a, b, 1 - a - b])) for a in grid for b in grid if a + b <= 1 + 1e-12
    )
    assert net_sharpe(weights.to_numpy()) >= best - 1e-9


# --- the manager: exposure, costs and a user's allocator --------------------------------------


class MomentumAllocator(Allocator):
    """Weights proportional to positive trailing mean returns, long only."""

    config_arguments: ClassVar[dict[str, str]] = {"constraints": "constraints"}

    def _allocate(self, returns, constraints, solver, data):
        mean = np.clip(returns.mean().to_numpy(), 0, None)
        return mean / mean.sum() if mean.sum() > 0 else np.full(len(mean), 1 / len(mean))


SPEC = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def test_a_users_allocator_is_backtested_as_object_class_or_registered_name():
    cx.register_allocator("momentum_test", MomentumAllocator)
    prices = cx.load_bundled_prices(SPEC)
    sharpes = []
    for spec in ("momentum_test", MomentumAllocator, MomentumAllocator()):
        config = cx.PortfolioConfig(symbols=SPEC, allocator=spec, lookback=30)
        sharpes.append(cx.PortfolioManager(config).backtest(prices).metrics["sharpe_ratio"])
    assert sharpes[0] == sharpes[1] == sharpes[2]
    # by hand: the first rebalance's target is the normalized positive mean of the window
    manager = cx.PortfolioManager(cx.PortfolioConfig(symbols=SPEC, allocator=MomentumAllocator))
    result = manager.backtest(prices)
    assert np.isfinite(result.metrics["total_return"])


def test_allocator_arguments_go_by_an_explicit_mapping_that_fails_loudly():
    class Renamed(MomentumAllocator):
        config_arguments: ClassVar[dict[str, str]] = {
            "limits": "constraints"
        }  # the constructor has no 'limits'

    class Unknown(MomentumAllocator):
        config_arguments: ClassVar[dict[str, str]] = {"constraints": "constraint_set"}

    for cls, message in ((Renamed, "does not take"), (Unknown, "unknown sources")):
        config = cx.PortfolioConfig(symbols=SPEC, allocator=cls)
        with pytest.raises(cx.InvalidInputError, match=message):
            cx.PortfolioManager(config).make_allocator()
    with pytest.raises(cx.InvalidInputError, match="no allocator registered as 'nope'"):
        cx.PortfolioConfig(symbols=SPEC, allocator="nope")
    with pytest.raises(cx.InvalidInputError, match="built-in"):
        cx.register_allocator("hrp", MomentumAllocator)


def test_config_long_short_and_cost_fields_are_validated_and_used():
    with pytest.raises(cx.InvalidInputError, match="allow_short"):
        cx.PortfolioConfig(symbols=SPEC, min_position_weight=-0.1).validate()
    with pytest.raises(cx.InvalidInputError, match="risk_parity"):
        cx.PortfolioConfig(
            symbols=SPEC, allocation_method="risk_parity", allow_short=True
        ).validate()
    with pytest.raises(cx.InvalidInputError, match="allow_short must be True or False"):
        cx.PortfolioConfig(symbols=SPEC, allow_short="yes")
    symbols = list(cx.BUNDLED_SYMBOLS)
    prices = cx.load_bundled_prices(symbols, start="2023-01-01")
    short = cx.PortfolioConfig(
        symbols=symbols,
        allocation_method="minimum_variance",
        allow_short=True,
        min_position_weight=-0.1,
        max_position_weight=0.4,
        max_gross_exposure=1.5,
    )
    manager = cx.PortfolioManager(short)
    allocator = manager.make_allocator()
    assert not allocator.long_only and cx.GrossExposure(1.5) in allocator.constraints
    manager.backtest(prices)
    plain = dict(symbols=symbols, allocation_method="minimum_variance", transaction_cost=0.002)
    costly = cx.PortfolioManager(cx.PortfolioConfig(**plain)).backtest(prices)
    aware = cx.PortfolioManager(cx.PortfolioConfig(**plain, optimize_costs=True)).backtest(prices)
    assert aware.metrics["total_costs"] < costly.metrics["total_costs"]
    assert aware.metrics["turnover"] < costly.metrics["turnover"]


def test_newton_reports_the_barrier_objective_and_hands_failures_to_the_chain(crypto_2021):
    allocator = cx.RiskParityAllocator()
    weights = allocator.allocate(crypto_2021)
    assert allocator.info_.solver == "NEWTON"
    named = cx.RiskParityAllocator(solver="CLARABEL")
    reference = named.allocate(crypto_2021)
    assert allocator.info_.objective == pytest.approx(named.info_.objective, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(weights, reference, atol=SOLVER_ATOL["CLARABEL"], rtol=0)


def test_a_backtest_with_a_group_limit_is_exact_built_once_and_matches_clarabel():
    symbols = list(cx.BUNDLED_SYMBOLS)
    prices = cx.load_bundled_prices(symbols, start="2022-01-01")
    group = cx.GroupLimits(("BTC/USDT", "ETH/USDT"), lower=0.3, upper=0.6)
    base = dict(
        symbols=symbols,
        allocation_method="minimum_variance",
        max_position_weight=0.4,
        constraints=(group,),
        lookback=120,
    )
    fast = cx.PortfolioManager(cx.PortfolioConfig(**base)).backtest(prices)
    slow = cx.PortfolioManager(cx.PortfolioConfig(**base, solver="CLARABEL")).backtest(prices)
    gap = (fast.weights_history - slow.weights_history).abs().max().max()
    assert gap <= 5e-6  # Clarabel's weight tolerance (SOLVER_ATOL) drifting through holdings
    # the allocator the manager builds: one declared problem, solved exactly at every window
    probe = cx.PortfolioManager(cx.PortfolioConfig(**base)).make_allocator()
    returns = cx.prices_to_returns(align_prices(prices).prices)
    for start in range(0, 600, 30):
        probe.allocate(returns.iloc[start : start + 120])
        assert probe.info_.solver == "ACTIVE_SET"
    assert probe.build_count_ == 1


def test_cash_as_an_explicit_asset_takes_what_its_bound_allows():
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    data = cx.add_cash_asset(cx.load_bundled_prices(symbols), annual_rate=0.04)
    closes = cx.align_prices(data).prices
    per_day = closes["CASH"].pct_change().dropna()
    np.testing.assert_allclose(per_day, 1.04 ** (1 / 365) - 1, rtol=0, atol=1e-15)
    returns = cx.prices_to_returns(closes).iloc[-365:]
    allocator = cx.MinimumVarianceAllocator(constraints=[cx.WeightBounds(upper={"CASH": 0.3})])
    weights = allocator.allocate(returns)
    # cash has no variance: minimum variance fills its bound, the rest is the risky optimum
    assert weights["CASH"] == pytest.approx(0.3, abs=1e-12)
    risky = cx.MinimumVarianceAllocator().allocate(returns[symbols])
    np.testing.assert_allclose(weights[symbols] / 0.7, risky, atol=1e-9)
    with pytest.raises(cx.InvalidInputError, match="already a symbol"):
        cx.add_cash_asset(data)


# --- factor form through the backends ---------------------------------------------------


class DenseOf:
    """The dense n x n matrix of a factor model estimator (the same covariance, dense path)."""

    def __init__(self, model) -> None:
        self.model = model

    def estimate(self, returns):
        return self.model.factor_model(returns).dense()


@pytest.mark.parametrize(
    "make",
    [
        lambda cov: cx.MinimumVarianceAllocator(
            covariance=cov, constraints=[cx.WeightBounds(0, 0.02), FACTOR_GROUP]
        ),
        lambda cov: cx.MaximumSharpeAllocator(
            covariance=cov, constraints=[cx.WeightBounds(0, 0.05)]
        ),
        lambda cov: cx.RiskParityAllocator(covariance=cov),
    ],
    ids=["min_variance_group", "max_sharpe_bounds", "risk_parity"],
)
def test_factor_form_and_dense_form_agree_through_the_backends(make):
    from cvxport.estimation import PCAFactorModel

    rng = np.random.default_rng(7)
    n, periods = 300, 400
    loadings = rng.normal(size=(n, 4)) * 0.01
    data = rng.normal(size=(periods, 4)) @ loadings.T + rng.normal(size=(periods, n)) * 0.01
    data += 0.0005 * rng.uniform(0, 1, n)  # some positive means, for maximum Sharpe
    index = pd.date_range("2021-01-01", periods=periods)
    returns = pd.DataFrame(data, index=index, columns=[f"A{i}" for i in range(n)])
    model = PCAFactorModel(n_factors=4)
    factor = make(model)
    dense = make(DenseOf(model))
    w_factor, w_dense = factor.allocate(returns), dense.allocate(returns)
    assert factor.info_.solver == dense.info_.solver  # the same exact backend, two forms
    assert factor.info_.solver in ("ACTIVE_SET", "NEWTON")
    np.testing.assert_allclose(w_factor, w_dense, atol=1e-9, rtol=0)


FACTOR_GROUP = cx.GroupLimits(tuple(f"A{i}" for i in range(30)), lower=0.1, upper=0.3)


def test_a_named_cvxpy_solver_takes_a_factor_model_through_its_dense_matrix(crypto_2021):
    from cvxport.estimation import PCAFactorModel

    model = PCAFactorModel(n_factors=3)
    exact = cx.MinimumVarianceAllocator(covariance=model)
    named = cx.MinimumVarianceAllocator(covariance=model, solver="CLARABEL")
    w_exact, w_named = exact.allocate(crypto_2021), named.allocate(crypto_2021)
    assert exact.info_.solver == "ACTIVE_SET" and named.info_.solver == "CLARABEL"
    np.testing.assert_allclose(w_exact, w_named, atol=SOLVER_ATOL["CLARABEL"], rtol=0)


def test_a_tangency_with_negative_net_exposure_is_named_never_flipped():
    """Without long-only, a tangency direction summing below zero has no fully invested
    version (kappa -> 0): both the exact backend and Clarabel must say so, never return the
    sign-flipped portfolio (which sums to 1 but has the opposite Sharpe ratio)."""
    rng = np.random.default_rng(1)
    periods = 400
    common = rng.normal(size=(periods, 1)) * 0.01
    data = np.hstack(
        [
            common + rng.normal(size=(periods, 1)) * 0.002 + 0.0005,
            common + rng.normal(size=(periods, 1)) * 0.002 + 0.0012,
            rng.normal(size=(periods, 1)) * 0.01 - 0.001,
        ]
    )
    returns = pd.DataFrame(data, columns=list("ABC"), index=pd.date_range("2020", periods=periods))
    mean, cov = returns.mean().to_numpy(), np.cov(data, rowvar=False)
    assert np.linalg.solve(cov, mean).sum() < 0  # the case: a negative-sum tangency
    for solver in (None, "CLARABEL"):
        with pytest.raises(cx.InfeasibleError, match="not attained by a fully invested"):
            cx.MaximumSharpeAllocator(long_only=False, solver=solver).allocate(returns)


def test_the_tail_programs_go_to_highs_lp_and_match_clarabel(crypto_2021):
    pytest.importorskip("highspy")
    bounds = [cx.WeightBounds(0.0, 0.3)]
    default = cx.MeanRiskAllocator(cx.CVaR(0.95), constraints=bounds)
    named = cx.MeanRiskAllocator(cx.CVaR(0.95), constraints=bounds, solver="CLARABEL")
    w_default, w_named = default.allocate(crypto_2021), named.allocate(crypto_2021)
    assert default.info_.solver == "HIGHS_LP" and default.info_.fallback_from == []
    measure = cx.CVaR(0.95)
    cvar_default = measure.value(w_default.to_numpy(), crypto_2021)
    cvar_named = measure.value(w_named.to_numpy(), crypto_2021)
    assert cvar_default <= cvar_named * (1 + 1e-8)  # an LP's optimum may not be unique
    cdar = cx.MeanRiskAllocator(cx.CDaR(0.95), constraints=bounds)
    cdar.allocate(crypto_2021)
    assert cdar.info_.solver == "HIGHS_LP"  # the LP backend, warm-started across windows
