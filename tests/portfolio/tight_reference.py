"""A test's reference solve: the first solver that meets its own tolerances.

SCS first, at 1e-12: on optima that are flat along a binding row (a tracking-error limit, an
L1 row), Clarabel at its 1e-10 gap leaves the weights loose by up to 5e-6, about once in
1,000 drawn problems (also 'optimal_inaccurate' there, 8e-6 off, and ECOS 1.3e-6 off), where
SCS landed within 3e-13 of the exact backends' certified answers. Clarabel and ECOS follow
where SCS stops short.
"""

from __future__ import annotations

import cvxpy as cp

from cvxport.solvers import SOLVER_OPTIONS

REFERENCE_SOLVERS = (
    ("SCS", {"eps": 1e-12, "max_iters": 500_000}),
    ("CLARABEL", SOLVER_OPTIONS["CLARABEL"]),
    ("ECOS", SOLVER_OPTIONS["ECOS"]),
)


def solve_reference(problem: cp.Problem) -> str:
    """Solve ``problem`` with the first of ``REFERENCE_SOLVERS`` reporting 'optimal'; return
    the status (the last solver's where none does, e.g. 'infeasible' or 'ECOS failed')."""
    status = "no solver ran"
    for solver, options in REFERENCE_SOLVERS:
        try:
            problem.solve(solver=solver, **options)
        except cp.error.SolverError:
            status = f"{solver} failed"
            continue
        status = problem.status
        if status == cp.OPTIMAL:
            break
    return status
