"""Reading built data back for `mldata profile` and `mldata drift`: targets or paths as batches,
full profiles, and drift against a baseline from the lock (at any git revision) or other data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from mldata.errors import UsageError
from mldata.spec import FORMAT_EXTENSIONS

_READABLE = tuple(FORMAT_EXTENSIONS) + tuple(f"{e}{c}" for e in (".csv", ".tsv", ".jsonl") for c in (".gz", ".zst", ".bz2"))


@dataclass(frozen=True)
class DataRef:
    """Data to read: a label for people, and files with their formats."""

    label: str
    files: tuple[tuple[str, str], ...]  # (absolute path, format)
    target: str | None = None


def resolve_data(what: str, project: Any | None) -> DataRef:
    """A target name (its built outputs, from the lock) or a file or folder path."""
    from mldata.config import infer_format

    if project is not None and what in project.spec.targets:
        from mldata import lock as lockfile

        entry = lockfile.read(project.root).entry(what)
        if entry is None:
            raise UsageError(f"target {what!r} has not been built yet", hint=f"run `mldata make {what}`")
        files = tuple((str(project.root / rel), "parquet") for rel in sorted(entry.get("outputs", {})))
        missing = [f for f, _ in files if not os.path.exists(f)]
        if missing:
            raise UsageError(f"outputs of {what!r} are missing ({missing[0]})", hint=f"run `mldata make {what}`")
        return DataRef(what, files, target=what)
    path = Path(what)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(_READABLE)
                       and not p.name.startswith("."))
        if not found:
            raise UsageError(f"no CSV, TSV, JSON Lines, Parquet or Arrow files in {what}")
        return DataRef(what, tuple((str(p), infer_format(p.name) or "parquet") for p in found))
    if path.is_file():
        fmt = infer_format(path.name)
        if fmt is None:
            raise UsageError(f"cannot tell the format of {what} from its extension")
        return DataRef(what, ((str(path), fmt),))
    names = ", ".join(project.spec.targets) if project is not None else ""
    raise UsageError(f"{what!r} is neither a target nor an existing file or folder",
                     hint=f"targets: {names}" if names else None)


def schema_and_batches(ref: DataRef, *, sample: float | None = None, seed: int = 0) -> tuple[Any, Iterator[Any]]:
    """The first file's schema and every file's batches (optionally a seeded Bernoulli sample)."""
    import numpy as np
    import pyarrow as pa

    from mldata import io

    first_schema, first = io.read_batches(ref.files[0][0], ref.files[0][1], {}, ref.files[0][0])
    rng = np.random.default_rng(seed)

    def batches() -> Iterator[Any]:
        for i, (path, fmt) in enumerate(ref.files):
            it = first if i == 0 else io.read_batches(path, fmt, {}, path)[1]
            for batch in it:
                if batch.schema != first_schema:
                    batch = batch.select(first_schema.names).cast(first_schema)
                if sample is not None:
                    batch = batch.filter(pa.array(rng.random(batch.num_rows) < sample))
                yield batch

    return first_schema.remove_metadata(), batches()


#: Row-oriented inputs (CSV, JSON Lines) larger than this are first copied into a temporary
#: Parquet file, so that the profile can read one column at a time (see :func:`full_profile`).
SPILL_BYTES = 256 << 20


def full_profile(ref: DataRef, *, columns: list[str] | None = None, sample: float | None = None) -> dict[str, Any]:
    """The METRICS §3.1 profile of some data, with memory bounded by one column.

    Exact quantiles need every value of a numeric column (8 bytes per row), so a profile that
    holds every column at once grows with the data (1.8 GB for a 1 GB CSV). Parquet and Arrow
    inputs are therefore read one column at a time (:func:`profile_columns`); large CSV/JSON Lines
    inputs are first streamed into a temporary Parquet file, then read the same way. A sample is
    small by construction and profiled in one pass.
    """
    from mldata.stats.profile import profile_batches, profile_columns

    schema, batches = schema_and_batches(ref, sample=sample)
    if columns:
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise UsageError(f"unknown column(s) {unknown}", hint=f"columns: {', '.join(schema.names)}")
    columnar = all(fmt == "parquet" for _, fmt in ref.files)
    large = sum(os.path.getsize(path) for path, _ in ref.files) > SPILL_BYTES
    if sample is not None or not (columnar or large):
        profile = profile_batches(schema, batches, columns=columns)
    elif columnar:
        batches.close()
        profile = profile_columns(schema, _column_reader([path for path, _ in ref.files], schema), columns=columns)
    else:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="mldata-profile-") as tmp:
            spilled = _spill(schema, batches, Path(tmp) / "data.parquet")
            profile = profile_columns(schema, _column_reader([spilled], schema), columns=columns)
    profile["source"] = ref.label
    profile["sampled"] = sample
    return profile


def _column_reader(paths: list[str], schema: Any) -> Any:
    """``read([name])`` for :func:`profile_columns`: that column of every Parquet file, in
    batches, cast to the first file's type (ParquetFile, not pyarrow.dataset: its import pulls
    in pandas)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def read(names: list[str]) -> Iterator[Any]:
        sub = pa.schema([schema.field(name) for name in names])
        for path in paths:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536, columns=names):
                if batch.schema != sub:
                    batch = pa.RecordBatch.from_arrays(
                        [batch.column(name).cast(sub.field(name).type) for name in names], schema=sub)
                yield batch

    return read


def _spill(schema: Any, batches: Iterator[Any], path: Path) -> str:
    """Stream ``batches`` into an lz4 Parquet file (fast to write and to read back by column)."""
    import pyarrow.parquet as pq

    with pq.ParquetWriter(str(path), schema, compression="lz4") as writer:
        for batch in batches:
            writer.write_batch(batch)
    return str(path)


def compact_of(ref: DataRef) -> dict[str, Any]:
    """The lock-style compact profile of some data (a drift baseline computed from raw data)."""
    from mldata.stats.partial import merge_profiles, partial_profile

    schema, batches = schema_and_batches(ref)
    return merge_profiles([partial_profile(schema, batches)], schema)


def drift(baseline: dict[str, Any], current: DataRef, config: Any) -> dict[str, Any]:
    """Per-column drift of ``current`` (raw, streamed) against a compact baseline profile."""
    from mldata.stats.drift import drift_batches

    schema, batches = schema_and_batches(current)
    return drift_batches(baseline, schema, batches, config)
