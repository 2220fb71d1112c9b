"""A parametrized problem: built once per (universe, constraints, solver), updated, re-solved."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.constraints.base import Constraint, ProblemContext
from cvxport.constraints.diagnose import conflicting_constraints, describe_conflict
from cvxport.errors import InfeasibleError, SolverError
from cvxport.solvers import SolveInfo, solve_with_fallback


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
    """

    variable: cp.Variable
    scale: cp.Expression | float
    objective: cp.Minimize | cp.Maximize
    constraints: list[cp.Constraint] = field(default_factory=list)
    parameters: dict[str, cp.Parameter] = field(default_factory=dict)
    solver_options: dict[str, dict] = field(default_factory=dict)


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
        rows = list(formulation.constraints)
        for constraint in self.constraints:
            rows += constraint.build(self.context)
        self.problem = cp.Problem(formulation.objective, rows)

    @property
    def parameters(self) -> dict[str, cp.Parameter]:
        """All Parameters: the method's and those the constraint objects created."""
        return self.context.parameters

    def solve(
        self,
        values: Mapping[str, Any],
        data: Mapping[str, Any],
        solver: str,
        fallback: Sequence[str] = (),
    ) -> tuple[np.ndarray, SolveInfo]:
        """Assign Parameter values, solve, and return (weights (n,), info).

        Args:
            values: the method's Parameter values (already checked finite).
            data: allocation data passed to the constraint objects (e.g. previous_weights).
            solver: first solver to try; ``fallback`` are tried next, in order.

        Raises:
            InfeasibleError: naming the constraint objects in conflict.
            SolverError: every solver failed.
        """
        start = time.perf_counter()
        for constraint in self.constraints:
            for name, value in constraint.parameter_values(self.assets, data).items():
                self.parameters[name].value = value
        for name, value in values.items():
            self.parameters[name].value = value
        try:
            info = solve_with_fallback(
                self.problem, solver, fallback, self.formulation.solver_options
            )
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
        scale = self.formulation.scale
        scale_value = float(scale.value) if isinstance(scale, cp.Expression) else float(scale)
        weights = np.asarray(self.formulation.variable.value, dtype=float) / scale_value
        info.total_time = time.perf_counter() - start
        return weights, info
