"""The HIGHS_LP backend: HiGHS's dual simplex on a declared linear program, warm-started across
rolling windows.

It accepts a problem that cvxpy turns into a linear program: affine or piecewise-linear
objective and rows (CVaR, CDaR, mean absolute deviation, maximum return under such limits,
turnover and gross-exposure rows). The LP is cvxpy's own canonicalization of the
declared problem (``get_problem_data(cp.HIGHS)``: compiled once, its Parameters re-applied
at each solve) and the answer goes back through cvxpy's inversion (``unpack_results``), so it
is the declared problem that is solved, duals included. What this backend adds over
``solver="HIGHS"``: one HiGHS object kept per problem and the last optimal basis carried to
the next window, shifted with the scenarios when the window rolled (``rolling_basis``).

Measured on CDaR, T = 1,000 scenarios, one BLAS thread, HiGHS 1.16, windows 5 rows apart
(``benchmarks/README.md`` has the whole table): cold, the dual simplex took 0.3-0.45 s at
n = 100 and 2.1 s at n = 500 (3,033 iterations) where the IPM took 1.1 s and 8.6 s (5.8 s
without crossover, which leaves no basis to start from) and the primal simplex 6.3 s at
n = 100. From the shifted basis, with the weight bounds folded into column bounds
(``lp_fold``): 0-120 iterations on the benchmark's windows, 4-529 (0.1-0.34 s) on harder
ones at n = 1,000 where a cold solve takes 4,433.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cvxpy as cp
import numpy as np
from cvxpy.constraints.nonpos import Inequality, NonNeg, NonPos
from cvxpy.constraints.zero import Equality, Zero

from cvxport.constraints.window import PREFIX
from cvxport.errors import InfeasibleError, SolverError
from cvxport.solvers.backend import Backend
from cvxport.solvers.highs_quiet import quiet_highs
from cvxport.solvers.lp_fold import Fold, fold_rows, kept_offsets, unfold_duals, unfold_ray
from cvxport.solvers.options import ACCEPTED_STATUSES, INFEASIBLE_STATUSES
from cvxport.solvers.result import SolveInfo
from cvxport.solvers.rolling_basis import ScenarioLayout, scenario_layout, start_basis

if TYPE_CHECKING:
    from cvxport.problem import ParametrizedProblem

NAME = "HIGHS_LP"
#: HiGHS options of this backend (tested against the installed HiGHS): the dual simplex
#: (IPM measured 2.5-4x slower cold, and gives no basis to warm-start from without crossover)
HIGHS_LP_OPTIONS: dict[str, Any] = {
    "output_flag": False,
    "solver": "simplex",
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
}
#: window data whose rows are the scenarios, in the order their shift is looked for
SCENARIO_DATA = ("returns", "benchmark_returns")
_INEQUALITIES = (Inequality, NonPos, NonNeg)


class HighsLpBackend(Backend):
    """HiGHS dual simplex on declared LPs, one model and basis kept per problem."""

    name = NAME

    def refusal(self, problem: ParametrizedProblem) -> str | None:
        """Why ``problem`` is not a linear program this backend can take, or None."""
        state = problem.backend_state.setdefault(NAME, {})
        if "refusal" not in state:
            state["refusal"] = _refusal(problem.problem)
        return state["refusal"]

    def solve(
        self, problem: ParametrizedProblem, values: Mapping[str, Any]
    ) -> tuple[np.ndarray, float, SolveInfo]:
        """Solve the declared LP, from the last basis (shifted with the window) when there is
        one; a warm start that does not end optimal is retried cold once."""
        import highspy

        start = time.perf_counter()
        state = problem.backend_state[NAME]
        problem.assign_deferred()
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning)
                data, chain, inverse = problem.problem.get_problem_data(cp.HIGHS)
        except (cp.error.SolverError, cp.error.DCPError) as exc:
            raise SolverError(f"{NAME}: cvxpy gives no LP for HiGHS: {exc}", solver=NAME) from exc
        if "highs" not in state:
            variable = problem.formulation.variable
            layout = scenario_layout(inverse, variable.id, problem.context.n_periods)
            state["highs"] = _new_highs(highspy, problem.formulation.solver_options.get(NAME))
            state["layout"] = layout
        highs = state["highs"]
        lp, fold = _lp(data)
        if state.get("kept") is None or not np.array_equal(state["kept"], fold.kept):
            state.pop("basis", None)  # other rows folded: the last basis is of another LP
        state["kept"] = fold.kept
        layout = state["layout"]
        layout = ScenarioLayout(
            layout.periods, layout.columns, kept_offsets(fold, layout.rows, layout.periods)
        )
        scenarios = _scenario_data(problem)
        basis = start_basis(highspy, state, lp, scenarios, layout)
        results = _run(highspy, highs, lp, basis, fold)
        warm = basis is not None
        if warm and results["model_status"] != "kOptimal":  # a start that misled: once cold
            results = _run(highspy, highs, lp, None, fold)
            warm = False
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning)
                problem.problem.unpack_results(results, chain, inverse)
        except cp.error.SolverError as exc:
            state.pop("basis", None)
            raise SolverError(f"{NAME} failed: {exc}", solver=NAME) from exc
        status = problem.problem.status
        if status in INFEASIBLE_STATUSES:
            state.pop("basis", None)
            raise InfeasibleError(f"solver {NAME} reports the problem {status}")
        if status not in ACCEPTED_STATUSES:
            state.pop("basis", None)
            raise SolverError(f"solver {NAME} stopped with status {status!r}", NAME, status)
        state["basis"] = (results["basis"], lp.shape)
        state["scenarios"] = scenarios
        info = SolveInfo(
            solver=NAME,
            status=status,
            solve_time=float(results["run_time"]),
            total_time=time.perf_counter() - start,
            iterations=problem.problem.solver_stats.num_iters,
            objective=float(problem.problem.value),
            is_dpp=True,
            warm_start=warm,
            kkt_residual=_kkt_residual(results["info"]),
        )
        variable = np.asarray(problem.formulation.variable.value, dtype=float)
        scale = problem.formulation.scale
        scale_value = float(scale.value) if hasattr(scale, "value") else float(scale)
        return variable, scale_value, info


def _refusal(problem: cp.Problem) -> str | None:
    """None when cvxpy turns ``problem`` into an LP: a piecewise-linear convex objective and
    rows (affine equalities; inequalities of piecewise-linear terms: abs, max, norm1...)."""
    try:
        import highspy  # noqa: F401
    except ImportError:
        return "highspy is not installed (pip install 'cvxport[lp]')"
    if not problem.is_dcp(dpp=True):
        return "the problem is not DPP (its Parameters would be re-canonicalized each solve)"
    if not problem.objective.args[0].is_pwl():
        return "the objective is not linear (nor piecewise linear)"
    for row in problem.constraints:
        if isinstance(row, (Equality, Zero)):
            linear = all(a.is_affine() for a in row.args)
        else:
            linear = isinstance(row, _INEQUALITIES) and row.expr.is_pwl()
        if not linear:
            return f"the row {row} is not a linear (or piecewise-linear) equality or inequality"
    if any(v.attributes.get("boolean") or v.attributes.get("integer") for v in problem.variables()):
        return "the problem has integer variables"
    return None


def _kkt_residual(info) -> float | None:
    """HiGHS's largest primal infeasibility, dual infeasibility (reduced cost of the wrong
    sign) and complementarity violation of the answer, on the unscaled LP (None when HiGHS
    computed none of them)."""
    figures = [
        info.max_primal_infeasibility,
        info.max_dual_infeasibility,
        getattr(info, "max_complementarity_violation", 0.0),
    ]
    valid = [float(f) for f in figures if f is not None and np.isfinite(f) and f >= 0]
    return max(valid) if valid else None


def _new_highs(highspy, overrides: dict | None):
    highs = quiet_highs(highspy)
    for key, value in {**HIGHS_LP_OPTIONS, **(overrides or {})}.items():
        if highs.setOptionValue(key, value) == highspy.HighsStatus.kError:
            raise SolverError(f"{NAME}: HiGHS refuses the option {key}={value!r}", solver=NAME)
    return highs


@dataclass(frozen=True)
class _Lp:
    """cvxpy's conic data as HiGHS's rows: lower <= A x <= upper, column bounds."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix: Any  # scipy CSC

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape


def _lp(data: dict) -> tuple[_Lp, Fold]:
    """The LP of cvxpy's conic data (A x + s = b, s in {0}^eq x R+^ineq), its rows of one
    entry folded into column bounds (``lp_fold``)."""
    cost = np.asarray(data[cp.settings.C], dtype=float)
    matrix = data[cp.settings.A].tocsr()
    b = np.asarray(data[cp.settings.B], dtype=float)
    equalities = data[cp.settings.DIMS].zero
    lower, upper = data.get(cp.settings.LOWER_BOUNDS), data.get(cp.settings.UPPER_BOUNDS)
    row_lower = np.r_[b[:equalities], np.full(len(b) - equalities, -np.inf)]
    fold, col_lower, col_upper = fold_rows(
        matrix,
        row_lower,
        b,
        np.full(len(cost), -np.inf) if lower is None else np.asarray(lower, float),
        np.full(len(cost), np.inf) if upper is None else np.asarray(upper, float),
    )
    kept = fold.kept
    lp = _Lp(cost, col_lower, col_upper, row_lower[kept], b[kept], matrix[kept].tocsc())
    return lp, fold


def _pass(highspy, highs, lp: _Lp) -> None:
    """Give ``lp`` to the kept HiGHS object (arrays passed as buffers: 15-25 ms where
    building a ``HighsLp`` field by field took 90 ms at n = 500, T = 1,000)."""
    rows, columns = lp.shape
    matrix = lp.matrix
    status = highs.passModel(
        columns,
        rows,
        matrix.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        lp.cost,
        lp.col_lower,
        lp.col_upper,
        lp.row_lower,
        lp.row_upper,
        matrix.indptr.astype(np.int32),
        matrix.indices.astype(np.int32),
        np.asarray(matrix.data, dtype=float),
        np.zeros(columns, dtype=np.int32),  # every column continuous (empty: read as garbage)
    )
    if status == highspy.HighsStatus.kError:
        raise SolverError(f"{NAME}: HiGHS refused the canonical LP", solver=NAME)


def _scenario_data(problem: ParametrizedProblem) -> np.ndarray | None:
    """The window's scenario rows (returns, then benchmark returns) as one (T, k) array."""
    parts = [
        np.asarray(problem.parameters[PREFIX + name].value, dtype=float).reshape(
            problem.context.n_periods, -1
        )
        for name in SCENARIO_DATA
        if name in problem.data_fields
    ]
    return np.hstack(parts) if parts else None


def _run(highspy, highs, lp: _Lp, basis, fold: Fold) -> dict:
    """Pass the LP to the kept HiGHS object, set the starting basis, run; cvxpy's HiGHS
    result dict over the canonical rows (the folded ones' duals restored), so that cvxpy's
    own inversion reads it ("run_time": seconds in HiGHS).

    HiGHS's own pricing (dual steepest edge, its weights computed from the given basis): with
    the bound rows folded it took 153-529 iterations and 0.15-0.34 s on the hard windows of
    CDaR at n = 1,000 where Devex took 443-1,956 and 0.38-0.99 s (on easy ones, a few
    iterations, Devex saved 10-30 ms); with the bound rows kept, the weights' computation
    cost 0.5 s at n = 500, which Devex avoided."""
    start = time.perf_counter()
    _pass(highspy, highs, lp)
    if basis is not None:
        highs.setBasis(basis)  # a basis HiGHS finds inconsistent is dropped: a cold start
    highs.run()
    solution = highs.getSolution()
    row_dual = np.asarray(solution.row_dual, dtype=float)
    col_dual = np.asarray(solution.col_dual, dtype=float)
    results = {
        "solution": _Solution(
            np.asarray(solution.col_value, dtype=float), unfold_duals(fold, row_dual, col_dual)
        ),
        "basis": highs.getBasis(),
        "info": highs.getInfo(),
        "model_status": highs.getModelStatus().name,
        "run_time": time.perf_counter() - start,
    }
    if results["model_status"] == "kInfeasible":
        status, has_ray, ray = highs.getDualRay()
        ray = np.asarray(ray, dtype=float)
        full = unfold_ray(fold, ray) if len(ray) == len(fold.kept) else np.zeros(fold.rows)
        results["dual_ray"] = (status, has_ray, full)
    return results


@dataclass(frozen=True)
class _Solution:
    """What cvxpy's HiGHS inversion reads of a solution, over the canonical LP."""

    col_value: np.ndarray
    row_dual: np.ndarray
