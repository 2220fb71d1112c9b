"""Write and execute the tutorial notebooks of cvxport; their outputs are committed.

Run from the repository root: ``python notebooks/build_notebooks.py [NAME ...]`` (all by
default). Cell sources live in code, so they can be reviewed: ``tutorials/<topic>.py`` (one
module per notebook, each defining ``CELLS``) and the two lists below. A new tutorial is one
module in ``tutorials/`` and one line in ``NOTEBOOKS``. ``tests/portfolio/test_notebooks.py``
checks that the committed notebooks match these sources, carry their outputs, and re-execute
without an error. Every number a notebook states is computed by its code, never typed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))  # cells.py and tutorials/ beside us

from cells import HERE, code, execute, md, notebook
from tutorials import live, modeling, quick_start, rebalancing, research

# --------------------------------------------------------------------------------------------
# 02: solvers and constraints
# --------------------------------------------------------------------------------------------
SOLVERS = [
    md(
        """
        # Solvers and constraints

        For quants who compare solvers: the same allocation through Clarabel, OSQP, ECOS and
        SCS; the answers checked against theory (closed form, KKT conditions, risk
        budgets); a constraint written by the user and used unchanged in three methods; group
        and turnover limits; an infeasible combination explained; what `allocator.info_`
        records.

        Data: the last 365 daily returns of the 11 bundled Binance pairs (fractions).
        """
    ),
    code(
        """
        from dataclasses import asdict, dataclass

        import cvxpy as cp
        import numpy as np
        import pandas as pd
        from IPython.display import Markdown, display

        from cvxport import (
            SOLVER_OPTIONS,
            Constraint,
            GroupLimits,
            InfeasibleError,
            MaximumSharpeAllocator,
            MinimumVarianceAllocator,
            RiskBudgetAllocator,
            RiskParityAllocator,
            TurnoverLimit,
            WeightBounds,
            align_prices,
            compare_solvers,
            installed_solvers,
            load_bundled_prices,
            prices_to_returns,
        )
        from cvxport.metrics import hhi

        pd.set_option("display.width", 140)
        pd.set_option("display.max_colwidth", 60)
        returns = prices_to_returns(align_prices(load_bundled_prices()).prices).iloc[-365:]
        print(returns.shape, returns.index[0].date(), "to", returns.index[-1].date())
        """
    ),
    md(
        """
        ## The solver table

        `SOLVER_OPTIONS` is the one place solver settings live. Problems are scaled to O(1)
        (unit average variance) before solving, so these absolute tolerances mean something.
        """
    ),
    code(
        """
        print("installed:", installed_solvers())
        settings = {}
        for name, options in SOLVER_OPTIONS.items():
            settings[name] = ", ".join(f"{key}={value}" for key, value in options.items())
        pd.Series(settings, name="options").to_frame()
        """
    ),
    md(
        """
        ## `compare_solvers`

        One allocation per installed solver: status, objective of the scaled problem, time
        (seconds, including the build), iterations and the largest weight difference from the
        answer with the lowest objective (fractions of NAV). OSQP solves quadratic programs
        only, so it cannot take the exponential cone of the risk-parity log barrier.
        """
    ),
    code(
        """
        allocators = {
            "minimum variance": MinimumVarianceAllocator(),
            "maximum Sharpe": MaximumSharpeAllocator(),
            "risk parity (cvxpy)": RiskParityAllocator(solver="CLARABEL"),
        }
        tables = {}
        for name, allocator in allocators.items():
            tables[name] = compare_solvers(allocator, returns)
            tables[name]["status"] = tables[name]["status"].str.slice(0, 60)
            print(name)
            display(tables[name])
        """
    ),
    code(
        """
        worst = pd.Series({name: t["max_weight_diff"].max() for name, t in tables.items()})
        failed = {}
        for name, table in tables.items():
            errors = table.index[table["status"].str.startswith("error")]
            if len(errors):
                failed[name] = list(errors)
        differences = ", ".join(f"{name} {value:.1e}" for name, value in worst.items())
        display(
            Markdown(
                f"Largest weight difference between solvers, per method: {differences}. "
                f"Solvers that could not take the problem: {failed}."
            )
        )
        """
    ),
    md(
        """
        ## Checks against theory

        ### Minimum variance without constraints: the closed form

        With short sales allowed (`long_only=False`) and only sum(w) = 1, the minimum variance
        weights are Sigma^-1 1 / (1' Sigma^-1 1).
        """
    ),
    code(
        """
        unconstrained = MinimumVarianceAllocator(long_only=False)
        w = unconstrained.allocate(returns)
        sigma = returns.cov().to_numpy()
        closed_form = np.linalg.solve(sigma, np.ones(len(sigma)))
        closed_form /= closed_form.sum()
        error = np.abs(w.to_numpy() - closed_form).max()
        assert error < 1e-6
        display(
            Markdown(
                f"Largest difference from the closed form: {error:.1e}; "
                f"{(w < 0).sum()} of {len(w)} weights are short, down to {w.min():.1%}."
            )
        )
        """
    ),
    md(
        """
        ### Long-only minimum variance: the KKT conditions

        At the optimum of min w' Sigma w over the simplex, the marginal risk (Sigma w)_i is
        the same for every held asset and no smaller for any asset left out.
        """
    ),
    code(
        """
        long_only = MinimumVarianceAllocator().allocate(returns)
        marginal = pd.Series(sigma @ long_only.to_numpy(), index=returns.columns)
        held = long_only > 1e-6
        level = marginal[held].mean()
        spread = (marginal[held] / level - 1).abs().max()
        slack = (marginal[~held] / level - 1).min()
        assert spread < 1e-4 and slack > -1e-4
        display(
            Markdown(
                f"{held.sum()} assets held; their marginal risks agree to a relative {spread:.1e}; "
                f"the assets left out have marginal risk at least {slack:+.1%} above that level."
            )
        )
        pd.DataFrame({"weight": long_only, "marginal risk / level": marginal / level}).round(4)
        """
    ),
    md(
        """
        ### Risk budgeting: contributions equal to the budgets

        `RiskBudgetAllocator` solves min 0.5 y' Sigma y - sum b_i log y_i and sets
        w = y / sum(y); at the optimum each asset's share of variance w_i (Sigma w)_i / w' Sigma w
        equals its budget b_i. `risk_contributions_` reports the achieved shares; they are
        recomputed below from the sample covariance, independently of the allocator.
        """
    ),
    code(
        """
        raw = pd.Series(np.arange(1, len(returns.columns) + 1, dtype=float), index=returns.columns)
        budget = (raw / raw.sum()).to_dict()  # budgets rising from BTC to LTC
        results = {}
        for method in ("NEWTON", "CLARABEL"):
            allocator = RiskBudgetAllocator(solver=method)
            weights = allocator.allocate(returns, risk_budget=budget)
            w_ = weights.to_numpy()
            shares = w_ * (sigma @ w_) / (w_ @ sigma @ w_)
            reported = (allocator.risk_contributions_ - allocator.risk_budget_).abs().max()
            recomputed = np.abs(shares - allocator.risk_budget_.to_numpy()).max()
            results[method] = {
                "solver": allocator.info_.solver,
                "max |risk_contributions_ - budget|": reported,
                "max |recomputed share - budget|": recomputed,
                "weights": weights,
            }
        gap = (results["NEWTON"]["weights"] - results["CLARABEL"]["weights"]).abs().max()
        assert all(r["max |recomputed share - budget|"] < 1e-5 for r in results.values())
        checks = pd.DataFrame(results).drop("weights")
        display(checks.map(lambda v: f"{v:.1e}" if isinstance(v, float) else v))
        display(Markdown(f"NEWTON and CLARABEL weights differ by at most {gap:.1e}."))
        """
    ),
    md(
        """
        Minimum variance with linear constraints has an exact backend too: with no solver
        named (or `solver="ACTIVE_SET"`), an active-set method solves the KKT system on the
        free weights and corrects the working set until every sign holds
        (`info_.solver == "ACTIVE_SET"`). Below it is checked
        against the cvxpy QP with every installed solver, and its KKT conditions are
        recomputed from the weights alone: the free weights share one marginal variance nu,
        a weight at its lower bound has a marginal variance >= nu, one at its upper bound <= nu.
        """
    ),
    code(
        """
        bounds = [WeightBounds(0.02, 0.3)]
        fast = MinimumVarianceAllocator(constraints=bounds)
        w_fast = fast.allocate(returns)
        rows = {"ACTIVE_SET": {"iterations": fast.info_.iterations, "max |w - active set|": 0.0}}
        for name in installed_solvers():
            named = MinimumVarianceAllocator(constraints=bounds, solver=name)
            gap = (named.allocate(returns) - w_fast).abs().max()
            rows[name] = {"iterations": named.info_.iterations, "max |w - active set|": gap}
        marginal = sigma @ w_fast.to_numpy()
        at_low, at_high = w_fast <= 0.02 + 1e-12, w_fast >= 0.3 - 1e-12
        free = ~(at_low | at_high)
        nu = marginal[free.to_numpy()].mean()
        assert np.abs(marginal[free.to_numpy()] - nu).max() <= 1e-10 * nu
        assert (marginal[at_low.to_numpy()] >= nu * (1 - 1e-10)).all()
        assert (marginal[at_high.to_numpy()] <= nu * (1 + 1e-10)).all()
        pd.DataFrame(rows).T
        """
    ),
    md(
        """
        ## A constraint of your own

        A constraint is a frozen dataclass of plain values whose `build(ctx)` returns cvxpy
        rows over `ctx.weights`, written homogeneous in `ctx.scale`. The same object then works
        in a plain problem (scale = 1), in maximum Sharpe under the Charnes-Cooper transform
        (scale = kappa) and in the risk-budget log barrier (scale = sum(y)).

        Here: a cap on concentration, HHI = sum w_i^2 <= `max_hhi` (an effective number of
        assets 1 / HHI of at least 1 / `max_hhi`). As ||w||_2 <= sqrt(max_hhi) * scale it is a
        second-order cone, homogeneous of degree one. `validate` refuses a cap below 1/n, which
        no portfolio can meet.
        """
    ),
    code(
        """
        @dataclass(frozen=True)
        class ConcentrationLimit(Constraint):
            \"\"\"Herfindahl index sum(w_i^2) <= max_hhi (a plain ratio, 1/n <= max_hhi <= 1).\"\"\"

            max_hhi: float

            def validate(self, assets: pd.Index) -> None:
                n = len(assets)
                if self.max_hhi * n < 1:
                    message = f"{self!r}: the HHI of {n} assets is at least 1/{n}"
                    raise InfeasibleError(message, conflicting=(self,))

            def build(self, ctx) -> list[cp.Constraint]:
                return [cp.norm(ctx.weights, 2) <= np.sqrt(self.max_hhi) * ctx.scale]


        rule = ConcentrationLimit(max_hhi=0.2)
        rule, hash(rule) == hash(ConcentrationLimit(0.2))
        """
    ),
    code(
        """
        rows = {}
        for name, allocator in {
            "minimum variance": MinimumVarianceAllocator(),
            "maximum Sharpe": MaximumSharpeAllocator(),
            "risk parity": RiskParityAllocator(),
        }.items():
            free = allocator.allocate(returns)
            capped = allocator.allocate(returns, constraints=[rule])
            assert hhi(capped) <= rule.max_hhi + 1e-6
            rows[name] = {
                "HHI without": hhi(free),
                "HHI with the cap": hhi(capped),
                "binding": hhi(capped) > rule.max_hhi - 1e-6,
                "solver": allocator.info_.solver,
                "status": allocator.info_.status,
            }
        pd.DataFrame(rows).T
        """
    ),
    md(
        """
        Where the cap does not bind (column `binding`), the weights are those of the method
        alone. With a cone in the problem, OSQP is out and Clarabel may report
        `optimal_inaccurate` at the table's 1e-10 tolerances; comparing solvers tells how much
        that matters:
        """
    ),
    code(
        """
        capped_table = compare_solvers(MinimumVarianceAllocator(constraints=[rule]), returns)
        capped_table["status"] = capped_table["status"].str.slice(0, 60)
        capped_table
        """
    ),
    md(
        """
        ## Group limits and turnover

        `GroupLimits(symbols, lower, upper)` bounds the total weight of a basket.
        `TurnoverLimit(limit)` bounds sum |w - w_prev| (two-way, fraction of NAV); the
        previous weights are passed to `allocate` as `previous_weights` and enter the problem
        as a cvxpy Parameter, so a new value needs no rebuild (`build_count_`).
        """
    ),
    code(
        """
        majors = GroupLimits(("BTC/USDT", "ETH/USDT"), lower=0.5, name="majors")
        alts = GroupLimits(("DOGE/USDT", "AVAX/USDT", "DOT/USDT"), upper=0.1, name="alts")
        grouped = MinimumVarianceAllocator(constraints=[WeightBounds(0.0, 0.4), majors, alts])
        w = grouped.allocate(returns)
        sums = {g.name: w[list(g.symbols)].sum() for g in (majors, alts)}
        assert sums["majors"] >= 0.5 - 1e-7 and sums["alts"] <= 0.1 + 1e-7
        print({name: round(float(total), 6) for name, total in sums.items()})
        w.round(4).to_frame().T
        """
    ),
    code(
        """
        equal = pd.Series(1 / len(returns.columns), index=returns.columns)
        turnover_allocator = MaximumSharpeAllocator(constraints=[TurnoverLimit(0.3)])
        rows = {}
        starts = {"from equal weight": equal, "from minimum variance": long_only}
        for label, previous in starts.items():
            free = MaximumSharpeAllocator().allocate(returns)
            limited = turnover_allocator.allocate(returns, previous_weights=previous)
            rows[label] = {
                "turnover without limit": (free - previous).abs().sum(),
                "turnover with TurnoverLimit(0.3)": (limited - previous).abs().sum(),
                "problems built": turnover_allocator.build_count_,
            }
        assert turnover_allocator.build_count_ == 1
        pd.DataFrame(rows).T.round(6)
        """
    ),
    md(
        """
        ## An infeasible combination

        At most 30% per asset, yet BTC and ETH together at least 70%: two assets can hold 60%
        at most. The error names the objects in conflict, an irreducible subset found by a
        deletion filter; the concentration cap, also present, is feasible with each of them
        and is not named.
        """
    ),
    code(
        """
        bounds = WeightBounds(0.0, 0.3)
        heavy_majors = GroupLimits(("BTC/USDT", "ETH/USDT"), lower=0.7, name="majors")
        constraints = [bounds, heavy_majors, ConcentrationLimit(0.5)]
        try:
            MinimumVarianceAllocator(constraints=constraints).allocate(returns)
        except InfeasibleError as exc:
            print(exc)
            print("conflicting:", exc.conflicting)
            assert set(exc.conflicting) == {bounds, heavy_majors}
        """
    ),
    md(
        """
        ## `allocator.info_`

        After every solve: solver and status, times (seconds), iterations, objective (of the
        scaled problem), whether the problem is DPP, how many problems the allocator built,
        the largest bound violation and the budget error (fractions of NAV), and the solvers
        that failed before the one that answered. Below, OSQP is asked first on a problem with
        a cone, and the explicit fallback to Clarabel is recorded.
        """
    ),
    code(
        """
        fallback = MinimumVarianceAllocator(
            constraints=[rule],
            solver="OSQP",
            fallback=("CLARABEL",),
        )
        fallback.allocate(returns)
        info = asdict(fallback.info_)
        assert info["solver"] == "CLARABEL" and info["fallback_from"][0][0] == "OSQP"
        pd.Series(info, dtype=object).to_frame("info_")
        """
    ),
]


# --------------------------------------------------------------------------------------------
# 03: analysis
# --------------------------------------------------------------------------------------------
ANALYSIS = [
    md(
        """
        # Portfolio analysis

        Once a portfolio is backtested, four questions follow, and this tutorial answers each
        on the spec's risk parity portfolio:

        1. *Where does its risk come from?* `PortfolioMetrics`: risk contributions,
           diversification ratio, concentration, correlations.
        2. *What else could it have held?* `EfficientFrontier`: the best expected return for
           each level of risk under the same bounds, with the minimum variance and maximum
           Sharpe portfolios.
        3. *What if markets break?* `PortfolioStressTester`: a crash, a correlation spike and
           a volatility shock applied to today's holdings, with value at risk and expected
           shortfall.
        4. *Where did the return come from?* `AttributionAnalyzer`: each asset's contribution
           to the return, against a benchmark.

        Each answer is checked against an independent computation, the way you would check
        your own analysis.

        Units: `PortfolioMetrics().calculate` prints like `result.metrics` (percent keys
        marked in `cvxport.metrics.METRIC_UNITS`, plain ratios otherwise); risk contributions,
        frontier figures, stress losses and attribution are fractions.
        """
    ),
    code(
        """
        import matplotlib.pyplot as plt
        import numpy as np
        import pandas as pd
        from IPython.display import Markdown, display

        from cvxport import (
            AllocationMethod,
            MaximumSharpeAllocator,
            MinimumVarianceAllocator,
            PortfolioConfig,
            PortfolioManager,
            align_prices,
            load_bundled_prices,
            prices_to_returns,
        )
        from cvxport.analysis import (
            AttributionAnalyzer,
            EfficientFrontier,
            PortfolioMetrics,
            PortfolioStressTester,
        )
        from cvxport.plotting import (
            plot_correlation_heatmap,
            plot_risk_contributions,
            plot_stress_results,
        )

        pd.set_option("display.width", 120)
        SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
        config = PortfolioConfig(
            initial_capital=100000,
            symbols=SYMBOLS,
            allocation_method=AllocationMethod.RISK_PARITY,
            rebalance_frequency="monthly",
            min_position_weight=0.05,
            max_position_weight=0.40,
            transaction_cost=0.001,
        )
        manager = PortfolioManager(config)
        result = manager.backtest(load_bundled_prices(SYMBOLS))
        print(f"{result.equity_curve.index[0].date()} to {result.equity_curve.index[-1].date()}")
        """
    ),
    md(
        """
        ## Portfolio metrics
        """
    ),
    code(
        """
        metrics = PortfolioMetrics()
        report = metrics.calculate(result.equity_curve, result.weights_history)

        print(f"Return: {report['total_return']:.2f}%")
        print(f"Volatility: {report['volatility']:.2f}%")
        print(f"Sharpe: {report['sharpe_ratio']:.2f}")
        print(f"Diversification Ratio: {report['diversification_ratio']:.2f}")
        print(f"Concentration (HHI): {report['hhi']:.4f}")
        for asset, contribution in report["risk_contribution"].items():
            print(f"{asset}: {contribution * 100:.1f}%")
        print("\\nCorrelation Matrix:")
        print(report["correlation_matrix"])
        """
    ),
    md(
        """
        Checks: the performance keys agree with the backtest's `result.metrics`; the risk
        contributions and the diversification ratio are recomputed from the sample covariance
        of the asset returns and the last weights.
        """
    ),
    code(
        """
        keys = ["total_return", "annualized_return", "volatility", "sharpe_ratio"]
        for key in [*keys, "max_drawdown"]:
            assert np.isclose(report[key], result.metrics[key]), key
        last = result.weights_history.iloc[-1]
        cov = result.asset_returns.iloc[1:].cov()
        variance = last @ cov @ last
        shares = last * (cov @ last) / variance
        ratio = (last * np.sqrt(np.diag(cov))).sum() / np.sqrt(variance)
        assert np.allclose(pd.Series(report["risk_contribution"]), shares)
        assert np.isclose(report["diversification_ratio"], ratio)
        display(
            Markdown(
                f"Risk contributions sum to {sum(report['risk_contribution'].values()):.6f}; "
                f"with the last weights {last.round(3).to_dict()}, the largest share of risk is "
                f"{max(report['risk_contribution'].values()):.1%} "
                f"({max(report['risk_contribution'], key=report['risk_contribution'].get)})."
            )
        )
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        plot_risk_contributions(report["risk_contribution"], ax=axes[0])
        plot_correlation_heatmap(report["correlation_matrix"], ax=axes[1])
        fig.tight_layout()
        plt.show()
        """
    ),
    md(
        """
        The shares above use the covariance of the whole backtest and the weights held on the
        last day. Risk parity equalizes the shares under the covariance of its own window (the
        60 daily returns up to the rebalance) unless a bound binds:
        """
    ),
    code(
        """
        rebalanced = result.rebalance_dates[-1]
        target = result.allocation_history.loc[rebalanced]
        window = result.asset_returns.loc[:rebalanced].iloc[-config.lookback :].cov()
        window_shares = target * (window @ target) / (target @ window @ target)
        at_cap = list(target.index[np.isclose(target, config.max_position_weight)])
        display(
            Markdown(
                f"Target of {rebalanced.date()}: {target.round(3).to_dict()}; its shares of risk "
                f"under the window covariance: {window_shares.round(3).to_dict()}. "
                f"Assets at the {config.max_position_weight:.0%} cap: {at_cap or 'none'}."
            )
        )
        """
    ),
    md(
        """
        ## Efficient frontier

        Over the last 365 daily returns of the 11 bundled pairs, long only. Figures are
        annualized fractions (arithmetic expected return, volatility) and the annualized
        Sharpe ratio. Checks: the frontier's end portfolios agree with the allocators, its
        volatility rises with the target return, and no frontier point beats the maximum
        Sharpe portfolio's ratio.
        """
    ),
    code(
        """
        closes = align_prices(load_bundled_prices()).prices
        historical_returns = prices_to_returns(closes).iloc[-365:]
        ef = EfficientFrontier(returns=historical_returns)

        frontier = ef.calculate(n_points=50)
        min_var = ef.get_minimum_variance_portfolio()
        max_sharpe = ef.get_maximum_sharpe_portfolio()

        ax = ef.plot_frontier()
        plt.show()
        frontier[["target_return", "volatility", "sharpe_ratio"]].iloc[::7].round(4)
        """
    ),
    code(
        """
        gap_min = (min_var - MinimumVarianceAllocator().allocate(historical_returns)).abs().max()
        gap_max = (max_sharpe - MaximumSharpeAllocator().allocate(historical_returns)).abs().max()
        best = ef.portfolio_performance(max_sharpe)
        lowest = ef.portfolio_performance(min_var)
        assert gap_min < 1e-5 and gap_max < 1e-5
        assert (np.diff(frontier["volatility"]) >= -1e-9).all()
        assert frontier["sharpe_ratio"].max() <= best["sharpe_ratio"] + 1e-6
        display(
            Markdown(
                f"Minimum variance: volatility {lowest['volatility']:.1%}, expected return "
                f"{lowest['expected_return']:.1%} (weights within {gap_min:.1e} of "
                f"`MinimumVarianceAllocator`). Maximum Sharpe: ratio {best['sharpe_ratio']:.2f} at "
                f"volatility {best['volatility']:.1%} (within {gap_max:.1e} of "
                f"`MaximumSharpeAllocator`); the best frontier point reaches "
                f"{frontier['sharpe_ratio'].max():.2f}. Problems built: {ef.build_count_}."
            )
        )
        pd.DataFrame({"minimum variance": min_var, "maximum Sharpe": max_sharpe}).round(4).T
        """
    ),
    md(
        """
        ## Stress testing

        The spec's scenarios on the manager's live holdings (the backtest's final portfolio).
        A price shock loses -sum(w * s); covariance scenarios report the parametric 95%
        one-day value at risk under the stressed covariance (fractions of value, a loss is
        positive).
        """
    ),
    code(
        """
        stress_tester = PortfolioStressTester(manager)
        scenarios = {
            "crypto_crash": {"BTC/USDT": -0.30, "ETH/USDT": -0.40, "SOL/USDT": -0.50},
            "correlation_spike": {"correlation_increase": 0.3},
            "volatility_shock": {"volatility_multiplier": 2.0},
        }
        results = stress_tester.run_scenarios(scenarios)

        for scenario, outcome in results.items():
            print(f"\\n{scenario}:")
            print(f"  Portfolio Loss: {outcome['portfolio_loss']:.2%}")
            print(f"  Worst Asset: {outcome['worst_asset']}")
        """
    ),
    code(
        """
        weights, basis = stress_tester.weights()
        crash = pd.Series(scenarios["crypto_crash"])
        expected = -(weights * crash).sum()
        assert np.isclose(results["crypto_crash"]["portfolio_loss"], expected)
        spike = results["correlation_spike"]
        assert np.isclose(spike["portfolio_loss"], spike["stressed_var"])
        base_var = results["volatility_shock"]["var"]
        assert np.isclose(results["volatility_shock"]["stressed_var"], 2 * base_var)
        display(
            Markdown(
                f"Basis: {basis}. The crash loses {expected:.2%} = -sum(w * s) with "
                f"w = {weights.round(3).to_dict()}. Doubling every volatility doubles the "
                f"one-day 95% VaR: {base_var:.2%} -> "
                f"{results['volatility_shock']['stressed_var']:.2%}."
            )
        )
        plot_stress_results(results)
        plt.show()
        """
    ),
    md(
        """
        ## Attribution

        Against a BTC buy-and-hold benchmark. Per-period contributions w_i,t-1 * r_i,t are
        linked over time with Carino's method, so the contributions plus the residual
        (transaction costs) add up to the total return exactly. Active return and tracking
        error are annualized fractions.
        """
    ),
    code(
        """
        benchmark_returns = result.asset_returns["BTC/USDT"]
        analyzer = AttributionAnalyzer()

        attribution = analyzer.calculate(
            portfolio_returns=result.returns,
            weights_history=result.weights_history,
            benchmark_returns=benchmark_returns,
        )

        print("Return Attribution:")
        for asset, contrib in attribution["return_contribution"].items():
            print(f"  {asset}: {contrib:.2%}")

        print(f"\\nActive Return: {attribution['active_return']:.2%}")
        print(f"Tracking Error: {attribution['tracking_error']:.2%}")
        print(f"Information Ratio: {attribution['information_ratio']:.2f}")
        """
    ),
    code(
        """
        linked = sum(attribution["return_contribution"].values()) + attribution["residual"]
        assert np.isclose(linked, attribution["total_return"], rtol=1e-9)
        assert np.isclose(attribution["total_return"] * 100, result.metrics["total_return"])
        display(
            Markdown(
                f"Contributions {sum(attribution['return_contribution'].values()):.2%} plus "
                f"residual {attribution['residual']:.2%} = total return "
                f"{attribution['total_return']:.2%} (the backtest's "
                f"{result.metrics['total_return']:.2f}%); BTC alone returned "
                f"{attribution['benchmark_total_return']:.2%} over the same "
                f"{attribution['n_periods']} days."
            )
        )
        """
    ),
]


NOTEBOOKS = {
    "01_quick_start.ipynb": quick_start.CELLS,
    "02_solvers_and_constraints.ipynb": SOLVERS,
    "03_analysis.ipynb": ANALYSIS,
    "04_rebalancing_policies.ipynb": rebalancing.CELLS,
    "05_live_rebalancing.ipynb": live.CELLS,
    "06_research.ipynb": research.CELLS,
    "07_modeling.ipynb": modeling.CELLS,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` from its cells, with stable cell ids and no outputs."""
    nb = notebook(NOTEBOOKS[name])
    for number, cell in enumerate(nb.cells):
        cell.id = f"{name[:2]}-{number:02d}"  # stable ids: regenerating changes nothing
    nbformat.validate(nb)
    return nb


def main(argv: list[str] | None = None) -> None:
    """Write and execute the notebooks named (all by default) next to this script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"notebooks to build, of {list(NOTEBOOKS)}")
    names = parser.parse_args(argv).names or list(NOTEBOOKS)
    unknown = [name for name in names if name not in NOTEBOOKS]
    if unknown:
        parser.error(f"unknown notebooks {unknown}; known: {list(NOTEBOOKS)}")
    for name in names:
        nb = execute(build(name))
        nbformat.write(nb, HERE / name)
        outputs = sum(len(c.get("outputs", [])) for c in nb.cells)
        print(f"wrote notebooks/{name} ({len(nb.cells)} cells, {outputs} outputs)")


if __name__ == "__main__":
    main()
