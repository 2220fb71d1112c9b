"""The allocator interface: ``allocate(returns, **data) -> pd.Series`` of weights summing to 1."""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cvxport.allocators.arguments import check_allocator_argument
from cvxport.allocators.arguments import constraints as check_constraints_argument
from cvxport.allocators.output import as_weights, check_user_weights
from cvxport.allocators.risk_model import model_deviation
from cvxport.constraints.base import DATA_SCALE_SLACK, Constraint, power_of_two_scale
from cvxport.constraints.bound_conflicts import check_bound_objects
from cvxport.constraints.weights import LongOnly
from cvxport.constraints.window import GIVEN_FIELDS
from cvxport.errors import InvalidInputError
from cvxport.estimation import validate_returns
from cvxport.estimation.factor_cvxpy import risk_width
from cvxport.problem import Formulation, ParametrizedProblem
from cvxport.solvers import SolveInfo, check_solver
from cvxport.threads import single_threaded_blas

_LONG_ONLY = LongOnly()  # one instance: the same object in every call's constraints


def check_constraints(constraints: Sequence[Constraint] | None) -> tuple[Constraint, ...]:
    """Return constraints as a tuple, refusing anything that is not a Constraint object."""
    if constraints is None:
        return ()
    if isinstance(constraints, Constraint):
        constraints = [constraints]
    out = tuple(check_constraints_argument(constraints, "constraints"))
    for c in out:
        if not isinstance(c, Constraint):
            raise InvalidInputError(
                f"{c!r} is not a cvxport Constraint (subclass cvxport.Constraint with build())"
            )
    return out


def merge_constraints(
    long_only: bool, *groups: Sequence[Constraint] | None
) -> tuple[Constraint, ...]:
    """Return LongOnly (if ``long_only``) + every group's constraints, checked, deduplicated."""
    merged = (_LONG_ONLY,) if long_only else ()
    for group in groups:
        merged += check_constraints(group)
    return tuple(dict.fromkeys(merged))


class Allocator(ABC):
    """Base of every allocation method.

    Args:
        constraints: constraint objects applied to every allocation (more can be passed to
            ``allocate``); weights are long-only unless ``long_only=False``.
        solver: a cvxpy solver of ``cvxport.solvers.SOLVER_OPTIONS`` or an exact backend
            (``solvers.EXACT_BACKENDS``, e.g. 'ACTIVE_SET'). None (the default) walks
            ``solvers.DEFAULT_CHAIN``: the exact backends that accept the declared problem,
            then Clarabel. A named one is always the one used (``UnsupportedProblemError``
            if it cannot take the problem).
        fallback: solvers tried in order when ``solver`` fails; each failure is recorded.
        long_only: add ``LongOnly()`` to the constraints.

    After ``allocate``: ``weights_`` (pd.Series) and ``info_`` (SolveInfo or None for closed
    forms solved without a problem).
    """

    #: keyword data ``allocate`` accepts besides the window data of ``constraints.window``
    data_keys: ClassVar[tuple[str, ...]] = ()
    #: constructor argument -> the ``PortfolioConfig`` field (or manager source) the manager
    #: passes for it when it builds the allocator from a config; explicit, so a renamed
    #: argument fails loudly (see ``PortfolioManager.make_allocator``)
    config_arguments: ClassVar[dict[str, str]] = {
        "constraints": "constraints",
        "solver": "solver",
        "long_only": "long_only",
    }

    def __init__(
        self,
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        fallback: Sequence[str] = (),
        long_only: bool = True,
    ) -> None:
        self.constraints = constraints
        self.solver = solver
        self.fallback = fallback  # checked and made a tuple by __setattr__
        self.long_only = long_only
        self.info_: SolveInfo | None = None
        self.build_count_ = 0
        self._problems: dict[tuple, ParametrizedProblem] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, check_allocator_argument(self, name, value))

    def __getstate__(self) -> dict[str, Any]:
        """State for copy and pickle: the built problems stay behind (solver objects such as
        Clarabel's or HiGHS's cannot be pickled; they are rebuilt on the next allocate)."""
        return {**self.__dict__, "_problems": {}}

    def allocate(
        self,
        returns: pd.DataFrame,
        constraints: Sequence[Constraint] | None = None,
        solver: str | None = None,
        *,
        checked: bool = False,
        **data: Any,
    ) -> pd.Series:
        """Return weights (fractions of NAV, summing to 1) indexed by symbol.

        Args:
            returns: (T, n) simple periodic returns, columns are symbols.
            constraints: extra constraint objects for this call only.
            solver: overrides the allocator's solver for this call.
            checked: the caller has already checked ``returns`` (a float frame, finite,
                unique symbols, enough rows), as the backtest engine has from validated
                prices; skips that pass.
            **data: method data (e.g. ``market_caps``, ``risk_budget``) and
                ``previous_weights`` for trading constraints.
        """
        if not checked:
            returns = validate_returns(returns, min_rows=self.min_rows)
        accepted = {*self.data_keys, *GIVEN_FIELDS}
        unknown = set(data) - accepted
        if unknown:
            raise InvalidInputError(
                f"{type(self).__name__}.allocate got unknown data {sorted(unknown)}; "
                f"it accepts {sorted(accepted)}"
            )
        assets = returns.columns
        all_constraints = self.resolve_constraints(constraints)
        self._validate_constraints(all_constraints, assets)
        named = solver or self.solver
        solver_name = check_solver(named) if named is not None else None
        with single_threaded_blas():
            answer = self._allocate(returns, all_constraints, solver_name, data)
        owner = f"{type(self).__name__}._allocate"
        weights = as_weights(owner, answer, assets)
        if not type(self).__module__.startswith("cvxport."):  # a user's allocator
            check_user_weights(owner, weights, assets, all_constraints)
        result = weight_series(weights, assets)
        self.weights_ = result
        return result

    def _validate_constraints(self, constraints: tuple[Constraint, ...], assets: pd.Index) -> None:
        """Check each constraint object against the universe (``validate``) and the bound
        objects together (``check_bound_objects``), raising their named errors.

        Both are pure functions of the frozen objects and the symbols, so the last pair that
        passed is remembered: a re-solve with the same objects on the same universe skips them
        (0.2 ms of a 1.8 ms re-solve at n = 100: a set of the symbols per group limit, the
        bound arrays of every bound object); anything else is checked again."""
        last = getattr(self, "_validated", None)
        if (
            last is not None
            and len(last[0]) == len(constraints)
            and all(a is b for a, b in zip(last[0], constraints, strict=True))
            and last[1].equals(assets)
        ):
            return
        for c in constraints:
            c.validate(assets)
        check_bound_objects(constraints, assets)
        self._validated = (constraints, assets)

    def resolve_constraints(self, extra: Sequence[Constraint] | None) -> tuple[Constraint, ...]:
        """Return LongOnly (if asked) + the allocator's constraints + ``extra``, deduplicated.

        Without ``extra`` the answer is kept while ``long_only`` and ``constraints`` stay the
        same objects (both are checked on assignment), so every re-solve gets the same tuple."""
        if extra is not None:
            return merge_constraints(self.long_only, self.constraints, extra)
        last = getattr(self, "_resolved", None)
        if last is not None and last[0] is self.constraints and last[1] is self.long_only:
            return last[2]
        merged = merge_constraints(self.long_only, self.constraints, None)
        self._resolved = (self.constraints, self.long_only, merged)
        return merged

    min_rows: ClassVar[int] = 2

    @abstractmethod
    def _allocate(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        solver: str | None,
        data: Mapping[str, Any],
    ) -> np.ndarray:
        """Return (n,) weights for validated inputs (``solver`` None: the default chain)."""

    # --- shared solver plumbing -------------------------------------------------------------
    def _problem(
        self,
        assets: pd.Index,
        constraints: tuple[Constraint, ...],
        formulate,
        key: tuple = (),
        n_periods: int = 0,
        deviation: float | None = None,
    ) -> ParametrizedProblem:
        """Return the cached problem for (universe, constraints, key); build it if new.

        The problem is declared once and re-solved by any backend; cvxpy recompiles only when
        the solver changes. A problem whose terms use the returns window is rebuilt when the
        window's length ``n_periods`` changes.

        ``deviation``: the returns' per-period standard deviation (``returns_deviation``, or
        ``risk_model.model_deviation`` of the covariance estimate); the problem is built at its
        ``data_scale`` (a ``RiskLimit`` writes its measure at it: on
        returns x1e-8 a CVaR limit under minimum variance was met 2% over, 17% under maximum
        Sharpe, reported optimal) and rebuilt when the data leave that scale by 2^10."""
        # keyed by the constraints; the universe is compared (a vectorized Index.equals: a
        # tuple of 100 arrow-backed symbols per call cost as much as the solve at n = 100)
        cache_key = (len(assets), constraints, key)
        problem = self._problems.get(cache_key)
        if problem is not None and not problem.assets.equals(assets):
            problem = None
        stale = problem is not None and problem.uses_periods
        if stale and problem.context.n_periods != n_periods:
            problem = None
        if problem is not None and deviation is not None and not at_scale(problem, deviation):
            problem = None
        if problem is None:
            formulation: Formulation = formulate(len(assets))
            if deviation is not None:
                formulation.data_scale = power_of_two_scale(deviation)
            if formulation.domain:  # e.g. the log barrier's LongOnly(): a short bound is named
                check_bound_objects((*formulation.domain, *constraints), assets)
            problem = ParametrizedProblem(formulation, assets, constraints, n_periods)
            self._problems[cache_key] = problem
            self.build_count_ += 1
        return problem

    def _risk_model_problem(
        self,
        returns: pd.DataFrame,
        constraints: tuple[Constraint, ...],
        formulation,
        risk_model: Any,
        costs: Any,
    ) -> ParametrizedProblem:
        """``_problem`` for a formulation over the risk model ``risk_model`` (an (n, n)
        covariance or a factor model, the estimate before scaling) with the transaction
        ``costs`` term (None: none): keyed by the costs and the factor width, built at the
        model's scale (a RiskLimit's rows at O(1))."""
        width = risk_width(risk_model)
        return self._problem(
            returns.columns,
            constraints,
            functools.partial(formulation, costs=costs, factor_width=width),
            key=(costs, width),
            n_periods=len(returns),
            deviation=model_deviation(risk_model),
        )

    def _solve(
        self,
        problem: ParametrizedProblem,
        values: Mapping[str, Any],
        data: Mapping[str, Any],
        solver: str | None,
        returns: pd.DataFrame | None = None,
        known: Mapping[str, Any] | None = None,
    ) -> np.ndarray:
        """Solve ``problem`` with ``values`` along the backend chain, record ``info_`` and
        return (n,) weights. ``returns`` (T, n) and ``known`` estimates fill the window data
        the terms use."""
        weights, info = problem.solve(values, data, solver, self.fallback, returns, known)
        info.build_count = self.build_count_
        info.sum_error = abs(float(weights.sum()) - 1.0)
        info.max_bound_violation = max_bound_violation(weights, problem)
        self.info_ = info
        return weights


def returns_deviation(returns: pd.DataFrame) -> float:
    """The average asset standard deviation per period of (T, n) ``returns`` (1.0 where it is
    0 or not finite): the scale of the data a problem's risk rows see."""
    deviation = float(np.mean(np.std(returns.to_numpy(dtype=float), axis=0, ddof=1)))
    return deviation if deviation > 0 and math.isfinite(deviation) else 1.0


def at_scale(problem: ParametrizedProblem, deviation: float) -> bool:
    """True when ``problem`` was built at a data scale within 2^``DATA_SCALE_SLACK`` of
    1 / ``deviation``."""
    return abs(math.log2(deviation * problem.formulation.data_scale)) <= DATA_SCALE_SLACK


def weight_series(weights: np.ndarray, assets: pd.Index) -> pd.Series:
    """``pd.Series(weights, index=assets, name="weight")``: for (n,) float64 weights, a copy
    put in a Series through its block manager. The constructor's general path (sanitizing,
    dtype and index inference) costs 95 us with cold caches against 60 us (a re-solve at
    n = 100 takes 1.5 ms). Anything else, or a pandas without those internals, goes through
    the constructor."""
    if (
        _FROM_BLOCK is not None
        and type(weights) is np.ndarray
        and weights.dtype == np.float64
        and weights.shape == (len(assets),)
    ):
        manager = _FROM_BLOCK[0].from_array(weights.copy(), assets)  # a copy, as the constructor
        result = _FROM_BLOCK[1](manager, manager.axes)
        result.name = "weight"
        return result
    return pd.Series(weights, index=assets, name="weight")


def _block_constructors() -> tuple | None:
    """(SingleBlockManager, Series._from_mgr) where pandas has them (2.1 on), else None."""
    try:
        from pandas.core.internals import SingleBlockManager
    except ImportError:  # pragma: no cover - a pandas without this module
        return None
    from_manager = getattr(pd.Series, "_from_mgr", None)
    if from_manager is None or not hasattr(SingleBlockManager, "from_array"):
        return None  # pragma: no cover - pandas < 2.1
    return SingleBlockManager, from_manager


_FROM_BLOCK = _block_constructors()


def is_per_asset_bound(constraint: Constraint) -> bool:
    """True for a constraint that only bounds individual weights and says how (``bounds``)."""
    return constraint.is_bounds_only and hasattr(constraint, "bounds")


def bound_violation(weights: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Largest amount by which (n,) ``weights`` leave [lower, upper] (fraction of NAV), >= 0."""
    return max(float((lower - weights).max()), float((weights - upper).max()), 0.0)


def per_asset_bounds(
    constraints: Sequence[Constraint],
    assets: pd.Index,
    lower: float = -np.inf,
    upper: float = np.inf,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the (n,) lower and upper bounds all ``constraints`` impose together (fractions
    of NAV, starting from ``lower`` and ``upper``), or None when one of them is more than a
    per-asset bound."""
    low, high = np.full(len(assets), float(lower)), np.full(len(assets), float(upper))
    for constraint in constraints:
        if not is_per_asset_bound(constraint):
            return None
        c_lower, c_upper = constraint.bounds(assets)
        low, high = np.maximum(low, c_lower), np.minimum(high, c_upper)
    return low, high


def max_bound_violation(weights: np.ndarray, problem: ParametrizedProblem) -> float:
    """Largest violation of any per-asset bound object in ``problem`` (fraction of NAV); the
    bound arrays are computed once per problem (its universe and objects are fixed)."""
    if "bounds" not in problem.memo:
        bounds = [c for c in problem.constraints if is_per_asset_bound(c)]
        problem.memo["bounds"] = per_asset_bounds(bounds, problem.assets)
    return bound_violation(weights, *problem.memo["bounds"])
