"""Shared fixtures: temporary projects and an in-process CLI runner."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from mldata.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


class ProjectDir:
    """A temporary mldata project: write files, run the CLI in-process, read outputs."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self._capsys = capsys

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if text.startswith("\n") else text)
        return path

    def config(self, text: str) -> Path:
        return self.write("mldata.yaml", textwrap.dedent(text).lstrip("\n"))

    def run(self, *args: str) -> Result:
        self._capsys.readouterr()
        argv = list(args)
        if argv and argv[0] == "make" and not any(a.startswith("--executor") for a in argv):
            argv += ["--executor", "inline"]
        code = main(["-C", str(self.root), *argv])
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def lock_text(self) -> str:
        return (self.root / "mldata.lock").read_text()

    def read(self, rel: str):
        import pyarrow.dataset as ds

        return ds.dataset(str(self.root / rel), format="parquet").to_table()


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> ProjectDir:
    root = tmp_path / "proj"
    root.mkdir()
    return ProjectDir(root, capsys)


def csv_rows(n: int, start: int = 0, *, extra: str = "") -> str:
    lines = ["id,group,value,label"]
    for i in range(start, start + n):
        value = "" if i % 7 == 3 else f"{(i * 37) % 101 / 4}"
        lines.append(f"{i},{'abc'[i % 3]},{value},{'yes' if i % 2 else 'no'}{extra}")
    return "\n".join(lines) + "\n"


def dictionary_columns(path: Path) -> list[str]:
    """The columns of a Parquet file's first row group that have a dictionary page."""
    import pyarrow.parquet as pq

    group = pq.ParquetFile(path).metadata.row_group(0)
    return [group.column(i).path_in_schema for i in range(group.num_columns) if group.column(i).has_dictionary_page]


BASIC_CONFIG = """
version: 1
sources:
  raw:
    path: data/*.csv
targets:
  clean:
    from: raw
    steps:
      - filter: "value is not null"
      - derive: {double: "value * 2"}
  top:
    from: clean
    steps:
      - sort: {by: [id], descending: true}
"""


@pytest.fixture
def basic(project: ProjectDir) -> ProjectDir:
    """Three CSV files, a partitioned target and a global-step target downstream of it."""
    project.config(BASIC_CONFIG)
    for i in range(3):
        project.write(f"data/part{i}.csv", csv_rows(20, start=i * 100))
    return project
