"""Command line analyses: ``python -m cvxport frontier`` and ``python -m cvxport stress``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from cvxport.data import align_prices, prices_to_returns
from cvxport.report_files import save_figure


def command_frontier(args: argparse.Namespace) -> int:
    """Compute the efficient frontier of the last ``--window`` bars; write PNG and CSV."""
    from cvxport.analysis import EfficientFrontier
    from cvxport.cli import load_input
    from cvxport.constraints import WeightBounds

    data = load_input(args)
    returns = prices_to_returns(align_prices(data).prices).iloc[-args.window :]
    frontier = EfficientFrontier(
        returns,
        constraints=[WeightBounds(args.min_weight, args.max_weight)],
        risk_free_rate=args.risk_free_rate,
        solver=args.solver,
    )
    table = frontier.calculate(n_points=args.points)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "frontier.csv", index=False)
    save_figure(lambda ax: frontier.plot_frontier(ax=ax), out / "frontier.png", (8, 5))
    best = frontier.get_maximum_sharpe_portfolio()
    print(f"efficient frontier of {len(returns.columns)} assets over {len(returns)} bars:")
    print(table[["target_return", "volatility", "sharpe_ratio"]].iloc[:: max(1, len(table) // 10)])
    print("maximum Sharpe weights:", best.round(4).to_dict())
    print(f"wrote frontier.csv, frontier.png to {out}/")
    return 0


def default_scenarios(symbols: list[str]) -> dict[str, dict[str, float]]:
    """The spec's three scenarios, the crash shocking every symbol (-30% to -50%)."""
    shocks = [-0.30, -0.40, -0.50]
    crash = {s: shocks[min(i, 2)] for i, s in enumerate(symbols)}
    return {
        "crypto_crash": crash,
        "correlation_spike": {"correlation_increase": 0.3},
        "volatility_shock": {"volatility_multiplier": 2.0},
    }


def command_stress(args: argparse.Namespace) -> int:
    """Backtest, then stress the final holdings with the spec's scenarios; write PNG and CSV."""
    from cvxport.analysis import PortfolioStressTester
    from cvxport.cli import load_input, make_manager
    from cvxport.plotting import plot_stress_results

    data = load_input(args)
    manager = make_manager(args, list(data))
    manager.backtest(data)
    tester = PortfolioStressTester(manager, confidence=args.confidence)
    results = tester.run_scenarios(default_scenarios(list(data)))
    rows = {
        name: {k: v for k, v in result.items() if not isinstance(v, (dict, pd.Series))}
        for name, result in results.items()
    }
    table = pd.DataFrame(rows).T
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "stress.csv")
    save_figure(lambda ax: plot_stress_results(results, ax=ax), out / "stress.png", (8, 5))
    for name, result in results.items():
        print(f"{name}: loss {result['portfolio_loss']:.2%}, worst asset {result['worst_asset']}")
    print(f"wrote stress.csv, stress.png to {out}/")
    return 0


def add_analysis_commands(commands, add_common_options: Callable) -> None:
    """Register the ``frontier`` and ``stress`` sub-commands."""
    frontier = commands.add_parser("frontier", help="efficient frontier plot (PNG) and table")
    add_common_options(frontier)
    frontier.add_argument("--window", type=int, default=365, help="bars of returns used")
    frontier.add_argument("--points", type=int, default=50, help="frontier points")
    frontier.set_defaults(func=command_frontier, min_weight=0.0, max_weight=1.0)
    stress = commands.add_parser("stress", help="stress scenarios on the backtest's holdings")
    add_common_options(stress)
    stress.add_argument("--confidence", type=float, default=0.95, help="VaR/ES confidence")
    stress.set_defaults(func=command_stress)
