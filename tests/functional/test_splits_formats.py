"""Stable splits, export formats and compression control, end to end."""

from __future__ import annotations

import json

import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from tests.conftest import ProjectDir

SPLIT = """
version: 1
sources:
  raw: {path: data/*.csv}
targets:
  ds:
    from: raw
    split:
      ratios: {train: 0.8, val: 0.1, test: 0.1}
      seed: 7
      key: id
"""


def _rows(start: int, n: int) -> str:
    return "id,user,label\n" + "".join(f"{i},{i % 97},{'yn'[i % 2]}\n" for i in range(start, start + n))


def _split_of(project: ProjectDir) -> dict[int, str]:
    out = {}
    for split in ("train", "val", "test"):
        for i in pq.read_table(project.root / f"build/ds/{split}/data.parquet").column("id").to_pylist():
            out[i] = split
    return out


def test_given_a_keyed_split_ratios_hold_and_added_rows_never_move_old_ones(project: ProjectDir) -> None:
    project.config(SPLIT)
    project.write("data/a.csv", _rows(0, 20000))
    r = project.run("make")
    assert r.code == 0, r.err
    assert "splits: train" in r.out
    before = _split_of(project)
    shares = {s: sum(1 for v in before.values() if v == s) / len(before) for s in ("train", "val", "test")}
    assert abs(shares["train"] - 0.8) < 0.01 and abs(shares["val"] - 0.1) < 0.01
    lock = json.loads(project.lock_text())["targets"]["ds"]
    assert lock["splits"] == {s: sum(1 for v in before.values() if v == s) for s in ("train", "val", "test")}
    assert {rec["split"] for rec in lock["outputs"].values()} == {"train", "val", "test"}
    project.write("data/b.csv", _rows(20000, 5000))
    assert project.run("make").code == 0
    after = _split_of(project)
    assert all(after[i] == s for i, s in before.items())
    assert len(after) == 25000


def test_given_a_group_no_group_straddles_splits(project: ProjectDir) -> None:
    project.config(SPLIT.replace("      key: id\n", "      group: user\n"))
    project.write("data/a.csv", _rows(0, 3000))
    assert project.run("make").code == 0
    seen: dict[int, set[str]] = {}
    for split in ("train", "val", "test"):
        for u in pq.read_table(project.root / f"build/ds/{split}/data.parquet").column("user").to_pylist():
            seen.setdefault(u, set()).add(split)
    assert all(len(s) == 1 for s in seen.values())


def test_given_no_key_the_build_warns_that_the_split_is_not_stable(project: ProjectDir) -> None:
    project.config(SPLIT.replace("      key: id\n", ""))
    project.write("data/a.csv", _rows(0, 100))
    r = project.run("make")
    assert r.code == 0 and "not stable" in r.err


@pytest.mark.parametrize("fmt, codec, reader", [
    ("csv", "gzip", lambda p: pacsv.read_csv(p)),
    ("jsonl", "zstd", None),
    ("arrow", "lz4", lambda p: feather.read_table(p)),
    ("parquet", "brotli", lambda p: pq.read_table(p)),
])
def test_every_format_round_trips_with_the_same_data_hash(project: ProjectDir, fmt, codec, reader) -> None:
    base = """
        version: 1
        sources:
          raw: {path: data/*.csv}
        targets:
          out:
            from: raw
            steps: [{sort: {by: [id]}}]
        """
    project.config(base)
    project.write("data/a.csv", _rows(0, 50))
    assert project.run("make").code == 0
    parquet_hash = json.loads(project.lock_text())["targets"]["out"]["data_hash"]
    import textwrap

    project.config(textwrap.dedent(base) + f"    format: {fmt}\n    compression: {codec}\n")
    r = project.run("make")
    assert r.code == 0, r.err
    entry = json.loads(project.lock_text())["targets"]["out"]
    assert entry["data_hash"] == parquet_hash
    (path,) = [project.root / rel for rel in entry["outputs"]]
    assert path.exists() and not list((project.root / "build/out").glob("*.parquet")) or fmt == "parquet"
    if reader is not None:
        assert reader(str(path)).column("id").to_pylist() == list(range(50))


def test_given_an_invalid_level_for_a_format_the_error_gives_the_range(project: ProjectDir) -> None:
    project.config("""
        version: 1
        sources:
          raw: {path: data/*.csv}
        targets:
          out: {from: raw, format: csv, compression: "gzip:12"}
        """)
    project.write("data/a.csv", _rows(0, 5))
    r = project.run("make")
    assert r.code == 2 and "1..9" in r.err and "mldata.yaml:5" in r.err
    project.config("""
        version: 1
        sources:
          raw: {path: data/*.csv}
        targets:
          out: {from: raw, format: csv, compression: snappy}
        """)
    r = project.run("make")
    assert r.code == 2 and "snappy" in r.err and "gzip" in r.err


def test_compression_bench_measures_and_recommends(project: ProjectDir) -> None:
    project.config("""
        version: 1
        sources:
          raw: {path: data/*.csv}
        targets:
          out: {from: raw}
        """)
    project.write("data/a.csv", _rows(0, 2000))
    project.run("make")
    r = project.run("compression", "bench", "out", "--codecs", "none,zstd:3,gzip:6", "--repeats", "1", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert [x["codec"] for x in data["results"]] == ["none", "zstd", "gzip"]
    assert set(data["recommended"]) == {"smallest", "fastest_read", "balanced"}
    assert project.run("compression", "bench", "out", "--codecs", "zstd:99").code == 2
