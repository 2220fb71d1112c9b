"""Closed-form allocators: a target vector, projected onto the constraints when there are any."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.allocators.base import Allocator, returns_deviation
from cvxport.allocators.capping import capped_target
from cvxport.constraints.base import Constraint
from cvxport.constraints.weights import LongOnly
from cvxport.problem import Formulation


def projection_formulation(n_assets: int) -> Formulation:
    """Least-squares projection of a target onto {sum(w) = 1, constraints} (DPP, compiled once)."""
    weights = cp.Variable(n_assets, name="weights")
    target = cp.Parameter(n_assets, name="target")
    return Formulation(
        variable=weights,
        scale=1.0,
        objective=cp.Minimize(cp.sum_squares(weights - target)),
        constraints=[cp.sum(weights) == 1],
        parameters={"target": target},
    )


class TargetAllocator(Allocator):
    """An allocator whose unconstrained answer is a closed-form target summing to 1.

    With constraint objects beyond ``LongOnly``, the weights are the Euclidean projection of
    the target onto the feasible set (one cached problem, the target a Parameter), so the
    spec's 5%-40% bounds hold for every method; a subclass with ``capping='proportional'``
    caps per-asset bounds the way capped indices do instead (``capping.py``, exact).
    """

    @abstractmethod
    def target(self, returns: pd.DataFrame, data: Mapping[str, Any]) -> np.ndarray:
        """Return the (n,) nonnegative closed-form weights summing to 1."""

    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str | None,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        target = self.target(returns, data)
        self.target_ = pd.Series(target, index=returns.columns, name="target")
        self.info_ = None
        if getattr(self, "capping", "projection") == "proportional":
            return capped_target(target, constraints, returns.columns)
        if all(isinstance(c, LongOnly) for c in constraints):
            return target
        problem = self._problem(
            returns.columns,
            constraints,
            projection_formulation,
            n_periods=len(returns),
            deviation=returns_deviation(returns),  # a RiskLimit's rows at O(1)
        )
        return self._solve(problem, {"target": target}, data, solver, returns)
