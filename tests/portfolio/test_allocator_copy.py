"""An allocator that has solved can be copied and pickled (a sweep or a user's deepcopy), and
the copy allocates the same weights: the built problems, which hold solver objects that cannot
be pickled, stay behind and are rebuilt."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest

import cvxport as cx
from cvxport.allocators.registry import allocator_class

RNG = np.random.default_rng(7)
RETURNS = pd.DataFrame(
    RNG.normal(0.001, 0.02, (250, 6)),
    index=pd.date_range("2024-01-01", periods=250, freq="D"),
    columns=[f"A{i}" for i in range(6)],
)


def _copies(allocator):
    return [copy.deepcopy(allocator), pickle.loads(pickle.dumps(allocator))]


@pytest.mark.parametrize("solver", [None, "CLARABEL"])
@pytest.mark.parametrize(
    "method", ["minimum_variance", "maximum_sharpe", "risk_parity", "inverse_volatility", "hrp"]
)
def test_solved_allocator_copies_and_pickles(method, solver):
    cls = allocator_class(method)
    allocator = cls(solver=solver) if "solver" in cls.config_arguments else cls()
    weights = allocator.allocate(RETURNS)
    for clone in _copies(allocator):
        assert clone._problems == {}
        # atol 1e-9: a rebuilt cvxpy problem is solved cold, the original warm
        np.testing.assert_allclose(
            clone.allocate(RETURNS).to_numpy(), weights.to_numpy(), atol=1e-9
        )
    assert allocator._problems or solver is None or method in ("inverse_volatility", "hrp")


def test_mean_risk_cvar_on_highs_lp_copies():
    allocator = cx.MeanRiskAllocator(risk=cx.CVaR(0.95))
    weights = allocator.allocate(RETURNS)
    assert allocator.info_.solver == "HIGHS_LP"
    for clone in _copies(allocator):
        np.testing.assert_allclose(
            clone.allocate(RETURNS).to_numpy(), weights.to_numpy(), atol=1e-9
        )
