"""A persistent pool of worker processes (the default executor).

Workers are started once per build and import pyarrow while the parent is still planning, so
no task pays for process start-up or imports. The parent never imports pyarrow, which makes
the "fork" start method safe (no threads to fork); elsewhere "spawn" is used.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable


def _warm_up() -> None:
    import pyarrow  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import pyarrow.csv  # noqa: F401


class ProcessExecutor:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        method = "fork" if sys.platform.startswith("linux") and "pyarrow" not in sys.modules else "spawn"
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context(method), initializer=_warm_up
        )

    def submit(self, fn: Callable[[Any], Any], task: Any) -> "Future[Any]":
        return self._pool.submit(fn, task)

    def shutdown(self, *, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)
