"""Stress scenarios on a portfolio: price shocks, correlation spikes, volatility shocks.

A scenario is a mapping mixing any of three kinds of keys:

* ``symbol -> shock``: an instantaneous price move of that asset, a fraction >= -1
  (-0.30 = the price falls 30%);
* ``'correlation_increase': x``: every correlation blended toward 1,
  ``C' = (1 - x) C + x 11'`` with x in [0, 1] (a convex combination of correlation matrices,
  so ``C'`` stays one: unit diagonal, positive semidefinite);
* ``'volatility_multiplier': m``: every volatility multiplied by m >= 0.

Every figure is a fraction of the portfolio's value before the scenario, positive = a loss.
The weights are fractions of that value (cash excluded, so they may sum below 1; cash
neither gains nor loses). The shocks turn weights ``w`` into exposures ``e = w * (1 + s)``.

* ``shock_loss = -sum(w * s)``.
* With covariance keys, the parametric normal (zero mean) VaR and expected shortfall of the
  exposures over ``horizon`` periods at ``confidence``: ``VaR = z * sqrt(e' Sigma e * h)``,
  ``ES = phi(z) / (1 - confidence) * sqrt(e' Sigma e * h)``, under the unstressed Sigma
  (``var``, ``expected_shortfall``) and the stressed one (``stressed_var``, ...).
* ``portfolio_loss = shock_loss + stressed_var`` (``stressed_var`` is 0 without covariance
  keys): the shock, then a stressed horizon at the confidence. A pure price-shock scenario
  loses exactly ``-sum(w * s)``; a pure covariance scenario loses its stressed VaR.
* ``asset_pnl[i] = w_i s_i - V_i``, where ``V_i = z sqrt(h) e_i (Sigma' e)_i /
  sqrt(e' Sigma' e)`` is the asset's Euler (component) share of the stressed VaR, so
  ``sum(asset_pnl) = -portfolio_loss`` always. ``worst_asset`` has the most negative P&L
  (None when no asset loses).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from cvxport.allocators.risk_model import estimate_covariance
from cvxport.errors import InvalidInputError
from cvxport.metrics.allocation import portfolio_volatility, risk_contributions
from cvxport.periods import validate_periods_per_year

CORRELATION_INCREASE = "correlation_increase"
VOLATILITY_MULTIPLIER = "volatility_multiplier"
COVARIANCE_KEYS = (CORRELATION_INCREASE, VOLATILITY_MULTIPLIER)


def _number(value: Any, name: str, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidInputError(f"{name} must lie in [{low}, {high}], got {value!r}")
    return number


def blend_correlation(correlation: pd.DataFrame, increase: float) -> pd.DataFrame:
    """Blend a correlation matrix toward all ones: ``(1 - increase) C + increase 11'``.

    Args:
        correlation: (n, n) correlation matrix.
        increase: blend weight in [0, 1]; 0 leaves C unchanged, 1 gives all ones.
    """
    x = _number(increase, CORRELATION_INCREASE, 0.0, 1.0)
    return (1.0 - x) * correlation + x


def stress_covariance(
    covariance: pd.DataFrame, correlation_increase: float = 0.0, volatility_multiplier: float = 1.0
) -> pd.DataFrame:
    """Return the (n, n) covariance with blended correlations and multiplied volatilities.

    Same units as ``covariance``. An asset with zero volatility keeps zero covariance.
    """
    m = _number(volatility_multiplier, VOLATILITY_MULTIPLIER, 0.0)
    vol = np.sqrt(np.clip(np.diag(covariance.to_numpy(dtype=float)), 0.0, None))
    safe = np.where(vol > 0, vol, 1.0)
    corr = covariance.to_numpy(dtype=float) / np.outer(safe, safe)
    corr[vol == 0, :] = 0.0
    corr[:, vol == 0] = 0.0
    np.fill_diagonal(corr, 1.0)
    blended = blend_correlation(pd.DataFrame(corr), correlation_increase).to_numpy()
    stressed = np.outer(vol * m, vol * m) * blended
    return pd.DataFrame(stressed, index=covariance.index, columns=covariance.columns)


def _check_risk_arguments(confidence: float, horizon: float) -> tuple[float, float]:
    c, h = _number(confidence, "confidence", 0.0, 1.0), _number(horizon, "horizon (periods)", 0.0)
    if c in (0.0, 1.0) or h == 0.0:
        raise InvalidInputError(f"need 0 < confidence < 1 and horizon > 0, got {c!r}, {h!r}")
    return c, h


def parametric_var_es(
    weights: pd.Series, covariance: pd.DataFrame, confidence: float = 0.95, horizon: float = 1
) -> tuple[float, float]:
    """Normal (zero mean) value at risk and expected shortfall, fractions of value (loss > 0).

    Args:
        weights: (n,) exposures, fractions of portfolio value, indexed by symbol.
        covariance: (n, n) per-period return covariance over the same symbols.
        confidence: e.g. 0.95; the loss is exceeded with probability ``1 - confidence``.
        horizon: periods; the volatility scales with ``sqrt(horizon)``.

    Returns:
        (VaR, ES) = (z sigma_h, phi(z) / (1 - confidence) sigma_h), ``sigma_h`` the horizon
        volatility and ``z`` the standard normal quantile at ``confidence``.
    """
    c, h = _check_risk_arguments(confidence, horizon)
    sigma_h = portfolio_volatility(weights, covariance) * math.sqrt(h)
    z = float(norm.ppf(c))
    return z * sigma_h, float(norm.pdf(z)) / (1.0 - c) * sigma_h


def component_var(
    weights: pd.Series, covariance: pd.DataFrame, confidence: float = 0.95, horizon: float = 1
) -> pd.Series:
    """Euler contributions to the parametric VaR by symbol, summing to it (fractions of value).

    ``VaR x risk_contributions(weights, covariance)``; all zero when the volatility is zero.
    """
    var, _ = parametric_var_es(weights, covariance, confidence, horizon)
    if var == 0.0:
        return pd.Series(0.0, index=weights.index)
    return var * risk_contributions(weights, covariance)


def check_scenario(
    scenario: Mapping[str, float], symbols: pd.Index
) -> tuple[pd.Series, dict[str, float]]:
    """Check a scenario against ``symbols``; return (shocks (n,), covariance keys given).

    Raises:
        InvalidInputError: not a mapping, an unknown symbol or key (named), a shock below -1,
            or a covariance key out of range.
    """
    if not isinstance(scenario, Mapping):
        raise InvalidInputError(f"a scenario must be a mapping, got {scenario!r}")
    unknown = [k for k in scenario if k not in symbols and k not in COVARIANCE_KEYS]
    if unknown:
        raise InvalidInputError(
            f"scenario names unknown symbols or keys {unknown}; symbols: {list(symbols)}, "
            f"keys: {list(COVARIANCE_KEYS)}"
        )
    shocks = pd.Series(0.0, index=symbols)
    for symbol in symbols:
        if symbol in scenario:
            shocks[symbol] = _number(scenario[symbol], f"price shock of {symbol!r}", -1.0)
    stress = {key: scenario[key] for key in COVARIANCE_KEYS if key in scenario}
    _number(stress.get(CORRELATION_INCREASE, 0.0), CORRELATION_INCREASE, 0.0, 1.0)
    _number(stress.get(VOLATILITY_MULTIPLIER, 1.0), VOLATILITY_MULTIPLIER, 0.0)
    return shocks, stress


def stress_scenario(
    weights: pd.Series,
    covariance: pd.DataFrame | None,
    scenario: Mapping[str, float],
    periods_per_year: int | None = None,
    confidence: float = 0.95,
    horizon: float = 1,
) -> dict[str, Any]:
    """Apply one scenario to ``weights`` (see the module docstring for every definition).

    Args:
        weights: (n,) fractions of portfolio value, indexed by symbol.
        covariance: (n, n) per-period covariance; needed only with covariance keys.
        scenario: ``{symbol: shock, 'correlation_increase': x, 'volatility_multiplier': m}``.
        periods_per_year: annualizes ``volatility``; needed only with covariance keys.
        confidence: VaR/ES confidence in (0, 1).
        horizon: VaR/ES horizon in periods (> 0).

    Returns:
        ``portfolio_loss``, ``shock_loss``, ``worst_asset``, ``asset_pnl`` (symbol -> fraction)
        and, with covariance keys, ``volatility``/``stressed_volatility`` (annual fractions),
        ``var``/``stressed_var``, ``expected_shortfall``/``stressed_expected_shortfall``,
        ``confidence`` and ``horizon``.

    Raises:
        InvalidInputError: an unknown symbol or key (named), a shock below -1, or a missing
            covariance or periods_per_year for a covariance scenario.
    """
    if not isinstance(weights, pd.Series) or weights.index.has_duplicates:
        raise InvalidInputError("weights must be a pandas Series indexed by unique symbols")
    weights = weights.astype(float)
    if not np.all(np.isfinite(weights.to_numpy())):
        raise InvalidInputError(
            f"weights are not finite for {list(weights.index[~np.isfinite(weights)])}"
        )
    shocks, stress = check_scenario(scenario, weights.index)
    pnl = weights * shocks
    result: dict[str, Any] = {"shock_loss": 0.0 - float(pnl.sum())}
    stressed_var = 0.0
    if stress:
        if covariance is None or periods_per_year is None:
            raise InvalidInputError(
                f"scenario keys {list(COVARIANCE_KEYS)} need a covariance and periods_per_year"
            )
        stressed = stress_covariance(covariance, **stress)
        exposure = weights * (1.0 + shocks)
        annual = math.sqrt(validate_periods_per_year(periods_per_year))
        var, es = parametric_var_es(exposure, covariance, confidence, horizon)
        stressed_var, stressed_es = parametric_var_es(exposure, stressed, confidence, horizon)
        pnl = pnl - component_var(exposure, stressed, confidence, horizon)
        result.update(
            volatility=portfolio_volatility(exposure, covariance) * annual,
            stressed_volatility=portfolio_volatility(exposure, stressed) * annual,
            var=var,
            stressed_var=stressed_var,
            expected_shortfall=es,
            stressed_expected_shortfall=stressed_es,
            confidence=float(confidence),
            horizon=horizon,
        )
    result["portfolio_loss"] = result["shock_loss"] + stressed_var
    result["worst_asset"] = pnl.idxmin() if len(pnl) and pnl.min() < 0 else None
    result["asset_pnl"] = {symbol: float(value) for symbol, value in pnl.items()}
    return result


class PortfolioStressTester:
    """Run stress scenarios on a ``PortfolioManager``'s holdings or target weights.

    Args:
        manager: the portfolio manager (its config, state, target and last returns are read).
        use: ``'current'`` (live holdings), ``'target'`` (target weights) or ``'auto'``
            (holdings when the manager holds any position, else the target).
        confidence: VaR/ES confidence in (0, 1).
        horizon: VaR/ES horizon, periods (bars) of the manager's data.

    The covariance is the manager's estimator (``config.covariance``) over the last
    ``config.lookback`` rows of ``manager.returns_``, per period; annualized with
    ``manager.periods_per_year_``.
    """

    def __init__(self, manager: Any, use: str = "auto", confidence: float = 0.95, horizon=1):
        self.manager = manager
        self.use = use
        self.confidence = confidence
        self.horizon = horizon

    def weights(self) -> tuple[pd.Series, str]:
        """Return (weights by symbol, basis): ``'current holdings'`` or ``'target weights'``."""
        if self.use not in ("auto", "current", "target"):
            raise InvalidInputError(f"use must be 'auto', 'current' or 'target', got {self.use!r}")
        holds = self.manager.state.has_positions
        if self.use == "current" and not holds:
            raise InvalidInputError("use='current' but the manager holds no positions")
        if self.use == "current" or (self.use == "auto" and holds):
            return self.manager.get_current_allocation().astype(float), "current holdings"
        return self.manager.get_target_allocation().astype(float), "target weights"

    def covariance(self) -> pd.DataFrame:
        """Return the (n, n) per-period covariance of the manager's last ``lookback`` returns."""
        returns = self.manager.returns_
        if returns is None:
            raise InvalidInputError(
                "covariance scenarios need the manager's returns: run backtest(data) or "
                "update_market_data(data) first"
            )
        config = self.manager.config
        window = returns[list(config.symbols)].iloc[-config.lookback :]
        sigma = estimate_covariance(window, config.covariance)
        return pd.DataFrame(sigma, index=window.columns, columns=window.columns)

    def run_scenarios(self, scenarios: Mapping[str, Mapping[str, float]]) -> dict[str, dict]:
        """Apply every scenario; return ``{name: result}`` (see ``stress_scenario``) plus ``basis``.

        Every scenario is checked before any is computed.
        """
        if not isinstance(scenarios, Mapping) or not scenarios:
            raise InvalidInputError(f"scenarios must be a non-empty mapping, got {scenarios!r}")
        weights, basis = self.weights()
        _check_risk_arguments(self.confidence, self.horizon)
        needs_covariance = False
        for name, scenario in scenarios.items():
            try:
                needs_covariance |= bool(check_scenario(scenario, weights.index)[1])
            except InvalidInputError as exc:
                raise InvalidInputError(f"scenario {name!r}: {exc}") from exc
        covariance = self.covariance() if needs_covariance else None
        ppy = self.manager.periods_per_year_
        results = {}
        for name, scenario in scenarios.items():
            result = stress_scenario(
                weights, covariance, scenario, ppy, self.confidence, self.horizon
            )
            result["basis"] = basis
            results[name] = result
        return results
