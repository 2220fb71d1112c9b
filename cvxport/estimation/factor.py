"""Factor-model covariance: Sigma = B F B' + diag(d), kept as its factors.

A model of n assets and k factors stores n k + k^2 + n numbers instead of n^2, and every product
the solvers need (Sigma w, w' Sigma w, a solve on a subset of assets) costs O(n k) to O(n k^2)
in that form (see ``cvxport.estimation.factor_solve``). ``dense()`` forms the n x n matrix, for
tests and for methods that have no factor-form path yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cvxport.errors import InvalidInputError


@dataclass(frozen=True, eq=False)
class FactorModel:
    """Covariance B F B' + diag(d) of per-period returns (return units squared per period).

    Attributes:
        loadings: (n, k) exposures B of each asset to each factor.
        factor_covariance: (k, k) symmetric PSD covariance F of the factor returns.
        specific_variances: (n,) positive variances d of the asset-specific returns.
        symbols: the n asset names (rows of B), in order.
        factors: the k factor names (columns of B), in order.
    """

    loadings: np.ndarray
    factor_covariance: np.ndarray
    specific_variances: np.ndarray
    symbols: tuple[str, ...]
    factors: tuple[str, ...] = ()
    _root: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        b = np.asarray(self.loadings, dtype=float)
        f = np.asarray(self.factor_covariance, dtype=float)
        d = np.asarray(self.specific_variances, dtype=float)
        if b.ndim == 1:
            b = b[:, None]
        n, k = b.shape
        symbols = tuple(str(s) for s in self.symbols)
        factors = tuple(str(s) for s in self.factors) or tuple(f"factor_{j}" for j in range(k))
        if len(symbols) != n or len(set(symbols)) != n:
            raise InvalidInputError(
                f"FactorModel: {len(symbols)} symbols (unique: {len(set(symbols))}) for "
                f"loadings of {n} rows"
            )
        if len(factors) != k:
            raise InvalidInputError(f"FactorModel: {len(factors)} factor names for {k} columns")
        if f.shape != (k, k) or d.shape != (n,):
            raise InvalidInputError(
                f"FactorModel: factor covariance {f.shape} and specific variances {d.shape} "
                f"do not fit loadings {b.shape} (expected {(k, k)} and {(n,)})"
            )
        for name, values in (("loadings", b), ("factor covariance", f)):
            if not np.all(np.isfinite(values)):
                raise InvalidInputError(f"FactorModel: non-finite {name}")
        bad = np.flatnonzero(~(np.isfinite(d) & (d > 0)))
        if len(bad):
            raise InvalidInputError(
                f"FactorModel: specific variance of {symbols[bad[0]]!r} is {d[bad[0]]!r}; "
                "it must be finite and > 0"
            )
        f = 0.5 * (f + f.T)
        root = psd_root(f)  # F = R R'
        for name, value in (
            ("loadings", b),
            ("factor_covariance", f),
            ("specific_variances", d),
            ("symbols", symbols),
            ("factors", factors),
            ("_root", b @ root),
        ):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def n_assets(self) -> int:
        """Number of assets n."""
        return len(self.symbols)

    @property
    def n_factors(self) -> int:
        """Number of factors k."""
        return len(self.factors)

    @property
    def exposure_root(self) -> np.ndarray:
        """(n, k) matrix G = B R with R R' = F, so that Sigma = G G' + diag(d)."""
        return self._root

    def dense(self) -> np.ndarray:
        """Return the (n, n) covariance B F B' + diag(d): O(n^2) memory, for tests and for
        methods without a factor-form path."""
        g = self._root
        out = g @ g.T
        out[np.diag_indices_from(out)] += self.specific_variances
        return out

    def scaled(self, c: float) -> FactorModel:
        """Return the model of covariance c Sigma (c > 0): F and d times c."""
        if not (np.isfinite(c) and c > 0):
            raise InvalidInputError(f"FactorModel.scaled: factor must be finite and > 0, got {c}")
        return FactorModel(
            self.loadings,
            c * self.factor_covariance,
            c * self.specific_variances,
            self.symbols,
            self.factors,
        )

    def unit_scaled(self) -> FactorModel:
        """Return the model divided by its average variance (as ``estimation.unit_scaled``)."""
        average = float(np.mean(self.variances()))
        return self.scaled(1.0 / average) if average > 0 else self

    def standardized(self) -> tuple[FactorModel, np.ndarray]:
        """Return (the model of the correlation matrix, the (n,) volatilities): B and d divided
        by each asset's volatility and variance, so that Sigma = diag(vol) C diag(vol)."""
        vols = np.sqrt(self.variances())
        model = FactorModel(
            self.loadings / vols[:, None],
            self.factor_covariance,
            self.specific_variances / vols**2,
            self.symbols,
            self.factors,
        )
        return model, vols

    def variances(self) -> np.ndarray:
        """Return the (n,) diagonal of Sigma, O(n k)."""
        return np.einsum("ij,ij->i", self._root, self._root) + self.specific_variances

    def matvec(self, w: np.ndarray) -> np.ndarray:
        """Return Sigma w for (n,) or (n, m) w, O(n k) per column."""
        w = np.asarray(w, dtype=float)
        g = self._root
        d = self.specific_variances if w.ndim == 1 else self.specific_variances[:, None]
        return d * w + g @ (g.T @ w)

    def variance(self, w: np.ndarray) -> float:
        """Return w' Sigma w for (n,) weights, O(n k)."""
        w = np.asarray(w, dtype=float)
        exposure = self._root.T @ w
        return float(exposure @ exposure + np.sum(self.specific_variances * w * w))

    def subset(self, symbols: Sequence[str]) -> FactorModel:
        """Return the model of the given symbols (in that order)."""
        position = {s: i for i, s in enumerate(self.symbols)}
        missing = [s for s in symbols if s not in position]
        if missing:
            raise InvalidInputError(f"FactorModel has no symbol {missing[0]!r}")
        rows = np.array([position[s] for s in symbols], dtype=int)
        return FactorModel(
            self.loadings[rows],
            self.factor_covariance,
            self.specific_variances[rows],
            tuple(symbols),
            self.factors,
        )

    def loadings_frame(self) -> pd.DataFrame:
        """Return B as a symbols x factors frame."""
        return pd.DataFrame(self.loadings, index=list(self.symbols), columns=list(self.factors))


def psd_root(matrix: np.ndarray) -> np.ndarray:
    """Return R (k, k) with R R' = the PSD part of a symmetric matrix (eigh, negative
    eigenvalues clipped to 0; exact when the matrix is PSD)."""
    if matrix.size == 0:
        return np.zeros_like(matrix)
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return vectors * np.sqrt(np.clip(values, 0.0, None))
