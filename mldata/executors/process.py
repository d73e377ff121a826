"""A persistent pool of worker processes (the default executor).

Workers are started once per build and import pyarrow while the parent is still planning, so
no task pays for process start-up or imports. The parent never imports pyarrow, which makes
the "fork" start method safe (no threads to fork); elsewhere "spawn" is used.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable


def _warm_up(events: Any = None) -> None:
    import signal

    # Ctrl+C reaches the whole process group; the parent decides what to stop, and stops
    # workers itself, so a worker never dies half-way through writing on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if events is not None:
        from mldata.build import set_progress_sink

        set_progress_sink(events.put)
    import pyarrow  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import pyarrow.csv  # noqa: F401


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when the build process dies (even by SIGKILL).

    Without it, a killed `mldata make` leaves workers running tasks nobody will record.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _forward(events: Any, on_event: Callable[[Any], None]) -> None:
    """Pass worker progress events to the parent's reporter until the sentinel None arrives."""
    while True:
        try:
            event = events.get()
        except (EOFError, OSError):
            return
        if event is None:
            return
        try:
            on_event(event)
        except Exception:  # a reporter problem must not stop the build
            pass


class ProcessExecutor:
    def __init__(self, workers: int, on_event: Callable[[Any], None] | None = None) -> None:
        self.workers = workers
        method = "fork" if sys.platform.startswith("linux") and "pyarrow" not in sys.modules else "spawn"
        context = multiprocessing.get_context(method)
        self._events = context.SimpleQueue() if on_event is not None else None
        self._drain: threading.Thread | None = None
        if on_event is not None:
            self._drain = threading.Thread(target=_forward, args=(self._events, on_event), daemon=True,
                                           name="mldata-progress")
            self._drain.start()
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_warm_up, initargs=(self._events,)
        )

    def submit(self, fn: Callable[[Any], Any], task: Any) -> "Future[Any]":
        return self._pool.submit(fn, task)

    def shutdown(self, *, cancel: bool = False) -> None:
        """Wait for the workers to finish; with ``cancel``, drop queued work and stop them now."""
        try:
            self._shutdown_pool(cancel)
        finally:
            if self._drain is not None and self._events is not None:
                self._events.put(None)  # ends _forward
                self._drain.join(timeout=2)
                self._drain = None

    def _shutdown_pool(self, cancel: bool) -> None:
        if not cancel:
            self._pool.shutdown(wait=True)
            return
        # ProcessPoolExecutor cannot interrupt running tasks; terminate its processes (the
        # private ``_processes`` map is the only handle on them).
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.terminate()
        for proc in processes:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.kill()
