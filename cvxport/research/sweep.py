"""``run_sweep``: many backtests, serially, over joblib processes or on a Dask cluster.

Every backend runs the same function (``runner.run_chunk``) on chunks of runs and the rows
are put back in run order, so the table is identical, bit for bit, whatever the backend, the
chunks and the number of workers (each run is independent; each backtest pins BLAS to one
thread). The parallel backends cut the runs into chunks of decreasing size (guided
scheduling): few tasks, so little per-task overhead, and small last tasks, so no worker idles
long at the end.

What moves where, per sweep:

- serial: nothing.
- joblib (local loky processes): the data is dumped once to a temporary file
  (``shipping.shipped``); each process loads it on its first task (arrays memory-mapped) and
  keeps it; each task carries its chunk of parameter dicts, the base config and the file's
  path.
- Dask: the data is scattered to every worker once (``broadcast=True``); each task carries
  its chunk of parameters, the base config and the data's keys. A remote worker therefore
  receives the data once per sweep and a few hundred bytes per run, and returns one row (about
  30 scalars) per run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
from tqdm import tqdm

from cvxport.config import PortfolioConfig
from cvxport.errors import InvalidInputError
from cvxport.research.grid import Grid, expand_grid, param_label
from cvxport.research.runner import STATUS_COLUMNS, run_chunk
from cvxport.research.shipping import Shipped, shipped

BACKENDS = ("serial", "joblib", "dask")
CHUNK_SHARE = 2  # a chunk is 1/(CHUNK_SHARE x workers) of the runs not yet chunked


def run_sweep(
    base: PortfolioConfig,
    grid: Grid,
    data: Mapping[str, pd.DataFrame] | pd.DataFrame,
    *,
    backend: str = "serial",
    n_jobs: int = 2,
    client: Any = None,
    market_caps: pd.DataFrame | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Backtest ``base`` under every parameter set of ``grid``; return one row per run.

    Args:
        base: the config every run starts from.
        grid: {field: values} (Cartesian product), a list of {field: value} dicts, or a list
            of configs (see ``expand_grid``).
        data: the spec's dict of per-symbol frames (or a wide frame of closes) holding every
            symbol any run uses; each run takes its own symbols from it.
        backend: 'serial', 'joblib' (``n_jobs`` loky processes) or 'dask'.
        n_jobs: joblib processes (ignored by the other backends).
        client: for 'dask': a ``dask.distributed.Client`` or a scheduler address
            ('tcp://host:8786'); a client made from an address is closed at the end.
        market_caps: a cap series (dates x symbols) for market-cap runs, read point in time.
        progress: tqdm progress bar over runs (None: only on a terminal).

    Returns:
        A DataFrame indexed by ``run`` (0..N-1, the grid's order): the parameters (one
        column per varied field; the base config's value where a run does not set it),
        ``status`` ('ok' or 'error'), ``error`` (the exception's
        class and message, '' when ok), ``outcome`` ('completed', 'ruined'), ``n_warnings``
        and every metric of ``PortfolioResult.metrics`` (report units; NaN for failed runs).

    Raises:
        InvalidInputError: an unknown backend, a bad grid, or a Dask backend without Dask.
    """
    if backend not in BACKENDS:
        raise InvalidInputError(f"backend must be one of {BACKENDS}, got {backend!r}")
    runs = list(enumerate(expand_grid(grid, base)))
    bar = tqdm(total=len(runs), disable=None if progress is None else not progress, desc="sweep")
    rows: list[dict[str, Any]] = []
    try:
        if backend == "serial":
            for run in runs:
                rows += run_chunk([run], base, data, market_caps)
                bar.update(1)
        elif backend == "joblib":
            rows = _joblib(runs, base, data, market_caps, n_jobs, bar)
        else:
            rows = _dask(runs, base, data, market_caps, client, bar)
    finally:
        bar.close()
    return _table(rows, [list(params) for _, params in runs], base)


def _chunks(runs: list, n_workers: int) -> list[list]:
    """Split ``runs`` into contiguous chunks of decreasing size (guided self-scheduling): each
    holds 1/(CHUNK_SHARE x n_workers) of the runs left, at least one. 594 runs on 2 workers
    make 20 tasks, from 149 runs down to 1."""
    chunks, start = [], 0
    while start < len(runs):
        size = max(1, math.ceil((len(runs) - start) / (CHUNK_SHARE * max(1, n_workers))))
        chunks.append(runs[start : start + size])
        start += size
    return chunks


def _run_shipped(chunk: list, base: PortfolioConfig, handle: Shipped) -> list[dict]:
    """``run_chunk`` on data shipped once to the process (a joblib task)."""
    data, caps = handle.load()
    return run_chunk(chunk, base, data, caps)


def _joblib(runs, base, data, caps, n_jobs: int, bar) -> list[dict]:
    from joblib import Parallel, delayed

    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise InvalidInputError(f"n_jobs must be an integer >= 1, got {n_jobs!r}")
    parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
    rows: list[dict] = []
    with shipped((data, caps)) as handle:  # the data once per process, not once per task
        tasks = (delayed(_run_shipped)(chunk, base, handle) for chunk in _chunks(runs, n_jobs))
        for part in parallel(tasks):
            rows += part
            bar.update(len(part))
    return rows


def _dask(runs, base, data, caps, client, bar) -> list[dict]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:  # the optional 'research' extra
        raise InvalidInputError(
            "the dask backend needs dask.distributed: pip install 'cvxport[research]'"
        ) from exc
    own = not isinstance(client, Client)
    if own and not isinstance(client, str):
        raise InvalidInputError(
            f"backend='dask' needs client= a dask.distributed.Client or a scheduler address, "
            f"got {client!r}"
        )
    dask_client = Client(client) if own else client
    try:
        n_threads = max(1, sum(dask_client.nthreads().values()))  # tasks run at once
        # a list: scatter() would split a dict into one future per key
        data_key, caps_key = dask_client.scatter([data, caps], broadcast=True, hash=False)
        futures = [
            dask_client.submit(run_chunk, chunk, base, data_key, caps_key, pure=False)
            for chunk in _chunks(runs, n_threads)
        ]
        rows: list[dict] = []
        for future in as_completed(futures):
            part = future.result()
            rows += part
            bar.update(len(part))
        return rows
    finally:
        if own:
            dask_client.close()


def _table(rows: list[dict], param_keys: list[list[str]], base: PortfolioConfig) -> pd.DataFrame:
    """Rows in run order; columns: parameters (a run that does not set one shows the base
    config's value), status columns, then metrics by first use."""
    rows = sorted(rows, key=lambda row: row["run"])
    params: list[str] = []
    for keys in param_keys:
        params += [k for k in keys if k not in params]
    for row in rows:
        for key in params:
            if key not in row:
                row[key] = param_label(getattr(base, key))
    metrics: list[str] = []
    fixed = {"run", *params, *STATUS_COLUMNS}
    for row in rows:
        metrics += [k for k in row if k not in fixed and k not in metrics]
    table = pd.DataFrame(rows, columns=["run", *params, *STATUS_COLUMNS, *metrics])
    return table.set_index("run")
