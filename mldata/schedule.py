"""The scheduler: runs a plan's work on an executor, in dependency order, and records it.

Per target: the parts it needs (per input file, content-addressed in `.mldata/cache/`, so a
part seen before is reused without recomputation), then one finishing task (link the parts,
or run the global steps). When a target finishes, its lock entry is replaced and the lock
written atomically, so an interrupted build keeps everything finished so far. A target whose
new data hash equals the old one cuts off its dependents (they are re-decided and come out up
to date). A failing target keeps its previous outputs and lock entry; independent targets go on.
"""

from __future__ import annotations

import os
import queue
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mldata import lock as lockfile
from mldata.cache import part_path, touch
from mldata.build import (InputFile, OutputOptions, PartRef, PartTask, TargetTask, Validation, read_part_meta, sidecar_path, run_part,
                          run_target)
from mldata.errors import Cancelled, MldataError
from mldata.outcome import BuildResult, TargetOutcome
from mldata.events import (
    PartFinished,
    Reporter,
    TargetFailed,
    TargetFinished,
    TargetSkipped,
    TargetStarted,
    TargetUpToDate,
)
from mldata.executors import Executor
from mldata.graph import Graph
from mldata.lock import Lock
from mldata.plan import Action, Decision, Plan, decide_target
from mldata.scan import INTERNAL_COMPRESSION, Scanner, TargetState, part_parquet_options
from mldata.spec import ProjectSpec


@dataclass(frozen=True)
class RunOptions:
    force: bool = False
    keep_going: bool = True
    allow_breaking: bool = False


class _Run:
    """The state of one build run (kept in one object so the loop below stays readable)."""

    def __init__(self, spec: ProjectSpec, graph: Graph, selected: list[str], scanner: Scanner, lock: Lock,
                 executor: Executor, reporter: Reporter, options: RunOptions) -> None:
        self.spec, self.graph, self.scanner, self.lock = spec, graph, scanner, lock
        self.executor, self.reporter, self.options = executor, reporter, options
        self.root = Path(spec.root)
        self.selected = selected
        self.selected_set = set(selected)
        self.outcomes: dict[str, TargetOutcome] = {}
        self.in_flight: dict[Future[Any], tuple[str, str]] = {}  # future -> (kind, target)
        # Futures put themselves here when done: the loop takes them in O(1), where
        # concurrent.futures.wait() would hook a waiter onto every in-flight future each time
        # (200 parts in flight: ~0.1 s of the parent's CPU, taken from the workers).
        self.completed: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        self.parts: dict[str, dict[str, PartRef]] = {}
        self.missing_parts: dict[str, int] = {}
        self.states: dict[str, TargetState] = {}
        self.decisions: dict[str, Decision] = {}
        self.started: dict[str, float] = {}
        self.lock_written = False
        self.stop = False
        self.input_bytes: dict[tuple[str, str], int] = {}

    # --- starting work ----------------------------------------------------------------------------

    def start(self, name: str, decision: Decision, state: TargetState, *, cutoff: bool = False) -> None:
        self.decisions[name] = decision
        self.states[name] = state
        if decision.action is Action.UP_TO_DATE:
            self.outcomes[name] = TargetOutcome(name, "up_to_date", cutoff=cutoff)
            self.reporter.emit(TargetUpToDate(name, cutoff))
            self.resolved(name)
            return
        self.started[name] = time.perf_counter()
        target = self.spec.targets[name]
        compression = self.spec.compression_for(target, self.scanner.compression)
        refs: dict[str, PartRef] = {}
        tasks: list[PartTask] = []
        if target.partitioned:
            part_comp = INTERNAL_COMPRESSION if target.has_global_suffix else compression
            keep_from_lock = self._unchanged_outputs(name, decision, state) if not target.has_global_suffix else {}
            prefix = target.steps[: target.prefix_len]
            for unit in state.units.values():
                if unit.name in keep_from_lock:
                    refs[unit.name] = keep_from_lock[unit.name]
                    continue
                cache_file = part_path(self.root, unit.cache_key)
                ref = None if self.options.force else self._cached(unit.name, unit.part_name, cache_file)
                if ref is not None:
                    refs[unit.name] = ref
                    continue
                tasks.append(PartTask(
                    root=str(self.root), target=name, unit=unit.name, path=unit.path, format=unit.format,
                    options=unit.options, steps=prefix, codec=part_comp.codec, level=part_comp.level,
                    cache_file=str(cache_file), code_digests=state.code,
                    # internal parts (global steps follow): the finished table is profiled instead
                    profile=False if target.has_global_suffix else target.profile,
                    **part_parquet_options(target),
                ))
        self.parts[name] = refs
        self.missing_parts[name] = len(tasks)
        for task in tasks:
            self.input_bytes[(name, task.unit)] = _size(task.path)
        self.reporter.emit(TargetStarted(name, decision.summary(), len(tasks), len(refs),
                                         sum(self.input_bytes[(name, t.unit)] for t in tasks)))
        for task in tasks:
            self._track(self.executor.submit(run_part, task), "part", name)
        if not tasks:
            self.finish(name)

    def _unchanged_outputs(self, name: str, decision: Decision, state: TargetState) -> dict[str, PartRef]:
        """For a partial build: parts whose output file is intact stay as they are (no cache check)."""
        if decision.action is not Action.PARTIAL:
            return {}
        entry = self.lock.entry(name) or {}
        todo = set(decision.parts_to_build)
        out: dict[str, PartRef] = {}
        for rel, rec in entry.get("outputs", {}).items():
            unit = rec.get("input")
            if unit in state.units and unit not in todo and state.outputs.get(rel) == rec.get("hash"):
                out[unit] = PartRef(unit=unit, part_name=rel.rsplit("/", 1)[-1], cache_file="", rows=rec["rows"],
                                    bytes=rec["bytes"], file_hash=rec["hash"], data_hash=rec["data"],
                                    schema=entry.get("schema", {}).get("columns", []), keep=True,
                                    sidecar=str(sidecar_path(part_path(self.root, state.units[unit].cache_key))))
        return out

    def _cached(self, unit: str, part_name: str, cache_file: Path) -> PartRef | None:
        meta = read_part_meta(cache_file)
        if meta is None:
            return None
        try:
            if self.scanner.statcache.digest(cache_file) != meta["file_hash"]:
                return None  # damaged (edited through a hard link?): recompute it
        except OSError:
            return None
        touch(cache_file)
        return PartRef(unit=unit, part_name=part_name, cache_file=str(cache_file), rows=meta["rows"],
                       bytes=meta["bytes"], file_hash=meta["file_hash"], data_hash=meta["data_hash"],
                       schema=meta["schema"], sidecar=str(sidecar_path(cache_file)))

    def _validation(self, name: str) -> Validation | None:
        target = self.spec.targets[name]
        state = self.states[name]
        old = (self.lock.entry(name) or {}).get("schema")
        schema_digest = ""
        if target.schema:
            schema_digest = state.schema_file.get(target.schema, "")
        elif target.schema_inline is not None:
            from mldata.fingerprint import digest_json

            schema_digest = digest_json(target.schema_inline)
        return Validation(
            target=name,
            schema_path=str(self.root / target.schema) if target.schema else None,
            schema_inline=target.schema_inline,
            schema_label=target.schema,
            schema_digest=schema_digest,
            checks=target.checks,
            old_columns=tuple(old["columns"]) if old and "columns" in old else None,
            on_breaking=target.on_breaking,
            allow_breaking=self.options.allow_breaking,
            old_profile=(self.lock.entry(name) or {}).get("profile"),
            drift=target.drift,
            drift_defaults=_drift_defaults(self.spec),
        )

    def finish(self, name: str) -> None:
        """All parts are ready: submit the finishing task."""
        target = self.spec.targets[name]
        state = self.states[name]
        validation = self._validation(name)
        compression = self.spec.compression_for(target, self.scanner.compression)
        if target.partitioned:
            units = state.units
            parts = tuple(
                PartRef(**{**ref.__dict__, "part_name": units[u].part_name}) for u, ref in sorted(self.parts[name].items())
            )
            mode = "global" if target.has_global_suffix else "link"
            task = TargetTask(root=str(self.root), target=name, mode=mode, out_dir=target.output,
                              codec=compression.codec, level=compression.level, parts=parts,
                              suffix=target.steps[target.prefix_len:], code_digests=state.code,
                              validation=validation, output=_output_options(target), profile=target.profile)
        else:
            inputs: list[tuple[str, tuple[InputFile, ...]]] = []
            for inp in target.inputs:
                if inp in self.spec.sources:
                    src = self.spec.sources[inp]
                    files = tuple(
                        InputFile(rel, path, self.scanner._format(src, rel), src.options)
                        for rel, path in self.scanner.source_files(src)
                    )
                else:
                    entry = self.lock.entry(inp) or {}
                    fmt = self.spec.targets[inp].format
                    files = tuple(InputFile(rel, str(self.root / rel), fmt, {}) for rel in sorted(entry.get("outputs", {})))
                inputs.append((inp, files))
            task = TargetTask(root=str(self.root), target=name, mode="whole", out_dir=target.output,
                              codec=compression.codec, level=compression.level, suffix=target.steps,
                              python=target.python, params=target.params, inputs=tuple(inputs),
                              code_digests=state.code, validation=validation, output=_output_options(target),
                              profile=target.profile)
        self._track(self.executor.submit(run_target, task), "target", name)

    def _track(self, future: Future[Any], kind: str, name: str) -> None:
        self.in_flight[future] = (kind, name)
        future.add_done_callback(self.completed.put)  # at once if already done (inline executor)

    # --- results ----------------------------------------------------------------------------------

    def on_part(self, name: str, result: Any) -> None:
        unit = self.states[name].units[result.unit]
        self.parts[name][result.unit] = PartRef(
            unit=result.unit, part_name=unit.part_name, cache_file=result.cache_file, rows=result.rows,
            bytes=result.bytes, file_hash=result.file_hash, data_hash=result.data_hash, schema=result.schema,
            computed=True, sidecar=str(sidecar_path(Path(result.cache_file))),
        )
        self.reporter.emit(PartFinished(name, result.unit, result.rows, result.bytes,
                                        self.input_bytes.get((name, result.unit), 0)))
        self.missing_parts[name] -= 1
        if self.missing_parts[name] == 0:
            self.finish(name)

    def on_target(self, name: str, result: Any) -> None:
        from mldata.schema import schema_entry

        state = self.states[name]
        old = self.lock.entry(name)
        self.lock.targets[name] = {
            "fingerprint": state.fingerprint,
            "recipe": state.recipe,
            "encoding": state.encoding,
            "code": state.code,
            "schema_file": state.schema_file,
            "inputs": state.inputs,
            "upstream": state.upstream,
            "outputs": result.outputs,
            "data_hash": result.data_hash,
            "rows": result.rows,
            "schema": schema_entry((old or {}).get("schema"), result.schema),
            "profile": result.profile,
        }
        if result.splits is not None:
            self.lock.targets[name]["splits"] = result.splits
        self.lock_written |= lockfile.write(self.root, self.lock)
        for rel, rec in result.outputs.items():
            try:
                self.scanner.statcache.record(self.root / rel, rec["hash"])
            except OSError:
                pass
        decision = self.decisions[name]
        seconds = time.perf_counter() - self.started[name]
        computed = self._computed(name)
        status = "partial" if decision.action is Action.PARTIAL else "built"
        self.outcomes[name] = TargetOutcome(name, status, result.rows, sum(r["bytes"] for r in result.outputs.values()),
                                            seconds, computed, warnings=list(result.warnings),
                                            checks=list(result.checks), schema_changes=list(result.schema_changes),
                                            splits=result.splits)
        changed = old is None or old.get("data_hash") != result.data_hash
        self.reporter.emit(TargetFinished(name, result.rows, self.outcomes[name].bytes, seconds, changed, computed,
                                          schema_changes=tuple(result.schema_changes),
                                          warnings=tuple(result.warnings), splits=result.splits))
        self.resolved(name)

    def _computed(self, name: str) -> int:
        return sum(1 for ref in self.parts.get(name, {}).values() if ref.computed)

    def on_failure(self, name: str, exc: BaseException) -> None:
        if name in self.outcomes:
            return
        if isinstance(exc, MldataError):
            message, hint = exc.message, exc.hint
        else:
            message, hint = f"{type(exc).__name__}: {exc}", None
        for fut, (_, tname) in list(self.in_flight.items()):
            if tname == name and fut.cancel():
                del self.in_flight[fut]
        self.outcomes[name] = TargetOutcome(name, "failed", message=message, hint=hint,
                                            report=getattr(exc, "report", None))
        self.reporter.emit(TargetFailed(name, message, hint))
        for dep in self.graph.downstream({name}) - {name}:
            if dep in self.selected_set and dep not in self.outcomes:
                self.outcomes[dep] = TargetOutcome(dep, "skipped", message=f"upstream {name} failed")
                self.reporter.emit(TargetSkipped(dep, f"upstream {name} failed"))
        if not self.options.keep_going:
            self.stop = True

    def resolved(self, name: str) -> None:
        """A target is final: decide its dependents whose upstreams are all final."""
        if self.stop:
            return
        for dep in self.graph.dependents[name]:
            if dep not in self.selected_set or dep in self.outcomes or dep in self.decisions:
                continue
            ups = self.graph.deps[dep]
            if all(u in self.outcomes or u not in self.selected_set for u in ups):
                if any(self.outcomes.get(u) and self.outcomes[u].status in ("failed", "skipped") for u in ups):
                    continue
                state = self.scanner.target_state(dep, self.lock)
                decision = decide_target(state, self.lock.entry(dep), upstream_actions={u: Action.UP_TO_DATE for u in ups},
                                         force=self.options.force)
                rebuilt = any(self.outcomes[u].status in ("built", "partial") for u in ups if u in self.outcomes)
                self.start(dep, decision, state, cutoff=rebuilt and decision.action is Action.UP_TO_DATE)

    # --- the loop -----------------------------------------------------------------------------------

    def run(self, plan: Plan, states: dict[str, TargetState]) -> None:
        try:
            self._loop(plan, states)
        except KeyboardInterrupt:
            self.cancel()

    def cancel(self) -> None:
        """Stop now: cancel pending work, stop the workers, remove temporary files, say what was done.

        A second Ctrl+C during this cleanup ends the process at once (what is left is swept by
        the next build).
        """
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        for fut in list(self.in_flight):
            fut.cancel()
        self.executor.shutdown(cancel=True)
        sweep_temporary(self.root, [self.spec.targets[n].output for n in self.selected])
        done = [n for n in self.selected if n in self.outcomes and self.outcomes[n].status in ("built", "partial")]
        current = [n for n in self.selected if n in self.outcomes and self.outcomes[n].status == "up_to_date"]
        not_done = [n for n in self.selected if n not in self.outcomes]
        kept = sum(1 for refs in self.parts.values() for r in refs.values() if r.computed)
        parts = [n for n in not_done if self.parts.get(n)]
        message = "interrupted. "
        message += f"built: {', '.join(done) or 'none'}"
        if current:
            message += f"; up to date: {', '.join(current)}"
        message += f"; not done: {', '.join(not_done) or 'none'}"
        if kept and parts:
            message += f" ({kept} finished part(s) of {', '.join(parts)} are kept in the cache)"
        raise Cancelled(message, hint="run `mldata make` again to finish; it resumes from what was done")

    def _loop(self, plan: Plan, states: dict[str, TargetState]) -> None:
        for decision in plan.decisions:
            if decision.action is not Action.PENDING and all(
                u in self.outcomes or u not in self.selected_set for u in self.graph.deps[decision.target]
            ):
                if decision.target not in self.decisions and decision.target not in self.outcomes:
                    self.start(decision.target, decision, states[decision.target])
        while self.in_flight:
            done = [self.completed.get()]
            while not self.completed.empty():
                done.append(self.completed.get())
            for fut in done:
                if fut not in self.in_flight:  # cancelled by on_failure, or left over from a stop
                    continue
                kind, name = self.in_flight.pop(fut)
                if fut.cancelled() or name in self.outcomes:
                    continue
                exc = fut.exception()
                if exc is not None:
                    self.on_failure(name, exc)
                elif kind == "part":
                    self.on_part(name, fut.result())
                else:
                    self.on_target(name, fut.result())
            if self.stop:
                for fut in list(self.in_flight):
                    fut.cancel()
                for fut in list(self.in_flight):
                    if not fut.cancelled():
                        try:
                            fut.result()
                        except BaseException:
                            pass
                self.in_flight.clear()
        for name in self.selected:
            if name not in self.outcomes:
                self.outcomes[name] = TargetOutcome(name, "skipped", message="not started (stopped at the first failure)")


def run(spec: ProjectSpec, graph: Graph, selected: list[str], scanner: Scanner, lock: Lock, plan: Plan,
        states: dict[str, TargetState], executor: Executor, reporter: Reporter, options: RunOptions) -> BuildResult:
    """Carry out a plan (from :func:`decide`) on an executor; return what happened to each target.

    ``lock`` is updated in place and written after each finished target.
    """
    state = _Run(spec, graph, selected, scanner, lock, executor, reporter, options)
    state.run(plan, states)
    return BuildResult(plan=plan, outcomes=[state.outcomes[n] for n in selected], lock_written=state.lock_written)


def sweep_temporary(root: Path, outputs: list[str]) -> None:
    """Remove temporary files an interrupted or killed build left in output folders and the cache."""
    folders = [root / out for out in outputs]
    cache = root / ".mldata" / "cache" / "parts"
    if cache.is_dir():
        folders.append(cache)
    for folder in folders:
        if not folder.is_dir():
            continue
        for child in folder.iterdir():
            if child.name.startswith(".tmp-"):
                child.unlink(missing_ok=True)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _drift_defaults(spec: ProjectSpec) -> tuple[float | None, float | None]:
    """PSI warn/fail from the project's defaults, else the user's (None: built-in)."""
    warn = spec.defaults.drift_warn if spec.defaults.drift_warn is not None else spec.user_defaults.drift_warn
    fail = spec.defaults.drift_fail if spec.defaults.drift_fail is not None else spec.user_defaults.drift_fail
    return warn, fail


def _output_options(target: Any) -> OutputOptions:
    return OutputOptions(format=target.format, split=target.split, row_group_size=target.row_group_size,
                         dictionary=target.dictionary)
