"""The peers' side of ``bench_composed.py``: PyPortfolioOpt, skfolio and Riskfolio-Lib.

Each peer gets the same bounds and constraints through its own documented API, estimation
included in its time (what its user pays per window), with its default solver settings.
``peer_functions()`` maps peer -> problem key -> ``fn(setup, window) -> (n,) weights`` or a
string saying why the peer cannot state that problem. A library that is not installed is
absent (its cells print "not installed").

Tracking error: skfolio and Riskfolio define it as the root mean square of (portfolio minus
benchmark) returns over T - 1, not demeaned; on demeaned returns (the covariance, hence the
minimum-variance objective, does not change) it is exactly the ddof=1 standard deviation
sqrt((w - b)' S (w - b)) used by the reference and cvxport.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import cvxpy as cp
import numpy as np
import pandas as pd
from composed_problems import (
    BETA,
    GROSS,
    GROUP_UPPER,
    PERIODS,
    SHORT_BOUND,
    SUBSET_UPPER,
    TE_ANNUAL,
    TURNOVER,
    UPPER,
    Setup,
    Window,
)

TE_DAILY = TE_ANNUAL / np.sqrt(PERIODS)
PEERS = ("pypfopt", "skfolio", "riskfolio")


def _ordered(weights, setup: Setup) -> np.ndarray:
    return np.array([weights[s] for s in setup.assets], dtype=float)


def _labels(setup: Setup, members, name: str) -> list[str]:
    members = set(members)
    return [name if s in members else "other" for s in setup.assets]


def member_rows(s: Setup, members, cap: float) -> tuple[np.ndarray, np.ndarray]:
    """(1, n) A and (1, 1) b with A w <= b: the members' total weight <= cap."""
    return np.isin(s.assets, list(members)).astype(float)[None, :], np.array([[cap]])


def rule_rows(s: Setup) -> tuple[np.ndarray, np.ndarray]:
    """(2, n) A and (2, 1) b with A w <= b: w[second] - w[first] <= 0, subset <= cap."""
    order = np.zeros((1, len(s.assets)))
    order[0, s.index([s.second, s.first])] = (1.0, -1.0)
    A, b = member_rows(s, s.subset, SUBSET_UPPER)
    return np.vstack([order, A]), np.vstack([[0.0], b])


# --- PyPortfolioOpt ---------------------------------------------------------------------------
def pypfopt_functions() -> dict[str, Callable | str]:
    """EfficientFrontier with sector constraints / add_constraint; EfficientCVaR, EfficientCDaR."""
    from pypfopt import EfficientCDaR, EfficientCVaR, EfficientFrontier, expected_returns
    from pypfopt import risk_models as rm

    def frontier(d: Window, bounds=(0.0, UPPER), mu=None) -> EfficientFrontier:
        return EfficientFrontier(mu, rm.sample_cov(d.returns, returns_data=True), bounds)

    def sectors(ef, s: Setup) -> None:
        mapper = dict(zip(s.assets, _labels(s, s.group, "G"), strict=True))
        ef.add_sector_constraints(mapper, {"G": 0.0}, {"G": GROUP_UPPER})

    def group(s: Setup, d: Window):
        ef = frontier(d)
        sectors(ef, s)
        return _ordered(ef.min_volatility(), s)

    def rule(s: Setup, d: Window):
        ef = frontier(d)
        a, b = s.index([s.first, s.second])
        idx = s.index(s.subset)
        ef.add_constraint(lambda w: w[a] >= w[b])
        ef.add_constraint(lambda w: cp.sum(w[idx]) <= SUBSET_UPPER)
        return _ordered(ef.min_volatility(), s)

    def turnover(s: Setup, d: Window):
        ef = frontier(d)
        ef.add_constraint(lambda w: cp.norm1(w - d.previous) <= TURNOVER)
        return _ordered(ef.min_volatility(), s)

    def longshort(s: Setup, d: Window):
        ef = frontier(d, (-SHORT_BOUND, SHORT_BOUND))
        ef.add_constraint(lambda w: cp.norm1(w) <= GROSS)
        return _ordered(ef.min_volatility(), s)

    def sharpe(s: Setup, d: Window):
        mu = expected_returns.mean_historical_return(
            d.returns, returns_data=True, compounding=False
        )
        ef = frontier(d, mu=mu)
        sectors(ef, s)
        return _ordered(ef.max_sharpe(risk_free_rate=0.0), s)

    def sharpe_turnover(s: Setup, d: Window):
        mu = expected_returns.mean_historical_return(
            d.returns, returns_data=True, compounding=False
        )
        ef = frontier(d, mu=mu)
        sectors(ef, s)
        # max_sharpe scales only a constant right-hand side by its k, so norm1(w - w_prev)
        # <= T would become norm1(y - w_prev) <= T k; written homogeneous in sum(w) (= k
        # there, 1 elsewhere) with a zero right-hand side, it is the turnover limit
        ef.add_constraint(lambda w: turnover_row(w, d.previous) <= 0)
        return _ordered(ef.max_sharpe(risk_free_rate=0.0), s)

    def cvar(s: Setup, d: Window):  # the mean is required, unused by min_cvar
        ef = EfficientCVaR(d.returns.mean(), d.returns, beta=BETA, weight_bounds=(0.0, UPPER))
        return _ordered(ef.min_cvar(), s)

    def cdar(s: Setup, d: Window):
        ef = EfficientCDaR(d.returns.mean(), d.returns, beta=BETA, weight_bounds=(0.0, UPPER))
        return _ordered(ef.min_cdar(), s)

    def te(s: Setup, d: Window):
        ef = frontier(d)
        S = rm.sample_cov(d.returns, returns_data=True)  # annualized (x 252)
        ef.add_constraint(lambda w: cp.quad_form(w - s.benchmark, S) <= TE_ANNUAL**2)
        return _ordered(ef.min_volatility(), s)

    return locals_of(group, rule, turnover, longshort, sharpe, cvar, cdar, te, sharpe_turnover)


# --- skfolio ----------------------------------------------------------------------------------
def skfolio_functions() -> dict[str, Callable | str]:
    """MeanRisk with groups/linear_constraints, add_constraints, max_short, CVaR/CDaR, TE."""
    from skfolio import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    def fit(d: Window, y=None, X=None, **kw) -> np.ndarray:
        kw.setdefault("max_weights", UPPER)
        model = MeanRisk(**kw).fit(d.returns if X is None else X, y)
        return np.asarray(model.weights_, dtype=float)

    def group_kw(s: Setup) -> dict:
        return {"groups": [_labels(s, s.group, "G")], "linear_constraints": [f"G <= {GROUP_UPPER}"]}

    def group(s: Setup, d: Window):
        return fit(d, risk_measure=RiskMeasure.VARIANCE, **group_kw(s))

    def rule(s: Setup, d: Window):  # A w <= b: named assets beside groups are not resolved
        A, b = rule_rows(s)
        return fit(
            d, risk_measure=RiskMeasure.VARIANCE, left_inequality=A, right_inequality=b[:, 0]
        )

    def turnover(s: Setup, d: Window):
        # max_turnover bounds each |w_i - w_prev_i|; the sum needs a custom constraint
        def limit(w):
            return cp.norm1(w - d.previous) <= TURNOVER

        return fit(d, risk_measure=RiskMeasure.VARIANCE, add_constraints=limit)

    def longshort(s: Setup, d: Window):  # sum w = 1: gross <= 1.6 <=> shorts <= 0.3
        return fit(
            d,
            risk_measure=RiskMeasure.VARIANCE,
            min_weights=-SHORT_BOUND,
            max_weights=SHORT_BOUND,
            max_short=(GROSS - 1) / 2,
        )

    def sharpe(s: Setup, d: Window):
        ratio = ObjectiveFunction.MAXIMIZE_RATIO
        return fit(d, objective_function=ratio, risk_measure=RiskMeasure.VARIANCE, **group_kw(s))

    def sharpe_turnover(s: Setup, d: Window):
        # under MAXIMIZE_RATIO add_constraints receives the scaled weights (sum = the
        # homogenization factor): the limit written homogeneous in sum(w)
        ratio = ObjectiveFunction.MAXIMIZE_RATIO
        return fit(
            d,
            objective_function=ratio,
            risk_measure=RiskMeasure.VARIANCE,
            add_constraints=lambda w: turnover_row(w, d.previous) <= 0,
            **group_kw(s),
        )

    def cvar(s: Setup, d: Window):
        return fit(d, risk_measure=RiskMeasure.CVAR, cvar_beta=BETA)

    def cdar(s: Setup, d: Window):
        return fit(d, risk_measure=RiskMeasure.CDAR, cdar_beta=BETA)

    def te(s: Setup, d: Window):
        X = d.returns - d.returns.mean()
        y = X.to_numpy() @ s.benchmark
        return fit(d, y=y, X=X, risk_measure=RiskMeasure.VARIANCE, max_tracking_error=TE_DAILY)

    return locals_of(group, rule, turnover, longshort, sharpe, cvar, cdar, te, sharpe_turnover)


# --- Riskfolio-Lib ----------------------------------------------------------------------------
def riskfolio_functions() -> dict[str, Callable | str]:
    """Portfolio.optimization with upperlng, ainequality/binequality (A w <= b), sht, rm, TE."""
    import riskfolio as rp

    def solve(d: Window, rm="MV", obj="MinRisk", returns=None, **kw) -> np.ndarray:
        kw.setdefault("upperlng", UPPER)
        port = rp.Portfolio(returns=d.returns if returns is None else returns, **kw)
        port.assets_stats(method_mu="hist", method_cov="hist")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = port.optimization(model="Classic", rm=rm, obj=obj, rf=0, hist=True)
        if w is None:
            raise RuntimeError("Riskfolio found no solution")
        return w["weights"].to_numpy(dtype=float)

    def group(s: Setup, d: Window):
        A, b = member_rows(s, s.group, GROUP_UPPER)
        return solve(d, ainequality=A, binequality=b)

    def rule(s: Setup, d: Window):
        A, b = rule_rows(s)
        return solve(d, ainequality=A, binequality=b)

    turnover = "cannot express: allowTO bounds each |w_i - w_prev_i|, not their sum"

    def longshort(s: Setup, d: Window):  # sum w = 1: gross <= 1.6 <=> shorts <= 0.3
        return solve(
            d, sht=True, uppersht=SHORT_BOUND, upperlng=SHORT_BOUND, budgetsht=(GROSS - 1) / 2
        )

    def sharpe(s: Setup, d: Window):
        A, b = member_rows(s, s.group, GROUP_UPPER)
        return solve(d, obj="Sharpe", ainequality=A, binequality=b)

    sharpe_turnover = turnover

    def cvar(s: Setup, d: Window):
        return solve(d, rm="CVaR", alpha=1 - BETA)

    def cdar(s: Setup, d: Window):
        return solve(d, rm="CDaR", alpha=1 - BETA)

    def te(s: Setup, d: Window):
        bench = pd.DataFrame(s.benchmark[:, None], index=s.assets)
        demeaned = d.returns - d.returns.mean()
        return solve(
            d, returns=demeaned, allowTE=True, TE=TE_DAILY, benchweights=bench, kindbench=True
        )

    return locals_of(group, rule, turnover, longshort, sharpe, cvar, cdar, te, sharpe_turnover)


def turnover_row(w: cp.Variable, previous: np.ndarray) -> cp.Expression:
    """sum |w - w_prev sum(w)| - TURNOVER sum(w): the turnover limit (row <= 0) homogeneous in
    the weights' sum, for a peer that maximizes a ratio over scaled weights."""
    return cp.norm1(w - previous * cp.sum(w)) - TURNOVER * cp.sum(w)


def locals_of(*fns) -> dict[str, Callable | str]:
    """Key the problem functions (or reasons) by problem key, in the table's order."""
    keys = ("group", "rule", "turnover", "longshort", "sharpe", "cvar", "cdar", "te",
            "sharpe_turnover")  # fmt: skip
    return dict(zip(keys, fns, strict=True))


def peer_functions(wanted=PEERS) -> tuple[dict[str, dict], dict[str, str]]:
    """Return ({peer: {problem: fn or reason}} for installed peers, {peer: why absent})."""
    makers = {
        "pypfopt": pypfopt_functions,
        "skfolio": skfolio_functions,
        "riskfolio": riskfolio_functions,
    }
    found, absent = {}, {}
    for peer in wanted:
        try:
            found[peer] = makers[peer]()
        except ImportError:
            absent[peer] = "not installed"
    return found, absent
