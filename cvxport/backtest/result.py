"""``PortfolioResult``: everything a backtest produced, in plain pandas objects."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class PortfolioResult:
    """The outcome of ``PortfolioManager.backtest``.

    The first row of every time series is the start: all cash, at the bar before the first
    allocation (so the first allocation's cost shows in the curve).

    Attributes:
        equity_curve: (T,) equity after each bar's trades and costs, quote currency.
        returns: (T-1,) simple returns of ``equity_curve`` (fractions).
        weights_history: (T, n) weights held after each bar's close, fractions of equity
            (cash excluded). The truths are the fields ``asset_returns`` and
            ``periods_per_year``; the frame's ``attrs`` carry them too only so that the
            spec's two-argument ``PortfolioMetrics().calculate(equity, weights)`` works.
        allocation_history: (R, n) target weights set at each rebalance.
        rebalance_dates: the R timestamps at which the portfolio traded.
        metrics: report metrics in the spec's units (see ``cvxport.metrics.METRIC_UNITS``).
        trades: one dict per fill: timestamp, symbol, action ('BUY'/'SELL'), quantity (units),
            price, value (quote currency, positive), cost (quote currency).
        costs: (T,) transaction costs paid at each bar, quote currency.
        turnover: (R,) one-way turnover of each rebalance, fractions of equity.
        asset_returns: (T, n) simple returns of each asset over the same index.
        prices: (T, n) closes used.
        start_symbol: the symbol whose first bar set the common start of the data.
        periods_per_year: bars per year used for annualization.
        exposure: (T,) gross exposure (sum of weights; 1 - exposure is cash).
        skipped_rebalances: (timestamp, reason) of rebalances held because infeasible.
        rebalance_outcomes: one row per attempted rebalance (index timestamp): ``outcome``
            ('solved', 'held', 'cash', 'fallback:<method>') and ``reason`` of a failure.
        benchmark_returns: (T,) simple returns of the benchmark, or None without one.
        financing: (T,) interest paid on negative cash at each bar, quote currency.
        deleverage_dates: bars traded back to ``PortfolioConfig.exposure_cap``.
        outcome: 'completed', or 'ruined' when equity reached zero or less: every position
            was sold at ``ruined_at``'s close and the series end there.
        ruined_at: the bar of ruin, or None.
    """

    equity_curve: pd.Series
    returns: pd.Series
    weights_history: pd.DataFrame
    allocation_history: pd.DataFrame
    rebalance_dates: list[pd.Timestamp]
    metrics: dict[str, float]
    trades: list[dict]
    costs: pd.Series
    turnover: pd.Series
    asset_returns: pd.DataFrame
    prices: pd.DataFrame
    start_symbol: str
    periods_per_year: int
    exposure: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    skipped_rebalances: list[tuple[pd.Timestamp, str]] = field(default_factory=list)
    rebalance_outcomes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["outcome", "reason"])
    )
    benchmark_returns: pd.Series | None = None
    financing: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    deleverage_dates: list[pd.Timestamp] = field(default_factory=list)
    outcome: str = "completed"
    ruined_at: pd.Timestamp | None = None

    @property
    def trades_frame(self) -> pd.DataFrame:
        """Return the trades as a DataFrame (one row per fill)."""
        columns = ["timestamp", "symbol", "action", "quantity", "price", "value", "cost"]
        return pd.DataFrame(self.trades, columns=columns)

    @property
    def benchmark(self) -> pd.Series | None:
        """(T,) the benchmark's value, starting at the initial equity (quote currency), from
        ``benchmark_returns`` (its first row is not earned); None without a benchmark."""
        if self.benchmark_returns is None or self.equity_curve.empty:
            return None
        growth = (1.0 + self.benchmark_returns.iloc[1:]).cumprod()
        start = float(self.equity_curve.iloc[0])
        values = pd.concat([pd.Series([1.0], index=self.benchmark_returns.index[:1]), growth])
        return (start * values).rename("Benchmark")
