"""Building one task: a part of a partitioned target, or a whole target.

Tasks are plain, picklable frozen dataclasses (no open files, no pyarrow objects), so the same
functions run inline, in a process pool or on a Dask worker. A task reads its inputs, applies
the steps, writes its output atomically and returns a small result value; it never touches the
lockfile (the scheduler, in the parent, does that once outputs are in place).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from mldata.errors import BuildError, MldataError, StepError
from mldata.spec import Step


# Where worker progress goes: set in each worker process by the executor (a queue to the
# parent), or to the reporter itself when tasks run inline. None: progress is not reported.
_SINK: Callable[[Any], None] | None = None


def set_progress_sink(sink: Callable[[Any], None] | None) -> None:
    global _SINK
    _SINK = sink


def _phase(target: str, unit: str, phase: str) -> None:
    if _SINK is not None:
        from mldata.events import WorkerPhase

        try:
            _SINK(WorkerPhase(os.getpid(), target, unit, phase))
        except Exception:  # progress must never break a build
            pass


@dataclass(frozen=True)
class PartTask:
    """Read one input file, apply the target's row-local prefix, write a cached Parquet part."""

    root: str
    target: str
    unit: str  # project-relative input path (for messages)
    path: str  # absolute input path
    format: str
    options: dict[str, Any]
    steps: tuple[Step, ...]
    codec: str
    level: int | None
    cache_file: str  # absolute path of the content-addressed part
    code_digests: dict[str, str]
    profile: bool | tuple[str, ...] = True  # the part's partial profile: every column, none, or these
    # the target's Parquet options when the parts are its output files (writers.write_output)
    row_group_size: int | None = None
    dictionary: Any = "auto"


@dataclass(frozen=True)
class PartResult:
    unit: str
    cache_file: str
    rows: int
    bytes: int
    file_hash: str
    data_hash: str
    schema: list[dict[str, Any]]


@dataclass(frozen=True)
class PartRef:
    """A computed part as the finishing task sees it."""

    unit: str
    part_name: str
    cache_file: str
    rows: int
    bytes: int
    file_hash: str
    data_hash: str
    schema: list[dict[str, Any]]
    keep: bool = False  # the output folder already holds this part, intact (partial builds)
    computed: bool = False  # computed in this run (not reused from the cache)
    sidecar: str = ""  # the sidecar of its cached part (meta and partial profile), see sidecar_path


@dataclass(frozen=True)
class InputFile:
    rel: str
    path: str
    format: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Validation:
    """What a finishing task checks before it puts outputs in place (all optional)."""

    target: str
    schema_path: str | None = None  # absolute path of a pandera YAML schema
    schema_inline: dict[str, Any] | None = None
    schema_label: str | None = None  # for messages: the schema file as written in mldata.yaml
    schema_digest: str = ""  # identifies the schema, for the per-part validation cache
    checks: dict[str, Any] | None = None
    old_columns: tuple[dict[str, Any], ...] | None = None  # the schema in the lock (None: first build)
    on_breaking: str = "fail"
    allow_breaking: bool = False
    old_profile: dict[str, Any] | None = None  # the previous build's profile (the drift gate's baseline)
    drift: dict[str, Any] | None = None  # the target's `drift:` settings
    drift_defaults: tuple[float | None, float | None] | None = None  # defaults.drift warn/fail (PSI)

    def drift_config(self) -> Any:
        from mldata.stats.drift import DriftConfig

        raw: dict[str, Any] = {}
        if self.drift_defaults:
            warn, fail = self.drift_defaults
            raw.update({k: v for k, v in (("warn", warn), ("fail", fail)) if v is not None})
        raw.update({k: v for k, v in (self.drift or {}).items() if k != "on_fail"})
        return DriftConfig.from_mapping(raw)

    @property
    def has_schema(self) -> bool:
        return self.schema_path is not None or self.schema_inline is not None


@dataclass(frozen=True)
class OutputOptions:
    """How a finished target is written (single-file modes): format, split, Parquet options."""

    format: str = "parquet"
    split: dict[str, Any] | None = None
    row_group_size: int | None = None
    dictionary: bool | list[str] | None = None


@dataclass(frozen=True)
class TargetTask:
    """Finish a target: link its parts, or run its global steps / python function, and write it.

    ``mode`` is "link" (partitioned, row-local only: the parts are the output), "global"
    (partitioned with global steps after the prefix: read parts, run the rest) or "whole"
    (not partitioned: read every input whole).
    """

    root: str
    target: str
    mode: str
    out_dir: str  # project-relative output folder
    codec: str
    level: int | None
    parts: tuple[PartRef, ...] = ()
    suffix: tuple[Step, ...] = ()  # steps after the row-local prefix ("global"), or all ("whole")
    python: str | None = None
    params: dict[str, Any] | None = None
    inputs: tuple[tuple[str, tuple[InputFile, ...]], ...] = ()  # ("whole"): input name -> files
    code_digests: dict[str, str] | None = None
    validation: Validation | None = None
    output: OutputOptions = OutputOptions()
    profile: bool | tuple[str, ...] = True  # the lock profile: every column, none, or these (`profile:`)


@dataclass(frozen=True)
class TargetResult:
    target: str
    outputs: dict[str, dict[str, Any]]  # project-relative file -> {hash, bytes, rows, data, input?}
    data_hash: str
    rows: int
    schema: list[dict[str, Any]]
    schema_changes: tuple[str, ...] = ()  # human lines, when the columns changed
    warnings: tuple[str, ...] = ()
    checks: tuple[dict[str, Any], ...] = ()  # quality check results (CheckResult.to_json())
    profile: dict[str, Any] | None = None  # the compact profile for the lock (METRICS.md §3.2)
    splits: dict[str, int] | None = None  # rows per split, for split targets


# --------------------------------------------------------------------------------------------
# parts
# --------------------------------------------------------------------------------------------


def run_part(task: PartTask) -> PartResult:
    """Build one part into the cache (or do nothing if another process just did)."""
    from mldata import io

    cache_file = Path(task.cache_file)
    _phase(task.target, task.unit, "reading")
    schema, batches = io.read_batches(task.path, task.format, task.options, task.unit)
    batches = apply_row_local(task.steps, batches, root=task.root,
                              code_digests=task.code_digests, where=f"{task.target} ({task.unit})")
    out_schema, batches = _peek_schema(batches, schema, task.steps, task.root, task.code_digests)

    profiler = None
    if task.profile is not False:
        part_schema = out_schema.remove_metadata()
        profiler = _BoundedProfiler(part_schema, _profiled_columns(task.profile, part_schema.names))
    written = io.write_parquet(out_schema, batches, cache_file, codec=task.codec, level=task.level,
                               row_group_size=task.row_group_size, dictionary=task.dictionary,
                               on_hashing=lambda: _phase(task.target, task.unit, "hashing"),
                               observe=profiler.update if profiler is not None else None)
    os.chmod(cache_file, 0o444)  # the cache is shared by hard links: discourage in-place edits
    result = PartResult(
        unit=task.unit,
        cache_file=task.cache_file,
        rows=written.rows,
        bytes=written.bytes,
        file_hash=written.file_hash,
        data_hash=written.data_hash,
        schema=io.schema_to_json(written.schema),
    )
    # written last: a sidecar marks its part complete
    write_sidecar(sidecar_path(cache_file), _part_meta(result), profiler.result() if profiler is not None else None)
    _phase(task.target, task.unit, "done")
    return result


def profile_max_rows() -> int:
    """Rows per part above which no exact profile is kept (it holds 8 bytes per row and numeric
    column in memory). MLDATA_PROFILE_MAX_ROWS overrides the default of 2 million."""
    raw = os.environ.get("MLDATA_PROFILE_MAX_ROWS")
    return int(raw) if raw and raw.isdigit() else 2_000_000


class _BoundedProfiler:
    """A PartialProfiler that gives up (and frees its memory) past profile_max_rows() rows, so a
    single huge input file still streams through a part with bounded memory. The target's lock
    profile is then left out, with the reason."""

    def __init__(self, schema: Any, columns: list[str] | None = None) -> None:
        from mldata.stats.partial import PartialProfiler

        self.profiler: Any = PartialProfiler(schema, columns=columns)
        self.rows = 0
        self.limit = profile_max_rows()

    def update(self, batch: Any) -> None:
        if self.profiler is None:
            return
        self.rows += batch.num_rows
        if self.rows > self.limit:
            self.profiler = None
            return
        self.profiler.update(batch)

    def result(self) -> Any:
        """The part's PartialProfile, or why there is none (a string)."""
        if self.profiler is None:
            return f"more than {self.limit} rows"
        return self.profiler.finish()


def _read_parquet(path: Any) -> Any:
    """A whole Parquet file as a table. (pq.read_table goes through pyarrow.dataset, whose
    import pulls in pandas: half a second in every worker.)"""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read()


def sidecar_path(part_file: Path) -> Path:
    """Where a cached part's sidecar lives: ``<key>.meta`` beside ``<key>.parquet``.

    The sidecar is one blob (mldata/blob.py) whose header holds the part's meta (``"part"``: rows,
    bytes, file and data hash, schema) and either its partial profile (``"partial_profile"``, the
    arrays in the blob's buffers) or why it has none (``"profile_skipped"``). One file, not three:
    creating files is what a filesystem charges most for (ext4 scans recently freed inodes on
    every create after a clean), and it is written last, so its presence marks the part complete.
    """
    return part_file.with_name(part_file.stem + ".meta")


def write_sidecar(path: Path, meta: dict[str, Any], profile: Any = None) -> None:
    """Write a sidecar: ``profile`` is a PartialProfile, a reason (str) why there is none, or None."""
    from mldata import blob

    header: dict[str, Any] = {"part": meta}
    buffers: list[Any] = []
    if isinstance(profile, str):
        header["profile_skipped"] = profile
    elif profile is not None:
        header["partial_profile"] = profile.encode(buffers)
    blob.write(path, header, buffers)


def read_part_meta(cache_file: Path) -> dict[str, Any] | None:
    """The meta of a cached part (from its sidecar), or None if the part is absent or incomplete."""
    from mldata import blob

    try:
        meta = blob.read_header(sidecar_path(cache_file)).get("part")
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or not cache_file.is_file():
        return None
    return meta


def _part_meta(part: Any) -> dict[str, Any]:
    """A sidecar's ``"part"`` of a PartResult or PartRef."""
    return {"rows": part.rows, "bytes": part.bytes, "file_hash": part.file_hash, "data_hash": part.data_hash,
            "schema": part.schema}


def _peek_schema(batches: Iterator[Any], in_schema: Any, steps: tuple[Step, ...], root: str,
                 code_digests: dict[str, str]) -> tuple[Any, Iterator[Any]]:
    """The output schema of a batch stream: its first batch's, or (empty input) the steps applied
    to an empty batch of the input schema."""
    import itertools

    import pyarrow as pa

    first = next(batches, None)
    if first is not None:
        return first.schema, itertools.chain([first], batches)
    empty = pa.RecordBatch.from_pylist([], schema=in_schema)
    out = list(apply_row_local(steps, iter([empty]), root=root, code_digests=code_digests, where=""))
    return (out[0].schema if out else in_schema), iter(())


# --------------------------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------------------------


def apply_row_local(steps: Iterable[Step], batches: Iterable[Any], *, root: str, code_digests: dict[str, str] | None,
                    where: str) -> Iterator[Any]:
    """Apply row-local steps to a stream of batches, one batch at a time."""
    from mldata.steps.builtin import apply_row_local as builtin_row_local

    steps = tuple(steps)
    for batch in batches:
        for step in steps:
            try:
                if step.kind == "python":
                    batch = _as_batch(call_user(step.args, batch, step.params, root=root, code_digests=code_digests))
                else:
                    batch = builtin_row_local(step.kind, step.args, batch)
            except MldataError as exc:
                raise type(exc)(f"{where}: step {step.kind}: {exc.message}", hint=exc.hint) from None
        yield batch


def apply_steps_to_table(steps: Iterable[Step], table: Any, *, root: str, code_digests: dict[str, str] | None,
                         where: str) -> Any:
    """Apply any steps (row-local or global) to a whole table, in order."""
    import pyarrow as pa

    from mldata.steps.builtin import apply_global

    for step in steps:
        try:
            if step.kind == "python":
                table = _as_table(call_user(step.args, table, step.params, root=root, code_digests=code_digests))
            elif step.is_row_local:
                batches = list(apply_row_local([step], table.to_batches(), root=root, code_digests=code_digests, where=where))
                if batches:
                    table = pa.Table.from_batches(batches)
                else:
                    empty = pa.RecordBatch.from_pylist([], schema=table.schema)
                    out = list(apply_row_local([step], [empty], root=root, code_digests=code_digests, where=where))
                    table = pa.Table.from_batches(out)
            else:
                table = apply_global(step.kind, step.args, table)
        except MldataError as exc:
            if exc.message.startswith(where):
                raise
            raise type(exc)(f"{where}: step {step.kind}: {exc.message}", hint=exc.hint) from None
    return table


_LOADED_CODE: dict[str, str] = {}
_LOADED_ROOT: str | None = None


def call_user(ref: str, data: Any, params: dict[str, Any], *, root: str, code_digests: dict[str, str] | None) -> Any:
    """Call a user function ``module:function`` with the data and params as keyword arguments.

    The project root is importable. When the project's code changed since this process last
    imported it (a long-lived worker, or tests), the project-local modules are re-imported.
    """
    global _LOADED_ROOT
    module_name, _, func_name = ref.partition(":")
    if _LOADED_ROOT != root:
        # another project's modules may carry the same names (tests, embedding programs)
        if _LOADED_ROOT is not None:
            _forget_project_modules(_LOADED_ROOT)
            if _LOADED_ROOT in sys.path:
                sys.path.remove(_LOADED_ROOT)
        _LOADED_ROOT = root
    if root not in sys.path:
        sys.path.insert(0, root)
    if code_digests:
        stale = [rel for rel, d in code_digests.items() if _LOADED_CODE.get(os.path.join(root, rel)) not in (None, d)]
        if stale:
            _forget_project_modules(root)
        for rel, d in code_digests.items():
            _LOADED_CODE[os.path.join(root, rel)] = d
    try:
        module = importlib.import_module(module_name)
        func = getattr(module, func_name)
    except (ImportError, AttributeError) as exc:
        raise StepError(f"cannot load python function {ref!r}: {exc}",
                        hint="check the module path and function name in mldata.yaml") from None
    try:
        return func(data, **params)
    except MldataError:
        raise
    except Exception as exc:  # user code: report it as a build failure of this target
        raise StepError(f"python function {ref} raised {type(exc).__name__}: {exc}") from exc


def _forget_project_modules(root: str) -> None:
    prefix = os.path.abspath(root) + os.sep
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if path and os.path.abspath(path).startswith(prefix):
            del sys.modules[name]
    importlib.invalidate_caches()


def _as_table(value: Any) -> Any:
    import pyarrow as pa

    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    if type(value).__name__ == "DataFrame" and hasattr(value, "columns"):
        return pa.Table.from_pandas(value, preserve_index=False)
    raise StepError(f"a python step must return a pyarrow Table or a pandas DataFrame, not {type(value).__name__}")


def _as_batch(value: Any) -> Any:
    import pyarrow as pa

    if isinstance(value, pa.RecordBatch):
        return value
    table = _as_table(value)
    return table.combine_chunks().to_batches()[0] if table.num_rows else pa.RecordBatch.from_pylist([], schema=table.schema)


# --------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------


def run_target(task: TargetTask) -> TargetResult:
    """Finish a target (see TargetTask.mode) and return what it wrote."""
    if task.mode == "link":
        _phase(task.target, "", "linking")
        return _link_parts(task)
    if task.mode == "global":
        return _global(task)
    if task.mode == "whole":
        return _whole(task)
    raise BuildError(f"unknown task mode {task.mode!r}")


def _link_parts(task: TargetTask) -> TargetResult:
    """Place each cached part in the output folder (a hard link where possible), drop stale files.

    Everything that can fail the target (validation, quality checks, the drift gate) runs on
    the cached parts first; only then are outputs replaced.
    """
    from mldata.fingerprint import combine_digests

    root = Path(task.root)
    out_dir = root / task.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = list(task.parts)
    unified = _unified_schema([p.schema for p in parts])
    cache_dir = root / ".mldata" / "cache" / "parts"
    schema_now = _schema_json(unified) if unified is not None else (parts[0].schema if parts else [])
    # where each part's final bytes are (cast to the unified schema where the files disagree)
    sources: list[tuple[PartRef, Path, dict[str, Any]]] = []
    for part in parts:
        source = Path(part.cache_file) if part.cache_file else out_dir / part.part_name
        rec = {"rows": part.rows, "bytes": part.bytes, "hash": part.file_hash, "data": part.data_hash, "input": part.unit}
        if unified is not None and part.schema != schema_now:
            source, rec = _conform_part(part, source, unified, task, cache_dir)
        sources.append((part, source, rec))
    verdict = _Verdict()
    if task.validation is not None:
        verdict = _check_parts(task, parts, schema_now)
    _phase(task.target, "", "profiling")
    profile = _merged_profile(task, [(part, source) for part, source, _ in sources], unified)
    verdict = _drift_gate(task.validation, profile, verdict)
    outputs: dict[str, dict[str, Any]] = {}
    data_hashes: dict[str, str] = {}
    rows = 0
    for part, source, rec in sources:
        if not (part.keep and source == out_dir / part.part_name):
            _place(source, out_dir / part.part_name)
        outputs[f"{task.out_dir}/{part.part_name}"] = rec
        data_hashes[part.part_name] = rec["data"]
        rows += part.rows
    _remove_stale(out_dir, {p.part_name for p in parts})
    return verdict.result(task.target, outputs, combine_digests(data_hashes), rows, schema_now, profile)


def _schema_json(schema: Any) -> list[dict[str, Any]]:
    from mldata.io import schema_to_json

    return schema_to_json(schema)


def _unified_schema(schemas: list[list[dict[str, Any]]]) -> Any:
    """The schema all parts are cast to when they differ (e.g. a column typed null in one file)."""
    distinct = {json.dumps(s, sort_keys=True) for s in schemas}
    if len(distinct) <= 1:
        return None
    import pyarrow as pa
    arrow = [_schema_from_json(s) for s in schemas]
    try:
        return pa.unify_schemas(arrow, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BuildError(
            f"the input files do not share one schema and cannot be unified: {exc}",
            hint="set `column_types` in the source's options so every file reads the same types",
        ) from None


def _schema_from_json(columns: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    from mldata.steps.types import parse_type

    fields = []
    for c in columns:
        try:
            typ = parse_type(c["type"])
        except MldataError:
            typ = _type_from_str(c["type"])
        fields.append(pa.field(c["name"], typ, c["nullable"]))
    return pa.schema(fields)


def _type_from_str(text: str) -> Any:
    import pyarrow as pa

    aliases = {"null": pa.null(), "string": pa.string(), "large_string": pa.large_string(), "double": pa.float64(),
               "float": pa.float32(), "halffloat": pa.float16()}
    if text in aliases:
        return aliases[text]
    try:
        return pa.type_for_alias(text)
    except (ValueError, KeyError):
        raise BuildError(f"cannot reconstruct Arrow type {text!r}") from None


def _conform_part(part: PartRef, source: Path, schema: Any, task: TargetTask, cache_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Cast a part to the unified schema, into the cache (keyed by the part's file and the schema)."""

    from mldata import io
    from mldata.fingerprint import digest_json
    from mldata.writers import dictionary_setting, parquet_options

    opts = task.output
    key = digest_json([part.file_hash, io.schema_to_json(schema), task.codec, task.level,
                       parquet_options(opts.row_group_size, opts.dictionary)])
    dest = cache_dir / f"{key}.parquet"
    meta = read_part_meta(dest)
    if meta is None:
        table = _read_parquet(source).select(schema.names).cast(schema)
        written = io.write_parquet(schema, table.to_batches(), dest, codec=task.codec, level=task.level,
                                   row_group_size=opts.row_group_size,
                                   dictionary=dictionary_setting(opts.dictionary))
        os.chmod(dest, 0o444)
        meta = {"rows": written.rows, "bytes": written.bytes, "file_hash": written.file_hash,
                "data_hash": written.data_hash, "schema": io.schema_to_json(written.schema)}
        write_sidecar(sidecar_path(dest), meta)
    return dest, {"rows": meta["rows"], "bytes": meta["bytes"], "hash": meta["file_hash"], "data": meta["data_hash"],
                  "input": part.unit}


def _place(source: Path, dest: Path) -> None:
    """Put ``source`` at ``dest`` atomically: a hard link when the filesystem allows, else a copy."""
    import shutil

    try:
        if dest.exists() and os.path.samefile(source, dest):
            return
    except OSError:
        pass
    tmp = dest.with_name(f".tmp-{_token()}-{dest.name}")
    try:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_stale(out_dir: Path, keep: set[str]) -> None:
    """Remove files mldata wrote earlier that the new build does not contain."""
    for child in out_dir.iterdir():
        if child.is_file() and child.name not in keep and (child.suffix == ".parquet" or child.name.startswith(".tmp-")):
            child.unlink()


def _global(task: TargetTask) -> TargetResult:
    """Read the cached parts in input order, run the remaining steps, write one file."""

    _phase(task.target, "", "reading_parts")
    tables = [_read_parquet(p.cache_file) for p in task.parts]
    table = _concat(tables, task.target)
    _phase(task.target, "", "transforming")
    table = apply_steps_to_table(task.suffix, table, root=task.root, code_digests=task.code_digests, where=task.target)
    return _write_single(task, table)


def _whole(task: TargetTask) -> TargetResult:
    """Read every input whole, call the python function (if any), run the steps, write one file."""
    from mldata import io

    _phase(task.target, "", "reading")
    data: dict[str, Any] = {}
    for name, files in task.inputs:
        tables = [io.read_table(f.path, f.format, f.options, f.rel) for f in files]
        data[name] = _concat(tables, task.target)
    _phase(task.target, "", "transforming")
    if task.python:
        arg = next(iter(data.values())) if len(data) == 1 else data
        table = _as_table(call_user(task.python, arg, task.params or {}, root=task.root, code_digests=task.code_digests))
    else:
        table = next(iter(data.values()))
    table = apply_steps_to_table(task.suffix, table, root=task.root, code_digests=task.code_digests, where=task.target)
    return _write_single(task, table)


def _concat(tables: list[Any], target: str) -> Any:
    import pyarrow as pa

    if not tables:
        return pa.table({})
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BuildError(
            f"{target}: the input files do not share one schema: {exc}",
            hint="set `column_types` in the source's options so every file reads the same types",
        ) from None


def _write_single(task: TargetTask, table: Any) -> TargetResult:
    """Validate, profile and gate a whole table, then write it: one file, or one per split."""
    from mldata import io
    from mldata.fingerprint import combine_digests
    from mldata.stats.partial import merge_profiles, partial_profile
    from mldata.writers import dictionary_setting, output_extension, write_output

    verdict = _Verdict()
    if task.validation is not None:
        verdict = _check_table(task.validation, table, io.schema_to_json(table.schema.remove_metadata()),
                               source=task.target)
    _phase(task.target, "", "profiling")
    schema = table.schema.remove_metadata()
    if task.profile is False:
        profile: dict[str, Any] = {"skipped": PROFILE_OFF}
    else:
        columns = _profiled_columns(task.profile, schema.names, target=task.target)
        profile = merge_profiles([partial_profile(schema, table.to_batches(), columns=columns)], schema,
                                 columns=columns)
    verdict = _drift_gate(task.validation, profile, verdict)
    opts = task.output
    pieces: dict[str, Any] = {"": table}
    splits: dict[str, int] | None = None
    if opts.split is not None:
        from mldata.split import compute_splits

        _phase(task.target, "", "splitting")
        result = compute_splits(table, ratios=opts.split["ratios"], seed=opts.split["seed"], key=opts.split["key"],
                                group=opts.split["group"], stratify=opts.split["stratify"])
        pieces = result.tables(table)
        splits = dict(result.counts)
        notes = list(result.warnings)
        if not result.stable:
            notes.append("split has no key, so it is not stable under changes: rows are dealt by position, and adding "
                         "or changing rows moves others "
                         "between splits (set split.key for a stable split)")
        verdict = _Verdict(verdict.schema_changes, verdict.warnings + tuple(notes), verdict.checks)
    root = Path(task.root)
    out_dir = root / task.out_dir
    ext = output_extension(opts.format, task.codec)
    outputs: dict[str, dict[str, Any]] = {}
    data_hashes: dict[str, str] = {}
    rows = 0
    _phase(task.target, "", "writing")
    for split, piece in pieces.items():
        name = f"{split}/data{ext}" if split else f"data{ext}"
        written = write_output(piece.schema, piece.to_batches(), out_dir / name, format=opts.format, codec=task.codec,
                               level=task.level, row_group_size=opts.row_group_size,
                               dictionary=dictionary_setting(opts.dictionary))
        rec: dict[str, Any] = {"rows": written.rows, "bytes": written.bytes, "hash": written.file_hash,
                               "data": written.data_hash}
        if split:
            rec["split"] = split
        outputs[f"{task.out_dir}/{name}"] = rec
        # keyed by the split, not the file name: the data hash must not depend on the format
        data_hashes[split or "data"] = written.data_hash
        rows += written.rows
    _remove_stale_tree(out_dir, {f"{split}/data{ext}" if split else f"data{ext}" for split in pieces})
    return verdict.result(task.target, outputs, combine_digests(data_hashes), rows,
                          io.schema_to_json(schema), profile, splits)


def _remove_stale_tree(out_dir: Path, keep: set[str]) -> None:
    """Remove files (and emptied split folders) of earlier builds that this build did not write."""
    for path in sorted(out_dir.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        rel = path.relative_to(out_dir).as_posix()
        if path.is_file() and rel not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _token() -> str:
    """A short random name component for temporary files."""
    return os.urandom(6).hex()


# --------------------------------------------------------------------------------------------
# validation: schema policy, pandera schema, quality checks (before outputs are put in place)
# --------------------------------------------------------------------------------------------


@dataclass
class _Verdict:
    """What validation found that does not fail the target: schema change lines, warnings, checks."""

    schema_changes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    checks: tuple[dict[str, Any], ...] = ()

    def result(self, target: str, outputs: dict[str, dict[str, Any]], data_hash: str, rows: int,
               schema: list[dict[str, Any]], profile: dict[str, Any] | None = None,
               splits: dict[str, int] | None = None) -> TargetResult:
        return TargetResult(target, outputs, data_hash, rows, schema, self.schema_changes, self.warnings, self.checks,
                            profile, splits)


def _policy(v: Validation, columns: list[dict[str, Any]]) -> _Verdict:
    """Compare the new columns with the lock's; a breaking change fails unless allowed."""
    from mldata.schema import diff_schemas, enforce_policy

    if v.old_columns is None:
        return _Verdict()
    diff = diff_schemas(list(v.old_columns), columns)
    if not diff.changed:
        return _Verdict()
    outcome = enforce_policy(diff, v.target, on_breaking=v.on_breaking, allow_breaking=v.allow_breaking)
    warnings = (f"breaking schema change allowed ({diff.summary()})",) if outcome == "warn" else ()
    return _Verdict(schema_changes=tuple(diff.lines()), warnings=warnings)


def _load_schema(v: Validation) -> Any:
    from mldata.validate import load_schema

    return load_schema(Path(v.schema_path) if v.schema_path else None, inline=v.schema_inline,
                       label=v.schema_label)


def _run_checks(v: Validation, table: Any) -> tuple[tuple[dict[str, Any], ...], tuple[str, ...]]:
    from mldata.validate import run_checks

    if not v.checks:
        return (), ()
    results = run_checks(table, v.checks)
    failed = [r for r in results if r.level == "fail"]
    if failed:
        raise BuildError(
            f"{v.target}: quality check failed: " + "; ".join(r.message for r in failed),
            hint="fix the data, or change the thresholds under `checks:`; the previous outputs are kept",
        )
    warnings = tuple(f"quality check warning: {r.message}" for r in results if r.level == "warn")
    return tuple(r.to_json() for r in results), warnings


def _check_table(v: Validation, table: Any, columns: list[dict[str, Any]], *, source: str) -> _Verdict:
    from mldata.validate import raise_if_failed, validate_table

    verdict = _policy(v, columns)
    if v.has_schema:
        _phase(v.target, "", "validating")
        report = validate_table(table, _load_schema(v), source=source)
        raise_if_failed(report, v.target, schema=v.schema_label)
    checks, warnings = _run_checks(v, table)
    return _Verdict(verdict.schema_changes, verdict.warnings + warnings, checks)


def _check_parts(task: TargetTask, parts: list[PartRef], columns: list[dict[str, Any]]) -> _Verdict:
    """Validate a partitioned target part by part, re-validating only parts not seen before with
    this schema (an element-wise schema), or as a whole (a schema with table-wide checks)."""

    from mldata.fingerprint import digest_json
    from mldata.validate import _chunkable, merge_reports, raise_if_failed, validate_table

    v = task.validation
    assert v is not None
    verdict = _policy(v, columns)
    root = Path(task.root)
    out_dir = root / task.out_dir

    def path_of(part: PartRef) -> Path:
        return Path(part.cache_file) if part.cache_file else out_dir / part.part_name

    whole = None
    if v.has_schema:
        _phase(v.target, "", "validating")
        schema = _load_schema(v)
        if _chunkable(schema):
            marks = root / ".mldata" / "cache" / "valid"
            reports = []
            for part in parts:
                mark = marks / digest_json([part.data_hash, v.schema_digest])
                if mark.exists():
                    continue
                report = validate_table(_read_parquet(path_of(part)), schema, source=part.unit,
                                        row_sources=[(0, part.unit)])
                reports.append((mark, report))
            merged = merge_reports([r for _, r in reports], source=v.target)
            raise_if_failed(merged, v.target, schema=v.schema_label)
            marks.mkdir(parents=True, exist_ok=True)
            for mark, _ in reports:
                mark.touch()
        else:
            whole, row_sources = _read_parts(parts, path_of)
            report = validate_table(whole, schema, source=v.target, row_sources=row_sources)
            raise_if_failed(report, v.target, schema=v.schema_label)
    checks: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    if v.checks:
        if whole is None:
            whole, _ = _read_parts(parts, path_of)
        checks, warnings = _run_checks(v, whole)
    return _Verdict(verdict.schema_changes, verdict.warnings + warnings, checks)


def _read_parts(parts: list[PartRef], path_of: Callable[[PartRef], Path]) -> tuple[Any, list[tuple[int, str]]]:

    tables, row_sources, offset = [], [], 0
    for part in parts:
        table = _read_parquet(path_of(part))
        row_sources.append((offset, part.unit))
        offset += table.num_rows
        tables.append(table)
    return _concat(tables, ""), row_sources


#: The lock profile of a target with `profile: false`.
PROFILE_OFF = "profile: false in mldata.yaml"


def _profiled_columns(setting: bool | tuple[str, ...], names: list[str], target: str | None = None) -> list[str] | None:
    """The columns a `profile:` setting profiles of a schema's column ``names`` (None: all of them).
    With ``target``, a named column missing from the schema is an error; without (a part, which
    may lack columns that other parts have), it is left out."""
    if setting is True or setting is False:
        return None
    missing = [c for c in setting if c not in names]
    if missing and target is not None:
        raise BuildError(f"{target}: `profile:` names columns that are not in the output: {missing}",
                         hint=f"the columns are {names}; fix the list in mldata.yaml (the data is cached)")
    return [c for c in setting if c in names]


def _merged_profile(task: TargetTask, parts: list[tuple[PartRef, Path]], unified: Any) -> dict[str, Any]:
    """The target's compact profile from its parts' partial profiles (computed where missing)."""

    from mldata import blob, cache

    if task.profile is False:
        return {"skipped": PROFILE_OFF}
    names = list(unified.names) if unified is not None else [c["name"] for c in (parts[0][0].schema if parts else [])]
    columns = _profiled_columns(task.profile, names, target=task.target)
    wanted = columns if columns is not None else names
    key = _profile_key([part for part, _ in parts], unified, columns)
    cached = cache.load_profile(Path(task.root), key)
    if cached is not None:  # these parts' data was merged before (e.g. a branch switched back)
        return cached  # (and the profiling code, numpy and pyarrow were not imported: 0.3 s)
    from mldata.stats.partial import PartialProfile, merge_profiles, partial_profile

    schema = unified
    if schema is None:
        import pyarrow as pa

        schema = _schema_from_json(parts[0][0].schema) if parts else pa.schema([])
    partials = []
    for part, source in parts:
        usable = bool(part.sidecar) and unified is None
        loaded = None
        if usable:
            try:
                header, buffers = blob.read(part.sidecar)
            except (OSError, ValueError):
                header, buffers = {}, []
            if "profile_skipped" in header:
                return {"skipped": f"a part has more than {profile_max_rows()} rows (MLDATA_PROFILE_MAX_ROWS): "
                                   "no exact profile is kept for this target"}
            try:
                loaded = PartialProfile.decode(header["partial_profile"], buffers, where=part.sidecar).select(wanted)
            except (KeyError, ValueError):
                loaded = None
        if loaded is None:  # cache cleaned, other profiled columns, or the part was cast to the unified schema
            table = _read_parquet(source)
            loaded = partial_profile(table.schema.remove_metadata(), table.to_batches(), columns=columns)
            if usable:
                _restore_cache_entry(part, source, loaded)
        partials.append(loaded)
    profile = merge_profiles(partials, schema, columns=columns)
    cache.store_profile(Path(task.root), key, profile)
    return profile


def _profile_key(parts: list[PartRef], unified: Any, columns: list[str] | None) -> str:
    """The merged profile's cache key: the parts' data (a multiset: the profile does not depend on
    row order), the schema they were cast to, the profiled columns and the profile code's versions."""
    from mldata.fingerprint import digest_json
    from mldata.formats import METRICS_VERSION, PARTIAL_FORMAT_VERSION

    return digest_json(["merged-profile", METRICS_VERSION, PARTIAL_FORMAT_VERSION, profile_max_rows(),
                        sorted(part.data_hash for part in parts),
                        None if unified is None else _schema_json(unified), columns])


def _restore_cache_entry(part: PartRef, source: Path, profile: Any) -> None:
    """Put a part whose cache entry is gone (a cleaned or pruned cache) back in the cache: its
    output file, linked (it is intact: the scanner checked its hash), and a sidecar with the
    profile just computed, so the next build loads it instead of reading the part again. No
    sidecar is written without its part (one that cannot be linked is profiled again next time)."""
    cache_part = Path(part.sidecar).with_suffix(".parquet")
    try:
        if not cache_part.exists() and Path(source) != cache_part:
            os.link(source, cache_part)
        if cache_part.is_file():
            write_sidecar(Path(part.sidecar), _part_meta(part), profile)
    except OSError:
        pass


def _drift_gate(v: "Validation | None", profile: dict[str, Any], verdict: "_Verdict") -> "_Verdict":
    """Compare the new profile with the previous build's; warn, or fail with ``drift: {on_fail: fail}``."""
    if v is None or v.old_profile is None or "columns" not in v.old_profile or "columns" not in profile:
        return verdict
    from mldata.stats.drift import Severity, drift_profiles

    config = v.drift_config()
    results = drift_profiles(v.old_profile, profile, config)
    failing = sorted(c for c, r in results.items() if r.severity == Severity.FAIL)
    warning = sorted(c for c, r in results.items() if r.severity == Severity.WARN)
    if failing and (v.drift or {}).get("on_fail", "warn") == "fail":
        raise BuildError(
            f"{v.target}: data drift against the previous build fails on " + ", ".join(
                f"{c} (PSI {results[c].psi:.3f})" if results[c].psi is not None else c for c in failing),
            hint=f"inspect with `mldata drift {v.target}`; if the change is expected, raise the thresholds or set "
                 "`drift: {on_fail: warn}`. The previous outputs are kept.",
        )
    lines = [f"drift {'fails' if c in failing else 'warns'} on {c}" + (
        f" (PSI {results[c].psi:.3f})" if results[c].psi is not None else "") for c in failing + warning]
    return _Verdict(verdict.schema_changes, verdict.warnings + tuple(lines), verdict.checks)
