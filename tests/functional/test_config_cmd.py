"""Settings layers and `mldata config`: list with sources, get, comment-preserving set/unset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ProjectDir, csv_rows

COMMENTED = """\
# My project. Keep this comment.
version: 1

defaults:
  workers: 2          # two is plenty here
  compression: zstd   # the default codec

sources:
  raw:
    path: "data/*.csv"   # quoted on purpose

targets:
  # the cleaned data
  clean:
    from: raw
    steps:
      - filter: "value is not null"
"""


@pytest.fixture
def commented(project: ProjectDir, tmp_path: Path, monkeypatch) -> ProjectDir:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for var in ("MLDATA_WORKERS", "MLDATA_COMPRESSION", "MLDATA_EXECUTOR", "MLDATA_PROGRESS", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    project.write("mldata.yaml", COMMENTED)
    project.write("data/a.csv", csv_rows(5))
    return project


def test_config_set_keeps_comments_order_and_quoting(commented: ProjectDir) -> None:
    r = commented.run("config", "set", "defaults.compression", "gzip")
    assert r.code == 0, r.err
    text = (commented.root / "mldata.yaml").read_text()
    assert text == COMMENTED.replace("compression: zstd   # the default codec", "compression: gzip   # the default codec")
    assert commented.run("config", "get", "compression").out.strip() == "gzip"
    listing = commented.run("config", "list").out
    line = next(line for line in listing.splitlines() if line.startswith("compression"))
    assert "gzip" in line and "project" in line and "mldata.yaml:6:3" in line


def test_config_set_rejects_invalid_values_and_leaves_the_file(commented: ProjectDir) -> None:
    before = (commented.root / "mldata.yaml").read_text()
    r = commented.run("config", "set", "defaults.compression", "zstd:99")
    assert r.code == 2 and "1..22" in r.err and "not changed" in r.err
    r = commented.run("config", "set", "defaults.workerz", "3")
    assert r.code == 2 and "did you mean 'workers'" in r.err
    assert (commented.root / "mldata.yaml").read_text() == before


def test_config_set_a_target_mapping_and_unset(commented: ProjectDir) -> None:
    assert commented.run("config", "set", "targets.clean.compression", "{codec: zstd, level: 9}").code == 0
    assert commented.run("config", "get", "targets.clean.compression").out.strip() == "zstd:9"
    assert commented.run("make").code == 0
    assert commented.run("config", "unset", "targets.clean.compression").code == 0
    assert (commented.root / "mldata.yaml").read_text() == COMMENTED
    assert commented.run("config", "unset", "targets.clean.compression").code == 2


def test_layers_resolve_flag_env_target_project_user_builtin(commented: ProjectDir, monkeypatch, tmp_path: Path) -> None:
    from mldata import api
    from mldata.settings import resolve

    def get(key: str, **kw):
        project = api.open_project(commented.root)
        r = resolve(project.spec, key, **kw)
        return str(r.value), r.layer

    assert get("executor") == ("process", "builtin")
    assert commented.run("config", "set", "executor", "inline", "--global").code == 0
    user_file = tmp_path / "xdg" / "mldata" / "config.yaml"
    assert "executor: inline" in user_file.read_text()
    assert get("executor") == ("inline", "user")
    assert get("workers") == ("2", "project")
    monkeypatch.setenv("MLDATA_WORKERS", "3")
    assert get("workers") == ("3", "env")
    assert get("workers", flag=4) == ("4", "flag")
    commented.run("config", "set", "targets.clean.compression", "brotli")
    assert get("compression", target="clean") == ("brotli", "target")
    monkeypatch.setenv("MLDATA_COMPRESSION", "lz4")
    assert get("compression", target="clean") == ("lz4", "env")
    rows = json.loads(commented.run("config", "list", "--json").out)
    by_key = {row["key"]: row for row in rows}
    assert by_key["executor"]["layer"] == "user" and "config.yaml" in by_key["executor"]["where"]
    assert by_key["workers"]["where"] == "MLDATA_WORKERS"


def test_env_compression_applies_to_the_run(commented: ProjectDir, monkeypatch) -> None:
    import pyarrow.parquet as pq

    monkeypatch.setenv("MLDATA_COMPRESSION", "snappy")
    assert commented.run("make").code == 0
    meta = pq.ParquetFile(commented.root / "build/clean/a.parquet").metadata
    assert meta.row_group(0).column(0).compression == "SNAPPY"
    monkeypatch.setenv("MLDATA_COMPRESSION", "gzip:77")
    r = commented.run("make")
    assert r.code == 2 and "1..9" in r.err
