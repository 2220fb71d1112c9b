"""The solver table: options per solver, statuses mapped to cvxport errors, explicit fallback.

Tolerances are tight because problems are scaled to O(1) (see ``estimation.psd``): measured on
cvxpy 1.9, Clarabel at 1e-10 leaves weight errors near 1e-8 where its defaults leave 1e-3.
Option names drift between solver versions and a wrong name raises nothing, so
``tests/portfolio/test_solvers.py`` checks every entry against the installed solver.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import cvxpy as cp

from cvxport.errors import InfeasibleError, InvalidInputError, SolverError

DEFAULT_SOLVER = "CLARABEL"


def _osqp_options() -> dict:
    """OSQP options; the polishing flag was renamed in OSQP 1.0 ('polish' -> 'polishing')."""
    try:
        import osqp

        major = int(osqp.__version__.split(".")[0])
    except Exception:  # pragma: no cover - OSQP missing or odd version string
        major = 1
    polish = "polishing" if major >= 1 else "polish"
    return {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iter": 200_000, polish: True}


SOLVER_OPTIONS: dict[str, dict] = {
    "CLARABEL": {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10},
    "OSQP": _osqp_options(),
    "ECOS": {"abstol": 1e-10, "reltol": 1e-10, "feastol": 1e-10, "max_iters": 500},
    "SCS": {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000},
}

ACCEPTED_STATUSES = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
INFEASIBLE_STATUSES = (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)


@dataclass
class SolveInfo:
    """What one solve did, kept on the allocator as ``info_`` for inspection.

    Times are seconds. ``max_bound_violation`` and ``sum_error`` are in weight units
    (fractions of NAV); ``fallback_from`` lists solvers that failed before ``solver`` answered.
    """

    solver: str
    status: str
    solve_time: float
    total_time: float
    iterations: int | None
    objective: float | None
    compile_time: float | None = None
    is_dpp: bool | None = None
    build_count: int = 0
    max_bound_violation: float = 0.0
    sum_error: float = 0.0
    fallback_from: list[tuple[str, str]] = field(default_factory=list)


@functools.cache
def _cvxpy_solvers() -> frozenset[str]:
    """cvxpy's installed solvers (probing imports them: 7 ms a call, so asked once)."""
    return frozenset(cp.installed_solvers())


def installed_solvers() -> list[str]:
    """Return the solvers of ``SOLVER_OPTIONS`` that cvxpy can use on this machine."""
    return [name for name in SOLVER_OPTIONS if name in _cvxpy_solvers()]


def check_solver(name: str) -> str:
    """Return the upper-case solver name, or raise SolverError if it is unknown or missing."""
    if not isinstance(name, str):
        raise InvalidInputError(f"solver must be a name such as 'CLARABEL', got {name!r}")
    upper = name.upper()
    if upper not in _cvxpy_solvers():
        raise SolverError(
            f"solver {name!r} is not installed; installed: {installed_solvers()}",
            solver=upper,
        )
    return upper


def solve_once(problem: cp.Problem, solver: str, overrides: dict | None = None) -> SolveInfo:
    """Solve ``problem`` with one solver and its table options; raise on a bad status.

    Raises:
        InfeasibleError: the solver proved infeasibility (callers add a diagnosis).
        SolverError: the solver failed, hit a limit, or found the problem unbounded.
    """
    options = {**SOLVER_OPTIONS.get(solver, {}), **(overrides or {})}
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
    except cp.error.DCPError as exc:  # pragma: no cover - formulations are DCP by construction
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


def solve_with_fallback(
    problem: cp.Problem,
    solver: str,
    fallback: Sequence[str] = (),
    overrides: dict[str, dict] | None = None,
) -> SolveInfo:
    """Try ``solver`` then each of ``fallback`` in order; record every failure in the info.

    Infeasibility is final (another solver would not change it); a SolverError moves on to the
    next solver; when all fail, the last SolverError is raised naming every attempt.
    ``overrides`` maps a solver name to options replacing the table's for this problem.
    """
    failures: list[tuple[str, str]] = []
    for name in (solver, *fallback):
        try:
            name = check_solver(name)
            info = solve_once(problem, name, (overrides or {}).get(name))
        except SolverError as exc:
            failures.append((name, str(exc)))
            continue
        info.fallback_from = failures
        return info
    tried = "; ".join(f"{n}: {msg}" for n, msg in failures)
    raise SolverError(f"every solver failed ({tried})", solver=failures[-1][0])
