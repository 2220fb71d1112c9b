"""07 Modeling: your own risk measure, the backends that solve it, long/short and costs."""

from cells import code, md

CELLS = [
    md(
        """
        # Your own risk measure, and who solves it

        Every method declares one cvxpy problem; a backend solves it. This tutorial writes a
        risk measure of its own (the worst one-day loss), uses it as an objective and as a
        limit beside the built-in CVaR, checks each answer against its definition, and shows
        which backend answered each problem (`info_.solver`) and how the backends compare.
        Units: returns and risk figures are daily fractions of NAV; weights are fractions.
        """
    ),
    code(
        """
        from dataclasses import dataclass

        import cvxpy as cp
        import numpy as np
        import pandas as pd
        from IPython.display import Markdown, display

        import cvxport as cx
        from cvxport.data import align_prices

        returns = cx.prices_to_returns(align_prices(cx.load_bundled_prices()).prices).loc["2024"]
        print(returns.shape, returns.index[0].date(), returns.index[-1].date())
        """
    ),
    md(
        """
        ## A measure in a few lines

        A risk measure is a frozen object with `expression(ctx)`, a convex cvxpy expression of
        the weights (and any rows it needs), and `value(weights, returns)`, its definition in
        numpy. The context hands it the window's data as Parameters: `ctx.returns` is the
        T x n scenario matrix. Written homogeneous in `ctx.scale`, the same object works in
        every method, maximum Sharpe's Charnes-Cooper form included.
        """
    ),
    code(
        """
        @dataclass(frozen=True)
        class WorstLoss(cx.RiskMeasure):
            \"\"\"Largest one-period loss over the window, a fraction of NAV.\"\"\"

            def expression(self, ctx):
                return cp.max(-(ctx.returns @ ctx.weights)), []

            def value(self, weights, returns, **data):
                return float(np.max(-(np.asarray(returns) @ np.asarray(weights))))


        bounds = [cx.WeightBounds(0.0, 0.35)]
        least_worst = cx.MeanRiskAllocator(WorstLoss(), constraints=bounds)
        w_worst = least_worst.allocate(returns)
        least_cvar = cx.MeanRiskAllocator(cx.CVaR(0.95), constraints=bounds)
        w_cvar = least_cvar.allocate(returns)
        table = pd.DataFrame(
            {
                "worst-loss objective": w_worst,
                "CVaR 95% objective": w_cvar,
            }
        )
        display(table.round(3).T)
        for name, weights in table.items():
            w = weights.to_numpy()
            display(
                Markdown(
                    f"**{name}**: worst loss {WorstLoss().value(w, returns):.4f}, "
                    f"CVaR 95% {cx.CVaR(0.95).value(w, returns):.4f} (daily fractions)"
                )
            )
        display(Markdown(f"Solvers: `{least_worst.info_.solver}`, `{least_cvar.info_.solver}`."))
        """
    ),
    md(
        """
        Each objective wins on its own measure, as it must: the check below recomputes both
        measures from the weights and the window alone.
        """
    ),
    code(
        """
        worst = [WorstLoss().value(table[c].to_numpy(), returns) for c in table]
        cvar = [cx.CVaR(0.95).value(table[c].to_numpy(), returns) for c in table]
        assert worst[0] <= worst[1] + 1e-9 and cvar[1] <= cvar[0] + 1e-9
        print("each optimum is the best on its own measure")
        """
    ),
    md(
        """
        ## The same object as a limit, in every method

        `RiskLimit(measure, limit)` is a constraint object: here the worst day may lose at
        most 5% more than the least possible worst loss found above, in minimum variance,
        maximum Sharpe (Charnes-Cooper) and a mean-variance utility alike.
        """
    ),
    code(
        """
        cap = round(1.05 * worst[0], 4)
        limit = cx.RiskLimit(WorstLoss(), cap)
        rows = {}
        for allocator in (
            cx.MinimumVarianceAllocator(constraints=[limit]),
            cx.MaximumSharpeAllocator(constraints=[limit]),
            cx.MeanRiskAllocator(cx.Variance(), objective="utility", constraints=[limit]),
        ):
            w = allocator.allocate(returns).to_numpy()
            rows[type(allocator).__name__] = {
                "worst loss": WorstLoss().value(w, returns),
                "solver": allocator.info_.solver,
            }
        frame = pd.DataFrame(rows).T
        assert (frame["worst loss"] <= cap + 1e-7).all()
        display(Markdown(f"Worst-loss cap: {cap:.4f} of NAV in one day."))
        frame
        """
    ),
    md(
        """
        ## Which backend, and how they compare

        With no solver named, a method walks the default chain: the exact `ACTIVE_SET` (a
        quadratic objective with linear rows, turnover and gross exposure included) or
        `NEWTON` (the risk-budget barrier) when they accept the problem, then Clarabel.
        `compare_solvers` runs every backend side by side on one problem; "not applicable"
        says why a backend does not take it.
        """
    ),
    code(
        """
        majors = cx.GroupLimits(("BTC/USDT", "ETH/USDT"), upper=0.5)
        allocator = cx.MinimumVarianceAllocator(
            constraints=[cx.WeightBounds(0.0, 0.3), majors, cx.TurnoverLimit(0.6)]
        )
        previous = np.full(len(returns.columns), 1 / len(returns.columns))
        comparison = cx.compare_solvers(allocator, returns, previous_weights=previous)
        comparison[["status", "objective", "time", "max_weight_diff", "error"]]
        """
    ),
    md(
        """
        ## Long/short, leverage and costs

        A long/short minimum variance with per-asset bounds of -20% to 50% and a gross
        exposure of at most 150%, then the same with a transaction cost in the objective: the
        cost term trades less away from the previous weights.
        """
    ),
    code(
        """
        long_short = [cx.WeightBounds(-0.2, 0.5), cx.GrossExposure(1.5)]
        plain = cx.MinimumVarianceAllocator(long_only=False, constraints=long_short)
        costly = cx.MinimumVarianceAllocator(
            long_only=False, constraints=long_short, costs=cx.TransactionCost(rate=0.002)
        )
        w_plain = plain.allocate(returns, previous_weights=previous)
        w_costly = costly.allocate(returns, previous_weights=previous)
        summary = pd.DataFrame(
            {
                "gross": [w_plain.abs().sum(), w_costly.abs().sum()],
                "turnover from equal weight": [
                    (w_plain - previous).abs().sum(),
                    (w_costly - previous).abs().sum(),
                ],
                "solver": [plain.info_.solver, costly.info_.solver],
            },
            index=["no cost term", "cost 20 bps"],
        )
        assert summary["gross"].max() <= 1.5 + 1e-7
        summary
        """
    ),
]
