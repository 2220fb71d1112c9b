"""The HTML report and the report files: self-contained page, tables checked against independent
computations (monthly compounding, risk shares, buy and hold), plots (log equity without offset,
distinct colours, legend outside), metrics.csv units and integer counts."""

from __future__ import annotations

import base64
import html.parser

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cvxport import AllocationMethod, PortfolioConfig, PortfolioManager, plotting
from cvxport.cli import main
from cvxport.errors import InvalidInputError
from cvxport.report_files import write_backtest_report
from cvxport.reports import html_report, metric_unit, monthly_returns, rebalance_summary
from cvxport.reports.tables import buy_and_hold, final_risk_contributions, format_value

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def backtest():
    rng = np.random.default_rng(5)
    index = pd.date_range("2022-01-01", periods=420, freq="D")
    symbols = ["AAA", "BBB", "CCC", "DDD"]
    closes = 100 * np.cumprod(1 + rng.normal(4e-4, 0.025, (len(index), 4)), axis=0)
    data = {s: pd.DataFrame({"close": closes[:, i]}, index=index) for i, s in enumerate(symbols)}
    config = PortfolioConfig(
        symbols=symbols,
        allocation_method=AllocationMethod.INVERSE_VOLATILITY,
        min_position_weight=0.1,
        max_position_weight=0.5,
        lookback=30,
    )
    return PortfolioManager(config).backtest(data), config


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_report_is_one_self_contained_file(backtest, tmp_path):
    result, config = backtest
    path = html_report(result, tmp_path / "sub" / "report.html", config=config)
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    assert "http://" not in text and "https://" not in text and "url(" not in text
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) == 4  # equity, drawdown, weights, risk contributions
    for attrs in images:
        prefix = "data:image/png;base64,"
        assert attrs["src"].startswith(prefix) and attrs["alt"]
        data = base64.b64decode(attrs["src"][len(prefix) :], validate=True)
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000
    for heading in (
        "Performance", "Equity", "Drawdown", "Weights over time", "Risk contributions",
        "Monthly returns (%)", "Rebalances and costs", "Provenance",
    ):  # fmt: skip
        assert f"<h2>{heading}</h2>" in text
    # every metric with its unit, in the units of the table
    for key, value in result.metrics.items():
        assert f"<td>{key}</td><td>{format_value(value, metric_unit(key))}</td>" in text
        assert metric_unit(key)
    # provenance: versions, data range, config
    assert "cvxpy" in text and "pandas" in text and "inverse_volatility" in text
    start, end = result.equity_curve.index[[0, -1]]
    assert f"{start.date()} to {end.date()} ({len(result.equity_curve)} bars)" in text


def test_monthly_returns_compound_the_daily_returns(backtest):
    result, _ = backtest
    equity = result.equity_curve
    table = monthly_returns(equity)
    returns = equity.pct_change().fillna(0.0)
    for (year, month), group in returns.groupby([returns.index.year, returns.index.month]):
        expected = float(np.prod(1.0 + group.to_numpy()) - 1.0)
        assert table.loc[year, month] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    for year, group in returns.groupby(returns.index.year):
        expected = float(np.prod(1.0 + group.to_numpy()) - 1.0)
        assert table.loc[year, "Year"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    total = float(np.prod(1.0 + table["Year"].to_numpy()) - 1.0)
    assert total == pytest.approx(equity.iloc[-1] / equity.iloc[0] - 1.0, rel=1e-12)


def test_rebalance_summary_adds_up(backtest):
    result, _ = backtest
    table = rebalance_summary(result)
    years = table.drop(index="total")
    assert table.loc["total", "rebalances"] == len(result.rebalance_dates) == years.rebalances.sum()
    assert table.loc["total", "trades"] == len(result.trades) == years.trades.sum()
    assert table.loc["total", "costs"] == pytest.approx(result.metrics["total_costs"], rel=1e-12)
    assert years.costs.sum() == pytest.approx(result.costs.sum(), rel=1e-12)
    assert table["rebalances"].dtype.kind == "i" and table["trades"].dtype.kind == "i"


def test_risk_shares_match_their_definition(backtest):
    result, config = backtest
    frame = final_risk_contributions(result, config.lookback)
    w = result.allocation_history.iloc[-1].to_numpy()
    sigma = np.cov(result.asset_returns.iloc[1:].iloc[-config.lookback :].to_numpy().T)
    expected = w * (sigma @ w) / (w @ sigma @ w)
    np.testing.assert_allclose(frame["risk_share"].to_numpy(), expected, rtol=1e-10)
    assert frame["risk_share"].sum() == pytest.approx(1.0, abs=1e-12)


def test_buy_and_hold_benchmark_by_hand(backtest):
    result, _ = backtest
    bench = buy_and_hold(result)
    prices = result.prices
    capital = result.equity_curve.iloc[0]
    expected = (capital / 4 * prices / prices.iloc[0]).sum(axis=1)
    np.testing.assert_allclose(bench.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_benchmark_series_and_bad_benchmarks(backtest, tmp_path):
    result, _ = backtest
    series = result.prices["AAA"].rename("AAA held")
    path = html_report(result, tmp_path / "r.html", benchmark=series)
    assert "AAA held: total return" in path.read_text()
    with pytest.raises(InvalidInputError, match="benchmark"):
        html_report(result, tmp_path / "x.html", benchmark="spy")
    with pytest.raises(InvalidInputError, match="positive"):
        html_report(result, tmp_path / "x.html", benchmark=-series)
    with pytest.raises(InvalidInputError, match="PortfolioResult"):
        html_report({"equity": 1}, tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


# --- plots ------------------------------------------------------------------------------------
def test_equity_plot_is_log_scale_without_offset(backtest):
    result, _ = backtest
    equity = result.equity_curve * 10  # values near 1e6: the old linear plot showed a '1e6'
    ax = plotting.plot_equity_curve(equity, benchmark=buy_and_hold(result))
    ax.figure.canvas.draw()
    assert ax.get_yscale() == "log"
    assert ax.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all("e" not in label and "^" not in label for label in labels)
    assert len(ax.get_lines()) == 2 and ax.get_legend() is not None
    plt.close(ax.figure)


@pytest.mark.parametrize("n_assets", [3, 11, 20])
def test_weights_colours_are_distinct_and_legend_outside(n_assets):
    index = pd.date_range("2024-01-01", periods=10, freq="D")
    weights = pd.DataFrame(1.0 / n_assets, index=index, columns=[f"S{i}" for i in range(n_assets)])
    ax = plotting.plot_weights(weights)
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 4)) for c in ax.collections}
    assert len(colours) == n_assets
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # right of the data, not over it
    plt.close(ax.figure)


# --- report files -----------------------------------------------------------------------------
def test_metrics_csv_has_units_and_integer_counts(backtest, tmp_path):
    result, _ = backtest
    write_backtest_report(result, tmp_path)
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0] == "metric,value,unit"
    rows = {line.split(",")[0]: line.split(",")[1:] for line in lines[1:]}
    assert set(rows) == set(result.metrics)
    assert all(unit for _, unit in rows.values())
    assert rows["n_rebalances"] == [str(len(result.rebalance_dates)), "count"]
    assert rows["n_skipped_rebalances"] == ["0", "count"]
    assert rows["total_costs"][1] == "quote currency"
    header = (tmp_path / "allocation_history.csv").read_text().splitlines()[0]
    assert header == "timestamp,AAA,BBB,CCC,DDD"


def test_backtest_html_option(tmp_path, capsys):
    code = main(
        ["backtest", "--html", "--output", str(tmp_path), "--start", "2024-01-01",
         "--method", "equal_weight"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "report.html" in out
    text = (tmp_path / "report.html").read_text()
    assert "bundled Binance spot daily closes" in text and "equal_weight" in text
    assert "data from 2024-01-01 for every symbol, then 60 bars of lookback" in text


def test_reports_leave_the_callers_pyplot_alone(backtest, tmp_path, monkeypatch):
    """No backend switch, no figure left open: a notebook's inline figures keep showing."""
    import matplotlib

    def refuse(*args, **kwargs):
        raise AssertionError("a report switched the matplotlib backend")

    monkeypatch.setattr(matplotlib, "use", refuse)
    result, config = backtest
    before = plt.get_fignums()
    html_report(result, tmp_path / "r.html", config=config)
    write_backtest_report(result, tmp_path / "files")
    assert plt.get_fignums() == before


def test_benchmark_from_the_config_is_the_held_asset_by_hand(tmp_path, capsys):
    """--benchmark BTC/USDT: compared against, not held; its equity is BTC's price ratio."""
    from cvxport import load_bundled_prices
    from cvxport.reports.tables import benchmark_equity

    code = main(
        ["backtest", "--benchmark", "BTC/USDT", "--symbols", "ETH/USDT", "SOL/USDT", "BNB/USDT",
         "--start", "2024-06-01", "--method", "equal_weight", "--html", "--output", str(tmp_path)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "alpha" in out and "3 assets" in out
    weights = pd.read_csv(tmp_path / "weights_history.csv", index_col=0)
    assert list(weights.columns) == ["ETH/USDT", "SOL/USDT", "BNB/USDT"]
    assert "Benchmark (BTC/USDT): total return" in (tmp_path / "report.html").read_text()

    symbols = ["ETH/USDT", "SOL/USDT", "BNB/USDT"]
    config = PortfolioConfig(symbols=symbols, benchmark="BTC/USDT")
    result = PortfolioManager(config).backtest(
        load_bundled_prices([*symbols, "BTC/USDT"], start="2024-06-01")
    )
    bench = benchmark_equity(result, "BTC/USDT")
    btc = load_bundled_prices(["BTC/USDT"])["BTC/USDT"]["close"].reindex(bench.index)
    expected = result.equity_curve.iloc[0] * btc / btc.iloc[0]
    np.testing.assert_allclose(bench.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_ruin_is_shown_and_a_non_positive_curve_stays_linear(backtest, tmp_path):
    import dataclasses

    result, _ = backtest
    ruined_at = result.equity_curve.index[-1]
    ruined = dataclasses.replace(result, outcome="ruined", ruined_at=ruined_at)
    text = html_report(ruined, tmp_path / "r.html").read_text()
    assert f"Ruined on {ruined_at.date()}" in text
    equity = result.equity_curve.copy()
    equity.iloc[-1] = -5.0
    ax = plotting.plot_equity_curve(equity)
    assert ax.get_yscale() == "linear"
    plt.close(ax.figure)


# --- several results side by side (a sweep, methods, policies) ------------------------------
@pytest.fixture(scope="module")
def several(backtest):
    result, config = backtest
    data = {s: pd.DataFrame({"close": result.prices[s]}) for s in result.prices.columns}
    runs = {"inverse_volatility": result}
    for lookback in (20, 60):
        other = PortfolioConfig(symbols=config.symbols, lookback=lookback, benchmark=None)
        runs[f"equal_weight lookback={lookback}"] = PortfolioManager(other).backtest(data)
    return runs


def test_comparison_table_lists_every_metric_with_its_unit(several):
    from cvxport.reports import comparison_table

    table = comparison_table(several)
    assert list(table.index) == list(several)
    for name, result in several.items():
        for key, value in result.metrics.items():
            assert table.loc[name, f"{key} [{metric_unit(key)}]"] == pytest.approx(value)


def test_comparison_report_is_self_contained(several, tmp_path):
    from cvxport.reports import comparison_report

    path = comparison_report(several, tmp_path / "compare.html", provenance={"grid": "lookback"})
    text = path.read_text()
    page = _Page()
    page.feed(text)
    images = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert len(images) == 3  # equity, drawdown, risk and return
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "script" not in [tag for tag, _ in page.tags] and "https://" not in text
    for name in several:
        assert f"<td>{name}</td>" in text
    assert "total_return [percent]" in text and "n_rebalances [count]" in text
    with pytest.raises(InvalidInputError, match="non-empty"):
        comparison_report({}, tmp_path / "x.html")
    with pytest.raises(InvalidInputError, match="not PortfolioResults"):
        comparison_report({"a": 1}, tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_several_curves_plots(several):
    curves = {name: r.equity_curve for name, r in several.items()}
    ax = plotting.plot_equity_curves(curves)
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == len(curves)
    assert len({line.get_color() for line in ax.get_lines()}) == len(curves)
    plt.close(ax.figure)
    ax = plotting.plot_drawdowns(curves)
    assert all(line.get_ydata().max() <= 0.0 for line in ax.get_lines())
    plt.close(ax.figure)
    vol = {n: r.metrics["volatility"] for n, r in several.items()}
    ret = {n: r.metrics["annualized_return"] for n, r in several.items()}
    ax = plotting.plot_risk_return(vol, ret)
    offsets = np.vstack([c.get_offsets() for c in ax.collections])
    np.testing.assert_allclose(offsets, np.column_stack([list(vol.values()), list(ret.values())]))
    plt.close(ax.figure)
    with pytest.raises(InvalidInputError):
        plotting.plot_equity_curves({})


def test_report_of_a_backtest_that_never_invested(tmp_path):
    """Maximum Sharpe on falling prices holds every rebalance (all cash): the page still
    renders, lists the held rebalances and says there is no risk to attribute."""
    import warnings

    rng = np.random.default_rng(0)
    index = pd.date_range("2024-01-01", periods=80, freq="D")
    data = {
        s: pd.DataFrame({"close": 10 * np.cumprod(1 - 0.01 + rng.normal(0, 1e-3, 80))}, index=index)
        for s in ("A", "B")
    }
    config = PortfolioConfig(symbols=["A", "B"], lookback=20, allocation_method="maximum_sharpe")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = PortfolioManager(config).backtest(data)
    assert result.rebalance_dates == [] and result.skipped_rebalances
    text = html_report(result, tmp_path / "cash.html", config=config).read_text()
    assert "no risk contributions" in text and "Rebalances held (infeasible)" in text
