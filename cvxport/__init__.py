"""cvxport: multi-asset portfolio management built on convex optimization (CVXPY)."""

from cvxport.allocators import (
    ALLOCATORS,
    Allocator,
    EqualWeightAllocator,
    HRPAllocator,
    InverseVolatilityAllocator,
    MarketCapAllocator,
    MaximumSharpeAllocator,
    MinimumVarianceAllocator,
    RiskBudgetAllocator,
    RiskParityAllocator,
    compare_solvers,
)
from cvxport.constraints import (
    Constraint,
    GroupLimits,
    LongOnly,
    ProblemContext,
    TurnoverLimit,
    WeightBounds,
    WeightOrdering,
)
from cvxport.errors import (
    CvxportError,
    ExecutionError,
    InfeasibleError,
    InvalidInputError,
    SolverError,
)
from cvxport.estimation import (
    EWMACovariance,
    EWMAMean,
    LedoitWolfCovariance,
    OASCovariance,
    SampleCovariance,
    SampleMean,
)
from cvxport.methods import AllocationMethod
from cvxport.solvers import SOLVER_OPTIONS, installed_solvers

__version__ = "0.1.0"

__all__ = [
    "ALLOCATORS",
    "SOLVER_OPTIONS",
    "AllocationMethod",
    "Allocator",
    "Constraint",
    "CvxportError",
    "EWMACovariance",
    "EWMAMean",
    "EqualWeightAllocator",
    "ExecutionError",
    "GroupLimits",
    "HRPAllocator",
    "InfeasibleError",
    "InvalidInputError",
    "InverseVolatilityAllocator",
    "LedoitWolfCovariance",
    "LongOnly",
    "MarketCapAllocator",
    "MaximumSharpeAllocator",
    "MinimumVarianceAllocator",
    "OASCovariance",
    "ProblemContext",
    "RiskBudgetAllocator",
    "RiskParityAllocator",
    "SampleCovariance",
    "SampleMean",
    "SolverError",
    "TurnoverLimit",
    "WeightBounds",
    "WeightOrdering",
    "compare_solvers",
    "installed_solvers",
]
