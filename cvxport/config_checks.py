"""Checks of ``PortfolioConfig`` that involve the allocation method: fields the chosen
allocator would not be given, and a cash asset beside what cannot hold it. Called by
``PortfolioConfig.validate``; each raises ``InvalidInputError`` naming the field."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cvxport.allocators.base import Allocator
from cvxport.allocators.registry import allocator_class
from cvxport.errors import InvalidInputError
from cvxport.methods import AllocationMethod

if TYPE_CHECKING:
    from cvxport.config import PortfolioConfig

#: methods that cannot hold a riskless asset: zero variance breaks them, or it has no cap
CASH_REFUSED = {
    AllocationMethod.RISK_PARITY: "a zero-variance asset makes the risk budget singular",
    AllocationMethod.RISK_BUDGETING: "a zero-variance asset makes the risk budget singular",
    AllocationMethod.HRP: "inverse variance puts everything in a zero-variance asset",
    AllocationMethod.INVERSE_VOLATILITY: "inverse volatility puts everything in cash",
    AllocationMethod.MARKET_CAP_WEIGHT: "cash has no market cap",
}


def methods_taking(source: str) -> list[str]:
    """The allocation methods whose allocator takes the config source ``source``."""
    return [
        m.value for m in AllocationMethod if source in allocator_class(m).config_arguments.values()
    ]


def check_used_fields(config: PortfolioConfig) -> None:
    """Refuse a field set away from its default that the allocator would not be given
    (e.g. ``max_risk`` with minimum variance, ``optimize_costs`` with HRP), naming it."""
    spec = config.allocator
    if isinstance(spec, Allocator):
        used, name = set(), f"the allocator object {type(spec).__name__}"
    else:
        cls = spec if spec is not None else allocator_class(config.allocation_method)
        used = set(getattr(cls, "config_arguments", {}).values())
        name = cls.__name__ if spec is not None else repr(config.allocation_method.value)
    measure = config.risk_measure
    variance = measure == "variance" or type(measure).__name__ == "Variance"
    set_fields = {
        "target_return": ("target_return", config.target_return is not None),
        "max_risk": ("max_risk", config.max_risk is not None),
        "risk_measure": ("risk_measure", not variance),
        "mean_risk_objective": ("mean_risk_objective", config.mean_risk_objective != "min_risk"),
        "risk_aversion": ("risk_aversion", config.risk_aversion != 1.0),
        "costs": ("optimize_costs", config.optimize_costs),
    }
    for source, (field_name, is_set) in set_fields.items():
        if is_set and source not in used:
            raise InvalidInputError(
                f"PortfolioConfig.{field_name} is set but {name} does not use it (it goes to "
                f"the methods whose config_arguments take it: {methods_taking(source)}); "
                "unset it or choose one of them"
            )


def check_cash_asset(config: PortfolioConfig) -> None:
    """Refuse a cash asset outside the symbols or beside what cannot hold it."""
    cash = config.cash_asset
    if cash is None:
        return
    if cash not in config.symbols:
        raise InvalidInputError(
            f"PortfolioConfig.cash_asset {cash!r} is not one of PortfolioConfig.symbols "
            f"{config.symbols}: list it there (its weight is bounded like any asset's)"
        )
    methods = (
        {} if config.allocator is not None else {"allocation_method": config.allocation_method}
    )
    if config.on_infeasible in {m.value for m in AllocationMethod}:  # the fallback method
        methods["on_infeasible"] = AllocationMethod(config.on_infeasible)
    for field_name, method in methods.items():
        _check_cash_method(config, field_name, method)
    if config.optimize_costs:
        raise InvalidInputError(
            "PortfolioConfig.cash_asset with optimize_costs: the cost term charges every trade "
            "alike, the cash leg too; drop one of them"
        )


def _check_cash_method(config: PortfolioConfig, field_name: str, method: AllocationMethod) -> None:
    """Refuse ``method`` (the config's ``field_name``) beside a cash asset where it cannot
    hold one or its optimum is not unique with one."""
    where = f"PortfolioConfig.cash_asset cannot work with {field_name} {method.value!r}"
    if method in CASH_REFUSED:
        raise InvalidInputError(f"{where}: {CASH_REFUSED[method]}")
    ratio = method == AllocationMethod.MAXIMUM_SHARPE or (
        method == AllocationMethod.MEAN_RISK and config.mean_risk_objective == "ratio"
    )
    if ratio:
        objective = " (mean_risk_objective 'ratio')" if method == AllocationMethod.MEAN_RISK else ""
        raise InvalidInputError(
            f"{where}{objective}: cash earns the risk-free rate with zero variance, so any "
            "cash share leaves the ratio unchanged and the portfolio is not unique (rounding "
            "of cash's zero variance decided it, or the answer could not be certified); use "
            "mean_risk with another objective or minimum_variance"
        )
