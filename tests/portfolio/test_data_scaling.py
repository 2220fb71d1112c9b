"""Badly scaled data never gives a wrong answer reported optimal.

Scenario measures in MeanRiskAllocator on returns multiplied by 1e-8 (per-period std ~1e-10):
HiGHS once called a ratio 7x below the optimum optimal (rows of 1e-10 coefficients), and
Clarabel failed on the semi-deviation at 1e-4. The reference is the same problem on the
unscaled returns (the measures are positively homogeneous in the returns, so the weights are
the same and the risk scales by the factor), checked against the empirical measure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cvxport as cx

# Figures seen (T = 250, n = 6): the scaled weights' ratio within 1.3e-12 of the reference's
# (semi-deviation, Clarabel), 1e-15 for the LPs; risk_ within 4e-8 relative (Clarabel's
# tolerance on the semi-deviation), 1e-15 for the LPs. Bounds are about 10 times those.
RATIO_RTOL = 1e-10
RISK_RTOL = 1e-6
# Clarabel's second-order cone (the semi-deviation): the expected return under a risk limit
# 6e-10 relative from the reference's (solved unscaled, data_scale 1); HiGHS's LPs 1e-15
CONE_RTOL = 1e-8
MEASURES = [cx.CVaR(0.95), cx.CDaR(0.95), cx.MeanAbsoluteDeviation(), cx.SemiDeviation()]


def _returns(seed: int = 3, n_rows: int = 250) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 0.005, (n_rows, 1))
    values = rng.normal(0.0005, 0.01, (n_rows, 6)) + common
    values[:, 0] += 0.001
    index = pd.date_range("2023-01-01", periods=n_rows, freq="D", name="timestamp")
    return pd.DataFrame(values, index=index, columns=list("abcdef"))


def _ratio(measure, weights, returns) -> float:
    return float(returns.mean().to_numpy() @ weights) / measure.value(weights, returns)


@pytest.mark.parametrize("measure", MEASURES, ids=repr)
@pytest.mark.parametrize("factor", [1e-4, 1e-8])
def test_ratio_on_tiny_returns_is_the_ratio_on_the_unscaled_ones(measure, factor):
    returns = _returns()
    reference = cx.MeanRiskAllocator(risk=measure, objective="ratio").allocate(returns)
    best = _ratio(measure, reference.to_numpy(), returns)
    allocator = cx.MeanRiskAllocator(risk=measure, objective="ratio")
    weights = allocator.allocate(returns * factor)
    assert allocator.info_.status == "optimal"
    # the same ratio as the reference (7x worse for MAD at 1e-8 before, 0.72x for CDaR)
    assert _ratio(measure, weights.to_numpy(), returns) >= best * (1 - RATIO_RTOL)
    # risk_ in the returns' units: the measure of the weights on the scaled window
    empirical = measure.value(weights.to_numpy(), returns * factor)
    assert allocator.risk_ == pytest.approx(empirical, rel=1e-12, abs=0)
    assert allocator.risk_ / factor == pytest.approx(
        measure.value(reference.to_numpy(), returns), rel=RISK_RTOL
    )


@pytest.mark.parametrize("measure", [*MEASURES[:3], cx.SemiDeviation(0.0)], ids=repr)
def test_a_risk_limit_on_tiny_returns_holds_and_binds_as_on_unscaled_ones(measure):
    # the CVaR limit was met 38% over (0.0221 for 0.016), reported optimal, at 1e-8
    returns, factor = _returns(), 1e-8
    least = cx.MeanRiskAllocator(risk=measure).allocate(returns)
    limit = 1.2 * measure.value(least.to_numpy(), returns)
    reference = cx.MeanRiskAllocator(risk=measure, objective="max_return", max_risk=limit)
    expected = reference.allocate(returns)
    allocator = cx.MeanRiskAllocator(risk=measure, objective="max_return", max_risk=limit * factor)
    weights = allocator.allocate(returns * factor)
    assert allocator.risk_ <= limit * factor * (1 + RISK_RTOL)
    assert allocator.risk_ / factor == pytest.approx(reference.risk_, rel=RISK_RTOL)
    linear = not isinstance(measure, cx.SemiDeviation)
    assert allocator.expected_return_ / factor == pytest.approx(
        reference.expected_return_, rel=RATIO_RTOL if linear else CONE_RTOL, abs=0
    )
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-6)


BUDGET = dict(zip("abcdef", [0.3, 0.2, 0.2, 0.1, 0.1, 0.1], strict=True))
LIMITED = {  # allocator with constraints, its allocate data
    "minimum_variance": (lambda c: cx.MinimumVarianceAllocator(constraints=c), {}),
    "maximum_sharpe": (lambda c: cx.MaximumSharpeAllocator(constraints=c), {}),
    "risk_budget": (lambda c: cx.RiskBudgetAllocator(constraints=c), {"risk_budget": BUDGET}),
    # the quadratic form of MeanRiskAllocator (variance): 2% over
    "mean_variance": (lambda c: cx.MeanRiskAllocator(risk="variance", constraints=c), {}),
}


@pytest.mark.parametrize("method", LIMITED)
@pytest.mark.parametrize("measure", [cx.CVaR(0.95), cx.MeanAbsoluteDeviation()], ids=repr)
def test_a_risk_limit_under_other_methods_holds_on_tiny_returns(method, measure):
    # before: on returns x1e-8 the limit was met 2% (minimum variance, CVaR) to 17% over
    # (maximum Sharpe), reported optimal; risk budgeting failed (NEWTON_QP: no descent)
    make, data = LIMITED[method]
    returns, factor = _returns(), 1e-8
    least = measure.value(cx.MeanRiskAllocator(risk=measure).allocate(returns).to_numpy(), returns)
    free = measure.value(make(None).allocate(returns, **data).to_numpy(), returns)
    limit = least + 0.3 * (free - least)  # binding: between the least and the free value
    allocator = make([cx.RiskLimit(measure, limit)])
    expected = allocator.allocate(returns, **data).to_numpy()
    limited = make([cx.RiskLimit(measure, limit * factor)])
    weights = limited.allocate(returns * factor, **data).to_numpy()
    assert limited.info_.status == "optimal"
    # 1e-8: Clarabel met unscaled limits within 2e-10, NEWTON_QP 1e-14
    assert measure.value(weights, returns * factor) <= limit * factor * (1 + 1e-8)
    assert measure.value(weights, returns) == pytest.approx(limit, rel=1e-6)  # it binds
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-6)


def test_a_risk_limit_beside_the_mean_variance_utility_on_tiny_returns():
    # mu'w - lambda w'Sw at returns x f equals f (mu'w - lambda f w'Sw): lambda / f keeps
    # the optimum. Before: Clarabel 'unbounded', then a false InfeasibleError (the least CVaR
    # solved at scale 1 was above the limit)
    returns, factor, measure = _returns(), 1e-8, cx.CVaR(0.95)
    least = measure.value(cx.MeanRiskAllocator(risk=measure).allocate(returns), returns)
    limit = 1.05 * least

    def utility(aversion, bound):
        return cx.MeanRiskAllocator(
            risk="variance", objective="utility", risk_aversion=aversion,
            constraints=[cx.RiskLimit(measure, bound)],
        )  # fmt: skip

    expected = utility(2.0, limit).allocate(returns).to_numpy()
    weights = utility(2.0 / factor, limit * factor).allocate(returns * factor).to_numpy()
    assert measure.value(weights, returns) <= limit * (1 + 1e-8)
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-6)


def test_a_problem_is_kept_across_windows_and_rebuilt_for_another_scale():
    returns = _returns(n_rows=300) * 1e-8
    allocator = cx.MinimumVarianceAllocator(constraints=[cx.WeightBounds(0.0, 0.4)])
    for start in range(0, 50, 10):
        allocator.allocate(returns.iloc[start : start + 250])
    assert allocator.build_count_ == 1
    allocator.allocate(returns.iloc[:250] * 1e8)  # another scale: built for it once
    allocator.allocate(returns.iloc[10:260] * 1e8)
    assert allocator.build_count_ == 2


@pytest.mark.parametrize("measure", MEASURES, ids=repr)
def test_utility_on_tiny_returns_has_the_unscaled_weights(measure):
    # mu' w - lambda risk(w) is homogeneous of degree 1 in the returns: the same weights
    returns, factor = _returns(), 1e-8
    expected = cx.MeanRiskAllocator(risk=measure, objective="utility", risk_aversion=2.0)
    allocator = cx.MeanRiskAllocator(risk=measure, objective="utility", risk_aversion=2.0)
    np.testing.assert_allclose(
        allocator.allocate(returns * factor), expected.allocate(returns), rtol=0, atol=1e-6
    )


def test_cvar_risk_is_the_empirical_tail_mean_on_tiny_returns():
    returns = _returns() * 1e-8
    allocator = cx.MeanRiskAllocator(risk=cx.CVaR(0.95), objective="min_risk")
    weights = allocator.allocate(returns).to_numpy()
    losses = np.sort(-(returns.to_numpy() @ weights))[::-1]
    k = 0.05 * len(losses)  # 12.5 worst scenarios: the 13th counts one half
    tail = (losses[:12].sum() + 0.5 * losses[12]) / k
    assert allocator.risk_ == pytest.approx(tail, rel=1e-12, abs=0)
    reference = cx.MeanRiskAllocator(risk=cx.CVaR(0.95), objective="min_risk")
    reference.allocate(returns * 1e8)
    assert allocator.risk_ * 1e8 == pytest.approx(reference.risk_, rel=1e-9)


def test_a_backtest_reuses_the_problem_across_windows_of_similar_scale():
    returns = _returns(n_rows=300)
    allocator = cx.MeanRiskAllocator(risk=cx.CVaR(0.95), objective="ratio")
    for start in range(0, 50, 10):
        allocator.allocate(returns.iloc[start : start + 250])
    assert allocator.build_count_ == 1
    allocator.allocate(returns.iloc[:250] * 1e-8)  # another scale: built for it once
    allocator.allocate(returns.iloc[10:260] * 1e-8)
    assert allocator.build_count_ == 2


# --- maximum Sharpe over assets of scales 1e9 apart --------------------------------------------
def _sharpe(weights, returns) -> float:
    w = np.asarray(weights)
    return float(returns.mean() @ w) / float(np.sqrt(w @ returns.cov().to_numpy() @ w))


@pytest.mark.parametrize("factor", [1e-9, 1e-5])
def test_clarabel_on_assets_of_distant_scales_is_refused_not_reported_optimal(factor):
    returns = _returns()
    returns[["a", "b"]] *= factor
    exact = cx.MaximumSharpeAllocator().allocate(returns)  # the active set: exact
    try:
        weights = cx.MaximumSharpeAllocator(solver="CLARABEL").allocate(returns)
    except cx.SolverError as exc:
        message = str(exc)
        assert "MaximumSharpeAllocator: CLARABEL reported optimal" in message
        assert "asset standard deviations from" in message and "ACTIVE_SET reaches" in message
        assert exc.solver == "CLARABEL"
    else:  # should Clarabel ever solve it, its answer must be the optimum
        assert _sharpe(weights, returns) >= _sharpe(exact, returns) * (1 - 1e-8)


def test_clarabel_on_assets_of_distant_scales_keeps_a_right_answer():
    returns = _returns()
    returns[["a", "b"]] *= 1e4  # Clarabel within 1e-14 of the exact Sharpe ratio here
    exact = cx.MaximumSharpeAllocator().allocate(returns)
    allocator = cx.MaximumSharpeAllocator(solver="CLARABEL")
    weights = allocator.allocate(returns)
    assert allocator.info_.solver == "CLARABEL"
    assert _sharpe(weights, returns) >= _sharpe(exact, returns) * (1 - 1e-8)


def test_clarabel_answer_over_distant_scales_with_rows_no_exact_backend_takes_is_refused():
    returns = _returns()
    returns[["a", "b"]] *= 1e-9
    limit = cx.RiskLimit(cx.CVaR(0.95), 0.05)  # not a linear row in the weights alone
    allocator = cx.MaximumSharpeAllocator(constraints=[limit], solver="CLARABEL")
    with pytest.raises(cx.SolverError, match="cannot be certified: the exact ACTIVE_SET does"):
        allocator.allocate(returns)


def test_a_limit_far_below_its_least_on_tiny_returns_is_named_as_below_it():
    # the diagnosis at scale 1 finds no conflict on returns x1e-8; the least value then named
    # the limit as met 'only on the boundary of the domain, within 1e-07' while the least
    # was 60% above it
    returns, factor = _returns(), 1e-8
    measure = cx.StandardDeviation()
    least = measure.value(cx.MeanRiskAllocator(risk=measure).allocate(returns), returns)
    limit = cx.RiskLimit(measure, 0.6 * least * factor)
    with pytest.raises(cx.InfeasibleError, match=r"the least .* is [0-9.e-]+ > limit") as info:
        cx.MinimumVarianceAllocator(constraints=[limit]).allocate(returns * factor)
    assert "boundary" not in str(info.value) and limit in info.value.conflicting
    # the least named is the measure's least on the scaled window (was 0.7% off: solved on
    # rows of 1e-10 coefficients), as test_risk_budget_measure_limits asks at scale 1
    named = float(str(info.value).rsplit("is ", 1)[1].split(" >")[0])
    assert named == pytest.approx(least * factor, rel=1e-5, abs=0)
