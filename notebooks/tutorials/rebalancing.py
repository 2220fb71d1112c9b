"""04 Rebalancing policies: calendar frequencies, drift threshold, volatility target."""

from cells import code, md

CELLS = [
    md(
        """
        # Rebalancing policies

        When to trade is a choice apart from what to hold. With the spec's risk parity
        portfolio fixed, this tutorial compares

        1. the calendar (`rebalance_frequency`: daily, weekly, monthly, quarterly: the first
           bar of each new period),
        2. a drift threshold (`ThresholdRebalancer`: trade when any weight strays too far from
           its target),
        3. a volatility target (`VolatilityTargetRebalancer`: scale the exposure so the
           forecast volatility meets a target, the rest in cash),

        by what they cost (turnover, fees) and what they deliver (return, risk), over the two
        years from 2024 of the bundled daily closes. Turnover is one-way traded notional per
        year as a percent of equity; costs are in USDT.
        """
    ),
    code(
        """
        import matplotlib.pyplot as plt
        import pandas as pd
        from IPython.display import Markdown, display

        from cvxport import (
            AllocationMethod,
            PortfolioConfig,
            PortfolioManager,
            ThresholdRebalancer,
            VolatilityTargetRebalancer,
            load_bundled_prices,
            plotting,
        )

        pd.set_option("display.width", 120)
        SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
        data = load_bundled_prices(SYMBOLS, start="2024-01-01")
        config = PortfolioConfig(
            symbols=SYMBOLS,
            allocation_method=AllocationMethod.RISK_PARITY,
            min_position_weight=0.05,
            max_position_weight=0.40,
            transaction_cost=0.001,
        )
        manager = PortfolioManager(config)
        KEYS = ["annualized_return", "volatility", "sharpe_ratio", "max_drawdown", "turnover"]
        KEYS += ["total_costs", "n_rebalances"]
        """
    ),
    md(
        """
        ## 1. Calendar rebalancing

        More frequent rebalancing keeps the weights closer to the target and pays more costs
        (`"daily"` is a fourth choice).
        """
    ),
    code(
        """
        calendar = {}
        for frequency in ["weekly", "monthly", "quarterly"]:
            config.rebalance_frequency = frequency
            calendar[frequency] = manager.backtest(data)
        config.rebalance_frequency = "monthly"
        pd.DataFrame({name: r.metrics for name, r in calendar.items()}).loc[KEYS].round(2)
        """
    ),
    md(
        """
        How far the weights drift between rebalances: the largest gap between the weights held
        and the standing target, on each day.
        """
    ),
    code(
        """
        def drift_path(result):
            \"\"\"max |held - standing target| per bar (fraction of equity).\"\"\"
            held = result.weights_history
            standing = result.allocation_history.reindex(held.index).ffill()
            return (held - standing).abs().max(axis=1).dropna()


        fig, ax = plt.subplots(figsize=(10, 3.5))
        for name in ["weekly", "monthly", "quarterly"]:
            drift_path(calendar[name]).plot(ax=ax, lw=0.8, label=name)
        ax.set_ylabel("max |w - target| (fraction)")
        ax.set_title("Drift from the target between calendar rebalances")
        ax.legend()
        plt.show()
        """
    ),
    md(
        """
        ## 2. Trade on drift, not on dates

        `ThresholdRebalancer(drift_threshold=0.05)` looks at every bar and trades only when a
        weight strays more than 5 percentage points from its target. It replaces the calendar
        through `config.rebalancer`. On every bar where it did not trade, the drift stayed
        within the threshold:
        """
    ),
    code(
        """
        config.rebalancer = ThresholdRebalancer(drift_threshold=0.05)
        threshold = manager.backtest(data)
        drift = drift_path(threshold)
        quiet = ~drift.index.isin(threshold.rebalance_dates)
        assert drift[quiet].max() <= 0.05 + 1e-12
        display(
            Markdown(
                f"{len(threshold.rebalance_dates)} rebalances instead of "
                f"{len(calendar['monthly'].rebalance_dates)} monthly ones; the largest drift on "
                f"a bar without trading was {drift[quiet].max():.2%}."
            )
        )
        ax = drift.plot(figsize=(10, 3), lw=0.8, label="drift")
        ax.axhline(0.05, color="red", ls="--", label="threshold")
        ax.set_ylabel("max |w - target| (fraction)")
        ax.legend()
        plt.show()
        """
    ),
    md(
        """
        ## 3. Target a volatility

        `VolatilityTargetRebalancer(target_volatility=0.4, lookback=20)` rebalances monthly
        and invests min(1, 40% / forecast) of the equity, the forecast being the annualized
        volatility of the fully invested target over the last 20 days; the rest stays in cash.
        """
    ),
    code(
        """
        config.rebalancer = VolatilityTargetRebalancer(target_volatility=0.4, lookback=20)
        vol_target = manager.backtest(data)
        config.rebalancer = None  # back to the calendar
        exposure = vol_target.exposure.iloc[1:]
        display(
            Markdown(
                f"Realized volatility {vol_target.metrics['volatility']:.1f}% a year "
                f"(fully invested, monthly: {calendar['monthly'].metrics['volatility']:.1f}%); "
                f"exposure between {exposure.min():.0%} and {exposure.max():.0%}, "
                f"{exposure.mean():.0%} on average."
            )
        )
        ax = exposure.plot(figsize=(10, 3), lw=0.8)
        ax.set_ylabel("Gross exposure (fraction)")
        ax.set_title("Share of equity invested under the volatility target")
        plt.show()
        """
    ),
    md(
        """
        ## 4. Side by side
        """
    ),
    code(
        """
        policies = {
            "monthly": calendar["monthly"],
            "weekly": calendar["weekly"],
            "threshold 5%": threshold,
            "vol target 40%": vol_target,
        }
        display(pd.DataFrame({n: r.metrics for n, r in policies.items()}).loc[KEYS].round(2))
        fig, ax = plt.subplots(figsize=(10, 4.5))
        for name, r in policies.items():
            plotting.plot_equity_curve(r.equity_curve.rename(name), ax=ax)
        ax.legend(loc="upper left")
        plt.show()
        """
    ),
    code(
        """
        costs = {name: r.metrics["total_costs"] for name, r in policies.items()}
        dd = {name: r.metrics["max_drawdown"] for name, r in policies.items()}
        display(
            Markdown(
                f"The drift threshold paid {costs['threshold 5%']:,.0f} USDT of costs, "
                f"{costs['threshold 5%'] / costs['weekly']:.0%} of the weekly calendar's "
                f"{costs['weekly']:,.0f}, with every weight kept within 5 points of its target. "
                f"The volatility target's deepest drawdown was {dd['vol target 40%']:.1f}% "
                f"against {dd['monthly']:.1f}% fully invested."
            )
        )
        """
    ),
]
