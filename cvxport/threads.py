"""Run small dense linear algebra on one BLAS thread.

Covariance estimation, Cholesky/eigh and the solvers' factorizations work on n x n matrices
with n of tens to hundreds. Multithreaded OpenBLAS is slower there, and badly so on a busy
2-core machine: measured here, ``np.cov`` of 250 x 100 returns plus ``eigh`` took 176 ms with
the default threads and 4.2 ms on one thread. The limit costs ~10 us to enter and applies
only inside cvxport's own calls.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


_nesting = threading.local()  # per thread: only its outermost block sets the limit


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread inside the block; nested blocks (same thread) cost nothing."""
    depth = getattr(_nesting, "depth", 0)
    _nesting.depth = depth + 1
    try:
        if depth:
            yield
        else:
            with _controller().limit(limits=1, user_api="blas"):
                yield
    finally:
        _nesting.depth = depth
