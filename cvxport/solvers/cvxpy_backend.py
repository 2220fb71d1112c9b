"""The cvxpy backends: one per installed solver of the options table, same result record."""

from __future__ import annotations

import time
import warnings

import cvxpy as cp

from cvxport.errors import InfeasibleError, SolverError
from cvxport.solvers.options import (
    ACCEPTED_STATUSES,
    INFEASIBLE_STATUSES,
    OTHER_SOLVER_OPTIONS,
    SOLVER_OPTIONS,
)
from cvxport.solvers.result import SolveInfo


def solve_once(problem: cp.Problem, solver: str, overrides: dict | None = None) -> SolveInfo:
    """Solve ``problem`` with one cvxpy solver and its table options; raise on a bad status.

    Raises:
        InfeasibleError: the solver proved infeasibility (callers add a diagnosis).
        SolverError: the solver failed, hit a limit, or found the problem unbounded.
    """
    table = SOLVER_OPTIONS.get(solver, OTHER_SOLVER_OPTIONS.get(solver, {}))
    options = {**table, **(overrides or {})}
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # Not-DPP is a measured choice (see problem forms); inaccuracy is kept in the status.
            warnings.filterwarnings("ignore", message=".*not DPP.*", category=UserWarning)
            warnings.filterwarnings("ignore", message=".*may be inaccurate.*", category=UserWarning)
            # a failed solve can leave y <= 0 where cvxpy evaluates log(y); the status says so
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="cvxpy")
            problem.solve(solver=solver, **options)
    except cp.error.SolverError as exc:
        raise SolverError(f"solver {solver} failed: {exc}", solver=solver) from exc
    except cp.error.DCPError as exc:  # pragma: no cover - checked when the problem is built
        raise SolverError(f"problem is not DCP for {solver}: {exc}", solver=solver) from exc
    total = time.perf_counter() - start
    status = problem.status
    if status in INFEASIBLE_STATUSES:
        raise InfeasibleError(f"solver {solver} reports the problem {status}")
    if status not in ACCEPTED_STATUSES:
        raise SolverError(f"solver {solver} stopped with status {status!r}", solver, status)
    stats = problem.solver_stats
    return SolveInfo(
        solver=solver,
        status=status,
        solve_time=float(stats.solve_time or 0.0),
        total_time=total,
        iterations=stats.num_iters,
        objective=float(problem.value),
        compile_time=getattr(problem, "compilation_time", None),
        is_dpp=problem.is_dpp(),
    )
