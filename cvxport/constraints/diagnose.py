"""Explain infeasibility: find a smallest set of constraint objects that cannot hold together.

A deletion filter over the constraint objects: starting from all of them (plus the budget
``sum(w) == 1``, always kept), drop each object in turn and keep it dropped when the rest is
still infeasible. What remains is an irreducible infeasible subset: every object in it is
needed for the conflict. Each check is a small feasibility problem on a plain (scale = 1)
weight variable, so it costs a few milliseconds per object and runs only after a failure.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.constraints.base import Constraint, ProblemContext
from cvxport.solvers import installed_solvers

_FEASIBILITY_SOLVERS = ("CLARABEL", "ECOS", "SCS")
#: the window's key for the method problem's data scale (``ProblemContext.data_scale``): a
#: ``RiskLimit`` writes its rows at it here too (on returns x1e-8 a least value solved on
#: rows of 1e-10 coefficients was 0.7% off, and a conflict could go unseen)
DATA_SCALE_KEY = "data_scale"


def scale_one_problem(
    constraints: Sequence[Constraint],
    assets: pd.Index,
    data: Mapping[str, Any] | None = None,
    window: Mapping[str, Any] | None = None,
    objective: Callable[[ProblemContext], tuple[cp.Expression, list]] | None = None,
) -> tuple[cp.Expression, list[cp.Constraint]]:
    """Return (objective, rows): ``constraints`` over plain weights (scale 1) summing to 1,
    their Parameters and the window's (by Parameter name) set, at the window's
    ``DATA_SCALE_KEY`` (1.0 without it). ``objective(ctx)`` gives an expression to minimize
    and its rows (built before the values are set); None: 0."""
    window = window or {}
    weights = cp.Variable(len(assets))
    periods = window.get("data:returns", window.get("data:benchmark_returns", np.zeros(0)))
    root = window.get("data:factor_root")  # a factor-form problem's covariance
    width = None if root is None else int(np.shape(root)[1])
    ctx = ProblemContext(
        weights=weights,
        scale=1.0,
        assets=assets,
        n_periods=len(periods),
        factor_width=width,
        data_scale=float(window.get(DATA_SCALE_KEY, 1.0)),
    )
    rows: list[cp.Constraint] = [cp.sum(weights) == 1]
    for constraint in constraints:
        rows += constraint.build(ctx)
    expression: cp.Expression = cp.Constant(0.0)
    if objective is not None:
        expression, extra = objective(ctx)
        rows += list(extra)
    for constraint in constraints:
        for name, value in constraint.parameter_values(assets, data or {}).items():
            ctx.parameters[name].value = value
    for name, value in window.items():
        if name in ctx.parameters:
            ctx.parameters[name].value = value
    return expression, rows


def is_feasible(
    constraints: Sequence[Constraint],
    assets: pd.Index,
    data: Mapping[str, Any] | None = None,
    window: Mapping[str, Any] | None = None,
) -> bool:
    """Return True when some weights summing to 1 satisfy every constraint object.

    ``window`` holds the values of the window data Parameters (by Parameter name) the
    objects use (``ctx.returns``...)."""
    _, rows = scale_one_problem(constraints, assets, data, window)
    problem = cp.Problem(cp.Minimize(0), rows)
    for solver in _FEASIBILITY_SOLVERS:
        if solver in installed_solvers():
            try:
                with warnings.catch_warnings():  # an inaccurate status is read below
                    warnings.filterwarnings("ignore", category=UserWarning)
                    problem.solve(solver=solver)
            except cp.error.SolverError:
                continue
            if problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
                return True
            if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
                return False
    return True  # no solver could decide: do not blame anything


def conflicting_constraints(
    constraints: Sequence[Constraint],
    assets: pd.Index,
    data: Mapping[str, Any] | None = None,
    window: Mapping[str, Any] | None = None,
) -> list[Constraint]:
    """Return an irreducible subset of ``constraints`` that is infeasible with sum(w) == 1.

    Returns an empty list when the constraints together are feasible.
    """
    kept = list(dict.fromkeys(constraints))
    if is_feasible(kept, assets, data, window):
        return []
    for candidate in list(kept):
        rest = [c for c in kept if c is not candidate]
        if not is_feasible(rest, assets, data, window):
            kept = rest
    return kept


def describe_conflict(conflict: Sequence[Constraint]) -> str:
    """Return a one-line description of a conflict for an InfeasibleError message."""
    if not conflict:
        return "the method's own conditions: the constraint objects alone are feasible"
    return " and ".join(repr(c) for c in conflict) + " together with sum(w) == 1"
