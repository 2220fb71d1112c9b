"""The one explicit map from ``AllocationMethod`` to allocator classes (checked by a test)."""

from __future__ import annotations

from cvxport.allocators.base import Allocator
from cvxport.allocators.equal_weight import EqualWeightAllocator
from cvxport.allocators.hrp import HRPAllocator
from cvxport.allocators.inverse_volatility import InverseVolatilityAllocator
from cvxport.allocators.market_cap import MarketCapAllocator
from cvxport.allocators.maximum_sharpe import MaximumSharpeAllocator
from cvxport.allocators.mean_risk import MeanRiskAllocator
from cvxport.allocators.minimum_variance import MinimumVarianceAllocator
from cvxport.allocators.risk_budget import RiskBudgetAllocator, RiskParityAllocator
from cvxport.errors import InvalidInputError
from cvxport.methods import AllocationMethod

ALLOCATORS: dict[AllocationMethod, type[Allocator]] = {
    AllocationMethod.EQUAL_WEIGHT: EqualWeightAllocator,
    AllocationMethod.MARKET_CAP_WEIGHT: MarketCapAllocator,
    AllocationMethod.INVERSE_VOLATILITY: InverseVolatilityAllocator,
    AllocationMethod.MINIMUM_VARIANCE: MinimumVarianceAllocator,
    AllocationMethod.MAXIMUM_SHARPE: MaximumSharpeAllocator,
    AllocationMethod.RISK_PARITY: RiskParityAllocator,
    AllocationMethod.RISK_BUDGETING: RiskBudgetAllocator,
    AllocationMethod.HRP: HRPAllocator,
    AllocationMethod.MEAN_RISK: MeanRiskAllocator,
}


#: a user's allocator classes by name (``register_allocator``), usable in ``PortfolioConfig``
USER_ALLOCATORS: dict[str, type[Allocator]] = {}


def allocator_class(method: AllocationMethod | str) -> type[Allocator]:
    """Return the allocator class of a method (an enum member or its name/value)."""
    return ALLOCATORS[AllocationMethod.parse(method)]


def register_allocator(name: str, cls: type[Allocator]) -> None:
    """Register a user's Allocator subclass under ``name`` so that a config can name it
    (``PortfolioConfig(allocator="name")``); the manager passes it the arguments its
    ``config_arguments`` maps to config fields."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"an allocator's name must be a non-empty string, got {name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Allocator)):
        raise InvalidInputError(f"{cls!r} is not a subclass of cvxport.Allocator")
    builtin = [m.value for m in AllocationMethod]
    if name in builtin:
        raise InvalidInputError(f"{name!r} is a built-in allocation method; choose another name")
    USER_ALLOCATORS[name] = cls


def registered_allocator(name: str) -> type[Allocator]:
    """Return the class registered as ``name``; InvalidInputError listing the names if none."""
    try:
        return USER_ALLOCATORS[name]
    except KeyError:
        raise InvalidInputError(
            f"no allocator registered as {name!r}; registered: {sorted(USER_ALLOCATORS)} "
            "(cvxport.register_allocator(name, cls))"
        ) from None
