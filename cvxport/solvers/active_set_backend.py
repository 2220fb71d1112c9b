"""The ACTIVE_SET backend: the exact QP solve of ``qp_kernel`` on a declared quadratic problem.

It accepts a problem whose objective is declared quadratic (minimum variance, the
Charnes-Cooper QP of maximum Sharpe, mean-variance utility) and whose rows, the method's and
every constraint object's, are linear in the weights (bounds, group limits, a user's own
linear rule, net exposure). Rows are read from the declared cvxpy problem (``linear_rows``);
the working set of the last solve on the same problem starts the next one. Where the block
updates of ``qp_kernel`` cycle (maximum Sharpe under caps and group limits: the caps are rows
y <= cap kappa in the Charnes-Cooper form; 44 of 267 random such problems on the bundled
data), a dense problem of up to PATH_MAX assets is solved by the parametric path
(``solve_by_path``), certified by the kernel's KKT conditions.

It also accepts ONE constraint object declaring an L1 row ``sum |w - center| <= limit``
through ``l1_row(ctx)`` (``TurnoverLimit``, ``GrossExposure``): that object's cvxpy row is
replaced by the declaration and solved exactly by ``l1_kernel``; the other rows are read
from cvxpy as before. Under Charnes-Cooper (maximum Sharpe, ``sum |y - center kappa| <=
limit kappa``) every row is read at kappa = 1, over the weights w = y / kappa, and
``l1_sharpe`` finds the maximum Sharpe weights along the scale-1 L1 QP's path in its
trade-off (``l1_path``; caps are then bounds): accepted beside bounds, caps, group limits
and any linear row written homogeneous in ``ctx.scale``. Two L1 rows are refused, naming
both objects.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import cvxpy as cp
import numpy as np

from cvxport.errors import SolverError
from cvxport.solvers.active_set import ActiveSetError
from cvxport.solvers.backend import Backend
from cvxport.solvers.declared import QuadraticObjective
from cvxport.solvers.factor_qp import solve_qp
from cvxport.solvers.l1_kernel import L1Row, solve_l1_qp
from cvxport.solvers.l1_sharpe import SharpeStart, solve_sharpe_l1
from cvxport.solvers.linear_rows import LinearRows, RowReader, nonlinear_row
from cvxport.solvers.parametric_qp import solve_along
from cvxport.solvers.qp_kernel import DenseQP, QPSolution, solve_dense_qp
from cvxport.solvers.result import SolveInfo, exact_info

if TYPE_CHECKING:
    from cvxport.problem import ParametrizedProblem

NAME = "ACTIVE_SET"
# where the block updates cycle, the parametric path (``solve_by_path``) solves problems of up
# to PATH_MAX assets with a dense covariance (a factor model is never formed n x n): its march
# from an interior point changes one entry or row per piece, a Cholesky factor of the free
# block each (about n pieces; l1_sharpe.INTERIOR_MAX likewise)
PATH_MAX = 200


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
        reader = _reader(problem, state)
        try:
            rows = _read_rows(problem, reader)
        except ValueError as exc:
            raise SolverError(f"{NAME}: {exc}", solver=NAME) from exc
        solve = _solve_sharpe if reader.unit_scale else _solve_rows
        try:
            x, scale, solution = solve(problem, values, state, rows)
        except ActiveSetError as exc:
            raise SolverError(f"{NAME} could not settle the problem: {exc}", solver=NAME) from exc
        elapsed = time.perf_counter() - start
        info = exact_info(
            NAME, elapsed, solution.iterations, solution.objective, solution.kkt_residual
        )
        return x, scale, info


def _solve_rows(problem: ParametrizedProblem, values, state: dict, rows: LinearRows):
    """(x, scale, solution) of the declared QP over the rows read (kappa folded as sum(x))."""
    declared: QuadraticObjective = problem.formulation.declared
    reader: RowReader = state["reader"]
    covariance = values[declared.covariance]
    n = len(rows.lower)
    linear = np.zeros(n) if declared.linear is None else np.asarray(values[declared.linear], float)
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
    data = (linear, equalities, equality_rhs, inequalities, inequality_rhs, rows.lower, rows.upper)
    start_set = state.get("working_set")
    if state["l1"] is not None:  # at scale 1 (``_charnes_cooper_l1_refusal``)
        center, limit = state["l1"].l1_row(problem.context)
        l1 = L1Row(np.asarray(center, dtype=float), float(limit))
        solution = solve_l1_qp(DenseQP(_dense(covariance), *data), l1, start_set)
    else:  # an array by Cholesky; a factor model by Woodbury, never forming n x n
        try:
            solution = solve_qp(covariance, *data, start=start_set)
        except ActiveSetError:  # cycling: the parametric path on a small dense covariance
            if n > PATH_MAX or not isinstance(covariance, np.ndarray):
                raise  # a factor model stays in factor form: cvxpy solves it
            solution = solve_by_path(DenseQP(covariance, *data))
    state["working_set"] = solution.working_set
    scale = float(solution.x.sum()) if reader.kappa is not None else 1.0
    return solution.x, scale, solution


def solve_by_path(qp: DenseQP) -> QPSolution:
    """The optimum of ``qp`` where the block updates of ``qp_kernel`` cycle: the march of
    ``parametric_qp.solve_along`` from an interior point of the rows (the optimum of the
    linear term -2 S x0) to the QP's own linear term, one working-set change per piece (it
    cannot cycle), then certified by the kernel's KKT conditions from the working set
    reached (one system where it holds); ActiveSetError where either fails."""
    found, systems = solve_along(qp, np.zeros(len(qp.c)), 0.0, None, None)
    solution = solve_dense_qp(qp, found.working_set)
    return replace(solution, iterations=solution.iterations + systems)


def _solve_sharpe(problem: ParametrizedProblem, values, state: dict, rows: LinearRows):
    """(y, kappa, solution) of maximum Sharpe under the L1 row of the state's object, the
    rows read at kappa = 1 (``l1_sharpe``); y = w / (p'w) meets the row p'y = 1."""
    declared: QuadraticObjective = problem.formulation.declared
    l1_object, start = state["l1"], state.get("working_set")
    covariance = _dense(values[declared.covariance])
    excess = np.asarray(values[declared.normalization], dtype=float)
    n = len(excess)
    qp = DenseQP(
        covariance, np.zeros(n), np.vstack([np.ones((1, n)), rows.equalities]),
        np.r_[1.0, rows.equality_rhs], rows.inequalities, rows.inequality_rhs, rows.lower,
        rows.upper,
    )  # fmt: skip
    center, limit = l1_object.l1_row(problem.context)
    l1 = L1Row(np.asarray(center, dtype=float), float(limit))
    solution = solve_sharpe_l1(qp, excess, l1, start if isinstance(start, SharpeStart) else None)
    state["working_set"] = solution.start
    y = solution.x / float(excess @ solution.x)
    return y, float(y.sum()), replace(solution, objective=float(y @ covariance @ y))


def _dense(covariance) -> np.ndarray:
    """An (n, n) array of a covariance given as an array or a factor model."""
    return covariance if isinstance(covariance, np.ndarray) else covariance.dense()


def _reader(problem: ParametrizedProblem, state: dict) -> RowReader:
    """The problem's row reader (all rows but the L1 object's), built once per problem; with
    an L1 object under Charnes-Cooper it reads the rows at kappa = 1 (``l1_sharpe``)."""
    if "reader" not in state:
        rows = _rows(problem, state["l1"])
        formulation = problem.formulation
        state["reader"] = RowReader(
            formulation.variable,
            formulation.scale,
            rows,
            unit_scale=state["l1"] is not None and declared_sharpe(problem),
        )
    return state["reader"]


def declared_sharpe(problem: ParametrizedProblem) -> bool:
    """Whether ``problem`` is maximum Sharpe's Charnes-Cooper QP: a scale variable and the
    normalization row p'y = 1 declared."""
    declared = problem.formulation.declared
    return isinstance(problem.formulation.scale, cp.Variable) and (
        isinstance(declared, QuadraticObjective) and declared.normalization is not None
    )


def _read_rows(problem: ParametrizedProblem, reader: RowReader) -> LinearRows:
    """The rows at this solve's values (a method row may hold a Parameter, e.g. a target)."""
    problem.assign_deferred(reader.parameter_ids)
    return reader.read()


def _charnes_cooper_l1_refusal(problem: ParametrizedProblem, state: dict) -> str | None:
    """Under Charnes-Cooper, an L1 row is solved over w = y / kappa (``l1_sharpe``): every
    row must then be homogeneous in kappa (written with ``ctx.scale``), and the objective
    maximum Sharpe's (a normalization row)."""
    l1_object = state["l1"]
    if l1_object is None or not isinstance(problem.formulation.scale, cp.Variable):
        return None
    if not declared_sharpe(problem):
        return f"{l1_object!r} adds an L1 row to a Charnes-Cooper problem without a normalization"
    try:
        _read_rows(problem, _reader(problem, state))
    except ValueError as exc:
        return f"its rows cannot be read over the weights at scale 1 beside {l1_object!r} ({exc})"
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
