"""The one explicit map from ``AllocationMethod`` to allocator classes (checked by a test)."""

from __future__ import annotations

from cvxport.allocators.base import Allocator
from cvxport.allocators.equal_weight import EqualWeightAllocator
from cvxport.allocators.hrp import HRPAllocator
from cvxport.allocators.inverse_volatility import InverseVolatilityAllocator
from cvxport.allocators.market_cap import MarketCapAllocator
from cvxport.allocators.maximum_sharpe import MaximumSharpeAllocator
from cvxport.allocators.minimum_variance import MinimumVarianceAllocator
from cvxport.allocators.risk_budget import RiskBudgetAllocator, RiskParityAllocator
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
}


def allocator_class(method: AllocationMethod | str) -> type[Allocator]:
    """Return the allocator class of a method (an enum member or its name/value)."""
    return ALLOCATORS[AllocationMethod.parse(method)]
