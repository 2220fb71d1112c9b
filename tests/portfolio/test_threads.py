"""The BLAS thread limit cvxport applies inside its own calls."""

from __future__ import annotations

import threading

from threadpoolctl import threadpool_info

from cvxport.threads import single_threaded_blas


def blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_nested_blocks_keep_the_limit():
    with single_threaded_blas():
        with single_threaded_blas():
            assert blas_threads() == {1}
        assert blas_threads() == {1}  # leaving the inner block does not lift the outer limit


def test_blas_limit_nesting_is_per_thread():
    entered, release = threading.Event(), threading.Event()

    def nested_elsewhere():
        with single_threaded_blas():
            entered.set()
            release.wait(5)

    worker = threading.Thread(target=nested_elsewhere)
    with single_threaded_blas():
        worker.start()
        entered.wait(5)
    release.set()
    worker.join()
    # (the limit itself is process-wide in threadpoolctl: overlapping blocks of two threads
    # restore in the order they exit, so what holds after them is not asserted)
    with single_threaded_blas():  # a fresh outermost block still limits
        assert blas_threads() == {1}


def test_multithread_size_setting(monkeypatch):
    import pytest

    from cvxport import threads
    from cvxport.errors import InvalidInputError

    monkeypatch.setitem(threads._setting, "from", threads._UNSET)
    monkeypatch.delenv(threads.MULTITHREAD_ENV, raising=False)
    assert threads.blas_multithread_from() == threads.DEFAULT_MULTITHREAD_FROM
    # the measured default: one thread below 1,500 assets, BLAS's own threads from there
    assert threads.DEFAULT_MULTITHREAD_FROM == 1500
    assert threads.blas_thread_limit(1499) == 1 and threads.blas_thread_limit(1500) is None
    monkeypatch.setenv(threads.MULTITHREAD_ENV, " Never ")  # one thread at every size
    assert threads.blas_thread_limit(10_000) == 1
    monkeypatch.setenv(threads.MULTITHREAD_ENV, "800")
    assert threads.blas_thread_limit(799) == 1 and threads.blas_thread_limit(800) is None
    assert threads.blas_thread_limit(None) == 1
    before = blas_threads()
    with single_threaded_blas(2000):  # large enough: BLAS keeps its threads
        assert blas_threads() == before
    with single_threaded_blas(100):
        assert blas_threads() == {1}
    threads.set_blas_multithread_from(None)  # overrides the environment
    assert threads.blas_thread_limit(10_000) == 1
    monkeypatch.setenv(threads.MULTITHREAD_ENV, "many")
    monkeypatch.setitem(threads._setting, "from", threads._UNSET)
    with pytest.raises(InvalidInputError, match="CVXPORT_BLAS_MULTITHREAD_FROM"):
        threads.blas_thread_limit(5)
    with pytest.raises(InvalidInputError, match="n_assets"):
        threads.set_blas_multithread_from(0)


def test_thread_readers_agree_with_threadpoolctl():
    """Each library's cached thread-count reader (the C function for OpenBLAS) answers what
    threadpoolctl's own ``get_num_threads`` does, at one thread and at two."""
    from threadpoolctl import threadpool_limits

    from cvxport.threads import _blas_libraries

    libraries = _blas_libraries()
    assert libraries
    for limit in (1, 2):
        with threadpool_limits(limits=limit, user_api="blas"):
            for lib, threads in libraries:
                assert threads() == lib.get_num_threads()
    openblas = [threads for lib, threads in libraries if lib.internal_api == "openblas"]
    # the fast reader is in use where threadpoolctl exposes the symbol (not the method)
    assert all(getattr(threads, "__self__", None) is None for threads in openblas)


def test_a_failing_block_entry_leaves_no_limit_and_no_depth(monkeypatch):
    """A bad setting raises on entering the block (named) and leaves nothing behind: the next
    block still limits."""
    import pytest

    from cvxport import threads
    from cvxport.errors import InvalidInputError

    monkeypatch.setitem(threads._setting, "from", threads._UNSET)
    monkeypatch.setenv(threads.MULTITHREAD_ENV, "many")
    with pytest.raises(InvalidInputError, match=threads.MULTITHREAD_ENV), single_threaded_blas():
        pass
    assert getattr(threads._nesting, "depth", 0) == 0
    monkeypatch.setenv(threads.MULTITHREAD_ENV, "never")
    with single_threaded_blas():
        assert blas_threads() == {1}
