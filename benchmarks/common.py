"""Shared pieces of the benchmarks: data, exact reference solutions, timing and tables.

Nothing here is imported by the package. Run the scripts from anywhere; the repository root is
put on ``sys.path`` when ``cvxport`` is not installed.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

REPO = Path(__file__).resolve().parents[1]
try:
    import cvxport  # noqa: F401
except ImportError:  # running from a checkout without ``pip install -e .``
    sys.path.insert(0, str(REPO))

ACCURACY_TARGET = 1e-6  # largest |w - w_exact| accepted, fractions of NAV
CRYPTO_DIR = REPO.parent / "shared" / "data" / "crypto" / "binance_spot_1d"
CRYPTO_TICKERS = ("BTC", "ETH", "SOL", "BNB", "XRP", "ADA", "DOGE", "AVAX", "DOT", "LINK", "LTC")

warnings.filterwarnings("ignore", message=".*not DPP.*")
warnings.filterwarnings("ignore", message=".*may be inaccurate.*")


# --- data -----------------------------------------------------------------------------------
def factor_returns(n_assets: int, n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic daily simple returns from a seeded factor model (vols about 1-3% a day).

    A market factor plus ``k`` sector factors, asset-specific noise and a small positive drift
    (so that some asset beats a zero risk-free rate in every window).
    """
    rng = np.random.default_rng(seed)
    k = min(10, max(2, n_assets // 20))
    factor_vol = np.r_[0.010, np.full(k, 0.006)]
    factors = rng.standard_normal((n_rows, k + 1)) * factor_vol
    loadings = np.c_[rng.normal(1.0, 0.3, n_assets), rng.normal(0.0, 0.7, (n_assets, k))]
    specific = rng.uniform(0.008, 0.022, n_assets)
    drift = rng.uniform(0.0002, 0.0012, n_assets)
    values = drift + factors @ loadings.T + rng.standard_normal((n_rows, n_assets)) * specific
    index = pd.date_range("2020-01-01", periods=n_rows, freq="D", name="timestamp")
    columns = [f"A{i:03d}" for i in range(n_assets)]
    return pd.DataFrame(values, index=index, columns=columns)


def rolling_windows(returns: pd.DataFrame, window: int, count: int, step: int = 5) -> list:
    """Return ``count`` windows of ``window`` rows, each shifted by ``step`` rows."""
    needed = window + step * (count - 1)
    if len(returns) < needed:
        raise ValueError(f"need {needed} rows for {count} windows, have {len(returns)}")
    return [returns.iloc[i * step : i * step + window] for i in range(count)]


def real_returns() -> pd.DataFrame:
    """Daily simple returns of the 11 bundled crypto pairs, 2020-09-22 .. 2026-01-05."""
    try:
        from cvxport.data import load_bundled_prices

        frames = load_bundled_prices()
        closes = pd.DataFrame({name: frame["close"] for name, frame in frames.items()})
    except ImportError:
        closes = pd.DataFrame(
            {
                f"{t}/USDT": pd.read_csv(
                    CRYPTO_DIR / f"{t}USDT_1d.csv", index_col="timestamp", parse_dates=True
                )["close"]
                for t in CRYPTO_TICKERS
            }
        ).loc["2020-09-22":"2026-01-05"]
    return closes.pct_change().iloc[1:]


def sample_covariance(returns: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Return the (n, n) sample covariance (ddof=1) of (T, n) returns."""
    return np.cov(np.asarray(returns, dtype=float), rowvar=False, ddof=1)


# --- exact references -----------------------------------------------------------------------
def active_set_qp(
    S: np.ndarray,
    c: np.ndarray,
    lower: np.ndarray | float = 0.0,
    upper: np.ndarray | float = np.inf,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Exact minimizer of x'Sx s.t. c'x = 1, lower <= x <= upper, as weights x / sum(x).

    c = 1 gives minimum variance; c = mu with lower = 0 gives the Charnes-Cooper maximum
    Sharpe problem (y, whose normalization is the weights). A primal-dual active-set method:
    on the free set the KKT system is solved exactly, and the bound sets are changed one index
    at a time until both primal and dual signs hold, so the answer is exact to linear algebra.

    Args:
        S: (n, n) positive definite matrix.
        c: (n,) vector of the equality row.
        lower, upper: bounds on x (scalars or (n,)).
        start: (n,) approximate solution used to guess the active sets (all free if None).
    """
    n = len(c)
    S = S / np.mean(np.diag(S))  # O(1) data; the weights do not change
    lower = np.broadcast_to(np.asarray(lower, dtype=float), (n,))
    upper = np.broadcast_to(np.asarray(upper, dtype=float), (n,))
    state = np.zeros(n, dtype=int)  # -1 at lower, 0 free, +1 at upper
    if start is not None:
        gap = 1e-7 * max(1.0, float(np.max(np.abs(start))))
        state[start <= lower + gap] = -1
        state[start >= upper - gap] = 1
    for _ in range(10 * n + 10):
        free = state == 0
        x = np.where(state < 0, lower, np.where(state > 0, upper, 0.0))
        bound = ~free
        a = np.linalg.solve(S[np.ix_(free, free)], c[free])
        b = np.linalg.solve(S[np.ix_(free, free)], S[np.ix_(free, bound)] @ x[bound])
        half_nu = (1.0 + c[free] @ b - c[bound] @ x[bound]) / (c[free] @ a)
        x[free] = half_nu * a - b
        eta = 2 * S @ x - 2 * half_nu * c
        scale = max(1.0, float(np.max(np.abs(x))))
        primal = np.where(free, np.maximum(lower - x, x - upper), 0.0)
        dual = np.where(state < 0, -eta, np.where(state > 0, eta, 0.0))
        worst_p, worst_d = int(np.argmax(primal)), int(np.argmax(dual))
        dual_scale = max(float(np.max(np.abs(eta + 2 * half_nu * c))), 1e-300)
        if primal[worst_p] <= 1e-13 * scale and dual[worst_d] <= 1e-11 * dual_scale:
            return x / x.sum()
        if primal[worst_p] / scale >= dual[worst_d] / dual_scale:
            state[worst_p] = -1 if x[worst_p] < lower[worst_p] else 1
        else:
            state[worst_d] = 0
    raise RuntimeError("active-set reference did not converge")


def min_variance_exact(S: np.ndarray, long_only: bool = True, start=None) -> np.ndarray:
    """Minimum-variance weights: inverse covariance times ones, or the long-only active set."""
    if not long_only:
        x = np.linalg.solve(S, np.ones(len(S)))
        return x / x.sum()
    return active_set_qp(S, np.ones(len(S)), 0.0, np.inf, start)


def max_sharpe_exact(S: np.ndarray, mu: np.ndarray, long_only: bool = True, start=None):
    """Maximum-Sharpe weights: inverse covariance times excess mean, or the long-only active set."""
    if not long_only:
        x = np.linalg.solve(S, mu)
        return x / x.sum()
    return active_set_qp(S, mu, 0.0, np.inf, start)


def newton_risk_budget_reference(S: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Risk-budget weights by Newton's method on 0.5 y'Sy - b'log y (independent of cvxport).

    Iterates until the shares of variance match the budgets to 1e-14; returns y / sum(y).
    """
    S = S / np.mean(np.diag(S))
    y = budget / np.sqrt(np.diag(S))
    for _ in range(500):
        grad = S @ y - budget / y
        step = np.linalg.solve(S + np.diag(budget / y**2), -grad)
        t = 1.0
        while np.any(y + t * step <= 0):
            t *= 0.5
        y = y + t * step
        w = y / y.sum()
        shares = w * (S @ w) / (w @ S @ w)
        if np.max(np.abs(shares - budget)) < 1e-14 and np.max(np.abs(step)) < 1e-13:
            return w
    return y / y.sum()


def hrp_reference(S: np.ndarray, method: str = "single") -> np.ndarray:
    """Plain numpy+scipy HRP (Lopez de Prado 2016): linkage order, bisection into halves."""
    vol = np.sqrt(np.diag(S))
    corr = np.clip(S / np.outer(vol, vol), -1, 1)
    dist = np.sqrt(np.clip((1 - corr) / 2, 0, None))
    np.fill_diagonal(dist, 0)
    order = leaves_list(linkage(squareform(dist, checks=False), method=method))
    weights = np.ones(len(S))
    clusters = [order]
    while clusters:
        clusters = [
            half for c in clusters if len(c) > 1 for half in (c[: len(c) // 2], c[len(c) // 2 :])
        ]
        for left, right in zip(clusters[::2], clusters[1::2], strict=True):
            v = []
            for members in (left, right):
                sub = S[np.ix_(members, members)]
                ivp = 1 / np.diag(sub)
                ivp /= ivp.sum()
                v.append(ivp @ sub @ ivp)
            alpha = 1 - v[0] / (v[0] + v[1])
            weights[left] *= alpha
            weights[right] *= 1 - alpha
    return weights


# --- timing ---------------------------------------------------------------------------------
def timed(fn: Callable, *args, **kwargs):
    """Return (seconds, result) of one call."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def limit_blas_threads(threads: int | None):
    """Limit BLAS threads for the whole run (None: leave the default); return the limiter.

    cvxport runs its own linear algebra on one BLAS thread; the peers and the plain baselines
    would otherwise use every core, which on a small busy machine is slower and far noisier.
    """
    if threads is None:
        return None
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


# --- tables ---------------------------------------------------------------------------------
def fmt(value, spec: str = ".2f") -> str:
    """Format a number, or '-' for None/NaN."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return format(value, spec) if isinstance(value, (int, float, np.floating)) else str(value)


def table(rows: Sequence[dict], columns: Sequence[tuple[str, str]]) -> str:
    """Render rows as a Markdown pipe table; ``columns`` are (key, format spec) pairs."""
    cells = [[fmt(row.get(key), spec) for key, spec in columns] for row in rows]
    heads = [key for key, _ in columns]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells:
        lines.append("| " + " | ".join(x.rjust(w) for x, w in zip(c, widths, strict=True)) + " |")
    return "\n".join(lines)


def machine() -> str:
    """Cores and load average: the numbers are only comparable on a quiet machine."""
    import os

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load} (1, 5, 15 min)"


def versions() -> str:
    """One line naming the versions of the libraries the numbers depend on."""
    from importlib.metadata import PackageNotFoundError, version

    names = ["cvxpy", "clarabel", "osqp", "numpy", "scipy", "pandas", "PyPortfolioOpt", "skfolio"]
    parts = [f"python {sys.version.split()[0]}"]
    for name in names:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} absent")
    return ", ".join(parts)
