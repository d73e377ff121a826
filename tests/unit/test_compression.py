"""The compression bench: measurements, recommendations, candidate parsing."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mldata.compression import (
    BenchResult,
    bench,
    default_candidates,
    format_results,
    parse_candidates,
    read_for_bench,
    recommend,
)
from mldata.errors import UsageError
from mldata.writers import check_format_compression, output_extension, write_output


@pytest.fixture(scope="module")
def table() -> pa.Table:
    rng = np.random.default_rng(0)
    n = 5000
    return pa.table({
        "id": np.arange(n),
        "x": np.round(rng.normal(size=n), 3),
        "cat": rng.choice(["a", "b", "c"], n),
        "text": [f"item {i % 97}" for i in range(n)],
    })


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl", "arrow", "feather"])
def test_default_candidates_are_valid(fmt):
    grid = default_candidates(fmt)
    assert grid[0] == ("none", None)
    assert all(check_format_compression(fmt, c, lvl) is None for c, lvl in grid)


def test_default_parquet_grid():
    assert default_candidates() == [("none", None), ("snappy", None), ("lz4", None), ("gzip", 6), ("brotli", 5),
                                    ("zstd", 1), ("zstd", 3), ("zstd", 9), ("zstd", 19)]
    with pytest.raises(UsageError, match="unknown output format"):
        default_candidates("xlsx")


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl", "arrow"])
def test_bench_measures_every_candidate(tmp_path, table, fmt):
    candidates = default_candidates(fmt)[:4]
    results = bench(table, candidates, repeats=2, format=fmt)
    assert [(r.codec, r.level) for r in results] == candidates
    none = results[0]
    assert none.ratio == 1.0 and none.bytes == none.uncompressed_bytes
    for r in results:
        assert r.format == fmt and r.rows == table.num_rows and r.repeats == 2
        assert r.arrow_bytes == table.nbytes
        assert r.write_seconds > 0 and r.read_seconds > 0
        assert r.write_mbps == pytest.approx(table.nbytes / 1e6 / r.write_seconds)
        assert r.read_mbps == pytest.approx(table.nbytes / 1e6 / r.read_seconds)
        assert r.ratio == pytest.approx(r.bytes / none.bytes)
        # the size is what a build writes
        dest = tmp_path / f"{r.codec}{r.level}{output_extension(fmt, r.codec)}"
        assert write_output(table.schema, table.to_batches(), dest, format=fmt, codec=r.codec, level=r.level).bytes == r.bytes
    assert all(r.bytes < none.bytes for r in results[1:])


def test_bench_without_none_still_reports_ratios(table):
    results = bench(table, [("zstd", 3)], repeats=1)
    (r,) = results
    plain = bench(table, [("none", None)], repeats=1)[0]
    assert r.uncompressed_bytes == plain.bytes and r.ratio == pytest.approx(r.bytes / plain.bytes)


def test_bench_sizes_are_deterministic(table):
    a = bench(table, [("gzip", 6), ("zstd", 9)], repeats=1, format="csv")
    b = bench(table, [("gzip", 6), ("zstd", 9)], repeats=1, format="csv")
    assert [r.bytes for r in a] == [r.bytes for r in b]


def test_bench_rejects_invalid_candidates(table):
    with pytest.raises(UsageError, match="valid levels are 1..9"):
        bench(table, [("gzip", 12)], repeats=1)
    with pytest.raises(UsageError, match="valid codecs"):
        bench(table, [("snappy", None)], format="csv")
    with pytest.raises(ValueError, match="repeats"):
        bench(table, [("none", None)], repeats=0)


def test_bench_leaves_no_files(tmp_path, table):
    bench(table, [("none", None), ("zstd", 1)], repeats=1, workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def _result(codec, level, size, write, read) -> BenchResult:
    return BenchResult(
        format="parquet", codec=codec, level=level, rows=1, arrow_bytes=10**6, bytes=size, uncompressed_bytes=1000,
        ratio=size / 1000, write_seconds=1 / write, read_seconds=1 / read, write_mbps=write, read_mbps=read, repeats=1,
    )


def test_recommend_rules():
    results = [
        _result("none", None, 1000, 500, 1000),
        _result("snappy", None, 600, 450, 950),
        _result("zstd", 3, 400, 200, 820),
        _result("zstd", 19, 350, 20, 830),  # smallest, but writes at 4% of the fastest writer
        _result("gzip", 9, 380, 200, 300),  # small, but reads at 30% of the fastest reader
    ]
    picks = recommend(results)
    assert picks["smallest"].label == "zstd:19"
    assert picks["fastest_read"].label == "none"
    assert picks["balanced"].label == "zstd:3"  # read >= 50% of 1000, write >= 25% of 500, smallest
    assert recommend([]) == {}


def test_recommend_ties_and_fallback():
    a = _result("zstd", 1, 500, 100, 100)
    b = _result("zstd", 3, 500, 100, 120)
    picks = recommend([a, b])
    assert picks["smallest"] is b  # same size: the faster read
    assert picks["fastest_read"] is b
    # nothing both reads and writes fast enough: the read bound alone decides
    slow_writer_fast_reader = _result("brotli", 11, 100, 1, 1000)
    fast_writer_slow_reader = _result("none", None, 1000, 1000, 10)
    assert recommend([slow_writer_fast_reader, fast_writer_slow_reader])["balanced"] is slow_writer_fast_reader


def test_parse_candidates():
    assert parse_candidates("zstd:3, gzip,none") == [("zstd", 3), ("gzip", None), ("none", None)]
    assert parse_candidates(["zstd:1", "zstd:9,zstd:1"]) == [("zstd", 1), ("zstd", 9)]
    assert parse_candidates("uncompressed") == [("none", None)]
    assert parse_candidates("gzip:1,zstd:22", format="csv") == [("gzip", 1), ("zstd", 22)]
    for bad, match in [("zstd:x", "CODEC:LEVEL"), ("zstd:23", "valid levels are 1..22"), ("lzma", "valid codecs"), (",", "no codecs")]:
        with pytest.raises(UsageError, match=match):
            parse_candidates(bad)
    with pytest.raises(UsageError, match="valid codecs"):
        parse_candidates("brotli", format="csv")


def test_format_results_marks_picks(table):
    results = bench(table, [("none", None), ("zstd", 3)], repeats=1)
    text = format_results(results)
    assert "zstd:3" in text and "none" in text and "smallest" in text
    assert f"{table.num_rows:,} rows" in text
    assert results[1].to_json()["label"] == "zstd:3"


def test_read_for_bench_folder_and_file(tmp_path, table):
    folder = tmp_path / "build" / "t"
    write_output(table.schema, table.slice(0, 100).to_batches(), folder / "a.parquet", format="parquet", codec="zstd", level=None)
    write_output(table.schema, table.slice(100, 50).to_batches(), folder / "b.parquet", format="parquet", codec="zstd", level=None)
    (folder / "_SUCCESS").write_text("")
    assert read_for_bench(folder).num_rows == 150
    csv = tmp_path / "x.csv.gz"
    write_output(table.schema, table.to_batches(), csv, format="csv", codec="gzip", level=1)
    assert read_for_bench(csv).num_rows == table.num_rows
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no data files"):
        read_for_bench(tmp_path / "empty")
    with pytest.raises(UsageError, match="no such file or folder"):
        read_for_bench(tmp_path / "build" / "missing")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(UsageError, match="unknown data format"):
        read_for_bench(tmp_path / "x.xlsx")
