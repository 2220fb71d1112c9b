"""EfficientFrontier.portfolio_for_return / portfolio_for_risk: closed forms on two assets,
monotonicity along the frontier, the round trip between both, named errors.

Tolerance: weights within SOLVER_ATOL['CLARABEL'] of the closed form (the default solver)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import SOLVER_ATOL, synthetic_returns

from cvxport import EfficientFrontier, InfeasibleError, InvalidInputError, WeightBounds

PPY = 365
ATOL = SOLVER_ATOL["CLARABEL"]


@pytest.fixture(scope="module")
def pair():
    returns = synthetic_returns(31, n_assets=2, n_periods=200)
    mu, S = returns.mean().to_numpy(), np.cov(returns.to_numpy().T)
    if mu[0] < mu[1]:  # asset 0 has the higher mean
        returns = returns.iloc[:, ::-1]
        mu, S = mu[::-1], S[::-1, ::-1]
    return EfficientFrontier(returns, periods_per_year=PPY), mu, S


def test_two_assets_for_a_target_return(pair):
    frontier, mu, S = pair
    a_min = (S[1, 1] - S[0, 1]) / (S[0, 0] + S[1, 1] - 2 * S[0, 1])
    assert 0 < a_min < 1  # the closed form below needs an interior minimum variance portfolio
    r_min = a_min * mu[0] + (1 - a_min) * mu[1]
    for r in np.linspace(r_min, mu[0], 5)[1:]:
        a = (r - mu[1]) / (mu[0] - mu[1])  # the only portfolio summing to 1 with mean r
        weights = frontier.portfolio_for_return(r * PPY)
        np.testing.assert_allclose(weights.to_numpy(), [a, 1 - a], atol=ATOL)
    below = frontier.portfolio_for_return(r_min * PPY * 0.5 if r_min > 0 else r_min * PPY * 2)
    np.testing.assert_allclose(below.to_numpy(), [a_min, 1 - a_min], atol=ATOL)


def test_two_assets_for_a_target_volatility(pair):
    frontier, _, S = pair
    A = S[0, 0] + S[1, 1] - 2 * S[0, 1]
    B = 2 * S[0, 1] - 2 * S[1, 1]
    a_min = -B / (2 * A)
    v_min = a_min**2 * S[0, 0] + (1 - a_min) ** 2 * S[1, 1] + 2 * a_min * (1 - a_min) * S[0, 1]
    for v in np.linspace(v_min, S[0, 0], 5)[1:]:
        roots = np.roots([A, B, S[1, 1] - v])
        a = max(r.real for r in roots if -1e-12 <= r.real <= 1 + 1e-12)  # the upper branch
        weights = frontier.portfolio_for_risk(np.sqrt(v * PPY))
        np.testing.assert_allclose(weights.to_numpy(), [a, 1 - a], atol=ATOL)
    # above the riskiest asset's volatility the answer is the highest-return portfolio
    top = frontier.portfolio_for_risk(2 * np.sqrt(S[0, 0] * PPY))
    np.testing.assert_allclose(top.to_numpy(), [1.0, 0.0], atol=ATOL)


def test_monotone_along_the_frontier_and_round_trip():
    returns = synthetic_returns(32, n_assets=5, n_periods=200)
    frontier = EfficientFrontier(returns, [WeightBounds(0, 0.5)], periods_per_year=PPY)
    bottom, top, _ = frontier.return_range()
    vols, rets = [], []
    for r in np.linspace(bottom, top, 6) * PPY:
        weights = frontier.portfolio_for_return(r)
        perf = frontier.portfolio_performance(weights)
        assert perf["expected_return"] >= r - 1e-9
        vols.append(perf["volatility"])
        back = frontier.portfolio_for_risk(perf["volatility"])
        np.testing.assert_allclose(back, weights, atol=ATOL)
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(vols))
    for vol in np.linspace(vols[0], vols[-1], 6):
        perf = frontier.portfolio_performance(frontier.portfolio_for_risk(vol))
        assert perf["volatility"] <= vol * (1 + 1e-7)
        rets.append(perf["expected_return"])
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(rets))


def test_named_errors(pair):
    frontier, mu, _ = pair
    with pytest.raises(InfeasibleError, match="exceeds the highest expected return"):
        frontier.portfolio_for_return(mu[0] * PPY * 2 + 1)
    with pytest.raises(InfeasibleError, match="below the minimum variance portfolio's"):
        frontier.portfolio_for_risk(1e-6)
    with pytest.raises(InvalidInputError, match="target_return must be a finite annual"):
        frontier.portfolio_for_return("10%")
    with pytest.raises(InvalidInputError, match="volatility must be a finite annual"):
        frontier.portfolio_for_risk(float("nan"))


def test_mean_risk_frontier_over_cvar():
    from cvxport import CVaR, MeanRiskAllocator
    from cvxport.analysis import mean_risk_frontier

    returns = synthetic_returns(33, n_assets=5, n_periods=120)
    bounds = [WeightBounds(0, 0.5)]
    frontier = mean_risk_frontier(returns, CVaR(0.9), n_points=5, constraints=bounds)
    assert list(frontier.columns[:3]) == ["target_return", "expected_return", "risk"]
    weights = frontier[list(returns.columns)].to_numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-9)
    assert (frontier["expected_return"] >= frontier["target_return"] - 1e-9).all()
    risks = frontier["risk"].to_numpy()
    assert np.all(np.diff(risks) >= -1e-7 * risks[:-1])  # more return costs risk
    least = MeanRiskAllocator(CVaR(0.9), constraints=bounds)
    least.allocate(returns)
    assert risks[0] == pytest.approx(least.risk_, rel=1e-7)
    for row, w in zip(frontier.itertuples(), weights, strict=True):  # each risk is the measure's
        assert row.risk == pytest.approx(CVaR(0.9).value(w, returns), rel=1e-12)
