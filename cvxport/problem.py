"""A declared problem: built once per (universe, constraints), updated, re-solved by backends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.constraints.base import Constraint, ProblemContext
from cvxport.constraints.diagnose import conflicting_constraints, describe_conflict
from cvxport.errors import InfeasibleError, InvalidInputError, SolverError, UnsupportedProblemError
from cvxport.solvers import SolveInfo, solve_declared
from cvxport.solvers.declared import LogBarrierObjective, QuadraticObjective


@dataclass
class Formulation:
    """One method's problem over a weight variable, before the constraint objects are added.

    Attributes:
        variable: (n,) variable the constraints act on (weights, or scaled weights y).
        scale: homogenizing scalar (1.0, kappa, or sum(y)); weights = variable / scale.
        objective: the cvxpy objective.
        constraints: the method's own rows (budget, normalization).
        parameters: the method's data Parameters, by name.
        solver_options: per-solver overrides of ``SOLVER_OPTIONS`` for this problem.
        declared: what the objective is, for exact backends (``cvxport.solvers.declared``);
            None: cvxpy's solvers only.
    """

    variable: cp.Variable
    scale: cp.Expression | float
    objective: cp.Minimize | cp.Maximize
    constraints: list[cp.Constraint] = field(default_factory=list)
    parameters: dict[str, cp.Parameter] = field(default_factory=dict)
    solver_options: dict[str, dict] = field(default_factory=dict)
    declared: QuadraticObjective | LogBarrierObjective | None = None


class ParametrizedProblem:
    """A method's formulation plus constraint objects, compiled once and re-solved with data.

    Args:
        formulation: the method's variables, objective and own rows.
        assets: the universe, in variable order.
        constraints: constraint objects (already validated against ``assets``).
    """

    def __init__(
        self, formulation: Formulation, assets: pd.Index, constraints: Sequence[Constraint]
    ) -> None:
        self.formulation = formulation
        self.assets = assets
        self.constraints = tuple(constraints)
        self.context = ProblemContext(
            weights=formulation.variable,
            scale=formulation.scale,
            assets=assets,
            parameters=dict(formulation.parameters),
        )
        self.rows_by_constraint: dict[Constraint, list[cp.Constraint]] = {}
        rows = list(formulation.constraints)
        for constraint in self.constraints:
            built = build_rows(constraint, self.context)
            self.rows_by_constraint[constraint] = built
            rows += built
        #: every row: the method's, then each constraint object's
        self.rows = rows
        self.problem = cp.Problem(formulation.objective, rows)
        #: per-backend state kept between solves (warm starts, row readers), by backend name
        self.backend_state: dict[str, dict] = {}

    @property
    def parameters(self) -> dict[str, cp.Parameter]:
        """All Parameters: the method's and those the constraint objects created."""
        return self.context.parameters

    def solve(
        self,
        values: Mapping[str, Any],
        data: Mapping[str, Any],
        solver: str | None,
        fallback: Sequence[str] = (),
    ) -> tuple[np.ndarray, SolveInfo]:
        """Assign Parameter values, solve along the backend chain, return (weights (n,), info).

        Args:
            values: the method's Parameter values (already checked finite).
            data: allocation data passed to the constraint objects (e.g. previous_weights).
            solver: a solver or backend name, or None for the default chain; ``fallback``
                names are tried next, in order.

        Raises:
            InfeasibleError: naming the constraint objects in conflict.
            UnsupportedProblemError: the named backend does not accept this problem.
            SolverError: every backend failed.
        """
        for constraint in self.constraints:
            for name, value in constraint.parameter_values(self.assets, data).items():
                self.parameters[name].value = value
        for name, value in values.items():
            self.parameters[name].value = value
        try:
            return solve_declared(self, values, solver, fallback)
        except UnsupportedProblemError:
            raise
        except (InfeasibleError, SolverError) as exc:
            # Solvers do not always prove infeasibility (Clarabel on the log-barrier risk
            # budget stops at its iteration limit or fails): name the conflict when there is one.
            conflict = conflicting_constraints(self.constraints, self.assets, data)
            if isinstance(exc, SolverError) and not conflict:
                raise
            raise InfeasibleError(
                f"{exc}: infeasible because of {describe_conflict(conflict)}",
                conflicting=conflict,
            ) from exc


def build_rows(constraint: Constraint, context: ProblemContext) -> list[cp.Constraint]:
    """Return the rows ``constraint`` adds, refusing rows that are not DCP, or not DPP where
    they hold Parameters, by a named InvalidInputError (never a raw cvxpy error)."""
    try:
        rows = list(constraint.build(context))
    except (ValueError, TypeError, IndexError, cp.error.DCPError) as exc:
        raise InvalidInputError(f"{constraint!r} could not build its rows: {exc}") from exc
    for row in rows:
        if not isinstance(row, cp.constraints.constraint.Constraint):
            raise InvalidInputError(
                f"{constraint!r}.build returned {row!r}, not a cvxpy constraint"
            )
        if not row.is_dcp():
            raise InvalidInputError(
                f"{constraint!r} adds a row that is not DCP (not convex as written): {row}"
            )
        if row.parameters() and not row.is_dcp(dpp=True):
            raise InvalidInputError(
                f"{constraint!r} adds a row that is not DPP in its Parameters: {row}"
            )
    return rows
