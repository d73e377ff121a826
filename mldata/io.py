"""Readers (CSV, TSV, JSON Lines, Parquet, Arrow; streamed in record batches) and atomic writers.

Every reader yields record batches, so row-local work on a file never holds the whole file in
memory. Every writer writes to a temporary file in the destination folder and renames it into
place only when complete, so a reader never sees a half-written file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from mldata.errors import InputError
from mldata.fingerprint import CANONICAL_BATCH_ROWS

#: Bytes per CSV/JSON block. Arrow's streaming readers keep several blocks in flight (read
#: ahead), so memory grows with this; 2 MB keeps a reader within a few tens of MB.
TEXT_BLOCK_BYTES = 2 << 20
#: Column types of a large CSV file are inferred from this much of its start (a file this size
#: or smaller is inferred as a whole, as pyarrow.csv.read_csv would), then pinned for the
#: streaming read, so later blocks do not have to agree with the first small block alone.
INFER_SAMPLE_BYTES = 16 << 20


def read_batches(path: str, fmt: str, options: dict[str, Any], display: str) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """Open a file and return its schema and an iterator of record batches.

    ``display`` is the project-relative name used in error messages. Read errors are raised as
    InputError naming the file (and the line, where it can be found).
    """
    try:
        if fmt in ("csv", "tsv"):
            return _csv(path, fmt, options, display)
        if fmt == "jsonl":
            return _jsonl(path, options, display)
        if fmt == "parquet":
            pf = pq.ParquetFile(path)
            return pf.schema_arrow, _guard(pf.iter_batches(batch_size=CANONICAL_BATCH_ROWS), path, display)
        if fmt == "arrow":
            return _arrow(path, display)
    except InputError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _input_error(exc, path, display) from None
    raise InputError(f"{display}: unsupported format {fmt!r}")


def read_table(path: str, fmt: str, options: dict[str, Any], display: str) -> pa.Table:
    schema, batches = read_batches(path, fmt, options, display)
    return pa.Table.from_batches(list(batches), schema=schema)


def _guard(batches: Iterable[pa.RecordBatch], path: str, display: str) -> Iterator[pa.RecordBatch]:
    try:
        yield from batches
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _input_error(exc, path, display) from None


def _open_text(path: str) -> Any:
    return pa.input_stream(path, compression="detect")


def _csv(path: str, fmt: str, options: dict[str, Any], display: str) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    import pyarrow.csv as pacsv

    from mldata.steps.types import parse_type

    delimiter = options.get("delimiter") or ("\t" if fmt == "tsv" else ",")
    read_opts = pacsv.ReadOptions(
        block_size=TEXT_BLOCK_BYTES,
        skip_rows=options.get("skip_rows", 0),
        column_names=options.get("column_names"),
        autogenerate_column_names=not options.get("header", True) and not options.get("column_names"),
        encoding=options.get("encoding", "utf8"),
        use_threads=False,  # parallelism comes from mldata's workers, one file each
    )
    parse_opts = pacsv.ParseOptions(delimiter=delimiter, quote_char=options.get("quote_char") or '"')
    convert_kwargs: dict[str, Any] = {}
    if options.get("null_values") is not None:
        convert_kwargs["null_values"] = options["null_values"]
        convert_kwargs["strings_can_be_null"] = True
    if options.get("true_values") is not None:
        convert_kwargs["true_values"] = options["true_values"]
    if options.get("false_values") is not None:
        convert_kwargs["false_values"] = options["false_values"]
    if options.get("column_types"):
        convert_kwargs["column_types"] = {c: parse_type(t) for c, t in options["column_types"].items()}
    convert_opts = pacsv.ConvertOptions(**convert_kwargs)
    inferred = _infer_csv_types(path, read_opts, parse_opts, convert_opts)
    if inferred:
        convert_kwargs["column_types"] = {**inferred, **convert_kwargs.get("column_types", {})}
        convert_opts = pacsv.ConvertOptions(**convert_kwargs)
    try:
        reader = pacsv.open_csv(_open_text(path), read_options=read_opts, parse_options=parse_opts, convert_options=convert_opts)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return pa.schema([]), iter(())
        raise
    return reader.schema, _guard(reader, path, display)


def _infer_csv_types(path: str, read_opts: Any, parse_opts: Any, convert_opts: Any) -> dict[str, Any]:
    """Column types inferred from the first INFER_SAMPLE_BYTES of a large file ({} if small).

    Columns that are entirely null in the sample are left to the streaming reader.
    """
    import pyarrow.csv as pacsv

    if os.path.getsize(path) <= TEXT_BLOCK_BYTES:
        return {}  # one block: the streaming reader sees the whole file anyway
    with pa.input_stream(path, compression="detect") as stream:
        sample = stream.read(INFER_SAMPLE_BYTES + 1)
    if len(sample) > INFER_SAMPLE_BYTES:
        cut = sample.rfind(b"\n", 0, INFER_SAMPLE_BYTES)
        if cut <= 0:
            return {}
        sample = sample[: cut + 1]
    try:
        table = pacsv.read_csv(pa.BufferReader(sample), read_options=read_opts, parse_options=parse_opts,
                               convert_options=convert_opts)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return {}  # e.g. the cut fell inside a quoted field: let the streaming reader infer
    return {f.name: f.type for f in table.schema if not pa.types.is_null(f.type)}


def _jsonl(path: str, options: dict[str, Any], display: str) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    import pyarrow.json as pajson

    from mldata.steps.types import parse_type

    parse_kwargs: dict[str, Any] = {}
    if options.get("column_types"):
        parse_kwargs["explicit_schema"] = pa.schema([(c, parse_type(t)) for c, t in options["column_types"].items()])
    reader = pajson.open_json(
        _open_text(path),
        read_options=pajson.ReadOptions(block_size=TEXT_BLOCK_BYTES, use_threads=False),
        parse_options=pajson.ParseOptions(**parse_kwargs),
    )
    return reader.schema, _guard(reader, path, display)


def _arrow(path: str, display: str) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    source = pa.memory_map(path)
    try:
        reader = pa.ipc.open_file(source)
        return reader.schema, _guard((reader.get_batch(i) for i in range(reader.num_record_batches)), path, display)
    except pa.ArrowInvalid:
        source.seek(0)
        stream = pa.ipc.open_stream(source)
        return stream.schema, _guard(stream, path, display)


_ROW_TEXT = re.compile(r"Expected \d+ columns, got \d+: (.*)$", re.S)


def _input_error(exc: BaseException, path: str, display: str) -> InputError:
    """An InputError naming the file, and the line when the reader's message lets us find it."""
    message = str(exc).strip()
    line = _find_line(path, message)
    where = f"{display}:{line}" if line else display
    return InputError(
        f"cannot read {where}: {message}",
        hint="fix the file, or set reader options (delimiter, null_values, column_types) on its source",
    )


def _find_line(path: str, message: str) -> int | None:
    match = _ROW_TEXT.search(message)
    if not match:
        return None
    row = match.group(1).strip()
    try:
        with pa.input_stream(path, compression="detect") as stream:
            for lineno, raw in enumerate(stream.read().decode("utf-8", "replace").splitlines(), 1):
                if raw.strip() == row:
                    return lineno
    except (OSError, pa.ArrowException):
        return None
    return None


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------


def rechunk(batches: Iterable[pa.RecordBatch], rows: int = CANONICAL_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Re-cut a stream of batches into batches of exactly ``rows`` rows (the last may be shorter)."""
    pending: list[pa.RecordBatch] = []
    have = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - have, batch.num_rows)
            pending.append(batch.slice(0, take))
            have += take
            batch = batch.slice(take)
            if have == rows:
                yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)
                pending, have = [], 0
    if have:
        yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)


@dataclass(frozen=True)
class Written:
    """What a writer produced: rows, bytes and digests of the file and of its logical data."""

    rows: int
    bytes: int
    file_hash: str
    data_hash: str
    schema: pa.Schema


def write_parquet(
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    dest: Path,
    *,
    codec: str,
    level: int | None,
    row_group_size: int | None = None,
    dictionary: Any = "auto",
    on_hashing: Callable[[], None] | None = None,
    observe: Callable[[pa.RecordBatch], None] | None = None,
) -> Written:
    """Stream batches into ``dest`` as Parquet, atomically, hashing the logical data on the way
    (:func:`mldata.writers.write_output` with the format fixed to Parquet; ``row_group_size`` and
    ``dictionary`` as there).

    ``observe`` sees every batch written (e.g. to profile the data in the same pass).
    """
    from mldata.writers import write_output

    return write_output(schema.remove_metadata(), batches, dest, format="parquet", codec=codec, level=level,
                        row_group_size=row_group_size, dictionary=dictionary, on_hashing=on_hashing, observe=observe)


def schema_to_json(schema: pa.Schema) -> list[dict[str, Any]]:
    """The lock's form of an Arrow schema: column name, type and nullability, in order."""
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]
