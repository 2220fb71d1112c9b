"""A user's own risk measure, as the README and cvxport.risk.base write it, shared by the tests
(module-level, so backtest worker processes can import it by name)."""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from cvxport.risk import RiskMeasure


@dataclass(frozen=True)
class WorstLoss(RiskMeasure):
    """Largest one-period loss of the window, fraction of NAV (degree 1, written in the
    weights only: under a scale variable it is homogeneous through ``ctx.weights``)."""

    def expression(self, ctx):
        return cp.max(-(ctx.returns @ ctx.weights)), []

    def value(self, weights, returns, **data):
        return float(np.max(-(np.asarray(returns) @ np.asarray(weights))))
