"""Lockfile merges across git branches: the merge driver and `mldata lock resolve`."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import ProjectDir, csv_rows

CONFIG = """
version: 1
sources:
  a: {path: data/a.csv}
  b: {path: data/b.csv}
targets:
  ta: {from: a}
  tb: {from: b}
"""


def _git(project: ProjectDir, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=project.root, check=check, capture_output=True, text=True)


def _repo(project: ProjectDir) -> None:
    project.config(CONFIG)
    project.write("data/a.csv", csv_rows(3))
    project.write("data/b.csv", csv_rows(4))
    project.write(".gitignore", "build/\n.mldata/\n")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "config", "user.email", "t@example.com")
    _git(project, "config", "user.name", "t")
    assert project.run("make").code == 0
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "base")


def _branches(project: ProjectDir) -> None:
    """Branch x changes a.csv, main changes b.csv: both rebuild and commit the lock."""
    _git(project, "checkout", "-qb", "x")
    project.write("data/a.csv", csv_rows(5))
    assert project.run("make").code == 0
    _git(project, "commit", "-qam", "change a")
    _git(project, "checkout", "-q", "main")
    project.write("data/b.csv", csv_rows(6))
    assert project.run("make").code == 0
    _git(project, "commit", "-qam", "change b")


def test_without_a_driver_resolve_repairs_a_conflicted_lock(project: ProjectDir) -> None:
    _repo(project)
    _git(project, "checkout", "-qb", "x")
    project.write("data/a.csv", csv_rows(5))
    assert project.run("make").code == 0
    _git(project, "commit", "-qam", "a on x")
    _git(project, "checkout", "-q", "main")
    project.write("data/a.csv", csv_rows(6))
    project.write("data/b.csv", csv_rows(7))
    assert project.run("make").code == 0
    _git(project, "commit", "-qam", "a and b on main")
    merge = _git(project, "merge", "-q", "x", check=False)
    assert merge.returncode != 0 and "<<<<<<<" in project.lock_text()
    _git(project, "checkout", "--theirs", "data/a.csv")  # the user settles the data: x's version
    assert project.run("status").code == 2  # a clear error: conflict markers
    r = project.run("lock", "resolve")
    assert r.code == 0, r.err
    assert "kept     tb (ours)" in r.out
    assert "dropped  ta" in r.out  # build/ holds main's ta, the data is x's: neither side matches
    r = project.run("make")
    assert r.code == 0, r.err
    assert project.run("make").out.startswith("nothing to do")
    lock = json.loads(project.lock_text())
    assert lock["targets"]["ta"]["rows"] == 5 and lock["targets"]["tb"]["rows"] == 7


def test_with_the_merge_driver_the_lock_merges_per_target(project: ProjectDir) -> None:
    import sys

    _repo(project)
    driver = f"{sys.executable} -m mldata lock merge %O %A %B"
    _git(project, "config", "merge.mldata.driver", driver)
    project.write(".gitattributes", "mldata.lock merge=mldata\n")
    _git(project, "add", ".gitattributes")
    _git(project, "commit", "-qm", "driver")
    _branches(project)
    merge = _git(project, "merge", "-q", "x", "-m", "merge x", check=False)
    assert merge.returncode == 0, merge.stdout + merge.stderr
    lock = json.loads(project.lock_text())
    assert lock["targets"]["ta"]["rows"] == 5 and lock["targets"]["tb"]["rows"] == 6
    # the working tree's build/ still holds main's ta: make rebuilds exactly that
    plan = json.loads(project.run("plan", "--json").out)
    assert {t["target"]: t["action"] for t in plan["targets"]} == {"ta": "partial", "tb": "up_to_date"}


def test_merge_driver_drops_entries_changed_on_both_sides() -> None:
    from mldata.lockmerge import merge_locks

    def doc(**targets):
        return json.dumps({"lock_version": 1, "targets": targets})

    base = doc(t={"fingerprint": "0", "outputs": {}}, u={"fingerprint": "u", "outputs": {}})
    ours = doc(t={"fingerprint": "1", "outputs": {}}, u={"fingerprint": "u", "outputs": {}})
    theirs = doc(t={"fingerprint": "2", "outputs": {}}, u={"fingerprint": "u2", "outputs": {}})
    result = merge_locks(base, ours, theirs)
    assert result.dropped == ["t"]
    assert result.lock.targets == {"u": {"fingerprint": "u2", "outputs": {}}}
