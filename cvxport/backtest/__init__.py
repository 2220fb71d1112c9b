"""The backtest engine, transaction costs and the result object."""

from cvxport.backtest.costs import post_cost_equity
from cvxport.backtest.engine import BacktestRun, RunPolicy, run_backtest
from cvxport.backtest.result import PortfolioResult

__all__ = ["BacktestRun", "PortfolioResult", "RunPolicy", "post_cost_equity", "run_backtest"]
