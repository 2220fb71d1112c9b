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

#: bytes cvxpy's parametrized (DPP) compile may take before a cone program is compiled without
#: it: measured on cvxpy 1.9, a norm of a (n + 1, n) Parameter times the weights took 1.1 GB at
#: n = 400 and 7.5 GB at n = 1000 (about 8 bytes x Parameter entries x scalar variables), where
#: compiling it anew at every solve takes 0.1 s and 160 MB. LPs and QPs keep their DPP compile
#: (a 1000 x 300 scenario Parameter compiles in 0.2 s and 30 MB).
DPP_MEMORY_BUDGET = 256 * 2**20


def compiles_without_dpp(problem: cp.Problem) -> bool:
    """True when ``problem`` is a cone program (not an LP or QP) whose parametrized compile
    would exceed ``DPP_MEMORY_BUDGET``: it is then compiled with its values at every solve."""
    entries = sum(parameter.size for parameter in problem.parameters())
    if not entries or problem.is_qp():
        return False
    variables = sum(variable.size for variable in problem.variables())
    return 8 * entries * variables > DPP_MEMORY_BUDGET


def solve_once(problem: cp.Problem, solver: str, overrides: dict | None = None) -> SolveInfo:
    """Solve ``problem`` with one cvxpy solver and its table options; raise on a bad status.

    Raises:
        InfeasibleError: the solver proved infeasibility (callers add a diagnosis).
        SolverError: the solver failed, hit a limit, or found the problem unbounded.
    """
    table = SOLVER_OPTIONS.get(solver, OTHER_SOLVER_OPTIONS.get(solver, {}))
    options = {**table, **(overrides or {})}
    if compiles_without_dpp(problem):
        options.setdefault("ignore_dpp", True)
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
