"""The result record every backend returns, kept on the allocator as ``info_``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SolveInfo:
    """What one solve did, kept on the allocator as ``info_`` for inspection.

    Times are seconds. ``max_bound_violation`` and ``sum_error`` are in weight units
    (fractions of NAV); ``fallback_from`` lists (backend, reason) of backends that failed
    before ``solver`` answered. ``objective`` is the declared problem's objective (scaled
    data); ``kkt_residual`` is the exact backends' largest KKT violation (primal in weight
    units, dual relative to the multipliers), None for cvxpy solvers. ``warm_start``: whether
    a backend that keeps a basis (HIGHS_LP) started from the last one, None for the others.
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
    kkt_residual: float | None = None
    warm_start: bool | None = None


def exact_info(
    solver: str,
    seconds: float,
    iterations: int,
    objective: float,
    kkt_residual: float | None = None,
) -> SolveInfo:
    """The record of an exact backend's optimal solve (its time is both solve and total)."""
    return SolveInfo(
        solver=solver,
        status="optimal",
        solve_time=seconds,
        total_time=seconds,
        iterations=iterations,
        objective=objective,
        kkt_residual=kkt_residual,
    )
