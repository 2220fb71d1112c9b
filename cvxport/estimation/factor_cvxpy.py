"""The variance term of a problem, dense or as the DPP factor form: built once, re-solved.

    w' (G G' + diag(d)) w = || G' w ||^2 + || sqrt(d) * w ||^2,   G = B F^{1/2} (n x k),

with G and sqrt(d) as Parameters. The problem has n + k squared terms instead of an n x n
quadratic form, and stays DPP (cvxpy compiles it once). The number of factors may change between
solves (the Bai-Ng rule): ``assign`` pads G with zero columns up to the Parameter's width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

    def assign(self, model: FactorModel | None) -> None:
        """Set the Parameters from ``model`` (k <= k_max factors; G padded with zeros); None
        sets both to zero (no risk term: the frontier's highest-return linear program)."""
        n, width = self.root.shape
        if model is None:
            self.root.value = np.zeros((n, width))
            self.specific_root.value = np.zeros(n)
            return
        if model.n_assets != n or model.n_factors > width:
            raise InvalidInputError(
                f"factor model of {model.n_assets} assets and {model.n_factors} factors does not "
                f"fit a problem built for {n} assets and at most {width} factors"
            )
        padded = np.zeros((n, width))
        padded[:, : model.n_factors] = model.exposure_root
        self.root.value = padded
        self.specific_root.value = np.sqrt(model.specific_variances)


def factor_width(n_factors: int) -> int:
    """The Parameter width a problem is built with for a model of ``n_factors`` factors: the
    next power of two (a model whose number of factors changes between windows, as by the
    Bai-Ng rule, then reuses the compiled problem; zero columns pad G)."""
    return 1 << max(int(n_factors) - 1, 0).bit_length()


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


@dataclass(frozen=True, eq=False)
class VarianceTerm:
    """w' S w for a method's problem, with S the value the method gives under ``name``.

    Attributes:
        expression: the variance, ``quad_form(w, psd_wrap(S))`` for an (n, n) array or the
            factor form of ``factor_variance`` (never n x n) for a factor model.
        parameters: its cvxpy Parameters by name (``name`` itself for the dense form;
            ``name:root`` and ``name:specific`` for the factor form).
        models: ``{name: FactorRiskParameters}`` in factor form (set from a ``FactorModel``
            value by ``ParametrizedProblem.assign_deferred``), else empty.
        factor_width: the factor Parameters' width, None for the dense form.
    """

    expression: cp.Expression
    parameters: dict[str, cp.Parameter]
    models: dict[str, FactorRiskParameters]
    factor_width: int | None


def variance_term(
    weights: cp.Expression, factor_width: int | None, name: str = "covariance"
) -> VarianceTerm:
    """Return the variance of ``weights`` (n,) over the value ``name``: dense (an (n, n)
    Parameter) when ``factor_width`` is None, else in factor form for factor models of at most
    ``factor_width`` factors."""
    if factor_width is None:
        n = weights.shape[0]
        covariance = cp.Parameter((n, n), name=name)
        # quad_form over psd_wrap of a plain Parameter: fastest measured dense form
        # (allocators/minimum_variance.py)
        expression = cp.quad_form(weights, cp.psd_wrap(covariance))
        return VarianceTerm(expression, {name: covariance}, {}, None)
    expression, parameters = factor_variance(weights, factor_width)
    named = {f"{name}:root": parameters.root, f"{name}:specific": parameters.specific_root}
    return VarianceTerm(expression, named, {name: parameters}, factor_width)


def risk_width(covariance: Any) -> int | None:
    """The factor width a problem for ``covariance`` is built with: None for an (n, n) array,
    ``factor_width(k)`` for a factor model of k factors."""
    if isinstance(covariance, FactorModel):
        return factor_width(covariance.n_factors)
    return None
