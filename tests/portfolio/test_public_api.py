"""The public API, pinned: ``cvxport.__all__`` and ``cvxport.broker_bridge.__all__``.

A name added to or removed from either ``__all__`` must be added to or removed from the
sorted list here too, so every change of the public surface is a visible, reviewed diff.
"""

from __future__ import annotations

import importlib

import pytest

PUBLIC_API = {
    "cvxport": [
        "ALLOCATORS",
        "AllocationMethod",
        "Allocator",
        "AttributionAnalyzer",
        "BUNDLED_SYMBOLS",
        "BlackLitterman",
        "BlackLittermanCovariance",
        "CDaR",
        "CVaR",
        "CalendarRebalancer",
        "Constraint",
        "CvxportError",
        "EWMACovariance",
        "EWMAMean",
        "EfficientFrontier",
        "EqualWeightAllocator",
        "EquityDepletedError",
        "ExAnteTrackingError",
        "ExecutionError",
        "ExposureFactorModel",
        "FactorExposureLimits",
        "FactorModel",
        "GrossExposure",
        "GroupLimits",
        "HRPAllocator",
        "InconsistentFillError",
        "InfeasibleError",
        "InvalidInputError",
        "InverseVolatilityAllocator",
        "JournalError",
        "LedoitWolfCovariance",
        "LongOnly",
        "LookAheadError",
        "LookAheadWarning",
        "MarketCapAllocator",
        "MarketLimits",
        "MaximumSharpeAllocator",
        "MeanAbsoluteDeviation",
        "MeanRiskAllocator",
        "MinimumVarianceAllocator",
        "MissingAssetReturnsError",
        "NetExposure",
        "OASCovariance",
        "OrderTimeoutError",
        "PCAFactorModel",
        "PortfolioConfig",
        "PortfolioManager",
        "PortfolioMetrics",
        "PortfolioResult",
        "PortfolioState",
        "PortfolioStressTester",
        "ProblemContext",
        "RebalanceInProgressError",
        "Rebalancer",
        "ReconciliationError",
        "RetryableError",
        "RiskBudgetAllocator",
        "RiskLimit",
        "RiskMeasure",
        "RiskParityAllocator",
        "RuinWarning",
        "SOLVER_OPTIONS",
        "SampleCovariance",
        "SampleMean",
        "SemiDeviation",
        "SemiVariance",
        "SingularCovarianceError",
        "SolverError",
        "StandardDeviation",
        "ThresholdRebalancer",
        "TrackingError",
        "TransactionCost",
        "TurnoverLimit",
        "UnsupportedProblemError",
        "Variance",
        "View",
        "VolatilityTargetRebalancer",
        "WeightBounds",
        "WeightOrdering",
        "absolute_view",
        "add_cash_asset",
        "align_prices",
        "compare_solvers",
        "installed_solvers",
        "load_bundled_market_caps",
        "load_bundled_market_caps_history",
        "load_bundled_prices",
        "prices_to_returns",
        "register_allocator",
        "relative_view",
    ],
    "cvxport.broker_bridge": [
        "Broker",
        "CCXTBroker",
        "ExecutionReport",
        "Fill",
        "Journal",
        "MarketLimits",
        "Order",
        "OrderFailure",
        "OrderPolicy",
        "OrderSide",
        "OrderStatus",
        "OrderTracking",
        "PaperBroker",
        "UnifiedExecutor",
    ],
}


@pytest.mark.parametrize("module_name", list(PUBLIC_API))
def test_all_is_pinned(module_name):
    module = importlib.import_module(module_name)
    assert PUBLIC_API[module_name] == sorted(PUBLIC_API[module_name]), "keep the list sorted"
    assert sorted(module.__all__) == PUBLIC_API[module_name]
    assert len(set(module.__all__)) == len(module.__all__), "a name listed twice"


@pytest.mark.parametrize("module_name", list(PUBLIC_API))
def test_every_public_name_resolves(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
    namespace: dict = {}
    exec(f"from {module_name} import *", namespace)
    assert set(module.__all__) <= set(namespace)
