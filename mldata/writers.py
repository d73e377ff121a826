"""Output writers: Parquet, CSV, JSON Lines and Arrow IPC, atomically, with the logical data hash.

Every writer streams record batches into a temporary file in the destination folder and renames
it into place only when complete. On the way it re-cuts the stream into canonical batches
(:func:`mldata.io.rechunk`) and feeds exactly those batches to :class:`mldata.fingerprint.DataHasher`,
as :func:`mldata.io.write_parquet` does, so the data hash of the same data is the same whatever
the format, codec, level or row-group size: encoding settings never change a data hash.

Compression per format (``check_format_compression`` has the ranges; ``None`` as level means
the codec's default in Arrow: gzip 9, zstd 1, brotli 8, lz4 1):

* parquet: none, snappy, gzip 1-9, brotli 0-11, lz4 1-12, zstd 1-22 (inside the file).
* csv, jsonl: none, gzip 1-9, zstd 1-22 (the whole file: ``.csv.gz``, ``.jsonl.zst``, ...).
  gzip is one gzip member written with Python's zlib (mtime 0, no file name: the same bytes on
  every run). zstd without a level (or at level 1) is one zstd frame streamed by Arrow; pyarrow
  cannot stream zstd at another level, so with a level the file is a sequence of independent
  zstd frames of 16 MiB of text each. Both are valid zstd (RFC 8878 allows several frames) and
  are read whole by Arrow and the ``zstd`` tool; python-zstandard (and so pandas) stops after the
  first frame unless told ``read_across_frames=True``, which matters only for files over 16 MiB
  of text.
* arrow: none, lz4 1-12, zstd 1-22 (Arrow IPC file format, also known as Feather v2; each record
  batch's buffers are compressed).

Text encodings: CSV is written by Arrow's CSV writer (header row; a null is an empty unquoted
field, an empty string is ``""``; NaN is written ``nan``, which many CSV readers, Arrow's own by
default, read back as null; timestamps ``2024-01-31 12:00:00.000000``, time-zone-aware ones in
their zone's local time with ``+HHMM``, or with ``Z`` in UTC). JSON Lines is one object per
row, keys in column order, UTF-8 (not ASCII-escaped; U+0085, U+2028 and U+2029 are escaped so
that no line splitter breaks a row): numbers as JSON numbers (decimals exactly), NaN, Infinity
and -Infinity as the bare tokens that Python's ``json`` and Arrow's JSON reader accept, dates
``2024-01-31``, times ``12:00:00.000001``, timestamps ISO-8601 ``2024-01-31T12:00:00.000000``
(time-zone-aware ones converted to UTC, with ``Z``), durations as integers in their unit,
lists/structs/maps as JSON arrays/objects. Binary values must be valid UTF-8 text in CSV and
JSON Lines (anything else is a clear error: use Parquet or Arrow for raw bytes).

``row_group_size`` is the number of rows per Parquet row group (default: one row group per
canonical batch of 65,536 rows, as ``io.write_parquet``) and per Arrow IPC record batch;
CSV/JSON Lines have no such unit and ignore it. ``dictionary`` is Parquet's dictionary encoding:
``"auto"`` (the default: the columns that repeat their values, judged on the file's first batch by
:func:`auto_dictionary`), True (every column, pyarrow's default), False, or the columns to encode;
other formats ignore it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Union

from mldata.errors import BuildError
from mldata.spec import PARQUET_CODEC_LEVELS

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from mldata.io import Written

#: Parquet dictionary encoding: "auto", every column (True), none (False), or these columns.
Dictionary = Union[bool, Literal["auto"], list[str]]
#: ``dictionary: auto`` judges a column on this many evenly spaced rows of a file's first batch.
DICTIONARY_SAMPLE_ROWS = 512

#: Output formats, and the names accepted for them.
OUTPUT_FORMATS = ("parquet", "csv", "jsonl", "arrow")
FORMAT_ALIASES = {"feather": "arrow", "ipc": "arrow", "ndjson": "jsonl"}

_TEXT_CODECS: dict[str, tuple[int, int] | None] = {"none": None, "gzip": (1, 9), "zstd": (1, 22)}
#: Valid codecs per output format, and each codec's level range (None: takes no level).
FORMAT_CODEC_LEVELS: dict[str, dict[str, tuple[int, int] | None]] = {
    "parquet": dict(PARQUET_CODEC_LEVELS),
    "csv": _TEXT_CODECS,
    "jsonl": _TEXT_CODECS,
    "arrow": {"none": None, "lz4": (1, 12), "zstd": (1, 22)},
}
#: Arrow's default level per codec (what level None means).
DEFAULT_LEVELS = {"gzip": 9, "zstd": 1, "brotli": 8, "lz4": 1}
_TEXT_SUFFIX = {"none": "", "gzip": ".gz", "zstd": ".zst"}
#: Uncompressed text per zstd frame when a zstd level is given for CSV/JSON Lines.
ZSTD_FRAME_BYTES = 16 << 20


def dictionary_setting(setting: Dictionary | None) -> Dictionary:
    """The writer's ``dictionary`` for a target's ``dictionary:`` setting (unset: "auto")."""
    return "auto" if setting is None else setting


def parquet_options(row_group_size: int | None, dictionary: Dictionary | None) -> dict[str, Any]:
    """The Parquet options that decide a written file's bytes, for cache keys: a cached Parquet
    file is reused only when it was written with the same ones. ``"writer"`` is the version of
    the writer's choices: 2 picks the dictionary columns with :func:`auto_dictionary` (version 1,
    before it, encoded every column)."""
    return {"row_group_size": row_group_size, "dictionary": dictionary_setting(dictionary), "writer": 2}


def normalize_format(fmt: str) -> str:
    fmt = fmt.strip().lower()
    return FORMAT_ALIASES.get(fmt, fmt)


def check_format_compression(format: str, codec: str, level: int | None) -> str | None:
    """Return an error message if the codec/level pair is invalid for the format, else None.

    Pure Python (imports nothing heavy), for validating mldata.yaml and command-line flags.
    """
    fmt = normalize_format(format)
    if fmt not in FORMAT_CODEC_LEVELS:
        return f"unknown output format {format!r}; valid formats: {', '.join(OUTPUT_FORMATS)}"
    codecs = FORMAT_CODEC_LEVELS[fmt]
    if codec not in codecs:
        return f"codec {codec!r} is not available for {fmt} output; valid codecs: {', '.join(codecs)}"
    valid = codecs[codec]
    if level is None:
        return None
    if isinstance(level, bool) or not isinstance(level, int):
        return f"compression level must be an integer, got {level!r}"
    if valid is None:
        return f"codec {codec!r} takes no compression level (got {level})"
    lo, hi = valid
    if not lo <= level <= hi:
        return f"compression level {level} is out of range for {codec!r} in {fmt} output: valid levels are {lo}..{hi}"
    return None


def output_extension(format: str, codec: str) -> str:
    """The file extension of an output: ".parquet", ".arrow", ".csv", ".csv.gz", ".jsonl.zst", ..."""
    fmt = normalize_format(format)
    if fmt in ("parquet", "arrow"):
        return f".{fmt}"
    if fmt in ("csv", "jsonl"):
        return f".{fmt}{_TEXT_SUFFIX[codec]}"
    raise ValueError(f"unknown output format {format!r}")


# ------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------


def write_output(
    schema: "pa.Schema",
    batches: Iterable["pa.RecordBatch"],
    dest: Path,
    *,
    format: str,
    codec: str,
    level: int | None,
    row_group_size: int | None = None,
    dictionary: Dictionary = "auto",
    on_hashing: Callable[[], None] | None = None,
    observe: Callable[["pa.RecordBatch"], None] | None = None,
) -> "Written":
    """Stream ``batches`` into ``dest`` in ``format``, atomically, hashing the logical data.

    Returns rows, file bytes, the blake3 of the file and the data hash (equal for equal data in
    every format and codec, and equal to what ``io.write_parquet`` reports).
    """
    from mldata.fingerprint import DataHasher, file_digest
    from mldata.io import Written

    fmt = normalize_format(format)
    error = check_format_compression(fmt, codec, level)
    if error:
        raise ValueError(error)
    if row_group_size is not None and row_group_size < 1:
        raise ValueError(f"row_group_size must be at least 1, got {row_group_size}")
    schema = schema.remove_metadata()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".tmp-{os.urandom(6).hex()}-{dest.name}")
    hasher = DataHasher(schema)
    try:
        encode_file(schema, _canonical(batches, schema, hasher, observe), tmp, format=fmt, codec=codec, level=level,
                    row_group_size=row_group_size, dictionary=dictionary)
        if on_hashing is not None:
            on_hashing()
        digest = file_digest(tmp)
        size = tmp.stat().st_size
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Written(rows=hasher.rows, bytes=size, file_hash=digest, data_hash=hasher.hexdigest(), schema=schema)


def _canonical(batches: Iterable["pa.RecordBatch"], schema: "pa.Schema", hasher: Any,
               observe: Callable[["pa.RecordBatch"], None] | None = None) -> Iterator["pa.RecordBatch"]:
    """Canonical batches: cut to CANONICAL_BATCH_ROWS, conformed to the schema, hashed, observed."""
    from mldata.io import rechunk

    for batch in rechunk(batches):
        if batch.schema != schema:
            batch = _conform(batch, schema)
        if hasher is not None:
            hasher.update(batch)
        if observe is not None:
            observe(batch)
        yield batch


def _conform(batch: "pa.RecordBatch", schema: "pa.Schema") -> "pa.RecordBatch":
    if batch.schema.names != schema.names:
        raise BuildError(f"the columns changed within one output: {batch.schema.names} vs {schema.names}")
    return batch.cast(schema)


def encode_file(
    schema: "pa.Schema",
    batches: Iterable["pa.RecordBatch"],
    path: Path,
    *,
    format: str,
    codec: str,
    level: int | None,
    row_group_size: int | None = None,
    dictionary: Dictionary = "auto",
) -> None:
    """Write batches to ``path`` in a format (no temp file, no hashing: the bench uses this too)."""
    fmt = normalize_format(format)
    if fmt == "parquet":
        _write_parquet(schema, batches, path, codec, level, row_group_size, dictionary)
    elif fmt == "arrow":
        _write_arrow(schema, batches, path, codec, level, row_group_size)
    elif fmt in ("csv", "jsonl"):
        _check_text_types(schema, fmt)
        encode = _csv_chunks if fmt == "csv" else _jsonl_chunks
        with _text_sink(path, codec, level) as sink:
            for chunk in encode(schema, batches):
                sink.write(chunk)
    else:
        raise ValueError(f"unknown output format {format!r}")


def _regroup(batches: Iterable["pa.RecordBatch"], rows: int | None) -> Iterable["pa.RecordBatch"]:
    if rows is None:
        return batches
    if rows < 1:
        raise ValueError(f"row_group_size must be at least 1, got {rows}")
    from mldata.io import rechunk

    return rechunk(batches, rows)


def _write_parquet(schema: "pa.Schema", batches: Iterable["pa.RecordBatch"], path: Path, codec: str,
                   level: int | None, row_group_size: int | None, dictionary: Dictionary) -> None:
    import pyarrow.parquet as pq

    # Each write_batch call is one row group (pyarrow does not merge calls), so row groups are
    # sized by re-cutting the stream.
    stream = iter(_regroup(batches, row_group_size))
    first = next(stream, None)
    if dictionary == "auto":
        # decided on the first batch, before the writer opens (its options are fixed then)
        dictionary = auto_dictionary(first) if first is not None else False
    elif not isinstance(dictionary, bool):
        dictionary = list(dictionary)
    with pq.ParquetWriter(
        path,
        schema,
        compression=codec if codec != "none" else "NONE",
        compression_level=level,
        write_statistics=True,
        use_dictionary=dictionary,
    ) as writer:
        if first is not None:
            writer.write_batch(first)
        for batch in stream:
            writer.write_batch(batch)


def auto_dictionary(batch: "pa.RecordBatch") -> list[str]:
    """The columns ``dictionary: auto`` dictionary-encodes in a Parquet file whose first batch is ``batch``.

    A dictionary pays when a column repeats its values: the file then stores each value once,
    plus small indices. A near-unique column (ids, timestamps, measurements, free text) gains
    nothing from one, and building it costs the writer a hash table of every value, which is
    what pyarrow does for every column by default. On the reference workload (11 columns, 5
    near-unique) writing a part took 8.8 ms with a dictionary on every column and 6.9 ms with
    this choice, and the outputs were 19% smaller (zstd compresses plain runs of near-unique
    values better than their dictionary).

    A column is encoded when an evenly spaced sample of ``batch`` (DICTIONARY_SAMPLE_ROWS rows)
    holds at most as many distinct non-null values as a sample of that size is expected to hold
    from a column whose n non-null values are n/2 values each repeated twice, the point where a
    dictionary stops paying: ``n/2 * (1 - (n-s)(n-s-1) / (n(n-1)))`` for s sampled non-null
    values (n/2 when the sample is the whole batch). Arrow dictionary columns are always encoded
    (the writer reuses their dictionary); boolean, nested and all-null columns never are (they
    have no use for one). The choice depends only on the batch, so equal data gives equal
    files; later batches do not change it (Arrow still falls back to plain encoding when a
    dictionary outgrows its page, 1 MB).

    The sample is evenly spaced, not random, on purpose: it sees repeats scattered through the
    column, which a dictionary is for, and not short runs of equal values (sorted or clustered
    data), which zstd shrinks better without one (a sorted column of runs of 10 integers: 20.9
    KB with a dictionary, 14.8 KB without).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = batch.num_rows
    sample = batch
    if rows > DICTIONARY_SAMPLE_ROWS:
        # one take for all the columns; the indices from their bytes (pa.array of a Python list
        # would import pandas, half a second in every worker)
        picks = np.arange(DICTIONARY_SAMPLE_ROWS, dtype=np.int64) * rows // DICTIONARY_SAMPLE_ROWS
        sample = batch.take(pa.Array.from_buffers(pa.int64(), len(picks), [None, pa.py_buffer(picks)]))
    chosen: list[str] = []
    for i, field in enumerate(batch.schema):
        t = field.type
        if pa.types.is_dictionary(t):
            chosen.append(field.name)
            continue
        if not _dictionary_type(t):
            continue
        n = rows - batch.column(i).null_count
        column = sample.column(i)
        s = len(column) - column.null_count
        if n < 2 or s < 1:
            continue
        expected = n / 2 * (1 - (n - s) * (n - s - 1) / (n * (n - 1)))
        values = pc.unique(column)  # (as fast as count_distinct on numbers, twice as fast on strings)
        if len(values) - (values.null_count > 0) <= expected:  # the distinct non-null values
            chosen.append(field.name)
    return chosen


def _dictionary_type(t: "pa.DataType") -> bool:
    """Whether Parquet can dictionary-encode a (non-dictionary) column of this type to any gain."""
    import pyarrow as pa

    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t) or pa.types.is_temporal(t))


def _write_arrow(schema: "pa.Schema", batches: Iterable["pa.RecordBatch"], path: Path, codec: str,
                 level: int | None, row_group_size: int | None) -> None:
    import pyarrow as pa

    compression: Any = None
    if codec != "none":
        compression = pa.Codec(codec, compression_level=level) if level is not None else codec
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema, options=options) as writer:
        for batch in _regroup(batches, row_group_size):
            writer.write_batch(batch)


# --- text formats ------------------------------------------------------------------------


def _check_text_types(schema: "pa.Schema", fmt: str) -> None:
    import pyarrow as pa

    for f in schema:
        t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        nested = pa.types.is_nested(t)
        if fmt == "csv" and nested:
            raise BuildError(
                f"column {f.name!r} has type {f.type}, which CSV cannot hold",
                hint="write this target as parquet, arrow or jsonl, or drop/convert the column",
            )
        if pa.types.is_union(t) or pa.types.is_interval(t):
            raise BuildError(f"column {f.name!r} has type {f.type}, which {fmt} output does not support",
                             hint="write this target as parquet or arrow")


class _Sink:
    """A binary file, optionally compressed as a whole (gzip or zstd)."""

    def __init__(self, path: Path, codec: str, level: int | None) -> None:
        import pyarrow as pa

        if codec not in _TEXT_CODECS:
            raise ValueError(f"codec {codec!r} is not available for text output")
        self._gzip: Any = None
        self._arrow: Any = None
        self._frames: Any = None
        self._pending = bytearray()
        if codec == "zstd" and (level is None or level == DEFAULT_LEVELS["zstd"]):
            # one frame, streamed by Arrow (which compresses at its default level only)
            self._raw: Any = pa.OSFile(str(path), "wb")
            self._arrow = pa.CompressedOutputStream(self._raw, "zstd")
            return
        self._raw = open(path, "wb")  # noqa: SIM115 - closed in close()
        if codec == "gzip":
            import gzip

            level = DEFAULT_LEVELS["gzip"] if level is None else level
            self._gzip = gzip.GzipFile(filename="", mode="wb", compresslevel=level, fileobj=self._raw, mtime=0)
        elif codec == "zstd":
            self._frames = pa.Codec("zstd", compression_level=level)

    def write(self, data: Any) -> None:
        if self._gzip is not None:
            self._gzip.write(data)
        elif self._arrow is not None:
            self._arrow.write(data)
        elif self._frames is not None:
            self._pending += data
            while len(self._pending) >= ZSTD_FRAME_BYTES:  # frames of exactly ZSTD_FRAME_BYTES
                self._raw.write(self._frames.compress(bytes(self._pending[:ZSTD_FRAME_BYTES]), asbytes=True))
                del self._pending[:ZSTD_FRAME_BYTES]
        else:
            self._raw.write(data)

    def _flush_frame(self) -> None:
        if self._pending:
            self._raw.write(self._frames.compress(bytes(self._pending), asbytes=True))
            self._pending = bytearray()

    def close(self, ok: bool = True) -> None:
        try:
            if ok:
                if self._gzip is not None:
                    self._gzip.close()
                elif self._frames is not None:
                    self._flush_frame()
        finally:
            if self._arrow is not None and not self._arrow.closed:
                self._arrow.close()  # closes self._raw too
            if not self._raw.closed:
                self._raw.close()

    def __enter__(self) -> "_Sink":
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.close(ok=exc_type is None)


def _text_sink(path: Path, codec: str, level: int | None) -> _Sink:
    return _Sink(path, codec, level)


def _csv_chunks(schema: "pa.Schema", batches: Iterable["pa.RecordBatch"]) -> Iterator[bytes]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = True
    for batch in batches:
        batch = _text_ready(batch)
        buf = pa.BufferOutputStream()
        pacsv.write_csv(batch, buf, pacsv.WriteOptions(include_header=header))
        header = False
        yield buf.getvalue()
    if header:  # no rows at all: still a header line
        buf = pa.BufferOutputStream()
        empty = pa.RecordBatch.from_pylist([], schema=schema)
        pacsv.write_csv(_text_ready(empty), buf, pacsv.WriteOptions(include_header=True))
        yield buf.getvalue()


def _text_ready(batch: "pa.RecordBatch") -> "pa.RecordBatch":
    """Binary columns as text (must be valid UTF-8), with a clear error otherwise."""
    import pyarrow as pa

    columns = []
    changed = False
    for f, col in zip(batch.schema, batch.columns):
        t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t) or pa.types.is_binary_view(t):
            col = _binary_as_text(f.name, col)
            changed = True
        columns.append(col)
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _binary_as_text(name: str, col: "pa.Array") -> "pa.Array":
    import pyarrow as pa

    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_fixed_size_binary(col.type) or pa.types.is_binary_view(col.type):
        col = col.cast(pa.large_binary())
    target = pa.large_string() if pa.types.is_large_binary(col.type) else pa.string()
    try:
        return col.cast(target)
    except pa.ArrowInvalid:
        raise BuildError(
            f"column {name!r} holds bytes that are not UTF-8 text, which CSV and JSON Lines cannot hold",
            hint="write this target as parquet or arrow, or drop/convert the column",
        ) from None


# --- JSON Lines --------------------------------------------------------------------------


def _jsonl_chunks(schema: "pa.Schema", batches: Iterable["pa.RecordBatch"]) -> Iterator[Any]:
    import pyarrow.compute as pc

    keys = [json.dumps(name, ensure_ascii=False) for name in schema.names]
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if batch.num_columns == 0:
            yield b"{}\n" * batch.num_rows
            continue
        batch = _text_ready(batch)
        parts: list[Any] = []
        for i, (key, col) in enumerate(zip(keys, batch.columns)):
            parts.append(_lit(("{" if i == 0 else ",") + key + ":"))
            parts.append(_json_values(col))
        lines = pc.binary_join_element_wise(*parts, _lit("}\n"), _lit(""))
        yield _string_data(lines)


def _string_data(arr: "pa.Array") -> Any:
    """The concatenated bytes of a (large_)string array without nulls, zero-copy."""
    import numpy as np
    import pyarrow as pa

    offsets_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=offsets_type)[arr.offset : arr.offset + len(arr) + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    return memoryview(arr.buffers()[2])[start:end]


def _json_values(col: "pa.Array") -> "pa.Array":
    """Each value of a column as JSON text (a large_string array without nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_dictionary(t):  # encode the dictionary once, then pick by index
        return pc.fill_null(_json_values(col.dictionary).take(col.indices), _lit("null"))
    if pa.types.is_null(t):
        return pa.array(["null"] * len(col), pa.large_string())
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        text = _json_strings(col.cast(pa.large_string()))
    elif pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        text = col.cast(pa.large_string())
    elif pa.types.is_floating(t):
        if pa.types.is_float16(t):
            col = col.cast(pa.float32())
        text = col.cast(pa.large_string())
        if pc.any(pc.invert(pc.is_finite(col))).as_py():
            text = pc.replace_substring_regex(text, r"^-?nan$", "NaN")
            text = pc.replace_substring_regex(text, r"^(-?)inf$", r"\1Infinity")
    elif pa.types.is_date(t):
        text = _quote(col.cast(pa.large_string()))
    elif pa.types.is_time(t):
        text = _quote(col.cast(pa.large_string()))
    elif pa.types.is_timestamp(t):
        # "YYYY-MM-DD hh:mm:ss[.fff]" (+ "Z" in UTC) -> ISO-8601 "T"; (strftime is ~20x slower)
        if t.tz is not None:
            col = col.cast(pa.timestamp(t.unit, tz="UTC"))
        text = pc.replace_substring(col.cast(pa.large_string()), " ", "T", max_replacements=1)
        text = _quote(text)
    elif pa.types.is_duration(t):
        text = col.view(pa.int64()).cast(pa.large_string())
    else:  # nested and anything else: through Python's json
        values = [None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=_json_default)
                  for v in col.to_pylist()]
        text = pa.array(values, pa.large_string())
    return pc.fill_null(text, "null")


_ESCAPES = [
    ("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"), ("\b", "\\b"), ("\f", "\\f"),
    # valid raw in JSON, but line breaks to str.splitlines() and some line-oriented tools
    ("\u0085", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"),
]
#: RE2: any character that _json_strings must escape.
_NEEDS_ESCAPE = r'["\\\x00-\x1f\x{85}\x{2028}\x{2029}]'


def _json_strings(col: "pa.Array") -> "pa.Array":
    """JSON string literals of a large_string array (nulls stay null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = col
    if not pc.any(pc.match_substring_regex(text, _NEEDS_ESCAPE)).as_py():
        return _quote(text)  # the usual case: nothing to escape
    for raw, escaped in _ESCAPES:
        text = pc.replace_substring(text, raw, escaped)
    # the remaining control characters (rare): \\u00XX, through Python
    odd = pc.match_substring_regex(text, "[\\x00-\\x1f]")
    if pc.any(odd).as_py():
        values = text.to_pylist()
        mask = odd.to_pylist()
        for i, flag in enumerate(mask):
            if flag:
                values[i] = "".join(f"\\u{ord(ch):04x}" if ord(ch) < 0x20 else ch for ch in values[i])
        text = pa.array(values, pa.large_string())
    return _quote(text)


def _quote(text: "pa.Array") -> "pa.Array":
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(_lit('"'), text, _lit('"'), _lit(""))


def _lit(text: str) -> Any:
    """A large_string scalar (binary_join_element_wise does not cast str literals to large_string)."""
    import pyarrow as pa

    return pa.scalar(text, pa.large_string())


def _json_default(value: Any) -> Any:
    import datetime as dt
    import decimal

    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise BuildError("a nested value holds bytes that are not UTF-8 text, which JSON Lines cannot hold",
                             hint="write this target as parquet or arrow") from None
    if hasattr(value, "isoformat"):  # pandas Timestamp and the like
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
