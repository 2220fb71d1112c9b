"""A declared problem: built once per (universe, constraints), updated, re-solved by backends."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.constraints.base import Constraint, ProblemContext, nonfinite_constant
from cvxport.constraints.diagnose import (
    DATA_SCALE_KEY,
    conflicting_constraints,
    describe_conflict,
)
from cvxport.constraints.window import PREFIX, fit_width, window_value
from cvxport.errors import (
    InfeasibleError,
    InvalidInputError,
    SolverError,
    UnsupportedProblemError,
    named_user_errors,
)
from cvxport.solvers import SolveInfo, solve_declared
from cvxport.solvers.declared import LogBarrierObjective, QuadraticObjective


@dataclass
class Formulation:
    """One method's problem over a weight variable, before the constraint objects are added.

    Attributes:
        variable: (n,) variable the constraints act on (weights, or scaled weights y).
        scale: homogenizing scalar (1.0, kappa, or sum(y)); weights = variable / scale.
        objective: the cvxpy objective, or a callable ``objective(ctx) -> (objective, rows)``
            for objectives built from the context's data (risk measures, cost terms).
        constraints: the method's own rows (budget, normalization).
        parameters: the method's data Parameters, by name.
        solver_options: per-solver overrides of ``SOLVER_OPTIONS`` for this problem.
        declared: what the objective is, for exact backends (``cvxport.solvers.declared``);
            None: cvxpy's solvers only.
        preferred: cvxpy solvers the default chain tries before Clarabel for this problem,
            where installed (a measured choice, e.g. HiGHS for the CVaR linear program).
        domain: constraint objects the objective's domain implies without rows (the log
            barrier's y > 0: ``LongOnly()``), added to the conflict diagnosis.
        models: structured Parameters by the name of the method value that sets them (a
            factor model's ``FactorRiskParameters``, ``estimation.factor_cvxpy.variance_term``).
        factor_width: the factor width the problem is built for when its covariance is a
            factor model (None: an (n, n) array); terms then see the covariance in factor form
            (``ProblemContext.covariance_terms``), never n x n.
        data_scale: the constant a method's objective term was built at (c w for a
            homogeneous risk measure, ``mean_risk_forms.measure_formulation``); 1: none.
    """

    variable: cp.Variable
    scale: cp.Expression | float
    objective: cp.Minimize | cp.Maximize | Callable[[ProblemContext], tuple]
    constraints: list[cp.Constraint] = field(default_factory=list)
    parameters: dict[str, cp.Parameter] = field(default_factory=dict)
    solver_options: dict[str, dict] = field(default_factory=dict)
    declared: QuadraticObjective | LogBarrierObjective | None = None
    preferred: tuple[str, ...] = ()
    domain: tuple[Constraint, ...] = ()
    models: dict[str, Any] = field(default_factory=dict)
    factor_width: int | None = None
    data_scale: float = 1.0


class ParametrizedProblem:
    """A method's formulation plus constraint objects, compiled once and re-solved with data.

    Args:
        formulation: the method's variables, objective and own rows.
        assets: the universe, in variable order.
        constraints: constraint objects (already validated against ``assets``).
        n_periods: T, the rows of the returns window (for terms using ``ctx.returns``).
    """

    def __init__(
        self,
        formulation: Formulation,
        assets: pd.Index,
        constraints: Sequence[Constraint],
        n_periods: int = 0,
    ) -> None:
        self.formulation = formulation
        self.assets = assets
        self.constraints = tuple(constraints)
        self.context = ProblemContext(
            weights=formulation.variable,
            scale=formulation.scale,
            assets=assets,
            parameters=dict(formulation.parameters),
            n_periods=n_periods,
            factor_width=formulation.factor_width,
            data_scale=formulation.data_scale,
        )
        objective = formulation.objective
        extra_rows: list[cp.Constraint] = []
        if callable(objective):
            objective, extra_rows = objective(self.context)
        self.rows_by_constraint: dict[Constraint, list[cp.Constraint]] = {}
        rows = list(formulation.constraints) + list(extra_rows)
        for constraint in self.constraints:
            built = build_rows(constraint, self.context)
            self.rows_by_constraint[constraint] = built
            rows += built
        #: every row: the method's, then each constraint object's
        self.rows = rows
        self.problem = cp.Problem(objective, rows)
        #: per-backend state kept between solves (warm starts, row readers), by backend name
        self.backend_state: dict[str, dict] = {}
        #: the method's values of this solve not yet given to their Parameter
        self.deferred: dict[str, Any] = {}
        #: values derived once from the fixed universe and constraint objects, by their users
        #: (e.g. the per-asset bound arrays of ``allocators.base.max_bound_violation``)
        self.memo: dict[str, Any] = {}

    def assign_deferred(self, parameter_ids: set[int] | None = None) -> None:
        """Give deferred method values to their Parameters: all of them, or those whose
        Parameter id is in ``parameter_ids``. A factor model goes to its factor-form
        Parameters (``Formulation.models``); only a problem built dense for it (no factor
        form) gets its (n, n) matrix."""
        models = self.formulation.models
        for name in list(self.deferred):
            if name in models:
                ids = {models[name].root.id, models[name].specific_root.id}
                if parameter_ids is None or ids & parameter_ids:
                    models[name].assign(self.deferred.pop(name))
                continue
            parameter = self.parameters[name]
            if parameter_ids is not None and parameter.id not in parameter_ids:
                continue
            value = self.deferred.pop(name)
            dense = not isinstance(value, np.ndarray) and hasattr(value, "dense")
            assign(parameter, value.dense() if dense else value)

    @property
    def data_fields(self) -> list[str]:
        """The window data the problem's terms use (``returns``, ``benchmark_weights``...)."""
        return [name[len(PREFIX) :] for name in self.parameters if name.startswith(PREFIX)]

    @property
    def uses_periods(self) -> bool:
        """True when a term's Parameter has the window's length T in its shape."""
        return bool({"returns", "benchmark_returns"} & set(self.data_fields))

    @property
    def parameters(self) -> dict[str, cp.Parameter]:
        """All Parameters: the method's and those the constraint objects created."""
        return self.context.parameters

    def solve(
        self,
        values: Mapping[str, Any],
        data: Mapping[str, Any],
        solver: str | None,
        fallback: Sequence[str] = (),
        returns: pd.DataFrame | None = None,
        known: Mapping[str, Any] | None = None,
    ) -> tuple[np.ndarray, SolveInfo]:
        """Assign Parameter values, solve along the backend chain, return (weights (n,), info).

        Args:
            values: the method's Parameter values (already checked finite).
            data: allocation data passed to the constraint objects (e.g. previous_weights).
            solver: a solver or backend name, or None for the default chain; ``fallback``
                names are tried next, in order.
            returns: (T, n) window returns, for the window data terms use.
            known: window data the method already estimated ('mean', 'covariance').

        Raises:
            InfeasibleError: naming the constraint objects in conflict.
            UnsupportedProblemError: the named backend does not accept this problem.
            SolverError: every backend failed.
        """
        for constraint in self.constraints:
            for name, value in constraint.parameter_values(self.assets, data).items():
                assign(self.parameters[name], value)
        for name in self.data_fields:
            if returns is None:
                raise InvalidInputError(f"window data {name!r} is used but no window was given")
            parameter = self.parameters[PREFIX + name]
            value = window_value(name, returns, data, known or {})
            assign(parameter, fit_width(name, value, parameter.shape))
        # the method's values reach their Parameters only when a consumer reads them
        # (``assign_deferred``): exact backends take them as they are, and assigning an
        # n x n covariance cost 8 ms a solve at n = 1000 (cvxpy validates every entry)
        self.deferred = dict(values)
        try:
            return solve_declared(self, values, solver, fallback)
        except UnsupportedProblemError:
            raise
        except (InfeasibleError, SolverError) as exc:
            if isinstance(exc, InfeasibleError) and exc.conflicting:
                raise  # a backend that proved it named the conflict (ACTIVE_SET_TE)
            # Solvers do not always prove infeasibility (Clarabel on the log-barrier risk
            # budget stops at its iteration limit or fails): name the conflict when there is one.
            window = {
                PREFIX + name: self.parameters[PREFIX + name].value for name in self.data_fields
            }
            window[DATA_SCALE_KEY] = self.context.data_scale
            implied = [*self.formulation.domain, *self.constraints]
            conflict = conflicting_constraints(implied, self.assets, data, window)
            if not conflict:
                conflict, reason = limits_at_their_least(implied, self.assets, data, window)
                if conflict:
                    raise InfeasibleError(f"{exc}: {reason}", conflicting=conflict) from exc
            if isinstance(exc, SolverError) and not conflict:
                raise
            if not conflict and not self.formulation.constraints:
                # no row of the method's own to blame, and the objects hold together with the
                # domain: the backend's claim is not certified (e.g. a barrier form)
                raise SolverError(
                    f"{exc}; yet the constraint objects hold together with "
                    f"{under(self.formulation.domain)} (checked at scale 1): no conflict "
                    "certified"
                ) from exc
            try:
                least = least_values(conflict, implied, self.assets, data, window)
            except SolverError as disagreement:
                raise SolverError(f"{exc}; {disagreement}") from exc
            raise InfeasibleError(
                f"{exc}: infeasible because of {describe_conflict(conflict)}{least}",
                conflicting=conflict,
            ) from exc


#: a limit within this relative gap of the least value the other constraints allow is met only
#: on the boundary of the method's domain (a zero weight under the log barrier)
LEAST_RTOL = 1e-7


def under(others: Sequence[Constraint]) -> str:
    """'A and B and sum(w) == 1': the conditions a least value is taken under."""
    return " and ".join([*(repr(c) for c in others), "sum(w) == 1"])


def least_values(
    conflict: Sequence[Constraint],
    implied: Sequence[Constraint],
    assets: pd.Index,
    data: Mapping[str, Any],
    window: Mapping[str, Any],
) -> str:
    """'; the least <measure> under <others> is m > limit L' for each limit in ``conflict``
    (objects with ``least_value``, e.g. ``RiskLimit``), each solved as its own problem under
    every other object of ``implied`` (the domain's too: long-only for the log barrier).

    Raises:
        SolverError: a least value is below its limit (beyond ``LEAST_RTOL``): the conflict
            the diagnosis found is not certified.
    """
    notes = []
    for constraint in conflict:
        if not hasattr(constraint, "least_value"):
            continue
        others = [c for c in implied if c is not constraint]
        least = constraint.least_value(others, assets, data, window)
        if least is not None and least < constraint.limit * (1 - LEAST_RTOL):
            raise SolverError(  # two solves disagree: nothing is certified
                f"the diagnosis names {describe_conflict(conflict)}, yet the least "
                f"{constraint.measure!r} under {under(others)} is {least:.9g}, below the limit "
                f"{constraint.limit:.9g}: the infeasibility is not certified"
            )
        if least is not None:
            relation = ">" if least > constraint.limit else "at"
            notes.append(
                f"the least {constraint.measure!r} under {under(others)} is {least:.6g} "
                f"{relation} limit {constraint.limit:.6g}"
            )
    return "".join(f"; {note}" for note in notes)


def limits_at_their_least(
    implied: Sequence[Constraint],
    assets: pd.Index,
    data: Mapping[str, Any],
    window: Mapping[str, Any],
) -> tuple[list[Constraint], str]:
    """Where the diagnosis finds the objects feasible at scale 1 but a backend found no
    (interior) point: the first limit whose least value under the other objects is within
    ``LEAST_RTOL`` of the limit (met only where the domain's boundary is, e.g. a zero weight)
    or above it (infeasible), with the reason."""
    for constraint in implied:
        if not hasattr(constraint, "least_value"):
            continue
        others = [c for c in implied if c is not constraint]
        least = constraint.least_value(others, assets, data, window)
        if least is not None and least > constraint.limit * (1 + LEAST_RTOL):
            # above the limit, not at it (a diagnosis at scale 1 can miss it on returns far
            # from O(1)): a conflict certified by the least value itself
            reason = (
                f"infeasible because of {describe_conflict([*others, constraint])}; the least "
                f"{constraint.measure!r} under {under(others)} is {least:.6g} > limit "
                f"{constraint.limit:.6g}"
            )
            return [*others, constraint], reason
        if least is not None and least >= constraint.limit * (1 - LEAST_RTOL):
            reason = (
                f"{constraint!r} can hold only at the least {constraint.measure!r} under "
                f"{under(others)}, {least:.9g} (limit {constraint.limit:.9g}, within "
                f"{LEAST_RTOL:g}), on the boundary of the method's domain (a weight at 0 for "
                "the log barrier)"
            )
            return [*others, constraint], reason
    return [], ""


def assign(parameter: cp.Parameter, value: Any) -> None:
    """Give ``parameter`` its value.

    A finite float64 array of the Parameter's shape, for a Parameter without attributes,
    bounds or sparsity, is stored as it is: cvxpy's setter would project it onto no attribute
    and compare (np.allclose) to return it unchanged, 17 us hot and 50-90 us in a backtest's
    cold cache for 100 entries, 8 ms for a 1000 x 1000 covariance. Anything else goes through
    the setter and its checks.
    """
    if (
        type(value) is np.ndarray
        and value.dtype == np.float64
        and value.shape == parameter.shape
        and getattr(parameter, "num_attributes", 1) == 0
        and getattr(parameter, "bounds", True) is None
        and getattr(parameter, "sparse_idx", True) is None
        and hasattr(parameter, "save_value")
        and np.isfinite(value).all()
    ):
        parameter.save_value(value)
    else:
        parameter.value = value


def build_rows(constraint: Constraint, context: ProblemContext) -> list[cp.Constraint]:
    """Return the rows ``constraint`` adds, refusing rows that are not DCP, or not DPP where
    they hold Parameters, by a named InvalidInputError (never a raw cvxpy error)."""
    with named_user_errors(constraint, "build its rows"):
        rows = list(constraint.build(context))
    for row in rows:
        if not isinstance(row, cp.constraints.constraint.Constraint):
            raise InvalidInputError(
                f"{constraint!r}.build returned {row!r}, not a cvxpy constraint"
            )
        if not row.is_dcp():
            raise InvalidInputError(
                f"{constraint!r} adds a row that is not DCP (not convex as written): {row}"
            )
        if row.parameters() and not row.is_dcp(dpp=True):
            raise InvalidInputError(
                f"{constraint!r} adds a row that is not DPP in its Parameters: {row}"
            )
        bad = nonfinite_constant(row)
        if bad is not None:
            raise InvalidInputError(f"{constraint!r} adds a row holding the number {bad}: {row}")
    return rows
