"""Run one allocation with several solvers and tabulate how their answers differ."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cvxport.allocators.base import Allocator
from cvxport.errors import CvxportError, InvalidInputError, UnsupportedProblemError
from cvxport.solvers import EXACT_BACKENDS, installed_solvers


def compare_solvers(
    allocator: Allocator,
    returns: pd.DataFrame,
    solvers: Sequence[str] | None = None,
    **data: Any,
) -> pd.DataFrame:
    """Allocate with each solver and compare.

    Args:
        allocator: any convex allocator (copied, so its cache and ``info_`` stay untouched).
        returns: (T, n) simple periodic returns.
        solvers: a name or names to try; by default the exact backends (``EXACT_BACKENDS``) and
            every installed solver of the options table. A backend that does not accept the
            problem gets status 'not applicable' and the reason in ``error``.
        **data: allocation data (``risk_budget``, ``market_caps``, ``previous_weights``).

    Returns:
        One row per solver: status ('error' when it failed, the message in ``error``),
        objective (of the scaled problem), time in seconds (the whole allocation, build
        included), iterations, ``kkt_residual`` (the exact backends' largest KKT violation,
        NaN for cvxpy's solvers), and ``max_weight_diff``: the largest absolute weight
        difference from the answer with the lowest objective among the optimal ones
        (fractions of NAV). Solvers that fail get NaN figures.
    """
    if not isinstance(allocator, Allocator):
        raise InvalidInputError(
            f"compare_solvers needs an allocator object (e.g. MinimumVarianceAllocator()), "
            f"got {allocator!r}"
        )
    if isinstance(solvers, str):
        solvers = [solvers]
    names = (
        [*EXACT_BACKENDS, *installed_solvers()]
        if solvers is None
        else list(solvers)
        if isinstance(solvers, Iterable)
        else []
    )
    if not names or not all(isinstance(name, str) and name for name in names):
        raise InvalidInputError(
            f"compare_solvers: solvers must be solver names such as ['ACTIVE_SET', 'OSQP'], "
            f"got {solvers!r}"
        )
    rows, answers = [], {}
    for solver in names:
        trial = copy.deepcopy(allocator)
        trial._problems = {}
        start = time.perf_counter()
        try:
            weights = trial.allocate(returns, solver=solver, **data)
        except UnsupportedProblemError as exc:
            rows.append({"solver": solver, "status": "not applicable", "error": str(exc)})
            continue
        except CvxportError as exc:
            rows.append({"solver": solver, "status": "error", "error": str(exc)})
            continue
        info = trial.info_
        answers[solver] = weights
        rows.append(
            {
                "solver": solver,
                "status": info.status if info else "closed form",
                "objective": info.objective if info else np.nan,
                "time": time.perf_counter() - start,
                "iterations": info.iterations if info else np.nan,
                "kkt_residual": np.nan
                if info is None or info.kkt_residual is None
                else (info.kkt_residual),
                "error": "",
            }
        )
    table = pd.DataFrame(rows).set_index("solver")
    if answers:
        objectives = table["objective"].reindex(list(answers)).fillna(np.inf)
        reference = answers[objectives.idxmin()]
        table["max_weight_diff"] = pd.Series(
            {name: float(np.max(np.abs(w - reference))) for name, w in answers.items()}
        )
    return table
