"""01 Quick start: data, configuration, backtest, metrics, plots, HTML report, next trades."""

from cells import code, md

CELLS = [
    md(
        """
        # Quick start

        In ten minutes: load prices (the bundled Binance daily closes, or your own CSV files),
        describe a portfolio with `PortfolioConfig`, backtest it, read the metrics with their
        units, plot the result, write a one-file HTML report, compare allocation methods and
        compute the trades of the next rebalance.

        **Units.** Weights, returns, costs and rates are fractions (0.05 = 5%) everywhere in
        the API. Only `result.metrics` prints like the spec (`{:.2f}%`): its percent keys are
        fraction x 100, ratios are plain, `total_costs` is in the quote currency (USDT here)
        and the `n_...` keys are counts. `cvxport.reports.metric_unit(key)` tells which.
        """
    ),
    code(
        """
        import tempfile
        import warnings
        from pathlib import Path

        import matplotlib.pyplot as plt
        import pandas as pd

        from cvxport import (
            AllocationMethod,
            PortfolioConfig,
            PortfolioManager,
            load_bundled_market_caps,
            load_bundled_prices,
            plotting,
        )
        from cvxport.data import read_price_files
        from cvxport.reports import html_report, metrics_table
        from cvxport.reports.tables import buy_and_hold

        pd.set_option("display.width", 120)
        SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
        """
    ),
    md(
        """
        ## 1. Prices

        `load_bundled_prices` returns the spec's dict: one OHLCV frame per symbol, indexed by
        day, closes in USDT.
        """
    ),
    code(
        """
        data = load_bundled_prices(SYMBOLS)
        pd.DataFrame(
            {
                symbol: {
                    "first day": frame.index[0].date(),
                    "last day": frame.index[-1].date(),
                    "days": len(frame),
                    "last close (USDT)": round(frame["close"].iloc[-1], 2),
                }
                for symbol, frame in data.items()
            }
        ).T
        """
    ),
    md(
        """
        Your own data: one CSV file per symbol (the file name is the symbol) with a date column
        and a `close` column. Here we write the bundled closes the way a European spreadsheet
        would (`Date` column, day-first dates) and read them back: `dayfirst=True` (the
        command line's `--dayfirst`) reads them as the same days.
        """
    ),
    code(
        """
        folder = Path(tempfile.mkdtemp())
        for symbol, frame in data.items():
            export = pd.DataFrame(
                {"Date": frame.index.strftime("%d/%m/%Y"), "Close": frame["close"].to_numpy()}
            )
            export.to_csv(folder / f"{symbol.replace('/', '-')}.csv", index=False)
        print((folder / "BTC-USDT.csv").read_text().splitlines()[:3])

        mine = read_price_files([folder], dayfirst=True)
        same = True
        for symbol in SYMBOLS:
            theirs = mine[symbol.replace("/", "-")]["Close"]
            same &= theirs.equals(data[symbol]["close"].rename("Close"))
        print(f"read {list(mine)}; same closes on the same days: {same}")
        """
    ),
    md(
        """
        ## 2. A portfolio and its backtest

        The spec's portfolio: risk parity (each asset contributes the same share of risk),
        rebalanced on the first day of each month, 5% to 40% per asset, 0.1% costs on traded
        notional. The manager reads `config` at every call, so changing a field takes effect
        at the next backtest.
        """
    ),
    code(
        """
        config = PortfolioConfig(
            initial_capital=100000,
            symbols=SYMBOLS,
            allocation_method=AllocationMethod.RISK_PARITY,
            rebalance_frequency="monthly",
            min_position_weight=0.05,  # Min 5% per asset
            max_position_weight=0.40,  # Max 40% per asset
            transaction_cost=0.001,  # 0.1% commission
        )
        manager = PortfolioManager(config)
        result = manager.backtest(data)

        print(f"Total Return: {result.metrics['total_return']:.2f}%")
        print(f"Sharpe Ratio: {result.metrics['sharpe_ratio']:.2f}")
        print(f"Max Drawdown: {result.metrics['max_drawdown']:.2f}%")
        """
    ),
    md(
        """
        Every metric with its unit and what it measures:
        """
    ),
    code(
        """
        metrics_table(result.metrics)
        """
    ),
    md(
        """
        ## 3. Plots

        Every plotting function takes `ax=None` and returns the Axes. The equity curve is on
        a log scale (the same height is the same growth factor) against an equal-weight buy and
        hold of the same assets; the weights' legend sits outside the data.
        """
    ),
    code(
        """
        fig, axes = plt.subplots(3, 1, figsize=(10, 10), constrained_layout=True)
        plotting.plot_equity_curve(
            result.equity_curve.rename("Risk parity"), ax=axes[0], benchmark=buy_and_hold(result)
        )
        plotting.plot_drawdown(result.equity_curve, ax=axes[1])
        plotting.plot_weights(result.weights_history, ax=axes[2])
        plt.show()
        """
    ),
    md(
        """
        ## 4. A report in one file

        `html_report` writes one self-contained HTML page (figures embedded, nothing fetched
        when it opens): metrics, equity against the benchmark, drawdown, weights, risk
        contributions, monthly returns, rebalances and costs, and the provenance (solver,
        data range, configuration, package versions). The command line writes the same page
        with `python -m cvxport backtest --html`.
        """
    ),
    code(
        """
        page = html_report(result, folder / "report.html", config=config)
        text = page.read_text()
        print(f"{page.name}: {page.stat().st_size / 1e3:.0f} kB, {text.count('<img')} figures")
        print([line.split("</h2>")[0] for line in text.split("<h2>")[1:]])
        """
    ),
    md(
        """
        ## 5. Every allocation method side by side

        Two methods need data of their own: market-cap weighting takes the bundled CoinGecko
        caps of 2021-12-31 (held fixed, a simplification), risk budgeting the spec's budgets.
        Maximum Sharpe holds the portfolio at a rebalance where no portfolio within the bounds
        beats the risk-free rate; such dates are in `result.skipped_rebalances` (with a
        warning, silenced here).
        """
    ),
    code(
        """
        caps_2021 = load_bundled_market_caps("2021-12-31")
        manager.set_market_caps({symbol: caps_2021[symbol] for symbol in SYMBOLS})
        config.risk_budget = {"BTC/USDT": 0.5, "ETH/USDT": 0.3, "SOL/USDT": 0.2}

        results = {}
        for method in AllocationMethod:
            config.allocation_method = method
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results[method.value] = manager.backtest(data)
        config.allocation_method = AllocationMethod.RISK_PARITY

        keys = ["annualized_return", "volatility", "sharpe_ratio", "max_drawdown", "turnover"]
        keys += ["n_skipped_rebalances"]
        pd.DataFrame({name: r.metrics for name, r in results.items()}).loc[keys].T.round(2)
        """
    ),
    code(
        """
        fig, ax = plt.subplots(figsize=(10, 5))
        for name, r in results.items():
            plotting.plot_equity_curve(r.equity_curve.rename(name), ax=ax)
        ax.set_title("Every allocation method, monthly rebalancing")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        plt.show()
        """
    ),
    md(
        """
        ## 6. The next rebalance

        After a backtest, the manager's `state` holds the final holdings and its target is the
        last rebalance's; `calculate_rebalance_trades` sizes the orders that move the holdings
        back to the target at given prices (sells first, room left for the costs).
        """
    ),
    code(
        """
        live = PortfolioManager(config)
        spec = live.backtest(data)
        print(f"Current weights: {live.get_current_allocation().round(4).to_dict()}")
        print(f"Target weights:  {live.get_target_allocation().round(4).to_dict()}")
        print(f"Current drift: {live.calculate_drift():.2%}")
        trades = live.calculate_rebalance_trades(spec.prices.iloc[-1].to_dict())
        pd.DataFrame(trades).round(4)
        """
    ),
    md(
        """
        Next: `02_solvers_and_constraints` (constraints and solvers), `03_analysis`
        (frontier, stress, attribution) and `04_rebalancing_policies` (calendar, drift
        threshold, volatility target).
        """
    ),
]
