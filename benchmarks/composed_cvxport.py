"""cvxport's side of ``bench_composed.py``: each composed problem stated through the public API.

Names are looked up on the ``cvxport`` package at construction, so a class the modeling layer
(issue 9) has not yet put on ``main`` raises AttributeError there and the harness prints
"n/a (not on main yet)" for that cell instead of stopping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
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
)

import cvxport
from cvxport import Constraint


@dataclass(frozen=True)
class AtLeastAndSubsetCap(Constraint):
    """A user's own linear rule: w[first] >= w[second] and sum(w[subset]) <= cap (fractions).

    Written as the README shows a user writing one: homogeneous in ``ctx.scale``.
    """

    first: str
    second: str
    subset: tuple[str, ...]
    cap: float

    def build(self, ctx) -> list:
        """Two linear rows over the (scaled) weights."""
        total = cp.sum(ctx.weights[[ctx.index_of(s) for s in self.subset]])
        return [ctx.weight(self.first) >= ctx.weight(self.second), total <= self.cap * ctx.scale]


def _api(name: str):
    """Return ``cvxport.<name>``; AttributeError while it is not on main."""
    return getattr(cvxport, name)


def _bounded(*more) -> list:
    return [_api("WeightBounds")(0.0, UPPER), *more]


def _group(setup: Setup):
    return _api("GroupLimits")(setup.group, 0.0, GROUP_UPPER, name="low-vol quarter")


def _min_variance(constraints: Callable[[Setup], list], **kw) -> Callable:
    def make(setup: Setup, solver: str | None):
        allocator = _api("MinimumVarianceAllocator")
        return allocator(constraints=constraints(setup), solver=solver, **kw)

    return make


def _mean_risk(risk: Callable[[], object], constraints: Callable[[Setup], list]) -> Callable:
    def make(setup: Setup, solver: str | None):
        allocator = _api("MeanRiskAllocator")
        return allocator(
            risk=risk(), objective="min_risk", constraints=constraints(setup), solver=solver
        )

    return make


def _max_sharpe(setup: Setup, solver: str | None):
    return _api("MaximumSharpeAllocator")(constraints=_bounded(_group(setup)), solver=solver)


def _max_sharpe_turnover(setup: Setup, solver: str | None):
    constraints = _bounded(_group(setup), _api("TurnoverLimit")(TURNOVER))
    return _api("MaximumSharpeAllocator")(constraints=constraints, solver=solver)


def _tracking_error_limit(setup: Setup) -> list:
    limit = _api("RiskLimit")(_api("TrackingError")(), TE_ANNUAL / np.sqrt(PERIODS))
    return _bounded(limit)


#: problem key -> make(setup, solver) -> allocator
MAKERS: dict[str, Callable] = {
    "group": _min_variance(lambda s: _bounded(_group(s))),
    "rule": _min_variance(
        lambda s: _bounded(AtLeastAndSubsetCap(s.first, s.second, s.subset, SUBSET_UPPER))
    ),
    "turnover": _min_variance(lambda s: _bounded(_api("TurnoverLimit")(TURNOVER))),
    "longshort": _min_variance(
        lambda s: [
            _api("WeightBounds")(-SHORT_BOUND, SHORT_BOUND),
            _api("GrossExposure")(GROSS),
        ],
        long_only=False,
    ),
    "sharpe": _max_sharpe,
    "sharpe_turnover": _max_sharpe_turnover,
    "cvar": _mean_risk(lambda: _api("CVaR")(beta=BETA), lambda s: _bounded()),
    "cdar": _mean_risk(lambda: _api("CDaR")(beta=BETA), lambda s: _bounded()),
    "te": _mean_risk(lambda: _api("Variance")(), _tracking_error_limit),
}
