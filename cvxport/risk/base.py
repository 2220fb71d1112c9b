"""The risk-measure protocol: small frozen objects giving a convex cvxpy expression of the weights.

A measure owns no cvxpy objects. ``expression(ctx)`` returns ``(expression, rows)``: a convex
scalar expression of ``ctx.weights`` (plus any auxiliary variables it creates, with the rows
that define them) and ``value(weights, returns, **data)`` computes the same figure in numpy.
Units are per-period fractions of NAV (the returns' own period), squared for the variances.

Homogeneity (``degree``): a measure of degree 1 is positively homogeneous, ``risk(k w) = k
risk(w)``, and writes its expression in ``ctx.scale`` (a target return enters as ``target *
ctx.scale``), so the same object serves a plain problem (scale 1), maximum Sharpe under
Charnes-Cooper (scale kappa) and the log-barrier risk budget (scale sum(y)). A measure of
degree 2 (variance, semi-variance) names its degree-1 square root (``root``); limits use it.
``degree = None``: not homogeneous, usable only where the scale is 1. Write your own::

    @dataclass(frozen=True)
    class WorstLoss(RiskMeasure):
        \"\"\"Largest one-period loss of the window, fraction of NAV.\"\"\"

        def expression(self, ctx):
            return cp.max(-(ctx.returns @ ctx.weights)), []

        def value(self, weights, returns, **data):
            return float(np.max(-portfolio_returns(weights, returns)))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.constraints.base import ProblemContext, nonfinite_constant
from cvxport.errors import InvalidInputError, named_user_errors


@dataclass(frozen=True)
class RiskMeasure:
    """Base of every risk measure: frozen, hashable, plain values only.

    Class attributes:
        degree: 1 (positively homogeneous, written in ``ctx.scale``), 2 (homogeneous of
            degree 2; ``root()`` is its degree-1 square root) or None (not homogeneous).
        covariance_form: 'variance' or 'deviation' when the measure is w' Sigma w or its root
            (the allocators then solve the exact QP); None otherwise.
    """

    degree: ClassVar[int | None] = 1
    covariance_form: ClassVar[str | None] = None
    #: cvxpy solvers measured faster than Clarabel on this measure's problems, tried first by
    #: the default chain where installed (``Formulation.preferred``)
    preferred_solvers: ClassVar[tuple[str, ...]] = ()

    def expression(self, ctx: ProblemContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Return (convex scalar expression of ``ctx.weights``, rows of auxiliary variables)."""
        raise NotImplementedError

    def value(self, weights: Any, returns: Any, **data: Any) -> float:
        """Return the measure of (n,) ``weights`` on (T, n) ``returns`` (numpy, per period)."""
        raise NotImplementedError

    def root(self) -> RiskMeasure | None:
        """For a degree-2 measure, the degree-1 measure whose square it is."""
        return None


def portfolio_returns(weights: Any, returns: Any) -> np.ndarray:
    """Return the (T,) portfolio returns ``returns @ weights`` (a Series aligned by symbol)."""
    if isinstance(returns, pd.DataFrame):
        if isinstance(weights, pd.Series):
            weights = weights.reindex(returns.columns)
        matrix = returns.to_numpy(dtype=float)
    else:
        matrix = np.asarray(returns, dtype=float)
    w = np.asarray(weights, dtype=float)
    if matrix.ndim != 2 or w.shape != (matrix.shape[1],) or not np.all(np.isfinite(w)):
        raise InvalidInputError(
            f"weights of shape {w.shape} do not match returns of shape {matrix.shape} "
            "(or hold NaN for a symbol missing from the weights)"
        )
    return matrix @ w


def tail_mean(losses: np.ndarray, beta: float) -> float:
    """Mean of the worst (1 - beta) share of T equally likely ``losses`` (Rockafellar-Uryasev).

    With k = (1 - beta) T not an integer, the boundary loss enters with weight k - floor(k):
    the value equals min_zeta zeta + sum(max(loss - zeta, 0)) / k exactly.
    """
    ordered = np.sort(np.asarray(losses, dtype=float))[::-1]
    k = (1.0 - beta) * len(ordered)
    whole = min(math.floor(k), len(ordered))
    total = ordered[:whole].sum()
    if whole < len(ordered):
        total += (k - whole) * ordered[whole]
    return float(total / k)


def check_beta(owner: str, beta: Any) -> float:
    """Return a confidence level in (0, 1); InvalidInputError naming ``owner`` otherwise."""
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 < beta < 1:
        raise InvalidInputError(f"{owner}.beta must be a number in (0, 1), got {beta!r}")
    return float(beta)


def need_periods(measure: RiskMeasure, ctx: ProblemContext, least: int = 1) -> int:
    """Return T, refusing a context without a returns window of ``least`` rows."""
    if ctx.n_periods < least:
        raise InvalidInputError(
            f"{measure!r} needs a returns window of at least {least} rows (the problem has "
            f"{ctx.n_periods}); use it in an allocator, which passes the window"
        )
    return ctx.n_periods


def measure_expression(
    measure: RiskMeasure, ctx: ProblemContext
) -> tuple[cp.Expression, list[cp.Constraint]]:
    """Return ``measure.expression(ctx)`` checked: a convex scalar, DCP rows, DPP where they
    hold Parameters; InvalidInputError naming the measure otherwise (never a raw cvxpy error)."""
    if not isinstance(measure, RiskMeasure):
        raise InvalidInputError(
            f"{measure!r} is not a cvxport RiskMeasure (subclass cvxport.RiskMeasure)"
        )
    with named_user_errors(measure, "build its expression"):
        built = measure.expression(ctx)
        expression, rows = built[0], list(built[1])
        expression = cp.Expression.cast_to_const(expression)
    if expression.size != 1:
        raise InvalidInputError(f"{measure!r} gave an expression of shape {expression.shape}")
    if not expression.is_convex():
        raise InvalidInputError(f"{measure!r} gave an expression that is not convex (DCP)")
    if expression.parameters() and not expression.is_dcp(dpp=True):
        raise InvalidInputError(
            f"{measure!r} gave an expression that is not DPP in its Parameters (e.g. a "
            "Parameter times a Parameter): cvxpy would recompile it at every solve"
        )
    for row in rows:
        if not isinstance(row, cp.constraints.constraint.Constraint):
            raise InvalidInputError(f"{measure!r} returned {row!r}, not a cvxpy constraint")
        if not row.is_dcp():
            raise InvalidInputError(f"{measure!r} adds a row that is not DCP: {row}")
        if row.parameters() and not row.is_dcp(dpp=True):
            raise InvalidInputError(f"{measure!r} adds a row that is not DPP: {row}")
    for item in (expression, *rows):
        bad = nonfinite_constant(item)
        if bad is not None:
            raise InvalidInputError(f"{measure!r} holds the number {bad}: {item}")
    return expression, rows
