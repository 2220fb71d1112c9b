"""A sweep's data on local worker processes (the joblib backend): written once, read once per
process, however many tasks the process runs.

joblib's loky backend pickles every task's arguments. Its ``max_nbytes`` memory-maps large
arrays, but the objects around them (the dict of frames, their indexes and blocks) are still
pickled and unpickled with every task: measured, a sweep of 8 tasks on 2 processes unpickled
the data 8 times. Here the data is dumped once (``joblib.dump``) to a temporary folder; a task
carries a ``Shipped`` handle (the file's path, about a hundred bytes), and each process loads
the file on its first task of the sweep (arrays memory-mapped read-only, so the processes share
the bytes through the page cache) and keeps it for the sweep's other tasks.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Shipped:
    """A handle on an object dumped to a file; ``load()`` reads it once per process."""

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> Any:
        return _load(self.path)


@functools.lru_cache(maxsize=1)  # one sweep at a time: the previous sweep's data is dropped
def _load(path: str) -> Any:
    import joblib

    return joblib.load(path, mmap_mode="r")


@contextmanager
def shipped(obj: Any) -> Iterator[Shipped]:
    """Dump ``obj`` to a new temporary file (a unique name, never reused, so a process's cache
    cannot return an older sweep's data); yield its handle; delete the file afterwards."""
    import joblib

    folder = tempfile.mkdtemp(prefix="cvxport-sweep-")
    try:
        path = os.path.join(folder, f"{uuid.uuid4().hex}.joblib")
        joblib.dump(obj, path)
        yield Shipped(path)
    finally:
        _load.cache_clear()  # in this process (joblib runs n_jobs=1 here)
        shutil.rmtree(folder, ignore_errors=True)
