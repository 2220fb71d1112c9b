"""06 Research at scale: a parameter sweep and a walk-forward selection on the bundled data."""

from cells import code, md

CELLS = [
    md(
        """
        # Sweeps and walk-forward selection

        `cvxport.research.run_sweep` backtests every combination of a grid and returns one
        row per run (parameters, status, error text, every metric); `walk_forward` chooses a
        config on each training window by a named metric, holds it over the next test window
        and stitches the test windows into one out-of-sample equity curve.

        Here both run serially on the bundled daily closes of BTC, ETH, SOL, BNB and XRP
        (2023-2025). The same calls take `backend="joblib", n_jobs=...` or `backend="dask",
        client=...` and return the same table, bit for bit. Units: the metric columns follow
        `result.metrics` (returns, volatility and drawdown in percent, ratios plain).
        """
    ),
    code(
        """
        import warnings

        import matplotlib.pyplot as plt
        from IPython.display import Markdown, display

        from cvxport import PortfolioConfig, PortfolioManager, load_bundled_prices
        from cvxport.plotting import plot_sweep
        from cvxport.research import configure, expand_grid, run_sweep, walk_forward

        SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"]
        data = load_bundled_prices(SYMBOLS, start="2023-01-01", end="2025-12-31")
        base = PortfolioConfig(
            symbols=SYMBOLS,
            transaction_cost=0.001,
            min_position_weight=0.05,
            max_position_weight=0.5,
        )
        grid = {
            "allocation_method": [
                "equal_weight",
                "inverse_volatility",
                "minimum_variance",
                "risk_parity",
                "hrp",
            ],
            "lookback": [30, 180],
            "rebalance_frequency": ["weekly", "monthly"],
        }
        """
    ),
    md(
        """
        ## The sweep

        Twenty backtests (5 methods x 2 lookbacks x 2 frequencies) and one deliberately
        impossible config (bounds of at most 10% over five assets cannot sum to 100%): it
        becomes a row with its error instead of stopping the others.
        """
    ),
    code(
        """
        runs = expand_grid(grid)  # one dict per combination, the first key varying slowest
        runs.append({"allocation_method": "minimum_variance", "max_position_weight": 0.1})
        table = run_sweep(base, runs, data, progress=False)
        failed = table[table["status"] == "error"]
        display(
            Markdown(
                f"{len(table)} runs, {int((table['status'] == 'ok').sum())} ok, {len(failed)} "
                f"failed: run {failed.index[0]} says `{failed['error'].iloc[0]}`"
            )
        )
        columns = [
            "allocation_method",
            "lookback",
            "rebalance_frequency",
            "sharpe_ratio",
            "annualized_return",
            "volatility",
            "max_drawdown",
            "turnover",
        ]
        table.sort_values("sharpe_ratio", ascending=False)[columns].head(8).round(2)
        """
    ),
    code(
        """
        fig, ax = plt.subplots(figsize=(9, 4.5))
        plot_sweep(table, ax=ax)
        plt.show()
        by_method = table.groupby("allocation_method")["sharpe_ratio"].agg(["min", "median", "max"])
        by_method.round(2)
        """
    ),
    md(
        """
        ## Walk-forward selection

        The best row of a sweep is chosen with hindsight. Walk-forward selection chooses
        with what was known: on each training window of 365 days the config with the best
        Sharpe ratio among four (two methods x two lookbacks, monthly) is picked, then held
        for the next 180 days, and the window rolls on. Each test window starts from cash at
        the previous window's equity, so every switch pays its entry costs.
        """
    ),
    code(
        """
        methods = ["minimum_variance", "risk_parity"]
        candidates = {"allocation_method": methods, "lookback": [30, 180]}
        wf = walk_forward(
            base, candidates, data, train=365, test=180, metric="sharpe_ratio", progress=False
        )
        shown = ["test_start", "test_end", "allocation_method", "lookback", "score"]
        wf.folds[shown].round({"score": 2})
        """
    ),
    code(
        """
        oos_start, oos_end = wf.equity.index[0], wf.equity.index[-1]
        best = table["sharpe_ratio"].idxmax()
        hindsight = runs[best]
        cut = {s: f.loc[:oos_end] for s, f in data.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = PortfolioManager(configure(base, hindsight)).backtest(cut).equity_curve
        full = full.loc[oos_start:] / full.loc[oos_start:].iloc[0] * wf.equity.iloc[0]
        fig, ax = plt.subplots(figsize=(9, 4.5))
        ax.plot(wf.equity, label="walk-forward (out of sample)")
        ax.plot(
            full,
            label=f"best in hindsight: {hindsight['allocation_method']}, "
            f"{hindsight['lookback']}, {hindsight['rebalance_frequency']}",
        )
        ax.set_yscale("log")
        ax.set_ylabel("equity (USDT)")
        ax.legend()
        plt.show()
        display(
            Markdown(
                f"Walk-forward Sharpe ratio {wf.metrics['sharpe_ratio']:.2f} and total return "
                f"{wf.metrics['total_return']:.1f}% from {oos_start.date()} to {oos_end.date()}, "
                f"over {len(wf.folds)} folds and {wf.folds['run'].nunique()} distinct configs; "
                f"the config that was best over the whole sweep period had "
                f"{table.loc[best, 'sharpe_ratio']:.2f} there, "
                "a number no one could have traded on."
            )
        )
        """
    ),
]
