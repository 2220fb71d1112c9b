"""The solver layer: the solver table, backends (cvxpy solvers and exact methods), the chain.

``solver=None`` walks :data:`DEFAULT_CHAIN` (the exact backends that accept the declared
problem, then Clarabel); a named solver or backend is the one used, with an explicit,
recorded ``fallback`` chain after it.
"""

from cvxport.solvers.backend import Backend, CvxpyBackend
from cvxport.solvers.chain import DEFAULT_CHAIN, backend_named, solve_declared
from cvxport.solvers.cvxpy_backend import solve_once
from cvxport.solvers.options import (
    ACCEPTED_STATUSES,
    DEFAULT_SOLVER,
    EXACT_BACKENDS,
    INFEASIBLE_STATUSES,
    SOLVER_OPTIONS,
    check_solver,
    installed_solvers,
)
from cvxport.solvers.result import SolveInfo

__all__ = [
    "ACCEPTED_STATUSES",
    "DEFAULT_CHAIN",
    "DEFAULT_SOLVER",
    "EXACT_BACKENDS",
    "INFEASIBLE_STATUSES",
    "SOLVER_OPTIONS",
    "Backend",
    "CvxpyBackend",
    "SolveInfo",
    "backend_named",
    "check_solver",
    "installed_solvers",
    "solve_declared",
    "solve_once",
]
