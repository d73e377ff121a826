"""Where tasks run. One protocol, several backends: inline (tests, -j 1), a process pool, dask.

An executor takes a picklable function and a picklable task value and returns a
``concurrent.futures.Future``. The scheduler only ever talks to this protocol, so a backend
can be swapped without touching the planner or the scheduler.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Callable, Protocol


class Executor(Protocol):
    #: how many tasks may run at once (the scheduler keeps at most this many in flight)
    workers: int

    def submit(self, fn: Callable[[Any], Any], task: Any) -> "Future[Any]": ...

    def shutdown(self, *, cancel: bool = False) -> None: ...


def make_executor(kind: str, workers: int, address: str | None = None,
                  on_event: Callable[[Any], None] | None = None) -> Executor:
    """An executor by name: "inline", "process" or "dask" (``address``: a running dask scheduler,
    e.g. tcp://HOST:8786; without one, a local dask cluster of ``workers`` processes).

    ``on_event`` receives the progress events tasks send while they run (WorkerPhase), in the
    calling process; the dask backend does not forward them.
    """
    if kind == "dask":
        from mldata.executors.dask import DaskExecutor

        return DaskExecutor(address, workers)
    if kind == "inline" or (kind == "process" and workers <= 1):
        from mldata.executors.inline import InlineExecutor

        return InlineExecutor(on_event)
    if kind == "process":
        from mldata.executors.process import ProcessExecutor

        return ProcessExecutor(workers, on_event)
    from mldata.errors import UsageError

    raise UsageError(f"unknown executor {kind!r}", hint="use inline, process or dask")
