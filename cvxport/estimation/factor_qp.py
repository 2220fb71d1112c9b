"""Moved to :mod:`cvxport.solvers.factor_qp` (the exact QP in factor form is a solver)."""

from cvxport.solvers.factor_qp import FactorQP, OperatorMatrix, solve_factor_qp, solve_qp

__all__ = ["FactorQP", "OperatorMatrix", "solve_factor_qp", "solve_qp"]
