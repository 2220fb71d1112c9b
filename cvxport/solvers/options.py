"""The solver table: options per cvxpy solver, the exact backends' names, name checks.

Tolerances are tight because problems are scaled to O(1) (see ``estimation.psd``): measured on
cvxpy 1.9, Clarabel at 1e-10 leaves weight errors near 1e-8 where its defaults leave 1e-3.
Option names drift between solver versions and a wrong name raises nothing, so
``tests/portfolio/test_solvers.py`` checks every entry against the installed solver.
"""

from __future__ import annotations

import functools

import cvxpy as cp

from cvxport.errors import InvalidInputError, SolverError

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

#: options of cvxpy solvers outside the table above, used where a problem prefers one
#: (``Formulation.preferred``); not in ``installed_solvers()``: they are not general QP solvers
OTHER_SOLVER_OPTIONS: dict[str, dict] = {"HIGHS": {"output_flag": False}}

#: Backends that solve a declared problem exactly without cvxpy (``cvxport.solvers.backends``).
EXACT_BACKENDS = ("ACTIVE_SET", "NEWTON", "HIGHS_LP", "ACTIVE_SET_TE", "NEWTON_QP")

ACCEPTED_STATUSES = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
INFEASIBLE_STATUSES = (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)


@functools.cache
def _cvxpy_solvers() -> frozenset[str]:
    """cvxpy's installed solvers (probing imports them: 7 ms a call, so asked once)."""
    return frozenset(cp.installed_solvers())


def installed_solvers(every: bool = False) -> list[str]:
    """Return the solvers of ``SOLVER_OPTIONS`` that cvxpy can use on this machine (``every``:
    all of cvxpy's installed solvers, e.g. HIGHS for linear programs)."""
    if every:
        return sorted(_cvxpy_solvers())
    return [name for name in SOLVER_OPTIONS if name in _cvxpy_solvers()]


def check_solver(name: str) -> str:
    """Return the upper-case name of a cvxpy solver or an exact backend (``EXACT_BACKENDS``);
    SolverError if it is unknown or not installed."""
    if not isinstance(name, str):
        raise InvalidInputError(f"solver must be a name such as 'CLARABEL', got {name!r}")
    upper = name.upper()
    if upper in EXACT_BACKENDS:
        return upper
    if upper not in _cvxpy_solvers():
        raise SolverError(
            f"solver {name!r} is not installed; installed: {installed_solvers()}, "
            f"exact backends: {list(EXACT_BACKENDS)}",
            solver=upper,
        )
    return upper
