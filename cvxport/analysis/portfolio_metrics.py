"""``PortfolioMetrics``: the backtest's performance keys plus diversification and risk shares."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from cvxport.analysis.attribution import align_to_periods
from cvxport.errors import InvalidInputError, MissingAssetReturnsError
from cvxport.metrics.allocation import diversification_ratio, hhi, risk_contributions
from cvxport.metrics.report import performance_report
from cvxport.periods import infer_periods_per_year, validate_periods_per_year

NEEDS_ASSET_RETURNS = ("diversification_ratio", "risk_contribution", "correlation_matrix")


class PortfolioMetrics:
    """Performance, concentration and risk-decomposition metrics of a backtest.

    The asset returns that the risk figures need are passed (``result.asset_returns``, or
    :meth:`calculate_result`), or else read from ``weights_history.attrs['asset_returns']``,
    which a backtest result's frame carries only for the spec's two-argument call; without
    either, :class:`MissingAssetReturnsError` is raised (never a silent drop). They are taken at the
    periods of the equity curve's returns (its dates after the first; see
    ``cvxport.analysis.attribution`` for the alignment rule) and their sample covariance
    (ddof=1, per period) is the risk model.
    """

    def calculate(
        self,
        equity_curve: pd.Series,
        weights_history: pd.DataFrame,
        asset_returns: pd.DataFrame | None = None,
        risk_free_rate: float = 0.0,
        periods_per_year: int | None = None,
    ) -> dict[str, Any]:
        """Return the report dict.

        Args:
            equity_curve: (T,) positive equity values, indexed by date.
            weights_history: (T, n) weights after each bar, fractions of equity.
            asset_returns: (>= T - 1, n) simple asset returns; default
                ``weights_history.attrs['asset_returns']``.
            risk_free_rate: annual fraction.
            periods_per_year: default ``weights_history.attrs['periods_per_year']``, else
                inferred from the equity curve's dates.

        Returns:
            The keys of ``cvxport.metrics.performance_report`` in its units (``total_return``,
            ``annualized_return``, ``volatility`` and ``max_drawdown`` in percent; ratios
            plain), and:

            * ``hhi``: sum of squared last weights (plain ratio); ``hhi_average``: its mean
              over the rows holding any position;
            * ``diversification_ratio``: weighted average asset volatility over portfolio
              volatility, last weights (plain ratio);
            * ``risk_contribution``: symbol -> share of the variance of the last weights,
              summing to 1 (fractions);
            * ``correlation_matrix``: (n, n) DataFrame of asset return correlations;
            * ``unavailable``: {key: reason} for every key above that could not be computed
              (zero portfolio variance, ...); those keys are then absent and a
              ``UserWarning`` names them.

        Raises:
            MissingAssetReturnsError: no ``asset_returns`` given and none in the frame's attrs
                (a frame built, copied without attrs, saved and loaded).
            InvalidInputError: invalid equity or weights, or asset returns misaligned with the
                equity curve (dates named).
        """
        if not isinstance(weights_history, pd.DataFrame) or weights_history.empty:
            raise InvalidInputError(
                "weights_history must be a non-empty DataFrame (dates x symbols)"
            )
        if not isinstance(equity_curve, pd.Series):
            raise InvalidInputError("equity_curve must be a pandas Series indexed by date")
        ppy = periods_per_year or weights_history.attrs.get("periods_per_year")
        ppy = (
            infer_periods_per_year(equity_curve.index)
            if ppy is None
            else validate_periods_per_year(ppy)
        )
        report: dict[str, Any] = performance_report(equity_curve, ppy, risk_free_rate)
        weights = weights_history.astype(float)
        last = weights.iloc[-1].rename("weight")
        report["hhi"] = hhi(last)
        unavailable: dict[str, str] = {}
        held = weights[(weights != 0).any(axis=1)]
        if len(held):
            report["hhi_average"] = float(np.mean([hhi(row) for _, row in held.iterrows()]))
        else:
            unavailable["hhi_average"] = "weights_history holds no position in any row"

        if asset_returns is None:
            asset_returns = weights_history.attrs.get("asset_returns")
        if asset_returns is None:
            raise MissingAssetReturnsError(
                f"PortfolioMetrics needs the asset returns for {', '.join(NEEDS_ASSET_RETURNS)}: "
                "pass asset_returns=result.asset_returns (or use calculate_result(result)); "
                "this weights_history carries none in attrs"
            )
        unavailable.update(self._risk(report, last, asset_returns, equity_curve.index[1:]))
        report["unavailable"] = unavailable
        if unavailable:
            listed = "; ".join(f"{key}: {reason}" for key, reason in unavailable.items())
            warnings.warn(f"PortfolioMetrics could not compute {listed}", UserWarning, stacklevel=2)
        return report

    def calculate_result(self, result: Any, risk_free_rate: float = 0.0) -> dict[str, Any]:
        """Return :meth:`calculate` of a ``PortfolioResult`` from its fields (no attrs used)."""
        return self.calculate(
            result.equity_curve,
            result.weights_history,
            result.asset_returns,
            risk_free_rate,
            result.periods_per_year,
        )

    @staticmethod
    def _risk(
        report: dict[str, Any], last: pd.Series, asset_returns: Any, periods: pd.Index
    ) -> dict[str, str]:
        """Add the risk keys to ``report``; return {key: reason} for those it cannot compute."""
        if not isinstance(asset_returns, pd.DataFrame):
            raise InvalidInputError("asset_returns must be a DataFrame (dates x symbols)")
        missing = [s for s in last.index if s not in asset_returns.columns]
        if missing:
            raise InvalidInputError(f"asset_returns lacks symbols {missing}")
        if len(periods) < 2:
            raise InvalidInputError("the equity curve needs at least 3 dates for a covariance")
        returns = align_to_periods(asset_returns[list(last.index)], periods, "asset_returns")
        covariance = returns.cov(ddof=1)
        unavailable: dict[str, str] = {}
        flat = [s for s in last.index if not covariance.loc[s, s] > 0]
        if flat:
            unavailable["correlation_matrix"] = f"{flat} have zero variance: correlation undefined"
        else:
            report["correlation_matrix"] = returns.corr()
        for key, function in (
            ("diversification_ratio", diversification_ratio),
            ("risk_contribution", risk_contributions),
        ):
            try:
                value = function(last, covariance)
            except InvalidInputError as exc:
                unavailable[key] = str(exc)
                continue
            report[key] = value.to_dict() if isinstance(value, pd.Series) else value
        return unavailable
