"""``python -m cvxport frontier``: the efficient frontier plot (PNG) and table (CSV)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cvxport.backtest.inputs import with_cash_asset
from cvxport.cli.common import (
    add_bounds_options,
    add_data_options,
    add_output_options,
    load_input,
    portfolio_config,
    positive_int,
)
from cvxport.data import align_prices, prices_to_returns
from cvxport.report_files import save_figure


def command_frontier(args: argparse.Namespace) -> int:
    """Compute the efficient frontier of the last ``--window`` bars; write PNG and CSV."""
    from cvxport.analysis import EfficientFrontier

    data = load_input(args)
    config = portfolio_config(args, list(data))
    aligned = align_prices(data, [s for s in config.symbols if s != config.cash_asset],
                           config.max_forward_fill)  # fmt: skip
    if config.cash_asset is not None:  # created as the backtest creates it
        aligned = with_cash_asset(aligned, config)
    returns = prices_to_returns(aligned.prices).iloc[-args.window :]
    frontier = EfficientFrontier(
        returns,
        constraints=[config.weight_bounds()],
        risk_free_rate=config.risk_free_rate,
        solver=config.solver,
    )
    table = frontier.calculate(n_points=args.points)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "frontier.csv", index=False)
    save_figure(lambda ax: frontier.plot_frontier(ax=ax), out / "frontier.png", (8, 5))
    best = frontier.get_maximum_sharpe_portfolio()
    print(
        f"efficient frontier of {len(returns.columns)} assets over {len(returns)} bars "
        f"({returns.index[0].date()} to {returns.index[-1].date()}), bounds "
        f"[{config.min_position_weight}, {config.max_position_weight}]:"
    )
    print(table[["target_return", "volatility", "sharpe_ratio"]].iloc[:: max(1, len(table) // 10)])
    print("maximum Sharpe weights:", best.round(4).to_dict())
    print(f"wrote frontier.csv, frontier.png to {out}/")
    return 0


def register(commands) -> None:
    """Add the ``frontier`` sub-command to the sub-parsers ``commands``."""
    frontier = commands.add_parser(
        "frontier",
        help="efficient frontier plot (PNG) and table",
        description=__doc__.split(": ", 1)[1],
    )
    add_data_options(frontier)
    add_bounds_options(frontier)
    frontier.add_argument("--window", type=positive_int, default=365, help="bars of returns used")
    frontier.add_argument("--points", type=positive_int, default=50, help="frontier points")
    add_output_options(frontier)
    frontier.set_defaults(func=command_frontier)
