"""Research at scale: parameter sweeps and walk-forward selection over many backtests, run
serially, over joblib processes or on a Dask cluster (the optional ``research`` extra)."""

from cvxport.research.grid import configure, expand_grid
from cvxport.research.sweep import BACKENDS, run_sweep
from cvxport.research.walk_forward import WalkForwardResult, walk_forward

__all__ = ["BACKENDS", "WalkForwardResult", "configure", "expand_grid", "run_sweep", "walk_forward"]
