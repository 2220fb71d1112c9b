"""``AllocationMethod``: the spec's allocation methods as an enum."""

from __future__ import annotations

from enum import Enum

from cvxport.errors import InvalidInputError


class AllocationMethod(str, Enum):
    """How target weights are chosen (see ``cvxport.allocators.registry``)."""

    EQUAL_WEIGHT = "equal_weight"
    MARKET_CAP_WEIGHT = "market_cap_weight"
    INVERSE_VOLATILITY = "inverse_volatility"
    MINIMUM_VARIANCE = "minimum_variance"
    MAXIMUM_SHARPE = "maximum_sharpe"
    RISK_PARITY = "risk_parity"
    RISK_BUDGETING = "risk_budgeting"
    HRP = "hrp"
    MEAN_RISK = "mean_risk"

    @classmethod
    def parse(cls, value: AllocationMethod | str) -> AllocationMethod:
        """Return the member for a member, a value ('risk_parity') or a name ('RISK_PARITY')."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().lower().replace("-", "_").replace(" ", "_")
            for member in cls:
                if key in (member.value, member.name.lower()):
                    return member
        raise InvalidInputError(
            f"unknown allocation_method {value!r}; choose one of {[m.value for m in cls]}"
        )
