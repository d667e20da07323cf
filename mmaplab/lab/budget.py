"""A time budget per request: a hook that never returns cannot hang a check.

Not a kernel structure (the kernel's nearest relative is the soft-lockup watchdog,
kernel/watchdog.c: it reports a CPU stuck in kernel code instead of waiting forever).

:func:`time_budget` raises :class:`RequestTimeout` inside the running code once the block
has run for ``seconds``:

* in the main thread of a platform with ``signal.setitimer`` (Linux, macOS — where the
  CLI, pytest and a Jupyter kernel run checks) through ``SIGALRM``, which also interrupts
  a ``time.sleep()``;
* elsewhere (a worker thread, Windows) through :func:`sys.settrace`, which stops any
  Python code at its next line.

``RequestTimeout`` derives from ``BaseException`` so that the model's own
``except Exception`` (hooks' errors become observations) cannot swallow it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

__all__ = ["RequestTimeout", "time_budget", "request_budget", "DEFAULT_SECONDS"]

#: The budget of one request of a check, in seconds.
DEFAULT_SECONDS = 5.0


class RequestTimeout(BaseException):
    """The block ran past its budget; ``what`` names it (e.g. ``request 3``)."""

    def __init__(self, seconds: float, what: str) -> None:
        super().__init__(f"did not return within {seconds:g} s in {what}")
        self.seconds = seconds
        self.what = what


def _use_signal() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _by_signal(seconds: float, what: str) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise RequestTimeout(seconds, what)

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _by_trace(seconds: float, what: str) -> Iterator[None]:
    deadline = time.monotonic() + seconds
    old = sys.gettrace()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise RequestTimeout(seconds, what)
        return tracer

    # settrace() reaches frames entered from now on; the frames already running (the
    # block's own) get the tracer directly, so a loop written inside the block stops too.
    stack: list[tuple[FrameType, Any]] = []
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        stack.append((frame, frame.f_trace))
        frame.f_trace = tracer
        frame = frame.f_back
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(old)
        for frame, previous in stack:
            frame.f_trace = previous


def time_budget(seconds: float | None, what: str) -> contextlib.AbstractContextManager[None]:
    """Run the block within ``seconds`` (None or <= 0: no budget), else raise
    :class:`RequestTimeout` naming ``what``."""
    if not seconds or seconds <= 0:
        return contextlib.nullcontext()
    return _by_signal(seconds, what) if _use_signal() else _by_trace(seconds, what)


def request_budget() -> float:
    """Seconds one request of a check may take (``MMAPLAB_REQUEST_BUDGET`` overrides
    :data:`DEFAULT_SECONDS`)."""
    value = os.environ.get("MMAPLAB_REQUEST_BUDGET")
    try:
        return float(value) if value else DEFAULT_SECONDS
    except ValueError:
        return DEFAULT_SECONDS
