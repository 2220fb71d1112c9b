"""Inverse volatility: w_i = (1/vol_i) / sum_j (1/vol_j)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cvxport.allocators.capping import check_capping
from cvxport.allocators.risk_model import estimate_risk_model
from cvxport.allocators.target import TargetAllocator
from cvxport.constraints.base import Constraint
from cvxport.estimation import CovarianceEstimator, FactorModel


class InverseVolatilityAllocator(TargetAllocator):
    """Weights inverse to each asset's volatility (from the covariance estimator's diagonal).

    Args:
        capping: 'projection' (default) or 'proportional', as ``MarketCapAllocator``.
    """

    config_arguments: ClassVar[dict[str, str]] = {
        "constraints": "constraints",
        "solver": "solver",
        "long_only": "long_only",
        "covariance": "covariance",
    }

    def __init__(
        self,
        covariance: str | CovarianceEstimator = "sample",
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
        long_only: bool = True,
        capping: str = "projection",
    ) -> None:
        super().__init__(constraints, solver, fallback, long_only)
        self.capping = check_capping(capping, "InverseVolatilityAllocator.capping")
        self.covariance = covariance

    def target(self, returns: pd.DataFrame, data: Mapping[str, Any]) -> np.ndarray:
        """Return the (n,) normalized inverse volatilities."""
        raw = estimate_risk_model(returns, self.covariance)  # a factor model: its diagonal, O(nk)
        variances = raw.variances() if isinstance(raw, FactorModel) else np.diag(raw)
        inverse_vol = 1.0 / np.sqrt(variances)
        return inverse_vol / inverse_vol.sum()
