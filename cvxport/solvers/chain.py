"""Which backends solve a declared problem, in which order, and the one fallback contract.

``solver=None`` walks ``DEFAULT_CHAIN``: the exact backends that accept the problem, the
problem's own ``preferred`` cvxpy solvers where installed, then Clarabel; backends that refuse
(or decline it by default, ``Backend.default_refusal``) are skipped silently. A named solver
or backend is tried first and must accept the problem (``UnsupportedProblemError`` names why
not); the allocator's ``fallback`` names follow. ``InfeasibleError`` ends the walk; a
``SolverError`` is recorded in ``info.fallback_from`` and the next backend tries.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cvxport.errors import SolverError, UnsupportedProblemError
from cvxport.solvers.active_set_backend import ActiveSetBackend
from cvxport.solvers.backend import Backend, CvxpyBackend
from cvxport.solvers.highs_lp import HighsLpBackend
from cvxport.solvers.newton import NewtonBackend
from cvxport.solvers.newton_qp import NewtonQpBackend
from cvxport.solvers.options import DEFAULT_SOLVER, check_solver, installed_solvers
from cvxport.solvers.result import SolveInfo
from cvxport.solvers.tracking_backend import TrackingBackend

if TYPE_CHECKING:
    from cvxport.problem import ParametrizedProblem

#: HIGHS_LP: declared LPs (CVaR, CDaR), warm-started across rolling windows (``highs_lp``)
#: NEWTON_QP: the log-barrier risk budget under constraint rows (``newton_qp``)
DEFAULT_CHAIN = (
    "ACTIVE_SET",
    "NEWTON",
    "NEWTON_QP",
    "HIGHS_LP",
    "ACTIVE_SET_TE",
    DEFAULT_SOLVER,
)


@functools.cache
def backend_named(name: str) -> Backend:
    """Return the backend called ``name`` (a cvxpy solver or an exact backend)."""
    name = check_solver(name)
    if name == "ACTIVE_SET":
        return ActiveSetBackend()
    if name == "NEWTON":
        return NewtonBackend()
    if name == "NEWTON_QP":
        return NewtonQpBackend()
    if name == "HIGHS_LP":
        return HighsLpBackend()
    if name == "ACTIVE_SET_TE":
        return TrackingBackend()
    return CvxpyBackend(name)


def solve_declared(
    problem: ParametrizedProblem,
    values: Mapping[str, Any],
    solver: str | None,
    fallback: Sequence[str] = (),
) -> tuple[np.ndarray, SolveInfo]:
    """Solve ``problem`` (Parameters set) along the chain; return (weights (n,), info).

    Raises:
        UnsupportedProblemError: the named backend does not accept this problem.
        InfeasibleError: a backend proved infeasibility.
        SolverError: every backend of the chain failed (each named in the message).
    """
    start = time.perf_counter()
    if solver is None:
        preferred = [n for n in problem.formulation.preferred if n in installed_solvers(True)]
        names = (*DEFAULT_CHAIN[:-1], *preferred, DEFAULT_CHAIN[-1], *fallback)
    else:
        names = (solver, *fallback)
    failures: list[tuple[str, str]] = []
    for position, name in enumerate(dict.fromkeys(names)):
        try:
            backend = backend_named(name)
        except SolverError as exc:
            failures.append((name, str(exc)))
            continue
        reason = backend.refusal(problem)
        if reason is None and solver is None:
            reason = backend.default_refusal(problem)
        if reason is not None:
            if solver is not None and position == 0:
                raise UnsupportedProblemError(
                    f"{backend.name} does not accept this problem: {reason}", solver=backend.name
                )
            if solver is not None:
                failures.append((backend.name, f"does not accept the problem: {reason}"))
            continue
        try:
            variable, scale, info = backend.solve(problem, values)
        except SolverError as exc:
            failures.append((backend.name, str(exc)))
            continue
        info.fallback_from = failures
        info.total_time = time.perf_counter() - start
        return variable / scale, info
    tried = "; ".join(f"{n}: {msg}" for n, msg in failures)
    last = failures[-1][0] if failures else None
    raise SolverError(f"every solver failed ({tried})", solver=last)
