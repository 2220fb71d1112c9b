"""The spec's code blocks (../shared/spec/portfolio.md) run as written, imports from cvxport.

Only the import path changes (``src.portfolio`` -> ``cvxport``, ``src.broker_bridge`` ->
``cvxport.broker_bridge``) and the spec's placeholder ``# ... configure brokers`` gets a real
paper broker. The names the spec leaves to the reader (``historical_returns``,
``benchmark_returns``, ``current_prices``, the three CSV files) are made from the bundled data.
"""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from cvxport import PortfolioResult, load_bundled_prices
from cvxport.data import align_prices, prices_to_returns

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "portfolio.md"
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
CONFIGURE_BROKERS = """\
from cvxport.broker_bridge import PaperBroker
executor.add_broker(
    PaperBroker(cash=max(manager.state.cash, 0.0), positions=manager.state.holdings,
                prices=current_prices, commission_rate=0.001),
    default=True,
)
"""

pytestmark = pytest.mark.skipif(not SPEC.exists(), reason="../shared/spec is not beside the repo")


def spec_blocks() -> list[str]:
    """Return the spec's python blocks with the import path and broker placeholder adapted."""
    blocks = re.findall(r"```python\n(.*?)```", SPEC.read_text(), flags=re.DOTALL)
    out = []
    for block in blocks:
        block = block.replace("from src.portfolio import", "from cvxport import")
        block = block.replace("from src.broker_bridge import", "from cvxport.broker_bridge import")
        block = block.replace("# ... configure brokers", CONFIGURE_BROKERS)
        out.append(block)
    return out


@pytest.fixture
def reader_namespace(tmp_path, monkeypatch) -> dict:
    """What the spec assumes the reader has: CSV files, returns, a benchmark, prices."""
    data = load_bundled_prices(SYMBOLS)
    for symbol, name in zip(SYMBOLS, ("btc", "eth", "sol"), strict=True):
        data[symbol].to_csv(tmp_path / f"{name}.csv")
    monkeypatch.chdir(tmp_path)
    returns = prices_to_returns(align_prices(data).prices)
    return {
        "pd": pd,
        "historical_returns": returns.iloc[-365:],
        "benchmark_returns": returns["BTC/USDT"],
        "current_prices": {s: float(data[s]["close"].iloc[-1]) for s in SYMBOLS},
    }


def test_spec_has_the_blocks_we_adapt():
    blocks = spec_blocks()
    assert len(blocks) >= 15
    assert sum("await " in b for b in blocks) == 1


def test_every_spec_block_runs_in_order(reader_namespace, capsys):
    namespace = reader_namespace
    backtest_result = None
    for number, block in enumerate(spec_blocks()):
        if "result.returns" in block:
            # the stress block's loop rebinds ``result``; the spec means the backtest's
            namespace["result"] = backtest_result
        if "await " in block:
            body = "async def _spec_block():\n" + textwrap.indent(block, "    ")
            body += "\n    return locals()\n"
            exec(compile(body, f"spec block {number}", "exec"), namespace)
            namespace.update(asyncio.run(namespace["_spec_block"]()))
        else:
            exec(compile(block, f"spec block {number}", "exec"), namespace)
        if isinstance(namespace.get("result"), PortfolioResult):
            backtest_result = namespace["result"]
    printed = capsys.readouterr().out
    for line in ("Total Return:", "Rebalances:", "Diversification Ratio:", "Active Return:"):
        assert line in printed
    result, manager = backtest_result, namespace["manager"]
    assert result.metrics["total_return"] == pytest.approx(
        100 * (result.equity_curve.iloc[-1] / result.equity_curve.iloc[0] - 1), rel=1e-12
    )
    # the live rebalance brought the holdings to the target (within the costs' effect)
    assert manager.calculate_drift() < 2e-3
    assert namespace["frontier"]["volatility"].is_monotonic_increasing
    assert set(namespace["results"]) == {"crypto_crash", "correlation_spike", "volatility_shock"}
