"""The frontier's problems (``EfficientFrontier``), for a dense covariance or a factor model.

One problem serves every point, the minimum variance portfolio and the highest feasible return::

    minimize    a * w' S w - d' w
    subject to  sum(w) = 1,  c' w >= t,  the constraint objects

with Parameters ``a >= 0``, ``d``, ``c`` and ``t``. ``S`` is the unit-scaled covariance:

* dense: a constant of the problem, so it is DPP and cvxpy compiles it once (measured on
  cvxpy 1.9 with Clarabel, best of 5 runs of 20 targets, bounded long-only: 1.0 ms per point
  at n = 11 and 6.3 ms at n = 100, against 4.2 ms and 11.2 ms with ``S`` as a plain non-DPP
  Parameter; the Parameter ``a`` costs nothing measurable);
* a factor model G G' + diag(d): the DPP factor form of ``factor_cvxpy.variance_term`` (n k + n
  numbers, never n x n), ``a`` folded into its value (``a * S`` is the model scaled by ``a``,
  no risk term at all for the highest-return linear program), and the objective declared
  quadratic ``w' S w + linear' w`` (linear = -d), so that the exact ACTIVE_SET backend solves
  the frontier points in factor form whenever every constraint row is linear (the target
  return is a linear row).

``portfolio_for_risk`` adds the problem ``max d' w`` subject to ``sum(w) = 1`` and
``w' S w <= v`` (``risk_formulation``), in the same two forms.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from cvxport.estimation.factor_cvxpy import variance_term
from cvxport.problem import Formulation
from cvxport.solvers.declared import QuadraticObjective


def frontier_formulation(scaled: np.ndarray | None, n: int, width: int | None) -> Formulation:
    """The frontier problem over n weights: dense with the constant ``scaled`` covariance
    (``width`` None), else in factor form for models of at most ``width`` factors (the
    covariance then a method value, ``a`` and ``d`` given as ``covariance`` and ``linear``)."""
    w = cp.Variable(n, name="weights")
    c, t = cp.Parameter(n, name="target_mean"), cp.Parameter(name="target")
    rows = [cp.sum(w) == 1, c @ w >= t]
    if width is None:
        a = cp.Parameter(nonneg=True, name="variance_weight")
        d = cp.Parameter(n, name="return_weight")
        risk = cp.quad_form(w, cp.psd_wrap(scaled))
        return Formulation(
            variable=w,
            scale=1.0,
            objective=cp.Minimize(a * risk - d @ w),
            constraints=rows,
            parameters={"variance_weight": a, "return_weight": d, "target_mean": c, "target": t},
        )
    term = variance_term(w, width)
    linear = cp.Parameter(n, name="linear")
    return Formulation(
        variable=w,
        scale=1.0,
        objective=cp.Minimize(term.expression + linear @ w),
        constraints=rows,
        parameters={**term.parameters, "linear": linear, "target_mean": c, "target": t},
        declared=QuadraticObjective("covariance", "linear"),
        models=term.models,
        factor_width=width,
    )


def risk_formulation(scaled: np.ndarray | None, n: int, width: int | None) -> Formulation:
    """max d' w s.t. sum(w) = 1, w' S w <= v: S the constant ``scaled`` (DPP, compiled once),
    or in factor form with ``width`` (the covariance a method value)."""
    w = cp.Variable(n, name="weights")
    d = cp.Parameter(n, name="return_weight")
    v = cp.Parameter(nonneg=True, name="variance_limit")
    if width is None:
        risk, parameters, models = cp.quad_form(w, cp.psd_wrap(scaled)), {}, {}
    else:
        term = variance_term(w, width)
        risk, parameters, models = term.expression, term.parameters, term.models
    return Formulation(
        variable=w,
        scale=1.0,
        objective=cp.Maximize(d @ w),
        constraints=[cp.sum(w) == 1, risk <= v],
        parameters={**parameters, "return_weight": d, "variance_limit": v},
        models=models,
        factor_width=width,
    )
