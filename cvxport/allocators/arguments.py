"""The checks ``Allocator.__setattr__`` applies to the allocators' shared arguments.

Every assignment of a name in ``ALLOCATOR_ARGUMENTS`` (in a constructor or later, e.g.
``allocator.periods_per_year = -5``) is checked and normalized here, so a bad argument raises
``InvalidInputError`` naming ``Class.parameter`` before any data arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from cvxport.arguments import flag, number, optional_mapping, optional_solver, solver_names
from cvxport.constraints.base import Constraint
from cvxport.constraints.costs import TransactionCost
from cvxport.errors import InvalidInputError
from cvxport.estimation import get_covariance_estimator, get_expected_returns_estimator
from cvxport.periods import validate_periods_per_year


def constraints(value: Any, name: str) -> Any:
    """Return ``value`` if it is None, one Constraint, or an iterable of Constraints."""
    if value is None or isinstance(value, Constraint):
        return value
    if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{name} must be a list of Constraint objects, got {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, Constraint):
            raise InvalidInputError(f"{name}: {item!r} is not a cvxport Constraint")
    return items


def caps_mapping_or_frame(value: Any, name: str) -> Any:
    """Return None, a mapping symbol -> cap, or a DataFrame of caps (dates x symbols)."""
    if isinstance(value, pd.DataFrame):
        return value
    return optional_mapping(value, name)


def optional_date(value: Any, name: str) -> pd.Timestamp | None:
    """Return None or a timestamp from a date string, datetime or Timestamp (not a number)."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float, list, tuple, Mapping)):
        raise InvalidInputError(f"{name} must be a date such as '2024-01-31', got {value!r}")
    try:
        return pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{name} must be a date such as '2024-01-31', got {value!r}"
        ) from exc


def estimator(getter: Callable[[Any], Any]) -> Callable[[Any, str], Any]:
    """A check resolving an estimator spec with ``getter``, naming the parameter on failure."""

    def check(value: Any, name: str) -> Any:
        try:
            getter(value)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{name}: {exc}") from None
        return value

    return check


def periods_per_year(value: Any, name: str) -> int | None:
    """Return None (infer from the data) or a positive integer count of periods per year."""
    if value is None:
        return None
    try:
        return validate_periods_per_year(value)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{name}: {exc}") from None


def risk_free_rate(value: Any, name: str) -> float:
    """Return an annual fraction > -1 (0.04 = 4%)."""
    rate = number(value, name)
    if rate <= -1:
        raise InvalidInputError(f"{name} must be an annual fraction above -1, got {value!r}")
    return rate


def transaction_cost(value: Any, name: str) -> Any:
    """Return ``value`` if it is None or a ``TransactionCost`` objective term."""
    if value is not None and not isinstance(value, TransactionCost):
        raise InvalidInputError(f"{name} must be a TransactionCost or None, got {value!r}")
    return value


#: attribute name -> check(value, "Owner.name"), applied by ``Allocator.__setattr__`` to every
#: assignment of these names, in the constructor and afterwards
ALLOCATOR_ARGUMENTS: dict[str, Callable[[Any, str], Any]] = {
    "constraints": constraints,
    "solver": optional_solver,
    "fallback": solver_names,
    "long_only": flag,
    "optimal_ordering": flag,
    "covariance": estimator(get_covariance_estimator),
    "expected_returns": estimator(get_expected_returns_estimator),
    "risk_free_rate": risk_free_rate,
    "periods_per_year": periods_per_year,
    "market_caps": caps_mapping_or_frame,
    "market_caps_as_of": optional_date,
    "risk_budget": optional_mapping,
    "costs": transaction_cost,
}


def check_allocator_argument(owner: object, name: str, value: Any) -> Any:
    """Return ``value`` checked (and normalized) if ``name`` is a known allocator argument."""
    check = ALLOCATOR_ARGUMENTS.get(name)
    return value if check is None else check(value, f"{type(owner).__name__}.{name}")
