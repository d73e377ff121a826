"""A persistent pool of worker processes (the default executor).

Workers are started once per build and import pyarrow while the parent is still planning, so
no task pays for process start-up or imports. The parent never imports pyarrow, which makes
the "fork" start method safe (no threads to fork); elsewhere "spawn" is used.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable, Iterator


#: What a part task imports: pyarrow (0.3 s, numpy with it), its compute functions (0.05 s) and
#: mldata's readers, steps, writers and profiler.
WORKER_MODULES = (
    "pyarrow", "pyarrow.compute", "pyarrow.csv", "pyarrow.parquet",
    "mldata.io", "mldata.stats.partial", "mldata.steps.builtin", "mldata.steps.expr", "mldata.writers",
)


def _warm_up(events: Any = None, wanted: Any = None) -> None:
    import signal

    # Ctrl+C reaches the whole process group; the parent decides what to stop, and stops
    # workers itself, so a worker never dies half-way through writing on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the parent's SIGTERM handler (stop cleanly) is not for workers: the parent terminates them
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    if events is not None:
        from mldata.build import set_progress_sink

        set_progress_sink(_Gated(events, wanted) if wanted is not None else events.put)
    # Everything a part task imports, while the parent is still loading the project and planning
    # (a worker is otherwise idle then). Workers forked from the fork server (zygote.py) have
    # them already.
    import importlib

    for name in WORKER_MODULES:
        importlib.import_module(name)


class _Gated:
    """A worker's progress sink that sends only while the parent has a sink for the events
    (``wanted``, a flag in shared memory: a pool started before the build knew its reporter
    learns later that nobody shows them)."""

    def __init__(self, events: Any, wanted: Any) -> None:
        self.events, self.wanted = events, wanted

    def __call__(self, event: Any) -> None:
        if self.wanted.value:
            self.events.put(event)


def _ready(_: Any = None) -> None:
    """A task that does nothing: submitting it makes the pool start (and warm up) its workers."""


@contextlib.contextmanager
def stop_signals_deferred() -> Iterator[None]:
    """Within: SIGINT ignored and SIGTERM at its default (in the main thread), so that processes
    forked here start that way (Ctrl+C goes to the whole process group; the build process decides
    what to stop, and stops its workers itself). The handlers are restored on exit."""
    import signal

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
                    signal.SIGTERM: signal.signal(signal.SIGTERM, signal.SIG_DFL)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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


def _context() -> Any:
    """How workers start. On Linux, from a fork server forked from this process, which imports
    WORKER_MODULES once for all the workers (zygote.py); failing that, by fork (the parent never
    imports pyarrow, so it has no pyarrow threads to fork); elsewhere, and in a parent that has
    imported pyarrow, by spawn. MLDATA_START_METHOD=fork|spawn|forkserver chooses."""
    chosen = os.environ.get("MLDATA_START_METHOD", "")
    linux = sys.platform.startswith("linux")
    if chosen in ("fork", "spawn"):
        return multiprocessing.get_context(chosen)
    if linux and "pyarrow" not in sys.modules:
        if chosen in ("", "forkserver"):
            from mldata.executors.zygote import forked_server_context

            context = forked_server_context(WORKER_MODULES)
            if context is not None:
                return context
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class ProcessExecutor:
    """``on_event`` receives the workers' progress events; it can also be set later
    (:meth:`set_event_sink`), for a pool started before the build knows its reporter."""

    def __init__(self, workers: int, on_event: Callable[[Any], None] | None = None) -> None:
        self.workers = workers
        context = _context()
        self._own_server = context.get_start_method() == "forkserver"
        self._sink = on_event
        self._wanted = context.RawValue("b", 1 if on_event is not None else 0)
        self._events = context.SimpleQueue()
        self._drain: threading.Thread | None = threading.Thread(
            target=_forward, args=(self._events, self._emit), daemon=True, name="mldata-progress")
        self._drain.start()
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_warm_up, initargs=(self._events, self._wanted)
        )
        self._closed = False
        self._started = False

    def start(self) -> "ProcessExecutor":
        """Start the workers now (they import pyarrow), instead of at the first task. (With
        "spawn" the pool starts a worker per waiting task: one no-op each.) With a fork server
        this does nothing: the server is importing already, and asking it for a worker would
        wait for it."""
        if self._own_server:
            return self
        for _ in range(self.workers):
            self.submit(_ready, None)
        return self

    def set_event_sink(self, on_event: Callable[[Any], None] | None) -> None:
        """Where the workers' events go from now on; None stops the workers sending them."""
        self._sink = on_event
        self._wanted.value = 1 if on_event is not None else 0

    def _emit(self, event: Any) -> None:
        sink = self._sink
        if sink is not None:
            sink(event)

    def submit(self, fn: Callable[[Any], Any], task: Any) -> "Future[Any]":
        if self._started:
            return self._pool.submit(fn, task)
        self._started = True
        # The first submit forks the workers. Until _warm_up runs they would keep the parent's
        # signal handlers (KeyboardInterrupt: a traceback if Ctrl+C or a stop comes that early).
        with stop_signals_deferred():
            return self._pool.submit(fn, task)

    def shutdown(self, *, cancel: bool = False) -> None:
        """Wait for the workers to finish; with ``cancel``, drop queued work and stop them now.
        A second call does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self._shutdown_pool(cancel)
            if self._own_server:
                from mldata.executors.zygote import stop_server

                stop_server()
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
