"""Runs each task immediately in the calling process (tests, debugging, -j 1)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Callable


class InlineExecutor:
    workers = 1

    def __init__(self, on_event: Callable[[Any], None] | None = None) -> None:
        from mldata.build import set_progress_sink

        set_progress_sink(on_event)

    def submit(self, fn: Callable[[Any], Any], task: Any) -> "Future[Any]":
        future: Future[Any] = Future()
        try:
            future.set_result(fn(task))
        except BaseException as exc:  # delivered through the future, as a pool would
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future

    def shutdown(self, *, cancel: bool = False) -> None:
        from mldata.build import set_progress_sink

        set_progress_sink(None)
