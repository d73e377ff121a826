"""The other commands: init, plan/status output and exit codes, dag, --version, python -m mldata."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mldata import __version__
from mldata.cli import main
from tests.conftest import ProjectDir, csv_rows


def test_init_writes_a_config_that_builds_and_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    root = tmp_path / "new"
    assert main(["-C", str(root), "init"]) == 0
    assert "# mldata.yaml" in (root / "mldata.yaml").read_text()
    assert {"build/", ".mldata/"} <= set((root / ".gitignore").read_text().splitlines())
    (root / "data" / "a.csv").write_text("value,x\n1,2\n,3\n")
    assert main(["-C", str(root), "make", "--executor", "inline"]) == 0
    assert (root / "build" / "clean" / "a.parquet").exists()
    capsys.readouterr()
    assert main(["-C", str(root), "init"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_status_check_exits_1_when_stale_and_0_when_up_to_date(basic: ProjectDir) -> None:
    r = basic.run("status", "--check")
    assert r.code == 1 and "stale" in r.err
    basic.run("make")
    r = basic.run("status", "--check")
    assert r.code == 0 and "up to date" in r.out


def test_plan_json_and_make_dry_run_build_nothing(basic: ProjectDir) -> None:
    r = basic.run("plan", "--dry-run", "--json")
    assert r.code == 0
    data = json.loads(r.out)
    assert [t["action"] for t in data["targets"]] == ["build", "pending"]
    assert data["targets"][0]["reasons"][0]["kind"] == "new"
    r = basic.run("make", "--dry-run")
    assert r.code == 0 and "build (new)" in r.out
    assert not (basic.root / "build").exists() and not (basic.root / "mldata.lock").exists()


def test_make_selects_a_target_and_its_upstream_only(basic: ProjectDir) -> None:
    r = basic.run("make", "clean")
    assert r.code == 0
    assert (basic.root / "build/clean").exists() and not (basic.root / "build/top").exists()
    r = basic.run("make", "colean")
    assert r.code == 2 and "did you mean 'clean'?" in r.err


def test_force_rebuilds_and_says_so(basic: ProjectDir) -> None:
    basic.run("make")
    r = basic.run("plan", "--force")
    assert "forced (--force)" in r.out
    assert basic.run("make", "--force").code == 0


def test_dag_shows_the_tree(basic: ProjectDir) -> None:
    r = basic.run("dag")
    assert r.code == 0
    assert r.out.splitlines() == ["raw  (source: data/*.csv)", "└── clean", "    └── top"]
    data = json.loads(basic.run("dag", "--json").out)
    assert data["order"] == ["clean", "top"]


def test_make_json_reports_each_target(basic: ProjectDir) -> None:
    r = basic.run("make", "--json")
    data = json.loads(r.out)
    assert data["ok"] and [t["status"] for t in data["targets"]] == ["built", "built"]


def test_version_and_module_entry_point(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "mldata", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and __version__ in out.stdout
    out = subprocess.run([sys.executable, "-m", "mldata", "-C", str(tmp_path), "make", "--jobs", "0"],
                         capture_output=True, text=True)
    assert out.returncode == 2


def test_every_command_has_help_with_an_example() -> None:
    import click

    from mldata.cli import cli

    def walk(command, path):
        yield path, command
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])

    for path, command in walk(cli, ["mldata"]):
        text = command.get_help(click.Context(command, info_name=" ".join(path), **command.context_settings))
        assert "Example" in text, " ".join(path)


def test_verbose_prints_parts_and_worker_phases(basic: ProjectDir) -> None:
    r = basic.run("make", "-v")
    assert "  part   clean: data/part0.csv" in r.out and "worker" in r.out


def test_force_recomputes_parts_instead_of_reusing_the_cache(basic: ProjectDir) -> None:
    basic.run("make")
    r = basic.run("make", "--force", "--json")
    data = {t["target"]: t for t in json.loads(r.out)["targets"]}
    assert data["clean"]["parts_computed"] == 3


def test_make_prints_a_summary_table(basic: ProjectDir) -> None:
    r = basic.run("make")
    lines = r.out.splitlines()
    header = next(line for line in lines if line.startswith("target"))
    assert header.split() == ["target", "status", "rows", "bytes", "time", "parts", "computed"]
    assert any(line.startswith("clean") and "built" in line for line in lines)


CHAIN = """
version: 1
sources:
  raw: {path: data/*.csv}
targets:
  a: {from: raw}
  b: {from: a}
  c: {from: b}
  other: {from: raw}
"""


def test_selection_plus_syntax_and_exclude(project: ProjectDir) -> None:
    project.config(CHAIN)
    project.write("data/x.csv", csv_rows(3))

    def planned(*args: str) -> list[str]:
        return [t["target"] for t in json.loads(project.run("plan", "--json", *args).out)["targets"]]

    assert planned("b") == ["a", "b"]
    assert planned("+b") == ["a", "b"]
    assert planned("b+") == ["a", "b", "c"]
    assert planned("a+") == ["a", "b", "c"]
    assert planned("--exclude", "other") == ["a", "b", "c"]
    assert planned("--exclude", "b+") == ["a", "other"]
    r = project.run("make", "a+")
    assert r.code == 0
    assert not (project.root / "build/other").exists() and (project.root / "build/c").exists()


def test_make_locked_fails_when_the_lock_would_change(project: ProjectDir) -> None:
    project.config(CHAIN)
    project.write("data/x.csv", csv_rows(3))
    r = project.run("make", "--locked")
    assert r.code == 1 and "--locked" in r.err and "new: never built" in r.err
    assert not (project.root / "mldata.lock").exists()
    assert project.run("make").code == 0
    assert project.run("make", "--locked").code == 0


def test_dag_dot_and_mermaid(project: ProjectDir) -> None:
    project.config(CHAIN)
    project.write("data/x.csv", csv_rows(3))
    dot = project.run("dag", "--format", "dot").out
    assert dot.startswith("digraph mldata {") and '"a" -> "b";' in dot and '"raw" -> "other";' in dot
    mermaid = project.run("dag", "--format", "mermaid").out
    assert mermaid.startswith("flowchart LR") and "-->" in mermaid


def test_shell_completion_offers_target_names(basic: ProjectDir) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "COMP_WORDS": "mldata make cl", "COMP_CWORD": "2", "_MLDATA_COMPLETE": "bash_complete"}
    out = subprocess.run([sys.executable, "-m", "mldata"], cwd=basic.root, env=env, capture_output=True, text=True)
    assert "plain,clean" in out.stdout.splitlines()
    script = basic.run("completion", "bash")
    assert script.code == 0 and "_mldata_completion" in script.out


def test_mistyped_commands_and_options_get_suggestions(basic: ProjectDir) -> None:
    r = basic.run("mak")
    assert r.code == 2 and "Did you mean 'make'?" in r.err


def test_every_json_output_parses(basic: ProjectDir) -> None:
    basic.run("make")
    commands = [
        ["plan", "--json"], ["status", "--json"], ["make", "--json"], ["dag", "--json"], ["config", "list", "--json"],
        ["schema", "show", "clean", "--json"], ["profile", "clean", "--json"],
        ["compression", "bench", "clean", "--codecs", "zstd:1", "--repeats", "1", "--json"],
        ["drift", str(basic.root / "data/part0.csv"), str(basic.root / "data/part1.csv"), "--json"],
    ]
    for args in commands:
        r = basic.run(*args)
        assert r.code in (0, 1), (args, r.err)
        json.loads(r.out)


def test_the_cli_exits_with_the_garbage_collector_frozen(monkeypatch) -> None:
    """At exit the interpreter would collect every object pydantic built (65 ms after a cold
    config load); mldata freezes them first, and still exits through sys.exit (atexit runs)."""
    import gc

    import pytest

    from mldata import cli

    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(cli, "_run", lambda argv: 3)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 3 and frozen == [True]
    assert cli.main(["make"]) == 3 and frozen == [True]  # called with argv (embedded use): returns, no freeze
