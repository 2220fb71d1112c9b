"""Exact solves over a covariance operator: dense (Cholesky) or factor form (Woodbury).

The active-set solves are ``cvxport.solvers.active_set``'s, which take an (n, n) array, a
``FactorModel`` or any ``CovarianceOperator`` (a FactorModel is solved in O(n k^2) per iteration
and O(n k) memory: the n x n covariance is never formed); the risk budget's damped Newton
method is ``cvxport.solvers.newton``'s, with each step solved by Woodbury in factor form.
"""

from __future__ import annotations

import numpy as np

from cvxport.estimation.factor import FactorModel
from cvxport.solvers.active_set import (
    ActiveSetError,
    ActiveSetSolution,
    bounded_min_variance,
    long_only_max_sharpe,
)
from cvxport.solvers.covariance_operator import CovarianceOperator
from cvxport.solvers.newton import NEWTON_MAX_ITER, NEWTON_TOLERANCE
from cvxport.solvers.newton import newton_risk_budget as newton_barrier

__all__ = [
    "NEWTON_MAX_ITER",
    "NEWTON_TOLERANCE",
    "ActiveSetError",
    "ActiveSetSolution",
    "Covariance",
    "bounded_min_variance",
    "long_only_max_sharpe",
    "newton_risk_budget",
]

Covariance = np.ndarray | FactorModel | CovarianceOperator


def newton_risk_budget(covariance: Covariance, budget: np.ndarray) -> tuple[np.ndarray, int]:
    """Minimize 0.5 y'Sy - b'log(y) by damped Newton; return (weights y / sum(y) (n,),
    iterations).

    Each step solves (S + diag(b / y^2)) s = -g: by Woodbury in factor form, O(n k^2).

    Args:
        covariance: S (O(1) scale, unit-scaled) as an array, a FactorModel or an operator.
        budget: (n,) positive budgets summing to 1.

    Raises:
        SolverError: S is not positive definite, or no convergence.
    """
    y, iterations = newton_barrier(covariance, budget)
    return y / y.sum(), iterations
