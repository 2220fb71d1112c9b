"""Moved to :mod:`cvxport.solvers.active_set` (the exact backends live with the solvers)."""

from cvxport.solvers.active_set import (
    ActiveSetError,
    ActiveSetSolution,
    bounded_min_variance,
    long_only_max_sharpe,
)

__all__ = ["ActiveSetError", "ActiveSetSolution", "bounded_min_variance", "long_only_max_sharpe"]
