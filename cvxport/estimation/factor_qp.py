"""The exact QP with general linear rows (``cvxport.solvers.qp_kernel``) in factor form.

    minimize x' S x + c' x   subject to   E x = e,   G x <= h,   lower <= x <= upper

with S a ``FactorModel`` (or any ``CovarianceOperator``): the same primal-dual active-set
iterations as ``solve_dense_qp`` (its KKT checks and working-set updates are reused), but each
working set's system is solved by Woodbury on the free block, O(|F| k^2 + m^2 |F|) for m working
rows, instead of a Cholesky factor of S_FF, O(|F|^3). Group limits, turnover-free linear rules
and Charnes-Cooper bounds on n = 2000 assets then cost milliseconds. Where the block updates
cycle on one equality row and bounds, the monotone primal method of ``factor_solve`` finishes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvxport.estimation.covariance_operator import (
    CovarianceOperator,
    SingularBlockError,
    as_operator,
)
from cvxport.estimation.factor import FactorModel
from cvxport.estimation.factor_solve import _primal_active_set, newton_risk_budget
from cvxport.solvers.active_set import CONDITION_FLOOR, ActiveSetError, _feasible_point
from cvxport.solvers.declared import register_covariance_form
from cvxport.solvers.qp_kernel import (
    DenseQP,
    QPSolution,
    WorkingSet,
    solve_active_set,
    solve_dense_qp,
)


class OperatorMatrix:
    """A symmetric operator usable as ``S @ x`` and ``x @ S`` (what the kernel's checks do)."""

    __array_ufunc__ = None  # numpy defers ``x @ S`` to __rmatmul__

    def __init__(self, op: CovarianceOperator, scale: float = 1.0) -> None:
        self.op = op
        self.scale = scale
        self.shape = (op.n, op.n)

    def __rmul__(self, c: float) -> OperatorMatrix:
        return OperatorMatrix(self.op, c * self.scale)

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        return self.scale * self.op.matvec(x)

    def __rmatmul__(self, x: np.ndarray) -> np.ndarray:
        return self.scale * self.op.matvec(x)  # S is symmetric: x' S = (S x)'


@dataclass(frozen=True)
class FactorQP:
    """The QP of the module with S as an operator: c (n,), E (me, n), e (me,), G (mi, n),
    h (mi,), lower and upper (n,) (-inf / inf where there is none)."""

    S: OperatorMatrix
    c: np.ndarray
    E: np.ndarray
    e: np.ndarray
    G: np.ndarray
    h: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def build(
        cls,
        covariance: np.ndarray | FactorModel | CovarianceOperator,
        c: np.ndarray,
        E: np.ndarray,
        e: np.ndarray,
        G: np.ndarray,
        h: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
    ) -> FactorQP:
        """Return the QP with ``covariance`` wrapped as an operator (arrays as given)."""
        return cls(OperatorMatrix(as_operator(covariance)), c, E, e, G, h, lower, upper)


def solve_factor_qp(qp: FactorQP, start: WorkingSet | None = None) -> QPSolution:
    """Return the exact optimum of ``qp`` (see the module); ActiveSetError when this method
    cannot settle it (the caller's next backend then solves the same problem)."""
    return solve_active_set(qp, start, _solve_working, _primal_fallback)


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


def _primal_fallback(qp: FactorQP, iterations: int) -> QPSolution:
    """The monotone primal method for one equality row, bounds and no other term."""
    if len(qp.h) or len(qp.e) != 1 or np.any(qp.c) or abs(qp.e[0]) == 0:
        raise ActiveSetError("the working set repeats (cycling) with general rows")
    row = qp.E[0] / qp.e[0]
    if np.all(row == 1.0):
        start = _feasible_point(qp.lower, qp.upper)
    elif np.all(qp.lower == 0) and np.all(np.isinf(qp.upper)) and row.max() > 0:
        start = np.zeros(len(row))
        best = int(np.argmax(row))
        start[best] = 1.0 / row[best]
    else:
        raise ActiveSetError("the working set repeats (cycling) and no feasible start is known")
    solution = _primal_active_set(qp.S.op, row, qp.lower, qp.upper, start, iterations)
    x = solution.weights
    working = WorkingSet(solution.at_lower, solution.at_upper, np.zeros(len(qp.h), bool))
    objective = qp.S.op.variance(x)
    return QPSolution(x, working, objective, solution.iterations, solution.kkt_residual)


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
