"""Expected-return estimators of periodic simple returns (per-period fractions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from cvxport.arguments import number
from cvxport.errors import InvalidInputError


@runtime_checkable
class ExpectedReturnsEstimator(Protocol):
    """Anything with ``estimate(returns) -> (n,) ndarray`` of per-period mean returns."""

    def estimate(self, returns: pd.DataFrame) -> np.ndarray: ...


@dataclass(frozen=True)
class SampleMean:
    """Arithmetic mean of each column, per period."""

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        """Return the (n,) column means of (T, n) returns."""
        return returns.to_numpy(dtype=float).mean(axis=0)


@dataclass(frozen=True)
class EWMAMean:
    """Exponentially weighted mean; ``halflife`` in periods (bars)."""

    halflife: float = 60.0

    def __post_init__(self) -> None:
        if number(self.halflife, "EWMAMean.halflife") <= 0:  # a string, None, True: named
            raise InvalidInputError(f"EWMAMean.halflife must be > 0, got {self.halflife!r}")

    def estimate(self, returns: pd.DataFrame) -> np.ndarray:
        """Return the (n,) EWMA mean at the last row of (T, n) returns."""
        x = returns.to_numpy(dtype=float)
        weights = 0.5 ** (np.arange(len(x) - 1, -1, -1) / self.halflife)
        return weights @ x / weights.sum()


EXPECTED_RETURNS_ESTIMATORS: dict[str, type] = {"sample": SampleMean, "ewma": EWMAMean}


def get_expected_returns_estimator(
    spec: str | ExpectedReturnsEstimator,
) -> ExpectedReturnsEstimator:
    """Resolve an estimator from a name in ``EXPECTED_RETURNS_ESTIMATORS`` or an object."""
    if isinstance(spec, str):
        try:
            return EXPECTED_RETURNS_ESTIMATORS[spec.lower()]()
        except KeyError:
            raise InvalidInputError(
                f"unknown expected-returns estimator {spec!r}; choose one of "
                f"{sorted(EXPECTED_RETURNS_ESTIMATORS)} or pass an object with estimate(returns)"
            ) from None
    if isinstance(spec, ExpectedReturnsEstimator):
        return spec
    raise InvalidInputError(f"expected-returns estimator {spec!r} has no estimate(returns)")
