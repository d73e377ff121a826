"""Measure codecs and levels on real data: the core of ``mldata compression bench``.

For each candidate (codec, level) :func:`bench` writes the table in the chosen output format to a
temporary folder with mldata's own encoder (:func:`mldata.writers.encode_file`, the code a build
uses, minus the data hash, which costs the same for every codec) and reads it back with mldata's
own streaming reader (:func:`mldata.io.read_batches`, what a downstream target uses), touching
every byte of the decoded batches (a memory-mapped uncompressed Arrow file would otherwise
"read" without reading), ``repeats`` times, and reports:

* ``bytes``: the file size (deterministic), and ``ratio`` = bytes / the size of the same format
  written with codec ``none`` (so 0.25 means the codec saves 75%);
* ``write_mbps`` and ``read_mbps``: megabytes (10^6 bytes) of *uncompressed in-memory Arrow data*
  (``table.nbytes``) per second, from the median of the repeats. Using the same numerator for
  every codec and format makes the speeds comparable: a codec is fast if it moves a lot of data
  per second, not if it writes a lot of bytes.

Sizes are deterministic; timings depend on the machine and its load, so compare candidates
measured in one run. :func:`recommend` picks "smallest", "fastest_read" and "balanced" (see its
docstring for the exact rules).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from mldata.errors import UsageError
from mldata.writers import check_format_compression, normalize_format, output_extension

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

#: "balanced": read speed at least this fraction of the fastest read ...
BALANCED_READ_FRACTION = 0.5
#: ... and write speed at least this fraction of the fastest write; then the smallest file.
BALANCED_WRITE_FRACTION = 0.25

Candidate = tuple[str, "int | None"]


@dataclass(frozen=True)
class BenchResult:
    """One codec/level measured on one table in one format."""

    format: str
    codec: str
    level: int | None
    rows: int
    arrow_bytes: int  # uncompressed in-memory Arrow size of the table (the MB in MB/s)
    bytes: int  # file size
    uncompressed_bytes: int  # file size of the same format with codec none
    ratio: float  # bytes / uncompressed_bytes
    write_seconds: float  # median of the repeats
    read_seconds: float
    write_mbps: float  # arrow_bytes / 1e6 / write_seconds
    read_mbps: float
    repeats: int

    @property
    def label(self) -> str:
        return self.codec if self.level is None else f"{self.codec}:{self.level}"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["label"] = self.label
        return out


def default_candidates(format: str = "parquet") -> list[Candidate]:
    """A sensible grid of codecs and levels for a format."""
    fmt = normalize_format(format)
    if fmt == "parquet":
        return [("none", None), ("snappy", None), ("lz4", None), ("gzip", 6), ("brotli", 5),
                ("zstd", 1), ("zstd", 3), ("zstd", 9), ("zstd", 19)]
    if fmt in ("csv", "jsonl"):
        return [("none", None), ("gzip", 1), ("gzip", 6), ("gzip", 9), ("zstd", 1), ("zstd", 3), ("zstd", 9), ("zstd", 19)]
    if fmt == "arrow":
        return [("none", None), ("lz4", None), ("zstd", 1), ("zstd", 3), ("zstd", 9), ("zstd", 19)]
    raise UsageError(check_format_compression(format, "none", None) or f"unknown format {format!r}")


def parse_candidates(text: str | Iterable[str], format: str = "parquet") -> list[Candidate]:
    """Parse ``"zstd:3,gzip,none"`` (or a list of such items) into validated candidates."""
    from mldata.spec import parse_compression_text

    items = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    out: list[Candidate] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            codec, level = parse_compression_text(item)
        except ValueError:
            raise UsageError(f"invalid codec {item!r}: expected CODEC or CODEC:LEVEL, e.g. zstd:9") from None
        error = check_format_compression(format, codec, level)
        if error:
            raise UsageError(error)
        if (codec, level) not in out:
            out.append((codec, level))
    if not out:
        raise UsageError("no codecs given", hint="e.g. --codecs none,snappy,zstd:3,zstd:9")
    return out


def bench(
    table: "pa.Table",
    candidates: list[Candidate],
    *,
    repeats: int = 3,
    format: str = "parquet",
    workdir: str | Path | None = None,
) -> list[BenchResult]:
    """Write and read ``table`` with every candidate codec/level; results in candidate order."""
    from mldata.io import rechunk
    from mldata.writers import encode_file

    fmt = normalize_format(format)
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for codec, level in candidates:
        error = check_format_compression(fmt, codec, level)
        if error:
            raise UsageError(error)
    schema = table.schema.remove_metadata()
    table = table.replace_schema_metadata(None)
    batches = list(rechunk(table.to_batches()))
    arrow_bytes = table.nbytes
    mb = max(arrow_bytes, 1) / 1e6
    with tempfile.TemporaryDirectory(prefix="mldata-bench-", dir=workdir) as tmp:
        folder = Path(tmp)

        def write(codec: str, level: int | None) -> tuple[Path, float]:
            path = folder / f"bench-{codec}-{level}{output_extension(fmt, codec)}"
            start = time.perf_counter()
            encode_file(schema, batches, path, format=fmt, codec=codec, level=level)
            return path, time.perf_counter() - start

        def read(path: Path) -> float:
            from mldata.io import read_batches

            start = time.perf_counter()
            _, stream = read_batches(str(path), fmt, {}, path.name)
            for batch in stream:
                # touch every byte: an uncompressed Arrow file is memory-mapped, and reading it
                # would otherwise cost nothing until the data is used
                batch.serialize()
            return time.perf_counter() - start

        if ("none", None) in candidates:
            plain = None
        else:
            path, _ = write("none", None)
            plain = path.stat().st_size
            path.unlink()
        measured = []
        for codec, level in candidates:
            writes, reads = [], []
            size = 0
            for _ in range(repeats):
                path, seconds = write(codec, level)
                writes.append(seconds)
                size = path.stat().st_size
                reads.append(read(path))
                path.unlink()
            measured.append((codec, level, size, statistics.median(writes), statistics.median(reads)))
        if plain is None:
            plain = next(size for codec, level, size, _, _ in measured if (codec, level) == ("none", None))
    return [
        BenchResult(
            format=fmt, codec=codec, level=level, rows=table.num_rows, arrow_bytes=arrow_bytes, bytes=size,
            uncompressed_bytes=plain, ratio=size / plain if plain else 1.0,
            write_seconds=w, read_seconds=r, write_mbps=mb / w if w > 0 else float("inf"),
            read_mbps=mb / r if r > 0 else float("inf"), repeats=repeats,
        )
        for codec, level, size, w, r in measured
    ]


def recommend(results: list[BenchResult]) -> dict[str, BenchResult]:
    """Pick candidates from one bench run.

    * ``smallest``: the smallest file (ties: the faster read).
    * ``fastest_read``: the highest read speed (ties: the smaller file).
    * ``balanced``: among the candidates that read at least half as fast as the fastest reader
      and write at least a quarter as fast as the fastest writer, the smallest file (ties: the
      faster read). The read bound keeps what every downstream build and training run pays;
      it is loose because the bench reads from a warm page cache, where I/O is free and an
      uncompressed file always reads fastest (a tighter bound would rule out every real
      codec, though on a disk or network the smaller file usually reads faster). The write
      bound rules out levels (zstd 19, brotli 11) that multiply the write time for a few percent
      of size. If nothing meets both bounds (possible only with noisy timings), the read bound
      alone is used.
    """
    if not results:
        return {}
    order = {id(r): i for i, r in enumerate(results)}
    smallest = min(results, key=lambda r: (r.bytes, -r.read_mbps, order[id(r)]))
    fastest = min(results, key=lambda r: (-r.read_mbps, r.bytes, order[id(r)]))
    best_read = max(r.read_mbps for r in results)
    best_write = max(r.write_mbps for r in results)
    fast_readers = [r for r in results if r.read_mbps >= BALANCED_READ_FRACTION * best_read]
    pool = [r for r in fast_readers if r.write_mbps >= BALANCED_WRITE_FRACTION * best_write] or fast_readers
    balanced = min(pool, key=lambda r: (r.bytes, -r.read_mbps, order[id(r)]))
    return {"smallest": smallest, "fastest_read": fastest, "balanced": balanced}


def format_results(results: list[BenchResult], picks: dict[str, BenchResult] | None = None) -> str:
    """A plain-text table of results (and the picks), for the command line."""
    picks = recommend(results) if picks is None else picks
    tags: dict[int, list[str]] = {}
    for name, r in picks.items():
        tags.setdefault(id(r), []).append(name)
    header = f"{'codec':<12}{'size':>12}{'ratio':>8}{'write MB/s':>12}{'read MB/s':>11}  pick"
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.label:<12}{_human(r.bytes):>12}{r.ratio:>8.3f}{r.write_mbps:>12.1f}{r.read_mbps:>11.1f}  "
            + ", ".join(tags.get(id(r), []))
        )
    if results:
        r0 = results[0]
        lines.append(
            f"{r0.rows:,} rows, {_human(r0.arrow_bytes)} of Arrow data, {r0.format}; "
            f"median of {r0.repeats}; MB/s = MB of uncompressed Arrow data per second"
        )
    return "\n".join(lines)


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def read_for_bench(path: str | Path) -> "pa.Table":
    """The table at ``path``: a built output folder (all its data files) or one data file."""
    import pyarrow as pa

    from mldata.io import read_table
    from mldata.spec import FORMAT_EXTENSIONS, TEXT_COMPRESSION_SUFFIXES

    def fmt_of(p: Path) -> str | None:
        name = p.name.lower()
        for suffix in TEXT_COMPRESSION_SUFFIXES:
            if name.endswith(suffix):
                name = name[: -len(suffix)]
        return FORMAT_EXTENSIONS.get(Path(name).suffix)

    p = Path(path)
    if not p.exists():
        raise UsageError(f"{path}: no such file or folder")
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith((".", "_")) and fmt_of(f))
        if not files:
            raise UsageError(f"{path}: no data files found")
        tables = [read_table(str(f), fmt_of(f) or "parquet", {}, str(f)) for f in files]
        return pa.concat_tables(tables, promote_options="permissive")
    fmt = fmt_of(p)
    if fmt is None:
        raise UsageError(f"{path}: unknown data format", hint=f"known extensions: {', '.join(FORMAT_EXTENSIONS)}")
    return read_table(str(p), fmt, {}, str(p))
