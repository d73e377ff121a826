"""Output writers: every format and codec round-trips, data hashes agree, writes are atomic."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest

from mldata import writers
from mldata.errors import BuildError
from mldata.io import write_parquet
from mldata.writers import FORMAT_CODEC_LEVELS, check_format_compression, output_extension, write_output
from tests.conftest import dictionary_columns


def rich_table(n: int = 300) -> pa.Table:
    rng = np.random.default_rng(0)
    words = ["plain", "", 'quote "q"', "comma, here", "line\nbreak", "tab\there", "back\\slash", "ünï ✓", "ctl\x01\x1f", "NA"]
    floats = rng.normal(size=n)
    floats[::17] = np.nan
    floats[5] = np.inf
    floats[6] = -np.inf
    floats[7] = -0.0
    mask = rng.random(n) < 0.1
    return pa.table({
        "id": pa.array(np.arange(n), pa.int64()),
        "small": pa.array((np.arange(n) % 100) - 50, pa.int8()),
        "big": pa.array(np.arange(n, dtype=np.uint64) + np.uint64(2**63), pa.uint64()),
        "x": pa.array(floats, mask=mask),
        "f32": pa.array(rng.normal(size=n).astype(np.float32)),
        "flag": pa.array(rng.random(n) < 0.5, mask=mask),
        "word": pa.array([words[i % len(words)] for i in range(n)], mask=mask),
        "cat": pa.array([["alpha", "beta", None][i % 3] for i in range(n)]).dictionary_encode(),
        "ts": pa.array(np.arange(n) * 1_234_567_891 - 10**12, pa.timestamp("ns")),
        "tsz": pa.array(np.arange(n) * 3_600_000_001, pa.timestamp("us", tz="UTC")),
        "day": pa.array(np.arange(n, dtype=np.int32) * 37 - 3000, pa.date32()),
        "dec": pa.array([decimal.Decimal(i) / 4 - 20 for i in range(n)], pa.decimal128(12, 2)),
        "text_bytes": pa.array([f"b{i}".encode() for i in range(n)], pa.binary()),
    })


def read_back(path: Path, fmt: str, schema: pa.Schema) -> pa.Table:
    """Read an output with pyarrow's readers, converting to the original schema's types."""
    if fmt == "parquet":
        return pq.read_table(path)
    if fmt == "arrow":
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).read_all()
    stream = pa.input_stream(str(path), compression="detect")
    if fmt == "csv":
        types = {f.name: (f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in schema}
        table = pacsv.read_csv(stream, convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False))
    else:
        # the JSON reader cannot parse dates, times or dictionaries itself: read those as text
        as_read = []
        for f in schema:
            t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
            if pa.types.is_date(t) or pa.types.is_time(t):
                t = pa.string()
            as_read.append(pa.field(f.name, t))
        table = pajson.read_json(stream, parse_options=pajson.ParseOptions(explicit_schema=pa.schema(as_read)))
    return table.cast(schema)


def assert_same(got: pa.Table, want: pa.Table) -> None:
    assert got.schema.remove_metadata() == want.schema.remove_metadata()
    for name in want.column_names:
        a, b = got[name].to_pylist(), want[name].to_pylist()
        assert [_norm(x) for x in a] == [_norm(x) for x in b], name


def _norm(v):
    if isinstance(v, float) and v != v:
        return "NaN"
    return v


ALL_FORMAT_CODECS = [
    (fmt, codec, level)
    for fmt, codecs in FORMAT_CODEC_LEVELS.items()
    for codec, levels in codecs.items()
    for level in ([None] if levels is None else [None, levels[0], levels[1] if levels[1] <= 12 else 9])
]


@pytest.mark.parametrize("fmt, codec, level", ALL_FORMAT_CODECS, ids=lambda v: str(v))
def test_every_format_and_codec_round_trips(tmp_path, fmt, codec, level):
    table = rich_table()
    if fmt in ("csv", "jsonl"):  # bytes are written as their UTF-8 text
        table = table.set_column(table.schema.get_field_index("text_bytes"), "text_bytes", table["text_bytes"].cast(pa.string()))
    dest = tmp_path / f"out{output_extension(fmt, codec)}"
    written = write_output(table.schema, table.to_batches(max_chunksize=77), dest, format=fmt, codec=codec, level=level)
    assert written.rows == table.num_rows and written.bytes == dest.stat().st_size
    assert_same(read_back(dest, fmt, table.schema), table)
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]  # no temp files left


def test_data_hash_is_the_same_in_every_format_and_matches_write_parquet(tmp_path):
    table = rich_table(1000)
    reference = write_parquet(table.schema, table.to_batches(), tmp_path / "ref.parquet", codec="zstd", level=None)
    hashes = set()
    for i, (fmt, codec, level) in enumerate(ALL_FORMAT_CODECS):
        w = write_output(table.schema, table.to_batches(max_chunksize=333), tmp_path / f"{i}{output_extension(fmt, codec)}",
                         format=fmt, codec=codec, level=level, row_group_size=100)
        hashes.add(w.data_hash)
        assert w.schema == table.schema.remove_metadata()
    assert hashes == {reference.data_hash}
    # with the same options the Parquet bytes are the same as io.write_parquet's
    same = write_output(table.schema, table.to_batches(), tmp_path / "same.parquet", format="parquet", codec="zstd", level=None)
    assert same.file_hash == reference.file_hash


def test_data_hash_ignores_schema_metadata_and_batch_boundaries(tmp_path):
    table = rich_table(200)
    with_meta = table.replace_schema_metadata({"k": "v"})
    a = write_output(with_meta.schema, with_meta.to_batches(max_chunksize=7), tmp_path / "a.csv", format="csv", codec="none", level=None)
    b = write_output(table.schema, table.to_batches(), tmp_path / "b.arrow", format="arrow", codec="none", level=None)
    assert a.data_hash == b.data_hash


def test_parquet_row_group_size_and_dictionary(tmp_path):
    table = pa.table({"a": np.arange(200_000) % 7, "b": [str(i % 5) for i in range(200_000)]})
    path = tmp_path / "rg.parquet"
    write_output(table.schema, table.to_batches(max_chunksize=50_000), path, format="parquet", codec="snappy", level=None,
                 row_group_size=150_000)
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [150_000, 50_000]
    write_output(table.schema, table.to_batches(), path, format="parquet", codec="none", level=None)
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [65536, 65536, 65536, 3392]

    def dict_encoded(column: int) -> bool:
        return any("DICTIONARY" in e for e in pq.ParquetFile(path).metadata.row_group(0).column(column).encodings)

    write_output(table.schema, table.to_batches(), path, format="parquet", codec="none", level=None, dictionary=False)
    assert not dict_encoded(0) and not dict_encoded(1)
    write_output(table.schema, table.to_batches(), path, format="parquet", codec="none", level=None, dictionary=["b"])
    assert not dict_encoded(0) and dict_encoded(1)
    with pytest.raises(ValueError, match="row_group_size"):
        write_output(table.schema, table.to_batches(), path, format="parquet", codec="none", level=None, row_group_size=0)


def test_auto_dictionary_encodes_the_columns_that_repeat_their_values():
    rng = np.random.default_rng(1)
    n = 5_000
    batch = pa.record_batch({
        "id": np.arange(n),  # unique
        "measure": rng.normal(size=n),  # continuous: unique
        "text": [f"note {i}" for i in range(n)],  # unique strings
        "country": rng.choice(["DE", "FR", "NL", "IT"], n),  # 4 values
        "qty": rng.integers(0, 20, n),  # 20 values
        "score": np.round(rng.uniform(0, 1, n), 3),  # ~1000 values, each ~5 times: pays
        "flag": rng.integers(0, 2, n).astype(bool),  # boolean: Parquet bit-packs it anyway
        "tags": pa.array([["a"]] * n),  # nested: never
        "empty": pa.nulls(n, pa.string()),  # all null: never
        "cat": pa.array(rng.choice(["x", "y"], n)).dictionary_encode(),  # Arrow dictionary: always
    })
    assert writers.auto_dictionary(batch) == ["country", "qty", "score", "cat"]


def test_auto_dictionary_threshold_is_half_the_values_on_a_whole_small_batch():
    # up to DICTIONARY_SAMPLE_ROWS rows the batch is its own sample: encode when distinct <= n/2
    n = 400
    half = pa.record_batch({"a": np.arange(n) // 2, "b": np.concatenate([np.arange(n // 2 + 1), np.zeros(n // 2 - 1, int)])})
    assert writers.auto_dictionary(half) == ["a"]
    with_nulls = pa.record_batch({"a": pa.array([1, 1, 2, None, None, None])})  # 2 distinct of 3 present
    assert writers.auto_dictionary(with_nulls) == []
    assert writers.auto_dictionary(pa.record_batch({"a": pa.array([1, 1, None])})) == ["a"]
    assert writers.auto_dictionary(pa.record_batch({"a": pa.array([7])})) == []  # one value: nothing to share


def test_auto_dictionary_samples_large_batches_evenly():
    n = 65_536
    rng = np.random.default_rng(2)
    batch = pa.record_batch({
        "ids": np.arange(n),
        "runs": np.repeat(np.arange(64), n // 64),  # 64 values in long runs (the first 512 rows hold one)
        "pairs": rng.permutation(np.arange(n) // 2),  # the boundary: n/2 values, each twice
        "scattered": rng.permutation(np.arange(n) // 10),  # each value 10 times, anywhere
        # each value 10 times in a row (sorted data): zstd shrinks such runs better without a dictionary
        # (20.9 KB with one, 14.8 KB without, here), and the evenly spaced sample does not see them
        "sorted_runs": np.arange(n) // 10,
    })
    assert writers.auto_dictionary(batch) == ["runs", "scattered"]


def test_parquet_dictionary_auto_is_the_default(tmp_path):
    n = 20_000
    table = pa.table({"id": np.arange(n), "country": np.array(["DE", "FR", "NL"])[np.arange(n) % 3],
                      "text": [f"row {i}" for i in range(n)]})
    auto = write_output(table.schema, table.to_batches(max_chunksize=7000), tmp_path / "auto.parquet",
                        format="parquet", codec="zstd", level=None)
    assert dictionary_columns(tmp_path / "auto.parquet") == ["country"]
    every = write_output(table.schema, table.to_batches(), tmp_path / "every.parquet", format="parquet", codec="zstd",
                         level=None, dictionary=True)
    assert dictionary_columns(tmp_path / "every.parquet") == ["id", "country", "text"]
    # the same data: the same data hash, and the same file again for the same batches
    assert auto.data_hash == every.data_hash and auto.rows == n
    again = write_output(table.schema, table.to_batches(max_chunksize=7000), tmp_path / "again.parquet",
                         format="parquet", codec="zstd", level=None)
    assert again.file_hash == auto.file_hash
    assert auto.bytes < every.bytes
    assert pq.read_table(tmp_path / "auto.parquet").equals(table)
    # through io.write_parquet (parts), and with no rows at all
    part = write_parquet(table.schema, table.to_batches(), tmp_path / "part.parquet", codec="zstd", level=None)
    assert part.data_hash == auto.data_hash and dictionary_columns(tmp_path / "part.parquet") == ["country"]
    empty = write_output(table.schema, [], tmp_path / "empty.parquet", format="parquet", codec="zstd", level=None)
    assert empty.rows == 0 and pq.read_table(tmp_path / "empty.parquet").schema.equals(table.schema)


def test_arrow_batches_follow_row_group_size(tmp_path):
    table = pa.table({"a": np.arange(1000)})
    path = tmp_path / "x.arrow"
    write_output(table.schema, table.to_batches(max_chunksize=300), path, format="arrow", codec="zstd", level=3, row_group_size=400)
    reader = pa.ipc.open_file(pa.memory_map(str(path)))
    assert [reader.get_batch(i).num_rows for i in range(reader.num_record_batches)] == [400, 400, 200]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl", "arrow"])
def test_empty_outputs(tmp_path, fmt):
    schema = pa.schema([("a", pa.int64()), ("b", pa.string())])
    dest = tmp_path / f"e{output_extension(fmt, 'none')}"
    w = write_output(schema, [], dest, format=fmt, codec="none", level=None)
    assert w.rows == 0
    if fmt == "csv":
        assert dest.read_text() == '"a","b"\n'
    elif fmt == "jsonl":
        assert dest.read_bytes() == b""
    else:
        assert read_back(dest, fmt, schema).num_rows == 0


def test_jsonl_lines_are_json_and_strings_exact(tmp_path):
    strings = ['"', "\\", "\n\r\t\b\f", "\x00\x07\x1f\x7f", "é✓𝄞", "</script>", "", None, "a\u2028b"]
    table = pa.table({"s": strings, "weird key \"é\"": list(range(len(strings)))})
    dest = tmp_path / "s.jsonl"
    write_output(table.schema, table.to_batches(), dest, format="jsonl", codec="none", level=None)
    text = dest.read_text(encoding="utf-8")
    lines = text.splitlines()  # also splits at U+2028, U+0085 ...: those are escaped
    assert [json.loads(line) for line in lines] == table.to_pylist()
    assert "é✓𝄞" in lines[4]  # not ASCII-escaped
    assert lines[0] == '{"s":"\\"","weird key \\"é\\"":0}'
    assert '"a\\u2028b"' in text


def test_jsonl_special_values(tmp_path):
    table = pa.table({
        "f": [float("nan"), float("inf"), float("-inf"), 1e-7, -0.0, None],
        "tz": pa.array([0, 1, 2, 3, 4, None], pa.timestamp("ms", tz="Europe/Paris")),
        "dur": pa.array([1, -2, 3, 4, 5, None], pa.duration("s")),
        "lst": pa.array([[1, 2], [], None, [3], [None], [4]]),
        "st": pa.array([{"a": 1, "t": dt.date(2020, 1, 2)}] * 6),
        "nul": pa.nulls(6),
    })
    dest = tmp_path / "v.jsonl"
    write_output(table.schema, table.to_batches(), dest, format="jsonl", codec="none", level=None)
    first, second = dest.read_text().splitlines()[:2]
    assert first == ('{"f":NaN,"tz":"1970-01-01T00:00:00.000Z","dur":1,"lst":[1,2],'
                     '"st":{"a":1,"t":"2020-01-02"},"nul":null}')
    assert second.startswith('{"f":Infinity,"tz":"1970-01-01T00:00:00.001Z"')
    rows = [json.loads(line) for line in dest.read_text().splitlines()]  # Python accepts NaN/Infinity
    assert rows[2]["f"] == float("-inf") and rows[3]["f"] == 1e-7 and rows[5]["f"] is None
    back = pajson.read_json(io.BytesIO(dest.read_bytes()))
    assert back["f"].to_pylist()[1:3] == [float("inf"), float("-inf")]


def test_text_formats_reject_what_they_cannot_hold(tmp_path):
    raw = pa.table({"b": pa.array([b"\xff\xfe"], pa.binary())})
    for fmt in ("csv", "jsonl"):
        with pytest.raises(BuildError, match="not UTF-8"):
            write_output(raw.schema, raw.to_batches(), tmp_path / f"x.{fmt}", format=fmt, codec="none", level=None)
    nested = pa.table({"l": pa.array([[1, 2]])})
    with pytest.raises(BuildError, match="CSV cannot hold"):
        write_output(nested.schema, nested.to_batches(), tmp_path / "n.csv", format="csv", codec="none", level=None)
    assert not list(tmp_path.iterdir())


def test_failed_write_leaves_previous_output_and_no_temp_file(tmp_path):
    table = pa.table({"a": np.arange(100_000)})
    dest = tmp_path / "out.csv.gz"
    write_output(table.schema, table.to_batches(), dest, format="csv", codec="gzip", level=1)
    before = dest.read_bytes()

    def failing():
        yield from table.to_batches(max_chunksize=70_000)[:1]
        raise RuntimeError("disk on fire")

    for fmt, codec in [("csv", "gzip"), ("jsonl", "zstd"), ("parquet", "zstd"), ("arrow", "lz4")]:
        with pytest.raises(RuntimeError, match="disk on fire"):
            write_output(table.schema, failing(), dest, format=fmt, codec=codec, level=None)
    assert dest.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv.gz"]


def test_gzip_output_is_deterministic_and_one_standard_member(tmp_path):
    table = rich_table(500)
    a = write_output(table.schema, table.to_batches(), tmp_path / "a.jsonl.gz", format="jsonl", codec="gzip", level=6)
    b = write_output(table.schema, table.to_batches(), tmp_path / "b.jsonl.gz", format="jsonl", codec="gzip", level=6)
    assert a.file_hash == b.file_hash
    raw = (tmp_path / "a.jsonl.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"  # mtime 0
    assert len(gzip.decompress(raw).splitlines()) == 500


def test_zstd_levels_write_frames_that_readers_concatenate(tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "ZSTD_FRAME_BYTES", 10_000)
    table = rich_table(2000)
    dest = tmp_path / "f.csv.zst"
    write_output(table.schema, table.to_batches(), dest, format="csv", codec="zstd", level=7)
    assert dest.read_bytes().count(b"\x28\xb5\x2f\xfd") > 5  # several zstd frames
    assert_same(read_back(dest, "csv", table.schema), read_back(_plain_csv(table, tmp_path), "csv", table.schema))
    single = tmp_path / "s.csv.zst"
    write_output(table.schema, table.to_batches(), single, format="csv", codec="zstd", level=None)
    assert single.read_bytes().count(b"\x28\xb5\x2f\xfd") == 1


def _plain_csv(table: pa.Table, folder: Path) -> Path:
    path = folder / "plain.csv"
    write_output(table.schema, table.to_batches(), path, format="csv", codec="none", level=None)
    return path


def test_levels_change_the_bytes(tmp_path):
    table = pa.table({"s": [f"row {i % 1000} " * 3 for i in range(50_000)]})
    sizes = {}
    for fmt, codec, lo, hi in [("parquet", "zstd", 1, 19), ("csv", "gzip", 1, 9), ("jsonl", "zstd", 1, 19), ("arrow", "zstd", 1, 19)]:
        for level in (lo, hi):
            w = write_output(table.schema, table.to_batches(), tmp_path / f"{fmt}{level}{output_extension(fmt, codec)}",
                             format=fmt, codec=codec, level=level)
            sizes[fmt, level] = w.bytes
        assert sizes[fmt, hi] < sizes[fmt, lo], fmt


def test_check_format_compression():
    assert check_format_compression("parquet", "brotli", 11) is None
    assert check_format_compression("feather", "lz4", None) is None
    assert check_format_compression("csv", "zstd", 22) is None
    assert check_format_compression("jsonl", "none", None) is None
    assert "valid levels are 1..9" in check_format_compression("csv", "gzip", 10)
    assert "valid levels are 1..22" in check_format_compression("arrow", "zstd", 0)
    assert "valid codecs: none, gzip, zstd" in check_format_compression("csv", "snappy", None)
    assert "valid codecs: none, lz4, zstd" in check_format_compression("arrow", "brotli", None)
    assert "takes no compression level" in check_format_compression("parquet", "snappy", 1)
    assert "unknown output format 'xlsx'" in check_format_compression("xlsx", "none", None)
    assert "must be an integer" in check_format_compression("csv", "gzip", "9")
    with pytest.raises(ValueError, match="valid levels"):
        write_output(pa.schema([]), [], Path("/nonexistent/x.csv"), format="csv", codec="gzip", level=99)


def test_level_ranges_agree_with_pyarrow():
    for fmt, codecs in FORMAT_CODEC_LEVELS.items():
        for codec, levels in codecs.items():
            if levels is None or codec == "none":
                continue
            lo, hi = levels
            assert pa.Codec.maximum_compression_level(codec) == hi, (fmt, codec)
            assert pa.Codec.minimum_compression_level(codec) <= lo, (fmt, codec)
    for codec in ("gzip", "zstd", "brotli", "lz4"):
        assert pa.Codec.default_compression_level(codec) == writers.DEFAULT_LEVELS[codec]


def test_output_extension():
    assert output_extension("parquet", "zstd") == ".parquet"
    assert output_extension("arrow", "lz4") == ".arrow"
    assert output_extension("feather", "none") == ".arrow"
    assert output_extension("csv", "none") == ".csv"
    assert output_extension("csv", "gzip") == ".csv.gz"
    assert output_extension("jsonl", "zstd") == ".jsonl.zst"
    with pytest.raises(ValueError):
        output_extension("xlsx", "none")


def test_compressed_text_outputs_are_readable_by_mldata_readers(tmp_path):
    from mldata.io import read_table

    table = pa.table({"a": [1, 2, 3], "b": ["x", "y", None]})
    for codec in ("none", "gzip", "zstd"):
        for fmt in ("csv", "jsonl"):
            dest = tmp_path / f"t{output_extension(fmt, codec)}"
            write_output(table.schema, table.to_batches(), dest, format=fmt, codec=codec, level=None)
            back = read_table(str(dest), fmt, {}, dest.name)
            assert back["a"].to_pylist() == [1, 2, 3]


def test_check_is_pure_python():
    code = "import sys, mldata.writers as w; w.check_format_compression('csv','gzip',3); print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_large_jsonl_matches_python_json(tmp_path):
    n = 70_000  # more than one canonical batch
    table = pa.table({"i": np.arange(n), "s": [f"s{i}" for i in range(n)], "x": np.linspace(0, 1, n)})
    dest = tmp_path / "big.jsonl"
    write_output(table.schema, table.to_batches(max_chunksize=9999), dest, format="jsonl", codec="none", level=None)
    lines = dest.read_text().splitlines()
    assert len(lines) == n
    assert json.loads(lines[-1]) == {"i": n - 1, "s": f"s{n - 1}", "x": 1.0}
    assert pc.equal(pajson.read_json(dest)["x"], table["x"]).to_pylist() == [True] * n


def _auto_dictionary_by_definition(batch: pa.RecordBatch) -> list[str]:
    """auto_dictionary's rule written out: the sampled rows, then count_distinct per column."""
    rows, size = batch.num_rows, writers.DICTIONARY_SAMPLE_ROWS
    sample = batch.take(pa.array([i * rows // size for i in range(size)], pa.int64())) if rows > size else batch
    chosen = []
    for i, field in enumerate(batch.schema):
        if pa.types.is_dictionary(field.type):
            chosen.append(field.name)
            continue
        if not writers._dictionary_type(field.type):
            continue
        n, column = rows - batch.column(i).null_count, sample.column(i)
        s = len(column) - column.null_count
        if n >= 2 and s >= 1 and pc.count_distinct(column).as_py() <= n / 2 * (1 - (n - s) * (n - s - 1) / (n * (n - 1))):
            chosen.append(field.name)
    return chosen


def test_auto_dictionary_counts_distinct_values_as_arrow_does():
    # property: the same choice as the rule written out with count_distinct, on random batches of
    # every kind of column, with nulls, offsets (slices), 0.0 and -0.0 (two values) and NaN
    rng = np.random.default_rng(3)
    for _ in range(150):
        n, k = int(rng.integers(0, 2000)), int(rng.integers(1, 2000))
        floats = np.concatenate([[0.0, -0.0, np.nan], rng.normal(size=k)])
        columns = {
            "i64": pa.array(rng.integers(0, k, n)),
            "i8": pa.array(rng.integers(-100, 100, n), pa.int8()),
            "f64": pa.array(rng.choice(floats, n)),
            "ts": pa.array(rng.integers(0, k, n), pa.timestamp("s")),
            "text": pa.array([str(x) for x in rng.integers(0, k, n)]),
            "fixed": pa.array([int(x).to_bytes(4, "little") for x in rng.integers(0, k, n)], pa.binary(4)),
        }
        for name, array in list(columns.items()):
            if n and rng.random() < 0.5:
                columns[name] = pc.if_else(pa.array(rng.random(n) < rng.random()), pa.nulls(n, array.type), array)
        offset = int(rng.integers(0, 5)) if n > 5 else 0
        batch = pa.record_batch({name: a.slice(offset) for name, a in columns.items()})
        assert writers.auto_dictionary(batch) == _auto_dictionary_by_definition(batch)
