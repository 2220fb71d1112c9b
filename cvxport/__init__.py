"""cvxport: multi-asset portfolio management built on convex optimization (CVXPY)."""

from cvxport.allocators import (
    ALLOCATORS,
    Allocator,
    EqualWeightAllocator,
    HRPAllocator,
    InverseVolatilityAllocator,
    MarketCapAllocator,
    MaximumSharpeAllocator,
    MeanRiskAllocator,
    MinimumVarianceAllocator,
    RiskBudgetAllocator,
    RiskParityAllocator,
    compare_solvers,
    register_allocator,
)
from cvxport.analysis import (
    AttributionAnalyzer,
    EfficientFrontier,
    PortfolioMetrics,
    PortfolioStressTester,
)
from cvxport.backtest import PortfolioResult
from cvxport.config import PortfolioConfig
from cvxport.constraints import (
    Constraint,
    GrossExposure,
    GroupLimits,
    LongOnly,
    NetExposure,
    ProblemContext,
    TransactionCost,
    TurnoverLimit,
    WeightBounds,
    WeightOrdering,
)
from cvxport.data import (
    BUNDLED_SYMBOLS,
    add_cash_asset,
    align_prices,
    load_bundled_market_caps,
    load_bundled_market_caps_history,
    load_bundled_prices,
    prices_to_returns,
)
from cvxport.errors import (
    CvxportError,
    EquityDepletedError,
    ExecutionError,
    InfeasibleError,
    InvalidInputError,
    LookAheadError,
    LookAheadWarning,
    MissingAssetReturnsError,
    RuinWarning,
    SingularCovarianceError,
    SolverError,
    UnsupportedProblemError,
)
from cvxport.estimation import (
    EWMACovariance,
    EWMAMean,
    LedoitWolfCovariance,
    OASCovariance,
    SampleCovariance,
    SampleMean,
)
from cvxport.manager import PortfolioManager
from cvxport.methods import AllocationMethod
from cvxport.rebalancing import (
    CalendarRebalancer,
    Rebalancer,
    ThresholdRebalancer,
    VolatilityTargetRebalancer,
)
from cvxport.risk import (
    CDaR,
    CVaR,
    MeanAbsoluteDeviation,
    RiskLimit,
    RiskMeasure,
    SemiDeviation,
    SemiVariance,
    StandardDeviation,
    TrackingError,
    Variance,
)
from cvxport.solvers import SOLVER_OPTIONS, installed_solvers
from cvxport.state import PortfolioState

__version__ = "0.1.0"

__all__ = [
    "ALLOCATORS",
    "BUNDLED_SYMBOLS",
    "SOLVER_OPTIONS",
    "AllocationMethod",
    "Allocator",
    "AttributionAnalyzer",
    "CalendarRebalancer",
    "Constraint",
    "CvxportError",
    "EWMACovariance",
    "EWMAMean",
    "EfficientFrontier",
    "EqualWeightAllocator",
    "EquityDepletedError",
    "ExecutionError",
    "GrossExposure",
    "GroupLimits",
    "HRPAllocator",
    "InfeasibleError",
    "InvalidInputError",
    "InverseVolatilityAllocator",
    "LedoitWolfCovariance",
    "LongOnly",
    "LookAheadError",
    "LookAheadWarning",
    "MarketCapAllocator",
    "MaximumSharpeAllocator",
    "MinimumVarianceAllocator",
    "MissingAssetReturnsError",
    "NetExposure",
    "OASCovariance",
    "PortfolioConfig",
    "PortfolioManager",
    "PortfolioMetrics",
    "PortfolioResult",
    "PortfolioState",
    "PortfolioStressTester",
    "ProblemContext",
    "Rebalancer",
    "RiskBudgetAllocator",
    "RiskParityAllocator",
    "RuinWarning",
    "SampleCovariance",
    "SampleMean",
    "SingularCovarianceError",
    "SolverError",
    "ThresholdRebalancer",
    "TransactionCost",
    "TurnoverLimit",
    "UnsupportedProblemError",
    "VolatilityTargetRebalancer",
    "WeightBounds",
    "WeightOrdering",
    "add_cash_asset",
    "align_prices",
    "compare_solvers",
    "installed_solvers",
    "load_bundled_market_caps",
    "load_bundled_market_caps_history",
    "load_bundled_prices",
    "prices_to_returns",
    "register_allocator",
]

# Live trading: its errors and the trade sizer's market rules (brokers: cvxport.broker_bridge).
from cvxport.backtest.sizer import MarketLimits
from cvxport.errors import (
    InconsistentFillError,
    JournalError,
    OrderTimeoutError,
    RebalanceInProgressError,
    ReconciliationError,
    RetryableError,
)

__all__ += [
    "InconsistentFillError",
    "JournalError",
    "MarketLimits",
    "OrderTimeoutError",
    "RebalanceInProgressError",
    "ReconciliationError",
    "RetryableError",
]

# Risk measures (objective terms and limits) and the mean-risk allocator.
__all__ += [
    "CDaR",
    "CVaR",
    "MeanAbsoluteDeviation",
    "MeanRiskAllocator",
    "RiskLimit",
    "RiskMeasure",
    "SemiDeviation",
    "SemiVariance",
    "StandardDeviation",
    "TrackingError",
    "Variance",
]
