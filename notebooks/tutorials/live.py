"""05 Live rebalancing: a paper account, a dry run, the rebalance, the journal, a restart."""

from cells import code, md

CELLS = [
    md(
        """
        # Live rebalancing

        From a target to orders at a broker, step by step, against a `PaperBroker` (a simulated
        cash account filling market orders at the last price it was given). The same calls
        drive an exchange through `cvxport.broker_bridge.CCXTBroker` (the optional `live`
        extra); nothing here touches a network.

        1. compute today's target from the price history,
        2. preview the rebalance (a dry run: nothing sent, nothing written),
        3. execute it: every fill is applied to the manager's state and journaled together,
        4. let the market move, and rebalance again,
        5. restart from the journal, as after a crash.

        Quantities are units of the base asset, prices and cash are USDT, weights fractions.
        """
    ),
    code(
        """
        import tempfile
        from pathlib import Path

        import pandas as pd
        from IPython.display import Markdown, display

        from cvxport import AllocationMethod, PortfolioConfig, PortfolioManager, load_bundled_prices
        from cvxport.broker_bridge import PaperBroker, UnifiedExecutor

        SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
        history = load_bundled_prices(SYMBOLS, end="2025-06-30")
        journal = Path(tempfile.mkdtemp()) / "live.sqlite"
        config = PortfolioConfig(
            symbols=SYMBOLS,
            allocation_method=AllocationMethod.RISK_PARITY,
            min_position_weight=0.05,
            max_position_weight=0.40,
            transaction_cost=0.001,
            cash_buffer=0.01,  # keep 1% of equity in cash
            journal_path=str(journal),  # SQLite: orders, fills and state
        )
        manager = PortfolioManager(config)
        target = manager.update_market_data(history)
        target.round(4).to_frame()
        """
    ),
    md(
        """
        ## 1. A paper account

        100,000 USDT of cash and no position, the last closes as prices, the same 0.1% fee
        as the backtest. The executor routes each order to a broker (here the only one).
        """
    ),
    code(
        """
        closes = {symbol: float(frame["close"].iloc[-1]) for symbol, frame in history.items()}
        broker = PaperBroker(name="paper", cash=100_000, prices=closes, commission_rate=0.001)
        executor = UnifiedExecutor()
        executor.add_broker(broker, default=True)
        broker
        """
    ),
    md(
        """
        ## 2. Dry run

        `preview_rebalance` reads the broker's balances and prices and sizes the orders a
        rebalance would send, leaving room for the fees and the cash buffer. Nothing is sent
        and nothing is written: the account and the journal are as before.
        """
    ),
    code(
        """
        plan = await manager.preview_rebalance(executor)
        assert broker.cash == 100_000 and not any(broker.positions.values())
        pd.DataFrame(plan.trades).round(4)
        """
    ),
    md(
        """
        ## 3. The rebalance

        `execute_rebalance` reconciles the state with the broker, journals every order, sends
        the sells then the buys, and books each fill into the state and the journal in one
        step as it arrives.
        """
    ),
    code(
        """
        report = await manager.execute_rebalance(executor)
        fills = pd.DataFrame(
            [
                {"symbol": f.order.symbol, "side": f.order.side.value, "quantity": f.quantity,
                 "price": f.price, "commission": f.commission}
                for f in report.fills
            ]
        )  # fmt: skip
        display(fills.round(4))
        held = manager.get_current_allocation()
        same = all(abs(broker.positions[s] - manager.state.holdings[s]) < 1e-12 for s in SYMBOLS)
        display(
            Markdown(
                f"{len(report.fills)} fills, {len(report.failures)} failures; the manager's "
                f"units match the broker's: {same}; cash {manager.state.cash:,.2f} USDT "
                f"(broker: {broker.cash:,.2f}); the weights sit at most "
                f"{(held - target).abs().max():.2%} of equity below the target: the 1% cash "
                "buffer, spread over the assets."
            )
        )
        """
    ),
    md(
        """
        ## 4. A month later

        The market moves: the broker quotes the closes of 2025-07-31 and the manager sees the
        month's prices. The weights have drifted; the new target is computed on the longer
        history and the rebalance trades the difference only.
        """
    ),
    code(
        """
        month = load_bundled_prices(SYMBOLS, end="2025-07-31")
        broker.set_prices({s: float(frame["close"].iloc[-1]) for s, frame in month.items()})
        new_target = manager.update_market_data(month)
        print(f"drift before trading: {manager.calculate_drift():.2%}")
        report = await manager.execute_rebalance(executor)
        print(f"{len(report.fills)} fills; drift after: {manager.calculate_drift():.2%}")
        pd.DataFrame({"target": new_target, "held": manager.get_current_allocation()}).round(4)
        """
    ),
    md(
        """
        ## 5. Restart from the journal

        A new manager opened on the same journal replays the last confirmed state: after a
        crash nothing filled is lost and nothing is sent twice (open orders are looked up at
        the broker by their client order id on the next rebalance).
        """
    ),
    code(
        """
        restarted = PortfolioManager(config)
        pd.DataFrame(
            {
                "before restart": {**manager.state.holdings, "cash": manager.state.cash},
                "after restart": {**restarted.state.holdings, "cash": restarted.state.cash},
            }
        )
        """
    ),
]
