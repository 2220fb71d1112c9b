"""The NEWTON_QP backend: Newton's method on the log-barrier risk budget under constraint rows,
each step a QP (an SOCP for a norm row) over the rows, never an exponential cone.

    minimize f(y) = 0.5 y' S y - b' log(y)   over y > 0 and the rows C

(C: the constraint objects' rows, written homogeneous in sum(y), so a convex cone). Clarabel
on the declared exponential-cone form fails on feasible problems, and no scaling cures it:
8 assets, 300 synthetic daily rows, 7 limits least + f (free - least) for f from 0.02 to 1.1
(least: the long-only minimum, free: the value at the unconstrained risk budget), covariance c
times the one in the returns' units, Clarabel at a 1e-12 gap and 1e-10 feasibility:

    c        semi-deviation   MAD   CVaR
    0.01          3/7          6/7   7/7
    1             3/7          5/7   7/7
    10            4/7          7/7   7/7     (the allocator's RETURN_ROW_SCALE)
    100           7/7          7/7   7/7
    1e4           5/7          7/7   0/7

The failures are InsufficientProgress a few iterations in (step 0 on the exponential cones),
so the answer depends on rounding-level changes; the smooth objective is not what is hard.
(The issue's 0.8 x free cases are below the long-only minimum: truly infeasible.) On
``benchmarks/bench_risk_budget_limits.py`` (18 limits per measure) the exponential-cone form
solves 5 semi-deviation, 3 semi-deviation-below-0, 16 CDaR, 17 worst-loss limits; this
backend all 18 of every measure.
This backend keeps the rows exact and models only the barrier: at the iterate y_k,

    y+ = argmin 0.5 y' (S + diag(b / y_k^2)) y - (2 b / y_k)' y   over y in C, y >= y_k / 10

is the Newton step of f restricted to C (the second-order model of -b' log y at y_k). It is
a QP (plus the rows' own second-order cones), which Clarabel solves to 1e-12 in a few
milliseconds; f(y_k + t (y+ - y_k)) with Armijo backtracking stays in C (convex) and y > 0
(the floor). f is self-concordant, so from a feasible start the steps converge to the KKT point
of the barrier problem, quadratically at the end (3-5 steps on the grid above). The first step
is taken from the unconstrained answer y0 (NEWTON), or from the last answer of the same problem
(a rolling window: ``info.warm_start``), outside C where a limit binds, and taken whole: its
answer is a point of C with y >= FLOOR x that point > 0, the start (a slack limit ends
there).
Where C holds no such point, phase I: max t over y in C, sum(y) = 1, y >= t w0 (w0 = y0 /
sum(y0)); no point with t > 0 means no weights all > 0 meet the rows, and the problem's
diagnosis names the conflict (the least value of each limit, solved as its own LP/SOCP;
``ParametrizedProblem.solve``).

The rows' second-order cones (standard deviation, semi-deviation) can end AlmostSolved at
Clarabel's 1e-10 feasibility (its residual rises once the gap is below 1e-10): such a step is
kept and the answer is checked instead, the rows' largest violation relative to their scale
within ``ROW_TOLERANCE``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import cvxpy as cp
import numpy as np

from cvxport.errors import InfeasibleError, SolverError
from cvxport.solvers.backend import Backend
from cvxport.solvers.covariance_operator import as_operator
from cvxport.solvers.declared import LogBarrierObjective
from cvxport.solvers.newton import newton_risk_budget
from cvxport.solvers.options import SOLVER_OPTIONS
from cvxport.solvers.result import SolveInfo

if TYPE_CHECKING:
    from cvxport.problem import ParametrizedProblem

NAME = "NEWTON_QP"
#: a step may shrink a weight to this share of its value at most: the quadratic model of
#: -log(y) is poor far below y_k (it stays finite at 0); inactive near the answer
FLOOR = 0.1
#: stop at a Newton decrement (y+ - y_k)' H (y+ - y_k) below this (f within half of it)...
DECREMENT_TOLERANCE = 1e-12
#: ...or, below this one, where the steps stop shrinking (the QP solver's own accuracy)
STALL_DECREMENT = 1e-9
MAX_STEPS = 50
#: smallest phase-I t (weights >= t w0 > 0) taken as an interior point
INTERIOR = 1e-9
#: largest violation of a row accepted at the answer, relative to sum(y) (the rows are
#: homogeneous in it: a limit's slack is in units of its value times sum(y))
ROW_TOLERANCE = 1e-8
#: Clarabel's settings for the QPs, tried in turn while it fails outright: the tight gap of
#: the barrier problem with a deeper iterative refinement first, then variants. On rows with a
#: large second-order cone (semi-deviation, T + 1 entries) its primal residual can grow once
#: the gap is below 1e-10 (NumericalError); which setting meets it varies at rounding level
#: (the 36 semi-deviation limits of benchmarks/bench_risk_budget_limits.py: the first setting
#: alone left 4 failing, each met by a later one; ECOS last). Every answer is checked below.
_REFINE = {
    "iterative_refinement_reltol": 1e-15,
    "iterative_refinement_abstol": 1e-15,
    "iterative_refinement_max_iter": 50,
}
_TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-10}
SETTINGS = (
    {**_TIGHT, **_REFINE},
    {**_TIGHT, "tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, **_REFINE},
    {**_TIGHT, "equilibrate_enable": False, **_REFINE},
    {**_TIGHT, "max_step_fraction": 0.9, **_REFINE},
    {"solver": "ECOS", **SOLVER_OPTIONS["ECOS"]},
)
ACCEPTED = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)


def solve_qp(problem: cp.Problem, what: str) -> str:
    """Solve one of the backend's problems along ``SETTINGS`` (Clarabel's, then ECOS); return
    its status (SolverError when every setting fails outright)."""
    failures = []
    for options in SETTINGS:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning)
                warnings.filterwarnings("ignore", category=RuntimeWarning)
                problem.solve(**{"solver": "CLARABEL", **options})
        except cp.error.SolverError as exc:
            failures.append(str(exc))
            continue
        return problem.status
    raise SolverError(
        f"{NAME}: the {what} failed with each of {len(SETTINGS)} settings (Clarabel's, then "
        f"ECOS; last: {failures[-1]})",
        solver=NAME,
    )


def armijo_step(f, gradient: np.ndarray, y: np.ndarray, step: np.ndarray) -> float | None:
    """The largest t in 1, 1/2, 1/4... with f(y + t step) <= f(y) + t slope / 4, or None
    below 1e-10."""
    slope, current, t = float(gradient @ step), f(y), 1.0
    while f(y + t * step) > current + 0.25 * t * slope:
        t *= 0.5
        if t < 1e-10:
            return None
    return t


class StepProblems:
    """The phase-I and Newton-step problems over the problem's own variable and rows, built
    once per declared problem (their Parameters updated at every step)."""

    def __init__(self, problem: ParametrizedProblem) -> None:
        y = problem.formulation.variable
        n = y.shape[0]
        rows = list(problem.rows)
        self.row_parameters = {p.id for row in rows for p in row.parameters()}
        self.rows = rows
        self.start = cp.Parameter(n, nonneg=True, name="newton_qp_start")
        self.t = cp.Variable(name="newton_qp_interior")
        self.phase_one = cp.Problem(
            cp.Maximize(self.t), [*rows, cp.sum(y) == 1, y >= self.t * self.start, self.t <= 1]
        )
        self.linear = cp.Parameter(n, name="newton_qp_linear")
        self.floor = cp.Parameter(n, nonneg=True, name="newton_qp_floor")
        self.width = problem.formulation.factor_width
        if self.width is None:
            self.hessian = cp.Parameter((n, n), name="newton_qp_hessian")
            quadratic = cp.quad_form(y, cp.psd_wrap(self.hessian))
        else:  # S + diag(h) = G G' + diag(d + h): the factor form, never n x n
            self.root = cp.Parameter((n, self.width), name="newton_qp_root")
            self.specific = cp.Parameter(n, nonneg=True, name="newton_qp_specific")
            quadratic = cp.sum_squares(self.root.T @ y) + cp.sum_squares(
                cp.multiply(self.specific, y)
            )
        objective = cp.Minimize(0.5 * quadratic - self.linear @ y)
        self.step = cp.Problem(objective, [*rows, y >= self.floor])
        self.variable = y

    def set_model(self, covariance: Any, shift: np.ndarray) -> None:
        """The quadratic of the step: S + diag(shift)."""
        if self.width is None:
            hessian = np.array(covariance, dtype=float)
            hessian[np.diag_indices_from(hessian)] += shift
            self.hessian.value = hessian
            return
        root = np.zeros((len(shift), self.width))
        root[:, : covariance.n_factors] = covariance.exposure_root
        self.root.value = root
        self.specific.value = np.sqrt(covariance.specific_variances + shift)

    def row_violation(self, scale: float) -> float:
        """Largest violation of the rows at the variables' values, relative to ``scale``."""
        worst = 0.0
        for row in self.rows:
            violation = np.asarray(row.violation(), dtype=float)
            if violation.size:
                worst = max(worst, float(np.max(violation)))
        return worst / max(scale, 1.0)


class NewtonQpBackend(Backend):
    """Newton's method with exact rows on the declared log-barrier problem (see module)."""

    name = NAME

    def refusal(self, problem: ParametrizedProblem) -> str | None:
        """Why the problem is not the log-barrier risk budget, or None."""
        if not isinstance(problem.formulation.declared, LogBarrierObjective):
            return "the objective is not the declared log-barrier risk budget"
        return None

    def default_refusal(self, problem: ParametrizedProblem) -> str | None:
        """Rows over the weights alone (bounds, groups): Clarabel's exponential-cone form
        solves those reliably and 2-3x faster (``benchmarks/bench_risk_budget_limits.py``)."""
        if not problem.data_fields:
            return "no row reads the window's data: Clarabel's exponential-cone form is faster"
        return None

    def solve(
        self, problem: ParametrizedProblem, values: Mapping[str, Any]
    ) -> tuple[np.ndarray, float, SolveInfo]:
        """Return (y, sum(y), info) at the barrier problem's KKT point under the rows.

        Raises:
            InfeasibleError: phase I finds no weights all > 0 that meet the rows (the
                problem's diagnosis then names the conflict).
            SolverError: a QP failed, or the steps did not converge.
        """
        start_time = time.perf_counter()
        state = problem.backend_state.setdefault(NAME, {})
        if "problems" not in state:
            state["problems"] = StepProblems(problem)
        qp: StepProblems = state["problems"]
        problem.assign_deferred(qp.row_parameters)  # rows reading the method's values
        declared: LogBarrierObjective = problem.formulation.declared
        covariance = values[declared.covariance]
        budget = np.asarray(values[declared.budget], dtype=float)
        op = as_operator(covariance)
        last = state.get("last")
        warm = last is not None and last.shape == budget.shape
        # the first step starts at the last answer (a rolling window's neighbour) or at the
        # unconstrained one, possibly outside the rows (below)
        y = last / np.sqrt(op.variance(last)) if warm else newton_risk_budget(covariance, budget)[0]
        feasible = False

        def f(v: np.ndarray) -> float:
            return 0.5 * op.variance(v) - float(budget @ np.log(v))

        decrements: list[float] = []
        solves = 0
        for _ in range(MAX_STEPS):
            shift = budget / y**2
            qp.set_model(covariance, shift)
            qp.linear.value = 2 * budget / y
            qp.floor.value = FLOOR * y
            status = solve_qp(qp.step, "Newton step")
            solves += 1
            if not feasible and status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
                # the rows leave no point >= FLOOR x the start: start from phase I
                free, _ = newton_risk_budget(covariance, budget)
                y = self.phase_one(qp, free / free.sum())
                y /= np.sqrt(op.variance(y))  # the barrier's optimum on the ray of y
                feasible, solves = True, solves + 1
                continue
            if status not in ACCEPTED:
                raise SolverError(f"{NAME}: the Newton step's QP ended {status!r}", solver=NAME)
            target = np.asarray(qp.variable.value, dtype=float)
            step = target - y
            decrement = float(step @ (op.matvec(step) + shift * step))
            if not feasible:
                # from outside the rows (where a limit binds) the step's answer is a point of
                # the rows with every y >= FLOOR x the start > 0: the start, taken whole
                y, feasible = target, True
                if decrement > DECREMENT_TOLERANCE:
                    continue
            decrements.append(decrement)
            stalled = (
                len(decrements) > 2
                and decrement <= STALL_DECREMENT
                and decrement > 0.25 * decrements[-2]
            )
            if decrement <= DECREMENT_TOLERANCE or stalled:
                y = target  # the QP's answer: its rows hold at the solver's accuracy
                break
            t = armijo_step(f, op.matvec(y) - budget / y, y, step)
            if t is None and decrement <= STALL_DECREMENT:
                y = target  # no descent left at the QP solver's accuracy
                break
            if t is None:
                raise SolverError(f"{NAME}: no descent along the Newton step", solver=NAME)
            y = y + t * step
        else:
            raise SolverError(
                f"{NAME}: no convergence in {MAX_STEPS} steps (last decrement "
                f"{decrements[-1] if decrements else float('nan'):.3g})",
                solver=NAME,
            )
        violation = qp.row_violation(float(y.sum()))
        if violation > ROW_TOLERANCE:
            raise SolverError(
                f"{NAME}: the answer leaves a row by {violation:.3g} (relative)", solver=NAME
            )
        state["last"] = y
        elapsed = time.perf_counter() - start_time
        info = SolveInfo(
            solver=NAME,
            status="optimal",
            solve_time=elapsed,
            total_time=elapsed,
            iterations=solves,
            objective=f(y),
            kkt_residual=max(violation, decrements[-1]),
            warm_start=warm,
        )
        return y, float(y.sum()), info

    @staticmethod
    def phase_one(qp: StepProblems, start: np.ndarray) -> np.ndarray:
        """Return a point of the rows with every y > 0 (sum 1), as close to ``start`` as the
        rows allow along max t: y >= t start; InfeasibleError when there is none."""
        qp.start.value = start
        status = solve_qp(qp.phase_one, "phase I")
        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise InfeasibleError(f"{NAME}: no weights meet the constraint rows (phase I)")
        if status not in ACCEPTED:
            raise SolverError(f"{NAME}: phase I ended {status!r}", solver=NAME)
        t = float(qp.t.value)
        if t < INTERIOR:
            raise InfeasibleError(
                f"{NAME}: the rows leave no weights all > 0 (phase I: the largest t with "
                f"weights >= t x the unconstrained risk budget is {t:.3g})"
            )
        y = np.asarray(qp.variable.value, dtype=float)
        return np.maximum(y, t * start)  # the solver's rounding below the floor
