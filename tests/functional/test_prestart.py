"""A first build starts its worker pool before loading the project (api.prestart)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mldata import api
from tests.conftest import BASIC_CONFIG, ProjectDir, csv_rows


def _mldata(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mldata", "-C", str(root), *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_prestart_starts_a_pool_only_when_a_first_build_is_certain(basic: ProjectDir, monkeypatch) -> None:
    monkeypatch.delenv("MLDATA_EXECUTOR", raising=False)
    monkeypatch.delenv("MLDATA_WORKERS", raising=False)
    assert api.prestart(basic.root, executor="inline") is None
    assert api.prestart(basic.root, jobs=1) is None
    assert api.prestart(basic.root, locked=True) is None
    monkeypatch.setenv("MLDATA_EXECUTOR", "dask")
    assert api.prestart(basic.root, jobs=2) is None
    monkeypatch.delenv("MLDATA_EXECUTOR")
    pool = api.prestart(basic.root, jobs=2)
    try:
        assert pool is not None and pool.workers == 2
        if pool._own_server:  # the fork server started, importing for the workers (zygote.py)
            from multiprocessing import forkserver

            os.kill(forkserver._forkserver._forkserver_pid, 0)
        else:
            deadline = time.time() + 10
            while len(getattr(pool._pool, "_processes", {}) or {}) < 2 and time.time() < deadline:
                time.sleep(0.01)
            assert len(pool._pool._processes) == 2  # forked now, before any task
    finally:
        pool.shutdown(cancel=True)
        pool.shutdown(cancel=True)  # a second shutdown does nothing
    (basic.root / "mldata.lock").write_text("{}")
    assert api.prestart(basic.root, jobs=2) is None  # not a first build: a no-op make must not pay for it


def test_a_first_build_with_a_prestarted_pool_gives_the_lock_of_an_inline_build(basic: ProjectDir) -> None:
    assert basic.run("make").code == 0  # inline
    inline_lock = basic.lock_text()
    (basic.root / "mldata.lock").unlink()
    for sub in ("build", ".mldata"):
        import shutil

        shutil.rmtree(basic.root / sub)
    r = _mldata(basic.root, "make", "-j", "2")
    assert r.returncode == 0, r.stderr
    assert basic.lock_text() == inline_lock
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("setting", ["workers: 1", "executor: inline", "workers: 3"])
def test_a_prestarted_pool_that_does_not_fit_the_settings_is_replaced(project: ProjectDir, setting: str) -> None:
    project.config(BASIC_CONFIG.replace("version: 1\n", f"version: 1\ndefaults:\n  {setting}\n"))
    for i in range(4):
        project.write(f"data/part{i}.csv", csv_rows(15, start=i * 100))
    r = _mldata(project.root, "make")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert _mldata(project.root, "make").stdout.startswith("nothing to do")


def test_a_prestarted_pool_of_the_configured_size_is_used_with_fewer_tasks_than_workers(project: ProjectDir,
                                                                                        monkeypatch) -> None:
    project.config(BASIC_CONFIG)
    for i in range(2):
        project.write(f"data/part{i}.csv", csv_rows(15, start=i * 100))
    pool = api.prestart(project.root, jobs=4)
    assert pool is not None
    stopped = []
    monkeypatch.setattr(pool, "shutdown", lambda cancel=False, _orig=pool.shutdown: (stopped.append(cancel),
                                                                                     _orig(cancel=cancel)))
    project_ = api.open_project(project.root)
    result = api.make(project_, [], api.MakeOptions(jobs=4), prestarted=pool)
    assert not result.failed
    assert stopped and stopped[0] is False  # used by the build (and shut down when done), not cancelled unused


def test_a_config_error_on_a_first_build_stops_the_prestarted_workers_quietly(project: ProjectDir) -> None:
    project.config(BASIC_CONFIG + "  broken: [\n")
    project.write("data/part0.csv", csv_rows(5))
    start = time.perf_counter()
    r = _mldata(project.root, "make", "-j", "2")
    assert r.returncode == 2
    assert "mldata.yaml:" in r.stderr
    assert "Traceback" not in r.stderr and "KeyboardInterrupt" not in r.stderr
    assert time.perf_counter() - start < 20  # workers stopped, not waited for


def _modules_missing(names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name not in sys.modules]


def test_workers_import_what_a_part_needs_before_the_first_task() -> None:
    # (a worker is idle while the parent loads the project and plans: the imports belong there)
    from mldata.executors.process import ProcessExecutor

    wanted = ("pyarrow.compute", "pyarrow.csv", "pyarrow.parquet", "mldata.io", "mldata.stats.partial",
              "mldata.steps.builtin", "mldata.writers")
    pool = ProcessExecutor(1)
    try:
        assert pool.submit(_modules_missing, wanted).result(timeout=60) == []
    finally:
        pool.shutdown()


_SERVER_PROBE = r'''
import json, os, sys

def probe(_):
    server = os.getppid()
    with open(f"/proc/{server}/maps") as maps:
        arrow_mapped = "libarrow" in maps.read()
    from multiprocessing import forkserver

    lock = forkserver._forkserver._lock  # a step starting its own forkserver pool takes it
    lock_free = lock.acquire(blocking=False)
    if lock_free:
        lock.release()
    return {"pid": os.getpid(), "parent": server, "arrow_in_parent_of_worker": arrow_mapped,
            "forkserver_lock_free": lock_free}

from mldata.executors.process import ProcessExecutor

pool = ProcessExecutor(2)
try:
    results = [pool.submit(probe, None).result(timeout=60) for _ in range(6)]
finally:
    pool.shutdown()
server = results[0]["parent"]
try:
    os.kill(server, 0)
    server_alive = True
except ProcessLookupError:
    server_alive = False
print(json.dumps({"me": os.getpid(), "results": results, "server_alive_after_shutdown": server_alive,
                  "pyarrow_here": "pyarrow" in sys.modules}))
'''


def _probe_workers(tmp_path: Path, env: dict[str, str]) -> dict:
    import json

    script = tmp_path / "probe.py"
    script.write_text(_SERVER_PROBE)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                       env={**os.environ, **env}, cwd=str(Path(__file__).resolve().parents[2]))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return json.loads(r.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux") or sys.version_info >= (3, 14),
                    reason="the forked fork server is used on Linux, Python < 3.14")
def test_workers_are_forked_from_one_server_that_imported_pyarrow_for_all_of_them(tmp_path: Path) -> None:
    # One pyarrow import (~0.35 s of CPU) for the whole pool instead of one per worker, and the
    # parent still never imports pyarrow.
    out = _probe_workers(tmp_path, {"MLDATA_START_METHOD": ""})
    parents = {r["parent"] for r in out["results"]}
    assert len(parents) == 1 and out["me"] not in parents  # the workers' parent is the server
    assert all(r["arrow_in_parent_of_worker"] for r in out["results"])  # which has pyarrow loaded
    assert all(r["forkserver_lock_free"] for r in out["results"])
    assert not out["pyarrow_here"]
    assert not out["server_alive_after_shutdown"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is for Linux")
def test_the_start_method_can_be_chosen(tmp_path: Path) -> None:
    out = _probe_workers(tmp_path, {"MLDATA_START_METHOD": "fork"})
    assert {r["parent"] for r in out["results"]} == {out["me"]}  # forked by the build process itself
    assert not any(r["arrow_in_parent_of_worker"] for r in out["results"])


@pytest.mark.skipif(not sys.platform.startswith("linux") or sys.version_info >= (3, 14),
                    reason="the forked fork server is used on Linux, Python < 3.14")
def test_a_pool_stopped_while_its_server_is_still_importing_stops_at_once() -> None:
    # (e.g. Ctrl+C while the project loads, or a plan that runs inline after all)
    script = ("import time; from mldata.executors.process import ProcessExecutor; t = time.perf_counter();"
              "ProcessExecutor(2).start().shutdown(cancel=True); stop = time.perf_counter() - t;"
              "t = time.perf_counter(); import pyarrow.compute, pyarrow.parquet; print(stop, time.perf_counter() - t)")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "MLDATA_START_METHOD": ""})
    assert r.returncode == 0 and r.stderr == "", r.stderr
    stop, pyarrow_import = map(float, r.stdout.split())
    assert stop < pyarrow_import / 2  # the server's import is not waited for
