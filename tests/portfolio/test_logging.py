"""Logging: module loggers named after their module, no handler added anywhere by the library
(the application configures logging), records that reach an application's handlers."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from pathlib import Path

import numpy as np
import pandas as pd

from cvxport import PortfolioConfig, PortfolioManager
from cvxport.reports import html_report

ROOT = Path(__file__).resolve().parents[2]


def test_library_adds_no_handlers_and_names_loggers_by_module():
    import cvxport

    broken, named, wrong = {}, [], []
    for info in pkgutil.walk_packages(cvxport.__path__, "cvxport."):
        try:
            module = importlib.import_module(info.name)
        except Exception as exc:  # reported, not hidden
            broken[info.name] = f"{type(exc).__name__}: {exc}"
            continue
        logger = getattr(module, "logger", None)
        if isinstance(logger, logging.Logger):
            (named if logger.name == info.name else wrong).append(info.name)
    assert broken == {}, "modules of cvxport that cannot be imported"
    assert wrong == []
    assert {"cvxport.manager", "cvxport.reports.html", "cvxport.data.csv_files"} <= set(named)
    with_handlers = [
        name
        for name, logger in logging.root.manager.loggerDict.items()
        if name.startswith("cvxport") and isinstance(logger, logging.Logger) and logger.handlers
    ]
    assert with_handlers == []
    # nor does any library module configure logging (root handlers, levels); the command
    # line (cvxport/cli/) is an application and may (e.g. ``rebalance --verbose``)
    calls = re.compile(r"\b(basicConfig|addHandler|setLevel|dictConfig|fileConfig)\(")
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "cvxport").rglob("*.py")
        if "cli" not in path.relative_to(ROOT / "cvxport").parts[:1]
        and calls.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_backtest_and_report_log_to_the_application(tmp_path, caplog):
    rng = np.random.default_rng(2)
    index = pd.date_range("2024-01-01", periods=80, freq="D")
    data = {
        s: pd.DataFrame({"close": 10 * np.cumprod(1 + rng.normal(0, 0.02, 80))}, index=index)
        for s in ("A", "B")
    }
    caplog.set_level("INFO", logger="cvxport")
    result = PortfolioManager(PortfolioConfig(symbols=["A", "B"], lookback=20)).backtest(data)
    html_report(result, tmp_path / "r.html")
    records = {(r.name, r.levelname) for r in caplog.records}
    assert ("cvxport.manager", "INFO") in records
    assert ("cvxport.reports.html", "INFO") in records
    message = next(r.getMessage() for r in caplog.records if r.name == "cvxport.manager")
    assert "equal_weight: 2 symbols" in message
