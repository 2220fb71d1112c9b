"""The backtest engine's run as the user's :class:`PortfolioResult`."""

from __future__ import annotations

import pandas as pd

from cvxport.backtest.outcome import (
    benchmark_returns,
    outcomes_frame,
    relative_report,
    ruined_fractions,
)
from cvxport.backtest.result import PortfolioResult
from cvxport.metrics.performance import annualized_turnover
from cvxport.metrics.report import performance_fractions, to_report_units


def portfolio_result(
    run, prices: pd.DataFrame, start_symbol: str, ppy: int, bench: pd.Series | None, rate: float
) -> PortfolioResult:
    """The :class:`PortfolioResult` of an engine ``run`` over ``prices`` (quote currency, the
    run's symbols as columns): curves, histories and the metrics in report units, relative to
    ``bench`` (closes) where given; ``rate`` is the annual risk-free rate (fraction) and
    ``ppy`` the periods per year."""
    symbols = list(prices.columns)
    equity = pd.Series(run.equity, index=run.index, name="equity")
    asset_returns = prices.pct_change().reindex(run.index).fillna(0.0)
    weights = pd.DataFrame(run.weights, index=run.index, columns=symbols)
    weights.attrs["asset_returns"] = asset_returns
    weights.attrs["periods_per_year"] = ppy
    dates = [run.index[row] for row in run.rebalance_rows]
    allocation = pd.DataFrame(run.targets, index=pd.DatetimeIndex(dates), columns=symbols)
    turnover = pd.Series(run.turnover, index=pd.DatetimeIndex(dates), name="turnover")
    ruined = run.ruined_row is not None
    fractions = ruined_fractions(equity) if ruined else performance_fractions(equity, ppy, rate)
    n_years = (len(equity) - 1) / ppy
    fractions["turnover"] = annualized_turnover(turnover, n_years) if n_years > 0 else 0.0
    metrics = to_report_units(fractions)
    metrics["total_costs"] = float(run.costs.sum())
    metrics["n_rebalances"] = len(dates)
    metrics["n_skipped_rebalances"] = len(run.skipped)
    metrics["total_financing"] = float(run.financing.sum())
    bench_returns = None if bench is None else benchmark_returns(bench, run.index)
    if bench_returns is not None and not ruined and len(equity) > 2:
        metrics.update(relative_report(equity.pct_change().iloc[1:], bench_returns, ppy, rate))
    return PortfolioResult(
        equity_curve=equity,
        returns=equity.pct_change().iloc[1:].rename("returns"),
        weights_history=weights,
        allocation_history=allocation,
        rebalance_dates=dates,
        metrics=metrics,
        trades=run.trades,
        costs=pd.Series(run.costs, index=run.index, name="costs"),
        turnover=turnover,
        asset_returns=asset_returns,
        prices=prices.loc[run.index],
        start_symbol=start_symbol,
        periods_per_year=ppy,
        exposure=pd.Series(run.exposure, index=run.index, name="exposure"),
        skipped_rebalances=run.skipped,
        rebalance_outcomes=outcomes_frame(run.outcomes),
        benchmark_returns=bench_returns,
        financing=pd.Series(run.financing, index=run.index, name="financing"),
        deleverage_dates=[run.index[row] for row in run.deleverage_rows],
        outcome="ruined" if ruined else "completed",
        ruined_at=run.index[run.ruined_row] if ruined else None,
    )
