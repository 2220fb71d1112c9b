"""The NEWTON backend: damped Newton on the declared log-barrier risk-budget problem.

    minimize 0.5 y' S y - b' log(y)   over y > 0

is strictly convex when S is positive definite, with y_i (S y)_i = b_i at its optimum. It
accepts the problem when no constraint object adds a row (long-only is the barrier's domain);
with a singular S the barrier problem has no minimizer and the method reports it, so the next
backend decides.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from cvxport.errors import SolverError
from cvxport.solvers.backend import Backend
from cvxport.solvers.covariance_operator import SingularBlockError, as_operator
from cvxport.solvers.declared import LogBarrierObjective
from cvxport.solvers.result import SolveInfo, exact_info

if TYPE_CHECKING:
    from cvxport.problem import ParametrizedProblem

NAME = "NEWTON"
NEWTON_TOLERANCE = 1e-14  # on the Newton decrement lambda^2 / 2 of the barrier objective
NEWTON_MAX_ITER = 200


def barrier_objective(covariance: Any, budget: np.ndarray, y: np.ndarray) -> float:
    """0.5 y'Sy - b'log(y), the declared objective (S an array, a FactorModel or an operator)."""
    return float(0.5 * as_operator(covariance).variance(y) - budget @ np.log(y))


def newton_risk_budget(covariance: Any, budget: np.ndarray) -> tuple[np.ndarray, int]:
    """Minimize 0.5 y'Sy - b'log(y) by damped Newton; return (y (n,), iterations).

    Each step solves (S + diag(b / y^2)) s = -g: by LU for an (n, n) array, by Woodbury in
    factor form, O(n k^2) (``covariance_operator``).

    Args:
        covariance: S, O(1) scale (unit-scaled): an (n, n) positive definite array, a
            FactorModel or a ``CovarianceOperator``.
        budget: (n,) positive budgets summing to 1.

    Raises:
        SolverError: S is not positive definite, or no convergence.
    """
    op = as_operator(covariance)
    diagonal = op.diagonal()
    if not np.all(diagonal > 0):
        raise SolverError(f"{NAME}: an asset has no variance", solver=NAME)
    y = budget / np.sqrt(diagonal)
    y /= np.sqrt(op.variance(y))

    def objective(v: np.ndarray) -> float:
        return 0.5 * op.variance(v) - budget @ np.log(v)

    for iteration in range(1, NEWTON_MAX_ITER + 1):
        gradient = op.matvec(y) - budget / y
        try:
            step = op.shifted_solve(budget / y**2, -gradient)
        except SingularBlockError as exc:
            raise SolverError(f"{NAME}: singular Newton system", solver=NAME) from exc
        decrement = -gradient @ step
        if not np.isfinite(decrement):
            raise SolverError(f"{NAME}: the iterates diverged", solver=NAME)
        if decrement / 2 <= NEWTON_TOLERANCE:
            return y, iteration
        t = 1.0
        negative = step < 0
        if negative.any():
            t = min(1.0, 0.99 * float(np.min(-y[negative] / step[negative])))
        current = objective(y)
        while objective(y + t * step) > current - 0.25 * t * decrement:
            t *= 0.5
            if t < 1e-12:
                raise SolverError(f"{NAME}: no descent (S not positive definite?)", solver=NAME)
        y = y + t * step
    raise SolverError(f"{NAME}: no convergence in {NEWTON_MAX_ITER} iterations", solver=NAME)


class NewtonBackend(Backend):
    """Newton's method on the declared log-barrier problem without constraint rows."""

    name = NAME

    def refusal(self, problem: ParametrizedProblem) -> str | None:
        """Why the problem is not the plain log-barrier problem, or None."""
        if not isinstance(problem.formulation.declared, LogBarrierObjective):
            return "the objective is not the declared log-barrier risk budget"
        if problem.formulation.constraints:
            return "the method adds rows"
        for constraint, rows in problem.rows_by_constraint.items():
            if rows and type(constraint).__name__ != "LongOnly":
                return f"{constraint!r} adds rows (Newton handles the barrier's domain only)"
        return None

    def solve(
        self, problem: ParametrizedProblem, values: Mapping[str, Any]
    ) -> tuple[np.ndarray, float, SolveInfo]:
        """Return (y, sum(y), info) of the barrier problem's minimizer."""
        declared: LogBarrierObjective = problem.formulation.declared
        covariance = values[declared.covariance]
        budget = np.asarray(values[declared.budget], dtype=float)
        start = time.perf_counter()
        # an array (LU steps) or a factor model (Woodbury steps), as_operator tells
        y, iterations = newton_risk_budget(covariance, budget)
        objective = barrier_objective(covariance, budget, y)
        elapsed = time.perf_counter() - start
        info = exact_info(NAME, elapsed, iterations, objective)
        return y, float(y.sum()), info
