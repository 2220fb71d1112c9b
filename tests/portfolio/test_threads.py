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
