"""``PortfolioConfig``: the spec's fields plus what a backtest needs, validated per field.

Every field is checked when assigned, at construction and afterwards (the spec changes
``config.allocation_method`` and ``config.rebalance_frequency`` after the manager exists), and
the errors name the field. Checks that involve several fields (bounds against the number of
symbols) run in :meth:`PortfolioConfig.validate`, which the manager calls before every run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from cvxport.allocators.arguments import estimator
from cvxport.allocators.base import Allocator
from cvxport.allocators.registry import registered_allocator
from cvxport.config_checks import check_cash_asset, check_used_fields
from cvxport.constraints.base import Constraint
from cvxport.constraints.exposure import GrossExposure
from cvxport.constraints.weights import WeightBounds
from cvxport.errors import InfeasibleError, InvalidInputError
from cvxport.estimation import get_covariance_estimator, get_expected_returns_estimator
from cvxport.methods import AllocationMethod
from cvxport.rebalancing import REBALANCE_FREQUENCIES, Rebalancer
from cvxport.solvers import check_solver


def _number(name: str, low: float, high: float, low_open: bool = False) -> Callable:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInputError(f"PortfolioConfig.{name} must be a number, got {value!r}")
        value = float(value)
        too_low = value <= low if low_open else value < low
        if not math.isfinite(value) or too_low or value > high:
            bracket = "(" if low_open else "["
            raise InvalidInputError(
                f"PortfolioConfig.{name} must be in {bracket}{low}, {high}], got {value!r}"
            )
        return value

    return check


def _integer(name: str, low: int, optional: bool = False) -> Callable:
    def check(value: Any) -> int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidInputError(
                f"PortfolioConfig.{name} must be an integer >= {low}, got {value!r}"
            )
        return int(value)

    return check


def _symbols(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidInputError(f"PortfolioConfig.symbols must be a list of symbols, got {value!r}")
    symbols = list(value)
    if not symbols or not all(isinstance(s, str) and s for s in symbols):
        raise InvalidInputError(f"PortfolioConfig.symbols must be non-empty strings, got {value!r}")
    duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
    if duplicates:
        raise InvalidInputError(f"PortfolioConfig.symbols has duplicates: {duplicates}")
    return symbols


def _frequency(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in REBALANCE_FREQUENCIES:
        raise InvalidInputError(
            f"PortfolioConfig.rebalance_frequency must be one of {list(REBALANCE_FREQUENCIES)}, "
            f"got {value!r}"
        )
    return value.lower()


def _constraints(value: Any) -> tuple[Constraint, ...]:
    if not (value is None or isinstance(value, (Constraint, list, tuple))):
        raise InvalidInputError(
            f"PortfolioConfig.constraints must be a list of Constraint objects, got {value!r}"
        )
    items = (value,) if isinstance(value, Constraint) else tuple(value or ())
    for item in items:
        if not isinstance(item, Constraint):
            raise InvalidInputError(f"PortfolioConfig.constraints: {item!r} is not a Constraint")
    return items


def _choice(name: str, options: tuple[str, ...]) -> Callable:
    def check(value: Any) -> str:
        if value not in options:
            raise InvalidInputError(
                f"PortfolioConfig.{name} must be one of {options}, got {value!r}"
            )
        return value

    return check


def _rebalancer(value: Any) -> Rebalancer | None:
    if value is not None and not isinstance(value, Rebalancer):
        raise InvalidInputError(
            f"PortfolioConfig.rebalancer must be a Rebalancer (e.g. ThresholdRebalancer), "
            f"got {value!r}"
        )
    return value


def _estimator(getter: Callable, name: str) -> Callable:
    return partial(estimator(getter), name=f"PortfolioConfig.{name}")


def _solver(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return check_solver(value)
    except Exception as exc:
        raise InvalidInputError(f"PortfolioConfig.solver: {exc}") from None


def _allocator(value: Any) -> Allocator | type[Allocator] | None:
    if value is None or isinstance(value, Allocator):
        return value
    if isinstance(value, type) and issubclass(value, Allocator):
        return value
    if isinstance(value, str):
        return registered_allocator(value)
    raise InvalidInputError(
        "PortfolioConfig.allocator must be an Allocator object, an Allocator subclass or a "
        f"registered name, got {value!r}"
    )


def _flag(name: str) -> Callable:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise InvalidInputError(f"PortfolioConfig.{name} must be True or False, got {value!r}")
        return value

    return check


def _risk_budget(value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"PortfolioConfig.risk_budget must be a mapping, got {value!r}")
    return dict(value)


INFEASIBLE_POLICIES = ("hold", "raise", "cash")


def _on_infeasible(value: Any) -> str:
    if value in INFEASIBLE_POLICIES:
        return value
    try:
        return AllocationMethod.parse(value).value  # a fallback method
    except InvalidInputError:
        raise InvalidInputError(
            f"PortfolioConfig.on_infeasible must be one of {INFEASIBLE_POLICIES} or an "
            f"allocation method to fall back to (e.g. 'minimum_variance'), got {value!r}"
        ) from None


def _optional_number(name: str, low: float, high: float, low_open: bool = False) -> Callable:
    check = _number(name, low, high, low_open)
    return lambda value: None if value is None else check(value)


def _benchmark(value: Any) -> Any:
    import pandas as pd  # local: config stays importable without touching pandas at import

    if value is None or (isinstance(value, str) and value):
        return value
    if isinstance(value, pd.Series) and isinstance(value.index, pd.DatetimeIndex):
        return value
    raise InvalidInputError(
        "PortfolioConfig.benchmark must be None, a symbol of the data (e.g. 'BTC/USDT') or a "
        f"pd.Series of benchmark prices indexed by date, got {type(value).__name__}"
    )


def _path(name: str) -> Callable:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
            raise InvalidInputError(f"PortfolioConfig.{name} must be a file path, got {value!r}")
        return os.fspath(value)

    return check


def _risk_measure(value: Any) -> Any:
    from cvxport.risk.names import risk_measure  # local: the risk package imports constraints

    try:
        risk_measure(value)  # checked; kept as given (a name stays a name, as in TOML files)
    except InvalidInputError as exc:
        raise InvalidInputError(f"PortfolioConfig.risk_measure: {exc}") from None
    return value


def _mean_risk_objective(value: Any) -> str:
    from cvxport.allocators.mean_risk_forms import OBJECTIVES

    return _choice("mean_risk_objective", OBJECTIVES)(value)


def _cash_asset(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    raise InvalidInputError(
        f"PortfolioConfig.cash_asset must be None or a symbol such as 'CASH', got {value!r}"
    )


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "initial_capital": _number("initial_capital", 0.0, math.inf, low_open=True),
    "symbols": _symbols,
    "allocation_method": AllocationMethod.parse,
    "rebalance_frequency": _frequency,
    "min_position_weight": _number("min_position_weight", -1.0, 1.0),
    "max_position_weight": _number("max_position_weight", 0.0, 1.0),
    "transaction_cost": _number("transaction_cost", 0.0, 0.5),
    "lookback": _integer("lookback", 2),
    "risk_free_rate": _number("risk_free_rate", -0.99, 10.0),
    "covariance": _estimator(get_covariance_estimator, "covariance"),
    "expected_returns": _estimator(get_expected_returns_estimator, "expected_returns"),
    "solver": _solver,
    "periods_per_year": _integer("periods_per_year", 1, optional=True),
    "constraints": _constraints,
    "rebalancer": _rebalancer,
    "risk_budget": _risk_budget,
    "max_forward_fill": _integer("max_forward_fill", 0),
    "on_infeasible": _on_infeasible,
    "borrow_rate": _number("borrow_rate", 0.0, 10.0),
    "exposure_cap": _optional_number("exposure_cap", 0.0, 100.0, low_open=True),
    "on_ruin": _choice("on_ruin", ("stop", "raise")),
    "benchmark": _benchmark,
    "cash_buffer": _number("cash_buffer", 0.0, 0.5),
    "journal_path": _path("journal_path"),
    "allocator": _allocator,
    "allow_short": _flag("allow_short"),
    "max_gross_exposure": _optional_number("max_gross_exposure", 1.0, 100.0),
    "optimize_costs": _flag("optimize_costs"),
    "risk_measure": _risk_measure,
    "mean_risk_objective": _mean_risk_objective,
    "target_return": _optional_number("target_return", -1.0, 10.0),
    "max_risk": _optional_number("max_risk", 0.0, math.inf),
    "risk_aversion": _number("risk_aversion", 0.0, math.inf),
    "cash_asset": _cash_asset,
}


@dataclass
class PortfolioConfig:
    """Portfolio settings; weights and costs are fractions (0.05 = 5%).

    Attributes:
        initial_capital: starting cash, quote currency (> 0).
        symbols: the universe, e.g. ['BTC/USDT', 'ETH/USDT'].
        allocation_method: an ``AllocationMethod`` (or its value/name).
        rebalance_frequency: 'daily', 'weekly', 'monthly' or 'quarterly' (first bar of each
            new calendar period); ignored when ``rebalancer`` is set.
        min_position_weight, max_position_weight: per-asset bounds, fractions of NAV.
        transaction_cost: cost per unit of traded notional (0.001 = 10 bps).
        lookback: bars of returns used to estimate risk at each rebalance.
        risk_free_rate: annual fraction, used by maximum Sharpe and the metrics.
        covariance, expected_returns: estimator names or objects.
        solver: cvxpy solver name; None lets each method choose (an exact specialised solve
            where it has one, else Clarabel), see ``cvxport.Allocator``.
        periods_per_year: bars per year; inferred from the data (365 for 24/7) when None.
        constraints: extra constraint objects for every allocation.
        rebalancer: a policy object (threshold, volatility target) replacing the calendar.
        risk_budget: symbol -> share of risk for ``AllocationMethod.RISK_BUDGETING``.
        max_forward_fill: longest internal gap (bars) forward-filled when aligning data.
        on_infeasible: at a rebalance whose problem is infeasible (e.g. maximum Sharpe when
            nothing beats the risk-free rate), 'hold' keeps the holdings and records the date
            in ``PortfolioResult.skipped_rebalances`` (with a warning); 'raise' stops.
            Solver failures (``SolverError``) are covered too, but not a named ``solver``
            that the method's problem is not for (``UnsupportedProblemError`` stops the
            run: it is the configuration, not the window). 'cash' sells everything; an
            allocation method (e.g. 'minimum_variance') is used instead for that rebalance
            (holding when it fails too). ``PortfolioResult.rebalance_outcomes`` records each.
        borrow_rate: annual fraction paid on negative cash (leverage), compounded per bar.
        exposure_cap: largest gross exposure sum|w| held at every close: a bar drifting above
            it is traded back to it (and a target above it is scaled down); None: no cap.
        on_ruin: when equity reaches zero or less at a close, every position is sold there
            and the run ends: 'stop' returns that partial result (``outcome == 'ruined'``,
            a ``RuinWarning``); 'raise' raises ``EquityDepletedError`` carrying it.
        benchmark: a symbol of the data or a pd.Series of benchmark prices; adds alpha,
            beta, tracking error and information ratio to the metrics.
        cash_buffer: fraction of equity live rebalancing leaves in cash (0.01 = 1%), room
            for fills worse than the sizing prices.
        journal_path: SQLite file journaling live orders, fills and state (created with
            owner-only permissions); None keeps the journal in memory (lost at exit).
        allocator: your own allocator, replacing ``allocation_method``: an ``Allocator``
            object (copied for each run; the config's bounds and constraints are added at
            each call), an ``Allocator`` subclass or a name given to
            ``cvxport.register_allocator`` (built with the arguments its
            ``config_arguments`` maps to config fields).
        allow_short: let weights be negative (``min_position_weight`` may then be < 0, down
            to -1); the optimizing methods drop ``LongOnly``.
        max_gross_exposure: limit on sum |w| (leverage, multiples of NAV, >= 1), added as a
            ``GrossExposure`` constraint; None: no limit.
        optimize_costs: add ``TransactionCost(transaction_cost)`` to the objective of the
            methods that take one (minimum variance, maximum Sharpe), trading expected benefit
            against the cost of the trade from the current weights.
        risk_measure: for ``AllocationMethod.MEAN_RISK``: a name ('variance', 'cvar', 'cdar',
            'mad', 'semi_deviation', 'tracking_error'...) or a ``RiskMeasure`` object.
        mean_risk_objective: 'min_risk', 'max_return', 'utility' or 'ratio'
            (see ``MeanRiskAllocator``).
        target_return: per-period expected return the mean-risk portfolio must reach, or None.
        max_risk: limit on the risk measure, in its per-period units, or None.
        risk_aversion: lambda >= 0 of the mean-risk utility.
        cash_asset: a symbol of ``symbols`` held as riskless cash in a backtest: its closes
            are created compounding at ``risk_free_rate`` (as ``cvxport.add_cash_asset``;
            the data must not hold it), its weight is bounded like any asset's and its trades
            pay no ``transaction_cost``. Refused with methods that cannot hold it (risk
            parity, risk budgeting, HRP, inverse volatility, market cap; maximum Sharpe and the
            mean-risk ratio, whose optimum any cash share leaves unchanged), with
            ``optimize_costs`` (the cost term would charge it) and live (cash is the quote
            currency there); None: no cash asset.
    """

    initial_capital: float = 100_000.0
    symbols: list[str] = field(default_factory=lambda: ["BTC/USDT", "ETH/USDT", "SOL/USDT"])
    allocation_method: AllocationMethod = AllocationMethod.EQUAL_WEIGHT
    rebalance_frequency: str = "monthly"
    min_position_weight: float = 0.0
    max_position_weight: float = 1.0
    transaction_cost: float = 0.001
    lookback: int = 60
    risk_free_rate: float = 0.0
    covariance: Any = "sample"
    expected_returns: Any = "sample"
    solver: str | None = None
    periods_per_year: int | None = None
    constraints: tuple[Constraint, ...] = ()
    rebalancer: Rebalancer | None = None
    risk_budget: dict[str, float] | None = None
    max_forward_fill: int = 0
    on_infeasible: str = "hold"
    borrow_rate: float = 0.0
    exposure_cap: float | None = None
    on_ruin: str = "stop"
    benchmark: Any = None
    cash_buffer: float = 0.0
    journal_path: str | None = None
    allocator: Any = None
    allow_short: bool = False
    max_gross_exposure: float | None = None
    optimize_costs: bool = False
    risk_measure: Any = "variance"
    mean_risk_objective: str = "min_risk"
    target_return: float | None = None
    max_risk: float | None = None
    risk_aversion: float = 1.0
    cash_asset: str | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        validator = _VALIDATORS.get(name)
        if validator is None and not name.startswith("_"):
            raise InvalidInputError(
                f"PortfolioConfig has no field {name!r}; fields: {list(_VALIDATORS)}"
            )
        super().__setattr__(name, validator(value) if validator else value)

    def validate(self) -> None:
        """Check what involves several fields; raise naming them. Called before every run."""
        low, high, n = self.min_position_weight, self.max_position_weight, len(self.symbols)
        if low < 0 and not self.allow_short:
            raise InvalidInputError(
                f"PortfolioConfig.min_position_weight ({low}) is negative but allow_short is "
                "False: set allow_short=True for a long/short portfolio"
            )
        gross = self.max_gross_exposure
        if gross is not None and not self.allow_short and gross < 1:
            raise InfeasibleError(  # pragma: no cover - the field's range starts at 1
                f"PortfolioConfig.max_gross_exposure ({gross}) < 1 with long-only weights"
            )
        if gross is not None and low < 0 and -low > gross:
            raise InvalidInputError(
                f"PortfolioConfig.min_position_weight ({low}) alone exceeds max_gross_exposure "
                f"({gross})"
            )
        if self.allow_short and self.allocator is None:
            method = self.allocation_method
            long_only_methods = (
                AllocationMethod.RISK_PARITY,
                AllocationMethod.RISK_BUDGETING,
                AllocationMethod.HRP,
            )
            if method in long_only_methods:
                raise InvalidInputError(
                    f"PortfolioConfig.allow_short=True cannot work with {method.value}: its "
                    "weights are long only by construction"
                )
        if low > high:
            raise InvalidInputError(
                f"PortfolioConfig.min_position_weight ({low}) > max_position_weight ({high})"
            )
        if low * n > 1 + 1e-12 or high * n < 1 - 1e-12:
            raise InfeasibleError(
                f"PortfolioConfig bounds [{low}, {high}] cannot sum to 1 over {n} symbols "
                "(min_position_weight * n must be <= 1 <= max_position_weight * n)"
            )
        mean_risk = self.allocation_method == AllocationMethod.MEAN_RISK
        if mean_risk and self.mean_risk_objective == "max_return" and self.max_risk is None:
            raise InvalidInputError(
                "PortfolioConfig.mean_risk_objective 'max_return' needs PortfolioConfig.max_risk"
            )
        check_used_fields(self)
        check_cash_asset(self)

    def weight_bounds(self) -> WeightBounds:
        """Return the min/max position weights as a ``WeightBounds`` constraint object."""
        return WeightBounds(self.min_position_weight, self.max_position_weight)

    def all_constraints(self) -> tuple[Constraint, ...]:
        """Return the bounds (when not the trivial [0, 1]), the gross exposure limit (when
        set) and the extra constraints."""
        bounds = self.weight_bounds()
        trivial = self.min_position_weight == 0.0 and self.max_position_weight == 1.0
        gross = self.max_gross_exposure
        exposure = () if gross is None else (GrossExposure(gross),)
        return (() if trivial else (bounds,)) + exposure + tuple(self.constraints)
