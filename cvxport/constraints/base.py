"""The constraint protocol: small frozen objects adding rows to a problem over one weight variable.

A constraint owns no cvxpy objects. It receives a :class:`ProblemContext` holding the weight
variable, the homogenizing ``scale`` (1 in a plain problem, kappa under Charnes-Cooper,
``sum(y)`` in the log-barrier risk budget) and the problem's Parameters, and returns cvxpy
constraints written homogeneous in ``ctx.scale``. Write your own in a few lines::

    @dataclass(frozen=True)
    class AtLeastAsMuch(Constraint):
        \"\"\"Weight of ``first`` >= weight of ``second`` (fractions of NAV).\"\"\"
        first: str
        second: str

        def build(self, ctx):
            return [ctx.weight(self.first) >= ctx.weight(self.second)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from cvxport.constraints.window import PREFIX, WINDOW_FIELDS, field_shape
from cvxport.errors import InvalidInputError


@dataclass
class ProblemContext:
    """What a constraint sees of the problem it is added to.

    Attributes:
        weights: (n,) cvxpy variable or expression of (possibly scaled) weights.
        scale: homogenizing scalar: 1, a variable kappa >= 0, or ``sum(y)``.
        assets: the n symbols, in the order of ``weights``.
        parameters: named cvxpy Parameters of the problem, shared between constraints.
        n_periods: T, the rows of the returns window (the shape of ``returns``).
        factor_width: where the method's covariance is a factor model, the width of its
            factor Parameters (``covariance_terms`` is then in factor form); else None.
        data_scale: a constant c (a power of 2, about 1 / the returns' per-period standard
            deviation) at which homogeneous risk measures may be written, ``risk(c w) =
            c risk(w)``, so their rows are O(1) whatever the returns' units (``RiskLimit``);
            1.0 where the method sets none.

    The window's data (``returns``, ``mean``, ``covariance``, ``benchmark_weights``,
    ``benchmark_returns``, ``previous_weights``, ``prices``; see ``constraints.window``) are
    Parameters created on first use and filled before every solve.
    """

    weights: cp.Expression
    scale: cp.Expression | float
    assets: pd.Index
    parameters: dict[str, cp.Parameter] = field(default_factory=dict)
    n_periods: int = 0
    factor_width: int | None = None
    data_scale: float = 1.0

    def data(self, name: str) -> cp.Parameter:
        """Return the window data Parameter ``name`` (one of ``WINDOW_FIELDS``)."""
        if name not in WINDOW_FIELDS:
            raise InvalidInputError(f"unknown window data {name!r}; known: {list(WINDOW_FIELDS)}")
        shape = field_shape(name, self.n_assets, self.n_periods, self.factor_width)
        return self.parameter(PREFIX + name, shape)

    def at_data_scale(self) -> ProblemContext:
        """This context with weights and scale multiplied by ``data_scale`` (itself when it is
        1): a degree-1 measure built on it is ``data_scale`` times the measure. The same
        Parameters dict: the window's data are shared."""
        c = self.data_scale
        if c == 1.0:
            return self
        return replace(self, weights=c * self.weights, scale=c * self.scale, data_scale=1.0)

    def covariance_terms(self, x: cp.Expression | None = None) -> list[cp.Expression]:
        """Affine expressions whose squared norms sum to x' Sigma x (x: the weights by
        default), Sigma the method's covariance per period (data units): ``[F x]`` with
        F' F = Sigma (n x n) for an array, ``[G' x, sqrt(d) * x]`` for a factor model G G' +
        diag(d) (n k + n numbers, never n x n). DPP as long as x holds no Parameter."""
        x = self.weights if x is None else x
        if self.factor_width is None:
            return [self.data("covariance_factor") @ x]
        return [self.data("factor_root").T @ x, cp.multiply(self.data("specific_root"), x)]

    def active_covariance_terms(self, benchmark: np.ndarray | None) -> list[cp.Expression]:
        """``covariance_terms`` of the active weights y - scale * b: b the given (n,)
        ``benchmark`` (fractions of NAV), or None for the window's ``benchmark_weights``
        (through their precomputed images F b, or G' b and sqrt(d) b: DPP)."""
        if benchmark is not None:
            return self.covariance_terms(self.weights - self.scale * benchmark)
        if self.factor_width is None:
            image = self.data("benchmark_covariance_factor")
            return [self.covariance_terms()[0] - image * self.scale]
        images = (self.data("benchmark_factor_root"), self.data("benchmark_specific_root"))
        return [t - i * self.scale for t, i in zip(self.covariance_terms(), images, strict=True)]

    @property
    def returns(self) -> cp.Parameter:
        """(T, n) scenario returns of the window, per-period fractions."""
        return self.data("returns")

    @property
    def mean(self) -> cp.Parameter:
        """(n,) expected returns per period (the method's estimate where it has one)."""
        return self.data("mean")

    @property
    def covariance(self) -> cp.Parameter:
        """(n, n) covariance per period (the method's estimate where it has one)."""
        return self.data("covariance")

    @property
    def benchmark_weights(self) -> cp.Parameter:
        """(n,) benchmark weights, fractions of NAV (``benchmark_weights=`` at allocate)."""
        return self.data("benchmark_weights")

    @property
    def benchmark_returns(self) -> cp.Parameter:
        """(T,) benchmark returns on the window (``benchmark_returns=`` at allocate)."""
        return self.data("benchmark_returns")

    @property
    def previous_weights(self) -> cp.Parameter:
        """(n,) weights held before this allocation (``previous_weights=`` at allocate)."""
        return self.data("previous_weights")

    @property
    def prices(self) -> cp.Parameter:
        """(n,) prices in the quote currency (``prices=`` at allocate)."""
        return self.data("prices")

    @property
    def n_assets(self) -> int:
        """Number of assets n."""
        return len(self.assets)

    def index_of(self, symbol: str) -> int:
        """Return the position of ``symbol``; InvalidInputError naming it when unknown."""
        try:
            return int(self.assets.get_loc(symbol))
        except KeyError:
            raise InvalidInputError(
                f"symbol {symbol!r} is not in the universe {list(self.assets)}"
            ) from None

    def weight(self, symbol: str) -> cp.Expression:
        """Return the (scaled) weight expression of one symbol."""
        return self.weights[self.index_of(symbol)]

    def parameter(self, name: str, shape: tuple[int, ...] = ()) -> cp.Parameter:
        """Return the problem's Parameter ``name``, creating it on first use."""
        if name not in self.parameters:
            self.parameters[name] = cp.Parameter(shape, name=name)
        return self.parameters[name]


def as_vector(value: float | Mapping[str, float], assets: pd.Index, default: float, what: str):
    """Return a scalar or a per-symbol mapping as an (n,) array over ``assets``.

    Symbols missing from a mapping take ``default``; a symbol not in ``assets`` is an error
    naming it and ``what`` (the constraint's repr).
    """
    if not isinstance(value, Mapping):
        return np.full(len(assets), float(value))
    check_known_symbols(value, assets, what)
    return np.array([float(value.get(s, default)) for s in assets])


def check_known_symbols(symbols: Iterable[str], assets: pd.Index, what: str) -> None:
    """Raise InvalidInputError naming ``what`` and every one of ``symbols`` not in ``assets``."""
    known = set(assets)
    unknown = [s for s in symbols if s not in known]
    if unknown:
        raise InvalidInputError(f"{what} names symbols not in the universe: {unknown}")


def interval_rows(
    expression: cp.Expression, lower: float, upper: float, scale: Any
) -> list[cp.Constraint]:
    """Return ``lower * scale <= expression <= upper * scale``, leaving out an infinite side."""
    rows = []
    if np.isfinite(lower):
        rows.append(expression >= lower * scale)
    if np.isfinite(upper):
        rows.append(expression <= upper * scale)
    return rows


#: returns whose per-period standard deviation s has |log2 s| within this are written as they
#: are (data_scale 1: s from 1e-3 to 1e3 left HiGHS and Clarabel exact to 1e-9); scaling costs:
#: the rows R (c w) took cvxpy's canonicalization 5.8 -> 11 ms a re-solve (CVaR, n = 100)
DATA_SCALE_SLACK = 10


def power_of_two_scale(deviation: float) -> float:
    """1.0 for a per-period standard deviation within 2^``DATA_SCALE_SLACK`` of 1, else the
    2^k nearest 1 / ``deviation`` (multiplying by it is exact in floating point)."""
    if abs(math.log2(deviation)) <= DATA_SCALE_SLACK:
        return 1.0
    return 2.0 ** (-round(math.log2(deviation)))


def nonfinite_constant(item: cp.Expression | cp.Constraint) -> float | None:
    """Return a NaN or infinite number among the constants of a cvxpy expression or row, or
    None when every one is finite (a solver would fail on it, or an exact backend read the
    row as no row at all)."""
    for constant in item.constants():
        value = constant.value
        values = value.data if hasattr(value, "tocsr") else np.asarray(value, dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            return float(np.ravel(values)[np.argmax(np.ravel(bad))])
    return None


def freeze_mapping(value: Any) -> Any:
    """Return a mapping as a sorted tuple of items (hashable); scalars unchanged."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), float(v)) for k, v in value.items()))
    return value


def thaw_mapping(value: Any) -> Any:
    """Inverse of :func:`freeze_mapping`: a tuple of items back to a dict."""
    return dict(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Constraint:
    """Base class of every constraint object: frozen, hashable, plain values only."""

    def validate(self, assets: pd.Index) -> None:
        """Check the plain values against the universe; raise before any solve."""

    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Return cvxpy constraints over ``ctx.weights``, homogeneous in ``ctx.scale``."""
        raise NotImplementedError

    def parameter_values(self, assets: pd.Index, data: Mapping[str, Any]) -> dict[str, Any]:
        """Return values of the Parameters this constraint created, from allocation data."""
        return {}

    @property
    def is_bounds_only(self) -> bool:
        """True when the constraint only bounds individual weights (HRP can honour it)."""
        return False
