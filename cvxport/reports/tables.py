"""The tables of a backtest report: metrics with units, monthly returns, rebalances and costs,
risk contributions, a buy-and-hold benchmark and the provenance (versions, data, config)."""

from __future__ import annotations

import dataclasses
import platform
from importlib import metadata

import pandas as pd

from cvxport.backtest.result import PortfolioResult
from cvxport.metrics.allocation import risk_contributions
from cvxport.metrics.report import METRIC_UNITS

OTHER_UNITS = {
    "total_costs": "quote currency",
    "total_financing": "quote currency",
    "n_rebalances": "count",
    "n_skipped_rebalances": "count",
}
"""Units of the report keys outside ``METRIC_UNITS`` (which has only percent and ratio)."""

DESCRIPTIONS = {
    "total_return": "growth of equity over the whole backtest",
    "annualized_return": "geometric mean return per year",
    "volatility": "standard deviation of returns, annualized",
    "sharpe_ratio": "annualized excess return / volatility",
    "sortino_ratio": "annualized excess return / downside deviation",
    "max_drawdown": "largest fall from a running peak",
    "calmar_ratio": "annualized return / |max drawdown|",
    "turnover": "one-way traded notional per year, of equity",
    "total_costs": "transaction costs paid",
    "total_financing": "interest paid on borrowed cash",
    "n_rebalances": "rebalances that traded",
    "n_skipped_rebalances": "rebalances held because infeasible",
    "alpha": "annualized return not explained by the benchmark (CAPM)",
    "beta": "sensitivity to the benchmark's returns",
    "tracking_error": "volatility of returns relative to the benchmark, annualized",
    "information_ratio": "annualized active return / tracking error",
}

PACKAGES = ("cvxport", "cvxpy", "clarabel", "osqp", "ecos", "numpy", "pandas", "scipy")


def metric_unit(key: str) -> str:
    """The unit of a report key: percent, ratio, quote currency, count (or '' if unknown)."""
    return METRIC_UNITS.get(key) or OTHER_UNITS.get(key, "")


def metrics_table(metrics: dict[str, float]) -> pd.DataFrame:
    """One row per metric: value (ints stay ints), unit and what it measures; index ``metric``."""
    keys = list(metrics)
    units = [metric_unit(key) for key in keys]
    values = [
        int(metrics[key]) if unit == "count" else float(metrics[key])
        for key, unit in zip(keys, units, strict=True)
    ]
    # object dtype keeps counts as ints (a float column would write 63 as 63.0)
    frame = pd.DataFrame({"metric": keys, "value": pd.Series(values, dtype=object), "unit": units})
    frame["description"] = [DESCRIPTIONS.get(key, "") for key in frame["metric"]]
    return frame.set_index("metric")


def format_value(value: float, unit: str) -> str:
    """A metric as text in its unit: '12.34 %', '1.23', '5,832.56', '63'."""
    if unit == "count":
        return f"{int(value):d}"
    if unit == "percent":
        return f"{value:,.2f} %"
    if unit == "quote currency":
        return f"{value:,.2f}"
    return f"{value:,.3f}"


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Return of each calendar month (fractions), years x months 1..12, plus a 'Year' column.

    The first month runs from the curve's first value; months without data are NaN.
    """
    month_end = equity.resample("ME").last().dropna()
    previous = month_end.shift(1)
    previous.iloc[0] = equity.iloc[0]
    returns = month_end / previous - 1.0
    table = pd.DataFrame(
        {"year": returns.index.year, "month": returns.index.month, "r": returns.to_numpy()}
    ).pivot(index="year", columns="month", values="r")
    table = table.reindex(columns=range(1, 13))
    table["Year"] = (1.0 + table[list(range(1, 13))].fillna(0.0)).prod(axis=1) - 1.0
    return table


def rebalance_summary(result: PortfolioResult) -> pd.DataFrame:
    """Per calendar year: rebalances, trades, one-way turnover (fraction), costs (quote)."""
    trades = result.trades_frame
    years = sorted(set(result.equity_curve.index.year))
    turnover = result.turnover
    rows = []
    for year in years:
        in_year = [d for d in result.rebalance_dates if d.year == year]
        traded = trades[pd.DatetimeIndex(trades["timestamp"]).year == year] if len(trades) else []
        rows.append(
            {
                "year": year,
                "rebalances": len(in_year),
                "trades": len(traded),
                "turnover": float(turnover[turnover.index.year == year].sum()),
                "costs": float(result.costs[result.costs.index.year == year].sum()),
            }
        )
    table = pd.DataFrame(rows).set_index("year")
    total = {
        "rebalances": len(result.rebalance_dates),
        "trades": len(trades),
        "turnover": float(turnover.sum()),
        "costs": float(result.costs.sum()),
    }
    table.loc["total"] = pd.Series(total)
    return table.astype({"rebalances": int, "trades": int})


def final_risk_contributions(result: PortfolioResult, window: int | None = None) -> pd.DataFrame:
    """The last target's weights and shares of portfolio variance (fractions summing to 1).

    The covariance is the sample covariance of the last ``window`` bars of asset returns (the
    whole backtest when None). Without risk (all cash, or no variance) the shares are NaN.
    """
    returns = result.asset_returns.iloc[1:]
    if window is not None:
        returns = returns.iloc[-window:]
    weights = (
        result.allocation_history.iloc[-1]
        if len(result.allocation_history)
        else result.weights_history.iloc[-1]
    )
    covariance = returns.cov()
    if float(weights @ covariance @ weights) <= 0.0:
        shares = pd.Series(float("nan"), index=weights.index)
    else:
        shares = risk_contributions(weights, covariance)
    return pd.DataFrame({"weight": weights, "risk_share": shares})


def buy_and_hold(result: PortfolioResult) -> pd.Series:
    """Equity of an equal-weight buy-and-hold of the same assets from the same capital (no
    costs, no rebalancing), on the result's dates."""
    prices = result.prices
    capital = float(result.equity_curve.iloc[0])
    units = capital / len(prices.columns) / prices.iloc[0]
    return (prices * units).sum(axis=1).rename("Equal-weight buy and hold")


def benchmark_equity(result: PortfolioResult, name: object = None) -> pd.Series:
    """The result's benchmark (``benchmark_returns``) as equity from the same capital.

    The first row is the start (no return yet), like the portfolio's equity curve.
    """
    returns = result.benchmark_returns.reindex(result.equity_curve.index).fillna(0.0)
    returns.iloc[0] = 0.0
    capital = float(result.equity_curve.iloc[0])
    label = f"Benchmark ({name})" if isinstance(name, str) else "Benchmark"
    return (capital * (1.0 + returns).cumprod()).rename(label)


def default_benchmark(result: PortfolioResult, name: object = None) -> pd.Series:
    """The result's own benchmark as equity when it has one, else the equal-weight buy and hold."""
    own = getattr(result, "benchmark_returns", None)
    if isinstance(own, pd.Series) and len(own):
        return benchmark_equity(result, name)
    return buy_and_hold(result)


def versions() -> dict[str, str]:
    """Python and the installed versions of cvxport and its numerical dependencies."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def data_provenance(result: PortfolioResult) -> dict[str, str]:
    """What the backtest ran on: symbols, dates, bars, annualization, the start's cause."""
    prices, equity = result.prices, result.equity_curve
    return {
        "symbols": ", ".join(str(s) for s in prices.columns),
        "backtest": f"{equity.index[0].date()} to {equity.index[-1].date()} ({len(equity)} bars)",
        "periods per year": str(result.periods_per_year),
        "skipped rebalances": str(len(result.skipped_rebalances)),
    }


def config_table(config: object | None) -> dict[str, str]:
    """A dataclass config (``PortfolioConfig``) as field -> text; empty when None."""
    if config is None or not dataclasses.is_dataclass(config):
        return {}
    shown = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        value = getattr(value, "value", value)
        if isinstance(value, (list, tuple)) and not value:
            value = "none"
        shown[field.name] = "default" if value is None else str(value)
    return shown
