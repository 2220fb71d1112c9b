"""``RiskLimit``: any risk measure as a constraint object, homogeneous in ``ctx.scale``."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.constraints.base import Constraint, ProblemContext
from cvxport.constraints.diagnose import scale_one_problem
from cvxport.errors import InvalidInputError
from cvxport.risk.base import RiskMeasure, measure_expression
from cvxport.solvers import SOLVER_OPTIONS


@dataclass(frozen=True)
class RiskLimit(Constraint):
    """``measure(w) <= limit``, the limit in the measure's units (per-period fractions; a
    variance in squared fractions).

    Degree-1 measures add ``risk(y) <= limit * ctx.scale``; degree-2 measures (variance,
    semi-variance) are limited through their root, ``root(y) <= sqrt(limit) * ctx.scale``, so
    one object works in minimum variance (scale 1), maximum Sharpe (Charnes-Cooper, scale kappa)
    and risk parity (log barrier, scale sum(y)). A measure that is not homogeneous
    (``degree = None``) is refused by name where the scale is not 1.
    """

    measure: RiskMeasure
    limit: float

    def __post_init__(self) -> None:
        if not isinstance(self.measure, RiskMeasure):
            raise InvalidInputError(
                f"RiskLimit.measure must be a RiskMeasure (e.g. CVaR(0.95)), got {self.measure!r}"
            )
        limit = self.limit
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit >= 0:
            raise InvalidInputError(f"RiskLimit.limit must be a number >= 0, got {limit!r}")
        if not math.isfinite(limit):
            raise InvalidInputError(f"RiskLimit.limit must be finite, got {limit!r}")

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return the measure's rows plus ``risk <= limit * ctx.scale``."""
        measure, limit = self.measure, float(self.limit)
        if measure.degree == 2:
            measure, limit = measure.root(), math.sqrt(limit)
        elif measure.degree != 1 and not (
            isinstance(ctx.scale, (int, float)) and float(ctx.scale) == 1.0
        ):
            raise InvalidInputError(
                f"{self!r}: {self.measure!r} is not positively homogeneous (degree "
                f"{self.measure.degree}), so it cannot be limited over scaled weights "
                "(maximum Sharpe, risk parity); use it with minimum variance or MeanRiskAllocator"
            )
        # at the context's data scale c: c risk(w) <= c limit, rows O(1) whatever the units
        # (returns of std 1e-10 once met a CVaR limit 38% over, reported optimal)
        scaled = ctx.at_data_scale() if measure.degree == 1 else ctx
        expression, rows = measure_expression(measure, scaled)
        return [*rows, expression <= limit * scaled.scale]

    def least_value(
        self,
        others: Sequence[Constraint],
        assets: pd.Index,
        data: Mapping[str, Any] | None = None,
        window: Mapping[str, Any] | None = None,
    ) -> float | None:
        """Return the least value of ``measure`` (the limit's units) over weights summing to 1
        under ``others``, solved as its own LP/SOCP at scale 1 (Clarabel, tight options), or
        None when the others are infeasible or the solver does not answer. What certifies
        that this limit cannot hold (``ParametrizedProblem.solve``)."""
        measure = self.measure.root() if self.measure.degree == 2 else self.measure
        scales = []  # the measure at the window's data scale c (rows O(1)): c x the least

        def objective(ctx: ProblemContext):
            scaled = ctx.at_data_scale() if measure.degree == 1 else ctx
            scales.append(ctx.data_scale if measure.degree == 1 else 1.0)
            return measure_expression(measure, scaled)

        objective, rows = scale_one_problem(others, assets, data, window, objective)
        problem = cp.Problem(cp.Minimize(objective), rows)
        try:
            with warnings.catch_warnings():  # an inaccurate status is read below
                warnings.filterwarnings("ignore", category=UserWarning)
                problem.solve(solver="CLARABEL", **SOLVER_OPTIONS["CLARABEL"])
        except cp.error.SolverError:
            return None
        if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or problem.value is None:
            return None
        least = float(problem.value) / scales[0]
        return least**2 if self.measure.degree == 2 else least

    @property
    def declares_ellipsoid(self) -> bool:
        """True when the measure declares itself as ``||A w - a||`` (``ellipsoid``, e.g.
        ``TrackingError``) from the class that builds its expression."""
        if self.measure.degree != 1:
            return False
        mro = type(self.measure).__mro__
        owner = next((k for k in mro if "ellipsoid" in vars(k)), None)
        return owner is not None and owner is next(k for k in mro if "expression" in vars(k))

    def ellipsoid_row(self, ctx: ProblemContext) -> tuple[np.ndarray, np.ndarray, float]:
        """Return this limit as ``||A w - a|| <= limit`` at scale 1: (A (m, n), a (m,),
        limit) at the Parameters' current values, for exact backends
        (``solvers.tracking_backend``; only where ``declares_ellipsoid``)."""
        A, a = self.measure.ellipsoid(ctx)
        return A, a, float(self.limit)
