"""compare_solvers as a user calls it: one solver name or a list, an allocator, the record of
every backend side by side (status, objective, iterations and the KKT residual where exact)."""

from __future__ import annotations

import pytest

import cvxport as cx
from cvxport.analysis.mean_risk_frontier import mean_risk_frontier

BOUNDS = cx.WeightBounds(0.0, 0.3)


def test_one_solver_name_is_one_row_not_its_letters(crypto_2021):
    table = cx.compare_solvers(
        cx.MinimumVarianceAllocator(constraints=[BOUNDS]), crypto_2021, "OSQP"
    )
    assert list(table.index) == ["OSQP"]  # before: rows 'O', 'S', 'Q', 'P', all errors
    assert table.loc["OSQP", "status"] == "optimal"


@pytest.mark.parametrize("bad", ["minimum_variance", None, cx.MinimumVarianceAllocator])
def test_something_else_than_an_allocator_is_named(crypto_2021, bad):
    with pytest.raises(cx.InvalidInputError, match="compare_solvers"):
        cx.compare_solvers(bad, crypto_2021)  # before: a raw AttributeError


@pytest.mark.parametrize("bad", [[3], 3, 2.5])  # 3 alone: was a raw TypeError (not iterable)
def test_solvers_that_are_not_names_are_named(crypto_2021, bad):
    with pytest.raises(cx.InvalidInputError, match="solvers"):
        cx.compare_solvers(cx.MinimumVarianceAllocator(), crypto_2021, solvers=bad)


def test_the_table_shows_the_exact_backends_kkt_residual(crypto_2021):
    allocator = cx.MinimumVarianceAllocator(constraints=[BOUNDS])
    table = cx.compare_solvers(allocator, crypto_2021, ["ACTIVE_SET", "CLARABEL"])
    assert table.loc["ACTIVE_SET", "kkt_residual"] <= 1e-9
    assert table["kkt_residual"].isna()["CLARABEL"]  # cvxpy's solvers report none


@pytest.mark.parametrize("argument", ["objective", "target_return", "risk_aversion"])
def test_the_mean_risk_frontier_names_arguments_it_sets_itself(crypto_2021, argument):
    with pytest.raises(cx.InvalidInputError, match=argument):
        mean_risk_frontier(crypto_2021, "cvar", 3, **{argument: 0.5})  # before: a TypeError
