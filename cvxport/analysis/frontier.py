"""The mean-variance efficient frontier, traced from one compiled problem.

Units: the estimates (``expected_returns_``, ``covariance_``) are per period; everything the
frontier reports is annualized with ``periods_per_year`` (ppy):

* expected return: arithmetic, ``mu' w * ppy`` (annual fraction);
* volatility: ``sqrt(w' Sigma w * ppy)`` (annual fraction);
* Sharpe ratio: ``(mu' w - rf_period) / sqrt(w' Sigma w) * sqrt(ppy)`` with
  ``rf_period = (1 + risk_free_rate) ** (1 / ppy) - 1``, the convention of
  ``cvxport.metrics.sharpe_ratio`` and of ``MaximumSharpeAllocator``.

One problem serves every point, the minimum variance portfolio and the highest feasible return
(``frontier_forms``): built once, re-solved with new Parameters. With a covariance estimator
that gives a factor model (``PCAFactorModel``, ``ExposureFactorModel``) every problem is in
factor form and the n x n matrix is never formed; the frontier points (a QP with the target
return as a linear row) then go to the exact ACTIVE_SET backend when ``solver`` is None and
every constraint row is linear, the highest-return LP and the volatility target to cvxpy.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cvxport.allocators.base import merge_constraints
from cvxport.allocators.maximum_sharpe import maximum_sharpe_formulation, per_period_rate
from cvxport.allocators.risk_model import (
    average_variance,
    estimate_risk_model,
    unit_scaled_model,
)
from cvxport.allocators.sharpe_checks import best_excess
from cvxport.analysis.frontier_forms import frontier_formulation
from cvxport.analysis.frontier_targets import TargetPortfolios
from cvxport.constraints.base import Constraint
from cvxport.errors import InfeasibleError, InvalidInputError, SolverError
from cvxport.estimation import (
    CovarianceEstimator,
    ExpectedReturnsEstimator,
    get_expected_returns_estimator,
    validate_returns,
)
from cvxport.estimation.factor_cvxpy import risk_width
from cvxport.periods import infer_periods_per_year, validate_periods_per_year
from cvxport.problem import ParametrizedProblem
from cvxport.risk.moments import quadratic_value
from cvxport.solvers import DEFAULT_SOLVER, EXACT_BACKENDS, check_solver

TOP_MARGIN = 1e-8
"""The last target sits this far below the LP maximum of ``mu' w / max|mu|`` (dimensionless).

The LP's optimum carries solver error (measured 8e-11 on the bundled data) and a target even
that far above the true maximum makes the QP infeasible; 1e-8 of the largest mean is about
1e-11 per day in return units.
"""


class EfficientFrontier(TargetPortfolios):
    """Mean-variance frontier of ``returns`` under constraint objects.

    Args:
        returns: (T, n) simple periodic returns (fractions); columns are symbols.
        constraints: constraint objects (``WeightBounds``, ``GroupLimits``, ...).
        risk_free_rate: annual fraction (0.04 = 4%).
        periods_per_year: bars per year; inferred from the returns index when None.
        covariance: covariance estimator name or object (per-period units).
        expected_returns: expected-returns estimator name or object (per-period fractions).
        solver: cvxpy solver name (see ``cvxport.solvers.SOLVER_OPTIONS``); None: Clarabel
            (with a factor model: the default chain, ACTIVE_SET first, for the QPs).
        long_only: add ``LongOnly()``, as the allocators do.

    After use: ``expected_returns_`` (n,) and ``covariance_`` per period ((n, n) frame, or the
    ``FactorModel`` when the estimator gives one: never formed n x n),
    ``periods_per_year_``, ``frontier_`` (the last ``calculate``), ``build_count_`` (cvxpy
    problems built: 1 for every frontier point and both bounds, +1 for maximum Sharpe, +1
    for ``portfolio_for_risk``). ``portfolio_for_return`` and ``portfolio_for_risk`` give the
    efficient portfolio for a target return or volatility (``frontier_targets``).
    """

    def __init__(
        self,
        returns: pd.DataFrame,
        constraints: Sequence[Constraint] | None = None,
        risk_free_rate: float = 0.0,
        periods_per_year: int | None = None,
        covariance: str | CovarianceEstimator = "sample",
        expected_returns: str | ExpectedReturnsEstimator = "sample",
        solver: str | None = None,
        long_only: bool = True,
    ) -> None:
        self.returns = returns
        self.constraints = constraints
        self.risk_free_rate = risk_free_rate
        self.periods_per_year = periods_per_year
        self.covariance = covariance
        self.expected_returns = expected_returns
        self.solver = solver
        self.long_only = long_only
        self.build_count_ = 0
        self.frontier_: pd.DataFrame | None = None
        self._problem: ParametrizedProblem | None = None
        self._sharpe_problem: ParametrizedProblem | None = None

    # --- data -------------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Validate the inputs and estimate once (on first use)."""
        if self._problem is not None:
            return
        returns = validate_returns(self.returns)
        rate = self.risk_free_rate
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not rate > -1:
            raise InvalidInputError(f"risk_free_rate must be an annual fraction > -1, got {rate!r}")
        self._solver = check_solver(self.solver or DEFAULT_SOLVER)
        ppy = self.periods_per_year
        self.periods_per_year_ = (
            infer_periods_per_year(returns.index) if ppy is None else validate_periods_per_year(ppy)
        )
        assets = returns.columns
        mean = get_expected_returns_estimator(self.expected_returns).estimate(returns)
        mean = np.asarray(mean, dtype=float)
        if mean.shape != (len(assets),) or not np.all(np.isfinite(mean)):
            raise InvalidInputError(f"expected returns {self.expected_returns!r} gave {mean!r}")
        raw = estimate_risk_model(returns, self.covariance)  # an array or a factor model
        self._width = width = risk_width(raw)
        self._risk_model, self._variance_scale = raw, average_variance(raw)
        self._scaled = unit_scaled_model(raw)
        self.expected_returns_ = pd.Series(mean, index=assets, name="expected_return")
        self.covariance_ = raw if width else pd.DataFrame(raw, index=assets, columns=assets)
        self._all_constraints = merge_constraints(self.long_only, self.constraints)
        for constraint in self._all_constraints:
            constraint.validate(assets)
        self._mean_scale = float(np.max(np.abs(mean))) or 1.0
        constant = None if width else self._scaled
        self._problem = ParametrizedProblem(
            frontier_formulation(constant, len(assets), width), assets, self._all_constraints
        )
        self.build_count_ += 1

    def _solvers(self) -> tuple[str | None, str]:
        """(solver of the QPs, cvxpy solver of the LP and the volatility target): Clarabel
        or the named solver for both on a dense covariance; in factor form the QPs take the
        default chain (ACTIVE_SET first) unless a solver is named."""
        cvxpy_solver = DEFAULT_SOLVER if self._solver in EXACT_BACKENDS else self._solver
        if self._width is None:
            return self._solver, self._solver
        return (None if self.solver is None else self._solver), cvxpy_solver

    def _solve(self, a: float, d: np.ndarray, c: np.ndarray, t: float) -> np.ndarray:
        """Minimize a w'Sw - d'w subject to sum(w) = 1, c'w >= t and the constraints."""
        qp_solver, cvxpy_solver = self._solvers()
        if self._width is None:
            values = {"variance_weight": a, "return_weight": d, "target_mean": c, "target": t}
            solver = self._solver
        else:  # a S as the model's value; a = 0: no risk term, the LP goes to cvxpy
            model = None if a == 0 else (self._scaled if a == 1 else self._scaled.scaled(a))
            values = {"covariance": model, "linear": -d, "target_mean": c, "target": t}
            solver = cvxpy_solver if a == 0 else qp_solver
        try:
            weights, _ = self._problem.solve(values, {}, solver)
        except SolverError as exc:
            if "unbounded" in str(exc):
                raise InvalidInputError(
                    "the expected return is unbounded under the constraints "
                    f"{list(self._all_constraints)}: add upper weight limits (WeightBounds)"
                ) from exc
            raise
        return weights

    # --- portfolios -------------------------------------------------------------------------
    def get_minimum_variance_portfolio(self) -> pd.Series:
        """Return the minimum variance weights (fractions of NAV summing to 1), by symbol."""
        self._prepare()
        zeros = np.zeros(len(self.expected_returns_))
        return self._series(self._solve(1.0, zeros, zeros, 0.0))

    def get_maximum_sharpe_portfolio(self) -> pd.Series:
        """Return the maximum Sharpe weights (Charnes-Cooper QP), by symbol.

        Raises:
            InfeasibleError: no asset's expected return beats the per-period risk-free rate.
        """
        self._prepare()
        excess = self.expected_returns_.to_numpy() - self._rf_period()
        best = best_excess(
            excess, self.expected_returns_.index, "the maximum Sharpe portfolio does not exist"
        )
        if self._sharpe_problem is None:
            formulation = maximum_sharpe_formulation(len(excess), factor_width=self._width)
            self._sharpe_problem = ParametrizedProblem(
                formulation, self.expected_returns_.index, self._all_constraints
            )
            self.build_count_ += 1
        values = {"covariance": self._scaled, "excess_mean": excess / excess[best]}
        weights, _ = self._sharpe_problem.solve(values, {}, self._solvers()[0])
        return self._series(weights)

    def portfolio_performance(self, weights: pd.Series) -> dict[str, float]:
        """Annualized ``expected_return``, ``volatility`` (fractions) and ``sharpe_ratio``.

        Args:
            weights: (n,) fractions of NAV indexed by the frontier's symbols.
        """
        self._prepare()
        symbols = self.expected_returns_.index
        if not isinstance(weights, pd.Series) or set(weights.index) != set(symbols):
            raise InvalidInputError(f"weights must be a Series over exactly {list(symbols)}")
        w = weights.reindex(symbols).to_numpy(dtype=float)
        return self._performance(w)

    def _performance(self, w: np.ndarray) -> dict[str, float]:
        ppy = self.periods_per_year_
        mean = float(self.expected_returns_.to_numpy() @ w)
        std = float(np.sqrt(max(quadratic_value(self._risk_model, w), 0.0)))
        sharpe = (mean - self._rf_period()) / std * np.sqrt(ppy) if std > 0 else 0.0
        return {
            "expected_return": mean * ppy,
            "volatility": std * np.sqrt(ppy),
            "sharpe_ratio": float(sharpe),
        }

    def _asset_variances(self) -> np.ndarray:
        """(n,) per-period variances of the assets (the model's diagonal, O(n k))."""
        raw = self._risk_model
        return raw.variances() if self._width else np.diag(raw).copy()

    def _rf_period(self) -> float:
        return per_period_rate(float(self.risk_free_rate), self.periods_per_year_)

    def _series(self, weights: np.ndarray) -> pd.Series:
        return pd.Series(weights, index=self.expected_returns_.index, name="weight")

    # --- the frontier -----------------------------------------------------------------------
    def return_range(self) -> tuple[float, float, np.ndarray]:
        """Return the ends: (minimum variance return, highest feasible return, (n,) weights).

        Returns are per period (fractions); the weights are the minimum variance portfolio's.
        """
        self._prepare()
        mu = self.expected_returns_.to_numpy()
        scaled = mu / self._mean_scale
        zeros = np.zeros(len(mu))
        top = float(scaled @ self._solve(0.0, scaled, zeros, 0.0)) - TOP_MARGIN
        lowest = self._solve(1.0, zeros, zeros, 0.0)
        bottom = float(mu @ lowest)
        return bottom, max(top * self._mean_scale, bottom), lowest

    def calculate(self, n_points: int = 100) -> pd.DataFrame:
        """Trace the frontier from the minimum variance return to the highest feasible return.

        The first point is the minimum variance portfolio itself (there the return constraint
        holds with a zero multiplier, a degenerate case that interior-point solvers resolve
        to only about sqrt(tolerance): 4e-6 in weights, measured).

        Args:
            n_points: number of evenly spaced target returns (>= 2).

        Returns:
            (n_points, 3 + n) DataFrame: ``target_return`` (annual fraction, arithmetic),
            ``volatility`` (annual fraction), ``sharpe_ratio`` (annualized ratio), then one
            column of weights (fractions of NAV) per symbol. Also stored as ``frontier_``.
        """
        integer = isinstance(n_points, (int, np.integer)) and not isinstance(n_points, bool)
        if not integer or n_points < 2:
            raise InvalidInputError(f"n_points must be an integer >= 2, got {n_points!r}")
        bottom, top, lowest = self.return_range()
        scaled = self.expected_returns_.to_numpy() / self._mean_scale
        zeros = np.zeros(len(scaled))
        rows = []
        for i, target in enumerate(np.linspace(bottom, top, int(n_points))):
            weights = (
                lowest if i == 0 else self._solve(1.0, zeros, scaled, target / self._mean_scale)
            )
            perf = self._performance(weights)
            rows.append([target * self.periods_per_year_, perf["volatility"], perf["sharpe_ratio"]])
            rows[-1] += list(weights)
        columns = ["target_return", "volatility", "sharpe_ratio", *self.expected_returns_.index]
        self.frontier_ = pd.DataFrame(rows, columns=columns)
        return self.frontier_.copy()

    def plot_frontier(self, ax=None):
        """Plot the frontier, the assets, both special portfolios and the capital market line.

        Axes are annualized volatility and expected return, in percent. Calls
        ``calculate(100)`` first when no frontier has been computed. Returns the Axes.
        """
        from cvxport.plotting import plot_frontier

        frontier = self.frontier_ if self.frontier_ is not None else self.calculate()
        ppy = self.periods_per_year_
        assets = pd.DataFrame(
            {
                "volatility": np.sqrt(self._asset_variances() * ppy),
                "expected_return": self.expected_returns_.to_numpy() * ppy,
            },
            index=self.expected_returns_.index,
        )
        low = self.portfolio_performance(self.get_minimum_variance_portfolio())
        try:
            best = self.portfolio_performance(self.get_maximum_sharpe_portfolio())
        except InfeasibleError:
            best = None
        return plot_frontier(
            frontier,
            assets=assets,
            minimum_variance=(low["volatility"], low["expected_return"]),
            maximum_sharpe=None if best is None else (best["volatility"], best["expected_return"]),
            risk_free_rate=self._rf_period() * ppy,
            ax=ax,
        )
