"""The factor-model variance as a DPP cvxpy expression: built once, re-solved per model.

    w' (G G' + diag(d)) w = || G' w ||^2 + || sqrt(d) * w ||^2,   G = B F^{1/2} (n x k),

with G and sqrt(d) as Parameters. The problem has n + k squared terms instead of an n x n
quadratic form, and stays DPP (cvxpy compiles it once). The number of factors may change between
solves (the Bai-Ng rule): ``assign`` pads G with zero columns up to the Parameter's width.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from cvxport.errors import InvalidInputError
from cvxport.estimation.factor import FactorModel


@dataclass(frozen=True, eq=False)
class FactorRiskParameters:
    """The Parameters of ``factor_variance``: ``root`` (n, k_max) G and ``specific_root``
    (n,) sqrt(d)."""

    root: cp.Parameter
    specific_root: cp.Parameter

    def assign(self, model: FactorModel) -> None:
        """Set the Parameters from ``model`` (k <= k_max factors; G padded with zeros)."""
        n, width = self.root.shape
        if model.n_assets != n or model.n_factors > width:
            raise InvalidInputError(
                f"factor model of {model.n_assets} assets and {model.n_factors} factors does not "
                f"fit a problem built for {n} assets and at most {width} factors"
            )
        padded = np.zeros((n, width))
        padded[:, : model.n_factors] = model.exposure_root
        self.root.value = padded
        self.specific_root.value = np.sqrt(model.specific_variances)


def factor_variance(
    weights: cp.Expression, max_factors: int
) -> tuple[cp.Expression, FactorRiskParameters]:
    """Return (w' Sigma w as a DPP expression, its Parameters) for weights (n,) and factor
    models of at most ``max_factors`` factors; units those of the model assigned."""
    n = weights.shape[0]
    if max_factors < 1:
        raise InvalidInputError(f"max_factors must be >= 1, got {max_factors}")
    root = cp.Parameter((n, max_factors), name="factor_root")
    specific_root = cp.Parameter(n, nonneg=True, name="specific_root")
    expression = cp.sum_squares(root.T @ weights) + cp.sum_squares(
        cp.multiply(specific_root, weights)
    )
    return expression, FactorRiskParameters(root, specific_root)
