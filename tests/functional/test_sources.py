"""Every source format mldata reads, compressed text, reader options, and multi-input targets."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from tests.conftest import ProjectDir

ROWS = [{"id": i, "name": f"n{i}", "score": i * 1.5 if i % 3 else None} for i in range(10)]


def _write_all_formats(project: ProjectDir) -> None:
    table = pa.Table.from_pylist(ROWS)
    lines = ["id,name,score"] + [f"{r['id']},{r['name']},{'' if r['score'] is None else r['score']}" for r in ROWS]
    project.write("data/csv/a.csv", "\n".join(lines) + "\n")
    (project.root / "data/gz").mkdir(parents=True)
    (project.root / "data/gz/a.csv.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    project.write("data/tsv/a.tsv", "\n".join(line.replace(",", "\t") for line in lines) + "\n")
    project.write("data/jsonl/a.jsonl", "\n".join(json.dumps(r) for r in ROWS) + "\n")
    (project.root / "data/pq").mkdir(parents=True)
    pq.write_table(table, project.root / "data/pq/a.parquet")
    (project.root / "data/arrow").mkdir(parents=True)
    feather.write_feather(table, project.root / "data/arrow/a.arrow")

@pytest.mark.parametrize("folder", ["csv", "gz", "tsv", "jsonl", "pq", "arrow"])
def test_given_each_source_format_the_same_rows_are_built(project: ProjectDir, folder: str) -> None:
    _write_all_formats(project)
    project.config(f"""
        version: 1
        sources:
          src: {{path: "data/{folder}/*"}}
        targets:
          t:
            from: src
            steps:
              - filter: "score is not null"
        """)
    r = project.run("make")
    assert r.code == 0, r.err
    table = project.read("build/t")
    assert table.column("id").to_pylist() == [r["id"] for r in ROWS if r["score"] is not None]
    assert table.column("name").to_pylist()[0] == "n1"


def test_given_reader_options_they_are_applied_and_fingerprinted(project: ProjectDir) -> None:
    project.write("data/a.csv", "id;flag;v\n1;Y;NA\n2;N;3\n")
    project.config("""
        version: 1
        sources:
          src:
            path: data/a.csv
            options: {delimiter: ";", null_values: ["NA"], true_values: ["Y"], false_values: ["N"],
                      column_types: {id: int16}}
        targets:
          t: {from: src}
        """)
    assert project.run("make").code == 0
    table = project.read("build/t")
    assert table.schema.field("id").type == pa.int16()
    assert table.column("flag").to_pylist() == [True, False]
    assert table.column("v").to_pylist() == [None, 3]
    project.config((project.root / "mldata.yaml").read_text().replace("int16", "int32"))
    assert "config changed: inputs.src.source.options.column_types.id" in project.run("plan").out


def test_given_several_inputs_a_python_function_gets_a_dict_of_tables(project: ProjectDir) -> None:
    project.write("data/users.csv", "uid,country\n1,FR\n2,DE\n")
    project.write("data/orders.csv", "oid,uid,amount\n10,1,5.0\n11,2,7.5\n12,1,1.0\n")
    project.write("pipes.py", (
        "def join(tables, how):\n"
        "    return tables['orders'].join(tables['users'], 'uid', join_type=how).sort_by('oid')\n"
    ))
    project.config("""
        version: 1
        sources:
          users: {path: data/users.csv}
          orders: {path: data/orders.csv}
        targets:
          enriched:
            from: [orders, users]
            python: pipes:join
            params: {how: inner}
            steps:
              - filter: "amount > 2"
        """)
    r = project.run("make")
    assert r.code == 0, r.err
    table = project.read("build/enriched")
    assert table.column("country").to_pylist() == ["FR", "DE"]
    project.write("data/users.csv", "uid,country\n1,IT\n2,DE\n")
    plan = project.run("plan")
    assert "inputs: 1 changed (data/users.csv)" in plan.out and "rebuild" in plan.out


def test_given_fail_fast_the_build_stops_at_the_first_failure(project: ProjectDir) -> None:
    project.write("data/a.csv", "x\n1\n")
    project.config("""
        version: 1
        sources:
          src: {path: data/a.csv}
        targets:
          a: {from: src, steps: [{filter: "nope > 1"}]}
          b: {from: src}
        """)
    r = project.run("make", "-x", "--json")
    data = {t["target"]: t["status"] for t in json.loads(r.out)["targets"]}
    assert r.code == 1 and data == {"a": "failed", "b": "skipped"}
    r = project.run("make", "--json")
    data = {t["target"]: t["status"] for t in json.loads(r.out)["targets"]}
    assert data == {"a": "failed", "b": "built"}


def test_given_a_large_changed_source_hashing_is_reported(project: ProjectDir, monkeypatch) -> None:
    import mldata.api

    project.write("data/a.csv", "x\n" + "1\n" * 1000)
    project.config("""
        version: 1
        sources:
          src: {path: data/a.csv}
        targets:
          t: {from: src}
        """)
    original = mldata.api.StatCache

    def small_threshold(*args, **kwargs):
        return original(*args, **{**kwargs, "report_min_bytes": 1})

    monkeypatch.setattr(mldata.api, "StatCache", small_threshold)
    r = project.run("make")
    assert "hashing  data/a.csv" in r.out
