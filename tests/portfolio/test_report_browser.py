"""The HTML report rendered in a real headless Chromium: no console message, every image
decoded, nothing fetched from outside, and a full-page screenshot that is not blank.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it when missing). The page is
opened with every host name unresolvable and a dead proxy, so a reference to anything outside
the file would show as a broken image. An instrumented copy of the page sets ``document.title``
on load to its image count, broken images and height, read back with ``--dump-dom``; console
messages are read from Chromium's log (``--enable-logging=stderr``). Set
``CVXPORT_REPORT_SCREENSHOT=/some/file.png`` to keep a copy of the screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from cvxport import AllocationMethod, PortfolioConfig, PortfolioManager, load_bundled_prices
from cvxport.data import BUNDLED_SYMBOLS
from cvxport.reports import html_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed and could not be (Debian package 'chromium'; .ci/run "
    "installs it with apt-get where apt-get exists)",
)

WIDTH = 1280
PROBE = """<script>
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).length;
  const height = document.documentElement.scrollHeight;
  document.title = `images=${images.length} broken=${broken} height=${height}`;
});
</script>"""


def chromium(tmp_path, url: str, *options: str) -> subprocess.CompletedProcess:
    """Run headless Chromium offline (no DNS, dead proxy) on ``url``; a fresh profile."""
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
        "--enable-logging=stderr", "--v=0", *options, url,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)


def inspect_page(page, tmp_path) -> tuple[dict[str, int], list[str]]:
    """Open an instrumented copy of ``page``: (image count, broken, height), console lines."""
    probe = tmp_path / f"probe-{page.name}"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))
    run = chromium(tmp_path, probe.as_uri(), "--dump-dom")
    title = re.search(r"<title>images=(\d+) broken=(\d+) height=(\d+)</title>", run.stdout)
    assert title, "the probe did not run: " + run.stdout[:300]
    counts = dict(zip(("images", "broken", "height"), map(int, title.groups()), strict=True))
    return counts, console_lines(run.stderr)


def console_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def test_report_renders_in_chromium(tmp_path):
    symbols = list(BUNDLED_SYMBOLS)
    config = PortfolioConfig(
        symbols=symbols,
        allocation_method=AllocationMethod.RISK_PARITY,
        min_position_weight=0.02,
        max_position_weight=0.3,
    )
    result = PortfolioManager(config).backtest(load_bundled_prices(symbols, start="2022-01-01"))
    page = html_report(result, tmp_path / "report.html", config=config)

    counts, console = inspect_page(page, tmp_path)
    assert counts["images"] == 4 and counts["broken"] == 0, counts
    assert console == []

    shot = tmp_path / "report.png"
    run = chromium(
        tmp_path, page.as_uri(), f"--screenshot={shot}", f"--window-size={WIDTH},{counts['height']}"
    )
    assert console_lines(run.stderr) == []
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (counts["height"], WIDTH)
    ink = (pixels[..., :3] < 0.9).any(axis=2)  # not near-white
    assert 0.05 < ink.mean() < 0.6, ink.mean()  # drawn, and not a solid fill
    rows_with_ink = np.flatnonzero(ink.any(axis=1))
    assert rows_with_ink[-1] > 0.9 * counts["height"]  # content reaches the bottom
    keep = os.environ.get("CVXPORT_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


def test_comparison_report_renders_in_chromium(tmp_path):
    from cvxport.reports import comparison_report

    data = load_bundled_prices(["BTC/USDT", "ETH/USDT", "SOL/USDT"], start="2024-01-01")
    runs = {
        method: PortfolioManager(
            PortfolioConfig(symbols=list(data), allocation_method=method, lookback=30)
        ).backtest(data)
        for method in ("equal_weight", "inverse_volatility", "risk_parity")
    }
    page = comparison_report(runs, tmp_path / "compare.html")
    counts, console = inspect_page(page, tmp_path)
    assert counts["images"] == 3 and counts["broken"] == 0, counts
    assert console == []


def test_sweep_report_renders_in_chromium(tmp_path):
    from cvxport.reports import sweep_report
    from cvxport.research import run_sweep

    data = load_bundled_prices(["BTC/USDT", "ETH/USDT"], start="2024-01-01", end="2024-12-31")
    grid = {"allocation_method": ["equal_weight", "minimum_variance"], "lookback": [20, 40]}
    table = run_sweep(PortfolioConfig(symbols=list(data)), grid, data, progress=False)
    page = sweep_report(table, tmp_path / "sweep.html")
    counts, console = inspect_page(page, tmp_path)
    assert counts["images"] == 1 and counts["broken"] == 0, counts
    assert console == []


def test_the_check_catches_console_errors_and_broken_images(tmp_path):
    """A page with an error, an undecodable image and an outside image must fail the check."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        "<img src='data:image/png;base64,AAAA' alt='corrupt'>"
        "<img src='https://example.com/logo.png' alt='outside'>"
        "<script>console.error('boom from the page');</script></body></html>"
    )
    counts, console = inspect_page(page, tmp_path)
    assert counts == {**counts, "images": 2, "broken": 2}
    assert any("boom from the page" in line for line in console)
