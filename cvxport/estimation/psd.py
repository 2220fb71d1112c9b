"""Make covariance matrices usable by solvers: symmetric, positive semidefinite, O(1) scale."""

from __future__ import annotations

import numpy as np


def clip_to_psd(matrix: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Return the nearest symmetric matrix with eigenvalues >= ``floor`` (Frobenius norm).

    Uses ``eigh`` rather than Cholesky, so a singular sample covariance (fewer rows than
    assets, or a duplicated asset) works.

    Args:
        matrix: (n, n) square matrix, in return units squared per period.
        floor: smallest eigenvalue kept, same units.

    Returns:
        (n, n) symmetric positive semidefinite matrix.
    """
    sym = 0.5 * (matrix + matrix.T)
    if floor <= 0.0:
        try:  # a Cholesky factor exists: positive definite already (20x cheaper than eigh)
            np.linalg.cholesky(sym)
            return sym
        except np.linalg.LinAlgError:
            pass
    values, vectors = np.linalg.eigh(sym)
    if values[0] >= floor:
        return sym
    clipped = np.clip(values, floor, None)
    out = (vectors * clipped) @ vectors.T
    return 0.5 * (out + out.T)


def unit_scale_factor(covariance: np.ndarray) -> float:
    """Return c such that ``covariance / c`` has unit average variance (mean of the diagonal).

    Solver tolerances are absolute: daily returns give objectives near 1e-5, where default
    tolerances leave weight errors near 1e-3. Dividing by c changes no minimizer.
    """
    c = float(np.mean(np.diag(covariance)))
    return c if c > 0 else 1.0


def unit_scaled(covariance: np.ndarray) -> np.ndarray:
    """Return ``covariance`` divided by its average variance (dimensionless, O(1))."""
    return covariance / unit_scale_factor(covariance)
