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


RACE = textwrap.dedent(
    """
    import os, sys, threading, time
    from cvxport.solvers.highs_quiet import quiet_highs

    second_in = threading.Event()
    calls = []

    class Highs:  # highspy's constructor, slow enough for two threads to meet in it
        def __init__(self):
            calls.append(self)
            if len(calls) == 1:
                second_in.wait(1.0)
            else:
                second_in.set()
                time.sleep(0.3)  # ends after the first: restores fd 1 last

    class highspy:
        Highs = Highs

    before = os.fstat(1)
    threads = [threading.Thread(target=quiet_highs, args=(highspy,)) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.1)
    for t in threads:
        t.join()
    after = os.fstat(1)
    same = (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)
    sys.stderr.write(f"constructions {len(calls)}, fd 1 restored {same}\\n")
    sys.exit(0 if same and len(calls) == 2 else 3)
    """
)


def test_two_threads_constructing_first_leave_stdout_where_it_was():
    """Two threads in the first construction at once: without a lock the second saved fd 1
    while it pointed at the null device and restored that, silencing the process for good."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", RACE], capture_output=True, text=True, cwd=root, timeout=120
    )
    assert done.returncode == 0, done.stderr
