"""Logging: module loggers named after their module, no handler added anywhere by the library
(the application configures logging), records that reach an application's handlers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from cvxport import PortfolioConfig, PortfolioManager
from cvxport.reports import html_report

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, json, logging, pkgutil
before = list(logging.root.handlers)
import cvxport
modules = [m.name for m in pkgutil.walk_packages(cvxport.__path__, "cvxport.")]
named, wrong, broken = [], [], {}
for name in modules:
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # reported by the test, not hidden
        broken[name] = f"{type(exc).__name__}: {exc}"
        continue
    logger = getattr(module, "logger", None)
    if isinstance(logger, logging.Logger):
        (named if logger.name == name else wrong).append(name)
with_handlers = [
    name for name, logger in logging.root.manager.loggerDict.items()
    if name.startswith("cvxport") and isinstance(logger, logging.Logger) and logger.handlers
]
print(json.dumps({"named": named, "wrong": wrong, "with_handlers": with_handlers, "broken": broken,
                  "root_unchanged": logging.root.handlers == before}))
"""


def test_library_adds_no_handlers_and_names_loggers_by_module():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120,
        check=True,
    )  # fmt: skip
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["broken"] == {}, "modules of cvxport that cannot be imported"
    assert found["wrong"] == []
    assert found["with_handlers"] == []
    assert found["root_unchanged"]
    assert {"cvxport.manager", "cvxport.reports.html", "cvxport.data.csv_files"} <= set(
        found["named"]
    )


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
