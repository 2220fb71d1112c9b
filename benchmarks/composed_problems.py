"""The composed problems of ``bench_composed.py``: choices, plain-cvxpy references and checks.

Each problem is a risk objective plus constraint pieces. A piece gives its plain cvxpy rows
(homogeneous in a scale, 1 except under Charnes-Cooper) and how far a weight vector breaks it,
so the reference, the feasibility check of every contender's answer and its notes come from
one description. References: a fresh ``cp.Problem`` per window, data scaled to O(1) (the
minimizer does not change), Clarabel at 1e-10; ``Problem.check`` solves the same problem
again with another solver (OSQP polished, HiGHS, Clarabel at 1e-12) to show how far the
reference itself can be trusted. Objectives are evaluated exactly from the weights (variance,
Sharpe ratio, empirical CVaR and CDaR), never taken from a solver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import cvxpy as cp
import numpy as np
import pandas as pd

TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
UPPER = 0.1  # per-asset upper bound of the long-only rows (fraction of NAV)
GROUP_UPPER = 0.15  # the group: the lowest-volatility quarter of the assets
SUBSET_UPPER = 0.3  # the user's rule: the lowest-volatility tenth together
TURNOVER = 0.5  # two-way, sum |w - w_prev|
SHORT_BOUND, GROSS = 0.1, 1.6  # long/short: |w_i| <= 0.1, sum |w| <= 1.6
BETA = 0.95  # CVaR and CDaR confidence level
TE_ANNUAL, PERIODS = 0.02, 252  # tracking-error limit (annualized fraction), daily data


@dataclass(frozen=True)
class Setup:
    """The fixed choices at one size, taken from the whole synthetic history."""

    assets: pd.Index
    group: tuple[str, ...]  # lowest-vol quarter: sum <= GROUP_UPPER
    subset: tuple[str, ...]  # lowest-vol tenth: sum <= SUBSET_UPPER (the user's rule)
    first: str  # highest-vol asset: must weigh at least as much as ``second``
    second: str  # lowest-vol asset
    benchmark: np.ndarray  # (n,) equal weights

    def index(self, symbols) -> np.ndarray:
        """Positions of ``symbols`` in ``assets``."""
        return self.assets.get_indexer(list(symbols))


def make_setup(returns: pd.DataFrame) -> Setup:
    """Choose the group, the rule's assets and the benchmark from (T, n) returns."""
    order = returns.std().sort_values().index  # lowest volatility first
    n = returns.shape[1]
    return Setup(
        assets=returns.columns,
        group=tuple(order[: max(2, n // 4)]),
        subset=tuple(order[: max(2, n // 10)]),
        first=order[-1],
        second=order[0],
        benchmark=np.full(n, 1 / n),
    )


def previous_weights(n: int, window: int) -> np.ndarray:
    """Seeded long-only (n,) weights held before ``window`` (all well below UPPER)."""
    return np.random.default_rng(1000 + window).dirichlet(np.full(n, 5.0))


@dataclass
class Window:
    """One window's returns and what the references and checks derive from them."""

    returns: pd.DataFrame
    previous: np.ndarray

    @cached_property
    def R(self) -> np.ndarray:  # noqa: N802 (the math name)
        """(T, n) returns as an array."""
        return self.returns.to_numpy(dtype=float)

    @cached_property
    def S(self) -> np.ndarray:  # noqa: N802 (the math name)
        """(n, n) sample covariance, ddof = 1."""
        return np.cov(self.R, rowvar=False, ddof=1)

    @cached_property
    def mu(self) -> np.ndarray:
        """(n,) sample mean."""
        return self.R.mean(axis=0)

    factor_form: bool = False  # the TE check states variance as ||F w||^2, F'F = S / s_scale

    @cached_property
    def F(self) -> np.ndarray:  # noqa: N802 (the math name)
        """(n, n) factor with F'F = S / s_scale (eigh, eigenvalues clipped at 0)."""
        values, vectors = np.linalg.eigh(self.S / self.s_scale)
        return np.sqrt(np.clip(values, 0, None))[:, None] * vectors.T

    @cached_property
    def s_scale(self) -> float:
        """Mean variance, the covariance's unit in the references."""
        return float(np.mean(np.diag(self.S)))


# --- constraint pieces ----------------------------------------------------------------------
@dataclass(frozen=True)
class Piece:
    """Plain cvxpy rows ``rows(w, scale, window)`` and ``excess(w, window) >= 0``, how far
    (n,) weights break them (weights: fraction of NAV; TE: annualized fraction)."""

    name: str
    rows: Callable
    excess: Callable


def bounds(lower: float, upper: float) -> Piece:
    """lower <= w_i <= upper."""
    return Piece(
        f"bounds [{lower}, {upper}]",
        lambda w, k, d: [w >= lower * k, w <= upper * k],
        lambda w, d: max(float(np.max(lower - w)), float(np.max(w - upper)), 0.0),
    )


def group_limit(setup: Setup) -> Piece:
    """Sum of the group <= GROUP_UPPER."""
    idx = setup.index(setup.group)
    return Piece(
        f"group <= {GROUP_UPPER}",
        lambda w, k, d: [cp.sum(w[idx]) <= GROUP_UPPER * k],
        lambda w, d: max(float(w[idx].sum()) - GROUP_UPPER, 0.0),
    )


def user_rule(setup: Setup) -> Piece:
    """w[first] >= w[second] and sum of the subset <= SUBSET_UPPER."""
    a, b = setup.index([setup.first, setup.second])
    idx = setup.index(setup.subset)
    return Piece(
        "user rule",
        lambda w, k, d: [w[a] >= w[b], cp.sum(w[idx]) <= SUBSET_UPPER * k],
        lambda w, d: max(float(w[b] - w[a]), float(w[idx].sum()) - SUBSET_UPPER, 0.0),
    )


def turnover() -> Piece:
    """sum |w - w_prev| <= TURNOVER."""
    return Piece(
        f"turnover <= {TURNOVER}",
        lambda w, k, d: [cp.norm1(w - d.previous * k) <= TURNOVER * k],
        lambda w, d: max(float(np.abs(w - d.previous).sum()) - TURNOVER, 0.0),
    )


def gross() -> Piece:
    """sum |w| <= GROSS."""
    return Piece(
        f"gross <= {GROSS}",
        lambda w, k, d: [cp.norm1(w) <= GROSS * k],
        lambda w, d: max(float(np.abs(w).sum()) - GROSS, 0.0),
    )


def tracking_error(setup: Setup) -> Piece:
    """Annualized sqrt((w - b)' S (w - b)) <= TE_ANNUAL (S: sample covariance, ddof = 1)."""
    b = setup.benchmark

    def rows(w, k, d):
        limit = TE_ANNUAL**2 / PERIODS / d.s_scale
        if d.factor_form:  # the check's independent form: a second-order cone over F
            return [cp.norm(d.F @ (w - b)) <= np.sqrt(limit)]
        return [cp.quad_form(w - b, cp.psd_wrap(d.S / d.s_scale)) <= limit]

    def excess(w, d):
        return max(float(np.sqrt(PERIODS * (w - b) @ d.S @ (w - b))) - TE_ANNUAL, 0.0)

    return Piece(f"TE <= {TE_ANNUAL:.0%}", rows, excess)


# --- objectives -----------------------------------------------------------------------------
def tail_mean(losses: np.ndarray, beta: float = BETA) -> float:
    """Exact Rockafellar-Uryasev min_a a + E[(L - a)+] / (1 - beta) over the losses' values."""
    L = np.sort(np.asarray(losses, dtype=float))[::-1]
    above = np.r_[0.0, np.cumsum(L)[:-1]]  # sum of the j larger losses
    j = np.arange(len(L))
    return float(np.min(L + (above - j * L) / (len(L) * (1 - beta))))


def drawdowns(portfolio_returns: np.ndarray) -> np.ndarray:
    """(T,) drawdowns of uncompounded cumulative returns from a running peak starting at 0."""
    wealth = np.cumsum(portfolio_returns)
    return np.maximum.accumulate(np.maximum(wealth, 0.0)) - wealth


OBJECTIVES: dict[str, Callable[[np.ndarray, Window], float]] = {  # lower is better
    "variance": lambda w, d: float(w @ d.S @ w),
    "sharpe": lambda w, d: -float(d.mu @ w / np.sqrt(w @ d.S @ w)),
    "cvar": lambda w, d: tail_mean(-(d.R @ w)),
    "cdar": lambda w, d: tail_mean(drawdowns(d.R @ w)),
}


#: a second, independent solve of each reference problem: how far the reference can be trusted
CHECK_SOLVERS = {
    "QP": ("OSQP", {"eps_abs": 1e-8, "eps_rel": 1e-8, "max_iter": 10**6, "polishing": True}),
    "LP": (  # a vertex (crossover), objectives compared; 1e-7 tolerances by default
        "HIGHS",
        {
            "output_flag": False,
            "primal_feasibility_tolerance": 1e-10,
            "dual_feasibility_tolerance": 1e-10,
        },
    ),
    "QCQP": ("CLARABEL", {k: 1e-12 for k in TIGHT}),  # no cone in OSQP: factor form, 1e-12
}


def solve_reference(
    objective: str, pieces: list[Piece], d: Window, solver: str = "CLARABEL", options=None
) -> np.ndarray:
    """Plain cvxpy on O(1)-scaled data (Clarabel at 1e-10 by default); (n,) weights."""
    n = d.R.shape[1]
    w = cp.Variable(n)
    if objective == "sharpe":  # Charnes-Cooper: y = kappa w, mu'y = 1
        kappa = cp.Variable(nonneg=True)
        mu = d.mu / np.max(np.abs(d.mu))
        rows = [mu @ w == 1, cp.sum(w) == kappa]
        rows += [r for p in pieces for r in p.rows(w, kappa, d)]
        goal = cp.quad_form(w, cp.psd_wrap(d.S / d.s_scale))
    else:
        rows = [cp.sum(w) == 1] + [r for p in pieces for r in p.rows(w, 1.0, d)]
        R = d.R / np.mean(np.abs(d.R))
        T = len(R)
        if objective == "variance" and d.factor_form:
            goal = cp.sum_squares(d.F @ w)
        elif objective == "variance":
            goal = cp.quad_form(w, cp.psd_wrap(d.S / d.s_scale))
        elif objective == "cvar":
            a, u = cp.Variable(), cp.Variable(T, nonneg=True)
            rows += [u >= -R @ w - a]
            goal = a + cp.sum(u) / (T * (1 - BETA))
        else:  # cdar: u_t >= u_{t-1} - r_t, u >= 0, u_0 = 0; CVaR of u_1..u_T
            a, u, z = cp.Variable(), cp.Variable(T + 1), cp.Variable(T, nonneg=True)
            rows += [u[1:] >= u[:-1] - R @ w, u[1:] >= 0, u[0] == 0, z >= u[1:] - a]
            goal = a + cp.sum(z) / (T * (1 - BETA))
    options = TIGHT if options is None else options
    cp.Problem(cp.Minimize(goal), rows).solve(solver=solver, **options)
    return np.asarray(w.value / np.sum(w.value), dtype=float)


# --- the problems ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One row of the table: objective, pieces, and cvxport's way of stating it."""

    key: str
    title: str
    objective: str
    pieces: Callable[[Setup], list[Piece]]
    lp: bool = False
    scenarios: bool = False  # window length is the scenario count, else max(2n, 500)
    data: Callable[[Setup, Window], dict] = field(default=lambda s, d: {})

    def reference(self, setup: Setup, d: Window) -> np.ndarray:
        """The tight plain-cvxpy answer."""
        return solve_reference(self.objective, self.pieces(setup), d)

    def check(self, setup: Setup, d: Window) -> np.ndarray | None:
        """The same problem solved independently (``CHECK_SOLVERS``); None if not installed."""
        kind = "LP" if self.lp else "QCQP" if self.key == "te" else "QP"
        solver, options = CHECK_SOLVERS[kind]
        if solver not in cp.installed_solvers():
            return None
        d.factor_form = kind == "QCQP"
        try:
            return solve_reference(self.objective, self.pieces(setup), d, solver, options)
        finally:
            d.factor_form = False

    def value(self, w: np.ndarray, d: Window) -> float:
        """The objective at weights ``w`` (lower is better)."""
        return OBJECTIVES[self.objective](w, d)

    def breaks(self, setup: Setup, w: np.ndarray, d: Window) -> tuple[float, str]:
        """Largest excess over the budget and every piece, and the name of the worst."""
        found = [(abs(float(w.sum()) - 1.0), "sum(w) == 1")]
        found += [(p.excess(w, d), p.name) for p in self.pieces(setup)]
        return max(found)


def long_only(*more: Callable[[Setup], Piece]) -> Callable[[Setup], list[Piece]]:
    """Bounds [0, UPPER] and the pieces ``more`` build from the setup."""
    return lambda s: [bounds(0.0, UPPER), *(make(s) for make in more)]


PROBLEMS = [
    Problem("group", "min variance + group limit", "variance", long_only(group_limit)),
    Problem("rule", "min variance + user linear rule", "variance", long_only(user_rule)),
    Problem(
        "turnover",
        "min variance + turnover limit",
        "variance",
        long_only(lambda s: turnover()),
        data=lambda s, d: {"previous_weights": pd.Series(d.previous, index=s.assets)},
    ),
    Problem(
        "longshort",
        "long/short min variance, gross limit",
        "variance",
        lambda s: [bounds(-SHORT_BOUND, SHORT_BOUND), gross()],
    ),
    Problem("sharpe", "max Sharpe + group limit", "sharpe", long_only(group_limit)),
    Problem("cvar", "min CVaR 95%", "cvar", long_only(), lp=True, scenarios=True),
    Problem("cdar", "min CDaR 95%", "cdar", long_only(), lp=True, scenarios=True),
    Problem(
        "te",
        "min variance, TE <= 2% vs equal weight",
        "variance",
        long_only(tracking_error),
        data=lambda s, d: {"benchmark_weights": pd.Series(s.benchmark, index=s.assets)},
    ),
    Problem(
        "sharpe_turnover",
        "max Sharpe + group + turnover",
        "sharpe",
        long_only(group_limit, lambda s: turnover()),
        data=lambda s, d: {"previous_weights": pd.Series(d.previous, index=s.assets)},
    ),
]
