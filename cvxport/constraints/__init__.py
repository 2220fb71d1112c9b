"""Composable constraint objects over one weight variable (see ``base`` for writing your own)."""

from cvxport.constraints.base import Constraint, ProblemContext
from cvxport.constraints.costs import TransactionCost
from cvxport.constraints.diagnose import conflicting_constraints, is_feasible
from cvxport.constraints.exposure import GrossExposure, NetExposure
from cvxport.constraints.factor_exposure import FactorExposureLimits
from cvxport.constraints.groups import GroupLimits
from cvxport.constraints.trading import TurnoverLimit
from cvxport.constraints.weights import LongOnly, WeightBounds, WeightOrdering

__all__ = [
    "Constraint",
    "FactorExposureLimits",
    "GrossExposure",
    "GroupLimits",
    "LongOnly",
    "NetExposure",
    "ProblemContext",
    "TransactionCost",
    "TurnoverLimit",
    "WeightBounds",
    "WeightOrdering",
    "conflicting_constraints",
    "is_feasible",
]
