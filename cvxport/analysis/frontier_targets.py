"""The frontier's portfolio for a target return or a target volatility (``EfficientFrontier``).

Both answers are efficient portfolios: the minimum variance portfolio among those expecting at
least the target return, and the highest expected return among those whose volatility is at
most the target, itself returned as the minimum variance portfolio for that return (unique
where the covariance is positive definite on the feasible set; the return-maximizing LP alone
need not be). Units as the frontier's: annual arithmetic returns and annual volatilities,
fractions (``sqrt(w' Sigma w * ppy)``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from cvxport.analysis.frontier_forms import risk_formulation
from cvxport.errors import InfeasibleError, InvalidInputError
from cvxport.problem import ParametrizedProblem

TOP_TOLERANCE = 2e-8
"""A target this far (relative to the largest mean) above ``return_range``'s top, which sits
``frontier.TOP_MARGIN`` = 1e-8 below the LP maximum, is the maximum itself: it gets the top."""

RISK_MARGIN = 1e-9
"""Relative slack of the return found under a volatility target when the minimum variance
portfolio for it is then solved (the LP optimum carries solver error of about 1e-10)."""


def _annual_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite annual fraction, got {value!r}")
    return float(value)


class TargetPortfolios:
    """Mixin of ``EfficientFrontier``: ``portfolio_for_return`` and ``portfolio_for_risk``."""

    def portfolio_for_return(self, target_return: float) -> pd.Series:
        """Return the efficient weights expecting at least ``target_return`` (annual fraction,
        arithmetic, as ``calculate``'s ``target_return``), by symbol.

        Below the minimum variance portfolio's return that portfolio itself is the answer.

        Raises:
            InfeasibleError: the target exceeds the highest return the constraints allow.
        """
        target = _annual_number("target_return", target_return) / self._ppy()
        bottom, top, lowest = self._return_range_cached()
        if target > top + TOP_TOLERANCE * self._mean_scale:
            raise InfeasibleError(
                f"target_return {target_return:.6g} (annual) exceeds the highest expected return "
                f"under {list(self._all_constraints)}: {top * self.periods_per_year_:.6g}"
            )
        if target <= bottom:
            return self._series(lowest)
        zeros = np.zeros(len(lowest))
        scaled = self.expected_returns_.to_numpy() / self._mean_scale
        goal = min(target, top) / self._mean_scale
        return self._series(self._solve(1.0, zeros, scaled, goal))

    def portfolio_for_risk(self, volatility: float) -> pd.Series:
        """Return the efficient weights of annual volatility at most ``volatility`` (annual
        fraction) with the highest expected return, by symbol.

        Raises:
            InfeasibleError: ``volatility`` is below the minimum variance portfolio's.
        """
        limit = _annual_number("volatility", volatility)
        bottom, top, lowest = self._return_range_cached()
        least = self._performance(lowest)["volatility"]
        if limit < least * (1 - 1e-9):
            raise InfeasibleError(
                f"volatility {volatility:.6g} (annual) is below the minimum variance portfolio's "
                f"{least:.6g} under {list(self._all_constraints)}"
            )
        if limit <= least:
            return self._series(lowest)
        weights = self._highest_return_within(limit)
        best = float(self.expected_returns_.to_numpy() @ weights)
        target = max(best - RISK_MARGIN * self._mean_scale, bottom)
        return self.portfolio_for_return(min(target, top) * self.periods_per_year_)

    # --- internals --------------------------------------------------------------------------
    def _ppy(self) -> int:
        self._prepare()
        return self.periods_per_year_

    def _return_range_cached(self) -> tuple[float, float, np.ndarray]:
        self._prepare()
        if getattr(self, "_range", None) is None:
            self._range = self.return_range()
        return self._range

    def _highest_return_within(self, volatility: float) -> np.ndarray:
        """(n,) weights maximizing mu' w subject to sqrt(w' Sigma w * ppy) <= volatility."""
        if getattr(self, "_risk_problem", None) is None:
            constant = None if self._width else self._scaled
            n = len(self.expected_returns_)
            self._risk_problem = ParametrizedProblem(
                risk_formulation(constant, n, self._width), self.expected_returns_.index,
                self._all_constraints,
            )  # fmt: skip
            self.build_count_ += 1
        values = {
            "return_weight": self.expected_returns_.to_numpy() / self._mean_scale,
            "variance_limit": volatility**2 / self.periods_per_year_ / self._variance_scale,
        }
        if self._width:
            values["covariance"] = self._scaled
        weights, _ = self._risk_problem.solve(values, {}, self._solvers()[1])
        return weights
