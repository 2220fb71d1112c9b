"""Black-Litterman: market-implied returns blended with views (He & Litterman 1999).

With S the covariance of per-period returns, w_mkt the market-cap weights and delta the risk
aversion, the prior (equilibrium excess returns) is pi = delta S w_mkt. K views P mu = Q
(P: K x n, Q per-period fractions) with uncertainty Omega give

    A = tau P S P' + Omega,
    mu_BL = pi + tau S P' A^{-1} (Q - P pi),
    S_BL  = S + tau S - tau S P' A^{-1} P tau S          (He & Litterman's posterior covariance).

Omega is diagonal, from each view's confidence c in (0, 1] by Idzorek's method in Walters'
closed form (2014): omega_k = tau (1 - c) / c * p_k' S p_k; c = 1 makes the view exact. A view
without a confidence gets He & Litterman's omega_k = tau p_k' S p_k (the same as c = 1/2).
``BlackLitterman`` is an expected-returns estimator (the posterior mean) and
``BlackLittermanCovariance`` a covariance estimator (the posterior covariance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cvxport.data.bundled import load_bundled_market_caps
from cvxport.errors import InvalidInputError
from cvxport.estimation.covariance import CovarianceEstimator, get_covariance_estimator
from cvxport.estimation.psd import clip_to_psd

MarketCaps = str | Mapping[str, float] | pd.Series | pd.DataFrame


@dataclass(frozen=True)
class View:
    """A view sum_i weights[i] * mu_i = value on per-period expected returns (fractions).

    ``confidence`` in (0, 1] (Idzorek; 1 = certain) or None (He-Litterman's omega).
    """

    weights: Mapping[str, float]
    value: float
    confidence: float | None = None

    def __post_init__(self) -> None:
        if not np.isfinite(self.value):
            raise InvalidInputError(f"{self!r}: value must be finite")
        c = self.confidence
        if c is not None and not (np.isfinite(c) and 0 < c <= 1):
            raise InvalidInputError(f"{self!r}: confidence must be in (0, 1], got {c!r}")
        if not self.weights or not any(v != 0 for v in self.weights.values()):
            raise InvalidInputError(f"{self!r}: a view needs a non-zero weight on some asset")


def absolute_view(symbol: str, value: float, confidence: float | None = None) -> View:
    """View: ``symbol``'s expected return per period is ``value`` (a fraction)."""
    return View({symbol: 1.0}, value, confidence)


def relative_view(
    outperformer: str | Mapping[str, float],
    underperformer: str | Mapping[str, float],
    value: float,
    confidence: float | None = None,
) -> View:
    """View: ``outperformer`` beats ``underperformer`` by ``value`` per period; each side is a
    symbol or a {symbol: weight} basket (weights summing to 1 per side, as given)."""
    long = {outperformer: 1.0} if isinstance(outperformer, str) else dict(outperformer)
    short = {underperformer: 1.0} if isinstance(underperformer, str) else dict(underperformer)
    weights = dict(long)
    for symbol, weight in short.items():
        weights[symbol] = weights.get(symbol, 0.0) - weight
    return View(weights, value, confidence)


def view_matrices(
    views: Sequence[View], symbols: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[float | None]]:
    """Return (P (K, n), Q (K,), confidences) of ``views`` over ``symbols``."""
    position = {s: i for i, s in enumerate(symbols)}
    picks = np.zeros((len(views), len(symbols)))
    for k, view in enumerate(views):
        for symbol, weight in view.weights.items():
            if symbol not in position:
                raise InvalidInputError(f"{view!r}: {symbol!r} is not in the universe")
            picks[k, position[symbol]] += weight
    return picks, np.array([v.value for v in views], dtype=float), [v.confidence for v in views]


def implied_returns(
    covariance: np.ndarray, market_weights: np.ndarray, risk_aversion: float
) -> np.ndarray:
    """Return (n,) equilibrium excess returns delta S w_mkt, per period."""
    return risk_aversion * covariance @ market_weights


def view_uncertainty(
    covariance: np.ndarray, picks: np.ndarray, tau: float, confidences: Sequence[float | None]
) -> np.ndarray:
    """Return the (K, K) diagonal Omega: tau (1 - c)/c p'Sp (Idzorek), tau p'Sp without c."""
    variances = np.einsum("ki,ij,kj->k", picks, covariance, picks)
    alpha = np.array([1.0 if c is None else (1.0 - c) / c for c in confidences], dtype=float)
    return np.diag(tau * alpha * variances)


def black_litterman(
    covariance: np.ndarray,
    prior: np.ndarray,
    picks: np.ndarray,
    values: np.ndarray,
    omega: np.ndarray,
    tau: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the posterior (mean (n,), covariance (n, n)), per period (see the module)."""
    if len(values) == 0:
        return prior.copy(), (1.0 + tau) * covariance
    tau_s_pt = tau * covariance @ picks.T  # (n, K)
    system = picks @ tau_s_pt + omega
    try:
        gain = np.linalg.solve(system, np.c_[values - picks @ prior, tau_s_pt.T])
    except np.linalg.LinAlgError as exc:
        raise InvalidInputError(
            "the views are linearly dependent and certain (confidence 1): they conflict or "
            "repeat; lower a confidence or drop a view"
        ) from exc
    mean = prior + tau_s_pt @ gain[:, 0]
    posterior = covariance + tau * covariance - tau_s_pt @ gain[:, 1:]
    return mean, 0.5 * (posterior + posterior.T)


@dataclass(frozen=True, eq=False)
class BlackLitterman:
    """Black-Litterman posterior mean as an expected-returns estimator (per period).

    Attributes:
        views: the views (``absolute_view``, ``relative_view`` or ``View``).
        market_caps: 'bundled' (cvxport's CoinGecko caps as of the window's last day, 2021
            only), a dates x symbols frame (the row at or before the window's last day), or
            {symbol: cap}; ignored when ``prior`` is given.
        prior: {symbol: equilibrium excess return per period}, instead of market caps.
        covariance: the covariance estimator (name or object) of the returns window.
        risk_aversion: delta (unit-free: the same for daily or annual data).
        tau: the prior's uncertainty, as a multiple of S.
    """

    views: Sequence[View] = ()
    market_caps: MarketCaps = "bundled"
    prior: Mapping[str, float] | pd.Series | None = None
    covariance: str | CovarianceEstimator = "sample"
    risk_aversion: float = 2.5
    tau: float = 0.05

    def __post_init__(self) -> None:
        for name in ("risk_aversion", "tau"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise InvalidInputError(f"BlackLitterman.{name} must be > 0, got {value!r}")

    def posterior(self, returns: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Return (mean (n,), covariance (n, n)) for the (T, n) returns window."""
        symbols = list(returns.columns)
        covariance = clip_to_psd(get_covariance_estimator(self.covariance).estimate(returns))
        prior = self.prior_returns(returns, covariance)
        picks, values, confidences = view_matrices(self.views, symbols)
        omega = view_uncertainty(covariance, picks, self.tau, confidences)
        return black_litterman(covariance, prior, picks, values, omega, self.tau)

    def prior_returns(self, returns: pd.DataFrame, covariance: np.ndarray) -> np.ndarray:
        """Return the (n,) prior: the given one, or delta S w_mkt from the market caps."""
        symbols = list(returns.columns)
        if self.prior is not None:
            return _aligned(self.prior, symbols, "prior")
        caps = _aligned(self.caps_for(returns), symbols, "market cap")
        if np.any(caps <= 0):
            bad = symbols[int(np.argmax(caps <= 0))]
            raise InvalidInputError(f"market cap of {bad!r} must be > 0, got {caps.min()!r}")
        return implied_returns(covariance, caps / caps.sum(), self.risk_aversion)

    def caps_for(self, returns: pd.DataFrame) -> Mapping[str, float] | pd.Series:
        """Return the market caps in force at the window's last day."""
        last = pd.Timestamp(returns.index[-1])
        if isinstance(self.market_caps, str):
            if self.market_caps != "bundled":
                raise InvalidInputError(
                    f"market_caps={self.market_caps!r}: give 'bundled', a frame or a mapping"
                )
            return load_bundled_market_caps(last.normalize(), list(returns.columns))
        if isinstance(self.market_caps, pd.DataFrame):
            known = self.market_caps.loc[:last]
            if known.empty:
                raise InvalidInputError(f"no market caps dated at or before {last}")
            return known.iloc[-1]
        return self.market_caps

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        """Return the (n,) posterior mean returns per period."""
        return self.posterior(returns)[0]


@dataclass(frozen=True, eq=False)
class BlackLittermanCovariance:
    """The posterior covariance of a ``BlackLitterman`` model as a covariance estimator."""

    model: BlackLitterman

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        """Return the (n, n) posterior covariance, per-period units."""
        return self.model.posterior(returns)[1]


def _aligned(values: Mapping[str, float] | pd.Series, symbols: list[str], what: str) -> np.ndarray:
    missing = [s for s in symbols if s not in values]
    if missing:
        raise InvalidInputError(f"no {what} for symbol {missing[0]!r}")
    out = np.array([float(values[s]) for s in symbols])
    if not np.all(np.isfinite(out)):
        raise InvalidInputError(
            f"{what} of {symbols[int(np.argmin(np.isfinite(out)))]!r} is not finite"
        )
    return out
