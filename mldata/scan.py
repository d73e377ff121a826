"""What is on disk now: input files and their digests, code and schema digests, output states.

The scanner is the only impure part of planning: it globs, stats and (when the stat cache says
a file changed) hashes. It returns plain :class:`TargetState` values that the pure planner
compares with the lock. It never imports pyarrow.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mldata.config import infer_format
from mldata.errors import ConfigError
from mldata.fingerprint import code_digests, combine_digests, digest_json
from mldata.lock import Lock
from mldata.spec import STEP_SEMANTICS_VERSION, Compression, ProjectSpec, SourceSpec
from mldata.statcache import StatCache
from mldata.writers import dictionary_setting, parquet_options

#: Intermediate parts of targets with global steps are internal; they use a fast codec, so a
#: change of the target's compression does not recompute them.
INTERNAL_COMPRESSION = Compression("lz4", None)
CACHE_DIR = ".mldata/cache"


@dataclass(frozen=True)
class Unit:
    """One input file of a partitioned target: the unit of incremental work."""

    name: str  # stable identity: the input's project-relative path
    path: str  # absolute path to read
    digest: str  # content digest of a source file, or the logical data digest of an upstream part
    format: str
    options: dict[str, Any]
    part_name: str  # the output file name of its part, e.g. "2024-01.parquet"
    cache_key: str  # content address of its computed part


@dataclass(frozen=True)
class TargetState:
    """A target as the workspace defines it now, ready to compare with its lock entry."""

    name: str
    partitioned: bool
    has_global_suffix: bool
    recipe: dict[str, Any]
    encoding: dict[str, Any]
    code: dict[str, str]
    schema_file: dict[str, str]
    inputs: dict[str, str]  # input identity -> digest (source files, or upstream parts)
    upstream: dict[str, str | None]  # upstream target -> its data hash in the lock (None: never built)
    units: dict[str, Unit] = field(default_factory=dict)  # partitioned targets only
    outputs: dict[str, str | None] = field(default_factory=dict)  # recorded output -> digest now (None: missing)
    fingerprint: str = ""


class Scanner:
    """Computes TargetStates for one run, hashing each file at most once (through the stat cache)."""

    def __init__(self, spec: ProjectSpec, statcache: StatCache, *, compression: Compression | None = None) -> None:
        self.spec = spec
        self.root = Path(spec.root)
        self.statcache = statcache
        self.compression = compression
        self._files: dict[str, list[tuple[str, str]]] = {}
        self._code: dict[str, dict[str, str]] = {}

    # --- sources ------------------------------------------------------------------------------

    def source_files(self, source: SourceSpec) -> list[tuple[str, str]]:
        """(project-relative path, absolute path) of a source's files, sorted by relative path."""
        if source.name in self._files:
            return self._files[source.name]
        pattern = source.path if os.path.isabs(source.path) else os.path.join(self.spec.root, source.path)
        matches = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
        if not matches:
            is_glob = any(ch in source.path for ch in "*?[")
            raise ConfigError(
                f"source {source.name!r}: {'no file matches' if is_glob else 'file not found:'} {source.path!r}",
                hint="check the path (it is relative to the folder holding mldata.yaml)",
                location=source.where,
            )
        files = [(self._rel(p), os.path.abspath(p)) for p in matches]
        files.sort()
        self._files[source.name] = files
        return files

    def _rel(self, path: str) -> str:
        return os.path.relpath(path, self.spec.root).replace(os.sep, "/")

    def _format(self, source: SourceSpec, rel: str) -> str:
        fmt = source.format or infer_format(rel)
        if fmt is None:
            raise ConfigError(
                f"source {source.name!r}: cannot tell the format of {rel!r} from its extension",
                hint="add `format:` to the source",
                location=source.where,
            )
        return fmt

    # --- targets ------------------------------------------------------------------------------

    def code(self, module: str) -> dict[str, str]:
        if module not in self._code:
            self._code[module] = code_digests(module, self.root)
        return self._code[module]

    def target_state(self, name: str, lock: Lock) -> TargetState:
        """The current state of a target, given the lock (for upstream parts and outputs)."""
        target = self.spec.targets[name]
        compression = self.spec.compression_for(target, self.compression)

        recipe_inputs: dict[str, Any] = {}
        for inp in target.inputs:
            if inp in self.spec.sources:
                src = self.spec.sources[inp]
                recipe_inputs[inp] = {"source": {"format": src.format, "options": src.options}}
            else:
                recipe_inputs[inp] = {"target": inp}
        recipe = {
            "from": list(target.inputs),
            "inputs": recipe_inputs,
            "steps": [s.to_json() for s in target.steps],
            "python": target.python,
            "params": target.params,
            "step_semantics": STEP_SEMANTICS_VERSION,
        }
        if target.split is not None:
            from mldata.split import SPLIT_HASH_VERSION

            recipe["split"] = {**target.split, "ratios": [[k, v] for k, v in target.split["ratios"].items()],
                               "hash_version": SPLIT_HASH_VERSION}
        if target.schema_inline is not None or target.checks is not None or target.on_breaking != "fail":
            # validation settings do not change data, but changing them must re-validate it
            recipe["validation"] = {
                "schema": target.schema_inline, "checks": target.checks, "on_breaking": target.on_breaking,
            }
        if target.profile is not True:
            # the profile is not data, but changing what it covers must recompute it (from the cached parts)
            recipe["profile"] = target.profile if target.profile is False else list(target.profile)
        encoding: dict[str, Any] = {"format": target.format, "compression": compression.to_json()}
        if target.row_group_size is not None:
            encoding["row_group_size"] = target.row_group_size
        if target.dictionary not in (None, "auto"):  # "auto" is the default: writing it changes nothing
            encoding["dictionary"] = target.dictionary
        if target.format != "parquet" or compression.codec not in ("none", "snappy", "gzip", "brotli", "lz4", "zstd"):
            from mldata.writers import check_format_compression

            problem = check_format_compression(target.format, compression.codec, compression.level)
            if problem:
                raise ConfigError(f"target {name!r}: {problem}", hint="set `compression:` on the target",
                                  location=target.where)

        code: dict[str, str] = {}
        if target.python:
            code.update(self.code(target.python.partition(":")[0]))
        prefix_code: dict[str, str] = {}
        for i, step in enumerate(target.steps):
            if step.kind == "python":
                digests = self.code(step.args.partition(":")[0])
                code.update(digests)
                if i < target.prefix_len:
                    prefix_code.update(digests)
        schema_file: dict[str, str] = {}
        if target.schema:
            schema_file[target.schema] = self.statcache.digest(self.root / target.schema)

        upstream = {
            inp: (lock.entry(inp) or {}).get("data_hash") for inp in target.inputs if inp in self.spec.targets
        }

        inputs: dict[str, str] = {}
        units: dict[str, Unit] = {}
        if target.partitioned:
            part_compression = INTERNAL_COMPRESSION if target.has_global_suffix else compression
            only = target.inputs[0]
            if only in self.spec.sources:
                src = self.spec.sources[only]
                files = [(rel, path, self._format(src, rel), src.options) for rel, path in self.source_files(src)]
                base = _glob_base(src.path)
                reader = {"format": src.format, "options": src.options}
            else:
                entry = lock.entry(only) or {}
                up_format = self.spec.targets[only].format
                files = [
                    (rel, str(self.root / rel), up_format, {}) for rel in sorted(entry.get("outputs", {}))
                ]
                base = self.spec.targets[only].output
                reader = {"format": up_format, "options": {}}
            prefix = {
                "steps": [s.to_json() for s in target.steps[: target.prefix_len]],
                "reader": reader,
                "code": prefix_code,
                "encoding": part_compression.to_json(),
                "parquet": parquet_options(**part_parquet_options(target)),
                "step_semantics": STEP_SEMANTICS_VERSION,
            }
            prefix_digest = digest_json(prefix)
            names = _part_names([rel for rel, *_ in files], base)
            if only in self.spec.sources:  # hashed together: new files in threads
                hashes = self.statcache.digest_many([path for _, path, *_ in files])
                file_digests = {rel: digest for (rel, *_), digest in zip(files, hashes)}
            for rel, path, fmt, options in files:
                if only in self.spec.sources:
                    digest = file_digests[rel]
                else:
                    digest = entry["outputs"][rel]["data"]
                units[rel] = Unit(
                    name=rel, path=path, digest=digest, format=fmt, options=options,
                    part_name=names[rel], cache_key=digest_json([prefix_digest, fmt, digest]),
                )
                inputs[rel] = digest
        else:
            for inp in target.inputs:
                if inp in self.spec.sources:
                    listed = self.source_files(self.spec.sources[inp])
                    hashes = self.statcache.digest_many([path for _, path in listed])
                    inputs.update((rel, digest) for (rel, _), digest in zip(listed, hashes))

        outputs: dict[str, str | None] = {}
        entry = lock.entry(name)
        if entry is not None:
            for rel in entry.get("outputs", {}):
                full = self.root / rel
                outputs[rel] = self.statcache.digest(full) if full.is_file() else None

        fingerprint = digest_json(
            {
                "recipe": digest_json(recipe),
                "encoding": encoding,
                "code": code,
                "schema_file": schema_file,
                "inputs": combine_digests(inputs),
                "upstream": upstream,
            }
        )
        return TargetState(
            name=name,
            partitioned=target.partitioned,
            has_global_suffix=target.has_global_suffix,
            recipe=recipe,
            encoding=encoding,
            code=code,
            schema_file=schema_file,
            inputs=inputs,
            upstream=upstream,
            units=units,
            outputs=outputs,
            fingerprint=fingerprint,
        )


def _glob_base(pattern: str) -> str:
    """The folder part of a glob before its first wildcard ("data/x/*.csv" -> "data/x")."""
    parts = pattern.replace("\\", "/").split("/")
    fixed: list[str] = []
    for part in parts[:-1]:
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    return "/".join(fixed)


_EXTENSIONS = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".parquet", ".pq", ".arrow", ".feather", ".ipc")


def _part_names(rels: list[str], base: str) -> dict[str, str]:
    """Stable part file names from input paths: relative to the glob's base, '/' -> '__'.

    ``data/flights/2024/jan.csv.gz`` under base ``data/flights`` -> ``2024__jan.parquet``. If two
    inputs would collide (``a.csv`` and ``a.tsv``), both keep their full file names.
    """
    prefix = base.rstrip("/") + "/" if base else ""

    def stem(rel: str, strip: bool) -> str:
        name = rel[len(prefix):] if prefix and rel.startswith(prefix) else rel.lstrip("./")
        if strip:
            lower = name.lower()
            for comp in (".gz", ".zst", ".bz2"):
                if lower.endswith(comp):
                    name, lower = name[: -len(comp)], lower[: -len(comp)]
                    break
            for ext in _EXTENSIONS:
                if lower.endswith(ext):
                    name = name[: -len(ext)]
                    break
        return name.replace("/", "__").replace("..", "_") + ".parquet"

    names = {rel: stem(rel, True) for rel in rels}
    counts: dict[str, int] = {}
    for n in names.values():
        counts[n] = counts.get(n, 0) + 1
    return {rel: (n if counts[n] == 1 else stem(rel, False)) for rel, n in names.items()}


def part_parquet_options(target: Any) -> dict[str, Any]:
    """The Parquet options of a partitioned target's parts (PartTask's row_group_size, dictionary):
    the target's own when the parts are its output files, the defaults when global steps follow
    (the parts are then internal, and the finished table is written with the target's options)."""
    if target.has_global_suffix:
        return {"row_group_size": None, "dictionary": "auto"}
    return {"row_group_size": target.row_group_size, "dictionary": dictionary_setting(target.dictionary)}
