"""Run cvxport's dense linear algebra on one BLAS thread, or on all of them for large problems.

Covariance estimation, Cholesky/eigh, principal components and the solvers' factorizations
work on n x n (or T x n) matrices. Multithreaded OpenBLAS is slower there on a busy machine:
measured here, ``np.cov`` of 250 x 100 returns plus ``eigh`` took 176 ms with the default
threads and 4.2 ms on one thread. The limit costs ~10 us to enter and applies only inside
cvxport's own calls.

Whether all threads pay from some size on depends on the machine and its load. Measured with
``benchmarks/bench_threads.py`` (time with one thread / with all, so > 1: all threads win):

- 2 cores, quiet (load average 0.2-1.2, 2026-11-30): one thread wins up to n = 1000 (estimation
  0.13-0.46 at n = 250-1000 in one run, 1.14 in another at 1000); from n = 1500 all threads win
  (estimation 1.40-1.45, principal components 1.17-2.35 at n = 1500-3000, the dense active set
  0.61-1.21).
- the same 2 cores shared by several processes (load average 6): one thread wins at every size,
  n = 100 .. 2000, by 1.05x to 14x.

So the default limits BLAS to one thread below ``DEFAULT_MULTITHREAD_FROM`` = 1500 assets and
leaves BLAS its threads from there. On a machine shared with other work, keep one thread at
every size with ``set_blas_multithread_from(None)`` or ``CVXPORT_BLAS_MULTITHREAD_FROM=never``;
``set_blas_multithread_from(n)`` / ``CVXPORT_BLAS_MULTITHREAD_FROM=n`` moves the size.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable

from threadpoolctl import ThreadpoolController

from cvxport.errors import InvalidInputError

MULTITHREAD_ENV = "CVXPORT_BLAS_MULTITHREAD_FROM"
#: Default size (assets) from which BLAS keeps its own thread count (measured, above)
DEFAULT_MULTITHREAD_FROM: int | None = 1500
#: the environment variable's value for "one thread at every size"
NEVER = "never"

_UNSET = object()
_setting: dict[str, object] = {"from": _UNSET}


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


@functools.cache
def _blas_libraries() -> tuple:
    """(controller, thread-count reader) of each loaded BLAS library (found once): threadpoolctl's
    controller and ``_thread_reader``'s function."""
    libraries = [lib for lib in _controller().lib_controllers if lib.user_api == "blas"]
    return tuple((lib, _thread_reader(lib)) for lib in libraries)


def _thread_reader(lib) -> Callable[[], int | None]:
    """The function returning ``lib``'s thread count: for OpenBLAS, the C function that
    ``lib.get_num_threads`` calls (``omp_get_max_threads`` on its OpenMP layer, else
    ``openblas_get_num_threads``), found once; for any other library, or should
    threadpoolctl's ``_get_symbol`` go, the method itself. The method finds the symbol again
    at every call: 15-20 us a library with cold caches, three OpenBLAS copies loaded here
    (numpy's, scipy's, scs's), 60 us of a re-solve of 1.5 ms at n = 100."""
    if getattr(lib, "internal_api", None) != "openblas":
        return lib.get_num_threads
    openmp = getattr(lib, "threading_layer", None) == "openmp"
    symbol = "omp_get_max_threads" if openmp else "openblas_get_num_threads"
    try:
        function = lib._get_symbol(symbol)
    except AttributeError:  # pragma: no cover - a threadpoolctl without _get_symbol
        function = None
    return function if function is not None else lib.get_num_threads


_nesting = threading.local()  # per thread: only its outermost block sets the limit


def _check_size(value: object, where: str) -> int | None:
    if value is None:
        return None
    try:
        size = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        size = 0
    if size < 1 or str(value).strip() != str(size):
        raise InvalidInputError(
            f"{where} must be a whole number of assets >= 1 (or {NEVER!r} in the environment), "
            f"got {value!r}"
        )
    return size


def set_blas_multithread_from(n_assets: int | None) -> None:
    """Let BLAS use its own thread count inside cvxport for problems of at least ``n_assets``
    assets (None: one thread at every size). Overrides the environment variable."""
    _setting["from"] = _check_size(n_assets, "set_blas_multithread_from(n_assets)")


def blas_multithread_from() -> int | None:
    """The size (assets) from which cvxport leaves BLAS's threads alone; None: never."""
    value = _setting["from"]
    if value is _UNSET:
        raw = os.environ.get(MULTITHREAD_ENV)
        if raw in (None, ""):
            return DEFAULT_MULTITHREAD_FROM
        return None if raw.strip().lower() == NEVER else _check_size(raw, MULTITHREAD_ENV)
    return value  # type: ignore[return-value]


def blas_thread_limit(n_assets: int | None) -> int | None:
    """Return 1 (limit BLAS to one thread) or None (leave it) for a problem of ``n_assets``
    assets; an unknown size (None) is limited."""
    threshold = blas_multithread_from()
    if n_assets is not None and threshold is not None and n_assets >= threshold:
        return None
    return 1


class single_threaded_blas:  # noqa: N801 (used as a function: ``with single_threaded_blas():``)
    """Limit BLAS to one thread inside the block, unless ``n_assets`` reaches the size set by
    ``set_blas_multithread_from``; nested blocks (same thread) cost nothing and change nothing.

    A class rather than two nested generator context managers: 50 against 30 us a block with
    cold caches (a backtest's or a benchmark's re-solve between other work), same behavior.
    """

    __slots__ = ("_changed", "_depth", "_n_assets")

    def __init__(self, n_assets: int | None = None) -> None:
        self._n_assets = n_assets
        self._changed: list = []
        self._depth = 0

    def __enter__(self) -> None:
        depth = self._depth = getattr(_nesting, "depth", 0)
        _nesting.depth = depth + 1
        try:
            if not depth and blas_thread_limit(self._n_assets) is not None:
                self._changed = _limit_to_one_thread()
        except BaseException:
            _nesting.depth = depth
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            _restore(self._changed)
        finally:
            self._changed = []
            _nesting.depth = self._depth


def _limit_to_one_thread() -> list:
    """Set every BLAS library not on one thread to one; return [(library, its count)] to
    restore (``_restore``).

    The libraries' own get/set calls: ``ThreadpoolController.limit`` gathers the full info of
    every library on entry, 30 us a block (a twentieth of a re-solve at n = 100), this 3 us.
    """
    changed: list = []
    try:
        for lib, threads in _blas_libraries():
            count = threads()
            if count is not None and count != 1:
                lib.set_num_threads(1)
                changed.append((lib, count))
    except BaseException:
        _restore(changed)
        raise
    return changed


def _restore(changed: list) -> None:
    """Give each library of ``changed`` [(library, count)] its count back, last first."""
    for lib, count in reversed(changed):
        lib.set_num_threads(count)
