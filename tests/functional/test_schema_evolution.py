"""Validation and schema evolution through the CLI: pandera failures, versions, diffs, policy, log."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import ProjectDir

CONFIG = """
version: 1
sources:
  raw: {path: data/*.csv}
targets:
  clean:
    from: raw
    schema: schemas/clean.yaml
    steps:
      - filter: "value is not null"
"""

SCHEMA = """
schema_type: dataframe
columns:
  id: {dtype: int64, nullable: false}
  kind: {dtype: str, nullable: false, checks: {isin: [a, b, c]}}
  value: {dtype: float64, nullable: false, checks: {ge: 0}}
"""


def _project(project: ProjectDir) -> ProjectDir:
    project.config(CONFIG)
    project.write("schemas/clean.yaml", SCHEMA)
    project.write("data/p1.csv", "id,kind,value\n1,a,1.5\n2,b,\n3,c,2.0\n")
    project.write("data/p2.csv", "id,kind,value\n4,a,0.5\n5,b,7.0\n")
    return project


def _git(project: ProjectDir, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project.root, check=True, capture_output=True, text=True).stdout


def _commit(project: ProjectDir, message: str) -> None:
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", message)


def _init_git(project: ProjectDir) -> None:
    _git(project, "init", "-q")
    _git(project, "config", "user.email", "t@example.com")
    _git(project, "config", "user.name", "t")
    project.write(".gitignore", "build/\n.mldata/\n")


def test_given_a_value_outside_isin_the_build_fails_naming_column_check_value_and_file(project: ProjectDir) -> None:
    _project(project)
    assert project.run("make").code == 0
    good = (project.root / "build/clean/p2.parquet").read_bytes()
    lock = project.lock_text()
    project.write("data/p2.csv", "id,kind,value\n4,zebra,0.5\n5,b,-7.0\n")
    r = project.run("make")
    assert r.code == 1
    assert "kind" in r.err and "isin" in r.err and "zebra" in r.err and "data/p2.csv" in r.err
    assert "value" in r.err and "-7.0" in r.err  # lazy: every failing column at once
    assert (project.root / "build/clean/p2.parquet").read_bytes() == good
    assert project.lock_text() == lock
    data = json.loads(project.run("make", "--json").out)
    report = data["targets"][0]["validation"]
    assert {f["column"] for f in report["failures"]} == {"kind", "value"}


def test_given_an_added_column_the_version_goes_up_and_diff_names_it(project: ProjectDir) -> None:
    _project(project)
    _init_git(project)
    assert project.run("make").code == 0
    _commit(project, "first build")
    project.config(CONFIG + "      - derive: {double: \"value * 2\"}\n")
    r = project.run("make")
    assert r.code == 0, r.err
    assert "schema: + double" in r.out or "double" in r.out
    assert json.loads(project.lock_text())["targets"]["clean"]["schema"]["version"] == 2
    diff = project.run("schema", "diff", "clean", "--against", "HEAD")
    assert diff.code == 0 and "double" in diff.out and "v1 (HEAD) -> v2" in diff.out
    data = json.loads(project.run("schema", "diff", "clean", "--json").out)
    assert [c["kind"] for c in data["changes"]] == ["added"]
    _commit(project, "add double")
    log = project.run("schema", "log", "clean")
    assert log.code == 0
    lines = log.out.splitlines()
    assert lines[0].startswith("v2") and "add double" in lines[0]
    assert any(line.startswith("v1") and "first build" in line for line in lines)


def test_given_a_dropped_column_the_build_fails_unless_allowed(project: ProjectDir) -> None:
    project.config(CONFIG.replace("    schema: schemas/clean.yaml\n", ""))
    project.write("data/p1.csv", "id,kind,value\n1,a,1.5\n")
    assert project.run("make").code == 0
    good = (project.root / "build/clean/p1.parquet").read_bytes()
    project.config(CONFIG.replace("    schema: schemas/clean.yaml\n", "") + "      - drop: [kind]\n")
    r = project.run("make")
    assert r.code == 1
    assert "breaking schema change" in r.err and "kind" in r.err and "--allow-breaking" in r.err
    assert (project.root / "build/clean/p1.parquet").read_bytes() == good
    r = project.run("make", "--allow-breaking")
    assert r.code == 0, r.err
    assert "warning: breaking schema change allowed" in r.err
    assert json.loads(project.lock_text())["targets"]["clean"]["schema"]["version"] == 2


def test_given_on_breaking_warn_the_target_builds(project: ProjectDir) -> None:
    base = CONFIG.replace("    schema: schemas/clean.yaml\n", "    on_breaking: warn\n")
    project.config(base)
    project.write("data/p1.csv", "id,kind,value\n1,a,1.5\n")
    assert project.run("make").code == 0
    project.config(base + "      - drop: [kind]\n")
    assert project.run("make").code == 0


def test_given_quality_checks_failures_and_warnings_are_reported(project: ProjectDir) -> None:
    project.config("""
        version: 1
        sources:
          raw: {path: data/*.csv}
        targets:
          t:
            from: raw
            checks:
              duplicates: {on: [id], fail: 0}
              row_count: {min: 2}
              missing: {default: {warn: 0.2, fail: 0.6}}
        """)
    project.write("data/a.csv", "id,v\n1,\n2,3\n3,4\n")
    r = project.run("make", "--json")
    data = json.loads(r.out)["targets"][0]
    assert r.code == 0 and data["status"] == "built"
    assert {c["name"] for c in data["checks"]} >= {"duplicates", "row_count"}
    assert any("missing" in w for w in data["warnings"])
    project.write("data/a.csv", "id,v\n1,1\n1,3\n")
    r = project.run("make")
    assert r.code == 1 and "quality check failed" in r.err and "repeat the key (id)" in r.err


def test_schema_infer_writes_a_schema_the_data_passes(project: ProjectDir) -> None:
    _project(project)
    project.run("make")
    r = project.run("schema", "infer", "clean", "-o", str(project.root / "schemas/inferred.yaml"))
    assert r.code == 0, r.err
    project.config(CONFIG.replace("schemas/clean.yaml", "schemas/inferred.yaml"))
    assert project.run("make").code == 0
    show = project.run("schema", "show", "clean")
    assert "schema version 1" in show.out and "kind" in show.out


def test_given_a_broken_schema_file_it_is_a_config_error(project: ProjectDir) -> None:
    _project(project)
    project.write("schemas/clean.yaml", SCHEMA.replace("isin", "isn"))
    r = project.run("make")
    assert r.code == 2 and "isn" in r.err


def test_given_no_git_repository_schema_diff_says_so(project: ProjectDir) -> None:
    _project(project)
    project.run("make")
    r = project.run("schema", "diff", "clean")
    assert r.code == 2 and "not a git repository" in r.err
