"""``python -m cvxport frontier``: the efficient frontier plot (PNG) and table (CSV)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cvxport.cli.common import add_common_options, load_input
from cvxport.data import align_prices, prices_to_returns
from cvxport.report_files import save_figure


def command_frontier(args: argparse.Namespace) -> int:
    """Compute the efficient frontier of the last ``--window`` bars; write PNG and CSV."""
    from cvxport.analysis import EfficientFrontier
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


def register(commands) -> None:
    """Add the ``frontier`` sub-command to the sub-parsers ``commands``."""
    frontier = commands.add_parser("frontier", help="efficient frontier plot (PNG) and table")
    add_common_options(frontier)
    frontier.add_argument("--window", type=int, default=365, help="bars of returns used")
    frontier.add_argument("--points", type=int, default=50, help="frontier points")
    frontier.set_defaults(func=command_frontier, min_weight=0.0, max_weight=1.0)
