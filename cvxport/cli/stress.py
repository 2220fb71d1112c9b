"""``python -m cvxport stress``: the spec's stress scenarios on the backtest's final holdings."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from cvxport.cli.common import add_common_options, load_input, make_manager, open_fraction
from cvxport.report_files import save_figure


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
    from cvxport.plotting import plot_stress_results

    data = load_input(args)
    manager = make_manager(args, list(data))
    manager.backtest(data, progress=args.progress)
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


def register(commands) -> None:
    """Add the ``stress`` sub-command to the sub-parsers ``commands``."""
    stress = commands.add_parser(
        "stress",
        help="stress scenarios on the backtest's holdings",
        description=__doc__.split(": ", 1)[1],
    )
    add_common_options(stress)
    stress.add_argument("--confidence", type=open_fraction, default=0.95, help="VaR/ES confidence")
    stress.set_defaults(func=command_stress)
