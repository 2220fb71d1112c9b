"""Shared fixtures of the portfolio tests: seeded synthetic returns, the bundled crypto returns,
exact reference solutions, and the one table of per-solver weight tolerances."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cvxport import AllocationMethod, PortfolioConfig
from cvxport.data import BUNDLED_SYMBOLS, align_prices, load_bundled_prices

# Largest absolute weight difference (fraction of NAV, per unit of gross exposure sum |w| when
# that exceeds 1) accepted between a solver's answer and an exact reference: a closed form, the
# KKT solution on the solver's active set (certified by its multiplier signs), or Newton's
# method on the risk-budget barrier. Measured once with cvxport.solvers.SOLVER_OPTIONS over every
# such comparison in these tests, and over 60 random bounded problems (real windows and
# synthetic, 4 to 14 assets). Worst differences seen:
#   CLARABEL  1.1e-06 tests, 1.7e-06 sweep: the log-barrier risk budget (exponential cone);
#             its QPs stay below 1.7e-07
#   OSQP      1.6e-15: polishing solves the active set's KKT system exactly; OSQP cannot take
#             the exponential cone. 1e-12 is a rounding-level bound for that linear solve.
#   ECOS      2.1e-06 (unbounded maximum Sharpe, 2025 window, 14x gross), 1.5e-06 sweep
#   SCS       5.0e-09 tests, 3.8e-09 sweep
# Each tolerance is about 3 times the worst seen, rounded up (OSQP: see above).
SOLVER_ATOL: dict[str, float] = {
    "CLARABEL": 5e-6,
    "OSQP": 1e-12,
    "ECOS": 7e-6,
    "SCS": 2e-8,
}

# The repository lives at <root>/main and the shared data at <root>/shared/data.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CRYPTO_SYMBOLS = BUNDLED_SYMBOLS


def _crypto_closes() -> pd.DataFrame:
    """(T, 11) daily closes in USDT of the bundled Binance pairs."""
    return align_prices(load_bundled_prices(list(CRYPTO_SYMBOLS))).prices


@pytest.fixture(scope="session")
def crypto_returns() -> pd.DataFrame:
    """(1931, 11) daily simple returns of the 11 bundled Binance pairs, 2020-09-23..2026-01-05."""
    closes = _crypto_closes()
    return (closes / closes.shift(1) - 1.0).iloc[1:]


@pytest.fixture(scope="session")
def crypto_2021(crypto_returns) -> pd.DataFrame:
    """Daily returns of calendar 2021 (every mean positive, a bull market)."""
    return crypto_returns.loc["2021"]


def synthetic_returns(
    seed: int,
    n_assets: int = 6,
    n_periods: int = 250,
    columns: list[str] | None = None,
    drift: float = 5e-4,
) -> pd.DataFrame:
    """Seeded daily returns from a 2-factor model with idiosyncratic noise (fractions).

    Daily scale (volatility about 1-4%) on purpose: the library must rescale it to O(1).
    The sample means are set exactly to ``drift`` times uniform(0.5, 2): all positive, so a
    maximum-Sharpe portfolio exists under any bounds.
    """
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n_periods, 2)) * 0.02
    loadings = rng.uniform(0.2, 1.2, size=(2, n_assets))
    noise = rng.normal(size=(n_periods, n_assets)) * rng.uniform(0.005, 0.03, size=n_assets)
    means = drift * rng.uniform(0.5, 2.0, size=n_assets)
    shocks = factors @ loadings + noise
    values = means + shocks - shocks.mean(axis=0)
    index = pd.date_range("2022-01-01", periods=n_periods, freq="D", name="timestamp")
    columns = columns or [f"A{i}" for i in range(n_assets)]
    return pd.DataFrame(values, index=index, columns=columns)


@pytest.fixture
def synthetic() -> pd.DataFrame:
    """(250, 6) seeded synthetic daily returns, columns A0..A5."""
    return synthetic_returns(seed=7)


def returns_with_covariance(
    covariance: np.ndarray, n_periods: int, seed: int = 0, columns=None
) -> pd.DataFrame:
    """Returns whose sample covariance (ddof=1) equals ``covariance`` to rounding error.

    Centred Gaussian draws are whitened to an identity sample covariance, then coloured by the
    Cholesky factor of ``covariance``.
    """
    rng = np.random.default_rng(seed)
    n = len(covariance)
    draws = rng.normal(size=(n_periods, n))
    draws -= draws.mean(axis=0)
    whitening = np.linalg.cholesky(np.cov(draws, rowvar=False))
    white = np.linalg.solve(whitening, draws.T).T
    values = white @ np.linalg.cholesky(covariance).T
    index = pd.date_range("2023-01-01", periods=n_periods, freq="D", name="timestamp")
    return pd.DataFrame(values, index=index, columns=columns)


def exact_bounded_min_variance(
    covariance: np.ndarray,
    approx: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    detect: float = 1e-5,
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """The exact solution of min w'Sw, sum(w) = 1, lower <= w <= upper on the active set of
    ``approx`` (a solver's answer): fix the assets within ``detect`` of a bound at that bound
    and solve the KKT linear system of the rest,

        2 S_FF w_F - nu 1 = -2 S_FB w_B,    1' w_F = 1 - 1' w_B.

    Returns (w, nu, at_lower, at_upper). The caller checks the KKT signs, which certify w as
    the global optimum independently of any solver.
    """
    at_lower = approx <= lower + detect
    at_upper = (approx >= upper - detect) & ~at_lower
    free = ~(at_lower | at_upper)
    w = np.where(at_lower, lower, np.where(at_upper, upper, 0.0))
    f = np.nonzero(free)[0]
    k = len(f)
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = 2.0 * covariance[np.ix_(f, f)]
    kkt[:k, k] = -1.0
    kkt[k, :k] = 1.0
    rhs = np.zeros(k + 1)
    rhs[:k] = -2.0 * covariance[np.ix_(f, ~free)] @ w[~free]
    rhs[k] = 1.0 - w[~free].sum()
    solution = np.linalg.solve(kkt, rhs)
    w[f] = solution[:k]
    return w, float(solution[k]), at_lower, at_upper


def exact_bounded_max_sharpe(
    covariance: np.ndarray,
    mean: np.ndarray,
    approx: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    detect: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The exact maximum-Sharpe weights on the active set of ``approx``, with multipliers.

    Charnes-Cooper: minimize y'Sy s.t. mean'y = 1, 1'y = kappa, lower kappa <= y <= upper kappa.
    With B the assets within ``detect`` of a bound (y_B = c_B kappa, c the bound) and F the
    rest, the KKT conditions are linear in (y_F, kappa, l1, l2):

        r = 2 S y - l1 mean - l2 1,   r_F = 0,   l2 + c_B' r_B = 0,
        mean'y = 1,   1'y = kappa,

    and the bound multipliers are r_i >= 0 at a lower bound, -r_i >= 0 at an upper bound.

    Returns (w, r, at_lower, at_upper); the caller checks the signs of r on the active set.
    """
    n = len(covariance)
    at_lower = approx <= lower + detect
    at_upper = (approx >= upper - detect) & ~at_lower
    bound = at_lower | at_upper
    c = np.where(at_lower, lower, np.where(at_upper, upper, 0.0))
    f = np.nonzero(~bound)[0]
    k = len(f)
    # y = A z with z = (y_F, kappa); unknowns x = (z, l1, l2)
    a = np.zeros((n, k + 1))
    a[f, np.arange(k)] = 1.0
    a[:, k] = c
    residual = np.hstack([2.0 * covariance @ a, -mean[:, None], -np.ones((n, 1))])  # r = R x
    rows = [residual[f]]
    rows.append((residual[bound].T @ c[bound] + np.eye(k + 3)[k + 2])[None, :])
    rows.append(np.concatenate([mean @ a, [0.0, 0.0]])[None, :])
    rows.append(np.concatenate([a.sum(axis=0) - np.eye(k + 1)[k], [0.0, 0.0]])[None, :])
    system = np.vstack(rows)
    rhs = np.zeros(k + 3)
    rhs[k + 1] = 1.0
    x = np.linalg.solve(system, rhs)
    y, kappa = a @ x[: k + 1], x[k]
    return y / kappa, residual @ x, at_lower, at_upper


def jacobian_tolerance(function, w: np.ndarray, atol: float, step: float = 1e-6) -> float:
    """Largest change of ``function(w)`` (a vector) for a weight error |dw| <= atol.

    The infinity norm of the Jacobian (central differences) times ``atol``: how far a KKT
    gradient computed from a solver's answer may be from the exact one.
    """
    columns = [
        (function(w + step * e) - function(w - step * e)) / (2 * step) for e in np.eye(len(w))
    ]
    return float(np.abs(np.column_stack(columns)).sum(axis=1).max() * atol)


SPEC_SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def spec_config() -> PortfolioConfig:
    """The spec's Configuration block: risk parity, monthly, 5%-40%, 10 bps, on BTC/ETH/SOL."""
    return PortfolioConfig(
        initial_capital=100000,
        symbols=list(SPEC_SYMBOLS),
        allocation_method=AllocationMethod.RISK_PARITY,
        rebalance_frequency="monthly",
        min_position_weight=0.05,  # Min 5% per asset
        max_position_weight=0.40,  # Max 40% per asset
        transaction_cost=0.001,  # 0.1% commission
    )
