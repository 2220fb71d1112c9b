"""The exact QP with general linear rows (``cvxport.solvers.qp_kernel``) in factor form.

    minimize x' S x + c' x   subject to   E x = e,   G x <= h,   lower <= x <= upper

with S a ``FactorModel`` (or any ``CovarianceOperator``): the same primal-dual active-set
iterations as ``solve_dense_qp`` (its KKT checks and working-set updates are reused), but each
working set's system is solved by Woodbury on the free block, O(|F| k^2 + m^2 |F|) for m working
rows, instead of a Cholesky factor of S_FF, O(|F|^3). Group limits, turnover-free linear rules
and Charnes-Cooper bounds on n = 2000 assets then cost milliseconds. Where the block updates
cycle on one equality row and bounds, the monotone primal method of ``active_set`` finishes.
"""

from __future__ import annotations

import numpy as np

from cvxport.estimation.factor import FactorModel
from cvxport.estimation.factor_solve import newton_risk_budget
from cvxport.solvers.active_set import CONDITION_FLOOR, ActiveSetError
from cvxport.solvers.covariance_operator import (
    CovarianceOperator,
    OperatorMatrix,
    SingularBlockError,
    as_operator,
)
from cvxport.solvers.declared import register_covariance_form
from cvxport.solvers.qp_kernel import (
    DenseQP,
    QPSolution,
    WorkingSet,
    primal_fallback,
    solve_active_set,
    solve_dense_qp,
)

__all__ = ["FactorQP", "OperatorMatrix", "solve_factor_qp", "solve_qp"]


class FactorQP(DenseQP):
    """The QP of the module with S an ``OperatorMatrix``; c, E, e, G, h, lower and upper as
    in ``DenseQP``."""

    @classmethod
    def build(
        cls, covariance: np.ndarray | FactorModel | CovarianceOperator, *data: np.ndarray
    ) -> FactorQP:
        """Return the QP with ``covariance`` wrapped as an operator and ``data`` = (c, E, e, G,
        h, lower, upper) as given."""
        return cls(OperatorMatrix(as_operator(covariance)), *data)


def solve_factor_qp(qp: FactorQP, start: WorkingSet | None = None) -> QPSolution:
    """Return the exact optimum of ``qp`` (see the module); ActiveSetError when this method
    cannot settle it (the caller's next backend then solves the same problem)."""
    return solve_active_set(qp, start, _solve_working, primal_fallback)


def _solve_working(
    qp: FactorQP, at_lower: np.ndarray, at_upper: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """x (n,) and row multipliers mu of the working set's KKT system, by Woodbury:
    2 S_FF x_F + R_F' mu = -(2 S_FB x_B + c_F),  R_F x_F = d - R_B x_B."""
    op = qp.S.op
    x = np.where(at_lower, qp.lower, np.where(at_upper, qp.upper, 0.0))
    free = ~(at_lower | at_upper)
    if not free.any():
        raise ActiveSetError("every entry is held at a bound")
    fixed = ~free
    R = np.vstack([qp.E, qp.G[rows]])
    d = np.r_[qp.e, qp.h[rows]]
    pull = 2.0 * op.coupling(free, x) + qp.c[free]
    R_free = R[:, free]
    try:  # (2 S_FF)^-1 [pull, R_F']
        solved = 0.5 * op.free_solve(free, np.column_stack([pull, R_free.T]))
    except SingularBlockError as exc:
        raise ActiveSetError(str(exc)) from exc
    pull_part, rows_part = solved[:, 0], solved[:, 1:]
    if len(d) == 0:
        x[free] = -pull_part
        return x, np.zeros(0)
    schur = R_free @ rows_part
    rhs = -(d - R[:, fixed] @ x[fixed]) - R_free @ pull_part
    try:
        schur_factor = np.linalg.cholesky(schur)
    except np.linalg.LinAlgError as exc:
        raise ActiveSetError("the working rows are dependent on the free entries") from exc
    pivots = np.diag(schur_factor) ** 2
    if pivots.min() < CONDITION_FLOOR * pivots.max():
        raise ActiveSetError("the working rows are nearly dependent")
    mu = np.linalg.solve(schur_factor.T, np.linalg.solve(schur_factor, rhs))
    x[free] = -(pull_part + rows_part @ mu)
    return x, mu


def solve_qp(
    covariance: np.ndarray | FactorModel | CovarianceOperator,
    c: np.ndarray,
    E: np.ndarray,
    e: np.ndarray,
    G: np.ndarray,
    h: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    start: WorkingSet | None = None,
) -> QPSolution:
    """Solve the QP of the module on an (n, n) array (``solve_dense_qp``) or in factor form
    (``solve_factor_qp``): the one call an exact backend needs for either covariance."""
    if isinstance(covariance, np.ndarray):
        return solve_dense_qp(DenseQP(covariance, c, E, e, G, h, lower, upper), start)
    return solve_factor_qp(FactorQP.build(covariance, c, E, e, G, h, lower, upper), start)


register_covariance_form(FactorModel, qp=solve_qp, newton=newton_risk_budget)
