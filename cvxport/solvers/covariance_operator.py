"""A covariance seen through the products the exact solvers need, dense or in factor form.

The active-set and Newton solvers (``cvxport.solvers.active_set``, ``cvxport.solvers.newton``,
the factor-form QP of ``cvxport.solvers.factor_qp``) touch the covariance S only through four
operations: S x, x' S x, the coupling S_FB x_B of a subset F of assets to the rest, and solves
with the block S_FF (or with S + diag(shift)). A dense S does them by Cholesky, O(|F|^3).
A factor model S = G G' + diag(d) (G = B F^{1/2}, n x k) does them by the Woodbury identity,
O(|F| k^2), never forming an n x n matrix:

    (D + G G')^{-1} r = D^{-1} r - D^{-1} G (I_k + G' D^{-1} G)^{-1} G' D^{-1} r.

The capacitance I_k + G' D^{-1} G has eigenvalues >= 1, so its Cholesky factor is always safe.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.linalg.lapack import dpotrf, dpotrs

from cvxport.errors import InvalidInputError

# smallest / largest curvature accepted in a solved block (as the dense active set's floor)
CONDITION_FLOOR = 1e-10


class SingularBlockError(ArithmeticError):
    """The block of the covariance to be solved is singular or nearly so."""


@runtime_checkable
class CovarianceOperator(Protocol):
    """The products of an (n, n) symmetric positive definite covariance S the solvers use."""

    n: int

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """S x for (n,) x."""
        ...

    def variance(self, x: np.ndarray) -> float:
        """x' S x."""
        ...

    def diagonal(self) -> np.ndarray:
        """(n,) diagonal of S."""
        ...

    def coupling(self, free: np.ndarray, x: np.ndarray) -> np.ndarray:
        """S_FB x_B: (|F|,) for the boolean mask ``free`` and B its complement."""
        ...

    def free_solve(self, free: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """S_FF^{-1} rhs for (|F|, m) rhs; raises SingularBlockError."""
        ...

    def shifted_solve(self, shift: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """(S + diag(shift))^{-1} rhs for (n,) shift >= 0 and (n,) rhs."""
        ...


class DenseCovarianceOperator:
    """S held as an (n, n) array: blocks solved by LAPACK Cholesky (dpotrf / dpotrs) with the
    CONDITION_FLOOR pivot check, Newton systems by LU (``np.linalg.solve``)."""

    def __init__(self, covariance: np.ndarray) -> None:
        self.covariance = np.asarray(covariance, dtype=float)
        self.n = len(self.covariance)

    def matvec(self, x: np.ndarray) -> np.ndarray:
        return self.covariance @ x

    def variance(self, x: np.ndarray) -> float:
        return float(x @ self.covariance @ x)

    def diagonal(self) -> np.ndarray:
        return np.diag(self.covariance).copy()

    def coupling(self, free: np.ndarray, x: np.ndarray) -> np.ndarray:
        fixed = ~free
        return self.covariance[np.ix_(free, fixed)] @ x[fixed]

    def free_solve(self, free: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        factor, info = dpotrf(self.covariance[np.ix_(free, free)], lower=False, clean=False)
        if info != 0:
            raise SingularBlockError(
                f"the covariance of the free weights is singular or not positive definite ({info})"
            )
        pivots = np.diag(factor) ** 2
        if pivots.min() < CONDITION_FLOOR * pivots.max():
            raise SingularBlockError("the covariance of the free weights is nearly singular")
        solved, info = dpotrs(factor, rhs, lower=False)
        if info != 0:  # pragma: no cover - dpotrs fails only on bad arguments
            raise SingularBlockError(f"LAPACK dpotrs failed ({info})")
        return solved

    def shifted_solve(self, shift: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        try:
            return np.linalg.solve(self.covariance + np.diag(shift), rhs)
        except np.linalg.LinAlgError as exc:
            raise SingularBlockError("singular Newton system") from exc


class FactorCovarianceOperator:
    """S = G G' + diag(d) held as G (n, k) and d (n,); every product O(n k), every solve
    O(|F| k^2) by Woodbury (``woodbury_solve``). ``model``: any object with ``exposure_root``
    (n, k), ``specific_variances`` (n,) and ``n_assets`` (``cvxport.estimation.FactorModel``)."""

    def __init__(self, model: Any) -> None:
        self.root = model.exposure_root
        self.specific = model.specific_variances
        self.n = model.n_assets

    def matvec(self, x: np.ndarray) -> np.ndarray:
        return self.specific * x + self.root @ (self.root.T @ x)

    def variance(self, x: np.ndarray) -> float:
        exposure = self.root.T @ x
        return float(exposure @ exposure + np.sum(self.specific * x * x))

    def diagonal(self) -> np.ndarray:
        return np.einsum("ij,ij->i", self.root, self.root) + self.specific

    def coupling(self, free: np.ndarray, x: np.ndarray) -> np.ndarray:
        fixed = ~free  # diag(d) has no off-diagonal part: only G_F G_B' x_B couples
        return self.root[free] @ (self.root[fixed].T @ x[fixed])

    def free_solve(self, free: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        root, specific = self.root[free], self.specific[free]
        # S_FF at unit diagonal has eigenvalues >= min(d_i / S_ii) and <= its trace |F|: a
        # bound on its condition number that no asset's return scale changes
        specific_share = specific / (specific + np.einsum("ij,ij->i", root, root))
        if specific_share.min() < CONDITION_FLOOR * len(specific):
            raise SingularBlockError("the covariance of the free weights is nearly singular")
        return woodbury_solve(root, specific, rhs)

    def shifted_solve(self, shift: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        return woodbury_solve(self.root, self.specific + shift, rhs)


def woodbury_solve(root: np.ndarray, specific: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve (diag(specific) + root root') x = rhs by the Woodbury identity, O(m k^2 + k^3).

    Args:
        root: (m, k) G.
        specific: (m,) positive diagonal d.
        rhs: (m,) or (m, r) right-hand sides.

    Returns:
        x of the shape of ``rhs``, refined by one step of iterative refinement (the residual
        is then at rounding level even when the capacitance is ill-conditioned).
    """
    inverse_d = 1.0 / specific if rhs.ndim == 1 else (1.0 / specific)[:, None]
    scaled_root = root * (1.0 / specific)[:, None]  # D^{-1} G
    capacitance = np.eye(root.shape[1]) + root.T @ scaled_root
    factor = cho_factor(capacitance, check_finite=False)

    def apply(r: np.ndarray) -> np.ndarray:
        return inverse_d * r - scaled_root @ cho_solve(factor, root.T @ (inverse_d * r))

    x = apply(rhs)
    d = specific if rhs.ndim == 1 else specific[:, None]
    residual = rhs - (d * x + root @ (root.T @ x))
    return x + apply(residual)


def is_factor_form(covariance: object) -> bool:
    """Whether ``covariance`` is a factor model (G G' + diag(d)) by its attributes."""
    return hasattr(covariance, "exposure_root") and hasattr(covariance, "specific_variances")


def as_operator(covariance: Any) -> CovarianceOperator:
    """Wrap an (n, n) array or a factor model (``cvxport.estimation.FactorModel``) as a
    CovarianceOperator (operators pass through)."""
    if is_factor_form(covariance):
        return FactorCovarianceOperator(covariance)
    if isinstance(covariance, np.ndarray):
        if covariance.ndim != 2 or covariance.shape[0] != covariance.shape[1]:
            raise InvalidInputError(f"covariance must be square, got shape {covariance.shape}")
        return DenseCovarianceOperator(covariance)
    if isinstance(covariance, CovarianceOperator):
        return covariance
    raise InvalidInputError(
        f"covariance must be an (n, n) array, a FactorModel or a CovarianceOperator, "
        f"got {type(covariance).__name__}"
    )


class OperatorMatrix:
    """A symmetric operator usable as ``S @ x`` and ``x @ S`` (what the QP kernel's checks do)."""

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


def operator_of(S: np.ndarray | OperatorMatrix) -> CovarianceOperator:
    """The operator of a QP record's S: an (n, n) array or an OperatorMatrix."""
    return S.op if isinstance(S, OperatorMatrix) else DenseCovarianceOperator(S)
