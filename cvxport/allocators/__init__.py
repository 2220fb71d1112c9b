"""Allocation methods: one class per method behind ``Allocator.allocate``."""

from cvxport.allocators.base import Allocator
from cvxport.allocators.compare import compare_solvers
from cvxport.allocators.equal_weight import EqualWeightAllocator
from cvxport.allocators.hrp import HRPAllocator
from cvxport.allocators.inverse_volatility import InverseVolatilityAllocator
from cvxport.allocators.market_cap import MarketCapAllocator
from cvxport.allocators.maximum_sharpe import MaximumSharpeAllocator
from cvxport.allocators.mean_risk import MeanRiskAllocator
from cvxport.allocators.minimum_variance import MinimumVarianceAllocator
from cvxport.allocators.registry import ALLOCATORS, allocator_class, register_allocator
from cvxport.allocators.risk_budget import RiskBudgetAllocator, RiskParityAllocator
from cvxport.allocators.target import TargetAllocator

__all__ = [
    "ALLOCATORS",
    "Allocator",
    "EqualWeightAllocator",
    "HRPAllocator",
    "InverseVolatilityAllocator",
    "MarketCapAllocator",
    "MaximumSharpeAllocator",
    "MeanRiskAllocator",
    "MinimumVarianceAllocator",
    "RiskBudgetAllocator",
    "RiskParityAllocator",
    "TargetAllocator",
    "allocator_class",
    "compare_solvers",
    "register_allocator",
]
