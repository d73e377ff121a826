"""The public API: load a project, plan, make, check status, clean. The CLI is a thin layer on it.

Each function takes the project folder and explicit options, returns a value, and reports
progress only through the Reporter it is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mldata import config, lock as lockfile
from mldata.graph import Graph
from mldata.lock import Lock
from mldata.outcome import BuildResult, TargetOutcome
from mldata.plan import Action, Plan, decide
from mldata.scan import CACHE_DIR, Scanner
from mldata.spec import Compression, ProjectSpec

from mldata.statcache import StatCache

if TYPE_CHECKING:
    from mldata.events import Reporter

STATCACHE_FILE = ".mldata/statcache.json"


@dataclass(frozen=True)
class Project:
    """A loaded project: its folder, resolved configuration and target graph."""

    root: Path
    spec: ProjectSpec
    graph: Graph


def open_project(path: str | os.PathLike[str] = ".") -> Project:
    """Find mldata.yaml at ``path`` (or above it) and load it."""
    root = config.find_root(Path(path))
    spec = config.load(root)
    return Project(root=root, spec=spec, graph=Graph.from_spec(spec))


def plan(project: Project, targets: list[str] | tuple[str, ...] = (), *, force: bool = False,
         compression: Compression | None = None, exclude: list[str] | tuple[str, ...] = ()) -> Plan:
    """What `make` would do for the selected targets, and why. Builds nothing, writes nothing."""
    selected = project.graph.select(list(targets), list(exclude))
    statcache = StatCache(project.root / STATCACHE_FILE)
    scanner = Scanner(project.spec, statcache, compression=compression)
    lock = lockfile.read(project.root)
    result, _ = decide(project.graph, selected, lambda n: scanner.target_state(n, lock), lock.entry, force=force)
    statcache.save()
    return result


@dataclass(frozen=True)
class MakeOptions:
    """How to run a build (command-line flags, resolved)."""

    force: bool = False
    compression: Compression | None = None
    jobs: int | None = None  # None: the project's `workers`, else one per CPU
    executor: str = "process"  # "process", "inline" or "dask"
    address: str | None = None  # executor "dask": a running scheduler, tcp://HOST:8786 (None: a local cluster)
    keep_going: bool = True
    rebuild_lock: bool = False
    wait: bool = True  # wait for another build of the project to finish (else BusyError)
    allow_breaking: bool = False  # build despite breaking schema changes (they are warned about)
    exclude: tuple[str, ...] = ()  # targets left out of the selection (used as they are)
    locked: bool = False  # fail (StaleError) instead of building when anything is stale


def prestart(root: Path, *, jobs: int | None = None, executor: str | None = None, locked: bool = False) -> Any:
    """Start the default worker pool before the project is even loaded, when a build is certain:
    the project has no mldata.lock yet (a first build) and nothing asks for another executor.

    The workers' imports (pyarrow: ~0.3 s each) then overlap the parent's configuration loading
    and planning instead of delaying the first task; a first build of the reference workload
    starts its parts ~0.25 s sooner. Hand the pool to :func:`make` (``prestarted=``), which uses
    it if it fits the plan and shuts it down otherwise; shut it down yourself if make is never
    called. A no-op make never pays for it: with a lock, nothing is started here.
    """
    if locked or (root / lockfile.LOCK_FILE).exists():
        return None
    from mldata.settings import env_value, worker_count

    # only the flags and the environment: the project's and the user's settings are not read yet
    if (executor or env_value("executor") or "process") != "process":
        return None
    workers = jobs or worker_count(env_value("workers") or "auto")
    if workers <= 1:
        return None
    from mldata.executors.process import ProcessExecutor

    return ProcessExecutor(workers).start()


def make(project: Project, targets: list[str] | tuple[str, ...] = (), options: MakeOptions = MakeOptions(),
         reporter: "Reporter | None" = None, *, prestarted: Any = None) -> BuildResult:
    """Bring the selected targets (and what they need) up to date.

    ``prestarted``: a pool from :func:`prestart`, used if the plan needs that executor with that
    many workers, else shut down; either way make owns it from here.
    """
    try:
        return _make(project, targets, options, reporter, prestarted)
    finally:
        if prestarted is not None:
            prestarted.shutdown(cancel=True)  # does nothing if the build used (and shut) it


def _make(project: Project, targets: list[str] | tuple[str, ...], options: MakeOptions,
          reporter: "Reporter | None", prestarted: Any) -> BuildResult:
    if reporter is None:
        from mldata.events import NullReporter

        reporter = NullReporter()
    selected = project.graph.select(list(targets), list(options.exclude))
    from mldata.projectlock import ProjectLock

    def waiting(holder: str) -> None:
        from mldata.events import WaitingForBuild

        reporter.emit(WaitingForBuild(holder))

    with ProjectLock(project.root, wait=options.wait, on_wait=waiting):
        return _make_locked(project, selected, options, reporter, prestarted)


def _make_locked(project: Project, selected: list[str], options: MakeOptions, reporter: "Reporter",
                 prestarted: Any = None) -> BuildResult:
    def hashing(path: str, size: int) -> None:
        from mldata.events import HashingFile

        reporter.emit(HashingFile(os.path.relpath(path, project.root), size))

    statcache = StatCache(project.root / STATCACHE_FILE, on_hash=hashing)
    scanner = Scanner(project.spec, statcache, compression=options.compression)
    lock = Lock() if options.rebuild_lock else lockfile.read(project.root)
    if options.rebuild_lock:
        # keep entries of targets outside the selection
        try:
            old = lockfile.read(project.root)
            lock.targets.update({k: v for k, v in old.targets.items() if k not in selected})
        except Exception:
            pass
    first, states = decide(project.graph, selected, lambda n: scanner.target_state(n, lock), lock.entry,
                           force=options.force)
    if options.locked and first.stale:
        from mldata.errors import StaleError

        stale = [f"{d.target} ({d.reasons[0].message if d.reasons else d.summary()})" for d in first.decisions if d.stale]
        statcache.save()
        raise StaleError(f"--locked: mldata.lock would change; stale: {'; '.join(stale)}",
                         hint="run `mldata make` and commit mldata.lock")
    if not first.stale:
        # Nothing to do: answer without importing the scheduler, the executors or pyarrow.
        statcache.save()
        return BuildResult(plan=first, outcomes=[TargetOutcome(n, "up_to_date") for n in selected])
    from mldata.schedule import RunOptions, run, sweep_temporary

    sweep_temporary(project.root, [project.spec.targets[n].output for n in selected])

    executor = _executor(project, options, first, reporter, prestarted)
    try:
        result = run(project.spec, project.graph, selected, scanner, lock, first, states, executor, reporter,
                     RunOptions(force=options.force, keep_going=options.keep_going,
                                allow_breaking=options.allow_breaking))
    finally:
        executor.shutdown()
        statcache.save()
    from mldata.cache import max_bytes_from_env, prune

    prune(project.root, max_bytes_from_env())
    if options.rebuild_lock:
        lockfile.write(project.root, lock)
    return result


def _executor(project: Project, options: MakeOptions, first: Plan, reporter: "Reporter", prestarted: Any = None):
    from mldata.events import wants_worker_phases
    from mldata.executors import make_executor
    from mldata.settings import resolve_workers

    jobs = options.jobs or resolve_workers(project.spec)
    work = sum(
        (len(d.parts_to_build) or 1) for d in first.decisions if d.action in (Action.BUILD, Action.PARTIAL)
    ) + sum(1 for d in first.decisions if d.action is Action.PENDING)
    # A process pool costs each worker a pyarrow import; one small task is faster inline. But a
    # cluster named by --address is where the user wants the work done, even a single task.
    kind = options.executor if work > 1 or options.address else "inline"
    workers = min(jobs, max(work, 1))
    on_event = reporter.emit if wants_worker_phases(reporter) else None
    if prestarted is not None:
        # a pool of the configured size fits even when there are fewer tasks than workers
        if kind == "process" and workers > 1 and prestarted.workers in (workers, jobs):
            prestarted.set_event_sink(on_event)
            return prestarted
        prestarted.shutdown(cancel=True)
    return make_executor(kind, workers, address=options.address, on_event=on_event)


def clean(project: Project, *, outputs: bool = True, cache: bool = False) -> list[str]:
    """Remove build outputs of every target (and the part cache with ``cache``); return what went."""
    import shutil

    removed: list[str] = []
    if outputs:
        for target in project.spec.targets.values():
            out = project.root / target.output
            if out.exists():
                shutil.rmtree(out)
                removed.append(target.output)
    if cache:
        path = project.root / CACHE_DIR
        if path.exists():
            shutil.rmtree(path)
            removed.append(CACHE_DIR)
    return removed
