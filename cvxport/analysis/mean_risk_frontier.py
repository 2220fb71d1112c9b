"""The mean-risk frontier over any risk measure, traced by one ``MeanRiskAllocator`` problem.

Each point is the minimum-risk portfolio for a target expected return (``min_risk`` with
``target_return``): the target only changes a Parameter, so the problem is built once.
Units: per-period fractions (expected returns, targets and the measure's own units).
For a target risk instead use ``MeanRiskAllocator(risk, "max_return", max_risk=...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cvxport.allocators.mean_risk import MeanRiskAllocator
from cvxport.constraints.base import Constraint
from cvxport.errors import InvalidInputError
from cvxport.risk.base import RiskMeasure

TOP_MARGIN = 1e-8
"""The last target sits this far (relative to the largest |mean|) below the highest return,
whose LP optimum carries solver error (as ``EfficientFrontier``)."""


def mean_risk_frontier(
    returns: pd.DataFrame,
    risk: RiskMeasure | str = "cvar",
    n_points: int = 20,
    constraints: Sequence[Constraint] | None = None,
    **allocator_arguments: Any,
) -> pd.DataFrame:
    """Trace the mean-risk frontier from the minimum-risk portfolio to the highest return.

    Args:
        returns: (T, n) simple periodic returns (fractions), columns are symbols.
        risk: a risk measure object or name ('cvar', 'cdar', 'mad', ...).
        n_points: evenly spaced target returns (>= 2).
        constraints: constraint objects (bounds, groups, risk limits...).
        **allocator_arguments: passed to ``MeanRiskAllocator`` (``expected_returns``,
            ``solver``, ``long_only``...).

    Returns:
        (n_points, 3 + n) DataFrame: ``target_return`` and ``expected_return`` (per period),
        ``risk`` (the measure's per-period units), then one column of weights per symbol.
    """
    own = sorted({"objective", "target_return", "risk_aversion"} & set(allocator_arguments))
    if own:
        raise InvalidInputError(
            f"mean_risk_frontier sets {own} itself (each point minimizes risk for a target "
            "return); pass the other MeanRiskAllocator arguments"
        )
    integer = isinstance(n_points, (int, np.integer)) and not isinstance(n_points, bool)
    if not integer or n_points < 2:
        raise InvalidInputError(f"n_points must be an integer >= 2, got {n_points!r}")
    lowest = MeanRiskAllocator(risk, "min_risk", constraints=constraints, **allocator_arguments)
    first = lowest.allocate(returns)
    highest = MeanRiskAllocator(
        risk, "utility", risk_aversion=0.0, constraints=constraints, **allocator_arguments
    )
    highest.allocate(returns)
    bottom = lowest.expected_return_
    scale = float(np.max(np.abs(returns.mean().to_numpy()))) or 1.0
    top = max(highest.expected_return_ - TOP_MARGIN * scale, bottom)
    tracer = MeanRiskAllocator(risk, "min_risk", constraints=constraints, **allocator_arguments)
    rows = [[bottom, bottom, lowest.risk_, *first.to_numpy()]]
    for target in np.linspace(bottom, top, int(n_points))[1:]:
        tracer.target_return = float(target)
        weights = tracer.allocate(returns)
        rows.append([target, tracer.expected_return_, tracer.risk_, *weights.to_numpy()])
    columns = ["target_return", "expected_return", "risk", *returns.columns]
    return pd.DataFrame(rows, columns=columns)
