"""The ACTIVE_SET backend: the exact QP solve of ``qp_kernel`` on a declared quadratic problem.

It accepts a problem whose objective is declared quadratic (minimum variance, the
Charnes-Cooper QP of maximum Sharpe, mean-variance utility) and whose rows, the method's and
every constraint object's, are linear in the weights (bounds, group limits, a user's own
linear rule, net exposure). Rows are read from the declared cvxpy problem (``linear_rows``);
the working set of the last solve on the same problem starts the next one.

It also accepts ONE constraint object declaring an L1 row ``sum |w - center| <= limit``
through ``l1_row(ctx)`` (``TurnoverLimit``, ``GrossExposure``): that object's cvxpy row is
replaced by the declaration and solved exactly by ``l1_kernel``; the other rows are read
from cvxpy as before. Under Charnes-Cooper (maximum Sharpe) the row is
``sum |y - center kappa| <= limit kappa`` with kappa = sum(y), accepted beside bounds only
(``_charnes_cooper_l1_refusal``). Two L1 rows are refused, naming both objects.
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
from cvxport.solvers.declared import QuadraticObjective
from cvxport.solvers.factor_qp import solve_qp
from cvxport.solvers.l1_kernel import L1Row, solve_l1_qp
from cvxport.solvers.linear_rows import LinearRows, RowReader, nonlinear_row
from cvxport.solvers.qp_kernel import DenseQP
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
            state["l1"] = l1_constraint(problem)  # the object declaring an L1 row, or None
            state["refusal"] = _refusal(problem) or _charnes_cooper_l1_refusal(problem, state)
        return state["refusal"]

    def solve(
        self, problem: ParametrizedProblem, values: Mapping[str, Any]
    ) -> tuple[np.ndarray, float, SolveInfo]:
        """Solve exactly, warm-started from the last working set of this problem (accepted by
        ``refusal`` first, which keeps what it learned in the problem's state)."""
        start = time.perf_counter()
        state = problem.backend_state[NAME]
        declared: QuadraticObjective = problem.formulation.declared
        l1_object = state["l1"]
        reader = _reader(problem, state)
        try:
            rows = _read_rows(problem, reader)
        except ValueError as exc:
            raise SolverError(f"{NAME}: {exc}", solver=NAME) from exc
        covariance = values[declared.covariance]
        n = len(rows.lower)
        linear = (
            np.zeros(n)
            if declared.linear is None
            else np.asarray(values[declared.linear], dtype=float)
        )
        equalities, equality_rhs = rows.equalities, rows.equality_rhs
        if declared.normalization is not None:  # the method's row p @ x == 1, from p's value
            row = np.asarray(values[declared.normalization], dtype=float)
            equalities = np.vstack([row[None, :], equalities])
            equality_rhs = np.r_[1.0, equality_rhs]
        inequalities, inequality_rhs = rows.inequalities, rows.inequality_rhs
        if reader.kappa is not None and not reader.kappa_in_rows:
            # kappa = sum(x) >= 0 (the Charnes-Cooper scale's sign), read with kappa otherwise
            inequalities = np.vstack([-np.ones((1, n)), inequalities])
            inequality_rhs = np.r_[0.0, inequality_rhs]
        data = (
            linear,
            equalities,
            equality_rhs,
            inequalities,
            inequality_rhs,
            rows.lower,
            rows.upper,
        )
        start_set = state.get("working_set")
        try:
            if l1_object is not None:
                if not isinstance(covariance, np.ndarray):  # a factor model: its n x n form
                    covariance = covariance.dense()
                center, limit = l1_object.l1_row(problem.context)
                cc = reader.kappa is not None  # sum|y - center kappa| <= limit kappa
                l1 = L1Row(np.asarray(center, dtype=float), float(limit), homogeneous=cc)
                solution = solve_l1_qp(DenseQP(covariance, *data), l1, start_set)
            else:  # an array by Cholesky; a factor model by Woodbury, never forming n x n
                solution = solve_qp(covariance, *data, start=start_set)
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


def _reader(problem: ParametrizedProblem, state: dict) -> RowReader:
    """The problem's row reader (all rows but the L1 object's), built once per problem."""
    if "reader" not in state:
        rows = _rows(problem, state["l1"])
        state["reader"] = RowReader(problem.formulation.variable, problem.formulation.scale, rows)
    return state["reader"]


def _read_rows(problem: ParametrizedProblem, reader: RowReader) -> LinearRows:
    """The rows at this solve's values (a method row may hold a Parameter, e.g. a target)."""
    problem.assign_deferred(reader.parameter_ids)
    return reader.read()


def _charnes_cooper_l1_refusal(problem: ParametrizedProblem, state: dict) -> str | None:
    """Under Charnes-Cooper, the L1 row is accepted beside bounds only: with other inequality
    rows (caps y <= u kappa, group limits) the kernel settled only 55-65% of random problems,
    and a failed attempt costs its systems before cvxpy starts. Long-only, it settled 145 of
    149 (the rest fall back to cvxpy, recorded in ``info_.fallback_from``)."""
    l1_object = state["l1"]
    if l1_object is None or not isinstance(problem.formulation.scale, cp.Variable):
        return None
    try:
        rows = _read_rows(problem, _reader(problem, state))
    except ValueError as exc:
        return f"its rows cannot be read as linear rows ({exc})"
    G = rows.inequalities
    kappa_row = np.all(G < 0, axis=1) & np.all(np.isclose(G, G[:, :1], rtol=1e-12), axis=1)
    if np.any(~kappa_row):
        return (
            f"{l1_object!r} adds an L1 row, which ACTIVE_SET solves under the Charnes-Cooper "
            "scale of maximum Sharpe only beside bounds (LongOnly), not beside caps, group "
            "limits or other inequality rows"
        )
    return None


def l1_constraint(problem: ParametrizedProblem) -> Any | None:
    """The constraint object of ``problem`` declaring an L1 row (``l1_row``), or None."""
    found = [c for c in problem.constraints if declares_l1_row(c)]
    return found[0] if found else None


def declares_l1_row(constraint: Any) -> bool:
    """True when ``constraint`` declares its L1 row by ``l1_row`` from the class that builds
    it (a subclass changing ``build`` alone no longer matches its declaration)."""
    if not callable(getattr(constraint, "l1_row", None)):
        return False
    mro = type(constraint).__mro__
    owner = next((k for k in mro if "l1_row" in vars(k)), None)
    return owner is next((k for k in mro if "build" in vars(k)), None)


def _rows(problem: ParametrizedProblem, l1_object: Any | None) -> list[cp.Constraint]:
    """Every row of ``problem`` but those of the L1 object (solved from its declaration) and
    the method's own rows when the objective declares them (``normalization``)."""
    skip = set()
    if l1_object is not None:
        skip |= {id(row) for row in problem.rows_by_constraint[l1_object]}
    if problem.formulation.declared.normalization is not None:
        skip |= {id(row) for row in problem.formulation.constraints}
    return [row for row in problem.rows if id(row) not in skip]


def _refusal(problem: ParametrizedProblem) -> str | None:
    formulation = problem.formulation
    if not isinstance(formulation.declared, QuadraticObjective):
        return "the objective is not declared as a quadratic x'Sx + c'x"
    scale = formulation.scale
    if not isinstance(scale, (int, float, cp.Variable)):
        return "the problem's scale is neither 1 nor a Charnes-Cooper variable"
    if nonlinear_row(list(formulation.constraints)) is not None:
        return "the method's own rows are not linear"
    l1_objects = [c for c in problem.constraints if declares_l1_row(c)]
    if len(l1_objects) > 1:
        return (
            f"{l1_objects[0]!r} and {l1_objects[1]!r} each add an L1 row; ACTIVE_SET solves "
            "at most one L1 row"
        )
    if l1_objects and not isinstance(scale, cp.Variable) and float(scale) != 1.0:
        return f"{l1_objects[0]!r} adds an L1 row at a constant scale other than 1"
    for constraint, rows in problem.rows_by_constraint.items():
        if constraint in l1_objects:
            continue
        if nonlinear_row(rows) is not None:
            return f"{constraint!r} adds a row that is not linear in the weights"
    allowed = {formulation.variable.id} | ({scale.id} if isinstance(scale, cp.Variable) else set())
    for row in _rows(problem, l1_objects[0] if l1_objects else None):
        extra = {v.id for v in row.variables()} - allowed
        if extra:
            return f"the row {row} uses variables other than the weights"
    return None
