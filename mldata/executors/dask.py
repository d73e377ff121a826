"""Runs tasks on a Dask cluster: an existing one (``--address tcp://HOST:8786``) or a local one.

The scheduler waits on ``concurrent.futures.Future`` objects, so each dask future is mirrored
by a plain concurrent future: when the dask task finishes, its result (or its exception, with
type and message intact) is set on the concurrent future; cancelling the concurrent future
cancels the dask task. Tasks are the same module-level functions and picklable task values
the process pool runs, so every worker must be able to import mldata (the same version) and
see the project's files at the same absolute paths (a shared filesystem).

This is the only module that imports dask, and it is imported only when the dask executor is
chosen.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import CancelledError, Future, InvalidStateError
from typing import Any, Callable

from mldata.errors import BuildError, UsageError

#: how long to wait for an existing scheduler to answer before giving up
CONNECT_TIMEOUT = "10s"


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError("the dask executor needs the dask extra", hint="pip install 'mldata[dask]'") from None
    return distributed


def _probe(local: bool) -> str:
    """Runs on each worker at start: proves mldata is importable there and says which version.

    ``local``: the worker belongs to our own local cluster. Then Ctrl+C, which reaches the whole
    process group, is left to the build process (it cancels the work and closes the cluster, as
    it stops a process pool); and since these workers share its stderr, dask's logs of a failing
    or cancelled task are dropped (mldata reports those itself).
    """
    import logging
    import signal

    import mldata

    if local:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for name in ("distributed.worker", "distributed.worker.state_machine"):
            log = logging.getLogger(name)
            if not any(isinstance(f, _DropTaskNoise) for f in log.filters):
                log.addFilter(_DropTaskNoise())
    return mldata.__version__


class _DropTaskNoise:
    """A logging filter: drops dask's reports of tasks that failed or were cancelled."""

    def filter(self, record: Any) -> bool:
        message = str(record.msg)
        return not (message.startswith("Compute Failed") or message.startswith("Async instruction for"))


class DaskExecutor:
    """An :class:`~mldata.executors.Executor` on dask.distributed.

    With ``address``, connect to a running scheduler (the cluster is left running at shutdown);
    without one, start a cluster of ``workers`` single-threaded worker processes on loopback
    and close it at shutdown. On an existing cluster, how many tasks run at once is up to the
    cluster (its worker threads); ``workers`` is then only what this object reports.

    Cancelling a future releases its dask task: one that has not started never runs; one that
    is already running cannot be interrupted by dask, so it runs to its end and its result is
    dropped (outputs are written atomically: no half-written file). ``shutdown(cancel=True)``
    of a local cluster stops its workers, running tasks included.
    """

    def __init__(self, address: str | None, workers: int) -> None:
        distributed = _import_distributed()
        self.workers = max(int(workers), 1)
        self.address = address
        self._cluster: Any = None
        self._lock = threading.Lock()
        self._pending: dict[Future[Any], Any] = {}  # concurrent future -> dask future, until done
        try:
            if address:
                try:
                    self._client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
                except (OSError, TimeoutError) as exc:
                    raise UsageError(
                        f"cannot connect to the dask scheduler at {address}: {exc}",
                        hint="start one with `dask scheduler` (and workers with `dask worker ADDRESS`), "
                        "or leave out --address to run a local cluster",
                    ) from None
            else:
                self._cluster = distributed.LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    host="127.0.0.1",
                    # the scheduler's small HTTP server (health, metrics) runs even without a
                    # dashboard: on a free loopback port, not on 8787 (maybe taken, then warned about)
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                )
                self._client = distributed.Client(self._cluster, set_as_default=False)
            self._check_workers()
        except BaseException:
            self._close()
            raise

    def _check_workers(self) -> None:
        """Fail early and clearly when the workers that are up cannot run mldata's tasks.

        Workers that join later are not checked; a worker that cannot import mldata fails its
        tasks with the import error.
        """
        import mldata

        try:
            versions = self._client.run(_probe, self._cluster is not None)
        except Exception as exc:
            raise UsageError(
                f"the dask workers cannot import mldata: {type(exc).__name__}: {exc}",
                hint=f"install mldata {mldata.__version__} (pip install 'mldata[dask]') in every worker's environment",
            ) from None
        wrong = sorted(f"{w} has {v}" for w, v in versions.items() if v != mldata.__version__)
        if wrong:
            raise UsageError(
                f"the dask workers run another mldata version than this one ({mldata.__version__}): "
                + ", ".join(wrong),
                hint=f"install mldata {mldata.__version__} on every worker, so every part is built the same way",
            )

    # --- the protocol -------------------------------------------------------------------------------

    def submit(self, fn: Callable[[Any], Any], task: Any) -> "Future[Any]":
        # a unique key: equal tasks (a forced rebuild) must run again, not share a result; the
        # target's name shows in the dashboard and the worker logs
        target = getattr(task, "target", None)
        key = "-".join(["mldata", fn.__name__, *([str(target)] if target else []), uuid.uuid4().hex])
        future: Future[Any] = Future()
        dask_future = self._client.submit(fn, task, key=key, pure=False)
        with self._lock:
            self._pending[future] = dask_future
        future.add_done_callback(self._forward_cancel)
        dask_future.add_done_callback(lambda df: self._deliver(future, df))
        return future

    def shutdown(self, *, cancel: bool = False) -> None:
        """Wait for outstanding tasks (or cancel them), then disconnect; a local cluster is closed."""
        with self._lock:
            pending = list(self._pending)
        if cancel:
            for future in pending:
                future.cancel()
        else:
            for future in pending:
                try:
                    future.exception()
                except CancelledError:
                    pass
        self._close()

    # --- plumbing -----------------------------------------------------------------------------------

    def _deliver(self, future: "Future[Any]", dask_future: Any) -> None:
        """In dask's callback thread: copy the dask task's outcome onto the concurrent future."""
        with self._lock:
            self._pending.pop(future, None)
        if future.done():  # cancelled by the scheduler
            return
        try:
            value = dask_future.result()
        except BaseException as exc:  # noqa: BLE001 - every outcome goes to the waiting scheduler
            _settle(future, future.set_exception, _explain(exc, dask_future))
        else:
            _settle(future, future.set_result, value)

    def _forward_cancel(self, future: "Future[Any]") -> None:
        if not future.cancelled():
            return
        # what an executor does when it reaches a cancelled item: wake up `wait()`ers, which
        # count a cancelled future as done only once it is notified
        future.set_running_or_notify_cancel()
        with self._lock:
            dask_future = self._pending.pop(future, None)
        if dask_future is not None:
            # Releasing the only reference cancels the task: queued, it never runs; running, its
            # result is dropped. (``dask_future.cancel()`` would not do: it is a separate request
            # that can overtake the submission, and then the task runs anyway.)
            dask_future.release()

    def _close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            try:
                client.close()
            except Exception:
                pass
        if self._cluster is not None:
            try:
                self._cluster.close()
            except Exception:
                pass
            self._cluster = None


def _settle(future: "Future[Any]", setter: Callable[[Any], None], value: Any) -> None:
    try:
        setter(value)
    except InvalidStateError:  # cancelled meanwhile: nobody waits for it any more
        pass


def _explain(exc: BaseException, dask_future: Any) -> BaseException:
    """The task's own exception as is; dask's failures of the cluster as mldata build errors."""
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        return BuildError(
            "a dask worker died while running this task (every retry too)",
            hint="look at the worker logs; a worker that runs out of memory is restarted by its nanny",
        )
    if dask_future.cancelled():
        return BuildError(
            f"the dask cluster dropped this task ({type(exc).__name__}: {exc})",
            hint="the scheduler went away or cancelled it; check the cluster and run `mldata make` again",
        )
    return exc
