"""The executor contract, run against every backend: inline, a process pool and dask.

Given any executor, we should be able to submit a picklable module-level function with a
picklable task value and get a real ``concurrent.futures.Future`` back; exceptions raised in a
task should arrive through that future with their type, message and hint intact;
``concurrent.futures.wait(FIRST_COMPLETED)`` should see whichever task finishes first; a task
cancelled before it starts should never run; and a whole `mldata make` should give the same
bytes (lock and Parquet outputs) whichever executor ran it.

The dask backend runs against one local cluster per module (two single-threaded worker
processes on loopback), reached through its address as a remote cluster would be.
"""

from __future__ import annotations

import concurrent.futures as cf
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from mldata import api
from mldata.errors import BuildError, MldataError, StepError
from mldata.executors import Executor, make_executor

KINDS = ["inline", "process", "dask"]
CONCURRENT = {"process", "dask"}  # run tasks in parallel (inline runs each one inside submit)
TIMEOUT = 60


# --- tasks (module level, so every backend can pickle them by reference) ---------------------------


@dataclass(frozen=True)
class Job:
    n: int
    tag: str = ""


@dataclass(frozen=True)
class Answer:
    square: int
    tag: str


def square(job: Job) -> Answer:
    return Answer(job.n * job.n, job.tag)


def fail(error: BaseException) -> None:
    raise error


def wait_for_file(args: tuple[str, str]) -> str:
    """Say it started (a file ``gate.name``), block until ``gate`` exists (the test opens it), return ``name``."""
    gate, name = args
    Path(f"{gate}.{name}").touch()
    deadline = time.monotonic() + TIMEOUT
    while not Path(gate).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{gate} never appeared")
        time.sleep(0.01)
    return name


def touch(path: str) -> str:
    Path(path).write_text("ran")
    return path


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster() -> Any:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       host="127.0.0.1", scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    yield cluster
    cluster.close()


@pytest.fixture(scope="module", params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Module-scoped, so pytest runs every test for one backend before the next backend."""
    return request.param


@pytest.fixture
def new_executor(kind: str, request: pytest.FixtureRequest) -> Callable[[], Executor]:
    """A factory of executors of the backend under test; each one is shut down after the test
    (again, for those the test shut down: a second shutdown is harmless, see below)."""
    made: list[Executor] = []

    def new() -> Executor:
        if kind == "dask":
            cluster = request.getfixturevalue("dask_cluster")
            executor = make_executor("dask", 2, address=cluster.scheduler_address)
        else:
            executor = make_executor(kind, 2)
        made.append(executor)
        return executor

    yield new
    for executor in made:
        executor.shutdown(cancel=True)


@pytest.fixture
def executor(new_executor: Callable[[], Executor]) -> Executor:
    return new_executor()


# --- the protocol ------------------------------------------------------------------------------------


def test_given_a_task_we_should_get_its_result_through_a_concurrent_future(executor: Executor) -> None:
    future = executor.submit(square, Job(7, "seven"))
    assert isinstance(future, cf.Future)
    assert future.result(timeout=TIMEOUT) == Answer(49, "seven")
    assert future.done() and not future.cancelled() and future.exception() is None
    assert executor.workers >= 1


def test_given_identical_tasks_each_should_run(executor: Executor, tmp_path: Path) -> None:
    """No backend may merge equal submissions (dask would, for pure functions with equal keys)."""
    marker = str(tmp_path / "marker")
    first = executor.submit(touch, marker)
    first.result(timeout=TIMEOUT)
    Path(marker).unlink()
    second = executor.submit(touch, marker)
    assert second.result(timeout=TIMEOUT) == marker
    assert Path(marker).exists()


@pytest.mark.parametrize(
    "error",
    [StepError("x", hint="y"), BuildError("part a.csv failed"), ValueError("plain python error")],
    ids=["step-error", "build-error", "value-error"],
)
def test_given_a_failing_task_its_exception_should_arrive_intact(executor: Executor, error: Exception) -> None:
    future = executor.submit(fail, error)
    exc = future.exception(timeout=TIMEOUT)
    assert type(exc) is type(error)
    assert str(exc) == str(error)
    if isinstance(error, MldataError):
        assert (exc.message, exc.hint, exc.code, exc.exit_status) == (error.message, error.hint, error.code,
                                                                      error.exit_status)
    with pytest.raises(type(error), match=str(error)):
        future.result()


def test_given_several_tasks_wait_first_completed_should_collect_them_all(executor: Executor) -> None:
    futures = {executor.submit(square, Job(n)): n for n in range(6)}
    pending = set(futures)
    got: dict[int, int] = {}
    while pending:
        done, pending = cf.wait(pending, timeout=TIMEOUT, return_when=cf.FIRST_COMPLETED)
        assert done, "wait returned nothing before its timeout"
        for future in done:
            got[futures[future]] = future.result().square
    assert got == {n: n * n for n in range(6)}


def test_given_a_blocked_task_wait_first_completed_should_return_the_finished_one(
    kind: str, executor: Executor, tmp_path: Path
) -> None:
    if kind not in CONCURRENT:
        pytest.skip("runs each task inside submit: a blocked task would block the test")
    gate = tmp_path / "gate"
    slow = executor.submit(wait_for_file, (str(gate), "slow"))
    _wait_until(lambda: Path(f"{gate}.slow").exists())
    fast = executor.submit(square, Job(3))
    done, pending = cf.wait([slow, fast], timeout=TIMEOUT, return_when=cf.FIRST_COMPLETED)
    assert done == {fast} and pending == {slow}
    gate.touch()
    done, pending = cf.wait([slow, fast], timeout=TIMEOUT, return_when=cf.ALL_COMPLETED)
    assert not pending and slow.result() == "slow"


def test_given_a_task_cancelled_before_it_starts_it_should_never_run(
    kind: str, executor: Executor, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    if kind in CONCURRENT:  # keep every worker busy, so the tasks below wait in a queue
        blockers = [executor.submit(wait_for_file, (str(gate), f"b{i}")) for i in range(executor.workers)]
        _wait_until(lambda: all(Path(f"{gate}.b{i}").exists() for i in range(executor.workers)))
    else:
        gate.touch()
        blockers = []
    # a process pool hands one task beyond its workers to a feeder queue, where it counts as
    # running and cannot be cancelled: submit a few, and at least one must be cancellable
    markers = [tmp_path / f"ran{i}" for i in range(4)]
    queued = [executor.submit(touch, str(m)) for m in markers]
    cancelled = [f.cancel() for f in queued]
    if kind in CONCURRENT:
        # dask cancels asynchronously (within milliseconds): let that reach the workers before
        # they free up; a task that has already started would run to its end, result dropped
        time.sleep(0.3)
    gate.touch()
    cf.wait(blockers + queued, timeout=TIMEOUT)
    for future, was_cancelled, marker in zip(queued, cancelled, markers):
        assert future.done()
        if was_cancelled:
            assert future.cancelled()
            with pytest.raises(cf.CancelledError):
                future.result()
        else:
            assert future.result() == str(marker)
    executor.shutdown()  # waits for anything still running: a cancelled task that ran would show now
    for was_cancelled, marker in zip(cancelled, markers):
        assert marker.exists() is not was_cancelled
    if kind in CONCURRENT:
        assert any(cancelled)


def test_given_shutdown_without_cancel_it_should_wait_for_every_task(executor: Executor) -> None:
    futures = [executor.submit(square, Job(n)) for n in range(4)]
    executor.shutdown()
    assert all(f.done() for f in futures)
    assert [f.result().square for f in futures] == [0, 1, 4, 9]


def test_given_a_shut_down_executor_shutting_it_down_again_should_be_harmless(
    new_executor: Callable[[], Executor],
) -> None:
    """The scheduler shuts down with ``cancel=True`` on Ctrl+C, and `api.make` again on its way out."""
    for first, second in [(True, False), (False, False), (False, True)]:
        executor = new_executor()
        assert executor.submit(square, Job(2)).result(timeout=TIMEOUT).square == 4
        executor.shutdown(cancel=first)
        executor.shutdown(cancel=second)


# --- end to end: the same build on every backend -----------------------------------------------------

CONFIG = """\
version: 1
sources:
  raw: {path: data/*.csv}
targets:
  clean:
    from: raw
    steps:
      - filter: "value is not null"
      - derive: {double: "value * 2"}
  top:
    from: clean
    steps:
      - sort: {by: [id], descending: true}
"""

MIXED_CONFIG = CONFIG + """\
  bad:
    from: raw
    steps:
      - cast: {label: int64}
  feat:
    from: raw
    python: pipes:add_total
"""

PIPES = """\
import pyarrow.compute as pc


def add_total(table):
    return table.append_column("total", pc.add(table["id"], table["value"]))
"""


def _csv(n: int, start: int) -> str:
    lines = ["id,group,value,label"]
    for i in range(start, start + n):
        value = "" if i % 7 == 3 else f"{(i * 37) % 101 / 4}"
        lines.append(f"{i},{'abc'[i % 3]},{value},{'yes' if i % 2 else 'no'}")
    return "\n".join(lines) + "\n"


def _project(root: Path, config: str = CONFIG) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "mldata.yaml").write_text(config)
    (root / "pipes.py").write_text(PIPES)
    for i in range(3):
        (root / "data" / f"part{i}.csv").write_text(_csv(20, start=i * 100))
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    out = {"mldata.lock": (root / "mldata.lock").read_bytes()}
    for p in sorted((root / "build").rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


Factory = Callable[..., Executor]


def _make(root: Path, kind: str, factory: Factory | None = None) -> api.BuildResult:
    """`mldata make` through the public API; ``factory`` stands in for `make_executor` (the API
    does not know the dask executor yet, and this runs dask against the module's cluster)."""
    with pytest.MonkeyPatch.context() as patch:
        if factory is not None:
            patch.setattr("mldata.executors.make_executor", factory)
        return api.make(api.open_project(root), [], api.MakeOptions(executor=kind, jobs=2))


def _history(root: Path, make: Callable[[Path], Any]) -> list[tuple[dict[str, str], dict[str, bytes]]]:
    """Build, change one file and add one, rebuild, then make once more: statuses and bytes each time."""
    history = []

    def step() -> None:
        result = make(root)
        statuses = {o.target: o.status for o in result.outcomes}
        history.append((statuses, _snapshot(root)))

    step()
    (root / "data" / "part1.csv").write_text(_csv(25, start=150))
    (root / "data" / "part3.csv").write_text(_csv(10, start=300))
    step()
    step()
    return history


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict[str, str], dict[str, bytes]]]:
    root = _project(tmp_path_factory.mktemp("reference") / "p")
    return _history(root, lambda r: _make(r, "inline"))


@dataclass
class Backend:
    """A stand-in for `make_executor` that always gives the backend under test, and counts."""

    new_executor: Callable[[], Executor]
    used: int = 0

    def __call__(self, kind: str, workers: int, address: str | None = None, on_event: Any = None) -> Executor:
        self.used += 1
        return self.new_executor()


@pytest.fixture
def backend(new_executor: Callable[[], Executor]) -> Backend:
    return Backend(new_executor)


def test_given_a_project_every_backend_should_build_the_same_bytes(
    kind: str, backend: Backend, tmp_path: Path, reference: list[tuple[dict[str, str], dict[str, bytes]]]
) -> None:
    root = _project(tmp_path / "p")
    history = _history(root, lambda r: _make(r, kind, backend))
    assert backend.used == 2  # the two builds that had work; the no-op make starts no executor
    statuses = [statuses for statuses, _ in history]
    assert statuses == [statuses for statuses, _ in reference]
    assert statuses[0] == {"clean": "built", "top": "built"} and statuses[1]["clean"] == "partial"
    assert statuses[2] == {"clean": "up_to_date", "top": "up_to_date"}
    for (_, got), (_, want) in zip(history, reference):
        assert sorted(got) == sorted(want)
        for name in want:
            assert got[name] == want[name], f"{name} differs from the inline build"
    import pyarrow.parquet as pq

    ids = pq.read_table(root / "build" / "top").column("id").to_pylist()
    assert ids == sorted(ids, reverse=True) and len(ids) > 0


def test_given_a_failing_target_and_a_python_target_every_backend_should_report_the_same(
    kind: str, backend: Backend, tmp_path: Path
) -> None:
    """A task's error crosses the backend as an mldata error; the project root is importable by workers."""
    ref_root = _project(tmp_path / "ref", MIXED_CONFIG)
    want = _make(ref_root, "inline").outcomes
    root = _project(tmp_path / "p", MIXED_CONFIG)
    got = _make(root, kind, backend).outcomes
    assert backend.used == 1
    by_name = {o.target: o for o in got}
    assert {n: o.status for n, o in by_name.items()} == {"clean": "built", "top": "built", "bad": "failed",
                                                          "feat": "built"}
    assert "cannot cast column 'label' to int64" in by_name["bad"].message

    def summary(outcomes: list[Any]) -> list[tuple[Any, ...]]:
        # all three parts of `bad` fail; which one is reported first is a race
        return [(o.target, o.status, re.sub(r"part\d\.csv", "part?.csv", o.message), o.hint, o.rows)
                for o in outcomes]

    assert summary(got) == summary(want)
    assert (root / "mldata.lock").read_bytes() == (ref_root / "mldata.lock").read_bytes()


# --- the dask backend on its own ----------------------------------------------------------------------


def test_given_no_dask_the_dask_executor_should_say_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from mldata.errors import UsageError
    from mldata.executors.dask import DaskExecutor

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    with pytest.raises(UsageError) as info:
        DaskExecutor(None, 2)
    assert info.value.message == "the dask executor needs the dask extra"
    assert info.value.hint == "pip install 'mldata[dask]'"


def test_given_an_address_where_no_scheduler_listens_the_dask_executor_should_fail_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("distributed")
    import socket

    from mldata.errors import UsageError
    from mldata.executors import dask as dask_executor

    with socket.socket() as s:  # a free port, closed again: nothing listens there
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(UsageError) as info:
        make_executor("dask", 2, address=address)
    assert address in info.value.message and "dask scheduler" in (info.value.hint or "")


def test_given_no_address_the_dask_executor_should_run_a_local_cluster_and_close_it() -> None:
    pytest.importorskip("distributed")
    executor = make_executor("dask", 2)
    try:
        cluster = executor._cluster  # type: ignore[attr-defined]
        assert cluster is not None and len(cluster.scheduler_info["workers"]) == 2
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        futures = [executor.submit(square, Job(n)) for n in range(4)]
        assert [f.result(timeout=TIMEOUT).square for f in futures] == [0, 1, 4, 9]
        assert isinstance(executor.submit(fail, StepError("x", hint="y")).exception(timeout=TIMEOUT), StepError)
    finally:
        executor.shutdown()
    assert executor._cluster is None and cluster.status.name == "closed"  # type: ignore[attr-defined]
