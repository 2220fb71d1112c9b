"""``python -m cvxport rebalance``: bring an exchange account to the target weights.

The target comes from the price history (bundled data or ``--data``) and the portfolio
options; balances, prices, lot sizes and minimums come from the exchange (ccxt, extra
``live``). API keys are read from the environment only: ``CVXPORT_API_KEY``,
``CVXPORT_API_SECRET`` (and ``CVXPORT_API_PASSWORD`` where the exchange needs one); they are
never printed, logged or journaled. ``--dry-run`` prints the orders it would send and sends
nothing. Set ``journal_path`` (and ``cash_buffer``) in the ``--config`` file: a rebalance
without a journal file cannot be recovered after a crash.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys

import numpy as np

from cvxport.cli.common import (
    add_bounds_options,
    add_data_options,
    add_portfolio_options,
    load_input,
    make_manager,
    open_fraction,
)
from cvxport.errors import InvalidInputError

logger = logging.getLogger(__name__)

KEY_VARIABLES = {"apiKey": "CVXPORT_API_KEY", "secret": "CVXPORT_API_SECRET",
                 "password": "CVXPORT_API_PASSWORD"}  # fmt: skip


def exchange_settings(args: argparse.Namespace) -> dict:
    """ccxt's constructor settings: ``--ccxt-config`` (no keys allowed there) plus the keys
    from the environment."""
    settings: dict = {"enableRateLimit": True, "timeout": int(args.timeout * 1000)}
    if args.ccxt_config:
        try:
            with open(args.ccxt_config, encoding="utf-8") as handle:
                extra = json.load(handle)
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"--ccxt-config {args.ccxt_config}: {exc}") from None
        keys = [k for k in extra if k in KEY_VARIABLES]
        if not isinstance(extra, dict) or keys:
            raise InvalidInputError(
                f"--ccxt-config {args.ccxt_config} must be a JSON object without keys "
                f"{keys or list(KEY_VARIABLES)}: pass them as environment variables "
                f"{list(KEY_VARIABLES.values())}"
            )
        settings.update(extra)
    for field, variable in KEY_VARIABLES.items():
        if os.environ.get(variable):
            settings[field] = os.environ[variable]
    if "apiKey" not in settings or "secret" not in settings:
        raise InvalidInputError(
            f"set the exchange keys in the environment: {KEY_VARIABLES['apiKey']} and "
            f"{KEY_VARIABLES['secret']}"
        )
    return settings


def drift_of(manager, units: np.ndarray, cash: float, prices: dict[str, float]) -> float:
    """max |weight - target| of ``units`` (n,) and ``cash`` at ``prices`` (fraction)."""
    price = np.array([prices[s] for s in manager.config.symbols])
    values = units * price
    weights = values / (cash + values.sum())
    return float(np.max(np.abs(weights - manager.get_target_allocation().to_numpy())))


def cash_after(cash: float, trades: list[dict]) -> float:
    """Cash once ``trades`` fill at their prices and pay their estimated costs."""
    for trade in trades:
        sign = 1.0 if trade["action"] == "BUY" else -1.0
        cash -= sign * trade["value"] + trade["cost"]
    return cash


def print_trades(trades: list[dict], title: str) -> None:
    print(f"{title}: {len(trades)}")
    for trade in trades:
        reason = f"  ({trade['reason']})" if "reason" in trade else ""
        print(
            f"  {trade['action']:<4} {trade['quantity']:.8g} {trade['symbol']} at "
            f"{trade['price']:.8g}, value {trade['value']:.2f}{reason}"
        )


async def run_rebalance(args: argparse.Namespace, manager) -> int:
    from cvxport.brokers.ccxt_broker import CCXTBroker
    from cvxport.brokers.executor import UnifiedExecutor
    from cvxport.brokers.lifecycle import OrderPolicy

    executor = UnifiedExecutor(policy=OrderPolicy(timeout=args.timeout))
    settings = exchange_settings(args)
    symbols = manager.config.symbols
    async with CCXTBroker(args.exchange, symbols, args.quote, settings) as broker:
        executor.add_broker(broker, default=True)
        if args.dry_run:
            prices = {**manager.state.prices, **await executor.get_prices(symbols)}
            plan = await manager.preview_rebalance(executor, prices)
            held = await executor.get_positions()
            units = np.array([held.get(s, 0.0) for s in symbols])
            cash = await executor.get_cash()
            print_trades(plan.trades, "orders it would send (dry run, nothing sent)")
            print_trades(plan.skipped, "skipped below the exchange's minimums")
            print(f"drift now: {drift_of(manager, units, cash, prices):.2%}")
            after = drift_of(manager, plan.new_units, cash_after(cash, plan.trades), prices)
            print(f"drift after: {after:.2%}")
            return 0
        report = await manager.execute_rebalance(
            executor, order_type=args.order_type, limit_offset=args.limit_offset
        )
    print_trades(manager.trade_log[-len(report.fills) :] if report.fills else [], "filled")
    print_trades(report.skipped, "skipped below the exchange's minimums")
    for failure in report.failures:
        print(f"  FAILED {failure.order.side.value} {failure.order.symbol}: {failure.error}")
    print(f"drift after: {manager.calculate_drift():.2%}")
    return 0 if report.ok else 1


def command_rebalance(args: argparse.Namespace) -> int:
    """Compute the target from the price history, then rebalance (or preview) the account."""
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    data = load_input(args)
    manager = make_manager(args, list(data))
    manager.update_market_data(data)
    if manager.config.journal_path is None and not args.dry_run:
        print("warning: no journal_path in --config: a crash cannot be recovered", file=sys.stderr)
    return asyncio.run(run_rebalance(args, manager))


def register(commands) -> None:
    """Add the ``rebalance`` sub-command to the sub-parsers ``commands``."""
    rebalance = commands.add_parser(
        "rebalance",
        help="rebalance an exchange account to the target (ccxt)",
        description=__doc__.split(": ", 1)[1],
    )
    add_data_options(rebalance)
    add_bounds_options(rebalance)
    add_portfolio_options(rebalance)
    group = rebalance.add_argument_group("exchange")
    group.add_argument("--exchange", default="binance", help="ccxt exchange id")
    group.add_argument("--quote", default="USDT", help="cash currency of the symbols")
    group.add_argument(
        "--ccxt-config", help="JSON of extra ccxt settings (urls, options), never the keys"
    )
    group.add_argument("--dry-run", action="store_true", help="print the orders, send nothing")
    group.add_argument("--order-type", choices=["market", "limit"], default="market")
    group.add_argument(
        "--limit-offset", type=open_fraction, default=0.001,
        help="limit price through the last price, fraction",
    )  # fmt: skip
    group.add_argument("--timeout", type=float, default=30.0, help="seconds per order")
    group.add_argument("-v", "--verbose", action="store_true", help="log to stderr (INFO)")
    rebalance.set_defaults(func=command_rebalance)
