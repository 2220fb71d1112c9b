"""Checks of the Charnes-Cooper ratio problems: an excess mean with a positive best asset, and
a solver's "infeasible" checked against the best asset held alone.

The Charnes-Cooper row (mu - rf)' y = 1 has a feasible point whenever one asset beats the
risk-free rate and may be held alone: y = e_best / excess_best. A solver that still reports
the problem infeasible has lost the row to scaling (asset variances spanning 1e18, the
excess means 1e9 apart: OSQP does), and the message must say so instead of claiming that no
portfolio beats the risk-free rate while naming one that does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.constraints.base import Constraint, ProblemContext
from cvxport.constraints.diagnose import is_feasible
from cvxport.errors import CvxportError, InfeasibleError, SolverError
from cvxport.risk.moments import quadratic_value
from cvxport.solvers.chain import backend_named
from cvxport.solvers.options import installed_solvers

# Without LongOnly or bounds, when the best Sharpe ratio is only approached by zero-sum
# portfolios, the solver returns kappa ~ its tolerance and weights y / kappa of order 1e8-1e10.
# A genuine tangency portfolio levered a million times is not a portfolio either.
MAX_GROSS_EXPOSURE = 1e6  # sum |w|, multiples of NAV


def best_excess(excess: np.ndarray, assets: pd.Index, consequence: str) -> int:
    """Return the position of the largest (n,) ``excess`` mean (per period over the risk-free
    rate); raise InfeasibleError naming that asset when it is not positive, ending the message
    with ``consequence`` (what does not exist then).

    Scale the Charnes-Cooper row by ``excess[best]`` (not by max |excess|): the best asset
    alone then meets it at size 1, where max |excess| put it at 1e-9 beside a large-scale asset
    that lost money and the solver called the row infeasible (tests/portfolio/test_reliability.py).
    """
    best = int(np.argmax(excess))
    if excess[best] <= 0:
        raise InfeasibleError(
            f"no asset's expected return beats the risk-free rate: the best is "
            f"{assets[best]!r} with mean excess return {excess[best]:.6g} per period, so "
            f"{consequence}"
        )
    return best


@dataclass(frozen=True)
class HeldAlone(Constraint):
    """The whole portfolio in ``symbol`` (weight 1, every other weight 0)."""

    symbol: str

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return ``w == e_symbol * scale``."""
        alone = np.zeros(ctx.n_assets)
        alone[ctx.index_of(self.symbol)] = 1.0
        return [ctx.weights == alone * ctx.scale]


def refuse_false_infeasibility(
    exc: Exception,
    constraints: Sequence[Constraint],
    assets: pd.Index,
    excess: np.ndarray,
    data: Mapping[str, Any],
) -> None:
    """Raise SolverError (from ``exc``) when the asset with the best excess mean (> 0, per
    period) may be held alone under ``constraints``: a portfolio beating the risk-free rate
    then exists, so the solver's infeasibility is a numerical failure, named as such."""
    best = int(np.argmax(excess))
    try:
        alone_is_allowed = is_feasible([*constraints, HeldAlone(assets[best])], assets, data)
    except (CvxportError, cp.error.CVXPYError, ValueError, TypeError):
        return  # constraints that need the window's data: no claim either way
    if not alone_is_allowed:
        return
    raise SolverError(
        f"the solver reported the maximum Sharpe problem infeasible, yet {assets[best]!r} alone "
        f"satisfies {list(constraints)} and beats the risk-free rate by {excess[best]:.6g} per "
        "period: a numerical failure (asset scales differ widely?); use solver=None (the exact "
        "active set) or 'CLARABEL'",
        status="infeasible",
    ) from exc


def refuse_unattained_ratio(
    weights: np.ndarray,
    ratio: str,
    constraints: Sequence[Constraint],
    why: str = "",
    detail: str = "",
) -> None:
    """Raise InfeasibleError when the (n,) ``weights`` of a Charnes-Cooper ratio problem have
    gross exposure sum |w| above ``MAX_GROSS_EXPOSURE`` (multiples of NAV): the ``ratio`` is
    then only approached as kappa -> 0, not attained by a fully invested portfolio."""
    gross = float(np.abs(weights).sum())
    if gross > MAX_GROSS_EXPOSURE:
        raise InfeasibleError(
            f"the {ratio} is not attained by a fully invested portfolio under "
            f"{list(constraints)}{why} ({detail}gross exposure {gross:.3g} x NAV); "
            "add LongOnly() or WeightBounds",
            conflicting=(),
        )


#: per-asset standard deviations spanning more than this factor: a cvxpy solver's maximum
#: Sharpe answer is checked against the exact active set (Clarabel was 2% below the optimum
#: at a 1e5 spread and 0.4-30% at 1e9, reported optimal; within 1e-12 at spreads below 10)
SCALE_SPREAD = 1e3
#: a cvxpy solver's Sharpe ratio may be this much below the exact one (relative): the ratio is
#: flat at its maximum, so weights within Clarabel's 5e-6 give about 1e-11
SHARPE_RTOL = 1e-8


def sharpe(weights: np.ndarray, excess: np.ndarray, covariance: Any) -> float:
    """(excess @ w) / sqrt(w' Sigma w) per period, Sigma an (n, n) array or a factor model."""
    return float(excess @ weights) / max(quadratic_value(covariance, weights), 0.0) ** 0.5


def certify_scaled_sharpe(
    owner: str,
    solver: str,
    problem: Any,
    values: Mapping[str, Any],
    weights: np.ndarray,
    returns: pd.DataFrame,
    excess: np.ndarray,
    covariance: Any,
) -> None:
    """Where a cvxpy solver answered a maximum Sharpe problem over assets whose standard
    deviations span more than ``SCALE_SPREAD``, re-solve with the exact ACTIVE_SET and raise
    SolverError (naming ``owner``, the solver and the spread) when the answer's Sharpe ratio is
    more than ``SHARPE_RTOL`` below the exact one, or when no exact backend takes the problem
    (rows that are not linear): the answer then cannot be certified."""
    if solver not in installed_solvers(True):  # an exact backend answered
        return
    deviations = np.std(returns.to_numpy(dtype=float), axis=0, ddof=1)
    deviations = deviations[deviations > 0]
    if deviations.size < 2 or deviations.max() <= SCALE_SPREAD * deviations.min():
        return
    spread = f"asset standard deviations from {deviations.min():.3g} to {deviations.max():.3g}"
    remedy = "use solver=None (the exact active set) or returns of similar scales"
    exact = backend_named("ACTIVE_SET")
    reason = exact.refusal(problem)
    if reason is not None:
        raise SolverError(
            f"{owner}: {solver}'s answer over {spread} (a spread above {SCALE_SPREAD:g}) cannot "
            f"be certified: the exact ACTIVE_SET does not take the problem ({reason}); {remedy}",
            solver=solver,
        )
    try:
        variable, scale, _ = exact.solve(problem, values)
    except CvxportError as exc:
        raise SolverError(
            f"{owner}: {solver}'s answer over {spread} (a spread above {SCALE_SPREAD:g}) cannot "
            f"be certified: the exact ACTIVE_SET failed on it ({exc}); {remedy}",
            solver=solver,
        ) from exc
    best = sharpe(np.asarray(variable / scale), excess, covariance)
    found = sharpe(weights, excess, covariance)
    if found < best - SHARPE_RTOL * abs(best):
        raise SolverError(
            f"{owner}: {solver} reported optimal a portfolio of Sharpe ratio {found:.9g} per "
            f"period over {spread}, where the exact ACTIVE_SET reaches {best:.9g} (more than "
            f"{SHARPE_RTOL:g} relative below): the solver lost the small-scale assets; {remedy}",
            solver=solver,
            status="inaccurate",
        )
