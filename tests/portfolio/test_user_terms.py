"""A user's constraint or risk measure that fails is refused naming the object, never a raw
exception from its code or from cvxpy, and never solved as if it were not there."""

from __future__ import annotations

import re
from dataclasses import dataclass

import cvxpy as cp
import pytest

import cvxport as cx

METHODS = [cx.MinimumVarianceAllocator, cx.MaximumSharpeAllocator, cx.RiskParityAllocator]


@dataclass(frozen=True)
class TypoInBuild(cx.Constraint):
    """Reads a context attribute that does not exist (a typo)."""

    def build(self, ctx):
        return [ctx.benchmark >= 0]


@dataclass(frozen=True)
class MissingKey(cx.Constraint):
    """Looks up a table entry that is not there."""

    def build(self, ctx):
        return [ctx.weights[0] <= {"a": 0.1}["b"] * ctx.scale]


@dataclass(frozen=True)
class NoBuild(cx.Constraint):
    """Forgot to write build()."""


@dataclass(frozen=True)
class CapOfFirst(cx.Constraint):
    """weights[0] <= cap (fraction of NAV), homogeneous in the scale."""

    cap: float

    def build(self, ctx):
        return [ctx.weights[0] <= self.cap * ctx.scale]


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("term", [TypoInBuild(), MissingKey(), NoBuild()], ids=repr)
def test_an_exception_in_a_users_build_is_named(crypto_2021, method, term):
    with pytest.raises(cx.InvalidInputError, match=re.escape(repr(term))) as caught:
        method(constraints=[term]).allocate(crypto_2021)
    assert caught.value.__cause__ is not None  # the user's own error stays in the chain


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("cap", [float("nan"), float("inf"), -float("inf")])
def test_a_row_with_a_nan_or_infinite_number_is_named_not_solved(crypto_2021, method, cap):
    # before: a raw StopIteration or ValueError, or maximum Sharpe 'optimal' ignoring the row
    with pytest.raises(cx.InvalidInputError, match=r"CapOfFirst.*(nan|inf)"):
        method(constraints=[CapOfFirst(cap)]).allocate(crypto_2021)


@dataclass(frozen=True)
class BrokenMeasure(cx.RiskMeasure):
    """A measure whose code divides by zero (a window length it did not expect)."""

    def expression(self, ctx):
        return cp.norm1(ctx.weights) * (1 / (ctx.n_periods - ctx.n_periods)), []


@dataclass(frozen=True)
class NaNMeasure(cx.RiskMeasure):
    """A measure whose expression holds a NaN coefficient."""

    def expression(self, ctx):
        return float("nan") * cp.norm1(ctx.weights), []


@dataclass(frozen=True)
class UnwrittenMeasure(cx.RiskMeasure):
    """Forgot to write expression()."""


@pytest.mark.parametrize("measure", [BrokenMeasure(), NaNMeasure(), UnwrittenMeasure()], ids=repr)
def test_a_failing_user_measure_is_named_as_objective_and_as_limit(crypto_2021, measure):
    pattern = re.escape(repr(measure))
    with pytest.raises(cx.InvalidInputError, match=pattern):
        cx.MeanRiskAllocator(measure).allocate(crypto_2021)
    with pytest.raises(cx.InvalidInputError, match=pattern):
        cx.MinimumVarianceAllocator(constraints=[cx.RiskLimit(measure, 0.1)]).allocate(crypto_2021)
