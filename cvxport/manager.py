"""``PortfolioManager``: a thin facade wiring config, allocators, backtest and live operations."""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cvxport.allocators.base import Allocator
from cvxport.allocators.opening import OpeningAllocations
from cvxport.allocators.registry import allocator_class
from cvxport.backtest.engine import RunPolicy, run_backtest
from cvxport.backtest.inputs import (
    aligned_for_lookback,
    benchmark_returns_for_terms,
    benchmark_weights_of,
    transaction_rates,
)
from cvxport.backtest.outcome import (
    benchmark_prices,
    benchmark_returns,
    without_benchmark,
)
from cvxport.backtest.result import PortfolioResult
from cvxport.backtest.run_result import portfolio_result
from cvxport.backtest.sizer import MarketLimits, TradePlan, size_trades
from cvxport.brokers import live
from cvxport.brokers.journal import Journal
from cvxport.config import PortfolioConfig
from cvxport.constraints.base import Constraint
from cvxport.constraints.costs import TransactionCost
from cvxport.data.alignment import prices_to_returns
from cvxport.errors import EquityDepletedError, InvalidInputError, RuinWarning
from cvxport.methods import AllocationMethod
from cvxport.periods import infer_periods_per_year
from cvxport.rebalancing import CalendarRebalancer, Rebalancer, drift
from cvxport.state import PortfolioState, as_number, check_prices
from cvxport.threads import single_threaded_blas

logger = logging.getLogger(__name__)


class PortfolioManager:
    """Backtests and operates one portfolio described by a :class:`PortfolioConfig`.

    The manager reads its config at every call, so fields changed after construction
    (``config.allocation_method = ...``) take effect at the next run.

    Attributes:
        config: the settings (validated per field, and as a whole before each run).
        state: holdings (units), cash and last prices of the live portfolio; ``state.source``
            says whether it is simulated (replaced by the brokers' balances before a live
            rebalance) or live (journaled, checked against the brokers).
        journal: the live journal (``config.journal_path``; replayed at construction).
        market_caps: symbol -> market cap, set by :meth:`set_market_caps`.
        target_: the standing target weights (pd.Series) after a backtest or data update.
        returns_: asset returns (T, n) of the last data seen.
        periods_per_year_: bars per year of the last data seen.
        result_: the last PortfolioResult.
        trade_log: every fill executed live, as dicts, in order.
    """

    def __init__(self, config: PortfolioConfig) -> None:
        if not isinstance(config, PortfolioConfig):
            raise InvalidInputError(f"config must be a PortfolioConfig, got {config!r}")
        self.config = config
        self.state = PortfolioState(cash=config.initial_capital)
        self.market_caps: dict[str, float] | pd.DataFrame | None = None
        self.market_caps_as_of: pd.Timestamp | None = None
        self.target_: pd.Series | None = None
        self.returns_: pd.DataFrame | None = None
        self.periods_per_year_: int | None = None
        self.result_: PortfolioResult | None = None
        self.trade_log: list[dict] = []
        self._journal: Journal | None = None
        self._rebalancing = False
        if config.journal_path is not None:
            self.journal  # noqa: B018 - replays the journaled state now

    @property
    def journal(self) -> Journal:
        """The live journal at ``config.journal_path`` (in memory when None), opened on first
        use; opening a journal with a state replays it as the live state."""
        path = self.config.journal_path
        if self._journal is None or self._journal.path != (None if path is None else Path(path)):
            self._journal = Journal(path)
            last = self._journal.last_state()
            if last is not None:
                holdings, cash = last
                self.state = PortfolioState(
                    holdings, cash, dict(self.state.prices), self.state.timestamp, "journal"
                )
        return self._journal

    # --- configuration ----------------------------------------------------------------------
    def set_market_caps(
        self,
        market_caps: Mapping[str, float] | pd.DataFrame,
        as_of: str | pd.Timestamp | None = None,
    ) -> None:
        """Set market capitalizations (any currency, same for all) for market-cap weighting.

        Args:
            market_caps: symbol -> cap (a snapshot), or a DataFrame of caps (dates x symbols)
                that each rebalance reads as of its date (``LookAheadError`` before the first).
            as_of: the snapshot's date: a backtest rebalancing before it warns
                (``LookAheadWarning``).
        """
        if isinstance(market_caps, pd.DataFrame):
            self._set_market_cap_series(market_caps)
            return
        if not isinstance(market_caps, Mapping) or not market_caps:
            raise InvalidInputError(f"market_caps must be a non-empty mapping, got {market_caps!r}")
        caps = {}
        for symbol, cap in market_caps.items():
            value = as_number(cap, f"market cap of {symbol!r}")
            if not np.isfinite(value) or value <= 0:
                raise InvalidInputError(f"market cap of {symbol!r} must be > 0, got {cap!r}")
            caps[symbol] = value
        unknown = [s for s in caps if s not in self.config.symbols]
        if unknown:
            raise InvalidInputError(
                f"market caps given for symbols not in config.symbols: {unknown} "
                f"(the universe is {self.config.symbols})"
            )
        self.market_caps = caps
        self.market_caps_as_of = None if as_of is None else pd.Timestamp(as_of)

    def _set_market_cap_series(self, caps: pd.DataFrame) -> None:
        if not isinstance(caps.index, pd.DatetimeIndex) or caps.empty:
            raise InvalidInputError("a market-cap series must be a non-empty frame indexed by date")
        unknown = [s for s in caps.columns if s not in self.config.symbols]
        missing = [s for s in self.config.symbols if s not in caps.columns]
        if unknown or missing:
            raise InvalidInputError(
                f"market-cap series columns must be config.symbols: unknown {unknown}, "
                f"missing {missing}"
            )
        values = caps.to_numpy(dtype=float)
        bad = np.argwhere(~np.isfinite(values) | (values <= 0))
        if len(bad):
            row, col = bad[0]
            raise InvalidInputError(
                f"market cap of {caps.columns[col]!r} at {caps.index[row]} must be > 0, "
                f"got {values[row, col]!r}"
            )
        self.market_caps = caps.sort_index().astype(float)
        self.market_caps_as_of = None

    def set_state(
        self,
        holdings: Mapping[str, float],
        cash: float,
        prices: Mapping[str, float] | None = None,
        timestamp: pd.Timestamp | None = None,
    ) -> None:
        """Replace the live state (units per symbol, cash in quote currency, last prices)."""
        unknown = [s for s in holdings if s not in self.config.symbols]
        if unknown:
            raise InvalidInputError(f"holdings name symbols not in config.symbols: {unknown}")
        units = {s: as_number(u, f"holding of {s!r}") for s, u in holdings.items()}
        cash = as_number(cash, "cash")
        bad = [s for s, u in units.items() if not np.isfinite(u)]
        if bad or not np.isfinite(cash):
            raise InvalidInputError(f"holdings or cash are not finite: {bad or cash}")
        checked = check_prices(prices or {}, None)
        self.state = PortfolioState(units, float(cash), checked, timestamp, source="user")
        self.journal.record_state(units, float(cash), "set by the user")

    def allocator_sources(self) -> dict[str, Any]:
        """What ``make_allocator`` can pass, by the names ``config_arguments`` use."""
        config = self.config
        costs = TransactionCost(config.transaction_cost) if config.optimize_costs else None
        return {
            "constraints": config.all_constraints(),
            "solver": config.solver,
            "long_only": not config.allow_short,
            "covariance": config.covariance,
            "expected_returns": config.expected_returns,
            "risk_free_rate": config.risk_free_rate,
            "periods_per_year": config.periods_per_year,
            "market_caps": self.market_caps,
            "market_caps_as_of": self.market_caps_as_of,
            "risk_budget": config.risk_budget,
            "costs": costs,
            # MeanRiskAllocator
            "risk_measure": config.risk_measure,
            "mean_risk_objective": config.mean_risk_objective,
            "target_return": config.target_return,
            "max_risk": config.max_risk,
            "risk_aversion": config.risk_aversion,
        }

    def make_allocator(self, method: AllocationMethod | str | None = None) -> Allocator:
        """Build the allocator of ``method`` (default: ``config.allocator`` if set, else
        ``config.allocation_method``) with the config's settings.

        Arguments are passed by the class's explicit ``config_arguments`` mapping (constructor
        argument -> source name of ``allocator_sources``); a mapping naming an unknown source
        or an argument the constructor does not take raises InvalidInputError. A user's
        allocator object is copied (a fresh problem cache per run) and keeps its own settings;
        the config's bounds and constraints are added at each call (``call_constraints``).
        """
        spec = self.config.allocator if method is None else None
        if isinstance(spec, Allocator):
            return copy.deepcopy(spec)
        cls = spec if spec is not None else allocator_class(method or self.config.allocation_method)
        sources = self.allocator_sources()
        mapping = getattr(cls, "config_arguments", {})
        unknown = sorted(set(mapping.values()) - set(sources))
        if unknown:
            raise InvalidInputError(
                f"{cls.__name__}.config_arguments names unknown sources {unknown}; "
                f"known: {sorted(sources)}"
            )
        kwargs = {argument: sources[source] for argument, source in mapping.items()}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise InvalidInputError(
                f"{cls.__name__} does not take the arguments its config_arguments map "
                f"({sorted(kwargs)}): {exc}"
            ) from exc

    def call_constraints(self) -> tuple[Constraint, ...]:
        """Constraints passed at each allocation: the config's, for a user's allocator object
        (built-in and registered classes get them through their constructor)."""
        return self.config.all_constraints() if isinstance(self.config.allocator, Allocator) else ()

    def rebalancer(self) -> Rebalancer:
        """Return ``config.rebalancer`` or the calendar policy of ``rebalance_frequency``."""
        return self.config.rebalancer or CalendarRebalancer(self.config.rebalance_frequency)

    # --- backtest ---------------------------------------------------------------------------
    def backtest(
        self, data: Mapping[str, pd.DataFrame] | pd.DataFrame, progress: bool | None = None
    ) -> PortfolioResult:
        """Run a backtest over ``data`` and return a :class:`PortfolioResult`.

        Args:
            data: ``{symbol: frame with a close column}`` (the spec's dict) or a wide frame of
                closes; aligned by ``cvxport.data.align_prices`` (common window, gaps refused
                unless ``config.max_forward_fill`` covers them).
            progress: tqdm progress bar (None: only on a terminal).

        The live ``state`` becomes the backtest's final holdings (so holdings and target come
        from the same run) unless the user set it (``set_state``) or traded it live
        (``execute_rebalance``): such a state is kept.
        """
        config = self.config
        config.validate()
        rebalancer = self.rebalancer()
        lookback = max(config.lookback, getattr(rebalancer, "lookback", 0))
        bench = benchmark_prices(config.benchmark, data)
        aligned = aligned_for_lookback(
            without_benchmark(data, config.benchmark, config.symbols), config, lookback
        )
        prices = aligned.prices
        ppy = config.periods_per_year or infer_periods_per_year(prices.index)
        if bench is not None:  # checked before the run: a missing date fails fast
            benchmark_returns(bench, prices.index[lookback - 1 :])
        # the window data terms may use (ctx.benchmark_returns, ctx.prices), by date
        run_data: dict = {"prices": prices}
        if bench is not None:
            run_data["benchmark_returns"] = benchmark_returns_for_terms(bench, prices.index)
            if (
                isinstance(config.benchmark, str) and config.benchmark in config.symbols
            ):  # a held symbol: its weights are known
                run_data["benchmark_weights"] = benchmark_weights_of(config)
        self._run_data = run_data
        try:
            with single_threaded_blas():
                run = run_backtest(
                    prices, self._allocate_fn(), rebalancer, lookback, transaction_rates(config),
                    config.initial_capital, ppy, progress, policy=self.run_policy(),
                )  # fmt: skip
        finally:
            self._run_data = {}
        if run.skipped:
            when, why = run.skipped[0]
            warnings.warn(
                f"{len(run.skipped)} rebalances held (infeasible), first at {when}: {why}",
                UserWarning,
                stacklevel=2,
            )
        rate = self.config.risk_free_rate
        result = portfolio_result(run, prices, aligned.start_symbol, ppy, bench, rate)
        self._remember(result, prices, run, ppy)
        if result.outcome == "ruined":
            message = (
                f"equity reached {run.cash:.6g} at {result.ruined_at}: every position was sold "
                "at that close and the backtest ended there (PortfolioResult.outcome == 'ruined')"
            )
            if config.on_ruin == "raise":
                raise EquityDepletedError(message, result)
            warnings.warn(message, RuinWarning, stacklevel=2)
        logger.info(
            "backtest %s: %d symbols, %s to %s, %d rebalances, %d held, total return %.2f%%",
            config.allocation_method.value, len(prices.columns), run.index[0].date(),
            run.index[-1].date(), len(result.rebalance_dates), len(run.skipped),
            result.metrics["total_return"],
        )  # fmt: skip
        return result

    def _allocate_fn(self, method: AllocationMethod | str | None = None):
        """The engine's allocate callable over one allocator built for the whole run."""
        allocator = self.make_allocator() if method is None else self.make_allocator(method)
        extra = self.call_constraints() if method is None else ()
        run_data = getattr(self, "_run_data", {})
        closes, bench = run_data.get("prices"), run_data.get("benchmark_returns")
        weights = run_data.get("benchmark_weights")
        choices = OpeningAllocations(allocator, extra)  # from cash: no turnover limit
        close_values = None if closes is None else closes.to_numpy(dtype=float)

        def allocate(window: pd.DataFrame, current: np.ndarray) -> np.ndarray:
            # windows are cut from aligned, validated prices: finite returns, unique symbols;
            # the closes of the window's last bar and the benchmark reach terms that use them
            data = {} if bench is None else {"benchmark_returns": bench}
            if weights is not None:
                data["benchmark_weights"] = weights
            if closes is not None:  # the row of the window's last bar (1 us; .loc took 17 us)
                data["prices"] = close_values[closes.index.get_loc(window.index[-1])]
            chosen, chosen_extra = choices.choose(current)
            return chosen.allocate(
                window, chosen_extra, checked=True, previous_weights=current, **data
            ).to_numpy()

        return allocate

    def run_policy(self) -> RunPolicy:
        """The engine's policy from the config: fallback, borrow rate, exposure cap."""
        config = self.config
        choice = config.on_infeasible
        fallback = choice not in ("hold", "raise", "cash")
        return RunPolicy(
            on_infeasible="fallback" if fallback else choice,
            fallback=self._allocate_fn(choice) if fallback else None,
            fallback_name=choice if fallback else "fallback",
            borrow_rate=config.borrow_rate,
            exposure_cap=config.exposure_cap,
        )

    def _remember(self, result: PortfolioResult, prices: pd.DataFrame, run, ppy: int) -> None:
        symbols = list(prices.columns)
        self.result_ = result
        self.returns_ = prices_to_returns(prices)
        self.periods_per_year_ = ppy
        if len(result.allocation_history):
            self.target_ = result.allocation_history.iloc[-1].rename("target")
        last = prices.loc[run.index[-1]]
        if self.state.source in ("initial", "backtest"):
            # a simulated book: replaced by the brokers' balances before any live rebalance
            self.state = PortfolioState(
                holdings=dict(zip(symbols, map(float, run.units), strict=True)),
                cash=float(run.cash),
                prices={s: float(last[s]) for s in symbols},
                timestamp=run.index[-1],
                source="backtest",
            )

    # --- live operations --------------------------------------------------------------------
    def update_market_data(self, data: Mapping[str, pd.DataFrame] | pd.DataFrame) -> pd.Series:
        """Take new price history, refresh last prices and the target; return the target."""
        config = self.config
        config.validate()
        bench = benchmark_prices(config.benchmark, data)
        without = without_benchmark(data, config.benchmark, config.symbols)
        aligned = aligned_for_lookback(without, config, config.lookback)
        prices = aligned.prices
        returns = prices_to_returns(prices)
        allocator = self.make_allocator()
        current = self._current_array(prices.iloc[-1].to_dict())
        window = returns.iloc[-config.lookback :]
        terms = {"prices": prices.iloc[-1]}  # the window data terms may use, as a backtest's
        if bench is not None:
            terms["benchmark_returns"] = benchmark_returns_for_terms(bench, window.index)
            if isinstance(config.benchmark, str) and config.benchmark in config.symbols:
                terms["benchmark_weights"] = benchmark_weights_of(config)
        chosen, extra = OpeningAllocations(allocator, self.call_constraints()).choose(current)
        target = chosen.allocate(window, extra, previous_weights=current, **terms)
        self.returns_ = returns
        self.periods_per_year_ = config.periods_per_year or infer_periods_per_year(prices.index)
        self.state.prices = {s: float(prices.iloc[-1][s]) for s in config.symbols}
        self.state.timestamp = prices.index[-1]
        self.target_ = target.rename("target")
        return self.target_.copy()

    def _current_array(self, prices: Mapping[str, float]) -> np.ndarray:
        if not self.state.has_positions:
            return np.zeros(len(self.config.symbols))
        weights = self.state.weights(prices)
        return weights.reindex(self.config.symbols).fillna(0.0).to_numpy()

    def get_current_allocation(self) -> pd.Series:
        """Return the weights held now (fractions of equity, cash excluded), by symbol."""
        if not self.state.has_positions:
            return pd.Series(0.0, index=self.config.symbols, name="current")
        weights = self.state.weights(self.state.prices)
        return weights.reindex(self.config.symbols).fillna(0.0).rename("current")

    def get_target_allocation(self) -> pd.Series:
        """Return the standing target weights (fractions of equity), by symbol."""
        if self.target_ is None:
            raise InvalidInputError(
                "no target allocation yet: run backtest(data) or update_market_data(data) first"
            )
        return self.target_.reindex(self.config.symbols).fillna(0.0).copy()

    def calculate_drift(self) -> float:
        """Return max |current - target| over symbols (absolute fraction of equity)."""
        current = self.get_current_allocation()
        target = self.get_target_allocation()
        return drift(current.to_numpy(), target.to_numpy())

    def calculate_rebalance_trades(self, current_prices: Mapping[str, float]) -> list[dict]:
        """Return the trades that move the holdings to the target at ``current_prices``.

        Each trade is a dict: symbol, action ('BUY'/'SELL'), quantity (units), price, value
        (quote currency), cost (estimated, ``transaction_cost`` x value). Sells come first.
        Sizes leave room for the estimated costs, so the target holds after paying them, and
        for ``config.cash_buffer``. The sizer is the backtest's (no market limits here: see
        ``plan_trades``; ``execute_rebalance`` applies the brokers').
        """
        return self.plan_trades(current_prices).trades

    def plan_trades(
        self, current_prices: Mapping[str, float], limits: Mapping[str, MarketLimits] | None = None
    ) -> TradePlan:
        """Size the trades to the target with :func:`cvxport.backtest.sizer.size_trades`:
        ``config.cash_buffer`` kept in cash, ``limits`` (symbol -> MarketLimits) applied."""
        if self.config.cash_asset is not None:
            raise InvalidInputError(
                f"PortfolioConfig.cash_asset {self.config.cash_asset!r} exists only in a "
                "backtest: live, cash is the quote currency (keep some with cash_buffer)"
            )
        symbols = self.config.symbols
        prices = check_prices(current_prices, symbols)
        price = np.array([prices[s] for s in symbols])
        units = np.array([self.state.holdings.get(s, 0.0) for s in symbols])
        target = self.get_target_allocation().to_numpy()
        return size_trades(
            symbols, units, self.state.cash, price, target, self.config.transaction_cost,
            self.config.cash_buffer, limits,
        )  # fmt: skip

    async def execute_rebalance(
        self,
        executor,
        prices: Mapping[str, float] | None = None,
        order_type: str = "market",
        limit_offset: float = 0.0,
    ):
        """Rebalance the live account through ``executor`` (see :mod:`cvxport.brokers.live`).

        Recovers the orders the journal left open, reconciles the state with the brokers'
        balances (a simulated state is replaced by them; another must agree within dust),
        sizes the trades under the brokers' market limits and ``config.cash_buffer``,
        journals every order, then sends them; each fill is checked, applied to ``state``
        and journaled in one step as it arrives, and appended to ``trade_log``.

        Args:
            executor: a ``cvxport.broker_bridge.UnifiedExecutor`` with brokers configured.
            prices: sizing prices (quote currency); None asks the brokers, else the state's.
            order_type: 'market' or 'limit' (priced ``limit_offset`` through the price).

        Returns:
            The ExecutionReport: fills, failures, and trades skipped below a minimum.

        Raises:
            RebalanceInProgressError: another rebalance of this manager is running.
            ReconciliationError: state and brokers disagree (named); nothing was sent.
        """
        return await live.rebalance(self, executor, prices, order_type, limit_offset)

    async def preview_rebalance(self, executor, prices: Mapping[str, float] | None = None):
        """Dry run: the TradePlan a rebalance would send now, from the brokers' balances and
        prices; nothing is sent, written or changed."""
        return await live.preview(self, executor, prices)

    async def recover(self, executor) -> list:
        """Resolve the orders the journal left open (after a crash or a cancellation) by
        asking their brokers; return the fills booked."""
        return await live.recover(self, executor)
