"""The ACTIVE_SET_TE backend: a quadratic objective under linear rows and one tracking-error
limit measured with the objective's covariance, solved exactly by ``tracking_kernel``.

It accepts a problem at scale 1 whose objective is declared quadratic (minimum variance, the
variance of ``MeanRiskAllocator`` with or without a utility's linear term) and whose rows are
linear except those of ONE constraint object declaring an ellipsoid row ``||A w - a|| <=
radius`` through ``ellipsoid_row(ctx)`` from the class that builds it (``RiskLimit`` over
``TrackingError``, against benchmark weights or benchmark returns). That object's cvxpy rows
are replaced by its declaration; the others are read from cvxpy (``linear_rows``).

The method needs A'A proportional to the objective's covariance (the tracking error measured
with the same sample covariance as the variance): checked at every solve, and a problem where
it fails (another covariance estimator, a factor model) raises ``SolverError``, so the chain
goes on to cvxpy, recorded in ``info_.fallback_from``. A limit below the smallest tracking
error the other rows allow raises ``InfeasibleError`` naming the limit and the objects in
conflict with it (found exactly here, not by cvxpy's feasibility problems).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from cvxport.errors import InfeasibleError, SolverError
from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.backend import Backend
from cvxport.solvers.declared import QuadraticObjective
from cvxport.solvers.linear_rows import LinearRows, RowReader, nonlinear_row
from cvxport.solvers.parametric_qp import solve_along
from cvxport.solvers.qp_kernel import DenseQP
from cvxport.solvers.result import SolveInfo, exact_info
from cvxport.solvers.tracking_kernel import (
    UNATTAINABLE_TOLERANCE,
    EllipsoidRow,
    LimitUnattainableError,
    proportionality,
    solve_tracking_qp,
)

if TYPE_CHECKING:
    from cvxport.problem import ParametrizedProblem

NAME = "ACTIVE_SET_TE"


def declares_ellipsoid_row(constraint: Any) -> bool:
    """True when ``constraint`` declares an ellipsoid row (``ellipsoid_row``) from the class
    that builds it and says so for its current measure (``declares_ellipsoid``)."""
    if not callable(getattr(constraint, "ellipsoid_row", None)):
        return False
    mro = type(constraint).__mro__
    owner = next((k for k in mro if "ellipsoid_row" in vars(k)), None)
    if owner is not next((k for k in mro if "build" in vars(k)), None):
        return False
    return getattr(constraint, "declares_ellipsoid", False) is True


class TrackingBackend(Backend):
    """Exact solve of a declared QP with linear rows and one tracking-error limit."""

    name = NAME

    def refusal(self, problem: ParametrizedProblem) -> str | None:
        """Why the problem is not a QP with linear rows and one ellipsoid row, or None."""
        state = problem.backend_state.setdefault(NAME, {})
        if "refusal" not in state:
            found = [c for c in problem.constraints if declares_ellipsoid_row(c)]
            state["row"] = found[0] if len(found) == 1 else None
            state["refusal"] = _refusal(problem, found)
        return state["refusal"]

    def solve(
        self, problem: ParametrizedProblem, values: Mapping[str, Any]
    ) -> tuple[np.ndarray, float, SolveInfo]:
        """Solve exactly, starting from the last solve's multiplier and working set."""
        start = time.perf_counter()
        state = problem.backend_state[NAME]
        declared: QuadraticObjective = problem.formulation.declared
        limit_object = state["row"]
        covariance = values[declared.covariance]
        if not isinstance(covariance, np.ndarray):
            raise SolverError(
                f"{NAME}: the covariance is a factor model, and {limit_object!r} measures "
                "with the sample covariance (not a multiple of it)",
                solver=NAME,
            )
        if "reader" not in state:
            skip = {id(row) for row in problem.rows_by_constraint[limit_object]}
            rows = [row for row in problem.rows if id(row) not in skip]
            state["reader"] = RowReader(problem.formulation.variable, 1.0, rows)
        reader: RowReader = state["reader"]
        problem.assign_deferred(reader.parameter_ids)
        try:
            rows = reader.read()
        except ValueError as exc:
            raise SolverError(f"{NAME}: {exc}", solver=NAME) from exc
        n = len(rows.lower)
        linear = (
            np.zeros(n)
            if declared.linear is None
            else np.asarray(values[declared.linear], dtype=float)
        )
        covariance = np.asarray(covariance, dtype=float)
        qp = _dense_qp(covariance, linear, rows)
        A, a, radius = limit_object.ellipsoid_row(problem.context)
        row = EllipsoidRow(np.asarray(A, float), np.asarray(a, float), float(radius))
        try:
            solution = solve_tracking_qp(qp, row, state.get("start"))
        except LimitUnattainableError as exc:
            conflict = _conflict(problem, limit_object, covariance, row)
            raise InfeasibleError(
                f"{limit_object!r} cannot hold: the smallest value the other constraints "
                f"allow is {exc.smallest:.6g} (limit {exc.radius:.6g}): infeasible because of "
                + " and ".join(repr(c) for c in conflict)
                + " together with sum(w) == 1",
                conflicting=tuple(conflict),
            ) from exc
        except ActiveSetError as exc:
            raise SolverError(f"{NAME} could not settle the problem: {exc}", solver=NAME) from exc
        state["start"] = solution.start
        elapsed = time.perf_counter() - start
        info = exact_info(
            NAME, elapsed, solution.iterations, solution.objective, solution.kkt_residual
        )
        return solution.x, 1.0, info


def _dense_qp(covariance: np.ndarray, linear: np.ndarray, rows: LinearRows) -> DenseQP:
    """The QP of ``qp_kernel`` over the rows read."""
    return DenseQP(
        covariance,
        linear,
        rows.equalities,
        rows.equality_rhs,
        rows.inequalities,
        rows.inequality_rhs,
        rows.lower,
        rows.upper,
    )


def _conflict(
    problem: ParametrizedProblem, limit_object: Any, covariance: np.ndarray, row: EllipsoidRow
) -> list:
    """A smallest set of constraint objects keeping the limit unattainable: the deletion
    filter of ``constraints.diagnose`` (drop each object in turn, keep it dropped while the
    rest still cannot meet the limit), each check the exact smallest ||A w - a|| under the
    remaining objects' linear rows and the method's own (milliseconds; cvxpy's feasibility
    problems compile the tracking error's cone, 0.7 GB and seconds at n = 300)."""
    owned = {id(r) for rows in problem.rows_by_constraint.values() for r in rows}
    method_rows = [r for r in problem.rows if id(r) not in owned]
    k = proportionality(covariance, row.A)
    linear = -2.0 * k * (row.A.T @ row.a)  # x'Sx + linear'x = k (||Ax - a||^2 - ||a||^2)
    kept = list(problem.constraints)
    for candidate in list(kept):
        if candidate is limit_object:
            continue
        trial = [c for c in kept if c is not candidate]
        rows = list(method_rows)
        for other in trial:
            if other is not limit_object:
                rows += problem.rows_by_constraint[other]
        if _unattainable(problem, rows, covariance, linear, row):
            kept = trial
    return kept


def _unattainable(problem, rows: list, covariance, linear, row: EllipsoidRow) -> bool:
    """Whether the rows keep ||A w - a|| above the radius; False where that is not settled
    (the object then stays in the conflict, which remains a conflict)."""
    try:
        read = RowReader(problem.formulation.variable, 1.0, rows).read()
        qp = _dense_qp(covariance, linear, read)
        found, _ = solve_along(qp, np.zeros(len(linear)), 0.0, None, None)
    except (ValueError, ActiveSetError):
        return False
    smallest = float(np.linalg.norm(row.A @ found.x_c - row.a))
    unit = max(float(row.radius), float(np.linalg.norm(row.a)), 1e-300)
    return smallest > row.radius + UNATTAINABLE_TOLERANCE * unit


def _refusal(problem: ParametrizedProblem, found: list) -> str | None:
    formulation = problem.formulation
    declared = formulation.declared
    if not isinstance(declared, QuadraticObjective):
        return "the objective is not declared as a quadratic x'Sx + c'x"
    if declared.normalization is not None:
        return "the objective is the Charnes-Cooper QP of maximum Sharpe (scale kappa)"
    scale = formulation.scale
    if not isinstance(scale, (int, float)) or float(scale) != 1.0:
        return "the problem's scale is not 1"
    if not found:
        return "no constraint declares a tracking-error row (RiskLimit(TrackingError(...)))"
    if len(found) > 1:
        return f"{found[0]!r} and {found[1]!r} each add a tracking-error row; {NAME} solves one"
    if nonlinear_row(list(formulation.constraints)) is not None:
        return "the method's own rows are not linear"
    for constraint, rows in problem.rows_by_constraint.items():
        if constraint is not found[0] and nonlinear_row(rows) is not None:
            return f"{constraint!r} adds a row that is not linear in the weights"
    skip = {id(row) for row in problem.rows_by_constraint[found[0]]}
    for row in problem.rows:
        if id(row) in skip:
            continue
        if any(v.id != formulation.variable.id for v in row.variables()):
            return f"the row {row} uses variables other than the weights"
    return None
