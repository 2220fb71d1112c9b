"""HIGHS_LP prints nothing: highspy's first constructor in a process writes a banner to the
C stdout, which ``solvers.highs_quiet`` sends to the null device. Checked in a fresh process
(the banner comes once per process), its stdout read whole."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import numpy as np, pandas as pd
    import cvxport as cx
    rng = np.random.default_rng(0)
    index = pd.date_range("2024-01-01", periods=300)
    returns = pd.DataFrame(rng.normal(0.001, 0.02, (300, 5)), columns=list("ABCDE"), index=index)
    model = cx.MeanRiskAllocator(risk=cx.CVaR(beta=0.95), objective="min_risk")
    weights = model.allocate(returns)
    print(model.info_.solver, round(float(weights.sum()), 12))
    """
)


def test_the_lp_backend_writes_only_what_the_caller_prints():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=root, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "HIGHS_LP 1.0\n"
