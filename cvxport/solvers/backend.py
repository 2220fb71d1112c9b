"""The backend interface: every way of solving a declared problem, cvxpy's solvers and the
exact methods alike, says which problems it accepts and returns the same result.

A backend's ``solve`` returns the problem variable's value, the scale's value (weights =
variable / scale) and a :class:`SolveInfo`. The fallback contract is the same for all:
``InfeasibleError`` is final (another backend would not change it), ``SolverError`` hands the
problem to the next backend of the chain and is recorded in ``info_.fallback_from``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from cvxport.solvers.cvxpy_backend import solve_once
from cvxport.solvers.result import SolveInfo

if TYPE_CHECKING:
    from cvxport.problem import ParametrizedProblem


class Backend(ABC):
    """One way of solving declared problems; ``name`` is what users pass as ``solver``."""

    name: str

    @abstractmethod
    def refusal(self, problem: ParametrizedProblem) -> str | None:
        """Return why this backend does not accept ``problem``, or None when it does."""

    @abstractmethod
    def solve(
        self, problem: ParametrizedProblem, values: Mapping[str, Any]
    ) -> tuple[np.ndarray, float, SolveInfo]:
        """Return (variable value (n,), scale value, info); Parameters are already set."""

    def default_refusal(self, problem: ParametrizedProblem) -> str | None:
        """Why the default chain (``solver=None``) skips this backend on a problem it accepts
        (a measured choice: another one is faster there), or None. Named, it still solves it."""
        return None


class CvxpyBackend(Backend):
    """cvxpy with one solver of ``SOLVER_OPTIONS``; accepts every declared problem."""

    def __init__(self, name: str) -> None:
        self.name = name

    def refusal(self, problem: ParametrizedProblem) -> str | None:
        """cvxpy takes every problem (a solver that cannot fails with a SolverError)."""
        return None

    def solve(
        self, problem: ParametrizedProblem, values: Mapping[str, Any]
    ) -> tuple[np.ndarray, float, SolveInfo]:
        """Solve the cvxpy problem with this solver and its table options."""
        overrides = problem.formulation.solver_options.get(self.name)
        problem.assign_deferred()  # cvxpy reads every Parameter
        info = solve_once(problem.problem, self.name, overrides)
        scale = problem.formulation.scale
        scale_value = float(scale.value) if hasattr(scale, "value") else float(scale)
        variable = np.asarray(problem.formulation.variable.value, dtype=float)
        return variable, scale_value, info
