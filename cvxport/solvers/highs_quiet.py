"""A HiGHS instance without the banner highspy prints in its first constructor."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from typing import Any


def quiet_highs(highspy: Any) -> Any:
    """``highspy.Highs()`` without the banner the first one in a process writes to the C
    stdout (highspy 1.16 prints it in the constructor, before any option can be set): fd 1
    points at the null device for that construction, C's buffers flushed before it is
    restored. Later constructions print nothing and are made as they are.

    One thread at a time redirects (``_LOCK``): a second thread entering while fd 1 pointed at
    the null device saved that and restored it last, silencing the process for good. Output
    other threads write to fd 1 during that one construction is lost."""
    if _BANNER_DONE:
        return highspy.Highs()
    with _LOCK:
        return _first_highs(highspy)


def _first_highs(highspy: Any) -> Any:
    """The redirected construction, under ``_LOCK``."""
    global _BANNER_DONE
    if _BANNER_DONE:  # another thread made the first while this one waited
        return highspy.Highs()
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no fd 1 to redirect
        return highspy.Highs()
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                highs = highspy.Highs()
                _flush_c_stdout()
            finally:
                os.dup2(saved, 1)
    finally:
        os.close(saved)
    _BANNER_DONE = True
    return highs


def _flush_c_stdout() -> None:
    """fflush(NULL) through the C library, where ctypes finds one."""
    with contextlib.suppress(OSError, AttributeError):  # a platform without it
        ctypes.CDLL(None).fflush(None)


_BANNER_DONE = False
_LOCK = threading.Lock()
