"""The ACTIVE_SET backend: the exact QP solve of ``qp_kernel`` on a declared quadratic problem.

It accepts a problem whose objective is declared quadratic (minimum variance, the
Charnes-Cooper QP of maximum Sharpe, mean-variance utility) and whose rows, the method's and
every constraint object's, are linear in the weights (bounds, group limits, a user's own
linear rule, net exposure). Rows are read from the declared cvxpy problem (``linear_rows``);
the working set of the last solve on the same problem starts the next one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import cvxpy as cp
import numpy as np

from cvxport.errors import SolverError
from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.backend import Backend
from cvxport.solvers.declared import QuadraticObjective, covariance_solve
from cvxport.solvers.linear_rows import RowReader, nonlinear_row
from cvxport.solvers.qp_kernel import DenseQP, solve_dense_qp
from cvxport.solvers.result import SolveInfo, exact_info

if TYPE_CHECKING:
    from cvxport.problem import ParametrizedProblem

NAME = "ACTIVE_SET"


class ActiveSetBackend(Backend):
    """Exact primal-dual active-set solve of declared QPs with linear rows."""

    name = NAME

    def refusal(self, problem: ParametrizedProblem) -> str | None:
        """Why the problem is not a QP with linear rows over the weights, or None."""
        state = problem.backend_state.setdefault(NAME, {})
        if "refusal" not in state:
            state["refusal"] = _refusal(problem)
        return state["refusal"]

    def solve(
        self, problem: ParametrizedProblem, values: Mapping[str, Any]
    ) -> tuple[np.ndarray, float, SolveInfo]:
        """Solve exactly, warm-started from the last working set of this problem."""
        start = time.perf_counter()
        state = problem.backend_state[NAME]
        declared: QuadraticObjective = problem.formulation.declared
        reader: RowReader = state.setdefault(
            "reader",
            RowReader(problem.formulation.variable, problem.formulation.scale, problem.rows),
        )
        try:
            rows = reader.read()
        except ValueError as exc:
            raise SolverError(f"{NAME}: {exc}", solver=NAME) from exc
        covariance = values[declared.covariance]
        n = len(rows.lower)
        linear = (
            np.zeros(n)
            if declared.linear is None
            else np.asarray(values[declared.linear], dtype=float)
        )
        data = (
            linear,
            rows.equalities,
            rows.equality_rhs,
            rows.inequalities,
            rows.inequality_rhs,
            rows.lower,
            rows.upper,
        )
        start_set = state.get("working_set")
        try:
            if isinstance(covariance, np.ndarray):
                solution = solve_dense_qp(DenseQP(covariance, *data), start_set)
            else:  # a registered form (the factor model): solved without forming n x n
                solve = covariance_solve(covariance, "qp")
                if solve is None:
                    raise ActiveSetError(f"no exact QP solve for a {type(covariance).__name__}")
                solution = solve(covariance, *data, start=start_set)
        except ActiveSetError as exc:
            raise SolverError(f"{NAME} could not settle the problem: {exc}", solver=NAME) from exc
        state["working_set"] = solution.working_set
        x = solution.x
        scale = float(x.sum()) if reader.kappa is not None else 1.0
        elapsed = time.perf_counter() - start
        info = exact_info(
            NAME, elapsed, solution.iterations, solution.objective, solution.kkt_residual
        )
        return x, scale, info


def _refusal(problem: ParametrizedProblem) -> str | None:
    formulation = problem.formulation
    if not isinstance(formulation.declared, QuadraticObjective):
        return "the objective is not declared as a quadratic x'Sx + c'x"
    scale = formulation.scale
    if not isinstance(scale, (int, float, cp.Variable)):
        return "the problem's scale is neither 1 nor a Charnes-Cooper variable"
    if nonlinear_row(list(formulation.constraints)) is not None:
        return "the method's own rows are not linear"
    for constraint, rows in problem.rows_by_constraint.items():
        if nonlinear_row(rows) is not None:
            return f"{constraint!r} adds a row that is not linear in the weights"
    allowed = {formulation.variable.id} | ({scale.id} if isinstance(scale, cp.Variable) else set())
    for row in problem.rows:
        extra = {v.id for v in row.variables()} - allowed
        if extra:
            return f"the row {row} uses variables other than the weights"
    return None
